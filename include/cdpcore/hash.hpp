// cdpcore — hashing of identifier values and keyed hashes for PII.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>


namespace cdpcore {

/// 64-bit non-cryptographic hash (XXH3) of bytes with a seed. Stable across
/// versions and platforms: it may be stored and used for deterministic splits.
uint64_t hash64(std::string_view bytes, uint64_t seed = 0) noexcept;

/// Hash of an identifier value within its type, used for interning and
/// partitioning: hash64(value, seed derived from the type id).
uint64_t hash_identifier(uint32_t type_id, std::string_view value) noexcept;

using Sha256Digest = std::array<uint8_t, 32>;

/// SHA-256 of bytes.
Sha256Digest sha256(std::string_view bytes);
/// HMAC-SHA256 of bytes under `key`: the keyed hash kept instead of raw PII.
Sha256Digest hmac_sha256(std::string_view key, std::string_view bytes);
/// Lowercase hexadecimal of a digest (64 characters).
std::string to_hex(const Sha256Digest& d);
/// Parses 64 hexadecimal characters (either case); throws ParseError.
Sha256Digest sha256_from_hex(std::string_view hex);

}  // namespace cdpcore
