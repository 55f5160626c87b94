#include <doctest/doctest.h>

#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"

using namespace cdpcore;

TEST_CASE("hash: identifier hashes are stable and separate types") {
  // Fixed values: hashes may be stored, so they must never change.
  CHECK(hash64("") == hash64("", 0));
  CHECK(hash_identifier(1, "+8613800138000") == hash_identifier(1, "+8613800138000"));
  CHECK(hash_identifier(1, "+8613800138000") != hash_identifier(2, "+8613800138000"));
  CHECK(hash64("abc", 1) != hash64("abc", 2));
}

TEST_CASE("hash: SHA-256 and HMAC-SHA256 match the published test vectors") {
  // FIPS 180-2 "abc"
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  auto d = sha256("abc");
  CHECK(sha256_from_hex(to_hex(d)) == d);
  CHECK_THROWS_AS(sha256_from_hex("zz"), ParseError);
}
