// cdpcore — the workspace: one SQLite file that holds every component's state.
//
//   auto ws = cdpcore::Workspace::open("crm.cdp");      // or ":memory:"
//   cdpcore::IdentityGraph graph(ws);                    // components bind to it
//
// The file is in WAL mode; every batch a component writes is one transaction.
// Each component owns a set of tables and a schema version, upgraded by its
// migrations when it first binds to the workspace. A file written by a newer
// schema is refused, never downgraded.
//
// Thread safety: a Workspace (and the components bound to it) may be used by
// one thread at a time. Open one Workspace per thread to read concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cdpcore/impl_access.hpp"
#include "cdpcore/time.hpp"

namespace cdpcore {

struct WorkspaceOptions {
  /// Open without writing; the file must exist.
  bool read_only = false;
  /// Create the file when it does not exist.
  bool create = true;
  /// Wait this long for a lock held by another connection.
  int32_t busy_timeout_ms = 5000;
  /// IANA time zone for calendar rules, stored in a new workspace. Empty:
  /// keep the stored zone ("UTC" for a new workspace).
  std::string time_zone;
};

/// One step of a component's schema: `sql` (one or more statements) brings
/// the component's tables from version `version - 1` to `version`.
struct Migration {
  int32_t version;
  std::string_view sql;
};

class Workspace {
 public:
  /// The workspace file format this library writes (PRAGMA user_version).
  static constexpr int32_t kFormatVersion = 1;

  /// Opens or creates the workspace at `path` (":memory:" for a private
  /// in-memory one). Throws CorruptError when the file is not a SQLite
  /// database or not a cdpcore workspace, VersionError when it was written by
  /// a newer format; in both cases the file is left untouched.
  static std::shared_ptr<Workspace> open(std::string_view path, const WorkspaceOptions& options = {});

  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& path() const noexcept;
  bool read_only() const noexcept;

  /// The workspace's time zone, used by calendar windows and age rules.
  const TimeZone& time_zone() const noexcept;
  /// Changes and stores the time zone. Throws NotFound for an unknown zone.
  void set_time_zone(std::string_view name);

  /// The stored schema version of `component`, 0 when it has no tables yet.
  int32_t schema_version(std::string_view component) const;

  /// Brings `component`'s tables up to the last of `migrations` (sorted by
  /// version, starting at 1), in one transaction. Throws VersionError when the
  /// file holds a newer version than the last migration. Idempotent.
  void ensure_schema(std::string_view component, std::span<const Migration> migrations);

  /// A stored setting of the workspace (key/value text), or nullopt.
  std::optional<std::string> setting(std::string_view key) const;
  /// Stores a setting.
  void set_setting(std::string_view key, std::string_view value);

  struct Impl;

 private:
  friend struct detail::ImplAccess;
  explicit Workspace(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdpcore
