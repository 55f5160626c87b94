// Internal: flattened tree ensembles and their scoring kernels.
//
// Both formats load into one layout: per tree, nodes in breadth-first order
// with the two children of a node adjacent (right = left + 1), so a step is
// `idx = left + !go_left`. Leaves point at themselves and always "go left",
// which lets a group of rows walk a tree in lock-step for exactly `depth`
// steps without a data-dependent exit: independent loads overlap and the
// branch predictor has nothing to miss. Trees with categorical splits or
// LightGBM's zero-as-missing take a per-row generic walk instead.
//
// XGBoost trees use float thresholds and a float accumulator (XGBoost's own
// arithmetic, so sums round the same way); LightGBM trees use double.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model_impl.hpp"

namespace cdpcore::model_detail {

enum class Format : uint8_t { xgboost, lightgbm };

/// The objective's output transformation.
enum class Transform : uint8_t {
  identity,
  sigmoid,       // 1 / (1 + exp(-alpha x))
  softmax,       // over the outputs of a row
  exp,           // log-link objectives (poisson, gamma, tweedie)
  argmax,        // XGBoost multi:softmax: the index of the largest margin
  hinge,         // XGBoost binary:hinge: 1 when margin > 0 else 0
  signed_square, // LightGBM regression with sqrt: sign(x) x²
  log1p_exp,     // LightGBM cross_entropy_lambda
};

constexpr uint32_t kFeatureMask = 0x00FFFFFFu;
constexpr uint32_t kMaxFeatures = kFeatureMask;
constexpr uint32_t kNanLeft = 1u << 31;      // a missing (NaN) value goes left
constexpr uint32_t kCategorical = 1u << 30;  // threshold holds a category-set index
constexpr uint32_t kZeroMissing = 1u << 29;  // LightGBM missing type Zero
constexpr uint32_t kDefaultLeft = 1u << 28;  // LightGBM default direction (Zero type)
constexpr uint32_t kLeaf = 1u << 27;
/// Bound on the bitset words of all category sets of a model (64 MiB).
constexpr size_t kMaxCategoryWords = size_t{1} << 24;

/// LightGBM's kZeroThreshold (a float constant compared in double).
constexpr double kLgbZero = static_cast<double>(1e-35f);

template <class T>
struct Node {
  T threshold;    // numerical split value; category-set index; 0 for a leaf
  uint32_t bits;  // feature index | flags above
  int32_t left;   // child index within the tree (right = left + 1); self for a leaf
};

/// A tree as read from a file, before flattening. Node ids are the file's.
struct RawTree {
  struct RawNode {
    bool leaf = false;
    int64_t left = -1, right = -1;
    uint32_t feature = 0;
    double threshold = 0;  // split value, or category-set index for categorical splits
    double value = 0;      // leaf value
    uint32_t flags = 0;    // kNanLeft | kCategorical | kZeroMissing | kDefaultLeft
  };
  std::vector<RawNode> nodes;
  uint32_t output = 0;
};

struct CategorySet {
  uint32_t offset = 0;  // into TreeEnsemble::cat_words
  uint32_t words = 0;
};

template <class T>
struct TreeEnsemble final : Model::Impl {
  using Acc = T;  // float for XGBoost, double for LightGBM
  Format format = Format::xgboost;
  Transform transform = Transform::identity;
  double sigmoid_alpha = 1.0;
  std::vector<Acc> base_margin;  // per output (XGBoost); zeros for LightGBM
  bool average_output = false;   // LightGBM random forest: divide by iterations
  size_t iterations = 0;

  std::vector<Node<T>> nodes;
  std::vector<T> values;               // leaf value per node
  std::vector<uint32_t> tree_begin;    // first node of each tree
  std::vector<uint16_t> tree_depth;    // steps from the root to the deepest leaf
  std::vector<uint32_t> tree_output;   // output (class) each tree adds to
  std::vector<uint8_t> tree_generic;   // needs the per-row generic walk
  std::vector<uint8_t> tree_full_levels;  // leading levels with internal nodes only (at most 4)
  // Structure-of-arrays copy of the nodes for the vector (AVX2) kernel:
  // thresholds, bits and the global index of the left child.
  std::vector<T> soa_threshold;
  std::vector<uint32_t> soa_bits;
  std::vector<int32_t> soa_left;
  std::vector<uint32_t> cat_words;     // bitsets of category sets
  std::vector<CategorySet> cat_sets;
  bool any_generic = false;

  size_t num_trees() const noexcept override { return tree_begin.size(); }
  void predict_rows(const MatrixView& x, size_t begin, size_t end, double* out, PredictType type) const override;
  void predict_row(const double* x, double* out, PredictType type) const noexcept override;
  void predict_row(const float* x, double* out, PredictType type) const noexcept override;
  size_t grain() const noexcept override { return 1024; }

  /// Appends a tree, validating it: children in range, each node reached once
  /// from the root, features < num_features. `where` prefixes error messages.
  void add_tree(const RawTree& raw, const std::string& where);
  /// Computes derived tables after the last add_tree.
  void finish();
};

extern template struct TreeEnsemble<float>;
extern template struct TreeEnsemble<double>;

}  // namespace cdpcore::model_detail
