#include "model/tree_ensemble.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "cdpcore/error.hpp"

namespace cdpcore::model_detail {

namespace {

// Rows walked through a tree in lock-step.
constexpr size_t kGroup = 32;
// The most outputs a single-row call keeps on the stack (checked at load).
constexpr size_t kMaxOutputs = 1024;
// Trees deeper than this take the generic walk (lock-step would waste steps).
constexpr size_t kMaxLockstepDepth = 24;

template <class T>
constexpr bool is_xgb() {
  return std::is_same_v<T, float>;
}

/// An input value as the format compares it: XGBoost rounds to float32;
/// LightGBM keeps double but reads |x| <= 1e-35 as 0 (its dense-row reader).
template <class T, class In>
inline T load_value(In v) noexcept {
  if constexpr (is_xgb<T>()) {
    return static_cast<float>(v);
  } else {
    double d = static_cast<double>(v);
    return std::fabs(d) <= kLgbZero ? 0.0 : d;
  }
}

inline bool in_bitset(const uint32_t* words, uint32_t n, uint32_t pos) noexcept {
  uint32_t w = pos / 32;
  return w < n && ((words[w] >> (pos % 32)) & 1u) != 0;
}

template <class T>
inline bool go_left_generic(const TreeEnsemble<T>& e, const Node<T>& n, T x) noexcept {
  const uint32_t b = n.bits;
  if (b & kCategorical) {
    const CategorySet& cs = e.cat_sets[static_cast<size_t>(n.threshold)];
    const uint32_t* words = e.cat_words.data() + cs.offset;
    if constexpr (is_xgb<T>()) {
      // Missing takes the default branch; an invalid category (negative or not
      // representable) goes left; a category listed in the node goes right.
      if (std::isnan(x)) return (b & kNanLeft) != 0;
      if (x < 0.0f || x >= 16777216.0f) return true;
      return !in_bitset(words, cs.words, static_cast<uint32_t>(x));
    } else {
      // LightGBM: NaN and negative codes go right; listed categories go left.
      if (std::isnan(x) || x <= -1.0 || x >= 2147483648.0) return false;
      int c = static_cast<int>(x);
      if (c < 0) return false;
      return in_bitset(words, cs.words, static_cast<uint32_t>(c));
    }
  }
  if (std::isnan(x)) return (b & kNanLeft) != 0;
  if constexpr (is_xgb<T>()) {
    return x < n.threshold;
  } else {
    if ((b & kZeroMissing) && x == 0.0) return (b & kDefaultLeft) != 0;
    return x <= n.threshold;
  }
}

/// Walks one tree for one row until a leaf; returns the leaf's index.
template <class T, class Load>
inline int32_t walk_generic(const TreeEnsemble<T>& e, const Node<T>* base, Load&& load) noexcept {
  int32_t idx = 0;
  for (;;) {
    const Node<T>& n = base[idx];
    if (n.bits & kLeaf) return idx;
    T x = load(n.bits & kFeatureMask);
    idx = n.left + (go_left_generic(e, n, x) ? 0 : 1);
  }
}

/// One lock-step move for a numerical node (or a leaf, which stays put).
template <class T>
inline int32_t step(const Node<T>& n, T x) noexcept {
  bool cmp;
  if constexpr (is_xgb<T>()) {
    cmp = x < n.threshold;
  } else {
    cmp = x <= n.threshold;
  }
  const uint32_t b = n.bits;
  bool left = cmp | ((x != x) & ((b >> 31) != 0)) | (((b >> 27) & 1u) != 0);
  return n.left + static_cast<int32_t>(!left);
}

float xgb_sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }

template <class T>
void finish_row(const TreeEnsemble<T>& e, const T* acc_in, double* out, PredictType type) noexcept {
  const size_t k = e.num_outputs;
  if constexpr (is_xgb<T>()) {
    if (type == PredictType::margin) {
      for (size_t i = 0; i < k; ++i) out[i] = acc_in[i];
      return;
    }
    switch (e.transform) {
      case Transform::sigmoid:
        for (size_t i = 0; i < k; ++i) out[i] = xgb_sigmoid(acc_in[i]);
        return;
      case Transform::exp:
        for (size_t i = 0; i < k; ++i) out[i] = std::exp(acc_in[i]);
        return;
      case Transform::softmax: {
        float wmax = acc_in[0];
        for (size_t i = 1; i < k; ++i) wmax = std::max(acc_in[i], wmax);
        double wsum = 0;
        std::array<float, kMaxOutputs> tmp;
        for (size_t i = 0; i < k; ++i) {
          tmp[i] = std::exp(acc_in[i] - wmax);
          wsum += tmp[i];
        }
        for (size_t i = 0; i < k; ++i) out[i] = tmp[i] / static_cast<float>(wsum);
        return;
      }
      case Transform::argmax: {
        size_t best = 0;
        for (size_t i = 1; i < e.base_margin.size(); ++i)
          if (acc_in[i] > acc_in[best]) best = i;
        out[0] = static_cast<double>(best);
        return;
      }
      case Transform::hinge:
        for (size_t i = 0; i < k; ++i) out[i] = acc_in[i] > 0.0f ? 1.0 : 0.0;
        return;
      default:
        for (size_t i = 0; i < k; ++i) out[i] = acc_in[i];
        return;
    }
  } else {
    std::array<double, kMaxOutputs> acc;
    for (size_t i = 0; i < k; ++i) acc[i] = acc_in[i];
    if (e.average_output && e.iterations > 0)
      for (size_t i = 0; i < k; ++i) acc[i] /= static_cast<double>(e.iterations);
    if (type == PredictType::margin) {
      for (size_t i = 0; i < k; ++i) out[i] = acc[i];
      return;
    }
    switch (e.transform) {
      case Transform::sigmoid:
        for (size_t i = 0; i < k; ++i) out[i] = 1.0 / (1.0 + std::exp(-e.sigmoid_alpha * acc[i]));
        return;
      case Transform::exp:
        for (size_t i = 0; i < k; ++i) out[i] = std::exp(acc[i]);
        return;
      case Transform::softmax: {
        double wmax = acc[0];
        for (size_t i = 1; i < k; ++i) wmax = std::max(acc[i], wmax);
        double wsum = 0.0;
        for (size_t i = 0; i < k; ++i) {
          out[i] = std::exp(acc[i] - wmax);
          wsum += out[i];
        }
        for (size_t i = 0; i < k; ++i) out[i] /= wsum;
        return;
      }
      case Transform::signed_square:
        for (size_t i = 0; i < k; ++i) out[i] = (acc[i] > 0 ? 1.0 : acc[i] < 0 ? -1.0 : 0.0) * acc[i] * acc[i];
        return;
      case Transform::log1p_exp:
        for (size_t i = 0; i < k; ++i) out[i] = std::log1p(std::exp(acc[i]));
        return;
      default:
        for (size_t i = 0; i < k; ++i) out[i] = acc[i];
        return;
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define CDPCORE_MODEL_AVX2 1
/// The lock-step walk of one float tree for kGroup rows with AVX2 gathers:
/// kGroup / 8 vectors of 8 rows each, interleaved so their gathers overlap
/// (the walk is latency-bound: node gather, then feature gather).
__attribute__((target("avx2"))) void walk_avx2(const TreeEnsemble<float>& e, uint32_t begin, unsigned depth,
                                               unsigned full_levels, const float* rows0, size_t stride,
                                               int32_t* leaf_out) noexcept {
  constexpr size_t V = kGroup / 8;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i stride8 = _mm256_set1_epi32(static_cast<int32_t>(stride));
  const __m256i mask = _mm256_set1_epi32(static_cast<int32_t>(kFeatureMask));
  const __m256i one = _mm256_set1_epi32(1);
  const float* thr = e.soa_threshold.data();
  const int* bits = reinterpret_cast<const int*>(e.soa_bits.data());
  const int* left = e.soa_left.data();
  __m256i off[V], idx[V];
  for (size_t v = 0; v < V; ++v) {
    off[v] = _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(8 * v))), stride8);
    idx[v] = _mm256_set1_epi32(static_cast<int32_t>(begin));
  }
  for (unsigned d = 0; d < depth; ++d) {
    __m256 t[V], x[V];
    __m256i b[V], l[V];
    if (d == 0) {
      // Every row is at the root: broadcast instead of gathering.
      for (size_t v = 0; v < V; ++v) {
        t[v] = _mm256_set1_ps(thr[begin]);
        b[v] = _mm256_set1_epi32(bits[begin]);
        l[v] = _mm256_set1_epi32(left[begin]);
      }
    } else if (d == 1) {
      // Every row is at one of the root's two children (begin+1, begin+2).
      const __m256 t1 = _mm256_set1_ps(thr[begin + 1]), t2 = _mm256_set1_ps(thr[begin + 2]);
      const __m256i b1 = _mm256_set1_epi32(bits[begin + 1]), b2 = _mm256_set1_epi32(bits[begin + 2]);
      const __m256i l1 = _mm256_set1_epi32(left[begin + 1]), l2 = _mm256_set1_epi32(left[begin + 2]);
      const __m256i first = _mm256_set1_epi32(static_cast<int32_t>(begin + 1));
      for (size_t v = 0; v < V; ++v) {
        __m256i is1 = _mm256_cmpeq_epi32(idx[v], first);
        t[v] = _mm256_blendv_ps(t2, t1, _mm256_castsi256_ps(is1));
        b[v] = _mm256_blendv_epi8(b2, b1, is1);
        l[v] = _mm256_blendv_epi8(l2, l1, is1);
      }
    } else if (d <= 3 && full_levels >= d) {
      // Levels 2 and 3 of a tree whose top is complete hold 4 / 8 nodes in a
      // row: an in-register table lookup instead of a gather.
      const int32_t first = static_cast<int32_t>(begin) + (1 << d) - 1;
      const __m256 tt = _mm256_loadu_ps(thr + first);
      const __m256i bt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bits + first));
      const __m256i lt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(left + first));
      const __m256i base = _mm256_set1_epi32(first);
      for (size_t v = 0; v < V; ++v) {
        const __m256i rel = _mm256_sub_epi32(idx[v], base);
        t[v] = _mm256_permutevar8x32_ps(tt, rel);
        b[v] = _mm256_permutevar8x32_epi32(bt, rel);
        l[v] = _mm256_permutevar8x32_epi32(lt, rel);
      }
    } else {
      for (size_t v = 0; v < V; ++v) {
        t[v] = _mm256_i32gather_ps(thr, idx[v], 4);
        b[v] = _mm256_i32gather_epi32(bits, idx[v], 4);
        l[v] = _mm256_i32gather_epi32(left, idx[v], 4);
      }
    }
    for (size_t v = 0; v < V; ++v) {
      x[v] = _mm256_i32gather_ps(rows0, _mm256_add_epi32(off[v], _mm256_and_si256(b[v], mask)), 4);
    }
    for (size_t v = 0; v < V; ++v) {
      // Left when x < t, or x is NaN and the node sends missing left, or a leaf.
      __m256i g = _mm256_castps_si256(_mm256_cmp_ps(x[v], t[v], _CMP_LT_OQ));
      g = _mm256_or_si256(g, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(x[v], x[v], _CMP_UNORD_Q)),
                                              _mm256_srai_epi32(b[v], 31)));
      g = _mm256_or_si256(g, _mm256_srai_epi32(_mm256_slli_epi32(b[v], 4), 31));
      idx[v] = _mm256_add_epi32(_mm256_add_epi32(l[v], one), g);  // g is -1 where left
    }
  }
  for (size_t v = 0; v < V; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(leaf_out + 8 * v), idx[v]);
}

bool has_avx2() noexcept {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

/// Scores `n` rows (a multiple of kGroup) held row-major in `rows` (stride =
/// num_features) into `acc` (n × outputs, preset with the base margins).
template <class T>
void score_block(const TreeEnsemble<T>& e, const T* rows, size_t n, size_t stride, T* acc) noexcept {
#ifdef CDPCORE_MODEL_AVX2
  if constexpr (is_xgb<T>()) {
    static_assert(kGroup % 8 == 0);
    if (has_avx2() && !e.soa_left.empty()) {
      const size_t k_out = e.base_margin.size();
      for (size_t t = 0; t < e.tree_begin.size(); ++t) {
        const T* vals = e.values.data();
        const size_t out = e.tree_output[t];
        if (e.tree_generic[t]) {
          const Node<T>* base = e.nodes.data() + e.tree_begin[t];
          for (size_t r = 0; r < n; ++r) {
            const T* row = rows + r * stride;
            int32_t leaf = walk_generic(e, base, [row](uint32_t f) { return row[f]; });
            acc[r * k_out + out] += vals[e.tree_begin[t] + leaf];
          }
          continue;
        }
        int32_t leaf[kGroup];
        for (size_t r0 = 0; r0 < n; r0 += kGroup) {
          walk_avx2(e, e.tree_begin[t], e.tree_depth[t], e.tree_full_levels[t], rows + r0 * stride, stride, leaf);
          T* a = acc + r0 * k_out + out;
          for (size_t j = 0; j < kGroup; ++j) a[j * k_out] += vals[leaf[j]];
        }
      }
      return;
    }
  }
#endif
  const size_t k_out = e.base_margin.size();
  const size_t trees = e.tree_begin.size();
  for (size_t t = 0; t < trees; ++t) {
    const Node<T>* base = e.nodes.data() + e.tree_begin[t];
    const T* vals = e.values.data() + e.tree_begin[t];
    const size_t out = e.tree_output[t];
    if (e.tree_generic[t]) {
      for (size_t r = 0; r < n; ++r) {
        const T* row = rows + r * stride;
        int32_t leaf = walk_generic(e, base, [row](uint32_t f) { return row[f]; });
        acc[r * k_out + out] += vals[leaf];
      }
      continue;
    }
    const unsigned depth = e.tree_depth[t];
    for (size_t r0 = 0; r0 < n; r0 += kGroup) {
      int32_t idx[kGroup] = {};
      const T* row0 = rows + r0 * stride;
      for (unsigned d = 0; d < depth; ++d) {
        for (size_t j = 0; j < kGroup; ++j) {
          const Node<T>& nd = base[idx[j]];
          idx[j] = step(nd, row0[j * stride + (nd.bits & kFeatureMask)]);
        }
      }
      T* a = acc + r0 * k_out + out;
      for (size_t j = 0; j < kGroup; ++j) a[j * k_out] += vals[idx[j]];
    }
  }
}

/// Copies rows [r0, r0+n) of x into `buf` (row-major, converted), padding to
/// `padded` rows with zeros.
template <class T>
void load_block(const MatrixView& x, size_t r0, size_t n, size_t padded, T* buf) noexcept {
  const size_t nf = x.cols;
  auto fill = [&](auto* src) {
    if (x.layout == Layout::row_major) {
      for (size_t r = 0; r < n; ++r) {
        const auto* s = src + (r0 + r) * nf;
        T* d = buf + r * nf;
        for (size_t c = 0; c < nf; ++c) d[c] = load_value<T>(s[c]);
      }
    } else {
      for (size_t c = 0; c < nf; ++c) {
        const auto* s = src + c * x.rows + r0;
        for (size_t r = 0; r < n; ++r) buf[r * nf + c] = load_value<T>(s[r]);
      }
    }
  };
  if (x.dtype == DType::float64) {
    fill(static_cast<const double*>(x.data));
  } else {
    fill(static_cast<const float*>(x.data));
  }
  std::fill(buf + n * nf, buf + padded * nf, T(0));
}

/// Adds the leaf values of trees [t, end) for one row, walking each tree on
/// its own (in small lock-step groups where they allow it).
template <class T, class Load>
void add_trees_per_tree(const TreeEnsemble<T>& e, size_t t, size_t end, Load&& load, T* acc) noexcept {
  // Trees in small groups walked in lock-step: independent chains of loads
  // overlap. Leaf values are added in tree order, as the original libraries do.
  constexpr size_t kChunk = 16;
  while (t < end) {
    size_t m = std::min(kChunk, end - t);
    bool fast = true;
    unsigned depth = 0;
    for (size_t j = 0; j < m; ++j) {
      fast = fast && !e.tree_generic[t + j];
      depth = std::max<unsigned>(depth, e.tree_depth[t + j]);
    }
    if (fast && m == kChunk) {
      int32_t idx[kChunk] = {};
      const Node<T>* base[kChunk];
      for (size_t j = 0; j < kChunk; ++j) base[j] = e.nodes.data() + e.tree_begin[t + j];
      for (unsigned d = 0; d < depth; ++d) {
        for (size_t j = 0; j < kChunk; ++j) {
          const Node<T>& nd = base[j][idx[j]];
          idx[j] = step(nd, load(nd.bits & kFeatureMask));
        }
      }
      for (size_t j = 0; j < kChunk; ++j) acc[e.tree_output[t + j]] += e.values[e.tree_begin[t + j] + idx[j]];
    } else {
      for (size_t j = 0; j < m; ++j) {
        const Node<T>* base = e.nodes.data() + e.tree_begin[t + j];
        int32_t leaf = walk_generic(e, base, load);
        acc[e.tree_output[t + j]] += e.values[e.tree_begin[t + j] + leaf];
      }
    }
    t += m;
  }
}

template <class T, class In>
void predict_one_row(const TreeEnsemble<T>& e, const In* x, double* out, PredictType type,
                     RowKernel kernel) noexcept {
  std::array<T, kMaxOutputs> acc;
  const size_t k_out = e.base_margin.size();
  for (size_t i = 0; i < k_out; ++i) acc[i] = e.base_margin[i];
  auto load = [x](uint32_t f) { return load_value<T>(x[f]); };
  size_t t = 0;
  if (kernel != RowKernel::per_tree && !e.row_blocks.empty()) {
    // The row as the format compares it, and its values' threshold ranks.
    kernel = row_kernel_resolve(kernel);  // once per row, not per block
    alignas(64) T row[kRowMaxFeatures];
    alignas(64) int32_t ranks[kRowMaxFeatures + 1];
    for (size_t f = 0; f < e.num_features; ++f) row[f] = load_value<T>(x[f]);
    row_ranks(e, row, ranks, kernel);
    auto from_row = [&row](uint32_t f) { return row[f]; };
    alignas(64) T leaf[kRowBlockTrees];
    for (const RowBlock& b : e.row_blocks) {
      add_trees_per_tree(e, t, b.first_tree, from_row, acc.data());
      walk_row_block(e, b, ranks, leaf, kernel);
      if (k_out == 1) {
        // In a register: through memory each add would wait on a store.
        T sum = acc[0];
        for (size_t j = 0; j < b.trees; ++j) sum += leaf[j];
        acc[0] = sum;
      } else {
        for (size_t j = 0; j < b.trees; ++j) acc[e.tree_output[b.first_tree + j]] += leaf[j];
      }
      t = b.first_tree + b.trees;
    }
    add_trees_per_tree(e, t, e.tree_begin.size(), from_row, acc.data());
  } else {
    add_trees_per_tree(e, t, e.tree_begin.size(), load, acc.data());
  }
  finish_row(e, acc.data(), out, type);
}

}  // namespace

template <class T>
void TreeEnsemble<T>::add_tree(const RawTree& raw, const std::string& where) {
  const size_t n = raw.nodes.size();
  if (n == 0) throw ParseError(where + ": a tree has no nodes", 0);
  if (n > (size_t{1} << 30)) throw LimitError(where + ": too many nodes");
  std::vector<int64_t> order;  // raw ids in breadth-first order; position = new id
  std::vector<int32_t> new_id(n, -1);
  std::vector<uint16_t> level;
  order.reserve(n);
  order.push_back(0);
  new_id[0] = 0;
  level.push_back(0);
  unsigned depth = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const RawTree::RawNode& node = raw.nodes[static_cast<size_t>(order[i])];
    if (node.leaf) continue;
    for (int64_t child : {node.left, node.right}) {
      if (child < 0 || static_cast<size_t>(child) >= n) {
        throw ParseError(where + ": node " + std::to_string(order[i]) + " has child " + std::to_string(child) +
                             ", outside 0.." + std::to_string(n - 1),
                         0);
      }
      if (new_id[static_cast<size_t>(child)] >= 0) {
        throw ParseError(where + ": node " + std::to_string(child) + " is reached twice (not a tree)", 0);
      }
      new_id[static_cast<size_t>(child)] = static_cast<int32_t>(order.size());
      order.push_back(child);
      unsigned lv = std::min<unsigned>(level[i] + 1u, 65535u);
      level.push_back(static_cast<uint16_t>(lv));
      depth = std::max(depth, lv);
    }
    if (node.feature >= num_features) {
      throw ParseError(where + ": node " + std::to_string(order[i]) + " splits on feature " +
                           std::to_string(node.feature) + " but the model has " + std::to_string(num_features) +
                           " features",
                       0);
    }
  }
  const uint32_t begin = static_cast<uint32_t>(nodes.size());
  if (nodes.size() + order.size() > std::numeric_limits<uint32_t>::max()) throw LimitError(where + ": too many nodes");
  bool generic = depth > kMaxLockstepDepth;
  for (size_t i = 0; i < order.size(); ++i) {
    const RawTree::RawNode& node = raw.nodes[static_cast<size_t>(order[i])];
    Node<T> out{};
    if (node.leaf) {
      out.threshold = T(0);
      out.bits = kLeaf;
      out.left = static_cast<int32_t>(i);
      nodes.push_back(out);
      values.push_back(static_cast<T>(node.value));
      continue;
    }
    out.bits = node.feature | node.flags;
    if (node.flags & kCategorical) {
      generic = true;
      out.threshold = static_cast<T>(node.threshold);
    } else {
      out.threshold = static_cast<T>(node.threshold);
      if (node.flags & kZeroMissing) generic = true;
    }
    out.left = new_id[static_cast<size_t>(node.left)];
    nodes.push_back(out);
    values.push_back(T(0));
  }
  // Leading levels made only of internal nodes (children then sit in heap order).
  unsigned full = 0;
  for (unsigned lv = 0; lv < 4; ++lv) {
    const size_t first = (size_t{1} << lv) - 1, count = size_t{1} << lv;
    bool all_internal = first + count <= order.size();
    for (size_t i = first; all_internal && i < first + count; ++i)
      all_internal = level[i] == lv && !raw.nodes[static_cast<size_t>(order[i])].leaf;
    if (!all_internal) break;
    full = lv + 1;
  }
  tree_full_levels.push_back(static_cast<uint8_t>(full));
  tree_begin.push_back(begin);
  tree_depth.push_back(static_cast<uint16_t>(std::min<unsigned>(depth, 65535u)));
  tree_output.push_back(raw.output);
  tree_generic.push_back(generic ? 1 : 0);
}

template <class T>
void TreeEnsemble<T>::finish() {
  if (num_outputs == 0 || num_outputs > kMaxOutputs) {
    throw Unsupported("a model with " + std::to_string(num_outputs) + " outputs (at most " +
                      std::to_string(kMaxOutputs) + ")");
  }
  if (base_margin.size() < num_outputs) base_margin.resize(num_outputs, T(0));
  // Global-index copies for the vector kernel (indices must fit in int32).
  if (nodes.size() < (size_t{1} << 31)) {
    // Padded so an 8-wide table load near the end stays inside.
    soa_threshold.assign(nodes.size() + 8, T(0));
    soa_bits.assign(nodes.size() + 8, 0u);
    soa_left.assign(nodes.size() + 8, 0);
    for (size_t t = 0; t < tree_begin.size(); ++t) {
      const size_t end = t + 1 < tree_begin.size() ? tree_begin[t + 1] : nodes.size();
      for (size_t i = tree_begin[t]; i < end; ++i) {
        soa_threshold[i] = nodes[i].threshold;
        soa_bits[i] = nodes[i].bits;
        soa_left[i] = static_cast<int32_t>(tree_begin[t]) + nodes[i].left;
      }
    }
  }
  for (uint32_t o : tree_output) {
    if (o >= base_margin.size()) throw ParseError("a tree adds to output " + std::to_string(o) + " of " +
                                                      std::to_string(base_margin.size()), 0);
  }
  build_row_layout();
}

template <class T>
void TreeEnsemble<T>::predict_rows(const MatrixView& x, size_t begin, size_t end, double* out,
                                   PredictType type) const {
  const size_t nf = std::max<size_t>(num_features, 1);
  const size_t k_acc = base_margin.size();
  // Rows per block: the converted block stays in L2 while every tree walks it.
  const size_t block = std::max<size_t>(kGroup, ((size_t{96} * 1024 / (nf * sizeof(T))) / kGroup) * kGroup);
  std::vector<T> buf(block * nf);
  std::vector<T> acc(block * k_acc);
  for (size_t r0 = begin; r0 < end; r0 += block) {
    size_t n = std::min(block, end - r0);
    size_t padded = (n + kGroup - 1) / kGroup * kGroup;
    if (num_features == 0) {
      std::fill(buf.begin(), buf.end(), T(0));
    } else {
      load_block<T>(x, r0, n, padded, buf.data());
    }
    for (size_t r = 0; r < padded; ++r)
      for (size_t k = 0; k < k_acc; ++k) acc[r * k_acc + k] = base_margin[k];
    score_block(*this, buf.data(), padded, nf, acc.data());
    for (size_t r = 0; r < n; ++r) finish_row(*this, acc.data() + r * k_acc, out + (r0 - begin + r) * num_outputs, type);
  }
}

template <class T>
void TreeEnsemble<T>::predict_row(const double* x, double* out, PredictType type) const noexcept {
  predict_one_row(*this, x, out, type, RowKernel::automatic);
}

template <class T>
void TreeEnsemble<T>::predict_row(const float* x, double* out, PredictType type) const noexcept {
  predict_one_row(*this, x, out, type, RowKernel::automatic);
}

template <class T>
template <class In>
void TreeEnsemble<T>::predict_row_with(const In* x, double* out, PredictType type, RowKernel kernel) const noexcept {
  predict_one_row(*this, x, out, type, kernel);
}

template void TreeEnsemble<float>::predict_row_with(const double*, double*, PredictType, RowKernel) const noexcept;
template void TreeEnsemble<float>::predict_row_with(const float*, double*, PredictType, RowKernel) const noexcept;
template void TreeEnsemble<double>::predict_row_with(const double*, double*, PredictType, RowKernel) const noexcept;
template void TreeEnsemble<double>::predict_row_with(const float*, double*, PredictType, RowKernel) const noexcept;

template struct TreeEnsemble<float>;
template struct TreeEnsemble<double>;

}  // namespace cdpcore::model_detail
