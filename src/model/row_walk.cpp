// The single-row layout and its kernels (see RowBlock in tree_ensemble.hpp).
//
// One row through a 500-tree model is 4,000 dependent node reads. Walking one
// tree at a time leaves the core waiting on each read; here 64 trees walk in
// lock-step and their reads overlap. Complete trees in heap order need no
// child pointers, threshold ranks make a node 4 bytes and every comparison an
// integer one (the same kernel for float and double models), and lanes
// interleaved by node position put the top levels of 16 trees in one cache
// line. Leaf values are still added in tree order by the caller, so sums
// round exactly as the original libraries' do.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which its own
// -Wuninitialized flags (GCC bug 105593, fixed in 13). Set before any include
// so the header's lines carry it.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "model/tree_ensemble.hpp"

namespace cdpcore::model_detail {

namespace {

constexpr size_t L = kRowLanes;
/// A block pays for complete trees; beyond this many stored nodes per real
/// node (sparse, deep trees) its trees keep the per-tree walks.
constexpr size_t kMaxPadding = 4;
constexpr uint32_t kMaxRank = 0xFFFF;  // k of a padding node: every rank but missing is <= it

uint32_t node_word(uint32_t k, uint32_t feature, bool nan_left) noexcept {
  return k | (feature << 16) | (nan_left ? 0x80000000u : 0u);
}

/// Heap layout of each tree of one block.
template <class T>
void place_block(TreeEnsemble<T>& e, const RowBlock& b) {
  const size_t ni = (size_t{1} << b.depth) - 1, nl = size_t{1} << b.depth;
  for (size_t j = 0; j < b.trees; ++j) {
    const size_t group = j / L, lane = j % L;
    const Node<T>* tree = e.nodes.data() + e.tree_begin[b.first_tree + j];
    const T* vals = e.values.data() + e.tree_begin[b.first_tree + j];
    struct Item {
      int32_t node;
      size_t pos;
      unsigned level;
    };
    Item stack[2 * kRowMaxDepth + 2];
    size_t top = 0;
    stack[top++] = {0, 0, 0};
    while (top > 0) {
      const Item it = stack[--top];
      const Node<T>& nd = tree[it.node];
      if (nd.bits & kLeaf) {
        // Every leaf slot under this position holds the value; the padding
        // nodes above them lead to the leftmost.
        const size_t span = size_t{1} << (b.depth - it.level);
        const size_t first_leaf = (it.pos + 1) * span - 1 - ni;
        for (size_t k = 0; k < span; ++k) e.row_leaf[b.leaf_offset + (group * nl + first_leaf + k) * L + lane] = vals[it.node];
        continue;
      }
      const uint32_t f = nd.bits & kFeatureMask;
      const T* ts = e.rank_thresholds.data() + e.rank_begin[f];
      const T* end = e.rank_thresholds.data() + e.rank_begin[f + 1];
      const uint32_t k = static_cast<uint32_t>(std::lower_bound(ts, end, nd.threshold) - ts);
      e.row_nodes[b.node_offset + (group * ni + it.pos) * L + lane] = node_word(k, f, (nd.bits & kNanLeft) != 0);
      stack[top++] = {nd.left + 1, 2 * it.pos + 2, it.level + 1};
      stack[top++] = {nd.left, 2 * it.pos + 1, it.level + 1};
    }
  }
}

}  // namespace

template <class T>
void TreeEnsemble<T>::build_row_layout() {
  row_blocks.clear();
  row_nodes.clear();
  row_leaf.clear();
  rank_begin.clear();
  rank_thresholds.clear();
  if (num_features >= kRowMaxFeatures) return;
  const size_t trees = tree_begin.size();
  auto tree_end = [&](size_t t) { return t + 1 < trees ? tree_begin[t + 1] : nodes.size(); };
  // A tree can be in a block: numerical splits only, not too deep, no NaN threshold.
  std::vector<uint8_t> blockable(trees);
  for (size_t t = 0; t < trees; ++t) {
    bool ok = !tree_generic[t] && tree_depth[t] <= kRowMaxDepth;
    for (size_t i = tree_begin[t]; ok && i < tree_end(t); ++i) ok = !std::isnan(nodes[i].threshold);
    blockable[t] = ok ? 1 : 0;
  }
  // Each feature's distinct thresholds, ascending.
  std::vector<std::vector<T>> per_feature(num_features);
  for (size_t t = 0; t < trees; ++t) {
    if (!blockable[t]) continue;
    for (size_t i = tree_begin[t]; i < tree_end(t); ++i) {
      if (!(nodes[i].bits & kLeaf)) per_feature[nodes[i].bits & kFeatureMask].push_back(nodes[i].threshold);
    }
  }
  rank_begin.push_back(0);
  for (auto& ts : per_feature) {
    std::sort(ts.begin(), ts.end());
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());  // -0 and +0 are one: no comparison tells them apart
    if (ts.size() >= kMaxRank) {
      rank_begin.clear();
      return;
    }
    rank_thresholds.insert(rank_thresholds.end(), ts.begin(), ts.end());
    rank_begin.push_back(static_cast<uint32_t>(rank_thresholds.size()));
  }
  const uint32_t pad = node_word(kMaxRank, static_cast<uint32_t>(num_features), false);
  for (size_t first = 0; first < trees; first += kRowBlockTrees) {
    const size_t n = std::min(kRowBlockTrees, trees - first);
    unsigned depth = 1;
    size_t internal = 0;
    bool ok = true;
    for (size_t t = first; t < first + n && ok; ++t) {
      ok = blockable[t] != 0;
      depth = std::max<unsigned>(depth, tree_depth[t]);
      for (size_t i = tree_begin[t]; i < tree_end(t); ++i) internal += (nodes[i].bits & kLeaf) ? 0 : 1;
    }
    const size_t ni = (size_t{1} << depth) - 1, nl = size_t{1} << depth;
    // Dense enough (small trees always are), and a short last block only for
    // shallow trees: its unused lanes are padding too.
    if (!ok || n * ni > kMaxPadding * internal + n * 15 || (n < L && depth > 8)) continue;
    RowBlock b;
    b.first_tree = static_cast<uint32_t>(first);
    b.trees = static_cast<uint32_t>(n);
    b.depth = depth;
    b.node_offset = row_nodes.size();
    row_nodes.resize(row_nodes.size() + kRowBlockTrees * ni, pad);
    b.leaf_offset = row_leaf.size();
    row_leaf.resize(row_leaf.size() + kRowBlockTrees * nl, T(0));
    place_block(*this, b);
    row_blocks.push_back(b);
  }
}

namespace {

/// Whether threshold t counts towards the rank of x: XGBoost counts t <= x,
/// LightGBM t < x (see RowBlock).
template <class T>
inline bool counts_towards_rank(T t, T x) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    return t <= x;
  } else {
    return t < x;
  }
}

template <class T>
void ranks_scalar(const TreeEnsemble<T>& e, const T* row, int32_t* ranks, size_t f) noexcept {
  const T* all = e.rank_thresholds.data();
  for (; f < e.num_features; ++f) {
    const T x = row[f];
    const uint32_t begin = e.rank_begin[f];
    size_t n = e.rank_begin[f + 1] - begin;
    if (x != x) {
      ranks[f] = kRowMissingRank;
      continue;
    }
    if (n == 0) {
      ranks[f] = 0;
      continue;
    }
    // Branch-free binary search (the values are random: branches would miss).
    const T* base = all + begin;
    while (n > 1) {
      const size_t half = n / 2;
      base += counts_towards_rank(base[half], x) ? half : 0;
      n -= half;
    }
    const bool last = counts_towards_rank(*base, x);
    ranks[f] = static_cast<int32_t>(base - (all + begin)) + (last ? 1 : 0);
  }
}


#if defined(__x86_64__)
#define CDPCORE_ROW_AVX512 1

/// Gathers the thresholds at `at` in the active lanes and returns the lanes
/// where the threshold counts towards the rank of x = row[0..16): t <= x for
/// XGBoost, t < x for LightGBM.
__attribute__((target("avx512f"), always_inline)) inline __mmask16 thresholds_below(const float* all,
                                                                                     const float* x,
                                                                                     __mmask16 active,
                                                                                     __m512i at) noexcept {
  const __m512 t = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active, at, all, 4);
  return _mm512_mask_cmp_ps_mask(active, t, _mm512_loadu_ps(x), _CMP_LE_OQ);
}

__attribute__((target("avx512f"), always_inline)) inline __mmask16 thresholds_below(const double* all,
                                                                                     const double* x,
                                                                                     __mmask16 active,
                                                                                     __m512i at) noexcept {
  const __mmask8 a0 = static_cast<__mmask8>(active), a1 = static_cast<__mmask8>(active >> 8);
  const __m512d t0 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), a0, _mm512_castsi512_si256(at), all, 8);
  const __m512d t1 = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), a1, _mm512_extracti64x4_epi64(at, 1), all, 8);
  const unsigned lo = _mm512_mask_cmp_pd_mask(a0, t0, _mm512_loadu_pd(x), _CMP_LT_OQ);
  const unsigned hi = _mm512_mask_cmp_pd_mask(a1, t1, _mm512_loadu_pd(x + 8), _CMP_LT_OQ);
  return static_cast<__mmask16>(lo | (hi << 8));
}

/// The same search for 16 features at a time: each lane halves its own range
/// with one gather per step until every range is down to one threshold.
template <class T>
__attribute__((target("avx512f"))) size_t ranks_avx512(const TreeEnsemble<T>& e, const T* row,
                                                       int32_t* ranks) noexcept {
  const T* all = e.rank_thresholds.data();
  const int* begin_at = reinterpret_cast<const int*>(e.rank_begin.data());
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i zero = _mm512_setzero_si512();
  size_t f = 0;
  for (; f + L <= e.num_features; f += L) {
    const __m512i begin = _mm512_loadu_si512(begin_at + f);
    __m512i n = _mm512_sub_epi32(_mm512_loadu_si512(begin_at + f + 1), begin);
    __m512i base = begin;
    for (__mmask16 active = _mm512_cmpgt_epi32_mask(n, one); active; active = _mm512_cmpgt_epi32_mask(n, one)) {
      const __m512i half = _mm512_srli_epi32(n, 1);
      const __mmask16 go = thresholds_below(all, row + f, active, _mm512_add_epi32(base, half));
      base = _mm512_mask_add_epi32(base, go, base, half);
      n = _mm512_mask_sub_epi32(n, active, n, half);
    }
    const __mmask16 some = _mm512_cmpgt_epi32_mask(n, zero);
    __m512i rank = _mm512_sub_epi32(base, begin);
    rank = _mm512_mask_add_epi32(rank, thresholds_below(all, row + f, some, base), rank, one);
    __mmask16 nan;
    if constexpr (std::is_same_v<T, float>) {
      const __m512 x = _mm512_loadu_ps(row + f);
      nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    } else {
      const __m512d x0 = _mm512_loadu_pd(row + f), x1 = _mm512_loadu_pd(row + f + 8);
      nan = static_cast<__mmask16>(_mm512_cmp_pd_mask(x0, x0, _CMP_UNORD_Q) |
                                   (static_cast<unsigned>(_mm512_cmp_pd_mask(x1, x1, _CMP_UNORD_Q)) << 8));
    }
    _mm512_storeu_si512(ranks + f, _mm512_mask_blend_epi32(nan, rank, _mm512_set1_epi32(kRowMissingRank)));
  }
  return f;
}
#endif

}  // namespace

RowKernel row_kernel_resolve(RowKernel wanted) noexcept {
#ifdef CDPCORE_ROW_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if ((wanted == RowKernel::automatic || wanted == RowKernel::avx512) && avx512) return RowKernel::avx512;
  if (wanted != RowKernel::scalar && avx2) return RowKernel::avx2;
#else
  (void)wanted;
#endif
  return RowKernel::scalar;
}

template <class T>
void row_ranks(const TreeEnsemble<T>& e, const T* row, int32_t* ranks, RowKernel kernel) noexcept {
  size_t f = 0;
#ifdef CDPCORE_ROW_AVX512
  if (kernel == RowKernel::avx512) f = ranks_avx512(e, row, ranks);
#else
  (void)kernel;
#endif
  ranks_scalar(e, row, ranks, f);
  ranks[e.num_features] = 0;
}

namespace {

/// Portable kernel: the 64 trees of a block in lock-step, one level at a time.
template <class T>
void walk_block_scalar(const TreeEnsemble<T>& e, const RowBlock& b, const int32_t* ranks, T* leaf) noexcept {
  const size_t ni = (size_t{1} << b.depth) - 1, nl = size_t{1} << b.depth;
  const uint32_t* nodes = e.row_nodes.data() + b.node_offset;
  uint32_t idx[kRowBlockTrees] = {};
  for (unsigned d = 0; d < b.depth; ++d) {
    for (size_t j = 0; j < kRowBlockTrees; ++j) {
      const uint32_t w = nodes[((j / L) * ni + idx[j]) * L + j % L];
      const int32_t r = ranks[(w >> 16) & 0x7FFFu];
      const bool left = (r <= static_cast<int32_t>(w & 0xFFFFu)) | ((r == kRowMissingRank) & ((w >> 31) != 0));
      idx[j] = 2 * idx[j] + 2 - static_cast<uint32_t>(left);
    }
  }
  for (size_t j = 0; j < b.trees; ++j) leaf[j] = e.row_leaf[b.leaf_offset + ((j / L) * nl + idx[j] - ni) * L + j % L];
}

#ifdef CDPCORE_ROW_AVX512
/// 4 vectors of 16 trees. Per level: one gather of node words, one of ranks.
template <class T>
__attribute__((target("avx512f"))) void walk_block_avx512(const TreeEnsemble<T>& e, const RowBlock& b,
                                                          const int32_t* ranks, T* leaf) noexcept {
  constexpr size_t V = kRowBlockTrees / L;
  const size_t ni = (size_t{1} << b.depth) - 1, nl = size_t{1} << b.depth;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  const __m512i feature_mask = _mm512_set1_epi32(0x7FFF);
  const __m512i missing = _mm512_set1_epi32(kRowMissingRank);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i two = _mm512_set1_epi32(2);
  const int* base[V];
  __m512i idx[V];
  for (size_t v = 0; v < V; ++v) {
    base[v] = reinterpret_cast<const int*>(e.row_nodes.data() + b.node_offset + v * ni * L);
    idx[v] = zero;
  }
  for (unsigned d = 0; d < b.depth; ++d) {
    __m512i w[V];
    if (d == 0) {  // every lane at its root: the 16 roots are contiguous
      for (size_t v = 0; v < V; ++v) w[v] = _mm512_loadu_si512(base[v]);
    } else if (d == 1) {  // at node 1 or 2: two contiguous runs
      for (size_t v = 0; v < V; ++v) {
        const __mmask16 right = _mm512_cmpeq_epi32_mask(idx[v], two);
        w[v] = _mm512_mask_blend_epi32(right, _mm512_loadu_si512(base[v] + L), _mm512_loadu_si512(base[v] + 2 * L));
      }
    } else {
      for (size_t v = 0; v < V; ++v)
        w[v] = _mm512_i32gather_epi32(_mm512_add_epi32(_mm512_slli_epi32(idx[v], 4), lane), base[v], 4);
    }
    __m512i r[V];
    for (size_t v = 0; v < V; ++v)
      r[v] = _mm512_i32gather_epi32(_mm512_and_si512(_mm512_srli_epi32(w[v], 16), feature_mask), ranks, 4);
    for (size_t v = 0; v < V; ++v) {
      // Left when the rank is at most k, or the value is missing and the node sends it left.
      const __mmask16 left = _mm512_cmple_epi32_mask(r[v], _mm512_and_si512(w[v], low16)) |
                             (_mm512_cmpeq_epi32_mask(r[v], missing) & _mm512_cmplt_epi32_mask(w[v], zero));
      const __m512i next = _mm512_add_epi32(_mm512_add_epi32(idx[v], idx[v]), one);
      idx[v] = _mm512_mask_add_epi32(next, static_cast<__mmask16>(~left), next, one);
    }
  }
  alignas(64) T out[kRowBlockTrees];
  const __m512i first_leaf = _mm512_set1_epi32(static_cast<int32_t>(ni));
  for (size_t v = 0; v < V; ++v) {
    const __m512i pos = _mm512_add_epi32(_mm512_slli_epi32(_mm512_sub_epi32(idx[v], first_leaf), 4), lane);
    const T* leaves = e.row_leaf.data() + b.leaf_offset + v * nl * L;
    if constexpr (std::is_same_v<T, float>) {
      _mm512_store_ps(out + L * v, _mm512_i32gather_ps(pos, leaves, 4));
    } else {
      _mm512_store_pd(out + L * v, _mm512_i32gather_pd(_mm512_castsi512_si256(pos), leaves, 8));
      _mm512_store_pd(out + L * v + 8, _mm512_i32gather_pd(_mm512_extracti64x4_epi64(pos, 1), leaves, 8));
    }
  }
  std::memcpy(leaf, out, b.trees * sizeof(T));
}

/// The same walk with AVX2: 8 vectors of 8 trees (each 16-lane group in two
/// halves). Comparisons give all-ones lanes instead of mask registers.
template <class T>
__attribute__((target("avx2"))) void walk_block_avx2(const TreeEnsemble<T>& e, const RowBlock& b,
                                                     const int32_t* ranks, T* leaf) noexcept {
  constexpr size_t V = kRowBlockTrees / 8;
  const size_t ni = (size_t{1} << b.depth) - 1, nl = size_t{1} << b.depth;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i low16 = _mm256_set1_epi32(0xFFFF);
  const __m256i feature_mask = _mm256_set1_epi32(0x7FFF);
  const __m256i missing = _mm256_set1_epi32(kRowMissingRank);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i two = _mm256_set1_epi32(2);
  const int* base[V];
  __m256i idx[V];
  for (size_t v = 0; v < V; ++v) {
    base[v] = reinterpret_cast<const int*>(e.row_nodes.data() + b.node_offset + (v / 2) * ni * L + (v % 2) * 8);
    idx[v] = _mm256_setzero_si256();
  }
  for (unsigned d = 0; d < b.depth; ++d) {
    __m256i w[V];
    if (d == 0) {
      for (size_t v = 0; v < V; ++v) w[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base[v]));
    } else if (d == 1) {
      for (size_t v = 0; v < V; ++v) {
        const __m256i right = _mm256_cmpeq_epi32(idx[v], two);
        w[v] = _mm256_blendv_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(base[v] + L)),
                                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base[v] + 2 * L)), right);
      }
    } else {
      for (size_t v = 0; v < V; ++v)
        w[v] = _mm256_i32gather_epi32(base[v], _mm256_add_epi32(_mm256_slli_epi32(idx[v], 4), lane), 4);
    }
    __m256i r[V];
    for (size_t v = 0; v < V; ++v)
      r[v] = _mm256_i32gather_epi32(ranks, _mm256_and_si256(_mm256_srli_epi32(w[v], 16), feature_mask), 4);
    for (size_t v = 0; v < V; ++v) {
      // Right when the rank is above k, unless the value is missing and the node sends it left.
      const __m256i missing_left = _mm256_and_si256(_mm256_cmpeq_epi32(r[v], missing), _mm256_srai_epi32(w[v], 31));
      const __m256i right =
          _mm256_andnot_si256(missing_left, _mm256_cmpgt_epi32(r[v], _mm256_and_si256(w[v], low16)));
      idx[v] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(idx[v], idx[v]), one), right);
    }
  }
  alignas(32) T out[kRowBlockTrees];
  const __m256i first_leaf = _mm256_set1_epi32(static_cast<int32_t>(ni));
  for (size_t v = 0; v < V; ++v) {
    const __m256i pos = _mm256_add_epi32(_mm256_slli_epi32(_mm256_sub_epi32(idx[v], first_leaf), 4), lane);
    const T* leaves = e.row_leaf.data() + b.leaf_offset + (v / 2) * nl * L + (v % 2) * 8;
    if constexpr (std::is_same_v<T, float>) {
      _mm256_store_ps(out + 8 * v, _mm256_i32gather_ps(leaves, pos, 4));
    } else {
      _mm256_store_pd(out + 8 * v, _mm256_i32gather_pd(leaves, _mm256_castsi256_si128(pos), 8));
      _mm256_store_pd(out + 8 * v + 4, _mm256_i32gather_pd(leaves, _mm256_extracti128_si256(pos, 1), 8));
    }
  }
  std::memcpy(leaf, out, b.trees * sizeof(T));
}
#endif

}  // namespace

template <class T>
void walk_row_block(const TreeEnsemble<T>& e, const RowBlock& b, const int32_t* ranks, T* leaf,
                    RowKernel kernel) noexcept {
#ifdef CDPCORE_ROW_AVX512
  switch (kernel) {
    case RowKernel::avx512:
      walk_block_avx512(e, b, ranks, leaf);
      return;
    case RowKernel::avx2:
      walk_block_avx2(e, b, ranks, leaf);
      return;
    default:
      break;
  }
#else
  (void)kernel;
#endif
  walk_block_scalar(e, b, ranks, leaf);
}

template void TreeEnsemble<float>::build_row_layout();
template void TreeEnsemble<double>::build_row_layout();
template void row_ranks(const TreeEnsemble<float>&, const float*, int32_t*, RowKernel) noexcept;
template void row_ranks(const TreeEnsemble<double>&, const double*, int32_t*, RowKernel) noexcept;
template void walk_row_block(const TreeEnsemble<float>&, const RowBlock&, const int32_t*, float*, RowKernel) noexcept;
template void walk_row_block(const TreeEnsemble<double>&, const RowBlock&, const int32_t*, double*,
                             RowKernel) noexcept;

}  // namespace cdpcore::model_detail
