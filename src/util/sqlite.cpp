#include "util/sqlite.hpp"

#include <string>

#include "cdpcore/error.hpp"

namespace cdpcore::sql {

void throw_sqlite(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: throw BusyError(msg);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: throw CorruptError(msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PERM: throw IoError(msg);
    case SQLITE_READONLY: throw StateError(msg);
    case SQLITE_CONSTRAINT: throw Conflict(msg);
    case SQLITE_NOMEM: throw Error(ErrorCode::no_memory, msg);
    case SQLITE_TOOBIG: throw LimitError(msg);
    default: throw Error(ErrorCode::error, msg);
  }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "prepare \"" + std::string(sql.substr(0, 80)) + "\"");
}

Statement::Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}
Statement::~Statement() { sqlite3_finalize(stmt_); }

static void check_bind(sqlite3* db, int rc) {
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "bind");
}

Statement& Statement::bind(int idx, int64_t v) {
  check_bind(db_, sqlite3_bind_int64(stmt_, idx, v));
  return *this;
}
Statement& Statement::bind(int idx, double v) {
  check_bind(db_, sqlite3_bind_double(stmt_, idx, v));
  return *this;
}
Statement& Statement::bind(int idx, std::string_view text) {
  check_bind(db_, sqlite3_bind_text64(stmt_, idx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}
Statement& Statement::bind_blob(int idx, std::span<const uint8_t> bytes) {
  // A zero-length blob must still bind as a blob, not NULL.
  static const uint8_t empty = 0;
  check_bind(db_, sqlite3_bind_blob64(stmt_, idx, bytes.empty() ? &empty : bytes.data(), bytes.size(),
                                      SQLITE_TRANSIENT));
  return *this;
}
Statement& Statement::bind_null(int idx) {
  check_bind(db_, sqlite3_bind_null(stmt_, idx));
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
  sqlite3_reset(stmt_);
  throw_sqlite(db_, rc, "step \"" + sql.substr(0, 80) + "\"");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string_view Statement::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view(p, static_cast<size_t>(n)) : std::string_view();
}
std::span<const uint8_t> Statement::column_blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::span<const uint8_t>(p, static_cast<size_t>(n)) : std::span<const uint8_t>();
}
int Statement::column_count() const { return sqlite3_column_count(stmt_); }

Database::Database(const std::string& path, int flags, int busy_timeout_ms) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "open \"" + path + "\"";
    sqlite3* db = db_;
    db_ = nullptr;
    try {
      throw_sqlite(db, rc, msg);
    } catch (...) {
      sqlite3_close_v2(db);
      throw;
    }
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Database::~Database() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    std::string ctx = "exec \"" + s.substr(0, 80) + "\": " + msg;
    // Re-raise with the same classification as other SQLite failures.
    throw_sqlite(nullptr, rc, ctx);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql); }

Statement& Database::cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(db_, sql)).first;
  } else {
    it->second->reset();
  }
  return *it->second;
}

int64_t Database::query_int64(std::string_view sql, int64_t fallback) {
  Statement st(db_, sql);
  return st.step() && !st.is_null(0) ? st.column_int64(0) : fallback;
}

int64_t Database::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
int64_t Database::changes() const noexcept { return sqlite3_changes64(db_); }
bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

ReadSnapshot::ReadSnapshot(Database& db) : db_(db) {
  if (!db.in_transaction()) {
    db.exec("BEGIN");
    owns_ = true;
  }
}

ReadSnapshot::~ReadSnapshot() {
  // Never throw from a destructor; a read-only transaction has nothing to lose.
  if (owns_ && sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Transaction::Transaction(Database& db) : db_(db) {
  if (db.in_transaction()) {
    static thread_local uint64_t counter = 0;
    savepoint_ = "cdp_sp_" + std::to_string(++counter);
    db.exec("SAVEPOINT " + savepoint_);
  } else {
    db.exec("BEGIN IMMEDIATE");
  }
}

Transaction::~Transaction() {
  if (done_) return;
  // Never throw from a destructor; a failed rollback leaves SQLite to clean up.
  if (savepoint_.empty()) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  } else {
    std::string s = "ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_;
    sqlite3_exec(db_.handle(), s.c_str(), nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  if (done_) throw StateError("transaction already finished");
  if (savepoint_.empty()) {
    db_.exec("COMMIT");
  } else {
    db_.exec("RELEASE " + savepoint_);
  }
  done_ = true;
}

}  // namespace cdpcore::sql
