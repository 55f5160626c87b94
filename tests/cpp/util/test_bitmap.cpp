#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/error.hpp"

using namespace cdpcore;

namespace {
std::set<uint32_t> random_set(std::mt19937& rng, uint32_t universe, size_t n) {
  std::set<uint32_t> s;
  std::uniform_int_distribution<uint32_t> d(0, universe - 1);
  while (s.size() < n) s.insert(d(rng));
  return s;
}
Bitmap of(const std::set<uint32_t>& s) {
  std::vector<uint32_t> v(s.begin(), s.end());
  return Bitmap::from_values(v);
}
std::set<uint32_t> members(const Bitmap& b) {
  auto v = b.to_vector();
  return {v.begin(), v.end()};
}
}  // namespace

TEST_CASE("bitmap: algebra equals std::set algebra on random sets") {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    uint32_t universe = round % 2 ? 200000 : 3000;  // sparse and dense containers
    auto a = random_set(rng, universe, 1500), b = random_set(rng, universe, 2500);
    Bitmap ba = of(a), bb = of(b);
    std::set<uint32_t> i, u, d, x;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(i, i.end()));
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::inserter(u, u.end()));
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(d, d.end()));
    std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(x, x.end()));
    CHECK(members(ba & bb) == i);
    CHECK(members(ba | bb) == u);
    CHECK(members(ba - bb) == d);
    CHECK(members(ba ^ bb) == x);
    CHECK(Bitmap::and_cardinality(ba, bb) == i.size());
    CHECK(Bitmap::or_cardinality(ba, bb) == u.size());
    CHECK(Bitmap::andnot_cardinality(ba, bb) == d.size());
    CHECK(Bitmap::intersects(ba, bb) == !i.empty());
    const Bitmap* both[] = {&ba, &bb};
    CHECK(Bitmap::or_many(both) == (ba | bb));
    CHECK(Bitmap::and_many(both) == (ba & bb));
    Bitmap c = ba;
    c -= bb;
    CHECK(c == (ba - bb));
  }
}

TEST_CASE("bitmap: rank, select, min, max and ranges") {
  Bitmap b = Bitmap::from_range(10, 20);
  b.add(100);
  CHECK(b.cardinality() == 11);
  CHECK(b.minimum() == 10);
  CHECK(b.maximum() == 100);
  CHECK(b.rank(15) == 6);
  uint32_t v = 0;
  CHECK(b.select(10, &v));
  CHECK(v == 100);
  CHECK_FALSE(b.select(11, &v));
  b.remove(100);
  CHECK_FALSE(b.contains(100));
  CHECK(Bitmap::from_range(5, 5).empty());
}

TEST_CASE("bitmap: portable serialisation round-trips and rejects garbage") {
  std::mt19937 rng(7);
  Bitmap b = of(random_set(rng, 1u << 22, 50000));
  b.add_range(1u << 23, (1u << 23) + 100000);  // a run container
  b.optimize();
  auto bytes = b.serialize();
  CHECK(bytes.size() == b.serialized_size());
  CHECK(Bitmap::deserialize(bytes) == b);
  std::vector<uint8_t> garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK_THROWS_AS(Bitmap::deserialize(garbage), ParseError);
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2));
  CHECK_THROWS_AS(Bitmap::deserialize(truncated), ParseError);
  CHECK_THROWS_AS(Bitmap::deserialize({}), ParseError);
}

TEST_CASE("bitmap: for_each visits members in order and stops when asked") {
  Bitmap b = Bitmap::from_values(std::vector<uint32_t>{9, 3, 7, 3});
  std::vector<uint32_t> seen;
  b.for_each([&](uint32_t v) {
    seen.push_back(v);
    return v < 7;
  });
  CHECK(seen == std::vector<uint32_t>{3, 7});
  CHECK(b.memory_bytes() > 0);
}
