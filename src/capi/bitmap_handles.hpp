// Internal: the struct behind the C ABI's cdp_bitmap handle, for every C ABI
// file that takes or returns bitmaps (segments, consent filters, lookalikes).
#pragma once

#include <utility>

#include "cdpcore/bitmap.hpp"
#include "cdpcore/c/bitmap.h"

struct cdp_bitmap {
  cdpcore::Bitmap b;
};

namespace cdpcore::capi {

/// A new handle owning `b`, for returning to the caller.
inline cdp_bitmap* new_bitmap(Bitmap b) { return new cdp_bitmap{std::move(b)}; }

}  // namespace cdpcore::capi
