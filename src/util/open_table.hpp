// Internal: the one open-addressing hash table of dense ids keyed by 64-bit
// hashes (identity's identifiers, consent's subjects): the slot array, its
// growth, tag probing, backward-shift erasure and the prefetch hook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "util/huge_pages.hpp"

namespace cdpcore::util {

/// The constants that tell one OpenTable use from another (see OpenTable).
template <int IdBits, size_t LoadNum, size_t LoadDen, size_t MinCapacity, bool HugePages>
struct OpenTableLayout {
  static constexpr int kIdBits = IdBits;
  static constexpr size_t kLoadNum = LoadNum, kLoadDen = LoadDen;
  static constexpr size_t kMinCapacity = MinCapacity;
  static constexpr bool kHugePages = HugePages;
};

/// Open addressing with linear probing over one-word slots. A slot holds the
/// top (64 - Layout::kIdBits) bits of a key's 64-bit hash (its tag) and
/// id + 1 (0 = empty). The keys live with the caller, who names each by its
/// id and decides equality beyond the tag (eq(id)): hash collisions are
/// harmless, and a probe reads a key only when the tag matches, so a miss
/// costs no cache line outside the slot array. The home slot is the hash's
/// top bits, which are the tag's top bits: the table doubles without
/// rehashing any key (growing reads its own slots only).
///
/// Layout says what differs between users (an OpenTableLayout):
///   kIdBits       ids are below 2^kIdBits - 1 (16..32); the tag gets the rest
///   kLoadNum/Den  the table grows past kLoadNum/kLoadDen full
///   kMinCapacity  slots of an empty table (a power of two)
///   kHugePages    advise huge pages on the slots (a large table probed at
///                 random misses the TLB on nearly every probe without them)
///
/// Growing is the caller's call (full(), then grow()), so that an owner can
/// count or time it; insert() never grows.
///
/// Thread safety: const members may run concurrently with each other; any
/// other member needs exclusive access.
template <class Layout>
class OpenTable {
 public:
  static constexpr int kIdBits = Layout::kIdBits;
  static constexpr int kTagBits = 64 - kIdBits;
  static constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;
  /// The largest id a slot can hold.
  static constexpr uint64_t kMaxId = kIdMask - 1;
  /// "Not found" from find() and first_candidate().
  static constexpr uint32_t kNoId = UINT32_MAX;
  static_assert(kIdBits >= 16 && kIdBits <= 32, "ids are 32-bit and the tag needs room");
  static_assert(Layout::kLoadNum < Layout::kLoadDen, "a table never fills completely");
  static_assert((Layout::kMinCapacity & (Layout::kMinCapacity - 1)) == 0 && Layout::kMinCapacity >= 2);

  OpenTable() { reset(Layout::kMinCapacity); }

  /// Empties the table to `capacity_pow2` slots (a power of two).
  void reset(size_t capacity_pow2) {
    slots_ = allocate(capacity_pow2);
    capacity_ = capacity_pow2;
    mask_ = capacity_pow2 - 1;
    bits_ = 0;
    while ((size_t{1} << bits_) < capacity_pow2) ++bits_;
    count_ = 0;
  }
  /// The smallest capacity (at least kMinCapacity) that holds n ids without growing.
  static size_t capacity_for(size_t n) noexcept {
    size_t c = Layout::kMinCapacity;
    while ((n + 1) * Layout::kLoadDen > c * Layout::kLoadNum) c *= 2;
    return c;
  }
  size_t count() const noexcept { return count_; }
  size_t capacity() const noexcept { return capacity_; }
  size_t memory_bytes() const noexcept { return capacity_ * sizeof(uint64_t); }
  /// h's home slot.
  size_t home(uint64_t h) const noexcept { return static_cast<size_t>(h >> (64 - bits_)); }
  /// Starts loading h's home slot: for resolving many hashes, prefetch them
  /// all, then probe them all.
  void prefetch(uint64_t h) const noexcept { __builtin_prefetch(&slots_[home(h)]); }

  /// The id stored under hash `h` for which eq(id) holds, or kNoId.
  template <typename Eq>
  uint32_t find(uint64_t h, Eq&& eq) const {
    const uint64_t tag = h >> kIdBits;
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return kNoId;
      if ((s >> kIdBits) == tag) {
        const uint32_t id = slot_id(s);
        if (eq(id)) return id;
      }
    }
  }
  /// The id in the first slot on h's probe path that has h's tag (kNoId when
  /// an empty slot comes first): usually the answer, checked by the caller,
  /// who calls find() when it is not (a tag collision).
  uint32_t first_candidate(uint64_t h) const noexcept {
    const uint64_t tag = h >> kIdBits;
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return kNoId;
      if ((s >> kIdBits) == tag) return slot_id(s);
    }
  }
  /// Whether one more id needs a larger table (call grow() first).
  bool full() const noexcept { return (count_ + 1) * Layout::kLoadDen > capacity_ * Layout::kLoadNum; }
  /// Inserts an id known to be absent (id <= kMaxId; the table must not be full()).
  void insert(uint64_t h, uint32_t id) {
    place((h >> kIdBits) << kIdBits | (static_cast<uint64_t>(id) + 1));
    ++count_;
  }
  /// Doubles the table (no key is rehashed).
  void grow() {
    const size_t old_capacity = capacity_;
    Slots old = allocate(old_capacity * 2);
    old.swap(slots_);
    capacity_ = old_capacity * 2;
    mask_ = capacity_ - 1;
    ++bits_;
    // Slots are in home order, except those wrapped around the end: those go
    // last, so the order (and each run's compactness) is kept.
    size_t start = 0;
    while (start < old_capacity && old[start] != 0) ++start;
    for (size_t k = 0; k < old_capacity; ++k) {
      const uint64_t s = old[(start + k) & (old_capacity - 1)];
      if (s) place(s);
    }
  }
  /// Removes `id` stored under hash h (backward-shift deletion: the probe
  /// paths of the ids after it stay unbroken). False when it is not there.
  bool erase(uint64_t h, uint32_t id) {
    const uint64_t want = static_cast<uint64_t>(id) + 1;
    size_t i = home(h);
    for (;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return false;
      if ((s & kIdMask) == want) break;
    }
    size_t hole = i;
    for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
      const uint64_t s = slots_[j];
      if (s == 0) break;
      const size_t hm = slot_home(s);
      // Move s into the hole when its home is not in (hole, j].
      const bool between = hole <= j ? (hm > hole && hm <= j) : (hm > hole || hm <= j);
      if (!between) {
        slots_[hole] = s;
        hole = j;
      }
    }
    slots_[hole] = 0;
    --count_;
    return true;
  }

 private:
  struct Free {
    void operator()(uint64_t* p) const noexcept { std::free(p); }
  };
  using Slots = std::unique_ptr<uint64_t[], Free>;

  /// n zeroed slots from calloc (a large block comes from fresh mappings the
  /// kernel zeroes on first touch, with no memset), mapped writable at once:
  /// slots are read before they are written, which would fault each page
  /// twice (the zero page, then the copy).
  static Slots allocate(size_t n) {
    Slots s(static_cast<uint64_t*>(std::calloc(n, sizeof(uint64_t))));
    if (!s) throw std::bad_alloc();
    if constexpr (Layout::kHugePages) advise_huge_pages(s.get(), n * sizeof(uint64_t));
    populate_for_write(s.get(), n * sizeof(uint64_t));
    return s;
  }
  static uint32_t slot_id(uint64_t s) noexcept { return static_cast<uint32_t>(s & kIdMask) - 1; }
  size_t slot_home(uint64_t s) const noexcept { return static_cast<size_t>((s >> kIdBits) >> (kTagBits - bits_)); }
  void place(uint64_t s) noexcept {
    for (size_t i = slot_home(s);; i = (i + 1) & mask_) {
      if (slots_[i] == 0) {
        slots_[i] = s;
        return;
      }
    }
  }

  Slots slots_;
  size_t capacity_ = 0;
  size_t mask_ = 0;
  int bits_ = 0;
  size_t count_ = 0;
};

}  // namespace cdpcore::util
