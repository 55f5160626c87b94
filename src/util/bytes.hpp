// Internal: comparing short byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cdpcore::util {

/// Whether the n bytes at a and b are equal. Identifiers are mostly 8 to 32
/// bytes: those are compared with overlapping 8-byte loads, without a
/// library call (which showed in lookup profiles).
inline bool same_bytes(const char* a, const char* b, size_t n) noexcept {
  auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if (n < 8 || n > 32) return std::memcmp(a, b, n) == 0;
  uint64_t diff = (word(a) ^ word(b)) | (word(a + n - 8) ^ word(b + n - 8));
  if (n > 16) diff |= (word(a + 8) ^ word(b + 8)) | (word(a + n - 16) ^ word(b + n - 16));
  return diff == 0;
}

}  // namespace cdpcore::util
