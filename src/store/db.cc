#include "store/db.h"

#include <fmt/format.h>

namespace berth::store {

namespace {
Error SqlError(sqlite3* db, std::string_view what) {
  return InternalError(fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db)));
}
}  // namespace

Stmt::~Stmt() {
  if (stmt_ == nullptr) {
    return;
  }
  if (cached_) {
    db_->Release(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return SqlError(db_->handle(), "step");
}

Status Stmt::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) {
      return std::move(row).take_error();
    }
    if (!*row) {
      return OkStatus();
    }
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}
int64_t Stmt::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
bool Stmt::ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &handle,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = handle ? sqlite3_errmsg(handle) : "out of memory";
    sqlite3_close(handle);
    return InternalError(fmt::format("cannot open database {}: {}", path, msg));
  }
  std::unique_ptr<Db> db(new Db(handle));
  // Nobody else ever holds the lock for long: a short wait is enough to ride out a server that
  // is just exiting, and a second server on the same directory fails fast.
  sqlite3_busy_timeout(handle, 200);
  // The exclusive lock is taken by the first write; take it now so that a second server on the
  // same data directory fails here rather than later.
  // SQLite's default WAL checkpoint (every 1,000 pages) stays: a checkpoint's fsync flushes
  // the whole WAL, so a larger one (tried: 8,192 pages) did not raise PutParameter's
  // throughput and took its p99 from ~4 ms to ~22 ms.
  if (Status s = db->Exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                          " PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                          " BEGIN IMMEDIATE; COMMIT;");
      !s.ok()) {
    return InternalError("database " + path + " is in use by another process: " +
                         s.error().message);
  }
  return db;
}

Db::~Db() {
  for (auto& [stmt, sql] : sql_of_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db_);
}

void Db::Release(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  auto& slot = idle_[sql_of_[stmt]];
  if (slot == nullptr) {
    slot = stmt;
  } else {
    // Two copies of the same SQL were out at once; keep one.
    sql_of_.erase(stmt);
    sqlite3_finalize(stmt);
  }
}

Status Db::Exec(std::string_view sql) {
  std::string owned(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return InternalError("sqlite exec: " + msg);
  }
  return OkStatus();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = idle_.find(key); it != idle_.end() && it->second != nullptr) {
    sqlite3_stmt* stmt = it->second;
    it->second = nullptr;
    return Stmt(this, stmt, true);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  sql_of_[stmt] = std::move(key);
  return Stmt(this, stmt, true);
}

Status Db::RunCached(std::string_view sql) {
  BERTH_TRY(Stmt stmt, Prepare(sql));
  return stmt.Run();
}

std::string Db::LastErrorMessage() const { return sqlite3_errmsg(db_); }

Transaction::Transaction(Db& db) : db_(db) { began_ = db_.RunCached("SAVEPOINT berth_txn").ok(); }

Transaction::~Transaction() {
  if (began_ && !done_) {
    (void)db_.Exec("ROLLBACK TO berth_txn; RELEASE berth_txn");
  }
}

Status Transaction::Commit() {
  if (!began_) {
    return InternalError("transaction did not begin: " + db_.LastErrorMessage());
  }
  BERTH_RETURN_IF_ERROR(db_.RunCached("RELEASE berth_txn"));
  done_ = true;
  return OkStatus();
}

Status Db::BeginBatch() {
  BERTH_ASSERT(!in_batch_, "BeginBatch inside a batch");
  BERTH_RETURN_IF_ERROR(RunCached("BEGIN"));
  in_batch_ = true;
  changes_before_batch_ = sqlite3_total_changes64(db_);
  return OkStatus();
}

bool Db::batch_changed() const {
  return in_batch_ && sqlite3_total_changes64(db_) != changes_before_batch_;
}

Status Db::CommitBatch() {
  BERTH_ASSERT(in_batch_, "CommitBatch without a batch");
  in_batch_ = false;
  if (Status s = RunCached("COMMIT"); !s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  return OkStatus();
}

Status ApplyMigrations(Db& db, const std::string& module,
                       const std::vector<Migration>& migrations) {
  BERTH_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS schema_versions ("
                                "module TEXT PRIMARY KEY, version INTEGER NOT NULL)"));
  int current = 0;
  {
    BERTH_TRY(Stmt version_stmt, db.Prepare("SELECT version FROM schema_versions WHERE module = ?1"));
    version_stmt.Bind(1, module);
    BERTH_TRY(bool has_row, version_stmt.Step());
    current = has_row ? static_cast<int>(version_stmt.ColumnInt(0)) : 0;
  }
  int newest = migrations.empty() ? 0 : migrations.back().version;
  if (current > newest) {
    return InternalError(fmt::format(
        "the {} schema is at version {}, newer than this berth knows ({}); refusing to start",
        module, current, newest));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) {
      continue;
    }
    Transaction txn(db);
    BERTH_RETURN_IF_ERROR(db.Exec(m.sql));
    BERTH_TRY(Stmt set, db.Prepare("INSERT INTO schema_versions(module, version) VALUES(?1, ?2) "
                                   "ON CONFLICT(module) DO UPDATE SET version = excluded.version"));
    BERTH_RETURN_IF_ERROR(set.Bind(1, module).Bind(2, static_cast<int64_t>(m.version)).Run());
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  return OkStatus();
}

}  // namespace berth::store
