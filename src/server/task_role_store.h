#pragma once
// TaskRoleStore: which running task may fetch which role's credentials, kept across restarts.
//
//   task_role_credentials  task id → role ARN and the SHA-256 of the task's authorization token
//
// Only the token's hash is stored: the token itself lives in the task's environment, and a
// stolen data directory must not be enough to ask for a role's credentials.

#include <string>
#include <vector>

#include "core/result.h"
#include "store/db.h"

namespace berth::server {

struct TaskRoleRow {
  std::string task_id;
  std::string role_arn;
  std::string token_sha256_hex;
};

class TaskRoleStore {
 public:
  explicit TaskRoleStore(store::Db& db) : db_(db) {}
  // Creates the table (migration module "task_roles").
  Status Migrate();
  Status Put(const TaskRoleRow& row);
  Status Delete(const std::string& task_id);
  Result<std::vector<TaskRoleRow>> All();

 private:
  store::Db& db_;
};

}  // namespace berth::server
