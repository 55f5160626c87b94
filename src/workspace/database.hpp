// Internal interface of the workspace: its SQLite connection, for the
// components that keep their tables in the workspace file.
#pragma once

#include "cdpcore/workspace.hpp"
#include "util/sqlite.hpp"

namespace cdpcore {

/// The workspace's connection. Same thread-safety as the Workspace: one
/// thread at a time.
sql::Database& database_of(Workspace& ws) noexcept;

}  // namespace cdpcore
