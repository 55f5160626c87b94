#include "cdpcore/bitmap.hpp"

#include <algorithm>
#include <new>
#include <string>

#include "cdpcore/error.hpp"
#include "util/bitmap_impl.hpp"

namespace cdpcore {

namespace {
// Takes ownership of a bitmap returned by a CRoaring function.
std::unique_ptr<Bitmap::Impl> adopt(roaring_bitmap_t* heap) {
  if (!heap) throw std::bad_alloc();
  return std::make_unique<Bitmap::Impl>(heap);
}
std::unique_ptr<Bitmap::Impl> make_impl() { return adopt(roaring_bitmap_create()); }
}  // namespace

Bitmap::Bitmap() : impl_(make_impl()) {}
Bitmap::Bitmap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bitmap::~Bitmap() = default;
Bitmap::Bitmap(const Bitmap& o) : impl_(make_impl()) {
  if (!roaring_bitmap_overwrite(impl_->r, o.impl_->r)) throw std::bad_alloc();
}
Bitmap& Bitmap::operator=(const Bitmap& o) {
  if (this != &o && !roaring_bitmap_overwrite(impl_->r, o.impl_->r)) throw std::bad_alloc();
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
  if (end > begin) roaring_bitmap_add_range_closed(b.impl_->r, begin, end - 1);
  return b;
}

Bitmap Bitmap::from_values(std::span<const uint32_t> values) {
  Bitmap b;
  b.add_many(values);
  return b;
}

Bitmap Bitmap::deserialize(std::span<const uint8_t> bytes) {
  // CRoaring 0.2's portable reader is bounded by the given size
  // (roaring_bitmap_portable_deserialize_safe).
  roaring_bitmap_t* r = roaring_bitmap_portable_deserialize_safe(reinterpret_cast<const char*>(bytes.data()),
                                                                  bytes.size());
  if (!r) {
    throw ParseError("bitmap: not a valid Roaring portable serialisation (" + std::to_string(bytes.size()) +
                         " bytes)",
                     0);
  }
  size_t used = roaring_bitmap_portable_size_in_bytes(r);
  if (used > bytes.size()) {
    roaring_bitmap_free(r);
    throw ParseError("bitmap: truncated Roaring serialisation", bytes.size());
  }
  return Bitmap(adopt(r));
}

void Bitmap::add(uint32_t v) { roaring_bitmap_add(impl_->r, v); }
void Bitmap::add_many(std::span<const uint32_t> values) {
  roaring_bitmap_add_many(impl_->r, values.size(), values.data());
}
void Bitmap::add_range(uint32_t begin, uint32_t end) {
  if (end > begin) roaring_bitmap_add_range_closed(impl_->r, begin, end - 1);
}
void Bitmap::remove(uint32_t v) { roaring_bitmap_remove(impl_->r, v); }
void Bitmap::clear() { roaring_bitmap_clear(impl_->r); }
bool Bitmap::contains(uint32_t v) const noexcept { return roaring_bitmap_contains(impl_->r, v); }
uint64_t Bitmap::cardinality() const noexcept { return roaring_bitmap_get_cardinality(impl_->r); }
bool Bitmap::empty() const noexcept { return roaring_bitmap_is_empty(impl_->r); }
uint32_t Bitmap::minimum() const noexcept { return roaring_bitmap_minimum(impl_->r); }
uint32_t Bitmap::maximum() const noexcept { return roaring_bitmap_maximum(impl_->r); }
uint64_t Bitmap::rank(uint32_t v) const noexcept { return roaring_bitmap_rank(impl_->r, v); }
bool Bitmap::select(uint64_t i, uint32_t* out) const noexcept {
  if (i > UINT32_MAX) return false;
  return roaring_bitmap_select(impl_->r, static_cast<uint32_t>(i), out);
}

Bitmap& Bitmap::operator&=(const Bitmap& o) {
  roaring_bitmap_and_inplace(impl_->r, o.impl_->r);
  return *this;
}
Bitmap& Bitmap::operator|=(const Bitmap& o) {
  roaring_bitmap_or_inplace(impl_->r, o.impl_->r);
  return *this;
}
Bitmap& Bitmap::operator-=(const Bitmap& o) {
  roaring_bitmap_andnot_inplace(impl_->r, o.impl_->r);
  return *this;
}
Bitmap& Bitmap::operator^=(const Bitmap& o) {
  roaring_bitmap_xor_inplace(impl_->r, o.impl_->r);
  return *this;
}
Bitmap operator&(const Bitmap& a, const Bitmap& b) {
  return Bitmap(adopt(roaring_bitmap_and(a.impl_->r, b.impl_->r)));
}
Bitmap operator|(const Bitmap& a, const Bitmap& b) {
  return Bitmap(adopt(roaring_bitmap_or(a.impl_->r, b.impl_->r)));
}
Bitmap operator-(const Bitmap& a, const Bitmap& b) {
  return Bitmap(adopt(roaring_bitmap_andnot(a.impl_->r, b.impl_->r)));
}
Bitmap operator^(const Bitmap& a, const Bitmap& b) {
  return Bitmap(adopt(roaring_bitmap_xor(a.impl_->r, b.impl_->r)));
}
bool Bitmap::operator==(const Bitmap& o) const noexcept { return roaring_bitmap_equals(impl_->r, o.impl_->r); }

uint64_t Bitmap::and_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return roaring_bitmap_and_cardinality(a.impl_->r, b.impl_->r);
}
uint64_t Bitmap::or_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return roaring_bitmap_or_cardinality(a.impl_->r, b.impl_->r);
}
uint64_t Bitmap::andnot_cardinality(const Bitmap& a, const Bitmap& b) noexcept {
  return roaring_bitmap_andnot_cardinality(a.impl_->r, b.impl_->r);
}
bool Bitmap::intersects(const Bitmap& a, const Bitmap& b) noexcept {
  return roaring_bitmap_intersect(a.impl_->r, b.impl_->r);
}

Bitmap Bitmap::or_many(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  std::vector<const roaring_bitmap_t*> rs;
  rs.reserve(inputs.size());
  for (const Bitmap* b : inputs) rs.push_back(b->impl_->r);
  return Bitmap(adopt(roaring_bitmap_or_many(rs.size(), rs.data())));
}

Bitmap Bitmap::and_many(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  // Intersect smallest first: the running result only shrinks.
  std::vector<const Bitmap*> v(inputs.begin(), inputs.end());
  std::sort(v.begin(), v.end(), [](const Bitmap* a, const Bitmap* b) { return a->cardinality() < b->cardinality(); });
  Bitmap out = *v[0];
  for (size_t i = 1; i < v.size() && !out.empty(); ++i) out &= *v[i];
  return out;
}

std::vector<uint32_t> Bitmap::to_vector() const {
  std::vector<uint32_t> v(cardinality());
  to_array(v.data());
  return v;
}
void Bitmap::to_array(uint32_t* out) const noexcept { roaring_bitmap_to_uint32_array(impl_->r, out); }

void Bitmap::for_each(const std::function<bool(uint32_t)>& fn) const {
  roaring_uint32_iterator_t it;
  roaring_init_iterator(impl_->r, &it);
  while (it.has_value) {
    if (!fn(it.current_value)) break;
    roaring_advance_uint32_iterator(&it);
  }
}

std::vector<uint8_t> Bitmap::serialize() const {
  std::vector<uint8_t> out(roaring_bitmap_portable_size_in_bytes(impl_->r));
  roaring_bitmap_portable_serialize(impl_->r, reinterpret_cast<char*>(out.data()));
  return out;
}
size_t Bitmap::serialized_size() const noexcept { return roaring_bitmap_portable_size_in_bytes(impl_->r); }
size_t Bitmap::memory_bytes() const noexcept {
  roaring_statistics_t st;
  roaring_bitmap_statistics(impl_->r, &st);
  return sizeof(Impl) + st.n_bytes_array_containers + st.n_bytes_bitset_containers + st.n_bytes_run_containers +
         static_cast<size_t>(impl_->r->high_low_container.allocation_size) * (sizeof(void*) + 3);
}
void Bitmap::optimize() {
  roaring_bitmap_run_optimize(impl_->r);
  roaring_bitmap_shrink_to_fit(impl_->r);
}

}  // namespace cdpcore
