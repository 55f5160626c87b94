// cdpcore — library version.
#pragma once

#include <cstdint>

#include "cdpcore/c/version.h"

namespace cdpcore {

/// The version of the library that is linked ("0.1.0").
const char* version() noexcept;
/// CDP_VERSION_NUMBER of the library that is linked.
int32_t version_number() noexcept;

}  // namespace cdpcore
