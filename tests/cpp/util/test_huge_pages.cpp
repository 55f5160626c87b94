#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

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

TEST_CASE("pages: populating fresh zeroed memory maps it without changing it") {
  const size_t bytes = size_t{16} << 20;  // large enough to be a fresh mapping
  auto* p = static_cast<unsigned char*>(std::calloc(bytes, 1));
  REQUIRE(p);
  p[12345] = 7;  // a write before populating survives it
  const bool done = populate_for_write(p, bytes);
#if defined(__linux__)
  if (done) {
    // Every whole page of the range is resident now.
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(uintptr_t{page} - 1);
    const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(uintptr_t{page} - 1);
    std::vector<unsigned char> resident((e - b) / page);
    REQUIRE(mincore(reinterpret_cast<void*>(b), e - b, resident.data()) == 0);
    size_t in = 0;
    for (unsigned char r : resident) in += r & 1;
    CHECK(in == resident.size());
  }
#endif
  size_t nonzero = 0;
  for (size_t i = 0; i < bytes; ++i) nonzero += p[i] != 0;
  CHECK(nonzero == 1);
  CHECK(p[12345] == 7);
  std::free(p);
  CHECK(populate_for_write(nullptr, 0) == populate_for_write(nullptr, 0));  // harmless
}
