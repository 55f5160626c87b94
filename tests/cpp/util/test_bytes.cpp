#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>

#include "util/bytes.hpp"

TEST_CASE("bytes: same_bytes agrees with memcmp at every length and every differing position") {
  std::mt19937_64 rng(3);
  for (size_t n = 0; n <= 48; ++n) {
    std::string a(n, '\0');
    for (char& c : a) c = static_cast<char>(rng());
    std::string b = a;
    CHECK(cdpcore::util::same_bytes(a.data(), b.data(), n));
    for (size_t i = 0; i < n; ++i) {
      b[i] = static_cast<char>(b[i] ^ (1 << (rng() % 8)));
      INFO("length " << n << ", byte " << i);
      CHECK_FALSE(cdpcore::util::same_bytes(a.data(), b.data(), n));
      CHECK(std::memcmp(a.data(), b.data(), n) != 0);
      b[i] = a[i];
    }
  }
}
