#include "iam/iam_service.h"

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/time_util.h"

namespace berth::iam {

// Stored forms (found by ADL in this namespace).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(User, name, id, path, arn, created_ms,
                                                inline_policies, attached, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AccessKey, id, secret, user_name, status,
                                                created_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Role, name, id, path, arn, assume_role_policy,
                                                description, max_session_duration, created_ms,
                                                inline_policies, attached, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ManagedPolicy, name, id, path, arn, description,
                                                document, created_ms, updated_ms, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Session, access_key_id, secret, token, role_arn,
                                                role_name, role_id, session_name, expires_ms)

namespace {

// An expired session is remembered for a day, so that its token is refused as expired
// (ExpiredTokenException, which SDKs answer by refreshing) rather than as unknown.
constexpr int64_t kExpiredSessionKeptMs = 24 * 3600 * 1000;

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "iam: users, keys, roles, policies, sessions", R"sql(
CREATE TABLE IF NOT EXISTS iam_entities (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
)sql"},
  };
  return kMigrations;
}

Error NoSuchEntity(std::string message) {
  return MakeError(ErrorKind::NotFound, "NoSuchEntity", std::move(message));
}
Error AlreadyExists(std::string message) {
  return MakeError(ErrorKind::AlreadyExists, "EntityAlreadyExists", std::move(message));
}
Error DeleteConflict(std::string message) {
  return MakeError(ErrorKind::Conflict, "DeleteConflict", std::move(message));
}
Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationError", std::move(message));
}

// IAM's name rule for users, roles and policies ([\w+=,.@-]+, with a length limit).
Status ValidateName(const std::string& name, const char* member, size_t max) {
  static const std::regex kName(R"([\w+=,.@-]+)");
  if (name.empty() || name.size() > max || !std::regex_match(name, kName)) {
    return Validation("1 validation error detected: Value '" + name + "' at '" + member +
                      "' failed to satisfy constraint: Member must satisfy regular expression "
                      "pattern: [\\w+=,.@-]+");
  }
  return OkStatus();
}

Status ValidatePath(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.back() != '/' || path.size() > 512) {
    return Validation("The specified value for path is invalid. It must begin and end with / "
                      "and contain only alphanumeric characters and/or / characters.");
  }
  return OkStatus();
}

Status ValidateDocument(const std::string& document, PolicyKind kind) {
  if (document.size() > 10240) {
    return MakeError(ErrorKind::LimitExceeded, "LimitExceeded",
                     "Cannot exceed quota for PolicySize: 10240");
  }
  auto parsed = Policy::Parse(document, kind);
  if (!parsed.ok()) {
    return parsed.error();
  }
  return OkStatus();
}

std::string NameFromArn(const std::string& arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

}  // namespace

const std::vector<ManagedPolicy>& AwsManagedPolicies() {
  static const std::vector<ManagedPolicy> kPolicies = [] {
    auto make = [](const char* name, const char* path, const char* document) {
      ManagedPolicy p;
      p.name = name;
      p.path = path;
      p.arn = std::string("arn:aws:iam::aws:policy") + path + name;
      p.id = "ANPAAWS" + std::string(name).substr(0, 10);
      p.document = document;
      p.description = "AWS managed policy (berth's copy)";
      return p;
    };
    return std::vector<ManagedPolicy>{
        make("AdministratorAccess", "/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"),
        make("ReadOnlyAccess", "/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Describe*","*:Get*","*:List*"],"Resource":"*"}]})"),
        make("AmazonECSTaskExecutionRolePolicy", "/service-role/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})"),
        make("AmazonSSMReadOnlyAccess", "/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],"Resource":"*"}]})"),
        make("AmazonECS_FullAccess", "/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","elasticloadbalancing:*","logs:*","iam:PassRole"],"Resource":"*"}]})"),
        make("CloudWatchLogsFullAccess", "/",
             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*"],"Resource":"*"}]})"),
    };
  }();
  return kPolicies;
}

IamService::IamService(store::Db& db, core::Clock& clock, core::IdSource& ids,
                       std::string account_id)
    : db_(db), clock_(clock), ids_(ids), account_id_(std::move(account_id)) {}

Status IamService::Open() {
  BERTH_RETURN_IF_ERROR(store::ApplyMigrations(db_, "iam", Migrations()));
  BERTH_TRY(auto stmt, db_.Prepare("SELECT kind, doc FROM iam_entities"));
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    std::string kind = stmt.ColumnText(0);
    nlohmann::json doc = nlohmann::json::parse(stmt.ColumnText(1), nullptr, false);
    if (doc.is_discarded()) {
      return InternalError("corrupt document in the iam store");
    }
    if (kind == "user") {
      User u = doc.get<User>();
      users_[u.name] = std::move(u);
    } else if (kind == "key") {
      AccessKey k = doc.get<AccessKey>();
      keys_[k.id] = std::move(k);
    } else if (kind == "role") {
      Role r = doc.get<Role>();
      roles_[r.name] = std::move(r);
    } else if (kind == "policy") {
      ManagedPolicy p = doc.get<ManagedPolicy>();
      policies_[p.arn] = std::move(p);
    } else if (kind == "session") {
      Session s = doc.get<Session>();
      if (s.expires_ms + kExpiredSessionKeptMs > clock_.NowMillis()) {
        sessions_[s.access_key_id] = std::move(s);
      }
    }
  }
  return OkStatus();
}

Status IamService::Save(const char* kind, const std::string& key, const std::string& doc) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO iam_entities (kind, key, doc) VALUES (?, ?, ?) "
                                   "ON CONFLICT(kind, key) DO UPDATE SET doc = excluded.doc"));
  stmt.Bind(1, kind).Bind(2, key).Bind(3, doc);
  return stmt.Run();
}

Status IamService::Erase(const char* kind, const std::string& key) {
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM iam_entities WHERE kind = ? AND key = ?"));
  stmt.Bind(1, kind).Bind(2, key);
  return stmt.Run();
}

Status IamService::SaveUser(const User& u) { return Save("user", u.name, nlohmann::json(u).dump()); }
Status IamService::SaveRole(const Role& r) { return Save("role", r.name, nlohmann::json(r).dump()); }

std::string IamService::NewId(const char* prefix) {
  return prefix + ids_.RandomString(17, true);
}

// ---------------------------------------------------------------- users and keys

Result<User> IamService::CreateUser(const std::string& name, const std::string& path,
                                    const IamTags& tags) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "userName", 64));
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  if (users_.count(name)) {
    return AlreadyExists("User with name " + name + " already exists.");
  }
  User u;
  u.name = name;
  u.path = path;
  u.id = NewId("AIDA");
  u.arn = "arn:aws:iam::" + account_id_ + ":user" + path + name;
  u.created_ms = clock_.NowMillis();
  u.tags = tags;
  BERTH_RETURN_IF_ERROR(SaveUser(u));
  users_[name] = u;
  return u;
}

Result<User> IamService::GetUser(const std::string& name) const {
  auto it = users_.find(name);
  if (it == users_.end()) {
    return NoSuchEntity("The user with name " + name + " cannot be found.");
  }
  return it->second;
}

Status IamService::DeleteUser(const std::string& name) {
  BERTH_TRY(User u, GetUser(name));
  for (const auto& [id, k] : keys_) {
    if (k.user_name == name) {
      return DeleteConflict("Cannot delete entity, must delete access keys first.");
    }
  }
  if (!u.inline_policies.empty()) {
    return DeleteConflict("Cannot delete entity, must delete policies first.");
  }
  if (!u.attached.empty()) {
    return DeleteConflict("Cannot delete entity, must detach all policies first.");
  }
  BERTH_RETURN_IF_ERROR(Erase("user", name));
  users_.erase(name);
  compiled_.clear();
  return OkStatus();
}

std::vector<User> IamService::ListUsers(const std::string& path_prefix) const {
  std::vector<User> out;
  for (const auto& [name, u] : users_) {
    if (u.path.starts_with(path_prefix.empty() ? "/" : path_prefix)) {
      out.push_back(u);
    }
  }
  return out;
}

Result<AccessKey> IamService::CreateAccessKey(const std::string& user_name) {
  BERTH_TRY(User u, GetUser(user_name));
  int count = 0;
  for (const auto& [id, k] : keys_) {
    count += k.user_name == user_name;
  }
  if (count >= 2) {
    return MakeError(ErrorKind::LimitExceeded, "LimitExceeded",
                     "Cannot exceed quota for AccessKeysPerUser: 2");
  }
  AccessKey k;
  k.id = "AKIA" + ids_.RandomString(16, true);
  k.secret = ids_.RandomString(40, false);
  k.user_name = u.name;
  k.created_ms = clock_.NowMillis();
  BERTH_RETURN_IF_ERROR(Save("key", k.id, nlohmann::json(k).dump()));
  keys_[k.id] = k;
  return k;
}

Status IamService::DeleteAccessKey(const std::string& user_name, const std::string& key_id) {
  auto it = keys_.find(key_id);
  if (it == keys_.end() || (!user_name.empty() && it->second.user_name != user_name)) {
    return NoSuchEntity("The Access Key with id " + key_id + " cannot be found.");
  }
  BERTH_RETURN_IF_ERROR(Erase("key", key_id));
  keys_.erase(it);
  return OkStatus();
}

Status IamService::UpdateAccessKey(const std::string& user_name, const std::string& key_id,
                                   const std::string& status) {
  auto it = keys_.find(key_id);
  if (it == keys_.end() || (!user_name.empty() && it->second.user_name != user_name)) {
    return NoSuchEntity("The Access Key with id " + key_id + " cannot be found.");
  }
  if (status != "Active" && status != "Inactive") {
    return Validation("Status must be Active or Inactive");
  }
  AccessKey k = it->second;
  k.status = status;
  BERTH_RETURN_IF_ERROR(Save("key", k.id, nlohmann::json(k).dump()));
  it->second = std::move(k);
  return OkStatus();
}

Result<std::vector<AccessKey>> IamService::ListAccessKeys(const std::string& user_name) const {
  BERTH_TRY(User u, GetUser(user_name));
  std::vector<AccessKey> out;
  for (const auto& [id, k] : keys_) {
    if (k.user_name == u.name) {
      out.push_back(k);
    }
  }
  return out;
}

// ---------------------------------------------------------------- roles

Result<Role> IamService::CreateRole(const std::string& name, const std::string& path,
                                    const std::string& trust_policy,
                                    const std::string& description, int max_session_duration,
                                    const IamTags& tags) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "roleName", 64));
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  if (trust_policy.empty()) {
    return Validation("1 validation error detected: Value null at 'assumeRolePolicyDocument' "
                      "failed to satisfy constraint: Member must not be null");
  }
  BERTH_RETURN_IF_ERROR(ValidateDocument(trust_policy, PolicyKind::Resource));
  if (max_session_duration < 3600 || max_session_duration > 43200) {
    return Validation("The requested MaxSessionDuration is invalid: it must be between 3600 and "
                      "43200 seconds.");
  }
  if (roles_.count(name)) {
    return AlreadyExists("Role with name " + name + " already exists.");
  }
  Role r;
  r.name = name;
  r.path = path;
  r.id = NewId("AROA");
  r.arn = "arn:aws:iam::" + account_id_ + ":role" + path + name;
  r.assume_role_policy = trust_policy;
  r.description = description;
  r.max_session_duration = max_session_duration;
  r.created_ms = clock_.NowMillis();
  r.tags = tags;
  BERTH_RETURN_IF_ERROR(SaveRole(r));
  roles_[name] = r;
  return r;
}

Result<Role> IamService::GetRole(const std::string& name) const {
  auto it = roles_.find(name);
  if (it == roles_.end()) {
    return NoSuchEntity("The role with name " + name + " cannot be found.");
  }
  return it->second;
}

Status IamService::DeleteRole(const std::string& name) {
  BERTH_TRY(Role r, GetRole(name));
  if (!r.inline_policies.empty()) {
    return DeleteConflict("Cannot delete entity, must delete policies first.");
  }
  if (!r.attached.empty()) {
    return DeleteConflict("Cannot delete entity, must detach all policies first.");
  }
  BERTH_RETURN_IF_ERROR(Erase("role", name));
  roles_.erase(name);
  compiled_.clear();
  return OkStatus();
}

std::vector<Role> IamService::ListRoles(const std::string& path_prefix) const {
  std::vector<Role> out;
  for (const auto& [name, r] : roles_) {
    if (r.path.starts_with(path_prefix.empty() ? "/" : path_prefix)) {
      out.push_back(r);
    }
  }
  return out;
}

Status IamService::UpdateAssumeRolePolicy(const std::string& name, const std::string& document) {
  BERTH_TRY(Role r, GetRole(name));
  BERTH_RETURN_IF_ERROR(ValidateDocument(document, PolicyKind::Resource));
  r.assume_role_policy = document;
  BERTH_RETURN_IF_ERROR(SaveRole(r));
  roles_[name] = std::move(r);
  return OkStatus();
}

// ---------------------------------------------------------------- policies

Status IamService::PutInlinePolicy(EntityKind kind, const std::string& entity,
                                   const std::string& name, const std::string& document) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "policyName", 128));
  BERTH_RETURN_IF_ERROR(ValidateDocument(document, PolicyKind::Identity));
  if (kind == EntityKind::User) {
    BERTH_TRY(User u, GetUser(entity));
    u.inline_policies[name] = document;
    BERTH_RETURN_IF_ERROR(SaveUser(u));
    users_[entity] = std::move(u);
  } else {
    BERTH_TRY(Role r, GetRole(entity));
    r.inline_policies[name] = document;
    BERTH_RETURN_IF_ERROR(SaveRole(r));
    roles_[entity] = std::move(r);
  }
  compiled_.clear();
  return OkStatus();
}

Result<std::string> IamService::GetInlinePolicy(EntityKind kind, const std::string& entity,
                                                const std::string& name) const {
  const std::map<std::string, std::string>* policies = nullptr;
  if (kind == EntityKind::User) {
    auto it = users_.find(entity);
    if (it == users_.end()) return NoSuchEntity("The user with name " + entity + " cannot be found.");
    policies = &it->second.inline_policies;
  } else {
    auto it = roles_.find(entity);
    if (it == roles_.end()) return NoSuchEntity("The role with name " + entity + " cannot be found.");
    policies = &it->second.inline_policies;
  }
  auto p = policies->find(name);
  if (p == policies->end()) {
    return NoSuchEntity(std::string("The ") + (kind == EntityKind::User ? "user" : "role") +
                        " policy with name " + name + " cannot be found.");
  }
  return p->second;
}

Status IamService::DeleteInlinePolicy(EntityKind kind, const std::string& entity,
                                      const std::string& name) {
  BERTH_TRY(std::string existing, GetInlinePolicy(kind, entity, name));
  if (kind == EntityKind::User) {
    User u = users_.at(entity);
    u.inline_policies.erase(name);
    BERTH_RETURN_IF_ERROR(SaveUser(u));
    users_[entity] = std::move(u);
  } else {
    Role r = roles_.at(entity);
    r.inline_policies.erase(name);
    BERTH_RETURN_IF_ERROR(SaveRole(r));
    roles_[entity] = std::move(r);
  }
  compiled_.clear();
  return OkStatus();
}

Result<std::vector<std::string>> IamService::ListInlinePolicies(EntityKind kind,
                                                                const std::string& entity) const {
  std::vector<std::string> out;
  if (kind == EntityKind::User) {
    BERTH_TRY(User u, GetUser(entity));
    for (const auto& [n, d] : u.inline_policies) out.push_back(n);
  } else {
    BERTH_TRY(Role r, GetRole(entity));
    for (const auto& [n, d] : r.inline_policies) out.push_back(n);
  }
  return out;
}

const ManagedPolicy* IamService::FindPolicy(const std::string& arn) const {
  if (auto it = policies_.find(arn); it != policies_.end()) {
    return &it->second;
  }
  for (const ManagedPolicy& p : AwsManagedPolicies()) {
    if (p.arn == arn) {
      return &p;
    }
  }
  return nullptr;
}

Result<ManagedPolicy> IamService::CreatePolicy(const std::string& name, const std::string& path,
                                               const std::string& document,
                                               const std::string& description,
                                               const IamTags& tags) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "policyName", 128));
  BERTH_RETURN_IF_ERROR(ValidatePath(path));
  BERTH_RETURN_IF_ERROR(ValidateDocument(document, PolicyKind::Identity));
  std::string arn = "arn:aws:iam::" + account_id_ + ":policy" + path + name;
  for (const auto& [a, p] : policies_) {
    if (p.name == name) {
      return AlreadyExists("A policy called " + name +
                           " already exists. Duplicate names are not allowed.");
    }
  }
  ManagedPolicy p;
  p.name = name;
  p.path = path;
  p.arn = arn;
  p.id = NewId("ANPA");
  p.document = document;
  p.description = description;
  p.created_ms = p.updated_ms = clock_.NowMillis();
  p.tags = tags;
  BERTH_RETURN_IF_ERROR(Save("policy", arn, nlohmann::json(p).dump()));
  policies_[arn] = p;
  return p;
}

Result<ManagedPolicy> IamService::GetPolicy(const std::string& arn) const {
  const ManagedPolicy* p = FindPolicy(arn);
  if (p == nullptr) {
    return NoSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  }
  return *p;
}

int IamService::AttachmentCount(const std::string& arn) const {
  int n = 0;
  for (const auto& [name, u] : users_) {
    n += static_cast<int>(std::count(u.attached.begin(), u.attached.end(), arn));
  }
  for (const auto& [name, r] : roles_) {
    n += static_cast<int>(std::count(r.attached.begin(), r.attached.end(), arn));
  }
  return n;
}

Status IamService::DeletePolicy(const std::string& arn) {
  if (!policies_.count(arn)) {
    return NoSuchEntity("Policy " + arn + " was not found.");
  }
  if (AttachmentCount(arn) > 0) {
    return DeleteConflict("Cannot delete a policy attached to entities.");
  }
  BERTH_RETURN_IF_ERROR(Erase("policy", arn));
  policies_.erase(arn);
  return OkStatus();
}

std::vector<ManagedPolicy> IamService::ListPolicies(const std::string& scope) const {
  std::vector<ManagedPolicy> out;
  if (scope != "Local") {
    for (const ManagedPolicy& p : AwsManagedPolicies()) out.push_back(p);
  }
  if (scope != "AWS") {
    for (const auto& [arn, p] : policies_) out.push_back(p);
  }
  return out;
}

Status IamService::AttachPolicy(EntityKind kind, const std::string& entity,
                                const std::string& arn) {
  BERTH_TRY(ManagedPolicy p, GetPolicy(arn));
  auto attach = [&](std::vector<std::string>& attached) {
    if (std::find(attached.begin(), attached.end(), arn) == attached.end()) {
      attached.push_back(arn);
    }
  };
  if (kind == EntityKind::User) {
    BERTH_TRY(User u, GetUser(entity));
    attach(u.attached);
    BERTH_RETURN_IF_ERROR(SaveUser(u));
    users_[entity] = std::move(u);
  } else {
    BERTH_TRY(Role r, GetRole(entity));
    attach(r.attached);
    BERTH_RETURN_IF_ERROR(SaveRole(r));
    roles_[entity] = std::move(r);
  }
  compiled_.clear();
  return OkStatus();
}

Status IamService::DetachPolicy(EntityKind kind, const std::string& entity,
                                const std::string& arn) {
  auto detach = [&](std::vector<std::string>& attached) -> Status {
    auto it = std::find(attached.begin(), attached.end(), arn);
    if (it == attached.end()) {
      return NoSuchEntity("Policy " + arn + " was not found.");
    }
    attached.erase(it);
    return OkStatus();
  };
  if (kind == EntityKind::User) {
    BERTH_TRY(User u, GetUser(entity));
    BERTH_RETURN_IF_ERROR(detach(u.attached));
    BERTH_RETURN_IF_ERROR(SaveUser(u));
    users_[entity] = std::move(u);
  } else {
    BERTH_TRY(Role r, GetRole(entity));
    BERTH_RETURN_IF_ERROR(detach(r.attached));
    BERTH_RETURN_IF_ERROR(SaveRole(r));
    roles_[entity] = std::move(r);
  }
  compiled_.clear();
  return OkStatus();
}

Result<std::vector<ManagedPolicy>> IamService::ListAttachedPolicies(
    EntityKind kind, const std::string& entity) const {
  std::vector<std::string> arns;
  if (kind == EntityKind::User) {
    BERTH_TRY(User u, GetUser(entity));
    arns = u.attached;
  } else {
    BERTH_TRY(Role r, GetRole(entity));
    arns = r.attached;
  }
  std::vector<ManagedPolicy> out;
  for (const std::string& arn : arns) {
    if (const ManagedPolicy* p = FindPolicy(arn)) {
      out.push_back(*p);
    }
  }
  return out;
}

// ---------------------------------------------------------------- STS

Result<Session> IamService::IssueRoleSession(const std::string& role_arn,
                                             const std::string& session_name,
                                             int duration_seconds) {
  std::string role_name = NameFromArn(role_arn);
  auto it = roles_.find(role_name);
  if (it == roles_.end() || it->second.arn != role_arn) {
    return MakeError(ErrorKind::AccessDenied, "AccessDenied",
                     "Not authorized to perform sts:AssumeRole on " + role_arn);
  }
  static const std::regex kSessionName(R"([\w+=,.@-]{2,64})");
  if (!std::regex_match(session_name, kSessionName)) {
    return Validation("1 validation error detected: Value '" + session_name +
                      "' at 'roleSessionName' failed to satisfy constraint: Member must satisfy "
                      "regular expression pattern: [\\w+=,.@-]*");
  }
  if (duration_seconds < 900 || duration_seconds > it->second.max_session_duration) {
    return Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                      "role.");
  }
  Session s;
  s.access_key_id = "ASIA" + ids_.RandomString(16, true);
  s.secret = ids_.RandomString(40, false);
  s.token = "IQoJb3JpZ2luX2VjE" + ids_.RandomString(180, false);
  s.role_arn = role_arn;
  s.role_name = role_name;
  s.role_id = it->second.id;
  s.session_name = session_name;
  s.expires_ms = clock_.NowMillis() + int64_t{duration_seconds} * 1000;
  BERTH_RETURN_IF_ERROR(Save("session", s.access_key_id, nlohmann::json(s).dump()));
  // Forget long-expired sessions as new ones come.
  for (auto e = sessions_.begin(); e != sessions_.end();) {
    if (e->second.expires_ms + kExpiredSessionKeptMs <= clock_.NowMillis()) {
      (void)Erase("session", e->first);
      e = sessions_.erase(e);
    } else {
      ++e;
    }
  }
  sessions_[s.access_key_id] = s;
  return s;
}

Result<Session> IamService::AssumeRole(const Principal& caller, const std::string& role_arn,
                                       const std::string& session_name, int duration_seconds) {
  std::string role_name = NameFromArn(role_arn);
  auto it = roles_.find(role_name);
  auto denied = [&] {
    return MakeError(ErrorKind::AccessDenied, "AccessDenied",
                     "User: " + caller.arn + " is not authorized to perform: sts:AssumeRole on "
                     "resource: " + role_arn);
  };
  if (it == roles_.end() || it->second.arn != role_arn) {
    return denied();
  }
  auto trust = Policy::Parse(it->second.assume_role_policy, PolicyKind::Resource);
  if (!trust.ok()) {
    return denied();
  }
  Caller who;
  who.arn = caller.arn;
  who.role_arn = caller.role_arn;
  who.account = account_id_;
  Context context;
  SetContextValue(context, "aws:PrincipalArn", {caller.role_arn.empty() ? caller.arn : caller.role_arn});
  if (!AllowsAssumeRole(*trust, who, context, "sts:AssumeRole", role_arn)) {
    return denied();
  }
  // The caller's own policies must allow it too (same-account rule), unless root.
  if (caller.kind != Principal::Kind::Root &&
      !Authorize(caller, "sts:AssumeRole", role_arn, {}).allowed()) {
    return denied();
  }
  return IssueRoleSession(role_arn, session_name, duration_seconds);
}

// ---------------------------------------------------------------- authentication

std::optional<std::string> IamService::SecretFor(std::string_view access_key_id,
                                                 std::string_view session_token) const {
  std::string id(access_key_id);
  if (session_token.empty()) {
    auto k = keys_.find(id);
    if (k != keys_.end() && k->second.status == "Active") {
      return k->second.secret;
    }
    return std::nullopt;
  }
  auto s = sessions_.find(id);
  if (s != sessions_.end() && s->second.token == session_token) {
    return s->second.secret;
  }
  return std::nullopt;
}

Result<Principal> IamService::PrincipalFor(std::string_view access_key_id,
                                           std::string_view session_token) const {
  std::string id(access_key_id);
  Principal p;
  if (session_token.empty()) {
    auto k = keys_.find(id);
    if (k == keys_.end()) {
      return MakeError(ErrorKind::Unauthenticated, "UnrecognizedClientException",
                       "The security token included in the request is invalid.");
    }
    const User& u = users_.at(k->second.user_name);
    p.kind = Principal::Kind::User;
    p.arn = u.arn;
    p.user_id = u.id;
    p.name = u.name;
    return p;
  }
  auto s = sessions_.find(id);
  if (s == sessions_.end()) {
    return MakeError(ErrorKind::Unauthenticated, "UnrecognizedClientException",
                     "The security token included in the request is invalid.");
  }
  if (s->second.expires_ms <= clock_.NowMillis()) {
    return MakeError(ErrorKind::Unauthenticated, "ExpiredTokenException",
                     "The security token included in the request is expired");
  }
  p.kind = Principal::Kind::AssumedRole;
  p.arn = "arn:aws:sts::" + account_id_ + ":assumed-role/" + s->second.role_name + "/" +
          s->second.session_name;
  p.user_id = s->second.role_id + ":" + s->second.session_name;
  p.name = s->second.role_name;
  p.role_arn = s->second.role_arn;
  return p;
}

// ---------------------------------------------------------------- authorization

const std::vector<std::unique_ptr<Policy>>& IamService::CompiledFor(const Principal& principal) {
  auto cached = compiled_.find(principal.arn);
  if (cached != compiled_.end()) {
    return cached->second;
  }
  std::vector<std::unique_ptr<Policy>> out;
  const std::map<std::string, std::string>* inline_policies = nullptr;
  const std::vector<std::string>* attached = nullptr;
  if (principal.kind == Principal::Kind::User) {
    if (auto u = users_.find(principal.name); u != users_.end()) {
      inline_policies = &u->second.inline_policies;
      attached = &u->second.attached;
    }
  } else if (principal.kind == Principal::Kind::AssumedRole) {
    if (auto r = roles_.find(principal.name); r != roles_.end()) {
      inline_policies = &r->second.inline_policies;
      attached = &r->second.attached;
    }
  }
  auto add = [&](const std::string& name, const std::string& document) {
    ParseOptions options;
    options.name = name;
    if (auto p = Policy::Parse(document, PolicyKind::Identity, options); p.ok()) {
      out.push_back(std::make_unique<Policy>(std::move(*p)));
    }
  };
  if (inline_policies != nullptr) {
    for (const auto& [name, doc] : *inline_policies) add(name, doc);
  }
  if (attached != nullptr) {
    for (const std::string& arn : *attached) {
      if (const ManagedPolicy* p = FindPolicy(arn)) add(arn, p->document);
    }
  }
  return compiled_[principal.arn] = std::move(out);
}

Decision IamService::Authorize(const Principal& principal, std::string_view action,
                               std::string_view resource, const Context& extra) {
  if (principal.kind == Principal::Kind::Root) {
    return Decision{Outcome::Allow, PolicyType::Identity, "", ""};
  }
  const auto& compiled = CompiledFor(principal);
  std::vector<const Policy*> identity;
  identity.reserve(compiled.size());
  for (const auto& p : compiled) {
    identity.push_back(p.get());
  }
  Context context = extra;
  int64_t now = clock_.NowMillis();
  SetContextValue(context, "aws:username",
                  {principal.kind == Principal::Kind::User ? principal.name : ""});
  SetContextValue(context, "aws:userid", {principal.user_id});
  SetContextValue(context, "aws:PrincipalArn",
                  {principal.role_arn.empty() ? principal.arn : principal.role_arn});
  SetContextValue(context, "aws:PrincipalAccount", {account_id_});
  SetContextValue(context, "aws:PrincipalType",
                  {principal.kind == Principal::Kind::User ? "User" : "AssumedRole"});
  SetContextValue(context, "aws:CurrentTime", {core::FormatIso8601(now)});
  SetContextValue(context, "aws:EpochTime", {std::to_string(now / 1000)});
  SetContextValue(context, "aws:SecureTransport", {"false"});
  Caller caller;
  caller.arn = principal.arn;
  caller.role_arn = principal.role_arn;
  caller.account = account_id_;
  PolicySet set;
  set.identity = identity;
  Request request;
  request.action = action;
  request.resource = resource;
  request.context = &context;
  request.caller = &caller;
  return Decide(set, request);
}

}  // namespace berth::iam
