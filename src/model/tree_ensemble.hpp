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
//
// Batch scoring walks rows through one tree at a time (that layout); a single
// row walks many trees at once through a second layout built at load (see
// RowBlock).
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

/// Kernels of the single-row path; `automatic` picks the fastest the CPU has.
/// Tests and benchmarks name one (a kernel the CPU lacks falls back to the
/// next: avx512, avx2, scalar); `per_tree` skips the blocks altogether.
enum class RowKernel : uint8_t { automatic, scalar, avx2, avx512, per_tree };

/// The single-row layout (src/model/row_walk.cpp). Comparisons become
/// integer ones: each feature's distinct thresholds are sorted once, a row's
/// value becomes its rank among them, and a node keeps its threshold's rank.
/// XGBoost's x < t_k is exactly #{t <= x} <= k; LightGBM's x <= t_k is
/// exactly #{t < x} <= k. A node is then one 32-bit word: k (bits 0-15),
/// feature (16-30), missing-goes-left (31).
///
/// Consecutive trees are grouped in blocks of kRowBlockTrees, each stored as a
/// complete binary tree of its block's depth in heap order (children of i at
/// 2i+1, 2i+2), shallower leaves padded with nodes that always go left. Lanes
/// are interleaved so that one vector reads the same node position of 16
/// trees, and 64 trees are in flight at once. Trees outside any block take
/// the per-tree walks.
constexpr size_t kRowBlockTrees = 64;
constexpr size_t kRowLanes = 16;
constexpr unsigned kRowMaxDepth = 12;
/// Features the single-row paths copy onto the stack (more: per-tree walks).
constexpr size_t kRowMaxFeatures = 2048;
/// The rank of a missing value: above every node's k.
constexpr int32_t kRowMissingRank = 0x7FFFFFFF;

struct RowBlock {
  uint32_t first_tree = 0;
  uint32_t trees = 0;   // at most kRowBlockTrees; lanes past it are padding
  uint32_t depth = 0;   // every tree of the block walks exactly this many steps
  size_t node_offset = 0;
  size_t leaf_offset = 0;
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
  // Single-row layout (see RowBlock).
  std::vector<RowBlock> row_blocks;
  std::vector<uint32_t> row_nodes;
  std::vector<T> row_leaf;
  std::vector<uint32_t> rank_begin;  // per feature, into rank_thresholds; num_features + 1 entries
  std::vector<T> rank_thresholds;    // each feature's distinct thresholds, ascending
  std::vector<uint32_t> cat_words;     // bitsets of category sets
  std::vector<CategorySet> cat_sets;

  size_t num_trees() const noexcept override { return tree_begin.size(); }
  void predict_rows(const MatrixView& x, size_t begin, size_t end, double* out, PredictType type) const override;
  void predict_row(const double* x, double* out, PredictType type) const noexcept override;
  void predict_row(const float* x, double* out, PredictType type) const noexcept override;
  /// predict_row through a named kernel (one the CPU lacks falls back to the
  /// next, see RowKernel).
  template <class In>
  void predict_row_with(const In* x, double* out, PredictType type, RowKernel kernel) const noexcept;
  size_t grain() const noexcept override { return 1024; }

  /// Appends a tree, validating it: children in range, each node reached once
  /// from the root, features < num_features. `where` prefixes error messages.
  void add_tree(const RawTree& raw, const std::string& where);
  /// Computes derived tables after the last add_tree.
  void finish();
  /// Builds row_blocks and their arrays (part of finish).
  void build_row_layout();
};

/// The kernel that `wanted` runs on this CPU (scalar, avx2 or avx512).
RowKernel row_kernel_resolve(RowKernel wanted) noexcept;

/// The ranks of one row's values (converted as the format compares them)
/// among each feature's thresholds; ranks[num_features] = 0 is what padding
/// nodes read. `kernel` is resolved (row_kernel_resolve), as for walk_row_block.
template <class T>
void row_ranks(const TreeEnsemble<T>& e, const T* row, int32_t* ranks, RowKernel kernel) noexcept;

/// Walks the trees of block `b` for one row's ranks; the leaf value of the
/// block's tree j goes to leaf[j].
template <class T>
void walk_row_block(const TreeEnsemble<T>& e, const RowBlock& b, const int32_t* ranks, T* leaf,
                    RowKernel kernel) noexcept;

extern template struct TreeEnsemble<float>;
extern template struct TreeEnsemble<double>;

}  // namespace cdpcore::model_detail
