// Internal: the structs behind the C ABI's opaque handles. Each component adds
// its own handle struct here (or in its own internal header).
#pragma once

#include <memory>
#include <string>

#include "cdpcore/workspace.hpp"

struct cdp_workspace {
  std::shared_ptr<cdpcore::Workspace> ws;
  std::string scratch;  // backing store for strings returned to the caller
};
