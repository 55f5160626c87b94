// Internal: the packed forms of identifier values in the graph's arena.
//
// Machine-made values have shapes worth packing: lowercase hex strings
// (cookies, hashed identifiers in hex) keep two digits per byte, lowercase
// UUIDs their 16 bytes. Packing is lossless and a function of the value alone,
// so equal values have equal packed forms; the identifier's meta keeps the
// original length and a flag for the form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cdpcore/identity.hpp"
#include "util/bytes.hpp"

namespace cdpcore::idg {

enum class Packing : uint8_t { none, hex, uuid };

/// Hex strings shorter than this are kept as they are.
constexpr size_t kMinHexPacked = 16;
inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// Whether position i of a UUID's text form holds a dash.
inline bool uuid_dash(size_t i) noexcept { return i == 8 || i == 13 || i == 18 || i == 23; }

/// Packs n lowercase hex digits (n even, at least 16) two per byte into
/// `out`; false (out partly written) when one is not a lowercase hex digit.
inline bool pack_hex(const char* v, size_t n, char* out) noexcept {
#if defined(__SSE2__)
  // 16 digits per step: validated and turned into nibbles with byte compares
  // (bytes of 0x80 and above compare negative and fail), then pairs joined.
  auto step = [](const char* p, char* o) noexcept {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto within = [&x](char lo, char hi) {
      return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i is_d = within('0', '9'), is_a = within('a', 'f');
    if (_mm_movemask_epi8(_mm_or_si128(is_d, is_a)) != 0xFFFF) return false;
    const __m128i nib =
        _mm_sub_epi8(_mm_sub_epi8(x, _mm_set1_epi8('0')), _mm_and_si128(is_a, _mm_set1_epi8('a' - '0' - 10)));
    const __m128i hi = _mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0x00FF)), 4);
    const __m128i bytes = _mm_packus_epi16(_mm_or_si128(hi, _mm_srli_epi16(nib, 8)), _mm_setzero_si128());
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o), bytes);
    return true;
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    if (!step(v + i, out + i / 2)) return false;
  // The rest as the last 16 digits (overlapping; n - 16 is even).
  return i == n || step(v + n - 16, out + (n - 16) / 2);
#else
  for (size_t i = 0; i < n; i += 2) {
    const int hi = hex_digit(v[i]), lo = hex_digit(v[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i / 2] = static_cast<char>((hi << 4) | lo);
  }
  return true;
#endif
}

/// The form `v` is kept in, with the packed bytes written to `out` (room
/// for v.size() / 2 bytes) unless it is Packing::none.
inline Packing pack(std::string_view v, char* out) noexcept {
  if (v.size() == 36) {
    if (v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-') return Packing::none;
    char digits[32];
    std::memcpy(digits, v.data(), 8);
    std::memcpy(digits + 8, v.data() + 9, 4);
    std::memcpy(digits + 12, v.data() + 14, 4);
    std::memcpy(digits + 16, v.data() + 19, 4);
    std::memcpy(digits + 20, v.data() + 24, 12);
    return pack_hex(digits, 32, out) ? Packing::uuid : Packing::none;
  }
  if (v.size() < kMinHexPacked || v.size() % 2 != 0) return Packing::none;
  return pack_hex(v.data(), v.size(), out) ? Packing::hex : Packing::none;
}

/// Bytes the packed form of a value of `length` characters takes.
inline size_t packed_size(Packing p, size_t length) noexcept {
  return p == Packing::hex ? length / 2 : p == Packing::uuid ? 16 : length;
}

/// Writes the `length` characters of the value whose packed form is at `in`
/// to `out`.
inline void unpack_value_into(const char* in, Packing p, size_t length, char* out) noexcept {
  if (p == Packing::none) {
    std::memcpy(out, in, length);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  size_t o = 0, b = 0;
  while (o < length) {
    if (p == Packing::uuid && uuid_dash(o)) {
      out[o++] = '-';
      continue;
    }
    const auto byte = static_cast<uint8_t>(in[b++]);
    out[o++] = kHex[byte >> 4];
    out[o++] = kHex[byte & 15];
  }
}

/// The value of `length` characters whose packed form is at `in`.
inline std::string unpack_value(const char* in, Packing p, size_t length) {
  std::string out(length, '\0');
  unpack_value_into(in, p, length, out.data());
  return out;
}

/// Whether `v` (of the stored value's length) is the value packed at `in`.
inline bool packed_equals(const char* in, Packing p, std::string_view v) noexcept {
  if (p == Packing::none) return util::same_bytes(in, v.data(), v.size());
  if (v.size() > kMaxIdentifierLength) return false;  // no stored value is longer
  char mine[kMaxIdentifierLength / 2 + 16];
  return pack(v, mine) == p && std::memcmp(mine, in, packed_size(p, v.size())) == 0;
}

}  // namespace cdpcore::idg
