#include "cdpcore/workspace.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "util/impl_access.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

namespace {
constexpr int32_t kApplicationId = 0x43445031;  // "CDP1"
constexpr int32_t kWorkspaceSchema = 1;

constexpr std::string_view kWorkspaceTables = R"sql(
CREATE TABLE IF NOT EXISTS cdp_schema (
  component TEXT PRIMARY KEY,
  version   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cdp_settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

bool is_memory_path(std::string_view p) { return p == ":memory:" || p.empty(); }

// Checks the file's first bytes before SQLite touches it, so that opening a
// file that is not a database can never modify it.
void check_header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("workspace \"" + path + "\": cannot read the file");
  char head[16] = {};
  f.read(head, sizeof head);
  std::streamsize got = f.gcount();
  if (got == 0) return;  // an empty file becomes a new workspace
  if (got < 16 || std::string_view(head, 16) != std::string_view("SQLite format 3\0", 16)) {
    throw CorruptError("workspace \"" + path + "\": not a SQLite database (bad header at offset 0)");
  }
}
}  // namespace

struct Workspace::Impl {
  std::string path;
  bool read_only = false;
  std::unique_ptr<sql::Database> db;
  TimeZone tz = TimeZone::utc();
};

Workspace::Workspace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Workspace::~Workspace() = default;

std::shared_ptr<Workspace> Workspace::open(std::string_view path_in, const WorkspaceOptions& options) {
  require_utf8(path_in, "workspace path");
  auto impl = std::make_unique<Impl>();
  impl->path = is_memory_path(path_in) ? ":memory:" : std::string(path_in);
  impl->read_only = options.read_only;
  const bool memory = impl->path == ":memory:";

  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (!memory) {
    std::error_code ec;
    bool exists = std::filesystem::exists(impl->path, ec);
    if (exists) {
      if (std::filesystem::is_directory(impl->path, ec)) {
        throw IoError("workspace \"" + impl->path + "\": is a directory");
      }
      check_header(impl->path);
    } else if (options.read_only || !options.create) {
      throw NotFound("workspace \"" + impl->path + "\": no such file");
    }
    if (!exists) flags |= SQLITE_OPEN_CREATE;
  } else {
    if (options.read_only) throw InvalidArgument("an in-memory workspace cannot be read-only");
    flags |= SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY;
  }
  impl->db = std::make_unique<sql::Database>(impl->path, flags, options.busy_timeout_ms);
  sql::Database& db = *impl->db;

  // Identify the file before writing anything to it.
  int64_t app_id = 0, user_version = 0, tables = 0;
  try {
    app_id = db.query_int64("PRAGMA application_id");
    user_version = db.query_int64("PRAGMA user_version");
    tables = db.query_int64("SELECT count(*) FROM sqlite_master");
  } catch (const Error& e) {
    throw CorruptError("workspace \"" + impl->path + "\": not a readable SQLite database (" + e.what() + ")");
  }
  const bool fresh = app_id == 0 && tables == 0;
  if (!fresh && app_id != kApplicationId) {
    throw CorruptError("workspace \"" + impl->path + "\": a SQLite database but not a cdpcore workspace");
  }
  if (user_version > kFormatVersion) {
    throw VersionError("workspace \"" + impl->path + "\": format version " + std::to_string(user_version) +
                       " was written by a newer cdpcore (this one reads up to " +
                       std::to_string(kFormatVersion) + ")");
  }
  if (fresh && options.read_only) {
    throw CorruptError("workspace \"" + impl->path + "\": empty file, not a cdpcore workspace");
  }

  if (!options.read_only) {
    if (!memory) db.exec("PRAGMA journal_mode=WAL");
    // A CDP holds personal data: deleted content is overwritten, not left in free pages.
    db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON");
    if (fresh) {
      sql::Transaction tx(db);
      db.exec("PRAGMA application_id=" + std::to_string(kApplicationId));
      db.exec("PRAGMA user_version=" + std::to_string(kFormatVersion));
      db.exec(kWorkspaceTables);
      db.cached("INSERT INTO cdp_schema(component, version) VALUES('workspace', ?)").bind_all(kWorkspaceSchema).run();
      tx.commit();
    }
  }
  std::shared_ptr<Workspace> ws(new Workspace(std::move(impl)));
  const int32_t stored = ws->schema_version("workspace");
  if (stored > kWorkspaceSchema) {
    throw VersionError("workspace \"" + ws->path() + "\": workspace schema version " + std::to_string(stored) +
                       " is newer than this cdpcore supports (" + std::to_string(kWorkspaceSchema) + ")");
  }
  if (auto tz = ws->setting("time_zone")) ws->impl_->tz = TimeZone::load(*tz);
  if (!options.time_zone.empty() && options.time_zone != ws->impl_->tz.name()) {
    if (options.read_only) {
      ws->impl_->tz = TimeZone::load(options.time_zone);
    } else {
      ws->set_time_zone(options.time_zone);
    }
  }
  return ws;
}

const std::string& Workspace::path() const noexcept { return impl_->path; }
bool Workspace::read_only() const noexcept { return impl_->read_only; }
const TimeZone& Workspace::time_zone() const noexcept { return impl_->tz; }

void Workspace::set_time_zone(std::string_view name) {
  require_utf8(name, "time zone");
  TimeZone tz = TimeZone::load(name);
  set_setting("time_zone", tz.name());
  impl_->tz = std::move(tz);
}

int32_t Workspace::schema_version(std::string_view component) const {
  auto& st = impl_->db->cached("SELECT version FROM cdp_schema WHERE component = ?");
  st.bind(1, component);
  int32_t v = st.step() ? static_cast<int32_t>(st.column_int64(0)) : 0;
  st.reset();
  return v;
}

void Workspace::ensure_schema(std::string_view component, std::span<const Migration> migrations) {
  if (migrations.empty()) throw InvalidArgument("ensure_schema(\"" + std::string(component) + "\"): no migrations");
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int32_t>(i + 1)) {
      throw InvalidArgument("ensure_schema(\"" + std::string(component) + "\"): migration " + std::to_string(i) +
                            " has version " + std::to_string(migrations[i].version) + ", expected " +
                            std::to_string(i + 1));
    }
  }
  const int32_t latest = migrations.back().version;
  const int32_t stored = schema_version(component);
  if (stored > latest) {
    throw VersionError("workspace \"" + path() + "\": " + std::string(component) + " schema version " +
                       std::to_string(stored) + " is newer than this cdpcore supports (" + std::to_string(latest) +
                       ")");
  }
  if (stored == latest) return;
  if (impl_->read_only) {
    throw StateError("workspace \"" + path() + "\" is read-only and its " + std::string(component) +
                     " schema needs an upgrade from " + std::to_string(stored) + " to " + std::to_string(latest));
  }
  sql::Transaction tx(*impl_->db);
  for (const Migration& m : migrations) {
    if (m.version <= stored) continue;
    impl_->db->exec(m.sql);
  }
  impl_->db->cached("INSERT INTO cdp_schema(component, version) VALUES(?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version")
      .bind_all(component, latest)
      .run();
  tx.commit();
}

std::optional<std::string> Workspace::setting(std::string_view key) const {
  auto& st = impl_->db->cached("SELECT value FROM cdp_settings WHERE key = ?");
  st.bind(1, key);
  std::optional<std::string> v;
  if (st.step()) v = std::string(st.column_text(0));
  st.reset();
  return v;
}

void Workspace::set_setting(std::string_view key, std::string_view value) {
  require_utf8(key, "setting key");
  require_utf8(value, "setting value");
  impl_->db->cached("INSERT INTO cdp_settings(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind_all(key, value)
      .run();
}

sql::Database& database_of(Workspace& ws) noexcept { return *detail::ImplAccess::of(ws).db; }

}  // namespace cdpcore
