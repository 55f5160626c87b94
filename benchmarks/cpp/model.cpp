// Native model-scoring benchmark: single-row latency (the reentrant path) and
// batch throughput of a model file, without Python in the way.
//
//   bench_model --xgboost m.json --lightgbm m.txt --rows 1000000 --features 100
//
// Prints one JSON object per measurement.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cdpcore/model.hpp"
#include "model/tree_ensemble.hpp"
#include "util/impl_access.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> make_rows(size_t rows, size_t cols, uint64_t seed) {
  std::vector<float> x(rows * cols);
  uint64_t s = seed;
  for (auto& v : x) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    // Roughly standard normal: sum of uniforms.
    double u = 0;
    for (int k = 0; k < 4; ++k) u += static_cast<double>((s >> (16 * k)) & 0xFFFF) / 65535.0;
    v = static_cast<float>((u - 2.0) * 1.732);
  }
  return x;
}

const char* kernel_name(cdpcore::model_detail::RowKernel k) {
  using cdpcore::model_detail::RowKernel;
  return k == RowKernel::avx512 ? "AVX-512" : k == RowKernel::avx2 ? "AVX2" : "portable";
}

void bench(const char* name, const cdpcore::Model& m, size_t rows) {
  const size_t nf = m.num_features();
  std::vector<float> x = make_rows(std::max<size_t>(rows, 4096), nf, 42);
  // Single row: the median of per-call times over many calls, rows cycling
  // through 4096 distinct inputs.
  std::vector<double> samples;
  const int calls = 20000;
  samples.reserve(calls);
  double out[16];
  for (int i = 0; i < 2000; ++i) m.predict_row(std::span<const float>(&x[(i % 4096) * nf], nf), std::span<double>(out, 16));
  for (int i = 0; i < calls; ++i) {
    auto t0 = Clock::now();
    m.predict_row(std::span<const float>(&x[(i % 4096) * nf], nf), std::span<double>(out, 16));
    auto t1 = Clock::now();
    samples.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::nth_element(samples.begin(), samples.begin() + calls / 2, samples.end());
  double median = samples[calls / 2];
  std::printf(
      "{\"benchmark\":\"model_single_row_%s\",\"impl\":\"cdpcore\",\"seconds\":%.9g,\"rows\":1,"
      "\"notes\":\"median of %d predict_row calls, C++ (%s kernel)\"}\n",
      name, median, calls, kernel_name(cdpcore::model_detail::row_kernel_resolve(cdpcore::model_detail::RowKernel::automatic)));
  // The other kernels, which CPUs without AVX-512 (or AVX2) run.
  using namespace cdpcore::model_detail;
  auto kernel = [&](const auto& e, RowKernel k) {
    if (row_kernel_resolve(k) != k) return;  // not on this CPU
    samples.clear();
    for (int i = 0; i < calls; ++i) {
      auto t0 = Clock::now();
      e.predict_row_with(&x[(i % 4096) * nf], out, cdpcore::PredictType::transformed, k);
      samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::nth_element(samples.begin(), samples.begin() + calls / 2, samples.end());
    std::printf(
        "{\"benchmark\":\"model_single_row_%s\",\"impl\":\"cdpcore-%s\",\"seconds\":%.9g,\"rows\":1,"
        "\"notes\":\"median of %d calls, C++, the %s kernel\"}\n",
        name, kernel_name(k), samples[calls / 2], calls, kernel_name(k));
  };
  for (RowKernel k : {RowKernel::avx2, RowKernel::scalar}) {
    if (auto* f = dynamic_cast<const TreeEnsemble<float>*>(&cdpcore::detail::ImplAccess::of(m))) kernel(*f, k);
    if (auto* d = dynamic_cast<const TreeEnsemble<double>*>(&cdpcore::detail::ImplAccess::of(m))) kernel(*d, k);
  }
  // Batch, two threads.
  cdpcore::PredictOptions o;
  o.threads = 2;
  std::vector<double> res(rows * m.num_outputs());
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    m.predict(cdpcore::MatrixView::of(x.data(), rows, nf), res, o);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::printf(
      "{\"benchmark\":\"model_batch_native_%s\",\"impl\":\"cdpcore\",\"seconds\":%.9g,\"rows\":%zu,\"threads\":2,"
      "\"notes\":\"C++ predict, float32 row-major, best of 3\"}\n",
      name, best, rows);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string xgb, lgb;
  size_t rows = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--xgboost")) xgb = argv[i + 1];
    if (!std::strcmp(argv[i], "--lightgbm")) lgb = argv[i + 1];
    if (!std::strcmp(argv[i], "--rows")) rows = std::stoul(argv[i + 1]);
  }
  try {
    if (!xgb.empty()) bench("xgboost", cdpcore::Model::load_xgboost_json(xgb), rows);
    if (!lgb.empty()) bench("lightgbm", cdpcore::Model::load_lightgbm(lgb), rows);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
