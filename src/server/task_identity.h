#pragma once
// TaskIdentity: a task's IAM side. At start it resolves the task definition's `secrets` with the
// execution role's permissions (as the ECS agent does on Fargate) and, when the task has a
// taskRoleArn, gives its containers the container-credentials convention:
//   AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/berth/task-credentials/TASK_ID
//   AWS_CONTAINER_AUTHORIZATION_TOKEN=<random, per task>
// so an unmodified aws CLI or boto3 inside the task gets the role's temporary credentials from
// berth (ServeCredentials) and is bound by the role's policies.
//
// Secret values and tokens live only in memory and in the containers' environment; which task
// holds which role survives a restart as the token's SHA-256 (TaskRoleStore), so running tasks
// keep refreshing their credentials after berth restarts.

#include <functional>
#include <map>
#include <string>

#include "api/http_types.h"
#include "core/clock.h"
#include "core/id.h"
#include "ecs/task_environment.h"
#include "iam/iam_service.h"
#include "server/task_role_store.h"

namespace berth::server {

// How a secret's valueFrom is read, with the caller's (the execution role's) permissions.
// Errors carry the AWS error text (e.g. "AccessDeniedException: User: … is not authorized …").
using SecretSource =
    std::function<Result<std::string>(const iam::Principal& role, const std::string& value_from)>;

class TaskIdentity final : public ecs::TaskEnvironmentProvider {
 public:
  TaskIdentity(iam::IamService& iam, TaskRoleStore& store, core::Clock& clock,
               core::IdSource& ids, std::string region, std::string account_id);
  // Loads the task roles of tasks started before a restart.
  Status Open();
  void SetEndpoint(std::string endpoint) { endpoint_ = std::move(endpoint); }
  void SetSources(SecretSource ssm, SecretSource secrets_manager) {
    ssm_ = std::move(ssm);
    secrets_manager_ = std::move(secrets_manager);
  }

  Result<ecs::ContainerEnvironment> EnvironmentFor(const ecs::Task& task,
                                                   const ecs::TaskDefinition& td) override;
  void Forget(const std::string& task_id) override;

  // Whether `request` is for the credentials endpoint (answered without SigV4).
  static bool IsCredentialsRequest(const api::HttpRequest& request);
  api::HttpResponse ServeCredentials(const api::HttpRequest& request);

 private:
  struct TaskRole {
    std::string role_arn;
    std::string token_sha256_hex;
    iam::Session session;  // renewed when close to expiry (after a restart: at the first call)
  };
  int SessionSeconds(const std::string& role_arn) const;
  Result<iam::Principal> ExecutionRole(const std::string& role_arn, const std::string& task_id);

  iam::IamService& iam_;
  TaskRoleStore& store_;
  core::Clock& clock_;
  core::IdSource& ids_;
  std::string region_;
  std::string account_id_;
  std::string endpoint_;
  SecretSource ssm_;
  SecretSource secrets_manager_;
  std::map<std::string, TaskRole> roles_;  // by task id
};

}  // namespace berth::server
