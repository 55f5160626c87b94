#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cdpcore/error.hpp"
#include "cdpcore/workspace.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

using namespace cdpcore;
namespace fs = std::filesystem;

namespace {
struct TempFile {
  std::string path;
  explicit TempFile(const char* name) : path((fs::temp_directory_path() / name).string()) { cleanup(); }
  ~TempFile() { cleanup(); }
  void cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  }
};
std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
constexpr Migration kWidgets[] = {
    {1, "CREATE TABLE widget(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
    {2, "ALTER TABLE widget ADD COLUMN colour TEXT;"},
};
}  // namespace

TEST_CASE("workspace: an in-memory workspace has the workspace schema") {
  auto ws = Workspace::open(":memory:");
  CHECK(ws->path() == ":memory:");
  CHECK(ws->schema_version("workspace") == 1);
  CHECK(ws->schema_version("identity") == 0);
  CHECK(ws->time_zone().name() == "UTC");
}

TEST_CASE("workspace: a file workspace keeps settings, zone and schema across reopen") {
  TempFile tmp("cdp_ws_reopen.cdp");
  {
    WorkspaceOptions o;
    o.time_zone = "Asia/Shanghai";
    auto ws = Workspace::open(tmp.path, o);
    ws->ensure_schema("widgets", kWidgets);
    ws->set_setting("owner", "crm");
    database_of(*ws).exec("INSERT INTO widget(name, colour) VALUES('a', 'red')");
  }
  auto ws = Workspace::open(tmp.path);
  CHECK(ws->time_zone().name() == "Asia/Shanghai");
  CHECK(ws->schema_version("widgets") == 2);
  CHECK(ws->setting("owner") == std::optional<std::string>("crm"));
  CHECK(database_of(*ws).query_int64("SELECT count(*) FROM widget WHERE colour = 'red'") == 1);
  CHECK(database_of(*ws).query_int64("PRAGMA journal_mode = wal") >= 0);
}

TEST_CASE("workspace: migrations apply only the missing steps") {
  auto ws = Workspace::open(":memory:");
  ws->ensure_schema("widgets", std::span<const Migration>(kWidgets, 1));
  CHECK(ws->schema_version("widgets") == 1);
  ws->ensure_schema("widgets", kWidgets);
  CHECK(ws->schema_version("widgets") == 2);
  ws->ensure_schema("widgets", kWidgets);  // idempotent
  CHECK(database_of(*ws).query_int64("SELECT count(*) FROM pragma_table_info('widget')") == 3);
}

TEST_CASE("workspace: a failed migration leaves the schema as it was") {
  auto ws = Workspace::open(":memory:");
  constexpr Migration bad[] = {{1, "CREATE TABLE t1(a);"}, {2, "CREATE TABLE t2(a); THIS IS NOT SQL;"}};
  CHECK_THROWS_AS(ws->ensure_schema("bad", bad), Error);
  CHECK(ws->schema_version("bad") == 0);
  CHECK(database_of(*ws).query_int64("SELECT count(*) FROM sqlite_master WHERE name IN ('t1','t2')") == 0);
}

TEST_CASE("workspace: a component schema newer than the library is refused") {
  TempFile tmp("cdp_ws_newer.cdp");
  {
    auto ws = Workspace::open(tmp.path);
    ws->ensure_schema("widgets", kWidgets);
  }
  auto ws = Workspace::open(tmp.path);
  try {
    ws->ensure_schema("widgets", std::span<const Migration>(kWidgets, 1));
    FAIL("no exception");
  } catch (const VersionError& e) {
    CHECK(std::string(e.what()).find("widgets schema version 2 is newer") != std::string::npos);
  }
}

TEST_CASE("workspace: a file written by a newer format is refused and left untouched") {
  TempFile tmp("cdp_ws_future.cdp");
  { auto ws = Workspace::open(tmp.path); }
  {
    sql::Database raw(tmp.path, SQLITE_OPEN_READWRITE, 1000);
    raw.exec("PRAGMA user_version = 99");
  }
  std::string before = read_all(tmp.path);
  CHECK_THROWS_AS(Workspace::open(tmp.path), VersionError);
  CHECK(read_all(tmp.path) == before);
}

TEST_CASE("workspace: a file that is not SQLite is refused and left untouched") {
  TempFile tmp("cdp_ws_text.cdp");
  {
    std::ofstream f(tmp.path);
    f << "id,phone\n1,13800138000\n";
  }
  std::string before = read_all(tmp.path);
  try {
    Workspace::open(tmp.path);
    FAIL("no exception");
  } catch (const CorruptError& e) {
    CHECK(std::string(e.what()).find("not a SQLite database") != std::string::npos);
  }
  CHECK(read_all(tmp.path) == before);
  CHECK_FALSE(fs::exists(tmp.path + "-wal"));
}

TEST_CASE("workspace: a SQLite file of another application is refused") {
  TempFile tmp("cdp_ws_other.sqlite");
  {
    sql::Database raw(tmp.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    raw.exec("CREATE TABLE customers(id INTEGER)");
  }
  CHECK_THROWS_AS(Workspace::open(tmp.path), CorruptError);
}

TEST_CASE("workspace: missing files with create=false, and read-only opens") {
  TempFile tmp("cdp_ws_missing.cdp");
  WorkspaceOptions o;
  o.create = false;
  CHECK_THROWS_AS(Workspace::open(tmp.path, o), NotFound);
  CHECK_FALSE(fs::exists(tmp.path));
  { auto ws = Workspace::open(tmp.path); }
  WorkspaceOptions ro;
  ro.read_only = true;
  auto ws = Workspace::open(tmp.path, ro);
  CHECK(ws->read_only());
  CHECK_THROWS_AS(ws->ensure_schema("widgets", kWidgets), StateError);
  CHECK_THROWS_AS(Workspace::open(":memory:", ro), InvalidArgument);
}

TEST_CASE("workspace: transactions roll back unless committed, and nest as savepoints") {
  auto ws = Workspace::open(":memory:");
  auto& db = database_of(*ws);
  db.exec("CREATE TABLE t(a INTEGER)");
  {
    sql::Transaction tx(db);
    db.exec("INSERT INTO t VALUES(1)");
  }
  CHECK(db.query_int64("SELECT count(*) FROM t") == 0);
  {
    sql::Transaction outer(db);
    db.exec("INSERT INTO t VALUES(1)");
    {
      sql::Transaction inner(db);
      db.exec("INSERT INTO t VALUES(2)");
    }  // inner rolled back
    outer.commit();
  }
  CHECK(db.query_int64("SELECT count(*) FROM t") == 1);
}

TEST_CASE("workspace: the time zone can be changed and unknown zones are refused") {
  auto ws = Workspace::open(":memory:");
  ws->set_time_zone("Europe/Berlin");
  CHECK(ws->time_zone().name() == "Europe/Berlin");
  CHECK_THROWS_AS(ws->set_time_zone("Nowhere/Land"), NotFound);
  CHECK(ws->time_zone().name() == "Europe/Berlin");
}
