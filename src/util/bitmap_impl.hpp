// Internal: the representation behind cdpcore::Bitmap (CRoaring).
#pragma once

#include <roaring/roaring.h>

#include "cdpcore/bitmap.hpp"

namespace cdpcore {
struct Bitmap::Impl {
  roaring_bitmap_t* r = nullptr;  // owned
  explicit Impl(roaring_bitmap_t* p) : r(p) {}
  ~Impl() { roaring_bitmap_free(r); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};
}  // namespace cdpcore
