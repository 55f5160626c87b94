#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "util/huge_pages.hpp"

using namespace cdpcore::util;

TEST_CASE("huge pages: reserving keeps the elements and leaves room for what was asked") {
  std::vector<uint64_t> v;
  for (uint64_t i = 0; i < 1000; ++i) v.push_back(i * 7);
  reserve_huge(v, 1u << 20);  // 8 MiB: spans whole 2 MiB pages
  CHECK(v.capacity() >= (1u << 20));
  REQUIRE(v.size() == 1000);
  bool same = true;
  for (uint64_t i = 0; i < 1000; ++i) same = same && v[i] == i * 7;
  CHECK(same);
  const uint64_t* before = v.data();
  v.resize(1u << 20, 3);  // within the reservation: no reallocation
  CHECK(v.data() == before);
  CHECK(v.back() == 3);
  // Growing a little past the reservation grows by half again, not by one.
  reserve_huge(v, v.capacity() + 1);
  CHECK(v.capacity() >= (1u << 20) + (1u << 19));
}

TEST_CASE("huge pages: advice on nothing, a small block or an odd range is harmless") {
  advise_huge_pages(nullptr, 0);
  advise_huge_pages(nullptr, 1u << 30);
  std::vector<char> small(100, 'x');
  advise_huge_pages(small.data(), small.size());
  std::vector<char> odd((5u << 20) + 3, 'y');
  advise_huge_pages(odd.data() + 1, odd.size() - 2);
  CHECK(small[99] == 'x');
  CHECK(odd[odd.size() - 1] == 'y');
}
