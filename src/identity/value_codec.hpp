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

/// The form `v` is kept in.
inline Packing packing_of(std::string_view v) noexcept {
  if (v.size() == 36) {
    for (size_t i = 0; i < 36; ++i) {
      if (uuid_dash(i) ? v[i] != '-' : hex_digit(v[i]) < 0) return Packing::none;
    }
    return Packing::uuid;
  }
  if (v.size() < kMinHexPacked || v.size() % 2 != 0) return Packing::none;
  for (char c : v) {
    if (hex_digit(c) < 0) return Packing::none;
  }
  return Packing::hex;
}

/// Bytes the packed form of a value of `length` characters takes.
inline size_t packed_size(Packing p, size_t length) noexcept {
  return p == Packing::hex ? length / 2 : p == Packing::uuid ? 16 : length;
}

/// Writes the packed form of `v` (whose packing is `p`) to `out`.
inline void pack_value(std::string_view v, Packing p, char* out) noexcept {
  if (p == Packing::none) {
    std::memcpy(out, v.data(), v.size());
    return;
  }
  size_t o = 0;
  int high = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    if (p == Packing::uuid && uuid_dash(i)) continue;
    const int d = hex_digit(v[i]);
    if (high < 0) {
      high = d;
    } else {
      out[o++] = static_cast<char>((high << 4) | d);
      high = -1;
    }
  }
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
  if (p == Packing::none) return std::memcmp(in, v.data(), v.size()) == 0;
  size_t b = 0;
  for (size_t i = 0; i < v.size(); i += 2) {
    if (p == Packing::uuid && uuid_dash(i)) {
      if (v[i] != '-') return false;
      ++i;
    }
    const int hi = hex_digit(v[i]), lo = hex_digit(v[i + 1]);
    if (hi < 0 || lo < 0 || static_cast<uint8_t>(in[b++]) != ((hi << 4) | lo)) return false;
  }
  return true;
}

}  // namespace cdpcore::idg
