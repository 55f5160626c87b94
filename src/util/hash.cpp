#include "cdpcore/hash.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdpcore/error.hpp"

namespace cdpcore {

uint64_t hash64(std::string_view bytes, uint64_t seed) noexcept {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

uint64_t hash_identifier(uint32_t type_id, std::string_view value) noexcept {
  // A distinct odd seed per type, so equal values of different types differ.
  const uint64_t seed = (static_cast<uint64_t>(type_id) + 1) * 0x9E3779B97F4A7C15ULL;
  return XXH3_64bits_withSeed(value.data(), value.size(), seed);
}

Sha256Digest sha256(std::string_view bytes) {
  Sha256Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data());
  return d;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view bytes) {
  Sha256Digest d{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data(), &len) ||
      len != d.size()) {
    throw Error(ErrorCode::error, "HMAC-SHA256 failed");
  }
  return d;
}

std::string to_hex(const Sha256Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Sha256Digest sha256_from_hex(std::string_view hex) {
  if (hex.size() != 64) {
    throw ParseError("SHA-256 hex digest must be 64 characters, got " + std::to_string(hex.size()),
                     hex.size() < 64 ? hex.size() : 64);
  }
  Sha256Digest d{};
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t at = hi < 0 ? 2 * i : 2 * i + 1;
      throw ParseError("SHA-256 hex digest: not a hexadecimal digit at offset " + std::to_string(at), at);
    }
    d[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

}  // namespace cdpcore
