// Internal: the struct behind the C ABI's cdp_profile_store handle (shared by
// the profile and rules C ABI files).
#pragma once

#include <memory>

#include "cdpcore/c/profile.h"
#include "cdpcore/profile.hpp"
#include "cdpcore/workspace.hpp"

struct cdp_profile_store {
  std::shared_ptr<cdpcore::Workspace> ws;  // keeps the workspace open
  cdpcore::ProfileStore store;
};
