#include "server/task_identity.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "core/hex.h"
#include "core/id.h"
#include "core/log.h"
#include "core/time_util.h"

namespace berth::server {

namespace {

constexpr const char* kCredentialsPath = "/berth/task-credentials/";
constexpr const char* kPullFailure =
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: ";

std::string RoleName(const std::string& role_arn) {
  size_t slash = role_arn.rfind('/');
  return slash == std::string::npos ? role_arn : role_arn.substr(slash + 1);
}

api::HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  api::HttpResponse res;
  res.status = status;
  res.headers.emplace_back("Content-Type", "application/json");
  res.body = body.dump();
  return res;
}

}  // namespace

TaskIdentity::TaskIdentity(iam::IamService& iam, TaskRoleStore& store, core::Clock& clock,
                           core::IdSource& ids, std::string region, std::string account_id)
    : iam_(iam), store_(store), clock_(clock), ids_(ids), region_(std::move(region)),
      account_id_(std::move(account_id)) {}

Status TaskIdentity::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(auto rows, store_.All());
  for (const TaskRoleRow& row : rows) {
    if (row.token_sha256_hex.size() != 64) {
      return InternalError("task_role_credentials: a bad token hash for task " + row.task_id);
    }
    TaskRole r;
    r.role_arn = row.role_arn;
    r.token_sha256_hex = row.token_sha256_hex;
    roles_[row.task_id] = std::move(r);  // no session yet: the first request issues one
  }
  return OkStatus();
}

// The execution role as ECS uses it: its trust policy must let ecs-tasks.amazonaws.com assume
// it; the session is named after the task, as on Fargate.
Result<iam::Principal> TaskIdentity::ExecutionRole(const std::string& role_arn,
                                                   const std::string& task_id) {
  auto role = iam_.GetRole(RoleName(role_arn));
  if (!role.ok() || role->arn != role_arn) {
    return MakeError(ErrorKind::AccessDenied, "AccessDenied",
                     "ECS was unable to assume the role '" + role_arn +
                         "' that was provided for this task. Please verify that the role being "
                         "passed has the proper trust relationship and permissions and that your "
                         "IAM user has permissions to pass this role.");
  }
  auto trust = iam::Policy::Parse(role->assume_role_policy, iam::PolicyKind::Resource);
  iam::Caller ecs_tasks;
  ecs_tasks.service = "ecs-tasks.amazonaws.com";
  if (!trust.ok() || !iam::AllowsAssumeRole(*trust, ecs_tasks, {}, "sts:AssumeRole", role_arn)) {
    return MakeError(ErrorKind::AccessDenied, "AccessDenied",
                     "ECS was unable to assume the role '" + role_arn +
                         "' that was provided for this task. Please verify that the role being "
                         "passed has the proper trust relationship and permissions and that your "
                         "IAM user has permissions to pass this role.");
  }
  iam::Principal p;
  p.kind = iam::Principal::Kind::AssumedRole;
  p.name = role->name;
  p.role_arn = role->arn;
  p.arn = "arn:aws:sts::" + account_id_ + ":assumed-role/" + role->name + "/" + task_id;
  p.user_id = role->id + ":" + task_id;
  return p;
}

Result<ecs::ContainerEnvironment> TaskIdentity::EnvironmentFor(const ecs::Task& task,
                                                               const ecs::TaskDefinition& td) {
  ecs::ContainerEnvironment out;
  const nlohmann::json& doc = td.document;
  bool any_secret = false;
  for (const auto& c : doc.value("containerDefinitions", nlohmann::json::array())) {
    any_secret = any_secret || !c.value("secrets", nlohmann::json::array()).empty();
  }
  if (any_secret) {
    std::string execution_role = doc.value("executionRoleArn", "");
    if (execution_role.empty()) {
      return MakeError(ErrorKind::InvalidArgument, "ResourceInitializationError",
                       std::string(kPullFailure) +
                           "the task definition uses secrets but has no executionRoleArn");
    }
    auto principal = ExecutionRole(execution_role, task.id);
    if (!principal.ok()) {
      return MakeError(ErrorKind::AccessDenied, "ResourceInitializationError",
                       std::string(kPullFailure) + principal.error().message);
    }
    for (const auto& c : doc["containerDefinitions"]) {
      for (const auto& s : c.value("secrets", nlohmann::json::array())) {
        std::string name = s.value("name", "");
        std::string from = s.value("valueFrom", "");
        bool asm_secret = from.starts_with("arn:aws:secretsmanager:");
        const SecretSource& source = asm_secret ? secrets_manager_ : ssm_;
        Result<std::string> value = source
            ? source(*principal, from)
            : Result<std::string>(MakeError(ErrorKind::Unavailable, "ServiceUnavailable",
                                            "the secrets service is not available"));
        if (!value.ok()) {
          std::string where = asm_secret ? "unable to retrieve secret from asm: service call has "
                                           "been retried 1 time(s): failed to fetch secret " +
                                               from + ": "
                                         : "unable to retrieve secrets from ssm: service call has "
                                           "been retried 1 time(s): ";
          return MakeError(value.error().kind, "ResourceInitializationError",
                           std::string(kPullFailure) + where +
                               (value.error().aws_code.empty() ? "" : value.error().aws_code + ": ") +
                               value.error().message);
        }
        out[c.value("name", "")].emplace_back(name, std::move(*value));
      }
    }
  }
  std::string task_role = doc.value("taskRoleArn", "");
  if (!task_role.empty()) {
    auto session = iam_.IssueRoleSession(task_role, task.id, SessionSeconds(task_role));
    if (!session.ok()) {
      return MakeError(ErrorKind::AccessDenied, "ResourceInitializationError",
                       "ECS was unable to assume the role '" + task_role +
                           "' that was provided for this task: " + session.error().message);
    }
    std::string token = core::HexEncode(ids_.RandomString(32, false));
    TaskRole r{task_role, core::Sha256Hex(token), *session};
    BERTH_RETURN_IF_ERROR(store_.Put({task.id, task_role, r.token_sha256_hex}));
    std::string uri = endpoint_ + kCredentialsPath + task.id;
    for (const auto& c : doc["containerDefinitions"]) {
      auto& env = out[c.value("name", "")];
      env.emplace_back("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
      env.emplace_back("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
    }
    roles_[task.id] = std::move(r);
  }
  return out;
}

// Task role sessions last as long as the role allows (renewed while the task runs).
int TaskIdentity::SessionSeconds(const std::string& role_arn) const {
  auto role = iam_.GetRole(RoleName(role_arn));
  return role.ok() ? role->max_session_duration : 3600;
}

void TaskIdentity::Forget(const std::string& task_id) {
  if (roles_.erase(task_id) != 0) {
    if (Status s = store_.Delete(task_id); !s.ok()) {
      spdlog::warn("task {}: cannot forget its task role: {}", task_id, s.error().message);
    }
  }
}

bool TaskIdentity::IsCredentialsRequest(const api::HttpRequest& request) {
  return request.method == "GET" && request.Path().starts_with(kCredentialsPath);
}

api::HttpResponse TaskIdentity::ServeCredentials(const api::HttpRequest& request) {
  std::string task_id(request.Path().substr(std::string_view(kCredentialsPath).size()));
  auto it = roles_.find(task_id);
  std::string token_sha256_hex = core::Sha256Hex(request.Header("Authorization"));
  if (it == roles_.end() || it->second.token_sha256_hex.size() != token_sha256_hex.size() ||
      CRYPTO_memcmp(token_sha256_hex.data(), it->second.token_sha256_hex.data(),
                    token_sha256_hex.size()) != 0) {
    return JsonResponse(403, {{"code", "AccessDenied"},
                              {"message", "Unable to authenticate the credentials request"}});
  }
  TaskRole& r = it->second;
  // Renew a quarter of an hour before expiry: SDKs refresh ahead of the Expiration they see.
  if (r.session.expires_ms - clock_.NowMillis() < 15 * 60 * 1000) {
    auto fresh = iam_.IssueRoleSession(r.role_arn, task_id, SessionSeconds(r.role_arn));
    if (!fresh.ok()) {
      return JsonResponse(500, {{"code", "InternalError"}, {"message", fresh.error().message}});
    }
    r.session = *fresh;
  }
  return JsonResponse(200, {{"AccessKeyId", r.session.access_key_id},
                            {"SecretAccessKey", r.session.secret},
                            {"Token", r.session.token},
                            {"Expiration", core::FormatIso8601(r.session.expires_ms)},
                            {"RoleArn", r.role_arn}});
}

}  // namespace berth::server
