#include "cdpcore/version.hpp"

namespace cdpcore {
const char* version() noexcept { return CDP_VERSION; }
int32_t version_number() noexcept { return CDP_VERSION_NUMBER; }
}  // namespace cdpcore
