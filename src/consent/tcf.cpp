// Decoders for the IAB privacy strings (TCF v2 TC string, US Privacy, GPP
// header) and the GPC header. Written from the IAB specifications: "Transparency
// and Consent String with Global Vendor & CMP List Formats" (TCF v2.2/v2.3),
// "US Privacy String", "Global Privacy Platform String" v1.
#include "cdpcore/tcf.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "cdpcore/error.hpp"

namespace cdpcore::tcf {

namespace {

constexpr int kMaxVendorBits = 65536;

// Maps a base64 character to its 6-bit value; -1 for a character outside the
// accepted alphabet. URL-safe alphabet always; '+' and '/' only in lenient mode.
int b64_value(char c, bool lenient) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  if (lenient && c == '+') return 62;
  if (lenient && c == '/') return 63;
  return -1;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

// A base64-decoded segment read bit by bit, big-endian, left to right.
class BitReader {
 public:
  BitReader(std::string_view what, std::string_view seg, size_t seg_offset, bool lenient,
            std::vector<std::string>* warnings)
      : what_(what), seg_offset_(seg_offset) {
    size_t n = seg.size();
    if (lenient) {
      size_t pad = 0;
      while (n > 0 && seg[n - 1] == '=') {
        --n;
        ++pad;
      }
      if (pad > 0 && warnings) warnings->push_back(std::string(what) + ": '=' padding ignored");
    }
    values_.reserve(n);
    bool std_chars = false;
    for (size_t i = 0; i < n; ++i) {
      int v = b64_value(seg[i], lenient);
      if (v < 0) {
        throw ParseError("TC string: " + std::string(what) + ": " + describe_char(seg[i]) +
                             " is not a base64url character (at character " + std::to_string(seg_offset + i) + ")",
                         seg_offset + i);
      }
      if (seg[i] == '+' || seg[i] == '/') std_chars = true;
      values_.push_back(static_cast<uint8_t>(v));
    }
    if (std_chars && warnings) warnings->push_back(std::string(what) + ": standard base64 '+' or '/' accepted");
    total_bits_ = values_.size() * 6;
  }

  size_t remaining() const noexcept { return total_bits_ - pos_; }
  size_t position() const noexcept { return pos_; }
  size_t char_offset() const noexcept { return seg_offset_ + pos_ / 6; }

  [[noreturn]] void fail(const std::string& msg) const {
    throw ParseError("TC string: " + std::string(what_) + ": " + msg + " (bit " + std::to_string(pos_) +
                         ", character " + std::to_string(char_offset()) + ")",
                     char_offset());
  }

  uint64_t read(unsigned bits, const char* field) {
    if (remaining() < bits) {
      fail(std::string("field ") + field + " is truncated: needs " + std::to_string(bits) + " bits, " +
           std::to_string(remaining()) + " left");
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < bits; ++i) {
      size_t p = pos_ + i;
      unsigned bit = (values_[p / 6] >> (5 - p % 6)) & 1u;
      v = (v << 1) | bit;
    }
    pos_ += bits;
    return v;
  }
  bool read_bool(const char* field) { return read(1, field) != 0; }

 private:
  std::string_view what_;
  size_t seg_offset_;
  std::vector<uint8_t> values_;
  size_t total_bits_ = 0;
  size_t pos_ = 0;
};

template <typename T>
std::vector<T> ids_from_bits(uint64_t bits, unsigned width) {
  std::vector<T> out;
  for (unsigned i = 0; i < width; ++i) {
    if ((bits >> (width - 1 - i)) & 1u) out.push_back(static_cast<T>(i + 1));
  }
  return out;
}

std::string read_letters(BitReader& r, const char* field, bool strict) {
  std::string s;
  for (int i = 0; i < 2; ++i) {
    auto v = static_cast<unsigned>(r.read(6, field));
    if (v > 25) {
      if (strict) r.fail(std::string("field ") + field + " has a letter code " + std::to_string(v) + " above 25 ('Z')");
      s.push_back('?');
    } else {
      s.push_back(static_cast<char>('A' + v));
    }
  }
  return s;
}

// A vendor section (MaxVendorId, IsRangeEncoding, then a bit field or
// ranges). Range entries are checked against MaxVendorId in strict mode.
std::vector<uint16_t> read_vendor_section(BitReader& r, const char* name, bool strict, uint16_t* max_id_out,
                                          bool* range_out) {
  const auto max_id = static_cast<uint16_t>(r.read(16, "MaxVendorId"));
  const bool is_range = r.read_bool("IsRangeEncoding");
  if (max_id_out) *max_id_out = max_id;
  if (range_out) *range_out = is_range;
  std::vector<uint16_t> out;
  if (!is_range) {
    if (r.remaining() < max_id) {
      r.fail(std::string(name) + " bit field is truncated: MaxVendorId is " + std::to_string(max_id) + " but only " +
             std::to_string(r.remaining()) + " bits are left");
    }
    for (uint32_t id = 1; id <= max_id; ++id) {
      if (r.read(1, "BitField")) out.push_back(static_cast<uint16_t>(id));
    }
    return out;
  }
  // Ranges: collect into a bit set bounded by the id space, so a string cannot
  // make the decoder allocate more than 8 KiB however it is written.
  std::vector<uint64_t> set(kMaxVendorBits / 64, 0);
  const auto entries = static_cast<unsigned>(r.read(12, "NumEntries"));
  for (unsigned e = 0; e < entries; ++e) {
    const bool is_a_range = r.read_bool("IsARange");
    const auto start = static_cast<uint32_t>(r.read(16, "StartOrOnlyVendorId"));
    uint32_t end = start;
    if (is_a_range) end = static_cast<uint32_t>(r.read(16, "EndVendorId"));
    if (start == 0) r.fail(std::string(name) + " range entry " + std::to_string(e) + " starts at vendor id 0");
    if (end < start) {
      r.fail(std::string(name) + " range entry " + std::to_string(e) + " has start " + std::to_string(start) +
             " > end " + std::to_string(end));
    }
    if (strict && end > max_id) {
      r.fail(std::string(name) + " range entry " + std::to_string(e) + " ends at vendor id " + std::to_string(end) +
             " above MaxVendorId " + std::to_string(max_id));
    }
    for (uint32_t id = start; id <= end;) {
      if ((id & 63u) == 0 && end - id >= 63) {
        set[id >> 6] = ~uint64_t{0};
        id += 64;
      } else {
        set[id >> 6] |= uint64_t{1} << (id & 63u);
        ++id;
      }
    }
  }
  for (uint32_t w = 0; w < set.size(); ++w) {
    uint64_t bits = set[w];
    while (bits) {
      int b = __builtin_ctzll(bits);
      out.push_back(static_cast<uint16_t>(w * 64 + static_cast<uint32_t>(b)));
      bits &= bits - 1;
    }
  }
  return out;
}

std::vector<PublisherRestriction> read_restrictions(BitReader& r) {
  std::vector<PublisherRestriction> out;
  const auto n = static_cast<unsigned>(r.read(12, "NumPubRestrictions"));
  out.reserve(std::min<size_t>(n, r.remaining() / 20 + 1));
  for (unsigned i = 0; i < n; ++i) {
    PublisherRestriction pr;
    pr.purpose_id = static_cast<uint8_t>(r.read(6, "PurposeId"));
    pr.type = static_cast<RestrictionType>(r.read(2, "RestrictionType"));
    const auto entries = static_cast<unsigned>(r.read(12, "NumEntries"));
    for (unsigned e = 0; e < entries; ++e) {
      const bool is_a_range = r.read_bool("IsARange");
      const auto start = static_cast<uint16_t>(r.read(16, "StartOrOnlyVendorId"));
      uint16_t end = start;
      if (is_a_range) end = static_cast<uint16_t>(r.read(16, "EndVendorId"));
      if (start == 0) r.fail("publisher restriction " + std::to_string(i) + " has a range starting at vendor id 0");
      if (end < start) {
        r.fail("publisher restriction " + std::to_string(i) + " range " + std::to_string(e) + " has start " +
               std::to_string(start) + " > end " + std::to_string(end));
      }
      pr.ranges.push_back({start, end});
    }
    out.push_back(std::move(pr));
  }
  return out;
}

bool contains_sorted(const std::vector<uint16_t>& v, int id) {
  if (id < 0 || id > 65535) return false;
  return std::binary_search(v.begin(), v.end(), static_cast<uint16_t>(id));
}
bool contains_small(const std::vector<uint8_t>& v, int id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

}  // namespace

bool PublisherRestriction::applies_to(uint16_t vendor_id) const noexcept {
  for (const auto& r : ranges) {
    if (vendor_id >= r.first && vendor_id <= r.last) return true;
  }
  return false;
}

std::vector<uint16_t> PublisherRestriction::vendors() const {
  std::vector<uint16_t> out;
  std::vector<VendorRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(), [](const VendorRange& a, const VendorRange& b) { return a.first < b.first; });
  uint32_t next = 0;  // smallest id not yet emitted
  for (const auto& r : sorted) {
    for (uint32_t id = std::max<uint32_t>(r.first, next); id <= r.last; ++id) out.push_back(static_cast<uint16_t>(id));
    next = std::max<uint32_t>(next, uint32_t{r.last} + 1);
  }
  return out;
}

bool TCString::purpose_consent(int id) const noexcept { return contains_small(purposes_consent, id); }
bool TCString::purpose_li_transparency(int id) const noexcept { return contains_small(purposes_li_transparency, id); }
bool TCString::special_feature_opt_in(int id) const noexcept { return contains_small(special_feature_opt_ins, id); }
bool TCString::vendor_consent(int id) const noexcept { return contains_sorted(vendor_consents, id); }
bool TCString::vendor_legitimate_interest(int id) const noexcept {
  return contains_sorted(vendor_legitimate_interests, id);
}
bool TCString::restriction_for(int purpose_id, uint16_t vendor_id, RestrictionType* type) const noexcept {
  for (const auto& pr : publisher_restrictions) {
    if (pr.purpose_id == purpose_id && pr.applies_to(vendor_id)) {
      if (type) *type = pr.type;
      return true;
    }
  }
  return false;
}

TCString decode_tc_string(std::string_view text, Mode mode) {
  const bool lenient = mode == Mode::lenient;
  const bool strict = !lenient;
  if (text.size() > kMaxTcStringLength) {
    throw LimitError("TC string: " + std::to_string(text.size()) + " characters is longer than the limit of " +
                     std::to_string(kMaxTcStringLength));
  }
  if (text.empty()) throw ParseError("TC string: empty", 0);
  TCString tc;

  // Split into segments at '.'.
  struct Seg {
    std::string_view text;
    size_t offset;
  };
  std::vector<Seg> segs;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (i == start) {
        throw ParseError("TC string: empty segment at character " + std::to_string(start), start);
      }
      segs.push_back({text.substr(start, i - start), start});
      start = i + 1;
    }
  }

  // Core segment.
  {
    BitReader r("core segment", segs[0].text, segs[0].offset, lenient, &tc.warnings);
    tc.version = static_cast<uint8_t>(r.read(6, "Version"));
    if (tc.version == 1) {
      throw Unsupported("TC string: version 1 (TCF v1.1, consent string format v1) is not supported; TCF v2 strings "
                        "have version 2");
    }
    if (tc.version != 2) r.fail("Version is " + std::to_string(tc.version) + ", expected 2");
    tc.created = static_cast<Timestamp>(r.read(36, "Created")) * 100'000;
    tc.last_updated = static_cast<Timestamp>(r.read(36, "LastUpdated")) * 100'000;
    tc.cmp_id = static_cast<uint16_t>(r.read(12, "CmpId"));
    tc.cmp_version = static_cast<uint16_t>(r.read(12, "CmpVersion"));
    tc.consent_screen = static_cast<uint8_t>(r.read(6, "ConsentScreen"));
    tc.consent_language = read_letters(r, "ConsentLanguage", strict);
    tc.vendor_list_version = static_cast<uint16_t>(r.read(12, "VendorListVersion"));
    tc.tcf_policy_version = static_cast<uint8_t>(r.read(6, "TcfPolicyVersion"));
    tc.is_service_specific = r.read_bool("IsServiceSpecific");
    tc.use_non_standard_texts = r.read_bool("UseNonStandardTexts");
    tc.special_feature_opt_ins = ids_from_bits<uint8_t>(r.read(12, "SpecialFeatureOptIns"), 12);
    tc.purposes_consent = ids_from_bits<uint8_t>(r.read(24, "PurposesConsent"), 24);
    const size_t li_pos = r.position();
    tc.purposes_li_transparency = ids_from_bits<uint8_t>(r.read(24, "PurposesLITransparency"), 24);
    tc.purpose_one_treatment = r.read_bool("PurposeOneTreatment");
    tc.publisher_cc = read_letters(r, "PublisherCC", strict);
    tc.vendor_consents = read_vendor_section(r, "vendor consent section", strict, &tc.max_vendor_consent_id,
                                             &tc.vendor_consents_range_encoded);
    tc.vendor_legitimate_interests = read_vendor_section(r, "vendor legitimate interest section", strict,
                                                         &tc.max_vendor_li_id, &tc.vendor_li_range_encoded);
    if (lenient && r.remaining() < 12) {
      tc.warnings.push_back("core segment: NumPubRestrictions missing, read as 0");
    } else {
      tc.publisher_restrictions = read_restrictions(r);
    }
    if (strict && tc.tcf_policy_version >= 4) {
      for (uint8_t p : tc.purposes_li_transparency) {
        if (p >= 3 && p <= 6) {
          throw ParseError("TC string: core segment: PurposesLITransparency sets purpose " + std::to_string(p) +
                               ", but TCF policy version " + std::to_string(tc.tcf_policy_version) +
                               " (TCF 2.2 and later) allows no legitimate interest for purposes 3 to 6 (character " +
                               std::to_string(segs[0].offset + li_pos / 6) + ")",
                           segs[0].offset + li_pos / 6);
        }
      }
    }
  }

  // Optional segments, in any order.
  for (size_t s = 1; s < segs.size(); ++s) {
    const std::string what = "segment " + std::to_string(s);
    BitReader r(what, segs[s].text, segs[s].offset, lenient, &tc.warnings);
    const auto type = static_cast<unsigned>(r.read(3, "SegmentType"));
    auto repeated = [&](bool& seen, const char* name) {
      if (!seen) return false;
      if (strict) {
        throw ParseError("TC string: " + what + ": a second " + std::string(name) + " segment (at character " +
                             std::to_string(segs[s].offset) + ")",
                         segs[s].offset);
      }
      tc.warnings.push_back(what + ": repeated " + name + " segment, the last one is used");
      return true;
    };
    switch (type) {
      case 1:
        repeated(tc.has_disclosed_vendors, "Disclosed Vendors");
        tc.has_disclosed_vendors = true;
        tc.disclosed_vendors = read_vendor_section(r, "Disclosed Vendors segment", strict, nullptr, nullptr);
        break;
      case 2:
        repeated(tc.has_allowed_vendors, "Allowed Vendors");
        tc.has_allowed_vendors = true;
        tc.allowed_vendors = read_vendor_section(r, "Allowed Vendors segment", strict, nullptr, nullptr);
        break;
      case 3: {
        repeated(tc.has_publisher_tc, "Publisher TC");
        tc.has_publisher_tc = true;
        tc.pub_purposes_consent = ids_from_bits<uint8_t>(r.read(24, "PubPurposesConsent"), 24);
        tc.pub_purposes_li_transparency = ids_from_bits<uint8_t>(r.read(24, "PubPurposesLITransparency"), 24);
        tc.num_custom_purposes = static_cast<uint8_t>(r.read(6, "NumCustomPurposes"));
        tc.custom_purposes_consent.clear();
        tc.custom_purposes_li_transparency.clear();
        for (unsigned i = 1; i <= tc.num_custom_purposes; ++i) {
          if (r.read_bool("CustomPurposesConsent")) tc.custom_purposes_consent.push_back(static_cast<uint8_t>(i));
        }
        for (unsigned i = 1; i <= tc.num_custom_purposes; ++i) {
          if (r.read_bool("CustomPurposesLITransparency")) {
            tc.custom_purposes_li_transparency.push_back(static_cast<uint8_t>(i));
          }
        }
        break;
      }
      default:
        if (strict) {
          throw ParseError("TC string: " + what + ": unknown segment type " + std::to_string(type) +
                               " (at character " + std::to_string(segs[s].offset) + ")",
                           segs[s].offset);
        }
        tc.warnings.push_back(what + ": unknown segment type " + std::to_string(type) + " skipped");
        break;
    }
  }

  if (strict && tc.tcf_policy_version >= 5 && !tc.has_disclosed_vendors) {
    throw ParseError("TC string: TCF policy version " + std::to_string(tc.tcf_policy_version) +
                         " (TCF 2.3 and later) requires a Disclosed Vendors segment, none found (at character " +
                         std::to_string(text.size()) + ")",
                     text.size());
  }
  return tc;
}

UsPrivacy decode_us_privacy(std::string_view text) {
  if (text.size() != 4) {
    throw ParseError("US Privacy string: must be 4 characters, got " + std::to_string(text.size()),
                     std::min<size_t>(text.size(), 4));
  }
  if (text[0] != '1') {
    throw ParseError("US Privacy string: version " + describe_char(text[0]) + " at character 0 is not supported "
                     "(expected '1')",
                     0);
  }
  UsPrivacy u;
  u.version = 1;
  char* fields[3] = {&u.notice_given, &u.opted_out_of_sale, &u.lspa_covered};
  static const char* names[3] = {"notice given", "opt-out of sale", "LSPA covered"};
  for (int i = 0; i < 3; ++i) {
    char c = text[static_cast<size_t>(i) + 1];
    if (c == 'y') c = 'Y';
    if (c == 'n') c = 'N';
    if (c != 'Y' && c != 'N' && c != '-') {
      throw ParseError("US Privacy string: " + std::string(names[i]) + " flag " + describe_char(text[i + 1]) +
                           " at character " + std::to_string(i + 1) + " must be 'Y', 'N' or '-'",
                       static_cast<uint64_t>(i + 1));
    }
    *fields[i] = c;
  }
  return u;
}

const char* gpp_section_name(uint16_t id) noexcept {
  static constexpr std::array<const char*, 24> names = {
      "",       "tcfeuv1", "tcfeuv2", "header", "signalintegrity", "tcfcav1", "uspv1", "usnat",
      "usca",   "usva",    "usco",    "usut",   "usct",            "usfl",    "usmt",  "usor",
      "ustx",   "usde",    "usia",    "usne",   "usnh",            "usnj",    "ustn",  "usmn"};
  return id < names.size() ? names[id] : "";
}

GppString decode_gpp(std::string_view text) {
  if (text.size() > kMaxTcStringLength) {
    throw LimitError("GPP string: " + std::to_string(text.size()) + " characters is longer than the limit of " +
                     std::to_string(kMaxTcStringLength));
  }
  size_t tilde = text.find('~');
  std::string_view header = text.substr(0, tilde);
  if (header.empty()) throw ParseError("GPP string: empty header", 0);
  BitReader r("GPP header", header, 0, false, nullptr);
  auto fail = [&](const std::string& msg) -> void {
    throw ParseError("GPP string: header: " + msg + " (character " + std::to_string(r.char_offset()) + ")",
                     r.char_offset());
  };
  // Reads one Fibonacci-coded integer (ends at the first "11").
  auto fib = [&](const char* field) -> uint32_t {
    uint64_t a = 1, b = 2;  // F(2), F(3)
    uint64_t value = 0;
    bool prev = false;
    for (int i = 0; i < 40; ++i) {
      bool bit = r.read(1, field) != 0;
      if (bit && prev) return static_cast<uint32_t>(value);
      if (bit) value += a;
      prev = bit;
      uint64_t next = a + b;
      a = b;
      b = next;
    }
    fail(std::string("Fibonacci-coded ") + field + " is longer than 40 bits");
    return 0;
  };
  GppString g;
  auto type = static_cast<unsigned>(r.read(6, "Type"));
  if (type != 3) fail("Type is " + std::to_string(type) + ", expected 3 (GPP header)");
  g.version = static_cast<uint8_t>(r.read(6, "Version"));
  if (g.version != 1) fail("Version " + std::to_string(g.version) + " is not supported (expected 1)");
  auto count = static_cast<unsigned>(r.read(12, "Sections.Amount"));
  uint32_t last = 0;
  for (unsigned i = 0; i < count; ++i) {
    bool is_range = r.read_bool("Sections.IsRange");
    uint32_t first = last + fib("Sections.Start");
    uint32_t end = first;
    if (is_range) end = first + fib("Sections.End");
    if (end > 65535) fail("section id " + std::to_string(end) + " is out of range");
    if (end - first > 1024) fail("section range " + std::to_string(first) + ".." + std::to_string(end) + " is too long");
    for (uint32_t id = first; id <= end; ++id) g.section_ids.push_back(static_cast<uint16_t>(id));
    last = end;
  }
  std::vector<std::string_view> parts;
  size_t offset = tilde == std::string_view::npos ? text.size() : tilde + 1;
  while (tilde != std::string_view::npos) {
    size_t next = text.find('~', offset);
    parts.push_back(text.substr(offset, next == std::string_view::npos ? std::string_view::npos : next - offset));
    tilde = next;
    offset = next + 1;
  }
  if (parts.size() != g.section_ids.size()) {
    throw ParseError("GPP string: the header lists " + std::to_string(g.section_ids.size()) + " sections but " +
                         std::to_string(parts.size()) + " follow",
                     header.size());
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    g.sections.push_back({g.section_ids[i], gpp_section_name(g.section_ids[i]), std::string(parts[i])});
  }
  return g;
}

bool parse_gpc_header(std::string_view value) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value == "1";
}

}  // namespace cdpcore::tcf
