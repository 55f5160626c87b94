// cdpcore::Bitmap over the library's own Roaring containers (bitmap_impl.hpp).
#include "cdpcore/bitmap.hpp"

#include <algorithm>
#include <bit>
#include <new>
#include <string>

#include "cdpcore/error.hpp"
#include "util/bitmap_impl.hpp"

namespace cdpcore {

using bm::Container;

int32_t Bitmap::Impl::find(uint16_t key) const noexcept {
  // Dense person ordinals make key == index common: try that first.
  size_t n = keys.size();
  if (key < n && keys[key] == key) return key;
  auto it = std::lower_bound(keys.begin(), keys.end(), key);
  int32_t pos = static_cast<int32_t>(it - keys.begin());
  if (it != keys.end() && *it == key) return pos;
  return -pos - 1;
}

namespace {

inline uint16_t high(uint32_t v) noexcept { return static_cast<uint16_t>(v >> 16); }
inline uint16_t low(uint32_t v) noexcept { return static_cast<uint16_t>(v & 0xffff); }

// A container for `key`, created empty (array) at its place when missing.
Container& chunk_for(Bitmap::Impl& im, uint16_t key) {
  int32_t i = im.find(key);
  if (i >= 0) return im.chunks[static_cast<size_t>(i)];
  size_t pos = static_cast<size_t>(-i - 1);
  im.keys.insert(im.keys.begin() + static_cast<ptrdiff_t>(pos), key);
  im.chunks.insert(im.chunks.begin() + static_cast<ptrdiff_t>(pos), Container::array(4));
  return im.chunks[pos];
}

void erase_chunk(Bitmap::Impl& im, size_t i) {
  im.keys.erase(im.keys.begin() + static_cast<ptrdiff_t>(i));
  im.chunks.erase(im.chunks.begin() + static_cast<ptrdiff_t>(i));
}

// Merges the chunk lists of a and b: `both(ca, cb)` for shared keys,
// `only_a` / `only_b` for the others (nullptr to drop them).
template <typename Both, typename OnlyA, typename OnlyB>
Bitmap::Impl merge(const Bitmap::Impl& a, const Bitmap::Impl& b, Both both, OnlyA only_a, OnlyB only_b) {
  Bitmap::Impl out;
  out.keys.reserve(std::max(a.keys.size(), b.keys.size()));
  out.chunks.reserve(std::max(a.keys.size(), b.keys.size()));
  size_t i = 0, j = 0;
  auto put = [&](uint16_t key, Container&& c) {
    if (c.card > 0) out.append(key, std::move(c));
  };
  while (i < a.keys.size() && j < b.keys.size()) {
    if (a.keys[i] == b.keys[j]) {
      put(a.keys[i], both(a.chunks[i], b.chunks[j]));
      ++i;
      ++j;
    } else if (a.keys[i] < b.keys[j]) {
      if constexpr (!std::is_same_v<OnlyA, std::nullptr_t>) put(a.keys[i], only_a(a.chunks[i]));
      ++i;
    } else {
      if constexpr (!std::is_same_v<OnlyB, std::nullptr_t>) put(b.keys[j], only_b(b.chunks[j]));
      ++j;
    }
  }
  if constexpr (!std::is_same_v<OnlyA, std::nullptr_t>)
    for (; i < a.keys.size(); ++i) put(a.keys[i], only_a(a.chunks[i]));
  if constexpr (!std::is_same_v<OnlyB, std::nullptr_t>)
    for (; j < b.keys.size(); ++j) put(b.keys[j], only_b(b.chunks[j]));
  return out;
}

const auto clone = [](const Container& c) { return c.clone(); };

// Sum over shared keys of f(ca, cb).
template <typename F>
uint64_t shared_sum(const Bitmap::Impl& a, const Bitmap::Impl& b, F f) noexcept {
  uint64_t n = 0;
  size_t i = 0, j = 0;
  while (i < a.keys.size() && j < b.keys.size()) {
    if (a.keys[i] == b.keys[j]) {
      n += f(a.chunks[i], b.chunks[j]);
      ++i;
      ++j;
    } else if (a.keys[i] < b.keys[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return n;
}

}  // namespace

Bitmap::Bitmap() : impl_(std::make_unique<Impl>()) {}
Bitmap::Bitmap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bitmap::~Bitmap() = default;
Bitmap::Bitmap(const Bitmap& o) : impl_(std::make_unique<Impl>()) { *this = o; }
Bitmap& Bitmap::operator=(const Bitmap& o) {
  if (this == &o) return *this;
  if (!impl_) impl_ = std::make_unique<Impl>();
  Impl copy;
  copy.keys = o.impl_->keys;
  copy.chunks.reserve(o.impl_->chunks.size());
  for (const Container& c : o.impl_->chunks) copy.chunks.push_back(c.clone());
  *impl_ = std::move(copy);
  return *this;
}
// A moved-from Bitmap may only be destroyed or assigned to.
Bitmap::Bitmap(Bitmap&& o) noexcept : impl_(std::move(o.impl_)) {}
Bitmap& Bitmap::operator=(Bitmap&& o) noexcept {
  std::swap(impl_, o.impl_);
  return *this;
}

Bitmap Bitmap::from_range(uint32_t begin, uint32_t end) {
  Bitmap b;
  b.add_range(begin, end);
  return b;
}

Bitmap Bitmap::from_values(std::span<const uint32_t> values) {
  Bitmap b;
  b.add_many(values);
  return b;
}

void Bitmap::add(uint32_t v) { bm::add(chunk_for(*impl_, high(v)), low(v)); }

void Bitmap::add_many(std::span<const uint32_t> values) {
  if (values.empty()) return;
  std::vector<uint32_t> sorted;
  std::span<const uint32_t> v = values;
  if (!std::is_sorted(values.begin(), values.end())) {
    sorted.assign(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    v = sorted;
  }
  std::vector<uint16_t> lows;
  size_t i = 0;
  while (i < v.size()) {
    uint16_t key = high(v[i]);
    lows.clear();
    for (; i < v.size() && high(v[i]) == key; ++i) {
      if (lows.empty() || lows.back() != low(v[i])) lows.push_back(low(v[i]));
    }
    Container& c = chunk_for(*impl_, key);
    bm::add_sorted(c, lows.data(), static_cast<uint32_t>(lows.size()));
  }
}

void Bitmap::add_range(uint32_t begin, uint32_t end) {
  if (end <= begin) return;
  uint64_t last = uint64_t{end} - 1;
  for (uint64_t k = high(begin); k <= (last >> 16); ++k) {
    uint32_t lo = k == high(begin) ? low(begin) : 0;
    uint32_t hi = k == (last >> 16) ? static_cast<uint32_t>(last & 0xffff) : 0xffff;
    int32_t i = impl_->find(static_cast<uint16_t>(k));
    if (i < 0) {
      size_t pos = static_cast<size_t>(-i - 1);
      impl_->keys.insert(impl_->keys.begin() + static_cast<ptrdiff_t>(pos), static_cast<uint16_t>(k));
      impl_->chunks.insert(impl_->chunks.begin() + static_cast<ptrdiff_t>(pos), Container::range(lo, hi));
    } else {
      bm::add_range(impl_->chunks[static_cast<size_t>(i)], lo, hi);
    }
  }
}

void Bitmap::remove(uint32_t v) {
  int32_t i = impl_->find(high(v));
  if (i < 0) return;
  Container& c = impl_->chunks[static_cast<size_t>(i)];
  bm::remove(c, low(v));
  if (c.card == 0) erase_chunk(*impl_, static_cast<size_t>(i));
}

void Bitmap::clear() {
  impl_->keys.clear();
  impl_->chunks.clear();
}

bool Bitmap::contains(uint32_t v) const noexcept {
  const Container* c = impl_->chunk(high(v));
  return c && bm::contains(*c, low(v));
}

size_t Bitmap::chunk_count() const noexcept { return impl_->keys.size(); }

Bitmap::Chunk Bitmap::chunk(size_t i) const noexcept {
  static_assert(static_cast<int>(Chunk::Kind::array) == static_cast<int>(bm::Kind::array) &&
                static_cast<int>(Chunk::Kind::bitset) == static_cast<int>(bm::Kind::bitset) &&
                static_cast<int>(Chunk::Kind::run) == static_cast<int>(bm::Kind::run));
  static_assert(sizeof(Chunk::Run) == sizeof(bm::Run));
  const bm::Container& c = impl_->chunks[i];
  Chunk out;
  out.key = impl_->keys[i];
  out.kind = static_cast<Chunk::Kind>(c.kind);
  out.cardinality = c.card;
  out.size = c.size;
  out.data = c.values();
  return out;
}

uint64_t Bitmap::cardinality() const noexcept {
  uint64_t n = 0;
  for (const Container& c : impl_->chunks) n += c.card;
  return n;
}
bool Bitmap::empty() const noexcept { return impl_->keys.empty(); }
uint32_t Bitmap::minimum() const noexcept {
  if (empty()) return UINT32_MAX;
  return (uint32_t{impl_->keys.front()} << 16) | bm::minimum(impl_->chunks.front());
}
uint32_t Bitmap::maximum() const noexcept {
  if (empty()) return 0;
  return (uint32_t{impl_->keys.back()} << 16) | bm::maximum(impl_->chunks.back());
}

uint64_t Bitmap::rank(uint32_t v) const noexcept {
  uint64_t n = 0;
  for (size_t i = 0; i < impl_->keys.size(); ++i) {
    if (impl_->keys[i] < high(v)) {
      n += impl_->chunks[i].card;
    } else {
      if (impl_->keys[i] == high(v)) n += bm::rank(impl_->chunks[i], low(v));
      break;
    }
  }
  return n;
}

bool Bitmap::select(uint64_t i, uint32_t* out) const noexcept {
  for (size_t k = 0; k < impl_->keys.size(); ++k) {
    const Container& c = impl_->chunks[k];
    if (i < c.card) {
      *out = (uint32_t{impl_->keys[k]} << 16) | bm::select(c, static_cast<uint32_t>(i));
      return true;
    }
    i -= c.card;
  }
  return false;
}

uint64_t Bitmap::range_cardinality(uint32_t begin, uint32_t end) const noexcept {
  if (end <= begin) return 0;
  uint64_t last = uint64_t{end} - 1, n = 0;
  for (size_t i = 0; i < impl_->keys.size(); ++i) {
    uint32_t k = impl_->keys[i];
    if (k < high(begin)) continue;
    if (k > (last >> 16)) break;
    uint32_t lo = k == high(begin) ? low(begin) : 0;
    uint32_t hi = k == (last >> 16) ? static_cast<uint32_t>(last & 0xffff) : 0xffff;
    n += bm::range_cardinality(impl_->chunks[i], lo, hi);
  }
  return n;
}

namespace {

// a = a op b in place: a's containers are kept (moved, not copied) and
// changed where they are; only b's containers that a lacks are copied.
template <typename Both>
void merge_into(Bitmap::Impl& a, const Bitmap::Impl& b, Both both, bool keep_only_a, bool take_only_b) {
  if (&a == &b) return;  // x & x and x | x are x (-= and ^= handle themselves)
  Bitmap::Impl out;
  out.keys.reserve(a.keys.size() + (take_only_b ? b.keys.size() : 0));
  out.chunks.reserve(out.keys.capacity());
  size_t i = 0, j = 0;
  while (i < a.keys.size() || j < b.keys.size()) {
    if (j == b.keys.size() || (i < a.keys.size() && a.keys[i] < b.keys[j])) {
      if (keep_only_a) out.append(a.keys[i], std::move(a.chunks[i]));
      ++i;
    } else if (i == a.keys.size() || b.keys[j] < a.keys[i]) {
      if (take_only_b) out.append(b.keys[j], b.chunks[j].clone());
      ++j;
    } else {
      both(a.chunks[i], b.chunks[j]);
      if (a.chunks[i].card > 0) out.append(a.keys[i], std::move(a.chunks[i]));
      ++i;
      ++j;
    }
  }
  a = std::move(out);
}

}  // namespace

Bitmap& Bitmap::operator&=(const Bitmap& o) {
  merge_into(*impl_, *o.impl_, bm::and_inplace, false, false);
  return *this;
}
Bitmap& Bitmap::operator|=(const Bitmap& o) {
  merge_into(*impl_, *o.impl_, bm::or_inplace, true, true);
  return *this;
}
Bitmap& Bitmap::operator-=(const Bitmap& o) {
  if (this == &o) {
    clear();
    return *this;
  }
  merge_into(*impl_, *o.impl_, bm::andnot_inplace, true, false);
  return *this;
}
Bitmap& Bitmap::operator^=(const Bitmap& o) {
  if (this == &o) {
    clear();
    return *this;
  }
  merge_into(*impl_, *o.impl_, bm::xor_inplace, true, true);
  return *this;
}

Bitmap operator&(const Bitmap& a, const Bitmap& b) {
  return Bitmap(std::make_unique<Bitmap::Impl>(merge(*a.impl_, *b.impl_, bm::op_and, nullptr, nullptr)));
}
Bitmap operator|(const Bitmap& a, const Bitmap& b) {
  return Bitmap(std::make_unique<Bitmap::Impl>(merge(*a.impl_, *b.impl_, bm::op_or, clone, clone)));
}
Bitmap operator-(const Bitmap& a, const Bitmap& b) {
  return Bitmap(std::make_unique<Bitmap::Impl>(merge(*a.impl_, *b.impl_, bm::op_andnot, clone, nullptr)));
}
Bitmap operator^(const Bitmap& a, const Bitmap& b) {
  return Bitmap(std::make_unique<Bitmap::Impl>(merge(*a.impl_, *b.impl_, bm::op_xor, clone, clone)));
}

bool Bitmap::operator==(const Bitmap& o) const noexcept {
  if (impl_->keys != o.impl_->keys) return false;
  for (size_t i = 0; i < impl_->chunks.size(); ++i)
    if (!bm::equal(impl_->chunks[i], o.impl_->chunks[i])) return false;
  return true;
}

uint64_t Bitmap::and_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return shared_sum(*a.impl_, *b.impl_, bm::and_cardinality);
}
uint64_t Bitmap::or_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return a.cardinality() + b.cardinality() - and_cardinality(a, b);
}
uint64_t Bitmap::andnot_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return a.cardinality() - and_cardinality(a, b);
}
uint64_t Bitmap::xor_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return a.cardinality() + b.cardinality() - 2 * and_cardinality(a, b);
}
bool Bitmap::intersects(const Bitmap& a, const Bitmap& b) noexcept {
  return shared_sum(*a.impl_, *b.impl_, [](const Container& x, const Container& y) {
           return bm::intersects(x, y) ? 1u : 0u;
         }) > 0;
}
bool Bitmap::is_subset_of(const Bitmap& o) const noexcept {
  if (impl_->keys.size() > o.impl_->keys.size()) return false;
  size_t j = 0;
  for (size_t i = 0; i < impl_->keys.size(); ++i) {
    while (j < o.impl_->keys.size() && o.impl_->keys[j] < impl_->keys[i]) ++j;
    if (j == o.impl_->keys.size() || o.impl_->keys[j] != impl_->keys[i]) return false;
    if (!bm::is_subset(impl_->chunks[i], o.impl_->chunks[j])) return false;
  }
  return true;
}

Bitmap Bitmap::or_many(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  if (inputs.size() == 1) return *inputs[0];
  if (inputs.size() == 2) return *inputs[0] | *inputs[1];
  // Every (key, container) of every input, grouped by key.
  struct Part {
    uint16_t key;
    const Container* c;
  };
  std::vector<Part> parts;
  size_t total = 0;
  for (const Bitmap* b : inputs) total += b->impl_->keys.size();
  parts.reserve(total);
  for (const Bitmap* b : inputs)
    for (size_t i = 0; i < b->impl_->keys.size(); ++i) parts.push_back({b->impl_->keys[i], &b->impl_->chunks[i]});
  std::stable_sort(parts.begin(), parts.end(), [](const Part& x, const Part& y) { return x.key < y.key; });
  auto out = std::make_unique<Impl>();
  const bm::Kernels& k = bm::kernels();
  size_t i = 0;
  while (i < parts.size()) {
    size_t j = i;
    uint32_t card_sum = 0;
    bool full = false;
    for (; j < parts.size() && parts[j].key == parts[i].key; ++j) {
      card_sum += parts[j].c->card;
      full |= parts[j].c->full();
    }
    Container c;
    if (full) {
      c = Container::range(0, bm::kChunkSize - 1);
    } else if (j - i == 1) {
      c = parts[i].c->clone();
    } else if (card_sum <= bm::kArrayMax) {
      c = parts[i].c->clone();
      for (size_t m = i + 1; m < j; ++m) c = bm::op_or(c, *parts[m].c);
    } else {
      // A dense accumulator, counted once at the end.
      c = Container::bitset_zero();
      uint64_t* w = c.words();
      alignas(32) static thread_local uint64_t scratch[bm::kBitsetWords];
      for (size_t m = i; m < j; ++m) {
        const Container& p = *parts[m].c;
        if (p.kind == bm::Kind::bitset) {
          k.bitset_or_into(w, p.words());
        } else if (p.kind == bm::Kind::array) {
          for (uint32_t t = 0; t < p.size; ++t) w[p.values()[t] >> 6] |= uint64_t{1} << (p.values()[t] & 63);
        } else {
          bm::to_words(p, scratch);
          k.bitset_or_into(w, scratch);
        }
      }
      c.card = k.bitset_popcount(w);
      if (c.full()) c = Container::range(0, bm::kChunkSize - 1);
      else bm::normalize(c);
    }
    out->append(parts[i].key, std::move(c));
    i = j;
  }
  return Bitmap(std::move(out));
}

Bitmap Bitmap::and_many(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  // Intersect smallest first: the running result only shrinks.
  std::vector<const Bitmap*> v(inputs.begin(), inputs.end());
  std::sort(v.begin(), v.end(), [](const Bitmap* a, const Bitmap* b) { return a->cardinality() < b->cardinality(); });
  if (v.size() == 1) return *v[0];
  Bitmap out = *v[0] & *v[1];  // then in place
  for (size_t i = 2; i < v.size() && !out.empty(); ++i) out &= *v[i];
  return out;
}

std::vector<uint32_t> Bitmap::to_vector() const {
  std::vector<uint32_t> v(cardinality());
  to_array(v.data());
  return v;
}

void Bitmap::to_array(uint32_t* out) const noexcept {
  for (size_t i = 0; i < impl_->keys.size(); ++i)
    out += bm::to_uint32(impl_->chunks[i], uint32_t{impl_->keys[i]} << 16, out);
}

namespace {
// Calls sink(v) for each member of `c` (v = high | low) until it returns false;
// returns false when stopped.
template <typename Sink>
bool visit(const Container& c, uint32_t hi, Sink&& sink) {
  switch (c.kind) {
    case bm::Kind::array:
      for (uint32_t i = 0; i < c.size; ++i)
        if (!sink(hi | c.values()[i])) return false;
      return true;
    case bm::Kind::bitset:
      for (uint32_t i = 0; i < bm::kBitsetWords; ++i) {
        uint64_t x = c.words()[i];
        while (x) {
          if (!sink(hi | (i * 64 + static_cast<uint32_t>(std::countr_zero(x))))) return false;
          x &= x - 1;
        }
      }
      return true;
    case bm::Kind::run:
      for (uint32_t i = 0; i < c.size; ++i) {
        const bm::Run& r = c.run_data()[i];
        for (uint32_t v = r.start; v <= uint32_t{r.start} + r.length; ++v)
          if (!sink(hi | v)) return false;
      }
      return true;
  }
  return true;
}
}  // namespace

void Bitmap::for_each(const std::function<bool(uint32_t)>& fn) const {
  for (size_t i = 0; i < impl_->keys.size(); ++i)
    if (!visit(impl_->chunks[i], uint32_t{impl_->keys[i]} << 16, fn)) return;
}

void Bitmap::for_each_batch(size_t batch_size, const std::function<bool(std::span<const uint32_t>)>& fn) const {
  if (batch_size == 0) throw InvalidArgument("bitmap: batch size must be positive");
  std::vector<uint32_t> pending(std::min<uint64_t>(batch_size, std::max<uint64_t>(cardinality(), 1)));
  size_t n = 0;
  bool go = true;
  auto sink = [&](uint32_t v) {
    pending[n++] = v;
    if (n == pending.size()) {
      go = fn(std::span<const uint32_t>(pending.data(), n));
      n = 0;
    }
    return go;
  };
  for (size_t i = 0; i < impl_->keys.size() && go; ++i) visit(impl_->chunks[i], uint32_t{impl_->keys[i]} << 16, sink);
  if (go && n > 0) fn(std::span<const uint32_t>(pending.data(), n));
}

size_t Bitmap::memory_bytes() const noexcept {
  size_t n = sizeof(Bitmap) + sizeof(Impl) + impl_->keys.capacity() * sizeof(uint16_t) +
             impl_->chunks.capacity() * sizeof(Container);
  for (const Container& c : impl_->chunks) n += bm::memory_bytes(c);
  return n;
}

void Bitmap::optimize() {
  for (Container& c : impl_->chunks) {
    bm::run_optimize(c);
    bm::shrink(c);
  }
  impl_->keys.shrink_to_fit();
  impl_->chunks.shrink_to_fit();
}

const char* Bitmap::kernel_name() noexcept { return bm::kernels().name; }

}  // namespace cdpcore
