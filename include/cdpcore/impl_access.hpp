// cdpcore — internal: how the library's own code reaches a class's
// representation. Each class with a hidden Impl names this struct its friend;
// the struct is defined in the library's sources only (src/util/impl_access.hpp)
// and the Impl types are private to their component, so applications neither
// need nor can use it.
#pragma once

namespace cdpcore::detail {
struct ImplAccess;
}  // namespace cdpcore::detail
