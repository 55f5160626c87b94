// Dense kernels of the bitmap: bitset boolean operations with population
// counts, and intersections of sorted uint16 arrays.
//
// The library is built for the baseline x86-64 (SSE2), so the AVX2 / SSE4.2
// versions are compiled with target attributes and chosen once at run time
// from the CPU's features. Methods (facts from the literature, not code):
//  - population count of 256-bit vectors by nibble lookup with PSHUFB and
//    horizontal sums with PSADBW (Mula, Kurz, Lemire: "Faster Population
//    Counts Using AVX2 Instructions", 2018);
//  - sorted-set intersection of 8 x uint16 blocks with PCMPESTRM in
//    equal-any mode and a shuffle table to pack the matches (Schlegel, Willhalm,
//    Lehner: "Fast Sorted-Set Intersection using SIMD Instructions", 2011);
//  - galloping search when one side is much smaller.
#include <algorithm>
#include <array>
#include <bit>

#include "util/bitmap_impl.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CDP_BITMAP_X86 1
#endif

namespace cdpcore::bm {

namespace {

// --- portable versions ----------------------------------------------------------

template <typename Op>
inline uint32_t words_apply(const uint64_t* a, const uint64_t* b, uint64_t* out, Op op) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < kBitsetWords; ++i) {
    out[i] = op(a[i], b[i]);
    n += static_cast<uint64_t>(std::popcount(out[i]));
  }
  return static_cast<uint32_t>(n);
}

uint32_t p_and(const uint64_t* a, const uint64_t* b, uint64_t* out) {
  return words_apply(a, b, out, [](uint64_t x, uint64_t y) { return x & y; });
}
uint32_t p_or(const uint64_t* a, const uint64_t* b, uint64_t* out) {
  return words_apply(a, b, out, [](uint64_t x, uint64_t y) { return x | y; });
}
uint32_t p_andnot(const uint64_t* a, const uint64_t* b, uint64_t* out) {
  return words_apply(a, b, out, [](uint64_t x, uint64_t y) { return x & ~y; });
}
uint32_t p_xor(const uint64_t* a, const uint64_t* b, uint64_t* out) {
  return words_apply(a, b, out, [](uint64_t x, uint64_t y) { return x ^ y; });
}
uint32_t p_and_card(const uint64_t* a, const uint64_t* b) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < kBitsetWords; ++i) n += static_cast<uint64_t>(std::popcount(a[i] & b[i]));
  return static_cast<uint32_t>(n);
}
uint32_t p_popcount(const uint64_t* a) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < kBitsetWords; ++i) n += static_cast<uint64_t>(std::popcount(a[i]));
  return static_cast<uint32_t>(n);
}
void p_or_into(uint64_t* acc, const uint64_t* b) {
  for (uint32_t i = 0; i < kBitsetWords; ++i) acc[i] |= b[i];
}

// Index of the first value >= v in a[lo, n).
inline uint32_t gallop(const uint16_t* a, uint32_t lo, uint32_t n, uint16_t v) {
  if (lo >= n || a[lo] >= v) return lo;
  uint32_t step = 1, hi = lo + 1;
  while (hi < n && a[hi] < v) {
    lo = hi;
    step <<= 1;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  return static_cast<uint32_t>(std::lower_bound(a + lo + 1, a + hi, v) - a);
}

// Small against large: look each small value up in the large one.
template <bool kWrite>
uint32_t gallop_intersect(const uint16_t* s, uint32_t ns, const uint16_t* l, uint32_t nl, uint16_t* out) {
  uint32_t n = 0, j = 0;
  for (uint32_t i = 0; i < ns && j < nl; ++i) {
    j = gallop(l, j, nl, s[i]);
    if (j < nl && l[j] == s[i]) {
      if constexpr (kWrite) out[n] = s[i];
      ++n;
    }
  }
  return n;
}

template <bool kWrite>
uint32_t merge_intersect(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out) {
  uint32_t i = 0, j = 0, n = 0;
  while (i < na && j < nb) {
    uint16_t x = a[i], y = b[j];
    if (x == y) {
      if constexpr (kWrite) out[n] = x;
      ++n;
    }
    i += x <= y;
    j += y <= x;
  }
  return n;
}

// Sizes this skewed are faster by galloping than by merging.
inline bool skewed(uint32_t na, uint32_t nb) { return na * 32 < nb || nb * 32 < na; }

template <bool kWrite>
uint32_t p_intersect(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out) {
  if (na == 0 || nb == 0) return 0;
  if (skewed(na, nb)) {
    return na < nb ? gallop_intersect<kWrite>(a, na, b, nb, out) : gallop_intersect<kWrite>(b, nb, a, na, out);
  }
  return merge_intersect<kWrite>(a, na, b, nb, out);
}

uint32_t p_array_and(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out) {
  return p_intersect<true>(a, na, b, nb, out);
}
uint32_t p_array_and_card(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb) {
  return p_intersect<false>(a, na, b, nb, nullptr);
}

const Kernels kPortable = {"portable", p_and,     p_or,       p_andnot,    p_xor,
                           p_and_card, p_popcount, p_or_into, p_array_and, p_array_and_card};

#ifdef CDP_BITMAP_X86

#define CDP_AVX2 __attribute__((target("avx2,popcnt")))
#define CDP_SSE42 __attribute__((target("sse4.2,ssse3,popcnt")))

// Per-64-bit-lane population counts of a 256-bit vector.
CDP_AVX2 inline __m256i popcount256(__m256i v) {
  const __m256i lookup = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                          1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_and_si256(v, low);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  __m256i bytes = _mm256_add_epi8(_mm256_shuffle_epi8(lookup, lo), _mm256_shuffle_epi8(lookup, hi));
  return _mm256_sad_epu8(bytes, _mm256_setzero_si256());
}

CDP_AVX2 inline uint32_t hsum64(__m256i v) {
  return static_cast<uint32_t>(_mm256_extract_epi64(v, 0) + _mm256_extract_epi64(v, 1) +
                               _mm256_extract_epi64(v, 2) + _mm256_extract_epi64(v, 3));
}

// Two vectors per step; 1024 words = 256 vectors.
#define CDP_BITSET_KERNEL(name, expr)                                                  \
  CDP_AVX2 uint32_t name(const uint64_t* a, const uint64_t* b, uint64_t* out) {        \
    const __m256i* va = reinterpret_cast<const __m256i*>(a);                           \
    const __m256i* vb = reinterpret_cast<const __m256i*>(b);                           \
    __m256i* vo = reinterpret_cast<__m256i*>(out);                                     \
    __m256i total = _mm256_setzero_si256();                                            \
    for (uint32_t i = 0; i < kBitsetWords / 4; i += 2) {                               \
      __m256i x0 = _mm256_load_si256(va + i), y0 = _mm256_load_si256(vb + i);          \
      __m256i x1 = _mm256_load_si256(va + i + 1), y1 = _mm256_load_si256(vb + i + 1);  \
      __m256i r0 = expr(x0, y0), r1 = expr(x1, y1);                                    \
      _mm256_store_si256(vo + i, r0);                                                  \
      _mm256_store_si256(vo + i + 1, r1);                                              \
      total = _mm256_add_epi64(total, _mm256_add_epi64(popcount256(r0), popcount256(r1))); \
    }                                                                                  \
    return hsum64(total);                                                              \
  }

#define CDP_AND(x, y) _mm256_and_si256(x, y)
#define CDP_OR(x, y) _mm256_or_si256(x, y)
#define CDP_ANDNOT(x, y) _mm256_andnot_si256(y, x)
#define CDP_XOR(x, y) _mm256_xor_si256(x, y)
CDP_BITSET_KERNEL(x_and, CDP_AND)
CDP_BITSET_KERNEL(x_or, CDP_OR)
CDP_BITSET_KERNEL(x_andnot, CDP_ANDNOT)
CDP_BITSET_KERNEL(x_xor, CDP_XOR)

CDP_AVX2 uint32_t x_and_card(const uint64_t* a, const uint64_t* b) {
  const __m256i* va = reinterpret_cast<const __m256i*>(a);
  const __m256i* vb = reinterpret_cast<const __m256i*>(b);
  __m256i total = _mm256_setzero_si256();
  for (uint32_t i = 0; i < kBitsetWords / 4; i += 2) {
    __m256i r0 = _mm256_and_si256(_mm256_load_si256(va + i), _mm256_load_si256(vb + i));
    __m256i r1 = _mm256_and_si256(_mm256_load_si256(va + i + 1), _mm256_load_si256(vb + i + 1));
    total = _mm256_add_epi64(total, _mm256_add_epi64(popcount256(r0), popcount256(r1)));
  }
  return hsum64(total);
}

CDP_AVX2 uint32_t x_popcount(const uint64_t* a) {
  const __m256i* va = reinterpret_cast<const __m256i*>(a);
  __m256i total = _mm256_setzero_si256();
  for (uint32_t i = 0; i < kBitsetWords / 4; ++i) total = _mm256_add_epi64(total, popcount256(_mm256_load_si256(va + i)));
  return hsum64(total);
}

CDP_AVX2 void x_or_into(uint64_t* acc, const uint64_t* b) {
  __m256i* va = reinterpret_cast<__m256i*>(acc);
  const __m256i* vb = reinterpret_cast<const __m256i*>(b);
  for (uint32_t i = 0; i < kBitsetWords / 4; ++i)
    _mm256_store_si256(va + i, _mm256_or_si256(_mm256_load_si256(va + i), _mm256_load_si256(vb + i)));
}

// For each 8-bit match mask, the PSHUFB control that packs the matching
// uint16 lanes to the front.
struct ShuffleTable {
  alignas(16) std::array<std::array<uint8_t, 16>, 256> m{};
  constexpr ShuffleTable() {
    for (int mask = 0; mask < 256; ++mask) {
      int k = 0;
      for (int lane = 0; lane < 8; ++lane) {
        if (mask & (1 << lane)) {
          m[mask][k * 2] = static_cast<uint8_t>(lane * 2);
          m[mask][k * 2 + 1] = static_cast<uint8_t>(lane * 2 + 1);
          ++k;
        }
      }
      for (; k < 8; ++k) m[mask][k * 2] = m[mask][k * 2 + 1] = 0x80;
    }
  }
};
constexpr ShuffleTable kShuffle;

template <bool kWrite>
CDP_SSE42 uint32_t x_intersect(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out) {
  if (na == 0 || nb == 0) return 0;
  if (skewed(na, nb)) {
    return na < nb ? gallop_intersect<kWrite>(a, na, b, nb, out) : gallop_intersect<kWrite>(b, nb, a, na, out);
  }
  constexpr int kMode = _SIDD_UWORD_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_BIT_MASK;
  uint32_t i = 0, j = 0, n = 0;
  // Values are distinct within each array, so each lane of a block of `a`
  // matches at most once; blocks advance by comparing their last values.
  while (i + 8 <= na && j + 8 <= nb) {
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
    uint32_t mask = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_cmpestrm(vb, 8, va, 8, kMode))) & 0xff;
    if constexpr (kWrite) {
      __m128i packed = _mm_shuffle_epi8(va, _mm_load_si128(reinterpret_cast<const __m128i*>(kShuffle.m[mask].data())));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), packed);
    }
    n += static_cast<uint32_t>(std::popcount(mask));
    uint16_t amax = a[i + 7], bmax = b[j + 7];
    i += amax <= bmax ? 8 : 0;
    j += bmax <= amax ? 8 : 0;
  }
  // The tails: merge what is left.
  return n + merge_intersect<kWrite>(a + i, na - i, b + j, nb - j, kWrite ? out + n : out);
}

CDP_SSE42 uint32_t x_array_and(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out) {
  return x_intersect<true>(a, na, b, nb, out);
}
CDP_SSE42 uint32_t x_array_and_card(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb) {
  return x_intersect<false>(a, na, b, nb, nullptr);
}

const Kernels kAvx2 = {"avx2", x_and,      x_or,       x_andnot,    x_xor,
                       x_and_card, x_popcount, x_or_into, x_array_and, x_array_and_card};

const Kernels& choose() noexcept {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt"))
    return kAvx2;
  return kPortable;
}
#else
const Kernels& choose() noexcept { return kPortable; }
#endif

}  // namespace

const Kernels& kernels() noexcept {
  static const Kernels& k = choose();
  return k;
}

const Kernels& portable_kernels() noexcept { return kPortable; }

}  // namespace cdpcore::bm
