#include "server/task_role_store.h"

namespace berth::server {

Status TaskRoleStore::Migrate() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "task roles: the token hash of each task with a taskRoleArn", R"sql(
CREATE TABLE IF NOT EXISTS task_role_credentials (
  task_id TEXT PRIMARY KEY,
  role_arn TEXT NOT NULL,
  token_sha256 TEXT NOT NULL
);
)sql"},
  };
  return store::ApplyMigrations(db_, "task_roles", kMigrations);
}

Status TaskRoleStore::Put(const TaskRoleRow& row) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT OR REPLACE INTO task_role_credentials "
                                   "(task_id, role_arn, token_sha256) VALUES (?, ?, ?)"));
  return stmt.Bind(1, row.task_id).Bind(2, row.role_arn).Bind(3, row.token_sha256_hex).Run();
}

Status TaskRoleStore::Delete(const std::string& task_id) {
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM task_role_credentials WHERE task_id = ?"));
  return stmt.Bind(1, task_id).Run();
}

Result<std::vector<TaskRoleRow>> TaskRoleStore::All() {
  BERTH_TRY(auto stmt, db_.Prepare("SELECT task_id, role_arn, token_sha256 "
                                   "FROM task_role_credentials"));
  std::vector<TaskRoleRow> out;
  for (;;) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      return out;
    }
    out.push_back({stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2)});
  }
}

}  // namespace berth::server
