#pragma once
// A thin, non-throwing wrapper over one SQLite connection (WAL mode).
//
// Thread-safety: a Db is used from one thread (the control loop); SQLite itself is built
// serialized, but berth never shares a connection across threads.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace berth::store {

class Db;

// A prepared statement. Bind parameters are 1-based as in SQLite. Statements come from the
// Db's cache: destroying a Stmt resets it and hands it back for the next Prepare of the same SQL.
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_), cached_(other.cached_) {
    other.stmt_ = nullptr;
  }
  Stmt(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, int64_t value);
  Stmt& BindNull(int index);

  // Steps once: true when a row is available, false when done. Errors become Internal.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  void Reset();

  std::string ColumnText(int col) const;
  int64_t ColumnInt(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class Db;
  Stmt(Db* db, sqlite3_stmt* stmt, bool cached) : db_(db), stmt_(stmt), cached_(cached) {}
  Db* db_;
  sqlite3_stmt* stmt_;
  bool cached_;  // true: owned by the Db's cache, reset instead of finalized
};

class Db {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for tests), in WAL mode with
  // synchronous=NORMAL (durable across a process crash; an OS crash may lose the last commits)
  // and an exclusive lock: one berth server owns a data directory, and no per-statement file
  // locking is paid. A second server on the same directory fails to open it.
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();

  Status Exec(std::string_view sql);
  // A prepared statement for `sql`, from the cache when one is free (parsing SQL costs more
  // than running most of berth's statements).
  Result<Stmt> Prepare(std::string_view sql);
  // Runs one statement without results through the cache (BEGIN, COMMIT, SAVEPOINT: once per
  // call, so parsing them each time showed in profiles).
  Status RunCached(std::string_view sql);
  std::string LastErrorMessage() const;
  sqlite3* handle() { return db_; }

  // Group commit: BeginBatch opens a transaction that every later statement (and Transaction,
  // as a savepoint inside it) joins until CommitBatch. The server opens one per turn of its
  // event loop and holds the turn's replies until the commit, so one WAL write serves many
  // calls and nothing is acknowledged before it is stored.
  // REQUIRES: BeginBatch only when !in_batch(); CommitBatch only when in_batch().
  Status BeginBatch();
  Status CommitBatch();
  bool in_batch() const { return in_batch_; }
  // Whether a statement of the open batch has changed a row (inserted, updated or deleted one).
  // A reply computed while this is false read only committed data, so it needs no commit wait.
  bool batch_changed() const;

 private:
  friend class Stmt;
  explicit Db(sqlite3* db) : db_(db) {}
  void Release(sqlite3_stmt* stmt);

  sqlite3* db_;
  bool in_batch_ = false;
  int64_t changes_before_batch_ = 0;  // sqlite3_total_changes64 when the batch began
  // SQL text -> a prepared statement not currently handed out.
  std::unordered_map<std::string, sqlite3_stmt*> idle_;
  std::unordered_map<sqlite3_stmt*, std::string> sql_of_;
};

// RAII transaction (a SQLite savepoint, so it nests inside a batch): rolls back unless Commit()
// succeeded. Inside a batch, Commit() makes the changes part of the batch's commit.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Status Commit();

 private:
  Db& db_;
  bool done_ = false;
  bool began_ = false;
};

// A schema migration: applied once, in order of `version`, inside a transaction.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Applies, in one transaction each, every migration of `module` whose version is above the one
// recorded for that module in the schema_versions table. Each module (ecs, logs, ...) numbers
// its own migrations. Fails, changing nothing, if the store is newer than this binary knows.
Status ApplyMigrations(Db& db, const std::string& module, const std::vector<Migration>& migrations);

}  // namespace berth::store
