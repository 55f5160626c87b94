// cdpcore — library version.
#pragma once

#include <cstdint>

#include "cdpcore/c/export.h"
#include "cdpcore/c/version.h"

namespace cdpcore {

/// The version of the library that is linked ("0.1.0").
CDP_API const char* version() noexcept;
/// CDP_VERSION_NUMBER of the library that is linked.
CDP_API int32_t version_number() noexcept;

}  // namespace cdpcore
