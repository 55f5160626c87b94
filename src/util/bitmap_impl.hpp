// Internal: the representation behind cdpcore::Bitmap.
//
// A Roaring bitmap of our own (Chambi, Lemire, Kaser, Godin: "Better bitmap
// performance with Roaring bitmaps", 2016): the 32-bit space is cut into
// 65,536 chunks by the high 16 bits; each non-empty chunk holds one
// container of the low 16 bits:
//   - array:  sorted uint16 values, used when the chunk has <= 4096 members;
//   - bitset: 1024 uint64 words, used when it has more;
//   - run:    sorted [start, start + length] intervals, made by ranges,
//             optimize() and deserialisation when they are smaller.
// Invariants kept by every operation: keys strictly increasing, no empty
// container, an array holds <= 4096 values and a bitset > 4096 (so the
// portable format, which infers the kind from the cardinality, is written
// directly). Dense kernels (bitset and array intersection) have AVX2 and
// SSE4.2 versions chosen at run time (bitmap_simd.cpp): Debian's CRoaring is
// built without them and measured several times slower on dense audiences.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "cdpcore/bitmap.hpp"

namespace cdpcore::bm {

inline constexpr uint32_t kArrayMax = 4096;  // most values in an array container
inline constexpr uint32_t kBitsetWords = 1024;
inline constexpr uint32_t kChunkSize = 65536;

enum class Kind : uint8_t { array = 1, bitset = 2, run = 3 };

/// The interval [start, start + length] (inclusive, as in the portable format).
struct Run {
  uint16_t start;
  uint16_t length;
};

/// Frees a container's buffer: bitsets go back to a per-thread pool of
/// 8 KiB buffers (bounded), the rest to free(). Operations make and drop
/// many bitset containers; glibc returns such memory to the system and
/// faults it back in (measured ~5 us per 8 KiB block), which the pool avoids.
void release_buffer(Kind kind, void* p) noexcept;

/// One chunk's members. Move-only; copy with clone().
class Container {
 public:
  Container() noexcept = default;
  ~Container() { release_buffer(kind, p_); }
  Container(Container&& o) noexcept
      : kind(o.kind), card(o.card), size(o.size), cap(o.cap), p_(std::exchange(o.p_, nullptr)) {
    o.card = o.size = o.cap = 0;
  }
  Container& operator=(Container&& o) noexcept {
    if (this != &o) {
      release_buffer(kind, p_);
      kind = o.kind;
      card = o.card;
      size = o.size;
      cap = o.cap;
      p_ = std::exchange(o.p_, nullptr);
      o.card = o.size = o.cap = 0;
    }
    return *this;
  }
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  /// An empty array container with room for `capacity` values.
  static Container array(uint32_t capacity);
  /// A bitset container with all bits zero.
  static Container bitset_zero();
  /// A bitset container with uninitialised words (the caller writes all).
  static Container bitset_uninit();
  /// An empty run container with room for `capacity` runs.
  static Container runs(uint32_t capacity);
  /// [lo, hi] as one run.
  static Container range(uint32_t lo, uint32_t hi);

  Container clone() const;

  uint16_t* values() const noexcept { return static_cast<uint16_t*>(p_); }
  uint64_t* words() const noexcept { return static_cast<uint64_t*>(p_); }
  Run* run_data() const noexcept { return static_cast<Run*>(p_); }
  bool full() const noexcept { return card == kChunkSize; }

  /// Grows an array or run container to hold at least `n` elements.
  void reserve(uint32_t n);

  Kind kind = Kind::array;
  uint32_t card = 0;  // members
  uint32_t size = 0;  // array: values; run: runs; bitset: kBitsetWords
  uint32_t cap = 0;   // allocated elements (array, run)

 private:
  void* p_ = nullptr;
};

// --- single-container queries and edits (bitmap_container.cpp) -------------
bool contains(const Container& c, uint16_t v) noexcept;
uint16_t minimum(const Container& c) noexcept;
uint16_t maximum(const Container& c) noexcept;
/// Members <= v.
uint32_t rank(const Container& c, uint16_t v) noexcept;
/// The member of rank i (0-based, i < card).
uint16_t select(const Container& c, uint32_t i) noexcept;
/// Writes the members (high | low) to out; returns how many (card).
uint32_t to_uint32(const Container& c, uint32_t high, uint32_t* out) noexcept;
/// Adds / removes one value; returns whether the set changed. Keeps the
/// array/bitset invariant (a run container becomes an array or bitset).
bool add(Container& c, uint16_t v);
bool remove(Container& c, uint16_t v);
/// Adds every value of [lo, hi].
void add_range(Container& c, uint32_t lo, uint32_t hi);
/// Adds sorted, distinct values.
void add_sorted(Container& c, const uint16_t* v, uint32_t n);
/// Restores the array/bitset invariant for a container whose card changed.
void normalize(Container& c);
/// Converts to a run container when that is smaller in the portable format.
void run_optimize(Container& c);
/// Frees unused capacity.
void shrink(Container& c);
/// Writes the bitset form of `c` into 1024 words.
void to_words(const Container& c, uint64_t* words) noexcept;
/// Members in [lo, hi] of the chunk.
uint32_t range_cardinality(const Container& c, uint32_t lo, uint32_t hi) noexcept;
bool equal(const Container& a, const Container& b) noexcept;
bool is_subset(const Container& a, const Container& b) noexcept;
size_t memory_bytes(const Container& c) noexcept;
size_t portable_bytes(const Container& c) noexcept;

// --- two-container operations; results may be empty (card 0) -------------
Container op_and(const Container& a, const Container& b);
Container op_or(const Container& a, const Container& b);
Container op_andnot(const Container& a, const Container& b);
Container op_xor(const Container& a, const Container& b);
uint32_t and_cardinality(const Container& a, const Container& b) noexcept;
bool intersects(const Container& a, const Container& b) noexcept;
// In place: a = a op b, reusing a's buffer where the kinds allow (a may end empty).
void and_inplace(Container& a, const Container& b);
void or_inplace(Container& a, const Container& b);
void andnot_inplace(Container& a, const Container& b);
void xor_inplace(Container& a, const Container& b);

// --- dense kernels, chosen once for the CPU (bitmap_simd.cpp) --------------
struct Kernels {
  const char* name;
  // out = a op b over 1024 words; returns the popcount of out.
  uint32_t (*bitset_and)(const uint64_t* a, const uint64_t* b, uint64_t* out);
  uint32_t (*bitset_or)(const uint64_t* a, const uint64_t* b, uint64_t* out);
  uint32_t (*bitset_andnot)(const uint64_t* a, const uint64_t* b, uint64_t* out);
  uint32_t (*bitset_xor)(const uint64_t* a, const uint64_t* b, uint64_t* out);
  uint32_t (*bitset_and_card)(const uint64_t* a, const uint64_t* b);
  uint32_t (*bitset_popcount)(const uint64_t* a);
  // acc |= b without counting (unions of many).
  void (*bitset_or_into)(uint64_t* acc, const uint64_t* b);
  // Sorted distinct uint16 arrays: writes the intersection to out (room for
  // min(na, nb) + 8 values) and returns its size; or only counts it.
  uint32_t (*array_and)(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, uint16_t* out);
  uint32_t (*array_and_card)(const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb);
};
const Kernels& kernels() noexcept;
/// The portable kernels, for tests that compare the two.
const Kernels& portable_kernels() noexcept;

// --- the portable serialisation (bitmap_portable.cpp) ----------------------
/// Checks Roaring's portable format within `bytes` and returns the number of
/// bytes the bitmap occupies. Throws ParseError naming the offset and what is
/// wrong. Reads nothing past bytes.size() and allocates nothing.
size_t validate_portable(std::span<const uint8_t> bytes);

}  // namespace cdpcore::bm

namespace cdpcore {
struct Bitmap::Impl {
  std::vector<uint16_t> keys;         // high 16 bits, strictly increasing
  std::vector<bm::Container> chunks;  // parallel to keys, none empty

  /// Index of `key`, or -(insertion point) - 1.
  int32_t find(uint16_t key) const noexcept;
  /// The container of `key`, or nullptr.
  const bm::Container* chunk(uint16_t key) const noexcept {
    int32_t i = find(key);
    return i >= 0 ? &chunks[static_cast<size_t>(i)] : nullptr;
  }
  void append(uint16_t key, bm::Container&& c) {
    keys.push_back(key);
    chunks.push_back(std::move(c));
  }
};
}  // namespace cdpcore
