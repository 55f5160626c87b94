// Fuzzing the bitmap parser (Roaring's portable format) for a time budget:
// random bytes, and valid serialisations with bytes flipped, truncated or
// extended. Every input must either parse into a bitmap that serialises and
// parses back equal, or be rejected with ParseError; nothing may crash,
// hang or print (stderr is checked). Prints the throughput as a JSON line.
//
//   bench_segment_fuzz_bitmap [seconds=5] [seed=1]
//
// The same input generator runs (shorter) inside tests/cpp/util/test_bitmap.cpp.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/error.hpp"

using namespace cdpcore;

namespace {

Bitmap random_bitmap(std::mt19937& rng) {
  Bitmap b;
  int chunks = 1 + static_cast<int>(rng() % 6);
  for (int k = 0; k < chunks; ++k) {
    uint32_t base = static_cast<uint32_t>(rng() % 16) << 16;
    switch (rng() % 3) {
      case 0:
        for (uint32_t i = 0, n = 1 + rng() % 3000; i < n; ++i) b.add(base | (rng() & 0xffff));
        break;
      case 1:
        for (uint32_t i = 0, n = 5000 + rng() % 30000; i < n; ++i) b.add(base | (rng() & 0xffff));
        break;
      default: {
        uint32_t start = rng() & 0xffff;
        b.add_range(base | start, base | std::min<uint32_t>(0xffff, start + rng() % 20000));
      }
    }
  }
  if (rng() % 2) b.optimize();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  double budget = argc > 1 ? std::atof(argv[1]) : 5.0;
  uint32_t seed = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 1u;
  std::mt19937 rng(seed);
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 0; i < 16; ++i) seeds.push_back(random_bitmap(rng).serialize());
  seeds.push_back(Bitmap().serialize());

  // stderr goes to a file while fuzzing: the parser must not print.
  std::fflush(stderr);
  std::FILE* capture = std::tmpfile();
  int saved = dup(2);
  if (capture) dup2(fileno(capture), 2);

  uint64_t iterations = 0, accepted = 0, failures = 0, bytes = 0;
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (elapsed() < budget) {
    for (int burst = 0; burst < 256; ++burst, ++iterations) {
      std::vector<uint8_t> in;
      switch (rng() % 8) {
        case 0:
          in.resize(rng() % 128);
          for (auto& x : in) x = static_cast<uint8_t>(rng());
          break;
        case 1:  // a header that claims much more than there is
          in = seeds[rng() % seeds.size()];
          if (in.size() > 8) in[4 + rng() % 4] = static_cast<uint8_t>(rng());
          break;
        default:
          in = seeds[rng() % seeds.size()];
          for (int f = 1 + static_cast<int>(rng() % 4); f > 0 && !in.empty(); --f) {
            size_t at = (rng() % 3) ? rng() % std::min<size_t>(in.size(), 96) : rng() % in.size();
            in[at] = static_cast<uint8_t>(rng());
          }
          if (rng() % 4 == 0) in.resize(rng() % (in.size() + 1));
          if (rng() % 8 == 0) in.insert(in.end(), rng() % 16, static_cast<uint8_t>(rng()));
      }
      bytes += in.size();
      try {
        Bitmap b = Bitmap::deserialize(in);
        ++accepted;
        if (!(Bitmap::deserialize(b.serialize()) == b) || b.to_vector().size() != b.cardinality()) ++failures;
      } catch (const ParseError&) {
      } catch (...) {
        ++failures;  // only ParseError is allowed
      }
    }
  }
  double secs = elapsed();
  std::fflush(stderr);
  long printed = 0;
  if (capture) {
    dup2(saved, 2);
    std::fseek(capture, 0, SEEK_END);
    printed = std::ftell(capture);
    std::fclose(capture);
  }
  close(saved);
  std::printf(
      "{\"benchmark\": \"segment.fuzz_bitmap_parser\", \"impl\": \"cdpcore-native\", \"seconds\": %.6f, \"rows\": "
      "%llu, \"accepted\": %llu, \"bytes\": %llu, \"failures\": %llu, \"printed_bytes\": %ld}\n",
      secs, static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(failures), printed);
  return failures == 0 && printed == 0 ? 0 : 1;
}
