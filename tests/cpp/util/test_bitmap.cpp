#include <doctest/doctest.h>
#include <roaring/roaring.h>  // an independent Roaring implementation, as an oracle

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include <unistd.h>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/error.hpp"
#include "util/bitmap_impl.hpp"

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

// A random sorted set (as a vector) mixing the three container kinds: sparse
// values (arrays), dense chunks (bitsets) and long intervals (runs, after
// optimize()).
std::vector<uint32_t> mixed_set(std::mt19937& rng) {
  std::vector<uint32_t> s;
  int chunks = 1 + static_cast<int>(rng() % 6);
  for (int k = 0; k < chunks; ++k) {
    uint32_t base = static_cast<uint32_t>(rng() % 8) << 16;
    switch (rng() % 4) {
      case 0: {  // sparse
        uint32_t n = 1 + rng() % 3000;
        for (uint32_t i = 0; i < n; ++i) s.push_back(base | (rng() & 0xffff));
        break;
      }
      case 1: {  // dense
        uint32_t n = 4000 + rng() % 30000;
        for (uint32_t i = 0; i < n; ++i) s.push_back(base | (rng() & 0xffff));
        break;
      }
      case 2: {  // intervals
        int runs = 1 + static_cast<int>(rng() % 20);
        for (int r = 0; r < runs; ++r) {
          uint32_t start = rng() & 0xffff, len = rng() % 5000;
          for (uint32_t v = start; v <= std::min<uint32_t>(0xffff, start + len); ++v) s.push_back(base | v);
        }
        break;
      }
      default:  // the whole chunk
        for (uint32_t v = 0; v <= 0xffff; ++v) s.push_back(base | v);
    }
  }
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

using Vec = std::vector<uint32_t>;
struct SetOps {
  Vec i, u, d, x;
};
SetOps set_ops(const Vec& a, const Vec& b) {
  SetOps r;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r.i));
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r.u));
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r.d));
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r.x));
  return r;
}

template <typename S>
void check_algebra(const S& sa, const S& sb, const Bitmap& ba, const Bitmap& bb) {
  Vec a(sa.begin(), sa.end()), b(sb.begin(), sb.end());
  SetOps r = set_ops(a, b);
  CHECK((ba & bb).to_vector() == r.i);
  CHECK((ba | bb).to_vector() == r.u);
  CHECK((ba - bb).to_vector() == r.d);
  CHECK((ba ^ bb).to_vector() == r.x);
  CHECK(Bitmap::and_cardinality(ba, bb) == r.i.size());
  CHECK(Bitmap::or_cardinality(ba, bb) == r.u.size());
  CHECK(Bitmap::andnot_cardinality(ba, bb) == r.d.size());
  CHECK(Bitmap::xor_cardinality(ba, bb) == r.x.size());
  CHECK(Bitmap::intersects(ba, bb) == !r.i.empty());
  CHECK((ba & bb).cardinality() == r.i.size());
  CHECK((ba | bb).cardinality() == r.u.size());
  CHECK((ba - bb).cardinality() == r.d.size());
  CHECK((ba ^ bb).cardinality() == r.x.size());
  CHECK(ba.is_subset_of(ba | bb));
  CHECK((ba & bb).is_subset_of(bb));
  CHECK(ba.is_subset_of(bb) == std::includes(b.begin(), b.end(), a.begin(), a.end()));
  const Bitmap* both[] = {&ba, &bb};
  CHECK(Bitmap::or_many(both) == (ba | bb));
  CHECK(Bitmap::and_many(both) == (ba & bb));
  Bitmap c = ba;
  c -= bb;
  CHECK(c == (ba - bb));
  c = ba;
  c |= bb;
  CHECK(c == (ba | bb));
  c = ba;
  c ^= bb;
  CHECK(c == (ba ^ bb));
  c = ba;
  c &= bb;
  CHECK(c == (ba & bb));
}

Bitmap of(const Vec& v) { return Bitmap::from_values(v); }
roaring_bitmap_t* croaring_of(const Vec& v) { return roaring_bitmap_of_ptr(v.size(), v.data()); }
}  // namespace

TEST_CASE("bitmap: algebra equals std::set algebra on random sets") {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    uint32_t universe = round % 2 ? 200000 : 3000;  // sparse and dense containers
    auto a = random_set(rng, universe, 1500), b = random_set(rng, universe, 2500);
    check_algebra(a, b, of(a), of(b));
  }
}

TEST_CASE("bitmap: algebra over mixed array, bitset and run containers equals std::set algebra") {
  std::mt19937 rng(1234);
  for (int round = 0; round < 40; ++round) {
    auto a = mixed_set(rng), b = mixed_set(rng);
    Bitmap ba = of(a), bb = of(b);
    if (round % 2) {
      ba.optimize();  // run containers where they are smaller
      bb.optimize();
    }
    check_algebra(a, b, ba, bb);
    CHECK(ba.to_vector() == a);
    CHECK(ba.cardinality() == a.size());
  }
}

TEST_CASE("bitmap: or_many and and_many of several inputs equal folded set algebra") {
  std::mt19937 rng(99);
  for (int round = 0; round < 10; ++round) {
    std::vector<Vec> sets;
    std::vector<Bitmap> bms;
    for (int k = 0; k < 5; ++k) {
      sets.push_back(mixed_set(rng));
      bms.push_back(of(sets.back()));
      if (k % 2) bms.back().optimize();
    }
    Vec u, in = sets[0];
    for (auto& s : sets) {
      Vec t;
      std::set_union(u.begin(), u.end(), s.begin(), s.end(), std::back_inserter(t));
      u = t;
    }
    for (size_t k = 1; k < sets.size(); ++k) {
      Vec t;
      std::set_intersection(in.begin(), in.end(), sets[k].begin(), sets[k].end(), std::back_inserter(t));
      in = t;
    }
    std::vector<const Bitmap*> ptrs;
    for (auto& b : bms) ptrs.push_back(&b);
    CHECK(Bitmap::or_many(ptrs).to_vector() == u);
    CHECK(Bitmap::and_many(ptrs).to_vector() == in);
  }
  CHECK(Bitmap::or_many({}).empty());
  CHECK(Bitmap::and_many({}).empty());
}

TEST_CASE("bitmap: the AVX2 and portable kernels agree") {
  const auto& fast = bm::kernels();
  const auto& slow = bm::portable_kernels();
  INFO("kernels: " << fast.name);
  std::mt19937_64 rng(5);
  alignas(32) uint64_t a[bm::kBitsetWords], b[bm::kBitsetWords], o1[bm::kBitsetWords], o2[bm::kBitsetWords];
  for (int round = 0; round < 20; ++round) {
    for (uint32_t i = 0; i < bm::kBitsetWords; ++i) {
      a[i] = rng() & (round % 3 ? rng() : ~uint64_t{0});
      b[i] = rng() | (round % 4 ? 0 : rng());
    }
    CHECK(fast.bitset_and(a, b, o1) == slow.bitset_and(a, b, o2));
    CHECK(std::equal(o1, o1 + bm::kBitsetWords, o2));
    CHECK(fast.bitset_or(a, b, o1) == slow.bitset_or(a, b, o2));
    CHECK(std::equal(o1, o1 + bm::kBitsetWords, o2));
    CHECK(fast.bitset_andnot(a, b, o1) == slow.bitset_andnot(a, b, o2));
    CHECK(std::equal(o1, o1 + bm::kBitsetWords, o2));
    CHECK(fast.bitset_xor(a, b, o1) == slow.bitset_xor(a, b, o2));
    CHECK(std::equal(o1, o1 + bm::kBitsetWords, o2));
    CHECK(fast.bitset_and_card(a, b) == slow.bitset_and_card(a, b));
    CHECK(fast.bitset_popcount(a) == slow.bitset_popcount(a));
    // Sorted arrays of varied sizes and skew.
    std::mt19937 r32(static_cast<uint32_t>(round));
    std::set<uint32_t> sa = random_set(r32, 65536, 1 + r32() % 4096), sb = random_set(r32, 65536, 1 + r32() % (round % 2 ? 60 : 4096));
    std::vector<uint16_t> va(sa.begin(), sa.end()), vb(sb.begin(), sb.end());
    std::vector<uint16_t> x1(std::min(va.size(), vb.size()) + 8), x2(x1.size());
    uint32_t n1 = fast.array_and(va.data(), uint32_t(va.size()), vb.data(), uint32_t(vb.size()), x1.data());
    uint32_t n2 = slow.array_and(va.data(), uint32_t(va.size()), vb.data(), uint32_t(vb.size()), x2.data());
    REQUIRE(n1 == n2);
    CHECK(std::equal(x1.begin(), x1.begin() + n1, x2.begin()));
    CHECK(fast.array_and_card(va.data(), uint32_t(va.size()), vb.data(), uint32_t(vb.size())) == n2);
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
  CHECK(b.range_cardinality(12, 15) == 3);
}

TEST_CASE("bitmap: ranges spanning chunks, edits and queries agree with a plain bit vector") {
  std::mt19937 rng(77);
  constexpr uint32_t kUniverse = 400000, kMaxRange = 70000;
  std::vector<bool> s(kUniverse + kMaxRange);
  Bitmap b;
  for (int step = 0; step < 3000; ++step) {
    uint32_t v = rng() % kUniverse;
    switch (rng() % 5) {
      case 0:
      case 1:
        b.add(v);
        s[v] = true;
        break;
      case 2:
        b.remove(v);
        s[v] = false;
        break;
      case 3: {
        uint32_t len = step % 50 == 0 ? rng() % kMaxRange : rng() % 300;
        b.add_range(v, v + len);
        for (uint32_t x = v; x < v + len; ++x) s[x] = true;
        break;
      }
      default:
        CHECK(b.contains(v) == s[v]);
    }
    if (step % 500 == 0) b.optimize();
  }
  Vec expect;
  for (uint32_t i = 0; i < s.size(); ++i)
    if (s[i]) expect.push_back(i);
  CHECK(b.to_vector() == expect);
  CHECK(b.minimum() == expect.front());
  CHECK(b.maximum() == expect.back());
  for (uint32_t q = 0; q < kUniverse; q += 977) {
    uint64_t r = static_cast<uint64_t>(std::upper_bound(expect.begin(), expect.end(), q) - expect.begin());
    CHECK(b.rank(q) == r);
    uint32_t got = 0;
    if (r < expect.size()) {
      CHECK(b.select(r, &got));
      CHECK(got == expect[r]);
    }
    CHECK(b.range_cardinality(q, q + 5000) ==
          static_cast<uint64_t>(std::lower_bound(expect.begin(), expect.end(), q + 5000) -
                                std::lower_bound(expect.begin(), expect.end(), q)));
  }
  Bitmap full = Bitmap::from_range(0, 1u << 20);
  CHECK(full.cardinality() == (1u << 20));
  CHECK(Bitmap::and_cardinality(full, b) == b.cardinality());
  CHECK((full & b) == b);
  CHECK((b - full).empty());
}

TEST_CASE("bitmap: portable serialisation round-trips and rejects garbage") {
  std::mt19937 rng(7);
  Bitmap b = of(random_set(rng, 1u << 22, 50000));
  b.add_range(1u << 23, (1u << 23) + 100000);  // a run container
  b.optimize();
  auto bytes = b.serialize();
  CHECK(bytes.size() == b.serialized_size());
  CHECK(Bitmap::deserialize(bytes) == b);
  CHECK(Bitmap::portable_size(bytes) == bytes.size());
  std::vector<uint8_t> garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK_THROWS_AS(Bitmap::deserialize(garbage), ParseError);
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2));
  CHECK_THROWS_AS(Bitmap::deserialize(truncated), ParseError);
  CHECK_THROWS_AS(Bitmap::deserialize({}), ParseError);
  // Trailing bytes are not part of the bitmap.
  bytes.push_back(0xAB);
  CHECK(Bitmap::portable_size(bytes) == bytes.size() - 1);
  CHECK(Bitmap::deserialize(bytes) == b);
}

TEST_CASE("bitmap: CRoaring reads what we write and we read what CRoaring writes") {
  std::mt19937 rng(2024);
  for (int round = 0; round < 30; ++round) {
    auto s = mixed_set(rng);
    Bitmap ours = of(s);
    if (round % 2) ours.optimize();
    // Ours → CRoaring.
    auto bytes = ours.serialize();
    roaring_bitmap_t* theirs = roaring_bitmap_portable_deserialize_safe(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    REQUIRE(theirs != nullptr);
    CHECK(roaring_bitmap_get_cardinality(theirs) == s.size());
    std::vector<uint32_t> tv(roaring_bitmap_get_cardinality(theirs));
    roaring_bitmap_to_uint32_array(theirs, tv.data());
    CHECK(tv == s);
    roaring_bitmap_free(theirs);
    // CRoaring → ours, with and without run containers.
    roaring_bitmap_t* r = croaring_of(s);
    if (round % 3 == 0) roaring_bitmap_run_optimize(r);
    std::vector<uint8_t> rb(roaring_bitmap_portable_size_in_bytes(r));
    roaring_bitmap_portable_serialize(r, reinterpret_cast<char*>(rb.data()));
    roaring_bitmap_free(r);
    CHECK(Bitmap::portable_size(rb) == rb.size());
    CHECK(Bitmap::deserialize(rb).to_vector() == s);
  }
}

TEST_CASE("bitmap: the parser names what is wrong and where") {
  Bitmap b = Bitmap::from_values(std::vector<uint32_t>{1, 5, 9, 70000});
  auto good = b.serialize();  // cookie 12346, 2 containers
  auto expect = [](std::vector<uint8_t> bytes, const char* what) {
    try {
      (void)Bitmap::deserialize(bytes);
      FAIL("accepted: " << what);
    } catch (const ParseError& e) {
      CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, std::string(e.what()));
    }
  };
  auto bad = good;
  bad[0] = 0x39;  // not a cookie
  expect(bad, "cookie");
  bad = good;
  bad[4] = 3;  // 3 containers: the header now reaches into the offsets
  expect(bad, "offset of container 0");
  bad = good;
  bad[4] = 200;  // 200 containers: the header runs past the end
  expect(bad, "truncated header");
  bad = good;
  bad[8] = 1;  // first key 1, second key 1
  expect(bad, "strictly increasing");
  bad = good;
  // The second value of the first array (bytes after the two headers and offsets) smaller than the first.
  size_t data = 8 + 2 * 4 + 2 * 4;
  bad[data + 2] = 0;
  bad[data + 3] = 0;
  expect(bad, "values not strictly increasing");
  bad = good;
  bad[8 + 4 * 2] = 99;  // first offset
  expect(bad, "offset");
  bad = good;
  bad.resize(bad.size() - 1);
  expect(bad, "truncated");
  bad = good;
  bad[4] = 0;
  bad[5] = 0;
  bad[6] = 2;  // 131072 containers
  expect(bad, "exceeds 65536");
}

TEST_CASE("bitmap: random and mutated bytes never crash, hang or print; accepted bytes are consistent") {
  // A small in-test fuzzer (the standalone fuzz target lives in benchmarks/cpp).
  std::mt19937 rng(31337);
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 0; i < 6; ++i) {
    Bitmap b = of(mixed_set(rng));
    if (i % 2) b.optimize();
    seeds.push_back(b.serialize());
  }
  seeds.push_back(Bitmap().serialize());
  // stderr goes to a file during the run, to prove nothing is printed.
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  std::fflush(stderr);
  int saved_fd = dup(2);
  dup2(fileno(capture), 2);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> bytes;
    if (iter % 10 == 0) {
      bytes.resize(rng() % 64);
      for (auto& x : bytes) x = static_cast<uint8_t>(rng());
    } else {
      bytes = seeds[rng() % seeds.size()];
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips && !bytes.empty(); ++f) {
        size_t at = rng() % std::min<size_t>(bytes.size(), (rng() % 2) ? 64 : bytes.size());
        bytes[at] = static_cast<uint8_t>(rng());
      }
      if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    }
    try {
      Bitmap b = Bitmap::deserialize(bytes);
      ++accepted;
      // What we accept we can use and write back identically sized.
      auto again = b.serialize();
      CHECK(Bitmap::deserialize(again) == b);
      CHECK(b.to_vector().size() == b.cardinality());
    } catch (const ParseError&) {
      ++rejected;
    }
  }
  std::fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  std::fseek(capture, 0, SEEK_END);
  CHECK(std::ftell(capture) == 0);
  std::fclose(capture);
  CHECK(rejected > 0);
  CHECK(accepted > 0);
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

TEST_CASE("bitmap: for_each_batch yields every member in ascending batches") {
  std::mt19937 rng(3);
  auto s = mixed_set(rng);
  Bitmap b = of(s);
  b.optimize();
  std::vector<uint32_t> all;
  size_t batches = 0;
  b.for_each_batch(1000, [&](std::span<const uint32_t> batch) {
    CHECK(batch.size() <= 1000);
    all.insert(all.end(), batch.begin(), batch.end());
    ++batches;
    return true;
  });
  CHECK(all == s);
  CHECK(batches == (s.size() + 999) / 1000);
  size_t calls = 0;
  b.for_each_batch(10, [&](std::span<const uint32_t>) { return ++calls < 3; });
  CHECK(calls == 3);
  CHECK_THROWS_AS(b.for_each_batch(0, [](std::span<const uint32_t>) { return true; }), InvalidArgument);
}

TEST_CASE("bitmap: in-place operations with itself") {
  std::mt19937 rng(8);
  Bitmap a = of(mixed_set(rng));
  Bitmap keep = a;
  a &= a;
  CHECK(a == keep);
  a |= a;
  CHECK(a == keep);
  a -= a;
  CHECK(a.empty());
  a = keep;
  a ^= a;
  CHECK(a.empty());
}

TEST_CASE("bitmap: copies are independent and moved-from bitmaps can be reassigned") {
  Bitmap a = Bitmap::from_range(0, 100000);
  Bitmap b = a;
  b.remove(5);
  CHECK(a.contains(5));
  CHECK_FALSE(b.contains(5));
  Bitmap c = std::move(b);
  b = a;
  CHECK(b == a);
  CHECK(c.cardinality() == 99999);
  CHECK(std::string(Bitmap::kernel_name()).size() > 0);
}

TEST_CASE("bitmap: chunks give every member once, in order, in each container kind") {
  cdpcore::Bitmap b;
  b.add_many(std::vector<uint32_t>{3, 70000, 70001, 4000000000u});  // arrays
  for (uint32_t v = 200000; v < 260000; v += 3) b.add(v);           // a bitset
  b.add_range(1u << 20, (1u << 20) + 50000);                         // a run
  b.optimize();
  std::vector<uint32_t> seen;
  std::set<cdpcore::Bitmap::Chunk::Kind> kinds;
  int prev_key = -1;
  for (size_t i = 0; i < b.chunk_count(); ++i) {
    const cdpcore::Bitmap::Chunk c = b.chunk(i);
    CHECK(int{c.key} > prev_key);
    prev_key = c.key;
    kinds.insert(c.kind);
    uint32_t n = 0;
    c.for_each_low([&](uint32_t low) {
      seen.push_back((uint32_t{c.key} << 16) | low);
      ++n;
    });
    CHECK(n == c.cardinality);
  }
  CHECK(kinds.size() == 3);
  CHECK(seen == b.to_vector());
}
