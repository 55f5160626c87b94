#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "util/open_table.hpp"

using namespace cdpcore::util;

namespace {

using Small = OpenTable<OpenTableLayout<30, 3, 4, 8, false>>;  // identity's layout, tiny
using Wide = OpenTable<OpenTableLayout<32, 1, 2, 4, true>>;     // consent's layout, tiny

/// Keys as the table's users keep them: outside, by id.
struct Keys {
  std::vector<uint64_t> key, hash;
  uint32_t add(uint64_t k, uint64_t h) {
    key.push_back(k);
    hash.push_back(h);
    return static_cast<uint32_t>(key.size() - 1);
  }
};

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

template <class Table>
void insert_growing(Table& t, uint64_t h, uint32_t id) {
  if (t.full()) t.grow();
  t.insert(h, id);
}

template <class Table>
uint32_t find_key(const Table& t, const Keys& keys, uint64_t k, uint64_t h) {
  return t.find(h, [&](uint32_t id) { return keys.key[id] == k; });
}

}  // namespace

TEST_CASE("open table: inserted ids are found, absent keys are not, through many doublings") {
  Small t;
  CHECK(t.capacity() == 8);
  CHECK(t.count() == 0);
  Keys keys;
  for (uint64_t k = 0; k < 5000; ++k) insert_growing(t, mix(k), keys.add(k, mix(k)));
  CHECK(t.count() == 5000);
  CHECK(t.capacity() >= 5000 * 4 / 3);
  CHECK((t.capacity() & (t.capacity() - 1)) == 0);
  CHECK(t.memory_bytes() == t.capacity() * sizeof(uint64_t));
  bool all = true;
  for (uint64_t k = 0; k < 5000; ++k) all = all && find_key(t, keys, k, mix(k)) == k;
  CHECK(all);
  bool none = true;
  for (uint64_t k = 5000; k < 10000; ++k) none = none && find_key(t, keys, k, mix(k)) == Small::kNoId;
  CHECK(none);
}

TEST_CASE("open table: full() says when the next insert passes the load factor") {
  Small t;  // 8 slots, 3/4: six ids fit
  Keys keys;
  for (uint64_t k = 0; k < 5; ++k) {
    CHECK_FALSE(t.full());
    t.insert(mix(k), keys.add(k, mix(k)));
  }
  CHECK_FALSE(t.full());
  t.insert(mix(5), keys.add(5, mix(5)));
  CHECK(t.full());
  CHECK(Small::capacity_for(6) == 16);
  CHECK(Small::capacity_for(5) == 8);
  CHECK(Wide::capacity_for(0) == 4);
  CHECK(Wide::capacity_for(100) == 256);
}

TEST_CASE("open table: equal hashes (full collisions) are told apart by the caller's equality") {
  Wide t;
  Keys keys;
  const uint64_t h = 0x0123456789abcdefULL;
  for (uint64_t k = 0; k < 40; ++k) insert_growing(t, h, keys.add(k, h));
  bool all = true;
  for (uint64_t k = 0; k < 40; ++k) all = all && find_key(t, keys, k, h) == k;
  CHECK(all);
  CHECK(find_key(t, keys, 40, h) == Wide::kNoId);
  // The first candidate is the first id with the tag on the path: id 0.
  CHECK(t.first_candidate(h) == 0);
}

TEST_CASE("open table: a tag mismatch never asks the caller, a tag match does") {
  Small t;
  Keys keys;
  const uint64_t h1 = 0xAAAA000000000000ULL;
  const uint64_t h2 = h1 | 1;              // same tag (the low 30 bits are not kept)
  const uint64_t h3 = h1 | (uint64_t{1} << 40);  // another tag, same home
  t.insert(h1, keys.add(1, h1));
  int asked = 0;
  CHECK(t.find(h3, [&](uint32_t) { ++asked; return true; }) == Small::kNoId);
  CHECK(asked == 0);
  CHECK(t.first_candidate(h3) == Small::kNoId);
  CHECK(t.find(h2, [&](uint32_t id) { ++asked; return id == 0; }) == 0);
  CHECK(asked == 1);
  CHECK(t.first_candidate(h2) == 0);  // the caller must check: key 1 under h1, not h2's key
}

TEST_CASE("open table: ids use the whole slot width") {
  Wide w;
  const uint64_t h = mix(7);
  w.insert(h, static_cast<uint32_t>(Wide::kMaxId));
  CHECK(Wide::kMaxId == 0xFFFFFFFEULL);
  CHECK(w.find(h, [](uint32_t id) { return id == Wide::kMaxId; }) == Wide::kMaxId);
  Small s;
  s.insert(h, static_cast<uint32_t>(Small::kMaxId));
  CHECK(Small::kMaxId == (uint64_t{1} << 30) - 2);
  CHECK(s.first_candidate(h) == Small::kMaxId);
}

TEST_CASE("open table: erasing keeps every other id reachable (backward shift), also across the wrap") {
  std::mt19937_64 rng(15);
  for (int round = 0; round < 20; ++round) {
    Wide t;
    t.reset(64);
    Keys keys;
    std::unordered_map<uint64_t, uint32_t> live;  // key -> id
    // Hashes crowded at the table's end so that runs wrap to the start.
    for (uint64_t k = 0; k < 28; ++k) {
      const uint64_t h = (round % 2 ? ~uint64_t{0} - (rng() >> 8) : rng());
      const uint32_t id = keys.add(k, h);
      t.insert(h, id);
      live[k] = id;
    }
    for (uint64_t k = 0; k < 28; k += 1 + (rng() % 3)) {
      CHECK(t.erase(keys.hash[live[k]], live[k]));
      CHECK_FALSE(t.erase(keys.hash[live[k]], live[k]));  // gone already
      live.erase(k);
    }
    CHECK(t.count() == live.size());
    bool all = true;
    for (const auto& [k, id] : live) all = all && find_key(t, keys, k, keys.hash[id]) == id;
    CHECK(all);
    bool gone = true;
    for (uint64_t k = 0; k < 28; ++k) {
      if (!live.count(k)) gone = gone && find_key(t, keys, k, keys.hash[k]) == Wide::kNoId;
    }
    CHECK(gone);
    // And it still grows correctly after the erasures.
    t.grow();
    bool after = true;
    for (const auto& [k, id] : live) after = after && find_key(t, keys, k, keys.hash[id]) == id;
    CHECK(after);
  }
}

TEST_CASE("open table: growing keeps ids whose runs wrapped around the end") {
  Small t;  // 8 slots
  Keys keys;
  // Homes at the last slot: the run wraps to slots 0, 1, ...
  std::vector<uint64_t> hashes;
  for (uint64_t k = 0; k < 5; ++k) hashes.push_back(~uint64_t{0} - (k << 40));
  for (uint64_t k = 0; k < 5; ++k) t.insert(hashes[k], keys.add(k, hashes[k]));
  t.grow();
  t.grow();
  CHECK(t.capacity() == 32);
  bool all = true;
  for (uint64_t k = 0; k < 5; ++k) all = all && find_key(t, keys, k, hashes[k]) == k;
  CHECK(all);
}

TEST_CASE("open table: reset empties and resizes") {
  Small t;
  Keys keys;
  for (uint64_t k = 0; k < 100; ++k) insert_growing(t, mix(k), keys.add(k, mix(k)));
  t.reset(256);
  CHECK(t.count() == 0);
  CHECK(t.capacity() == 256);
  CHECK(find_key(t, keys, 3, mix(3)) == Small::kNoId);
  t.prefetch(mix(3));  // a hint only: nothing to observe but that it is harmless
  t.insert(mix(3), 3);
  CHECK(find_key(t, keys, 3, mix(3)) == 3);
}
