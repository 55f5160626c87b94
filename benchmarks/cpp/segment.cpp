// Native segment benchmark: (a) a 5-operand segment's members and count,
// (b) the overlap matrix of 20 segments, (c) which of N segments a person is
// in, on tags read from Roaring portable files (written by pyroaring in
// benchmarks/bench_segment.py). Prints one JSON object per line.
//
//   bench_segment <dir with t0.roaring … t49.roaring> <persons> <segments>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/segment.hpp"

using namespace cdpcore;

namespace {

template <typename F>
double median_seconds(F&& f, int repeat) {
  std::vector<double> ts;
  for (int i = 0; i < repeat; ++i) {
    auto t = std::chrono::steady_clock::now();
    f();
    ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

void record(const char* bench, double seconds, uint64_t rows, const std::string& extra = "") {
  std::printf("{\"benchmark\": \"%s\", \"impl\": \"cdpcore-native\", \"seconds\": %.9f, \"rows\": %llu%s}\n", bench,
              seconds, static_cast<unsigned long long>(rows), extra.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <tag dir> <persons> <segments>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const uint32_t persons = static_cast<uint32_t>(std::stoul(argv[2]));
  const int n_many = std::stoi(argv[3]);
  try {
    SegmentEngine seg;
    for (int i = 0; i < 50; ++i) {
      std::ifstream f(dir + "/t" + std::to_string(i) + ".roaring", std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      seg.set_tag("t" + std::to_string(i), Bitmap::deserialize(bytes));
    }
    seg.set_universe(Bitmap::from_range(0, persons));
    const char* def_a = "(t49 or t46) and t44 and not t41 and t38";
    uint64_t size = seg.preview(def_a, 0).cardinality();
    record("segment.a_members_count", median_seconds([&] { (void)seg.preview(def_a, 0).cardinality(); }, 25), size);
    // The same algebra by hand, without the definition: the engine's overhead is the difference.
    const Bitmap &t49 = seg.tag("t49"), &t46 = seg.tag("t46"), &t44 = seg.tag("t44"), &t41 = seg.tag("t41"),
                 &t38 = seg.tag("t38");
    record("segment.a_bitmap_algebra_only", median_seconds([&] {
             Bitmap u = t49 | t46;
             const Bitmap* parts[] = {&u, &t44, &t38};
             Bitmap r = Bitmap::and_many(parts);
             r -= t41;
             (void)r.cardinality();
           }, 25),
           size);

    std::vector<std::string> names;
    const char* ops[] = {"and", "or", "and not"};
    for (int k = 0; k < 20; ++k) {
      int a = 49 - (k % 25), b = 30 + (k * 7) % 20;
      if (a == b) b = (b + 1) % 50;
      std::string name = "o" + std::to_string(k);
      seg.define(name, "t" + std::to_string(a) + " " + ops[k % 3] + " t" + std::to_string(b));
      seg.evaluate(name, 0);
      names.push_back(name);
    }
    record("segment.b_overlap_20", median_seconds([&] { (void)seg.overlap(names); }, 9), 190);

    std::mt19937 rng(7);
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < n_many; ++k) {
      int a = static_cast<int>(rng() % 50), b = static_cast<int>(rng() % 49);
      if (b >= a) ++b;
      seg.define("m" + std::to_string(k), "t" + std::to_string(a) + " " + ops[k % 3] + " t" + std::to_string(b));
    }
    seg.refresh(0);
    double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t members = 0;
    size_t bytes = 0;
    for (int k = 0; k < n_many; ++k) {
      const Bitmap& m = seg.members("m" + std::to_string(k));
      members += m.cardinality();
      bytes += m.memory_bytes();
    }
    record("segment.c_build_1000", build, members,
           ", \"bytes_per_member\": " + std::to_string(static_cast<double>(bytes) / static_cast<double>(members)));
    std::vector<uint32_t> probes;
    for (int i = 0; i < 1000; ++i) probes.push_back(rng() % persons);
    std::vector<double> ts;
    size_t found = 0;
    for (uint32_t p : probes) {
      auto t = std::chrono::steady_clock::now();
      found += seg.segments_of(p).size();
      ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
    }
    std::sort(ts.begin(), ts.end());
    record("segment.c_segments_of_person", ts[ts.size() / 2], 1,
           ", \"p99_seconds\": " + std::to_string(ts[ts.size() * 99 / 100]) +
               ", \"avg_segments_found\": " + std::to_string(static_cast<double>(found) / probes.size()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_segment: %s\n", e.what());
    return 1;
  }
  return 0;
}
