// Internal: the identity graph's memory structures — a chunked string arena,
// journaled vectors (undo log for all-or-nothing batches) and an
// open-addressing hash table of identifier ids keyed by 64-bit hashes.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace cdpcore::idg {

/// Bytes of identifier values in 1 MiB chunks: no reallocation copies, stable
/// addresses. An offset is chunk << 20 | position (38 bits: 256 GiB).
class Arena {
 public:
  static constexpr uint64_t kChunkBits = 20;
  static constexpr uint64_t kChunk = uint64_t{1} << kChunkBits;

  uint64_t append(std::string_view v) {
    if (chunks_.empty() || used_ + v.size() > kChunk) {
      chunks_.push_back(std::unique_ptr<char[]>(new char[kChunk]));
      used_ = 0;
    }
    const uint64_t off = (static_cast<uint64_t>(chunks_.size() - 1) << kChunkBits) | used_;
    if (!v.empty()) std::memcpy(chunks_.back().get() + used_, v.data(), v.size());
    used_ += v.size();
    return off;
  }
  std::string_view get(uint64_t off, size_t len) const noexcept {
    return std::string_view(chunks_[off >> kChunkBits].get() + (off & (kChunk - 1)), len);
  }
  /// Overwrites a value with zeros (erasure).
  void scrub(uint64_t off, size_t len) noexcept {
    std::memset(chunks_[off >> kChunkBits].get() + (off & (kChunk - 1)), 0, len);
  }
  struct Mark {
    size_t chunks;
    uint64_t used;
  };
  Mark mark() const noexcept { return {chunks_.size(), used_}; }
  void truncate(const Mark& m) {
    chunks_.resize(m.chunks);
    used_ = m.used;
  }
  /// Bytes in use (the unused tail of the last chunk is never touched).
  size_t memory_bytes() const noexcept {
    return chunks_.empty() ? 0 : (chunks_.size() - 1) * kChunk + used_ + chunks_.capacity() * sizeof(void*);
  }
  void clear() {
    chunks_.clear();
    used_ = 0;
  }

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
  uint64_t used_ = 0;
};

class Journal;

/// Something the journal can restore.
class JournalTarget {
 public:
  virtual ~JournalTarget() = default;
  virtual void mark_size() = 0;
  virtual void restore(uint64_t idx, const uint8_t* old) = 0;
  virtual void truncate_to_mark() = 0;
};

/// The undo log of one batch: old values of entries that existed before it.
class Journal {
 public:
  uint32_t add_target(JournalTarget* t) {
    targets_.push_back(t);
    return static_cast<uint32_t>(targets_.size() - 1);
  }
  void begin() {
    entries_.clear();
    bytes_.clear();
    for (auto* t : targets_) t->mark_size();
    active_ = true;
  }
  void commit() {
    active_ = false;
    entries_.clear();
    bytes_.clear();
    if (bytes_.capacity() > (1u << 20) || entries_.capacity() * sizeof(Entry) > (1u << 20)) {
      bytes_.shrink_to_fit();
      entries_.shrink_to_fit();
    }
  }
  void rollback() {
    for (size_t i = entries_.size(); i-- > 0;) {
      const Entry& e = entries_[i];
      targets_[e.target]->restore(e.idx, bytes_.data() + e.at);
    }
    for (auto* t : targets_) t->truncate_to_mark();
    commit();
  }
  bool active() const noexcept { return active_; }
  void log(uint32_t target, uint64_t idx, const void* old, size_t n) {
    entries_.push_back({target, idx, bytes_.size()});
    const auto* p = static_cast<const uint8_t*>(old);
    bytes_.insert(bytes_.end(), p, p + n);
  }
  size_t memory_bytes() const noexcept { return entries_.capacity() * sizeof(Entry) + bytes_.capacity(); }

 private:
  struct Entry {
    uint32_t target;
    uint64_t idx;
    size_t at;
  };
  std::vector<JournalTarget*> targets_;
  std::vector<Entry> entries_;
  std::vector<uint8_t> bytes_;
  bool active_ = false;
};

/// A vector whose overwrites of pre-batch entries are journaled. T is
/// trivially copyable.
template <typename T>
class JVec final : public JournalTarget {
 public:
  explicit JVec(Journal& j) : j_(j), id_(j.add_target(this)) {}
  JVec(const JVec&) = delete;
  JVec& operator=(const JVec&) = delete;

  const T& operator[](size_t i) const noexcept { return v_[i]; }
  size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  void push_back(const T& x) { v_.push_back(x); }
  /// A writable entry; its old value is journaled first.
  T& mut(size_t i) {
    if (j_.active() && i < mark_) j_.log(id_, i, &v_[i], sizeof(T));
    return v_[i];
  }
  void set(size_t i, const T& x) { mut(i) = x; }
  /// Appends `n` copies of x (new entries are never journaled).
  void grow(size_t n, const T& x) { v_.resize(v_.size() + n, x); }
  void reserve(size_t n) { v_.reserve(n); }
  size_t capacity() const noexcept { return v_.capacity(); }
  const T* data() const noexcept { return v_.data(); }
  std::vector<T>& raw() noexcept { return v_; }  // loading only (no journal)
  const std::vector<T>& raw() const noexcept { return v_; }
  /// Bytes in use (entries reserved but never written are not resident).
  size_t memory_bytes() const noexcept { return v_.size() * sizeof(T); }

  void mark_size() override { mark_ = v_.size(); }
  void restore(uint64_t idx, const uint8_t* old) override { std::memcpy(&v_[idx], old, sizeof(T)); }
  void truncate_to_mark() override {
    if (v_.size() > mark_) v_.resize(mark_);
  }

 private:
  std::vector<T> v_;
  Journal& j_;
  uint32_t id_;
  size_t mark_ = 0;
};

/// Reserves room for `extra` more entries, growing geometrically.
template <typename V>
void reserve_more(V& v, size_t extra) {
  const size_t need = v.size() + extra;
  if (need > v.capacity()) v.reserve(std::max(need, v.capacity() + v.capacity() / 2));
}

/// Open addressing with linear probing. A slot holds the top 34 bits of the
/// identifier's 64-bit hash (its tag) and id + 1 (0 = empty); the tag's top
/// bits are also the slot's home position, so the table doubles without
/// rehashing any value. Equality beyond the tag is decided by the caller
/// (type and bytes), so hash collisions are harmless.
class IdTable {
 public:
  static constexpr int kTagBits = 34;
  static constexpr uint64_t kIdMaskSlot = (uint64_t{1} << 30) - 1;

  IdTable() { reset(1024); }

  void reset(size_t capacity_pow2) {
    slots_.assign(capacity_pow2, 0);
    mask_ = capacity_pow2 - 1;
    bits_ = 0;
    while ((size_t{1} << bits_) < capacity_pow2) ++bits_;
    count_ = 0;
  }
  size_t count() const noexcept { return count_; }
  size_t capacity() const noexcept { return slots_.size(); }
  size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(uint64_t); }
  size_t home(uint64_t h) const noexcept { return static_cast<size_t>(h >> (64 - bits_)); }
  void prefetch(uint64_t h) const noexcept { __builtin_prefetch(&slots_[home(h)]); }

  /// The id whose hash is `h` and for which eq(id) holds, or UINT32_MAX.
  template <typename Eq>
  uint32_t find(uint64_t h, Eq&& eq) const {
    const uint64_t tag = h >> (64 - kTagBits);
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return UINT32_MAX;
      if ((s >> 30) == tag) {
        const uint32_t id = static_cast<uint32_t>(s & kIdMaskSlot) - 1;
        if (eq(id)) return id;
      }
    }
  }
  /// The first slot on h's probe path that is empty or has h's tag: the id
  /// there (UINT32_MAX when empty). Used to resolve many hashes with prefetching.
  uint32_t first_candidate(uint64_t h) const noexcept {
    const uint64_t tag = h >> (64 - kTagBits);
    for (size_t i = home(h);; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return UINT32_MAX;
      if ((s >> 30) == tag) return static_cast<uint32_t>(s & kIdMaskSlot) - 1;
    }
  }
  /// Whether one more entry needs a larger table (call grow first).
  bool full() const noexcept { return (count_ + 1) * 4 > slots_.size() * 3; }
  /// Inserts an id known to be absent (the table must not be full()).
  void insert(uint64_t h, uint32_t id) {
    place((h >> (64 - kTagBits)) << 30 | (static_cast<uint64_t>(id) + 1));
    ++count_;
  }
  /// Doubles the table (no value is rehashed).
  void grow() {
    std::vector<uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    ++bits_;
    // Entries wrapped around the end go last, so that order is kept.
    size_t start = 0;
    while (start < old.size() && old[start] != 0) ++start;
    for (size_t k = 0; k < old.size(); ++k) {
      const uint64_t s = old[(start + k) & (old.size() - 1)];
      if (s) place(s);
    }
  }
  /// Removes `id` stored under hash h (backward-shift deletion).
  bool erase(uint64_t h, uint32_t id) {
    size_t i = home(h);
    for (;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return false;
      if ((s & kIdMaskSlot) == static_cast<uint64_t>(id) + 1) break;
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
  size_t slot_home(uint64_t s) const noexcept { return static_cast<size_t>((s >> 30) >> (kTagBits - bits_)); }
  void place(uint64_t s) {
    for (size_t i = slot_home(s);; i = (i + 1) & mask_) {
      if (slots_[i] == 0) {
        slots_[i] = s;
        return;
      }
    }
  }

  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  int bits_ = 0;
  size_t count_ = 0;
};

}  // namespace cdpcore::idg
