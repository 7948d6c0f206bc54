#pragma once
// IamService: IAM users, access keys, roles, inline and managed policies, STS sessions, and the
// two questions every request asks: who signed it (SecretFor / PrincipalFor) and may they do
// this (Authorize). Entities live in memory with write-through to the iam_entities table;
// compiled policies are cached per principal and dropped on any change.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "iam/iam_types.h"
#include "iam/policy.h"
#include "store/db.h"

namespace berth::iam {

enum class EntityKind { User, Role };

class IamService {
 public:
  IamService(store::Db& db, core::Clock& clock, core::IdSource& ids, std::string account_id);
  Status Open();
  const std::string& account_id() const { return account_id_; }

  Result<User> CreateUser(const std::string& name, const std::string& path, const IamTags& tags);
  Result<User> GetUser(const std::string& name) const;
  Status DeleteUser(const std::string& name);
  std::vector<User> ListUsers(const std::string& path_prefix) const;

  Result<AccessKey> CreateAccessKey(const std::string& user_name);
  Status DeleteAccessKey(const std::string& user_name, const std::string& key_id);
  Status UpdateAccessKey(const std::string& user_name, const std::string& key_id,
                         const std::string& status);
  Result<std::vector<AccessKey>> ListAccessKeys(const std::string& user_name) const;

  Result<Role> CreateRole(const std::string& name, const std::string& path,
                          const std::string& trust_policy, const std::string& description,
                          int max_session_duration, const IamTags& tags);
  Result<Role> GetRole(const std::string& name) const;
  Status DeleteRole(const std::string& name);
  std::vector<Role> ListRoles(const std::string& path_prefix) const;
  Status UpdateAssumeRolePolicy(const std::string& name, const std::string& document);

  // Inline policies of a user or role.
  Status PutInlinePolicy(EntityKind kind, const std::string& entity, const std::string& name,
                         const std::string& document);
  Result<std::string> GetInlinePolicy(EntityKind kind, const std::string& entity,
                                      const std::string& name) const;
  Status DeleteInlinePolicy(EntityKind kind, const std::string& entity, const std::string& name);
  Result<std::vector<std::string>> ListInlinePolicies(EntityKind kind,
                                                      const std::string& entity) const;

  // Managed policies (customer ones, and AWS's well-known ones under arn:aws:iam::aws:policy/).
  Result<ManagedPolicy> CreatePolicy(const std::string& name, const std::string& path,
                                     const std::string& document, const std::string& description,
                                     const IamTags& tags);
  Result<ManagedPolicy> GetPolicy(const std::string& arn) const;
  Status DeletePolicy(const std::string& arn);
  std::vector<ManagedPolicy> ListPolicies(const std::string& scope) const;  // All|AWS|Local
  int AttachmentCount(const std::string& arn) const;
  Status AttachPolicy(EntityKind kind, const std::string& entity, const std::string& arn);
  Status DetachPolicy(EntityKind kind, const std::string& entity, const std::string& arn);
  Result<std::vector<ManagedPolicy>> ListAttachedPolicies(EntityKind kind,
                                                          const std::string& entity) const;

  // STS: temporary credentials for `role_arn`, if its trust policy lets `caller` assume it.
  Result<Session> AssumeRole(const Principal& caller, const std::string& role_arn,
                             const std::string& session_name, int duration_seconds);
  // A session for a role without a caller's request (task roles; berth itself is trusted).
  Result<Session> IssueRoleSession(const std::string& role_arn, const std::string& session_name,
                                   int duration_seconds);

  // Authentication: the secret of an IAM user's active key or of a session (token must match).
  std::optional<std::string> SecretFor(std::string_view access_key_id,
                                       std::string_view session_token) const;
  // The principal behind a verified key; an ExpiredToken error for an expired session.
  Result<Principal> PrincipalFor(std::string_view access_key_id,
                                 std::string_view session_token) const;
  // Authorization: the principal's identity policies against (action, resource).
  Decision Authorize(const Principal& principal, std::string_view action,
                     std::string_view resource, const Context& context);

 private:
  Status Save(const char* kind, const std::string& key, const std::string& doc);
  Status Erase(const char* kind, const std::string& key);
  Status SaveUser(const User& u);
  Status SaveRole(const Role& r);
  std::string NewId(const char* prefix);
  const ManagedPolicy* FindPolicy(const std::string& arn) const;
  const std::vector<std::unique_ptr<Policy>>& CompiledFor(const Principal& principal);

  store::Db& db_;
  core::Clock& clock_;
  core::IdSource& ids_;
  std::string account_id_;
  std::map<std::string, User> users_;
  std::map<std::string, AccessKey> keys_;  // by access key id
  std::map<std::string, Role> roles_;
  std::map<std::string, ManagedPolicy> policies_;  // by ARN (customer-managed)
  std::map<std::string, Session> sessions_;        // by access key id
  std::map<std::string, std::vector<std::unique_ptr<Policy>>> compiled_;  // by principal ARN
};

// AWS's well-known managed policies that berth knows (AdministratorAccess, ReadOnlyAccess,
// AmazonECSTaskExecutionRolePolicy, AmazonSSMReadOnlyAccess, …).
const std::vector<ManagedPolicy>& AwsManagedPolicies();

}  // namespace berth::iam
