#include "identity/normalize.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <random>

#include "cdpcore/hash.hpp"
#include "cdpcore/utf8.hpp"

namespace cdpcore::idg {

namespace {

constexpr size_t kMaxRawLength = 64 * 1024;

bool is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Length of a Unicode space at the start / end of s (0 when none).
size_t lead_space(std::string_view s) {
  if (s.empty()) return 0;
  const auto c = static_cast<unsigned char>(s[0]);
  if (is_ascii_space(c)) return 1;
  if (s.size() >= 2 && c == 0xC2 && static_cast<unsigned char>(s[1]) == 0xA0) return 2;  // U+00A0
  if (s.size() >= 3 && c == 0xE3 && static_cast<unsigned char>(s[1]) == 0x80 &&
      static_cast<unsigned char>(s[2]) == 0x80)
    return 3;  // U+3000
  if (s.size() >= 3 && c == 0xEF && static_cast<unsigned char>(s[1]) == 0xBB &&
      static_cast<unsigned char>(s[2]) == 0xBF)
    return 3;  // U+FEFF
  return 0;
}
size_t trail_space(std::string_view s) {
  const size_t n = s.size();
  if (n == 0) return 0;
  const auto c = static_cast<unsigned char>(s[n - 1]);
  if (is_ascii_space(c)) return 1;
  if (n >= 2 && static_cast<unsigned char>(s[n - 2]) == 0xC2 && c == 0xA0) return 2;
  if (n >= 3 && static_cast<unsigned char>(s[n - 3]) == 0xE3 && static_cast<unsigned char>(s[n - 2]) == 0x80 &&
      c == 0x80)
    return 3;
  if (n >= 3 && static_cast<unsigned char>(s[n - 3]) == 0xEF && static_cast<unsigned char>(s[n - 2]) == 0xBB &&
      c == 0xBF)
    return 3;
  return 0;
}

bool fail(NormError* err, ErrorCode code, std::string msg) {
  if (err) {
    err->code = code;
    err->message = std::move(msg);
  }
  return false;
}

// A control character inside a value (after trimming) is never part of an identifier.
bool find_control(std::string_view v, size_t* at) {
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7F) {
      *at = i;
      return true;
    }
  }
  return false;
}

void ascii_lower_into(std::string_view in, std::string& out) {
  out.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
}

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

bool normalize_email(std::string_view v, bool fold, std::string& buf, std::string_view& out, NormError* err) {
  const size_t at = v.find('@');
  if (at == std::string_view::npos || v.find('@', at + 1) != std::string_view::npos) {
    return fail(err, ErrorCode::parse, quote_value(v) + " is not an e-mail address (needs exactly one '@')");
  }
  std::string_view local = v.substr(0, at), domain = v.substr(at + 1);
  if (local.empty()) return fail(err, ErrorCode::parse, quote_value(v) + " is not an e-mail address (empty local part)");
  if (domain.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return fail(err, ErrorCode::parse, quote_value(v) + " is not an e-mail address (bad domain)");
  }
  for (char c : v) {
    if (c == ' ' || c == ',' || c == ';' || c == '<' || c == '>' || c == '"' || c == '\\') {
      return fail(err, ErrorCode::parse,
                  quote_value(v) + " is not an e-mail address (contains '" + std::string(1, c) + "')");
    }
  }
  if (!fold) {
    if (!has_upper(v)) {
      out = v;
      return true;
    }
    ascii_lower_into(v, buf);
    out = buf;
    return true;
  }
  std::string lower;
  ascii_lower_into(v, lower);
  std::string_view l = std::string_view(lower).substr(0, at);
  std::string d(std::string_view(lower).substr(at + 1));
  if (d == "googlemail.com") d = "gmail.com";
  std::string loc;
  const bool gmail = d == "gmail.com";
  const bool plus_tags = gmail || d == "outlook.com" || d == "hotmail.com" || d == "live.com" || d == "icloud.com" ||
                         d == "me.com" || d == "qq.com" || d == "163.com" || d == "126.com";
  for (char c : l) {
    if (plus_tags && c == '+') break;
    if (gmail && c == '.') continue;
    loc.push_back(c);
  }
  if (loc.empty()) return fail(err, ErrorCode::parse, quote_value(v) + " is not an e-mail address (empty local part)");
  buf = loc + "@" + d;
  out = buf;
  return true;
}

// ---- phones -------------------------------------------------------------------

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Per 4-digit prefix "1abc" of an 11-digit Chinese mobile number: 0 not yet
// known, 1 every number with the prefix is valid (E.164 "+86" + digits),
// 2 every such number is invalid, 3 mixed (ask libphonenumber each time).
std::array<std::atomic<uint8_t>, 1000> g_cn_prefix{};

uint8_t classify_cn_prefix(unsigned p) {
  // Probe every fifth digit with a few random tails: libphonenumber's CN
  // mobile patterns decide on at most the first five digits.
  std::mt19937_64 rng(0x9E3779B97F4A7C15ULL ^ p);
  int valid = 0, invalid = 0;
  std::string num, out;
  for (unsigned d5 = 0; d5 < 10; ++d5) {
    for (int k = 0; k < 3; ++k) {
      num = "1";
      num += static_cast<char>('0' + p / 100);
      num += static_cast<char>('0' + p / 10 % 10);
      num += static_cast<char>('0' + p % 10);
      num += static_cast<char>('0' + d5);
      uint64_t tail = k == 0 ? 0 : k == 1 ? 999999 : rng() % 1000000;
      char t[8];
      std::snprintf(t, sizeof t, "%06llu", static_cast<unsigned long long>(tail));
      num += t;
      if (phone_e164_libphonenumber(num, "CN", out)) {
        if (out != "+86" + num) return 3;
        ++valid;
      } else {
        ++invalid;
      }
      if (valid && invalid) return 3;
    }
  }
  return valid ? 1 : 2;
}

}  // namespace

void throw_code(ErrorCode code, const std::string& message, uint64_t offset) {
  switch (code) {
    case ErrorCode::invalid_argument: throw InvalidArgument(message);
    case ErrorCode::not_found: throw NotFound(message);
    case ErrorCode::parse: throw ParseError(message, offset);
    case ErrorCode::conflict: throw Conflict(message);
    case ErrorCode::limit: throw LimitError(message);
    case ErrorCode::utf8: throw Utf8Error(message, offset);
    case ErrorCode::state: throw StateError(message);
    case ErrorCode::type: throw TypeError(message);
    case ErrorCode::cancelled: throw Cancelled(message);
    default: throw Error(code, message);
  }
}

std::string_view trim_space(std::string_view s) noexcept {
  for (size_t n; (n = lead_space(s)) != 0;) s.remove_prefix(n);
  for (size_t n; (n = trail_space(s)) != 0;) s.remove_suffix(n);
  return s;
}

std::string quote_value(std::string_view v) {
  std::string q = "\"";
  size_t n = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (n >= 40) {
      q += "…";
      break;
    }
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7F) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      q += b;
    } else if (c == '"' || c == '\\') {
      q += '\\';
      q += static_cast<char>(c);
    } else {
      q += static_cast<char>(c);
    }
    ++n;
  }
  // A cut inside a UTF-8 sequence (or bad input) shows as '?'.
  if (!is_valid_utf8(q)) {
    std::string fixed;
    for (size_t i = 0; i < q.size();) {
      auto bad = find_invalid_utf8(std::string_view(q).substr(i));
      if (!bad) {
        fixed += q.substr(i);
        break;
      }
      fixed += q.substr(i, *bad);
      fixed += "?";
      i += *bad + 1;
    }
    q = fixed;
  }
  q += "\"";
  return q;
}

std::string to_hex_bytes(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    s[2 * i] = digits[b >> 4];
    s[2 * i + 1] = digits[b & 15];
  }
  return s;
}

std::string mask_value(std::string_view type_name, std::string_view value, bool binary) {
  (void)type_name;
  if (binary) return to_hex_bytes(value.substr(0, 4)) + "…";
  const size_t at = value.find('@');
  if (at != std::string_view::npos && at > 0) {
    std::string s(value.substr(0, 1));
    s += "***";
    s += value.substr(at);
    return s;
  }
  // Keep a third at each end (code points), star the middle.
  std::vector<size_t> starts;
  for (size_t i = 0; i < value.size(); ++i)
    if ((static_cast<unsigned char>(value[i]) & 0xC0) != 0x80) starts.push_back(i);
  const size_t n = starts.size();
  if (n <= 2) return std::string(n, '*');
  const size_t keep = n >= 9 ? n / 3 : 1;
  const size_t head_end = starts[keep];
  const size_t tail_begin = starts[n - (n >= 9 ? 4 : 1)];
  std::string s(value.substr(0, head_end));
  s += std::string(std::max<size_t>(n - keep - (n >= 9 ? 4 : 1), 1), '*');
  s += value.substr(tail_begin);
  return s;
}

namespace {
// libphonenumber takes tens of microseconds per number; the same raw values
// recur across records, so recent answers are kept per thread (a pure
// function of the value and the region).
struct PhoneCacheEntry {
  uint64_t hash = 0;
  std::string raw, region, out;
  bool valid = false;
  bool used = false;
};
constexpr size_t kPhoneCacheSize = 4096;
thread_local std::vector<PhoneCacheEntry> t_phone_cache;
// An erasure bumps the epoch: every thread drops (and overwrites) its cached
// raw values before its next lookup, the erasing thread at once.
std::atomic<uint64_t> g_phone_cache_epoch{0};
thread_local uint64_t t_phone_cache_epoch = 0;

void scrub_phone_cache() noexcept {
  for (PhoneCacheEntry& e : t_phone_cache) {
    std::fill(e.raw.begin(), e.raw.end(), '\0');
    std::fill(e.out.begin(), e.out.end(), '\0');
  }
  std::vector<PhoneCacheEntry>().swap(t_phone_cache);
}
}  // namespace

void forget_cached_phone_numbers() noexcept {
  t_phone_cache_epoch = g_phone_cache_epoch.fetch_add(1) + 1;
  scrub_phone_cache();
}

bool phone_e164_slow(std::string_view raw, const std::string& region, std::string& out) {
  if (raw.size() > 64) return phone_e164_libphonenumber(raw, region, out);
  if (const uint64_t epoch = g_phone_cache_epoch.load(std::memory_order_relaxed); epoch != t_phone_cache_epoch) {
    scrub_phone_cache();
    t_phone_cache_epoch = epoch;
  }
  if (t_phone_cache.empty()) t_phone_cache.resize(kPhoneCacheSize);
  const uint64_t h = hash64(raw, hash64(region));
  PhoneCacheEntry& e = t_phone_cache[h & (kPhoneCacheSize - 1)];
  if (e.used && e.hash == h && e.raw == raw && e.region == region) {
    if (e.valid) out = e.out;
    return e.valid;
  }
  const bool valid = phone_e164_libphonenumber(raw, region, out);
  e.used = true;
  e.hash = h;
  e.raw.assign(raw);
  e.region = region;
  e.valid = valid;
  if (valid) e.out = out;
  return valid;
}

bool phone_e164_libphonenumber(std::string_view raw, const std::string& region, std::string& out) {
  PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (util->Parse(std::string(raw), region, &n) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
  if (!util->IsValidNumber(n)) return false;
  out.clear();
  util->Format(n, PhoneNumberUtil::E164, &out);
  return true;
}

int phone_e164_fast_cn(std::string_view raw, std::string& out) {
  // Accepted shapes: 1XXXXXXXXXX, +861XXXXXXXXXX, (+86)1XXXXXXXXXX, 861XXXXXXXXXX,
  // 00861XXXXXXXXXX, with single spaces or dashes between digit groups, in
  // ASCII or full-width digits (as typed with a Chinese IME).
  char digits[24];
  size_t n = 0;
  size_t i = 0;
  bool plus = false;
  if (raw.substr(0, 5) == "(+86)") {
    plus = true;
    digits[n++] = '8';
    digits[n++] = '6';
    i = 5;
  } else if (!raw.empty() && raw[0] == '+') {
    plus = true;
    i = 1;
  }
  char prev = plus ? '+' : '\0';
  bool any_digit = false, ascii = true;
  for (; i < raw.size(); ++i) {
    char c = raw[i];
    if (static_cast<unsigned char>(c) == 0xEF && i + 2 < raw.size() && static_cast<unsigned char>(raw[i + 1]) == 0xBC &&
        static_cast<unsigned char>(raw[i + 2]) >= 0x90 && static_cast<unsigned char>(raw[i + 2]) <= 0x99) {
      c = static_cast<char>('0' + (static_cast<unsigned char>(raw[i + 2]) - 0x90));  // U+FF10..U+FF19
      i += 2;
      ascii = false;
    }
    if (c >= '0' && c <= '9') {
      any_digit = true;
      if (n == sizeof digits) return -1;
      digits[n++] = c;
    } else if (c == ' ' || c == '-') {
      if (n == 0 || prev == ' ' || prev == '-') return -1;
    } else {
      if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
      // Plain ASCII text without a digit is never a number (libphonenumber: NOT_A_NUMBER).
      for (size_t k = i; k < raw.size() && ascii; ++k) {
        const auto d = static_cast<unsigned char>(raw[k]);
        if (d >= 0x80) ascii = false;
        else if (d >= '0' && d <= '9') any_digit = true;
      }
      return (ascii && !any_digit) ? 0 : -1;
    }
    prev = c;
  }
  if (prev == ' ' || prev == '-') return -1;
  std::string_view d(digits, n);
  if (plus) {
    if (n != 13 || d.substr(0, 2) != "86") return -1;
    d.remove_prefix(2);
  } else if (n == 13 && d.substr(0, 2) == "86") {
    d.remove_prefix(2);
  } else if (n == 15 && d.substr(0, 4) == "0086") {
    d.remove_prefix(4);
  } else if (n != 11) {
    return -1;
  }
  if (d.size() != 11 || d[0] != '1') return -1;
  const unsigned p = static_cast<unsigned>((d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0'));
  uint8_t st = g_cn_prefix[p].load(std::memory_order_relaxed);
  if (st == 0) {
    st = classify_cn_prefix(p);
    g_cn_prefix[p].store(st, std::memory_order_relaxed);
  }
  if (st == 3) return -1;
  if (st == 2) return 0;
  out.assign("+86");
  out.append(d);
  return 1;
}

bool normalize_value(const TypeState& t, std::string_view raw, std::string& buf, std::string_view& out,
                     NormError* err) {
  if (raw.size() > kMaxRawLength) {
    return fail(err, ErrorCode::limit,
                "value of " + std::to_string(raw.size()) + " bytes is longer than " + std::to_string(kMaxRawLength));
  }
  if (auto bad = find_invalid_utf8(raw)) {
    if (err) err->offset = *bad;
    return fail(err, ErrorCode::utf8, "value is not valid UTF-8 (bad byte at offset " + std::to_string(*bad) + ")");
  }
  const std::string_view trimmed = trim_space(raw);
  if (trimmed.empty()) return fail(err, ErrorCode::invalid_argument, raw.empty() ? "empty value" : "value is only whitespace");
  std::string_view v;
  switch (t.opt.normalizer) {
    case Normalizer::none:
      v = raw;
      break;
    case Normalizer::trim:
      v = trimmed;
      break;
    case Normalizer::lower:
      if (has_upper(trimmed)) {
        ascii_lower_into(trimmed, buf);
        v = buf;
      } else {
        v = trimmed;
      }
      break;
    case Normalizer::email:
      if (!normalize_email(trimmed, t.opt.email_fold_providers, buf, v, err)) return false;
      break;
    case Normalizer::phone: {
      int fast = -1;
      if (t.opt.phone_region == "CN") fast = phone_e164_fast_cn(trimmed, buf);
      if (fast == 1) {
        v = buf;
      } else if (fast == 0 || !phone_e164_slow(trimmed, t.opt.phone_region, buf)) {
        return fail(err, ErrorCode::parse,
                    quote_value(trimmed) + " is not a valid phone number (default region " + t.opt.phone_region + ")");
      } else {
        v = buf;
      }
      break;
    }
    case Normalizer::custom: {
      if (!t.opt.custom_normalizer) {
        return fail(err, ErrorCode::state, "type \"" + t.name + "\" needs its custom normaliser (set_custom_normalizer)");
      }
      try {
        buf = t.opt.custom_normalizer(raw);
      } catch (const Error& e) {
        return fail(err, e.code(), std::string("rejected by the custom normaliser: ") + e.what());
      } catch (const std::exception& e) {
        return fail(err, ErrorCode::invalid_argument, std::string("rejected by the custom normaliser: ") + e.what());
      }
      if (buf.empty()) return fail(err, ErrorCode::invalid_argument, "rejected by the custom normaliser (empty result)");
      if (auto bad = find_invalid_utf8(buf)) {
        return fail(err, ErrorCode::utf8,
                    "the custom normaliser returned invalid UTF-8 (offset " + std::to_string(*bad) + ")");
      }
      v = buf;
      break;
    }
  }
  size_t ctl = 0;
  if (find_control(v, &ctl)) {
    return fail(err, ErrorCode::invalid_argument,
                quote_value(v) + " contains a control character at byte " + std::to_string(ctl));
  }
  if (t.opt.input == InputKind::sha256) {
    if (v.size() != 64) {
      return fail(err, ErrorCode::parse, "a SHA-256 value must be 64 hex digits, got " + std::to_string(v.size()) + " bytes");
    }
    Sha256Digest d;
    try {
      d = sha256_from_hex(v);
    } catch (const ParseError& e) {
      return fail(err, ErrorCode::parse, e.what());
    }
    buf.assign(reinterpret_cast<const char*>(d.data()), d.size());
    v = buf;
  } else if (v.size() > t.opt.max_length) {
    return fail(err, ErrorCode::limit,
                "value of " + std::to_string(v.size()) + " bytes is longer than the type's limit of " +
                    std::to_string(t.opt.max_length));
  }
  if (t.opt.storage == Storage::keyed_hash) {
    if (!t.has_key) {
      return fail(err, ErrorCode::state, "type \"" + t.name + "\" needs its hash key (set_hash_key)");
    }
    const Sha256Digest d = hmac_sha256(t.opt.hash_key, v);
    std::string h(reinterpret_cast<const char*>(d.data()), d.size());
    buf = std::move(h);
    v = buf;
  }
  out = v;
  return true;
}

}  // namespace cdpcore::idg
