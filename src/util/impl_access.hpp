// Internal: the library's access to a class's hidden representation (see
// include/cdpcore/impl_access.hpp). A component uses it on its own classes;
// another component's Impl is an incomplete type behind the include roots,
// so it cannot be used there.
#pragma once

#include "cdpcore/impl_access.hpp"

namespace cdpcore::detail {

struct ImplAccess {
  /// The representation, as the class holds it (a class that shares an
  /// immutable Impl gives a const one).
  template <typename T>
  static decltype(auto) of(T& object) noexcept {
    return *object.impl_;
  }
  template <typename T>
  static const typename T::Impl& of(const T& object) noexcept {
    return *object.impl_;
  }
};

}  // namespace cdpcore::detail
