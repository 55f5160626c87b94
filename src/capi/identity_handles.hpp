// Internal: access to the graph behind a cdp_identity_graph handle, for C ABI
// files of other components that take one (consent's person-level checks).
#pragma once

#include "cdpcore/c/identity.h"
#include "cdpcore/identity.hpp"

namespace cdpcore::capi {

/// The graph of a handle; throws InvalidArgument naming "graph" when NULL.
IdentityGraph& identity_graph(cdp_identity_graph* g);

}  // namespace cdpcore::capi
