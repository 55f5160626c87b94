// Internal: the identity graph's memory structures — a chunked string arena,
// journaled vectors (undo log for all-or-nothing batches) and the layout of
// the hash table of identifier ids (util/open_table.hpp).
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <vector>

#include "util/huge_pages.hpp"
#include "util/open_table.hpp"

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

/// A vector of trivially copyable values that grows with realloc. The graph's
/// large arrays reach hundreds of MB; std::vector grows them by allocating,
/// copying and freeing, which faults in and zeroes every page again at each
/// step. glibc's realloc of a large (mmap'd) block moves its pages instead
/// (mremap): nothing is copied and only the new tail is ever touched.
template <typename T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  PodVector() = default;
  PodVector(const PodVector&) = delete;
  PodVector& operator=(const PodVector&) = delete;
  PodVector(PodVector&& o) noexcept { swap(o); }
  PodVector& operator=(PodVector&& o) noexcept {
    PodVector gone(std::move(*this));
    swap(o);
    return *this;
  }
  ~PodVector() { std::free(data_); }
  /// n zeros from calloc: a large block comes from fresh mappings that the
  /// kernel zeroes as they are first touched, with no memset. Its pages are
  /// mapped writable at once: the users (hash table, bitmaps) read entries
  /// before writing them, which would fault each page twice.
  static PodVector zeros(size_t n) {
    PodVector v;
    if (n == 0) return v;
    v.data_ = static_cast<T*>(std::calloc(n, sizeof(T)));
    if (!v.data_) throw std::bad_alloc();
    v.size_ = v.capacity_ = n;
    util::populate_for_write(v.data_, n * sizeof(T));
    return v;
  }

  T& operator[](size_t i) noexcept { return data_[i]; }
  const T& operator[](size_t i) const noexcept { return data_[i]; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  T& back() noexcept { return data_[size_ - 1]; }

  void reserve(size_t n) {
    if (n <= capacity_) return;
    void* p = std::realloc(data_, n * sizeof(T));
    if (!p) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    capacity_ = n;
  }
  void push_back(const T& x) {
    if (size_ == capacity_) {
      const T copy = x;  // x may live in this vector
      reserve(std::max<size_t>(16, capacity_ + capacity_ / 2));
      data_[size_++] = copy;
      return;
    }
    data_[size_++] = x;
  }
  void pop_back() noexcept { --size_; }
  void resize(size_t n, const T& x = T()) {
    if (n > size_) {
      if (n > capacity_) reserve(std::max(n, capacity_ + capacity_ / 2));
      std::fill(data_ + size_, data_ + n, x);
    }
    size_ = n;
  }
  void assign(size_t n, const T& x) {
    size_ = 0;
    resize(n, x);
  }
  void clear() noexcept { size_ = 0; }
  void swap(PodVector& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

/// Empties a batch's log and gives its memory back when it holds over 1 MiB
/// (a small one is kept for the next batch).
template <typename T>
void clear_log(PodVector<T>& log) noexcept {
  log.clear();
  if (log.capacity() * sizeof(T) > (size_t{1} << 20)) log = PodVector<T>();
}

class Journal;

/// Something the journal can restore.
class JournalTarget {
 public:
  virtual ~JournalTarget() = default;
  virtual void mark_size() = 0;
  virtual void restore_all() = 0;
  virtual void forget() = 0;
  virtual size_t journal_bytes() const = 0;
};

/// The undo log of one batch. Each target keeps the old values of its
/// entries that existed before the batch, the first time each changes (a
/// later change of the same entry needs no second copy: restoring the first
/// gives the value before the batch).
class Journal {
 public:
  void add_target(JournalTarget* t) { targets_.push_back(t); }
  void begin() {
    for (auto* t : targets_) t->mark_size();
    active_ = true;
  }
  void commit() {
    active_ = false;
    for (auto* t : targets_) t->forget();
  }
  void rollback() {
    for (auto* t : targets_) t->restore_all();
    commit();
  }
  bool active() const noexcept { return active_; }
  size_t memory_bytes() const noexcept {
    size_t b = 0;
    for (auto* t : targets_) b += t->journal_bytes();
    return b;
  }

 private:
  std::vector<JournalTarget*> targets_;
  bool active_ = false;
};

/// A vector whose overwrites of pre-batch entries are journaled. T is
/// trivially copyable.
template <typename T>
class JVec final : public JournalTarget {
 public:
  explicit JVec(Journal& j) : j_(j) { j.add_target(this); }
  JVec(const JVec&) = delete;
  JVec& operator=(const JVec&) = delete;

  const T& operator[](size_t i) const noexcept { return v_[i]; }
  size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  void push_back(const T& x) { v_.push_back(x); }
  /// A writable entry; its old value is journaled first.
  T& mut(size_t i) {
    if (i < mark_ && j_.active()) log(i);
    return v_[i];
  }
  void set(size_t i, const T& x) { mut(i) = x; }
  /// Whether entry i existed before the batch and its old value is not in the
  /// journal yet (a caller may then keep what it changes itself).
  bool unjournaled(size_t i) const noexcept {
    if (i >= mark_ || !j_.active()) return false;
    return logged_.empty() || !((logged_[i / 64] >> (i % 64)) & 1);
  }
  /// Appends `n` copies of x (new entries are never journaled).
  void grow(size_t n, const T& x) { v_.resize(v_.size() + n, x); }
  void reserve(size_t n) { v_.reserve(n); }
  size_t capacity() const noexcept { return v_.capacity(); }
  const T* data() const noexcept { return v_.data(); }
  PodVector<T>& raw() noexcept { return v_; }  // unjournaled: loading, or changes undone another way
  const PodVector<T>& raw() const noexcept { return v_; }
  /// Bytes in use (entries reserved but never written are not resident).
  size_t memory_bytes() const noexcept { return v_.size() * sizeof(T); }

  void mark_size() override { mark_ = v_.size(); }
  void restore_all() override {
    for (const Undo& u : undo_) v_[u.idx] = u.old;
    if (v_.size() > mark_) v_.resize(mark_);
  }
  void forget() override {
    // The bitmap goes too (zeros again on the next batch's first change:
    // untouched pages cost nothing).
    clear_log(undo_);
    logged_ = PodVector<uint64_t>();
  }
  size_t journal_bytes() const override {
    return undo_.capacity() * sizeof(Undo) + logged_.capacity() * sizeof(uint64_t);
  }

 private:
  struct Undo {
    size_t idx;
    T old;
  };
  void log(size_t i) {
    if (logged_.empty()) logged_ = PodVector<uint64_t>::zeros((mark_ + 63) / 64);  // i < mark_: not empty
    uint64_t& w = logged_[i / 64];
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (w & bit) return;
    undo_.push_back({i, v_[i]});
    w |= bit;
  }

  PodVector<T> v_;
  PodVector<Undo> undo_;
  PodVector<uint64_t> logged_;  // entries already in undo_ (bit per pre-batch entry)
  Journal& j_;
  size_t mark_ = 0;
};

/// Reserves room for `extra` more entries, growing geometrically.
template <typename V>
void reserve_more(V& v, size_t extra) {
  const size_t need = v.size() + extra;
  if (need > v.capacity()) v.reserve(std::max(need, v.capacity() + v.capacity() / 2));
}

/// The identifier index (util::OpenTable): ids below 2^30 with 34-bit tags,
/// grown past 3/4 full. Its slots are not advised for huge pages: the linking
/// benchmark was tuned without them.
using IdTable = util::OpenTable<util::OpenTableLayout</*kIdBits*/ 30, /*kLoadNum*/ 3, /*kLoadDen*/ 4,
                                                      /*kMinCapacity*/ 1024, /*kHugePages*/ false>>;

}  // namespace cdpcore::idg
