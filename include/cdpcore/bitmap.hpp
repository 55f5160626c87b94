// cdpcore — compressed bitmaps of person ordinals.
//
// A Bitmap is a set of uint32 person ordinals: the form of every audience,
// boolean tag and consent filter. Serialised in Roaring's portable format
// (https://github.com/RoaringBitmap/RoaringFormatSpec), so other tools
// (CRoaring, pyroaring, RoaringBitmap for Java/Go) read exported audiences.
//
// Thread safety: a value type. Concurrent reads of one Bitmap are safe;
// writes need exclusive access.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>
#include "cdpcore/impl_access.hpp"


namespace cdpcore {

class Bitmap {
 public:
  Bitmap();
  ~Bitmap();
  Bitmap(const Bitmap&);
  Bitmap& operator=(const Bitmap&);
  Bitmap(Bitmap&&) noexcept;
  Bitmap& operator=(Bitmap&&) noexcept;

  /// The ordinals in [begin, end).
  static Bitmap from_range(uint32_t begin, uint32_t end);
  /// The given ordinals, in any order, duplicates allowed.
  static Bitmap from_values(std::span<const uint32_t> values);
  /// Reads Roaring's portable format from at most `bytes.size()` bytes.
  /// Throws ParseError (with the offset) on malformed or truncated input.
  /// Bytes after the bitmap are ignored (see portable_size).
  static Bitmap deserialize(std::span<const uint8_t> bytes);
  /// Checks Roaring's portable format completely (cookie, container count,
  /// keys, offsets, sizes, sortedness, cardinalities) within `bytes`, and
  /// returns how many bytes the bitmap occupies. Throws ParseError naming the
  /// offset. Allocates nothing and never reads past the span.
  static size_t portable_size(std::span<const uint8_t> bytes);

  void add(uint32_t v);
  void add_many(std::span<const uint32_t> values);
  void add_range(uint32_t begin, uint32_t end);
  void remove(uint32_t v);
  void clear();
  bool contains(uint32_t v) const noexcept;

  uint64_t cardinality() const noexcept;
  bool empty() const noexcept;
  /// Smallest / largest member; undefined on an empty bitmap (check empty()).
  uint32_t minimum() const noexcept;
  uint32_t maximum() const noexcept;
  /// Number of members <= v.
  uint64_t rank(uint32_t v) const noexcept;
  /// The member of 0-based rank `i`; false when i >= cardinality().
  bool select(uint64_t i, uint32_t* out) const noexcept;

  Bitmap& operator&=(const Bitmap& o);
  Bitmap& operator|=(const Bitmap& o);
  Bitmap& operator-=(const Bitmap& o);  // and-not
  Bitmap& operator^=(const Bitmap& o);
  friend Bitmap operator&(const Bitmap& a, const Bitmap& b);
  friend Bitmap operator|(const Bitmap& a, const Bitmap& b);
  friend Bitmap operator-(const Bitmap& a, const Bitmap& b);
  friend Bitmap operator^(const Bitmap& a, const Bitmap& b);
  bool operator==(const Bitmap& o) const noexcept;

  /// Cardinalities without materialising the result.
  static uint64_t and_cardinality(const Bitmap& a, const Bitmap& b) noexcept;
  static uint64_t or_cardinality(const Bitmap& a, const Bitmap& b) noexcept;
  static uint64_t andnot_cardinality(const Bitmap& a, const Bitmap& b) noexcept;
  static uint64_t xor_cardinality(const Bitmap& a, const Bitmap& b) noexcept;
  static bool intersects(const Bitmap& a, const Bitmap& b) noexcept;
  /// Whether every member of this bitmap is in `o`.
  bool is_subset_of(const Bitmap& o) const noexcept;
  /// Members in [begin, end).
  uint64_t range_cardinality(uint32_t begin, uint32_t end) const noexcept;
  /// Union / intersection of many bitmaps at once.
  static Bitmap or_many(std::span<const Bitmap* const> inputs);
  static Bitmap and_many(std::span<const Bitmap* const> inputs);

  /// Members in ascending order.
  std::vector<uint32_t> to_vector() const;
  /// Writes the members in ascending order to `out` (cardinality() slots).
  void to_array(uint32_t* out) const noexcept;
  /// Calls `fn` for each member in ascending order until it returns false.
  void for_each(const std::function<bool(uint32_t)>& fn) const;
  /// Calls `fn` with consecutive ascending batches of at most `batch_size`
  /// members (the span is valid during the call) until it returns false.
  void for_each_batch(size_t batch_size, const std::function<bool(std::span<const uint32_t>)>& fn) const;

  /// One chunk of the bitmap: the members whose high 16 bits are `key`, in
  /// the form the chunk is stored (Roaring's containers). Valid until the
  /// bitmap is next modified. For code that works a chunk at a time (the
  /// segment engine transposes bitmaps into per-person rows this way).
  struct Chunk {
    enum class Kind : uint8_t { array = 1, bitset = 2, run = 3 };
    /// The run [start, start + length] (inclusive, as in the portable format).
    struct Run {
      uint16_t start;
      uint16_t length;
    };
    uint16_t key = 0;
    Kind kind = Kind::array;
    uint32_t cardinality = 0;
    uint32_t size = 0;  // array: values; run: runs; bitset: 1024 words
    const void* data = nullptr;

    const uint16_t* values() const noexcept { return static_cast<const uint16_t*>(data); }
    const uint64_t* words() const noexcept { return static_cast<const uint64_t*>(data); }
    const Run* runs() const noexcept { return static_cast<const Run*>(data); }

    /// Calls fn(low) for each member's low 16 bits, ascending.
    template <typename Fn>
    void for_each_low(Fn&& fn) const {
      switch (kind) {
        case Kind::array:
          for (uint32_t i = 0; i < size; ++i) fn(uint32_t{values()[i]});
          break;
        case Kind::bitset:
          for (uint32_t i = 0; i < size; ++i)
            for (uint64_t x = words()[i]; x; x &= x - 1) fn(i * 64 + static_cast<uint32_t>(std::countr_zero(x)));
          break;
        case Kind::run:
          for (uint32_t i = 0; i < size; ++i)
            for (uint32_t v = runs()[i].start, end = v + runs()[i].length; v <= end; ++v) fn(v);
          break;
      }
    }
  };
  /// Number of non-empty chunks; chunk(i) for i < chunk_count(), keys ascending.
  size_t chunk_count() const noexcept;
  Chunk chunk(size_t i) const noexcept;

  /// Roaring's portable serialisation.
  std::vector<uint8_t> serialize() const;
  size_t serialized_size() const noexcept;
  /// Bytes of memory in use.
  size_t memory_bytes() const noexcept;
  /// Converts runs to run containers and shrinks buffers; call after building.
  void optimize();

  /// The dense kernels in use on this CPU: "avx2" or "portable".
  static const char* kernel_name() noexcept;

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  explicit Bitmap(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
