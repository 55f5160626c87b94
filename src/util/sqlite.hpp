// Internal: a thin RAII layer over SQLite for the components.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cdpcore::sql {

/// Throws the cdpcore::Error that matches a SQLite result code.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view context);

/// A prepared statement. Move-only; finalised on destruction. Bind indexes
/// are 1-based, column indexes 0-based, as in SQLite.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int idx, int64_t v);
  Statement& bind(int idx, int v) { return bind(idx, static_cast<int64_t>(v)); }
  Statement& bind(int idx, uint32_t v) { return bind(idx, static_cast<int64_t>(v)); }
  Statement& bind(int idx, double v);
  Statement& bind(int idx, std::string_view text);
  Statement& bind(int idx, const char* text) { return bind(idx, std::string_view(text)); }
  Statement& bind(int idx, const std::string& text) { return bind(idx, std::string_view(text)); }
  Statement& bind_blob(int idx, std::span<const uint8_t> bytes);
  Statement& bind_null(int idx);

  /// Binds every argument in order from index 1.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  /// Advances; true when a row is available, false when done.
  bool step();
  /// Steps to completion and resets (for statements returning no rows).
  void run();
  /// Resets for re-execution and clears bindings.
  void reset();

  bool is_null(int col) const;
  int64_t column_int64(int col) const;
  double column_double(int col) const;
  std::string_view column_text(int col) const;
  std::span<const uint8_t> column_blob(int col) const;
  int column_count() const;

  sqlite3_stmt* handle() const noexcept { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// An open SQLite connection with a cache of prepared statements.
class Database {
 public:
  /// Opens with sqlite3_open_v2 flags; throws on failure.
  Database(const std::string& path, int flags, int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const noexcept { return db_; }

  /// Executes one or more statements that return no rows.
  void exec(std::string_view sql);
  /// A new prepared statement.
  Statement prepare(std::string_view sql);
  /// A cached prepared statement, reset and ready to bind. Valid until the
  /// Database is destroyed; do not hold two uses of the same SQL at once.
  Statement& cached(std::string_view sql);

  /// The single integer a query returns (or `fallback` when no row).
  int64_t query_int64(std::string_view sql, int64_t fallback = 0);

  int64_t last_insert_rowid() const noexcept;
  int64_t changes() const noexcept;
  bool in_transaction() const noexcept;

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

/// A transaction: BEGIN IMMEDIATE on construction (a SAVEPOINT when one is
/// already open, so batches nest), ROLLBACK on destruction unless commit()
/// was called. Failed batches therefore leave no trace.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  std::string savepoint_;  // empty for a top-level transaction
  bool done_ = false;
};

/// One consistent view of the file for a group of reads (a component's load):
/// a deferred BEGIN, so the first read takes a snapshot and other
/// connections' commits stay invisible until it ends; nothing when a
/// transaction is already open (its view already is one). Ended (COMMIT, which
/// for reads only releases the snapshot) on destruction.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database& db_;
  bool owns_ = false;
};

}  // namespace cdpcore::sql
