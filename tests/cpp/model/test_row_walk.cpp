// The single-row kernels (src/model/row_walk.cpp) against the per-tree walks
// and the batch path, on random ensembles built straight into the internal
// layout: the exact same sums, bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "model/tree_ensemble.hpp"

using namespace cdpcore;
using namespace cdpcore::model_detail;

namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// Thresholds on a coarse grid so that rows hit them exactly.
double grid(Rng& r) { return static_cast<double>(static_cast<int>(r.below(41)) - 20) / 8.0; }

/// A random tree: every node splits with probability `split` until `depth`;
/// `categorical` plants one categorical split (which forces the generic walk).
RawTree random_tree(Rng& r, unsigned depth, double split, uint32_t features, bool categorical, uint32_t output) {
  RawTree t;
  t.output = output;
  struct Item {
    size_t node;
    unsigned level;
  };
  std::vector<Item> pending{{0, 0}};  // nodes still to fill
  t.nodes.emplace_back();
  bool planted = false;
  while (!pending.empty()) {
    Item it = pending.back();
    pending.pop_back();
    if (it.level >= depth || (it.level > 0 && r.uniform() > split)) {
      t.nodes[it.node].leaf = true;
      t.nodes[it.node].value = grid(r) * 0.37 + r.uniform() * 1e-3;
      continue;
    }
    auto& n = t.nodes[it.node];
    n.feature = static_cast<uint32_t>(r.below(features));
    n.threshold = grid(r);
    n.flags = (r.next() & 1) ? kNanLeft : 0;
    if (categorical && !planted) {
      n.flags |= kCategorical;
      n.threshold = 0;  // category set 0
      planted = true;
    }
    size_t left = t.nodes.size();
    t.nodes[it.node].left = static_cast<int64_t>(left);
    t.nodes[it.node].right = static_cast<int64_t>(left + 1);
    t.nodes.emplace_back();
    t.nodes.emplace_back();
    pending.push_back({left, it.level + 1});
    pending.push_back({left + 1, it.level + 1});
  }
  return t;
}

template <class T>
TreeEnsemble<T> random_ensemble(Rng& r, size_t trees, uint32_t features, uint32_t outputs, unsigned max_depth,
                                double categorical_rate) {
  TreeEnsemble<T> e;
  e.format = std::is_same_v<T, float> ? Format::xgboost : Format::lightgbm;
  e.num_features = features;
  e.num_outputs = outputs;
  e.base_margin.assign(outputs, T(0.25));
  e.cat_words = {0x0000000Au};  // categories 1 and 3
  e.cat_sets = {CategorySet{0, 1}};
  for (size_t t = 0; t < trees; ++t) {
    // Mostly full trees of about the maximum depth, as boosting grows them.
    unsigned depth = max_depth - static_cast<unsigned>(r.below(std::min(max_depth, 2u) + 1));
    bool cat = r.uniform() < categorical_rate;
    e.add_tree(random_tree(r, depth, 0.8 + 0.2 * r.uniform(), features, cat, static_cast<uint32_t>(t % outputs)),
               "tree " + std::to_string(t));
  }
  e.finish();
  return e;
}

/// The ensemble must have between `min_blocks` and `max_blocks` single-row blocks.
template <class T>
void check_kernels_agree(uint64_t seed, size_t trees, uint32_t features, uint32_t outputs, unsigned max_depth,
                         double categorical_rate, size_t min_blocks, size_t max_blocks) {
  Rng r{seed};
  TreeEnsemble<T> e = random_ensemble<T>(r, trees, features, outputs, max_depth, categorical_rate);
  CHECK(e.row_blocks.size() >= min_blocks);
  CHECK(e.row_blocks.size() <= max_blocks);
  const size_t rows = 300;
  std::vector<double> x(rows * features);
  for (double& v : x) {
    double u = r.uniform();
    v = u < 0.1 ? std::numeric_limits<double>::quiet_NaN() : u < 0.15 ? (r.next() & 1 ? 0.0 : -0.0) : grid(r);
    if (u > 0.97) v = (r.next() & 1) ? std::numeric_limits<double>::infinity() : -1e300;
  }
  std::vector<double> batch(rows * outputs);
  e.predict_rows(MatrixView::of(x.data(), rows, features), 0, rows, batch.data(), PredictType::margin);
  std::vector<double> a(outputs), b(outputs), c(outputs), d(outputs), v2(outputs);
  size_t mismatches = 0;
  for (size_t i = 0; i < rows; ++i) {
    const double* row = x.data() + i * features;
    e.predict_row_with(row, a.data(), PredictType::margin, RowKernel::per_tree);
    e.predict_row_with(row, b.data(), PredictType::margin, RowKernel::scalar);
    e.predict_row_with(row, c.data(), PredictType::margin, RowKernel::avx512);
    e.predict_row_with(row, v2.data(), PredictType::margin, RowKernel::avx2);
    e.predict_row(row, d.data(), PredictType::margin);
    for (uint32_t k = 0; k < outputs; ++k) {
      const double expect = batch[i * outputs + k];
      if (a[k] != expect || b[k] != expect || c[k] != expect || d[k] != expect || v2[k] != expect) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("model: single-row kernels give the per-tree walk's sums bit for bit (float, XGBoost arithmetic)") {
  INFO("kernels on this CPU: avx512 → " << static_cast<int>(row_kernel_resolve(RowKernel::avx512))
                                       << ", avx2 → " << static_cast<int>(row_kernel_resolve(RowKernel::avx2)));
  check_kernels_agree<float>(1, 500, 100, 1, 8, 0.0, 8, 8);   // the benchmark's shape
  check_kernels_agree<float>(2, 130, 7, 1, 3, 0.0, 3, 3);     // two blocks and a partial one
  check_kernels_agree<float>(3, 256, 20, 3, 7, 0.01, 1, 3);   // multi-output; categorical trees break blocks
  check_kernels_agree<float>(4, 70, 5, 1, 14, 0.0, 0, 0);     // trees too deep for a block
  check_kernels_agree<float>(5, 1, 3, 1, 0, 0.0, 1, 1);       // a single leaf
}

TEST_CASE("model: single-row kernels give the per-tree walk's sums bit for bit (double, LightGBM arithmetic)") {
  check_kernels_agree<double>(11, 500, 100, 1, 8, 0.0, 8, 8);
  check_kernels_agree<double>(12, 130, 7, 1, 3, 0.0, 3, 3);
  check_kernels_agree<double>(13, 256, 20, 3, 7, 0.01, 1, 3);
  check_kernels_agree<double>(14, 70, 5, 1, 14, 0.0, 0, 0);
  check_kernels_agree<double>(15, 65, 3, 2, 1, 0.0, 2, 2);
}

TEST_CASE("model: the single-row layout covers full blocks and leaves sparse deep trees to the per-tree walk") {
  Rng r{21};
  TreeEnsemble<float> dense = random_ensemble<float>(r, 130, 10, 1, 6, 0.0);
  REQUIRE(dense.row_blocks.size() == 3);
  CHECK(dense.row_blocks.back().trees == 2);
  CHECK(dense.row_blocks.back().first_tree == 128);
  // Depth 12 with few splits: complete trees would store far more nodes than
  // the trees have, so those blocks are not built.
  TreeEnsemble<double> sparse;
  sparse.format = Format::lightgbm;
  sparse.num_features = 4;
  sparse.num_outputs = 1;
  for (int t = 0; t < 64; ++t) {
    // A path of 12 splits: split d (node 2d) sends x0 <= 11 - d left to the
    // next split and the rest right to a leaf of value d; the last left leaf is 99.
    RawTree chain;
    chain.nodes.resize(25);
    for (int d = 0; d < 12; ++d) {
      RawTree::RawNode& n = chain.nodes[static_cast<size_t>(2 * d)];
      n.threshold = 11 - d;
      n.left = 2 * d + 2;
      n.right = 2 * d + 1;
      chain.nodes[static_cast<size_t>(2 * d + 1)].leaf = true;
      chain.nodes[static_cast<size_t>(2 * d + 1)].value = d;
    }
    chain.nodes[24].leaf = true;
    chain.nodes[24].value = 99;
    sparse.add_tree(chain, "chain");
  }
  sparse.finish();
  CHECK(sparse.row_blocks.empty());
  double out = 0;
  const double mid[4] = {5.5, 0, 0, 0};
  sparse.predict_row(mid, &out, PredictType::margin);
  CHECK(out == 64 * 6.0);  // left while 5.5 <= 11 - d, right at d = 6
  const double low[4] = {-1, 0, 0, 0};
  sparse.predict_row(low, &out, PredictType::margin);
  CHECK(out == 64 * 99.0);
}
