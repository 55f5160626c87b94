#include <cstdlib>
#include <cstring>

#include "capi/bitmap_handles.hpp"
#include "capi/capi_internal.hpp"

using namespace cdpcore;

namespace {

const Bitmap& arg_bitmap(const cdp_bitmap* b, const char* what) { return capi::arg_not_null(b, what)->b; }

void check_op(cdp_bitmap_op op) {
  if (op < CDP_BITMAP_AND || op > CDP_BITMAP_XOR)
    throw InvalidArgument("bitmap operation " + std::to_string(op) + " is not one of CDP_BITMAP_AND..CDP_BITMAP_XOR");
}

template <typename T>
const T* arg_array(const T* p, size_t count, const char* what) {
  if (!p && count > 0) throw InvalidArgument(std::string(what) + " is NULL with a count of " + std::to_string(count));
  return p;
}

/// The body of the constructors from a caller's array: *out is NULL until
/// `make` has made the bitmap from the array.
template <typename T, typename F>
void new_from_array(cdp_bitmap** out, const T* p, size_t count, const char* what, F&& make) {
  capi::arg_not_null(out, "out");
  *out = nullptr;
  arg_array(p, count, what);
  *out = capi::new_bitmap(make(std::span<const T>(p, count)));
}

}  // namespace

extern "C" {

cdp_status cdp_bitmap_new(cdp_bitmap** out) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = capi::new_bitmap(Bitmap());
  CDP_API_END()
}

cdp_status cdp_bitmap_from_ordinals(cdp_bitmap** out, const uint32_t* ordinals, size_t count) {
  CDP_API_BEGIN()
  new_from_array(out, ordinals, count, "ordinals", [](std::span<const uint32_t> v) { return Bitmap::from_values(v); });
  CDP_API_END()
}

cdp_status cdp_bitmap_from_range(cdp_bitmap** out, uint32_t begin, uint32_t end) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = capi::new_bitmap(Bitmap::from_range(begin, end));
  CDP_API_END()
}

cdp_status cdp_bitmap_deserialize(cdp_bitmap** out, const uint8_t* bytes, size_t len) {
  CDP_API_BEGIN()
  new_from_array(out, bytes, len, "bytes", [](std::span<const uint8_t> v) { return Bitmap::deserialize(v); });
  CDP_API_END()
}

cdp_status cdp_bitmap_portable_size(const uint8_t* bytes, size_t len, size_t* out_size) {
  CDP_API_BEGIN()
  capi::arg_not_null(out_size, "out_size");
  arg_array(bytes, len, "bytes");
  *out_size = Bitmap::portable_size(std::span<const uint8_t>(bytes, len));
  CDP_API_END()
}

cdp_status cdp_bitmap_copy(cdp_bitmap** out, const cdp_bitmap* b) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  *out = capi::new_bitmap(arg_bitmap(b, "b"));
  CDP_API_END()
}

void cdp_bitmap_free(cdp_bitmap* b) { delete b; }

cdp_status cdp_bitmap_add(cdp_bitmap* b, uint32_t ordinal) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b")->b.add(ordinal);
  CDP_API_END()
}

cdp_status cdp_bitmap_add_many(cdp_bitmap* b, const uint32_t* ordinals, size_t count) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b");
  arg_array(ordinals, count, "ordinals");
  b->b.add_many(std::span<const uint32_t>(ordinals, count));
  CDP_API_END()
}

cdp_status cdp_bitmap_add_range(cdp_bitmap* b, uint32_t begin, uint32_t end) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b")->b.add_range(begin, end);
  CDP_API_END()
}

cdp_status cdp_bitmap_remove(cdp_bitmap* b, uint32_t ordinal) {
  CDP_API_BEGIN()
  capi::arg_not_null(b, "b")->b.remove(ordinal);
  CDP_API_END()
}

int cdp_bitmap_contains(const cdp_bitmap* b, uint32_t ordinal) { return b && b->b.contains(ordinal) ? 1 : 0; }

uint64_t cdp_bitmap_cardinality(const cdp_bitmap* b) { return b ? b->b.cardinality() : 0; }

int cdp_bitmap_equals(const cdp_bitmap* a, const cdp_bitmap* b) {
  if (!a || !b) return a == b ? 1 : 0;
  return a->b == b->b ? 1 : 0;
}

cdp_status cdp_bitmap_to_array(const cdp_bitmap* b, uint32_t* out, size_t capacity, size_t* out_count) {
  CDP_API_BEGIN()
  const Bitmap& bm = arg_bitmap(b, "b");
  capi::arg_not_null(out_count, "out_count");
  uint64_t n = bm.cardinality();
  *out_count = static_cast<size_t>(n);
  if (n > capacity) {
    throw LimitError("bitmap: " + std::to_string(n) + " members do not fit in a buffer of " +
                     std::to_string(capacity));
  }
  if (n > 0) bm.to_array(capi::arg_not_null(out, "out"));
  CDP_API_END()
}

cdp_status cdp_bitmap_to_array_alloc(const cdp_bitmap* b, uint32_t** out, size_t* out_count) {
  CDP_API_BEGIN()
  const Bitmap& bm = arg_bitmap(b, "b");
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_count, "out_count");
  *out = nullptr;
  *out_count = 0;
  uint64_t n = bm.cardinality();
  if (n == 0) return CDP_OK;
  auto* p = static_cast<uint32_t*>(std::malloc(static_cast<size_t>(n) * sizeof(uint32_t)));
  if (!p) throw std::bad_alloc();
  bm.to_array(p);
  *out = p;
  *out_count = static_cast<size_t>(n);
  CDP_API_END()
}

cdp_status cdp_bitmap_serialize(const cdp_bitmap* b, uint8_t** out, size_t* out_len) {
  CDP_API_BEGIN()
  const Bitmap& bm = arg_bitmap(b, "b");
  capi::arg_not_null(out, "out");
  capi::arg_not_null(out_len, "out_len");
  *out = nullptr;
  *out_len = 0;
  std::vector<uint8_t> bytes = bm.serialize();
  auto* p = static_cast<uint8_t*>(std::malloc(bytes.size()));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, bytes.data(), bytes.size());
  *out = p;
  *out_len = bytes.size();
  CDP_API_END()
}

cdp_status cdp_bitmap_combine(cdp_bitmap** out, cdp_bitmap_op op, const cdp_bitmap* const* inputs, size_t count) {
  CDP_API_BEGIN()
  capi::arg_not_null(out, "out");
  *out = nullptr;
  check_op(op);
  arg_array(inputs, count, "inputs");
  std::vector<const Bitmap*> bs;
  for (size_t i = 0; i < count; ++i) bs.push_back(&arg_bitmap(inputs[i], "inputs[i]"));
  Bitmap r;
  switch (op) {
    case CDP_BITMAP_AND:
      r = Bitmap::and_many(bs);
      break;
    case CDP_BITMAP_OR:
      r = Bitmap::or_many(bs);
      break;
    case CDP_BITMAP_ANDNOT:
      if (!bs.empty()) {
        r = *bs[0];
        if (bs.size() > 1) r -= Bitmap::or_many(std::span<const Bitmap* const>(bs).subspan(1));
      }
      break;
    default:
      for (const Bitmap* b : bs) r ^= *b;
      break;
  }
  *out = capi::new_bitmap(std::move(r));
  CDP_API_END()
}

cdp_status cdp_bitmap_apply(cdp_bitmap* a, cdp_bitmap_op op, const cdp_bitmap* b) {
  CDP_API_BEGIN()
  capi::arg_not_null(a, "a");
  const Bitmap& o = arg_bitmap(b, "b");
  check_op(op);
  switch (op) {
    case CDP_BITMAP_AND:
      a->b &= o;
      break;
    case CDP_BITMAP_OR:
      a->b |= o;
      break;
    case CDP_BITMAP_ANDNOT:
      a->b -= o;
      break;
    default:
      a->b ^= o;
      break;
  }
  CDP_API_END()
}

cdp_status cdp_bitmap_cardinality_of(const cdp_bitmap* a, cdp_bitmap_op op, const cdp_bitmap* b, uint64_t* out) {
  CDP_API_BEGIN()
  const Bitmap& x = arg_bitmap(a, "a");
  const Bitmap& y = arg_bitmap(b, "b");
  capi::arg_not_null(out, "out");
  check_op(op);
  switch (op) {
    case CDP_BITMAP_AND:
      *out = Bitmap::and_cardinality(x, y);
      break;
    case CDP_BITMAP_OR:
      *out = Bitmap::or_cardinality(x, y);
      break;
    case CDP_BITMAP_ANDNOT:
      *out = Bitmap::andnot_cardinality(x, y);
      break;
    default:
      *out = Bitmap::xor_cardinality(x, y);
      break;
  }
  CDP_API_END()
}

size_t cdp_bitmap_memory_bytes(const cdp_bitmap* b) { return b ? b->b.memory_bytes() : 0; }

}  // extern "C"
