// Containers of one 65,536-value chunk: queries, edits and the two-operand
// operations between any two kinds.
#include <algorithm>
#include <bit>
#include <new>

#include "util/bitmap_impl.hpp"

namespace cdpcore::bm {

namespace {

void* checked_malloc(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  return p;
}

// Recently freed bitset buffers of this thread, reused before asking malloc.
// After the pool is destroyed at thread exit, buffers go straight to free()
// (bitmaps in static storage may be destroyed later).
thread_local bool t_pool_dead = false;
struct BitsetPool {
  static constexpr size_t kMax = 1024;  // at most 8 MiB kept per thread
  std::vector<void*> free;
  ~BitsetPool() {
    for (void* p : free) std::free(p);
    free.clear();
    t_pool_dead = true;
  }
};
thread_local BitsetPool t_pool;

// The AVX2 kernels load bitsets with aligned 32-byte loads.
void* bitset_alloc() {
  if (!t_pool_dead && !t_pool.free.empty()) {
    void* p = t_pool.free.back();
    t_pool.free.pop_back();
    return p;
  }
  void* p = std::aligned_alloc(32, kBitsetWords * sizeof(uint64_t));
  if (!p) throw std::bad_alloc();
  return p;
}

inline void set_bit(uint64_t* w, uint32_t v) noexcept { w[v >> 6] |= uint64_t{1} << (v & 63); }
inline bool get_bit(const uint64_t* w, uint32_t v) noexcept { return (w[v >> 6] >> (v & 63)) & 1; }

// Sets bits [lo, hi] (inclusive).
void set_bits(uint64_t* w, uint32_t lo, uint32_t hi) noexcept {
  uint32_t first = lo >> 6, last = hi >> 6;
  uint64_t first_mask = ~uint64_t{0} << (lo & 63);
  uint64_t last_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) {
    w[first] |= first_mask & last_mask;
    return;
  }
  w[first] |= first_mask;
  for (uint32_t i = first + 1; i < last; ++i) w[i] = ~uint64_t{0};
  w[last] |= last_mask;
}

uint32_t count_bits(const uint64_t* w, uint32_t lo, uint32_t hi) noexcept {
  uint32_t first = lo >> 6, last = hi >> 6;
  uint64_t first_mask = ~uint64_t{0} << (lo & 63);
  uint64_t last_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) return static_cast<uint32_t>(std::popcount(w[first] & first_mask & last_mask));
  uint32_t n = static_cast<uint32_t>(std::popcount(w[first] & first_mask));
  for (uint32_t i = first + 1; i < last; ++i) n += static_cast<uint32_t>(std::popcount(w[i]));
  return n + static_cast<uint32_t>(std::popcount(w[last] & last_mask));
}

// Writes the set bits of 1024 words as uint16 values; returns how many.
uint32_t extract_bits(const uint64_t* w, uint16_t* out) noexcept {
  uint32_t n = 0;
  for (uint32_t i = 0; i < kBitsetWords; ++i) {
    uint64_t x = w[i];
    while (x) {
      out[n++] = static_cast<uint16_t>(i * 64 + static_cast<uint32_t>(std::countr_zero(x)));
      x &= x - 1;
    }
  }
  return n;
}

// Bitset → array when it holds <= 4096 values (card must be exact).
void bitset_to_array(Container& c) {
  Container a = Container::array(c.card);
  a.size = a.card = extract_bits(c.words(), a.values());
  c = std::move(a);
}

Container array_to_bitset(const Container& c) {
  Container b = Container::bitset_zero();
  const uint16_t* v = c.values();
  uint64_t* w = b.words();
  for (uint32_t i = 0; i < c.size; ++i) set_bit(w, v[i]);
  b.card = c.card;
  return b;
}

// A container in bitset form: the container itself or a materialised copy.
class WordsView {
 public:
  explicit WordsView(const Container& c) {
    if (c.kind == Kind::bitset) {
      w_ = c.words();
    } else {
      own_ = Container::bitset_zero();
      to_words(c, own_.words());
      w_ = own_.words();
    }
  }
  const uint64_t* words() const noexcept { return w_; }

 private:
  Container own_;
  const uint64_t* w_ = nullptr;
};

// A run container as an array when it is small enough (for array-side kernels).
Container runs_to_array(const Container& c) {
  Container a = Container::array(c.card);
  uint16_t* out = a.values();
  uint32_t n = 0;
  for (uint32_t i = 0; i < c.size; ++i) {
    const Run r = c.run_data()[i];
    for (uint32_t v = r.start; v <= uint32_t{r.start} + r.length; ++v) out[n++] = static_cast<uint16_t>(v);
  }
  a.size = a.card = n;
  return a;
}

// A run container in array/bitset form.
Container unrun(const Container& c) {
  if (c.card <= kArrayMax) return runs_to_array(c);
  Container b = Container::bitset_zero();
  to_words(c, b.words());
  b.card = c.card;
  return b;
}

Container array_and_array(const Container& a, const Container& b) {
  const Kernels& k = kernels();
  Container out = Container::array(std::min(a.size, b.size) + 8);
  out.size = out.card = k.array_and(a.values(), a.size, b.values(), b.size, out.values());
  return out;
}

Container array_and_bitset(const Container& a, const uint64_t* w) {
  Container out = Container::array(a.size);
  const uint16_t* v = a.values();
  uint16_t* o = out.values();
  uint32_t n = 0;
  for (uint32_t i = 0; i < a.size; ++i) {
    o[n] = v[i];
    n += static_cast<uint32_t>(get_bit(w, v[i]));  // branch-free: keep when set
  }
  out.size = out.card = n;
  return out;
}

uint32_t array_and_bitset_card(const uint16_t* v, uint32_t n, const uint64_t* w) noexcept {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n; ++i) c += static_cast<uint32_t>(get_bit(w, v[i]));
  return c;
}

Container array_or_array(const Container& a, const Container& b) {
  if (a.size + b.size > kArrayMax) {
    Container out = Container::bitset_zero();
    uint64_t* w = out.words();
    for (uint32_t i = 0; i < a.size; ++i) set_bit(w, a.values()[i]);
    for (uint32_t i = 0; i < b.size; ++i) set_bit(w, b.values()[i]);
    out.card = kernels().bitset_popcount(w);
    normalize(out);
    return out;
  }
  Container out = Container::array(a.size + b.size);
  uint16_t* end = std::set_union(a.values(), a.values() + a.size, b.values(), b.values() + b.size, out.values());
  out.size = out.card = static_cast<uint32_t>(end - out.values());
  return out;
}

Container bitset_or_array(const Container& bits, const Container& a) {
  Container out = bits.clone();
  uint64_t* w = out.words();
  uint32_t added = 0;
  for (uint32_t i = 0; i < a.size; ++i) {
    uint32_t v = a.values()[i];
    uint64_t m = uint64_t{1} << (v & 63);
    added += static_cast<uint32_t>((w[v >> 6] & m) == 0);
    w[v >> 6] |= m;
  }
  out.card += added;
  return out;
}

Container array_andnot_array(const Container& a, const Container& b) {
  Container out = Container::array(a.size);
  uint16_t* end =
      std::set_difference(a.values(), a.values() + a.size, b.values(), b.values() + b.size, out.values());
  out.size = out.card = static_cast<uint32_t>(end - out.values());
  return out;
}

Container array_andnot_bitset(const Container& a, const uint64_t* w) {
  Container out = Container::array(a.size);
  const uint16_t* v = a.values();
  uint16_t* o = out.values();
  uint32_t n = 0;
  for (uint32_t i = 0; i < a.size; ++i) {
    o[n] = v[i];
    n += static_cast<uint32_t>(!get_bit(w, v[i]));
  }
  out.size = out.card = n;
  return out;
}

Container bitset_andnot_array(const Container& bits, const Container& a) {
  Container out = bits.clone();
  uint64_t* w = out.words();
  uint32_t removed = 0;
  for (uint32_t i = 0; i < a.size; ++i) {
    uint32_t v = a.values()[i];
    uint64_t m = uint64_t{1} << (v & 63);
    removed += static_cast<uint32_t>((w[v >> 6] & m) != 0);
    w[v >> 6] &= ~m;
  }
  out.card -= removed;
  normalize(out);
  return out;
}

Container array_xor_array(const Container& a, const Container& b) {
  if (a.size + b.size > kArrayMax) {
    Container out = array_to_bitset(a);
    uint64_t* w = out.words();
    for (uint32_t i = 0; i < b.size; ++i) w[b.values()[i] >> 6] ^= uint64_t{1} << (b.values()[i] & 63);
    out.card = kernels().bitset_popcount(w);
    normalize(out);
    return out;
  }
  Container out = Container::array(a.size + b.size);
  uint16_t* end = std::set_symmetric_difference(a.values(), a.values() + a.size, b.values(),
                                                b.values() + b.size, out.values());
  out.size = out.card = static_cast<uint32_t>(end - out.values());
  return out;
}

Container bitset_xor_array(const Container& bits, const Container& a) {
  Container out = bits.clone();
  uint64_t* w = out.words();
  int64_t card = out.card;
  for (uint32_t i = 0; i < a.size; ++i) {
    uint32_t v = a.values()[i];
    uint64_t m = uint64_t{1} << (v & 63);
    card += (w[v >> 6] & m) ? -1 : 1;
    w[v >> 6] ^= m;
  }
  out.card = static_cast<uint32_t>(card);
  normalize(out);
  return out;
}

using BitsetOp = uint32_t (*)(const uint64_t*, const uint64_t*, uint64_t*);

Container words_op(const uint64_t* a, const uint64_t* b, BitsetOp op) {
  Container out = Container::bitset_uninit();
  out.card = op(a, b, out.words());
  normalize(out);
  return out;
}

}  // namespace

// --- Container construction -------------------------------------------------

void release_buffer(Kind kind, void* p) noexcept {
  if (!p) return;
  if (kind == Kind::bitset && !t_pool_dead && t_pool.free.size() < BitsetPool::kMax) {
    try {
      t_pool.free.push_back(p);
      return;
    } catch (...) {  // no memory for the pool's list: free the buffer instead
    }
  }
  std::free(p);
}

Container Container::array(uint32_t capacity) {
  Container c;
  c.kind = Kind::array;
  c.p_ = checked_malloc(size_t{capacity} * sizeof(uint16_t));
  c.cap = capacity;
  return c;
}

Container Container::bitset_uninit() {
  Container c;
  c.kind = Kind::bitset;
  c.p_ = bitset_alloc();
  c.size = kBitsetWords;
  return c;
}

Container Container::bitset_zero() {
  Container c = bitset_uninit();
  std::memset(c.p_, 0, kBitsetWords * sizeof(uint64_t));
  return c;
}

Container Container::runs(uint32_t capacity) {
  Container c;
  c.kind = Kind::run;
  c.p_ = checked_malloc(size_t{capacity} * sizeof(Run));
  c.cap = capacity;
  return c;
}

Container Container::range(uint32_t lo, uint32_t hi) {
  Container c = runs(1);
  c.run_data()[0] = Run{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi - lo)};
  c.size = 1;
  c.card = hi - lo + 1;
  return c;
}

Container Container::clone() const {
  Container c;
  c.kind = kind;
  c.card = card;
  c.size = size;
  switch (kind) {
    case Kind::bitset:
      c.p_ = bitset_alloc();
      std::memcpy(c.p_, p_, kBitsetWords * sizeof(uint64_t));
      break;
    case Kind::array:
      c.p_ = checked_malloc(size_t{size} * sizeof(uint16_t));
      c.cap = size;
      std::memcpy(c.p_, p_, size_t{size} * sizeof(uint16_t));
      break;
    case Kind::run:
      c.p_ = checked_malloc(size_t{size} * sizeof(Run));
      c.cap = size;
      std::memcpy(c.p_, p_, size_t{size} * sizeof(Run));
      break;
  }
  return c;
}

void Container::reserve(uint32_t n) {
  if (n <= cap) return;
  uint32_t want = std::max<uint32_t>(n, cap < 64 ? cap * 2 + 8 : cap + cap / 2);
  size_t elem = kind == Kind::run ? sizeof(Run) : sizeof(uint16_t);
  void* p = std::realloc(p_, size_t{want} * elem);
  if (!p) throw std::bad_alloc();
  p_ = p;
  cap = want;
}

// --- queries ------------------------------------------------------------------

bool contains(const Container& c, uint16_t v) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      return get_bit(c.words(), v);
    case Kind::array:
      return std::binary_search(c.values(), c.values() + c.size, v);
    case Kind::run: {
      const Run* r = c.run_data();
      const Run* it = std::upper_bound(r, r + c.size, v, [](uint16_t x, const Run& run) { return x < run.start; });
      if (it == r) return false;
      --it;
      return uint32_t{v} <= uint32_t{it->start} + it->length;
    }
  }
  return false;
}

uint16_t minimum(const Container& c) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      for (uint32_t i = 0; i < kBitsetWords; ++i)
        if (c.words()[i]) return static_cast<uint16_t>(i * 64 + std::countr_zero(c.words()[i]));
      return 0;
    case Kind::array:
      return c.values()[0];
    case Kind::run:
      return c.run_data()[0].start;
  }
  return 0;
}

uint16_t maximum(const Container& c) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      for (uint32_t i = kBitsetWords; i-- > 0;)
        if (c.words()[i]) return static_cast<uint16_t>(i * 64 + 63 - std::countl_zero(c.words()[i]));
      return 0;
    case Kind::array:
      return c.values()[c.size - 1];
    case Kind::run: {
      const Run& r = c.run_data()[c.size - 1];
      return static_cast<uint16_t>(r.start + r.length);
    }
  }
  return 0;
}

uint32_t rank(const Container& c, uint16_t v) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      return count_bits(c.words(), 0, v);
    case Kind::array:
      return static_cast<uint32_t>(std::upper_bound(c.values(), c.values() + c.size, v) - c.values());
    case Kind::run: {
      uint32_t n = 0;
      for (uint32_t i = 0; i < c.size; ++i) {
        const Run& r = c.run_data()[i];
        if (v < r.start) break;
        n += std::min<uint32_t>(v, uint32_t{r.start} + r.length) - r.start + 1;
      }
      return n;
    }
  }
  return 0;
}

uint16_t select(const Container& c, uint32_t i) noexcept {
  switch (c.kind) {
    case Kind::bitset: {
      const uint64_t* w = c.words();
      for (uint32_t k = 0; k < kBitsetWords; ++k) {
        uint32_t n = static_cast<uint32_t>(std::popcount(w[k]));
        if (i < n) {
          uint64_t x = w[k];
          for (uint32_t j = 0; j < i; ++j) x &= x - 1;
          return static_cast<uint16_t>(k * 64 + std::countr_zero(x));
        }
        i -= n;
      }
      return 0;
    }
    case Kind::array:
      return c.values()[i];
    case Kind::run:
      for (uint32_t k = 0; k < c.size; ++k) {
        const Run& r = c.run_data()[k];
        if (i <= r.length) return static_cast<uint16_t>(r.start + i);
        i -= uint32_t{r.length} + 1;
      }
      return 0;
  }
  return 0;
}

uint32_t to_uint32(const Container& c, uint32_t high, uint32_t* out) noexcept {
  uint32_t n = 0;
  switch (c.kind) {
    case Kind::bitset: {
      const uint64_t* w = c.words();
      for (uint32_t i = 0; i < kBitsetWords; ++i) {
        uint64_t x = w[i];
        uint32_t base = high | (i * 64);
        while (x) {
          out[n++] = base + static_cast<uint32_t>(std::countr_zero(x));
          x &= x - 1;
        }
      }
      break;
    }
    case Kind::array:
      for (uint32_t i = 0; i < c.size; ++i) out[i] = high | c.values()[i];
      n = c.size;
      break;
    case Kind::run:
      for (uint32_t i = 0; i < c.size; ++i) {
        const Run& r = c.run_data()[i];
        for (uint32_t v = r.start; v <= uint32_t{r.start} + r.length; ++v) out[n++] = high | v;
      }
      break;
  }
  return n;
}

void to_words(const Container& c, uint64_t* w) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      std::memcpy(w, c.words(), kBitsetWords * sizeof(uint64_t));
      break;
    case Kind::array:
      std::memset(w, 0, kBitsetWords * sizeof(uint64_t));
      for (uint32_t i = 0; i < c.size; ++i) set_bit(w, c.values()[i]);
      break;
    case Kind::run:
      std::memset(w, 0, kBitsetWords * sizeof(uint64_t));
      for (uint32_t i = 0; i < c.size; ++i)
        set_bits(w, c.run_data()[i].start, uint32_t{c.run_data()[i].start} + c.run_data()[i].length);
      break;
  }
}

uint32_t range_cardinality(const Container& c, uint32_t lo, uint32_t hi) noexcept {
  if (lo > hi) return 0;
  switch (c.kind) {
    case Kind::bitset:
      return count_bits(c.words(), lo, hi);
    case Kind::array: {
      const uint16_t* b = std::lower_bound(c.values(), c.values() + c.size, static_cast<uint16_t>(lo));
      const uint16_t* e = std::upper_bound(c.values(), c.values() + c.size, static_cast<uint16_t>(hi));
      return static_cast<uint32_t>(e - b);
    }
    case Kind::run: {
      uint32_t n = 0;
      for (uint32_t i = 0; i < c.size; ++i) {
        uint32_t s = c.run_data()[i].start, e = s + c.run_data()[i].length;
        uint32_t a = std::max(s, lo), b = std::min(e, hi);
        if (a <= b) n += b - a + 1;
      }
      return n;
    }
  }
  return 0;
}

bool equal(const Container& a, const Container& b) noexcept {
  if (a.card != b.card) return false;
  if (a.kind == b.kind) {
    switch (a.kind) {
      case Kind::bitset:
        return std::memcmp(a.words(), b.words(), kBitsetWords * sizeof(uint64_t)) == 0;
      case Kind::array:
        return std::memcmp(a.values(), b.values(), size_t{a.size} * sizeof(uint16_t)) == 0;
      case Kind::run:
        break;  // runs may be split differently: compare as sets below
    }
  }
  return and_cardinality(a, b) == a.card;
}

bool is_subset(const Container& a, const Container& b) noexcept {
  return a.card <= b.card && and_cardinality(a, b) == a.card;
}

size_t memory_bytes(const Container& c) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      return kBitsetWords * sizeof(uint64_t);
    case Kind::array:
      return size_t{c.cap} * sizeof(uint16_t);
    case Kind::run:
      return size_t{c.cap} * sizeof(Run);
  }
  return 0;
}

size_t portable_bytes(const Container& c) noexcept {
  switch (c.kind) {
    case Kind::bitset:
      return kBitsetWords * sizeof(uint64_t);
    case Kind::array:
      return size_t{c.size} * sizeof(uint16_t);
    case Kind::run:
      return 2 + size_t{c.size} * sizeof(Run);
  }
  return 0;
}

// --- edits --------------------------------------------------------------------

void normalize(Container& c) {
  if (c.kind == Kind::bitset && c.card <= kArrayMax) {
    bitset_to_array(c);
  } else if (c.kind == Kind::array && c.card > kArrayMax) {
    c = array_to_bitset(c);
  }
}

bool add(Container& c, uint16_t v) {
  if (c.kind == Kind::run) {
    if (contains(c, v)) return false;
    c = unrun(c);
  }
  if (c.kind == Kind::bitset) {
    uint64_t& w = c.words()[v >> 6];
    uint64_t m = uint64_t{1} << (v & 63);
    if (w & m) return false;
    w |= m;
    ++c.card;
    return true;
  }
  uint16_t* b = c.values();
  uint16_t* it = std::lower_bound(b, b + c.size, v);
  if (it != b + c.size && *it == v) return false;
  if (c.size == kArrayMax) {
    c = array_to_bitset(c);
    return add(c, v);
  }
  size_t pos = static_cast<size_t>(it - b);
  c.reserve(c.size + 1);
  b = c.values();
  std::memmove(b + pos + 1, b + pos, (c.size - pos) * sizeof(uint16_t));
  b[pos] = v;
  ++c.size;
  ++c.card;
  return true;
}

bool remove(Container& c, uint16_t v) {
  if (!contains(c, v)) return false;
  if (c.kind == Kind::run) c = unrun(c);
  if (c.kind == Kind::bitset) {
    c.words()[v >> 6] &= ~(uint64_t{1} << (v & 63));
    --c.card;
    normalize(c);
    return true;
  }
  uint16_t* b = c.values();
  size_t pos = static_cast<size_t>(std::lower_bound(b, b + c.size, v) - b);
  std::memmove(b + pos, b + pos + 1, (c.size - pos - 1) * sizeof(uint16_t));
  --c.size;
  --c.card;
  return true;
}

void add_range(Container& c, uint32_t lo, uint32_t hi) {
  if (c.card == 0 || (lo == 0 && hi == kChunkSize - 1)) {
    c = Container::range(lo, hi);
    return;
  }
  if (c.kind != Kind::bitset) {
    Container b = Container::bitset_zero();
    to_words(c, b.words());
    c = std::move(b);
  }
  set_bits(c.words(), lo, hi);
  c.card = kernels().bitset_popcount(c.words());
  if (c.full()) {
    c = Container::range(0, kChunkSize - 1);
    return;
  }
  normalize(c);
}

void add_sorted(Container& c, const uint16_t* v, uint32_t n) {
  if (n == 0) return;
  if (c.kind == Kind::run) c = unrun(c);
  if (c.kind == Kind::array && c.size + n <= kArrayMax) {
    Container out = Container::array(c.size + n);
    uint16_t* end = std::set_union(c.values(), c.values() + c.size, v, v + n, out.values());
    out.size = out.card = static_cast<uint32_t>(end - out.values());
    c = std::move(out);
    return;
  }
  if (c.kind == Kind::array) c = array_to_bitset(c);
  uint64_t* w = c.words();
  uint32_t added = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t m = uint64_t{1} << (v[i] & 63);
    added += static_cast<uint32_t>((w[v[i] >> 6] & m) == 0);
    w[v[i] >> 6] |= m;
  }
  c.card += added;
  normalize(c);
}

void run_optimize(Container& c) {
  // Count runs without building them.
  uint32_t nruns = 0;
  if (c.kind == Kind::run) {
    nruns = c.size;
  } else if (c.kind == Kind::array) {
    const uint16_t* v = c.values();
    for (uint32_t i = 0; i < c.size; ++i) nruns += (i == 0 || v[i] != v[i - 1] + 1) ? 1 : 0;
  } else {
    const uint64_t* w = c.words();
    for (uint32_t i = 0; i < kBitsetWords; ++i) {
      uint64_t x = w[i];
      uint64_t prev_top = i ? (w[i - 1] >> 63) : 0;
      // A run starts at each set bit whose predecessor bit is clear.
      uint64_t starts = x & ~((x << 1) | prev_top);
      nruns += static_cast<uint32_t>(std::popcount(starts));
    }
  }
  size_t as_runs = 2 + size_t{nruns} * sizeof(Run);
  size_t as_other = c.card <= kArrayMax ? size_t{c.card} * 2 : kBitsetWords * 8;
  if (c.kind == Kind::run) {
    if (as_runs <= as_other) return;
    c = unrun(c);
    return;
  }
  if (as_runs >= as_other) return;
  Container r = Container::runs(nruns);
  Run* out = r.run_data();
  uint32_t n = 0;
  if (c.kind == Kind::array) {
    const uint16_t* v = c.values();
    for (uint32_t i = 0; i < c.size; ++i) {
      if (n > 0 && uint32_t{out[n - 1].start} + out[n - 1].length + 1 == v[i]) {
        ++out[n - 1].length;
      } else {
        out[n++] = Run{v[i], 0};
      }
    }
  } else {
    const uint64_t* w = c.words();
    uint32_t i = 0;
    while (i < kChunkSize) {
      // Find the next set bit from i.
      uint32_t wi = i >> 6;
      uint64_t x = w[wi] & (~uint64_t{0} << (i & 63));
      while (!x && ++wi < kBitsetWords) x = w[wi];
      if (wi >= kBitsetWords) break;
      uint32_t start = wi * 64 + static_cast<uint32_t>(std::countr_zero(x));
      // Find the next clear bit from start.
      uint64_t y = ~w[wi] & (~uint64_t{0} << (start & 63));
      while (!y && ++wi < kBitsetWords) y = ~w[wi];
      uint32_t end = wi >= kBitsetWords ? kChunkSize : wi * 64 + static_cast<uint32_t>(std::countr_zero(y));
      out[n++] = Run{static_cast<uint16_t>(start), static_cast<uint16_t>(end - 1 - start)};
      i = end;
    }
  }
  r.size = n;
  r.card = c.card;
  c = std::move(r);
}

void shrink(Container& c) {
  if (c.kind == Kind::bitset || c.cap == c.size) return;
  size_t elem = c.kind == Kind::run ? sizeof(Run) : sizeof(uint16_t);
  Container out = c.kind == Kind::run ? Container::runs(c.size) : Container::array(c.size);
  std::memcpy(out.kind == Kind::run ? static_cast<void*>(out.run_data()) : static_cast<void*>(out.values()),
              c.kind == Kind::run ? static_cast<const void*>(c.run_data()) : static_cast<const void*>(c.values()),
              size_t{c.size} * elem);
  out.size = c.size;
  out.card = c.card;
  c = std::move(out);
}

// --- two-container operations -------------------------------------------------

Container op_and(const Container& a, const Container& b) {
  if (a.full()) return b.clone();
  if (b.full()) return a.clone();
  if (a.kind == Kind::run && b.kind == Kind::run) {
    WordsView wa(a), wb(b);
    return words_op(wa.words(), wb.words(), kernels().bitset_and);
  }
  if (a.kind == Kind::run) return op_and(b, a);
  // a is array or bitset; b may be a run.
  if (a.kind == Kind::array) {
    if (b.kind == Kind::array) return array_and_array(a, b);
    WordsView wb(b);
    return array_and_bitset(a, wb.words());
  }
  if (b.kind == Kind::array) return array_and_bitset(b, a.words());
  WordsView wb(b);
  return words_op(a.words(), wb.words(), kernels().bitset_and);
}

uint32_t and_cardinality(const Container& a, const Container& b) noexcept {
  if (a.full()) return b.card;
  if (b.full()) return a.card;
  if (a.kind == Kind::run && b.kind != Kind::run) return and_cardinality(b, a);
  if (a.kind == Kind::run) {
    // Both runs: merge the intervals.
    uint32_t n = 0, i = 0, j = 0;
    const Run *ra = a.run_data(), *rb = b.run_data();
    while (i < a.size && j < b.size) {
      uint32_t as = ra[i].start, ae = as + ra[i].length, bs = rb[j].start, be = bs + rb[j].length;
      uint32_t lo = std::max(as, bs), hi = std::min(ae, be);
      if (lo <= hi) n += hi - lo + 1;
      if (ae < be) ++i;
      else ++j;
    }
    return n;
  }
  if (b.kind == Kind::run) {
    if (a.kind == Kind::array) {
      uint32_t n = 0;
      for (uint32_t i = 0; i < b.size; ++i)
        n += range_cardinality(a, b.run_data()[i].start, uint32_t{b.run_data()[i].start} + b.run_data()[i].length);
      return n;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < b.size; ++i)
      n += count_bits(a.words(), b.run_data()[i].start, uint32_t{b.run_data()[i].start} + b.run_data()[i].length);
    return n;
  }
  if (a.kind == Kind::array) {
    if (b.kind == Kind::array) return kernels().array_and_card(a.values(), a.size, b.values(), b.size);
    return array_and_bitset_card(a.values(), a.size, b.words());
  }
  if (b.kind == Kind::array) return array_and_bitset_card(b.values(), b.size, a.words());
  return kernels().bitset_and_card(a.words(), b.words());
}

bool intersects(const Container& a, const Container& b) noexcept {
  if (a.kind == Kind::bitset && b.kind == Kind::bitset) {
    for (uint32_t i = 0; i < kBitsetWords; ++i)
      if (a.words()[i] & b.words()[i]) return true;
    return false;
  }
  if (a.kind == Kind::array && b.kind == Kind::bitset) {
    for (uint32_t i = 0; i < a.size; ++i)
      if (get_bit(b.words(), a.values()[i])) return true;
    return false;
  }
  if (b.kind == Kind::array && a.kind == Kind::bitset) return intersects(b, a);
  if (a.kind == Kind::array && b.kind == Kind::array) {
    uint32_t i = 0, j = 0;
    while (i < a.size && j < b.size) {
      if (a.values()[i] < b.values()[j]) ++i;
      else if (a.values()[i] > b.values()[j]) ++j;
      else return true;
    }
    return false;
  }
  return and_cardinality(a, b) > 0;
}

Container op_or(const Container& a, const Container& b) {
  if (a.full()) return a.clone();
  if (b.full()) return b.clone();
  if (a.kind == Kind::run || b.kind == Kind::run) {
    if (a.kind != Kind::bitset && b.kind != Kind::bitset && a.card + b.card <= kArrayMax) {
      Container xa = a.kind == Kind::run ? runs_to_array(a) : a.clone();
      Container xb = b.kind == Kind::run ? runs_to_array(b) : b.clone();
      return array_or_array(xa, xb);
    }
    WordsView wa(a), wb(b);
    Container out = words_op(wa.words(), wb.words(), kernels().bitset_or);
    if (out.full()) out = Container::range(0, kChunkSize - 1);
    return out;
  }
  if (a.kind == Kind::array) {
    if (b.kind == Kind::array) return array_or_array(a, b);
    return bitset_or_array(b, a);
  }
  if (b.kind == Kind::array) return bitset_or_array(a, b);
  return words_op(a.words(), b.words(), kernels().bitset_or);
}

Container op_andnot(const Container& a, const Container& b) {
  if (b.full()) return Container::array(0);
  if (a.kind == Kind::array) {
    if (b.kind == Kind::array) return array_andnot_array(a, b);
    WordsView wb(b);
    return array_andnot_bitset(a, wb.words());
  }
  if (a.kind == Kind::run) {
    if (a.card <= kArrayMax) return op_andnot(runs_to_array(a), b);
    WordsView wa(a), wb(b);
    return words_op(wa.words(), wb.words(), kernels().bitset_andnot);
  }
  // a is a bitset.
  if (b.kind == Kind::array) return bitset_andnot_array(a, b);
  WordsView wb(b);
  return words_op(a.words(), wb.words(), kernels().bitset_andnot);
}

Container op_xor(const Container& a, const Container& b) {
  if (a.kind == Kind::run || b.kind == Kind::run) {
    if (a.kind != Kind::bitset && b.kind != Kind::bitset && a.card + b.card <= kArrayMax) {
      Container xa = a.kind == Kind::run ? runs_to_array(a) : a.clone();
      Container xb = b.kind == Kind::run ? runs_to_array(b) : b.clone();
      return array_xor_array(xa, xb);
    }
    WordsView wa(a), wb(b);
    Container out = words_op(wa.words(), wb.words(), kernels().bitset_xor);
    if (out.full()) out = Container::range(0, kChunkSize - 1);
    return out;
  }
  if (a.kind == Kind::array) {
    if (b.kind == Kind::array) return array_xor_array(a, b);
    return bitset_xor_array(b, a);
  }
  if (b.kind == Kind::array) return bitset_xor_array(a, b);
  return words_op(a.words(), b.words(), kernels().bitset_xor);
}

// --- in place ------------------------------------------------------------------

void and_inplace(Container& a, const Container& b) {
  if (a.kind == Kind::bitset && b.kind == Kind::bitset) {
    a.card = kernels().bitset_and(a.words(), b.words(), a.words());
    normalize(a);
  } else if (a.kind == Kind::array && b.kind == Kind::bitset) {
    // Filter the array where it is.
    uint16_t* v = a.values();
    const uint64_t* w = b.words();
    uint32_t n = 0;
    for (uint32_t i = 0; i < a.size; ++i) {
      v[n] = v[i];
      n += static_cast<uint32_t>(get_bit(w, v[i]));
    }
    a.size = a.card = n;
  } else if (!b.full()) {
    a = op_and(a, b);
  }
}

void or_inplace(Container& a, const Container& b) {
  if (a.kind == Kind::bitset && b.kind == Kind::bitset) {
    a.card = kernels().bitset_or(a.words(), b.words(), a.words());
  } else if (a.kind == Kind::bitset && b.kind == Kind::array) {
    uint64_t* w = a.words();
    uint32_t added = 0;
    for (uint32_t i = 0; i < b.size; ++i) {
      uint32_t v = b.values()[i];
      uint64_t m = uint64_t{1} << (v & 63);
      added += static_cast<uint32_t>((w[v >> 6] & m) == 0);
      w[v >> 6] |= m;
    }
    a.card += added;
  } else {
    a = op_or(a, b);
  }
}

void andnot_inplace(Container& a, const Container& b) {
  if (a.kind == Kind::bitset && b.kind == Kind::bitset) {
    a.card = kernels().bitset_andnot(a.words(), b.words(), a.words());
    normalize(a);
  } else if (a.kind == Kind::bitset && b.kind == Kind::array) {
    uint64_t* w = a.words();
    uint32_t removed = 0;
    for (uint32_t i = 0; i < b.size; ++i) {
      uint32_t v = b.values()[i];
      uint64_t m = uint64_t{1} << (v & 63);
      removed += static_cast<uint32_t>((w[v >> 6] & m) != 0);
      w[v >> 6] &= ~m;
    }
    a.card -= removed;
    normalize(a);
  } else if (a.kind == Kind::array && b.kind == Kind::bitset) {
    // Filter the array where it is.
    uint16_t* v = a.values();
    const uint64_t* w = b.words();
    uint32_t n = 0;
    for (uint32_t i = 0; i < a.size; ++i) {
      v[n] = v[i];
      n += static_cast<uint32_t>(!get_bit(w, v[i]));
    }
    a.size = a.card = n;
  } else {
    a = op_andnot(a, b);
  }
}

void xor_inplace(Container& a, const Container& b) {
  if (a.kind == Kind::bitset && b.kind == Kind::bitset) {
    a.card = kernels().bitset_xor(a.words(), b.words(), a.words());
    normalize(a);
  } else {
    a = op_xor(a, b);
  }
}

}  // namespace cdpcore::bm
