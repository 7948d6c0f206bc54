#pragma once
// SecretsService: AWS Secrets Manager (the facade). Keeps every secret's metadata in memory,
// keyed by ARN, and writes through to SecretsStore. Values go through the SecretCipher port and
// are stored only as ciphertext, each under the encryption context
// {"SecretARN": ARN, "SecretVersionId": VERSION_ID}.
//
// Secret ids. Every call that takes a SecretId accepts the secret's name, its full ARN
// (arn:aws:secretsmanager:R:A:secret:NAME-XXXXXX) or a partial ARN without the random suffix.
// As in AWS, a partial ARN whose name ends in '-' plus six characters is taken for a full ARN
// (so "...:secret:db-secret" does not find the secret named "db-secret").
//
// Deletion. DeleteSecret schedules the purge at the end of the recovery window (7..30 days,
// default 30); the purge happens lazily, at the start of the next call that comes after it.
// See secrets_types.h for the lifecycle.
//
// Single-threaded: every call comes from the control loop. Nothing here logs a value, and no
// error message contains one.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "secretsmanager/secret_cipher.h"
#include "secretsmanager/secrets_store.h"
#include "secretsmanager/secrets_types.h"
#include "store/db.h"

namespace berth::secretsmanager {

struct SecretsConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// Checks one (action, resource) pair, as api::ApiContext::authorize does; returns
// AccessDenied when not allowed. An empty function allows everything.
using AuthorizeFn = std::function<Status(std::string_view action, std::string_view resource)>;

struct CreateSecretRequest {
  std::string name;
  std::string client_request_token;  // the first version's VersionId; "" = a new UUID
  std::string description;
  std::string kms_key_id;  // "" = aws/secretsmanager
  // At most one of the two; neither creates a secret without a version.
  std::optional<std::string> secret_string;
  std::optional<std::string> secret_binary;  // raw bytes
  Tags tags;
};

// What CreateSecret, PutSecretValue and UpdateSecret answer.
struct WriteResult {
  std::string arn;
  std::string name;
  std::string version_id;           // "" when no version was created
  std::vector<std::string> stages;  // the new version's labels (PutSecretValue)
};

struct GetSecretValueRequest {
  std::string secret_id;
  std::string version_id;     // "" = not given
  std::string version_stage;  // "" = not given; neither given = AWSCURRENT
  // Called with the key ARN before a version under a customer managed key is decrypted (the
  // handler checks kms:Decrypt there); not called for aws/secretsmanager, as in AWS. An error
  // aborts the call. Empty: always allowed.
  std::function<Status(const std::string& key_arn)> authorize_key;
};

struct GetSecretValueResult {
  std::string arn;
  std::string name;
  std::string version_id;
  SecretValue value;
  std::vector<std::string> stages;
  int64_t created_ms = 0;  // the version's
};

struct PutSecretValueRequest {
  std::string secret_id;
  std::string client_request_token;  // "" = a new UUID
  std::optional<std::string> secret_string;
  std::optional<std::string> secret_binary;
  std::vector<std::string> version_stages;  // empty = AWSCURRENT
};

struct UpdateSecretRequest {
  std::string secret_id;
  std::string client_request_token;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;  // "" = back to aws/secretsmanager
  std::optional<std::string> secret_string;
  std::optional<std::string> secret_binary;
};

struct ListSecretsFilter {
  std::string key;  // description | name | tag-key | tag-value | primary-region | all
  std::vector<std::string> values;  // a leading '!' negates a value
};

struct ListSecretsRequest {
  std::optional<int> max_results;  // 1..100, default 100
  std::string next_token;
  std::vector<ListSecretsFilter> filters;
  std::string sort_order;  // "" | asc | desc (by CreatedDate; default asc)
  bool include_planned_deletion = false;
};

struct ListSecretsPage {
  std::vector<Secret> secrets;
  std::string next_token;  // "" = last page
};

struct DeleteSecretRequest {
  std::string secret_id;
  std::optional<int64_t> recovery_window_in_days;
  bool force_delete_without_recovery = false;
};

struct DeleteSecretResult {
  std::string arn;
  std::string name;
  int64_t deletion_ms = 0;  // DeletionDate: the end of the recovery window (now when forced)
};

struct ListSecretVersionIdsRequest {
  std::string secret_id;
  std::optional<int> max_results;  // 1..100, default 100
  std::string next_token;
  bool include_deprecated = false;
};

struct SecretVersionsPage {
  std::string arn;
  std::string name;
  std::vector<SecretVersion> versions;  // oldest first
  std::string next_token;
};

struct UpdateSecretVersionStageRequest {
  std::string secret_id;
  std::string version_stage;
  std::string remove_from_version_id;  // "" = not given
  std::string move_to_version_id;      // "" = not given
};

struct RandomPasswordRequest {
  std::optional<int64_t> password_length;  // 1..4096, default 32
  std::string exclude_characters;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool include_space = false;
  bool require_each_included_type = true;
};

// An ECS `valueFrom` that names a Secrets Manager secret, split into its parts:
//   arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]
//   arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]:JSON-KEY:VERSION-STAGE:VERSION-ID
// In the long form any of the three trailing fields may be empty (e.g. "...:secret:db:password::"
// is the "password" key of AWSCURRENT). No other number of fields is accepted.
struct ValueFromRef {
  std::string secret_arn;  // the first seven fields (a full or partial secret ARN)
  std::string json_key;
  std::string version_stage;
  std::string version_id;
};

// Splits a valueFrom. InvalidParameterException when it is not one of the two forms above.
Result<ValueFromRef> ParseValueFrom(std::string_view value_from);

class SecretsService {
 public:
  // `db`, `clock`, `ids` and `cipher` must outlive the service.
  SecretsService(store::Db& db, core::Clock& clock, core::IdSource& ids, SecretCipher& cipher,
                 SecretsConfig config);
  // Creates the tables if needed and loads every secret. Call once before anything else.
  Status Open();

  const SecretsConfig& config() const { return config_; }

  // The ARN to authorize a call on `secret_id` against: the secret's ARN when it exists (even
  // scheduled for deletion), else the ARN as given, else arn:aws:secretsmanager:R:A:secret:NAME
  // (no suffix, so a policy on "NAME-??????" does not grant access to a secret that is missing).
  std::string ArnOf(std::string_view secret_id);

  // CreateSecret. ResourceExistsException when the name is taken (InvalidRequestException when
  // the holder is scheduled for deletion), unless the call repeats an earlier one: the same
  // ClientRequestToken naming a version of that secret with the same value answers that
  // version again (AWS's idempotent retry).
  Result<WriteResult> CreateSecret(CreateSecretRequest request);

  // The value of one version: by VersionId, by VersionStage (both: they must agree), else
  // AWSCURRENT. Records the day in LastAccessedDate. Deleted secrets: InvalidRequestException.
  Result<GetSecretValueResult> GetSecretValue(const GetSecretValueRequest& request);

  // A new version. Without VersionStages it takes AWSCURRENT, and the version that had
  // AWSCURRENT takes AWSPREVIOUS; the first version of a secret always gets AWSCURRENT.
  // Repeating a ClientRequestToken with the same value changes nothing and answers that version;
  // with another value it is ResourceExistsException.
  Result<WriteResult> PutSecretValue(PutSecretValueRequest request);

  // Changes the description and/or key (re-encrypting the versions that carry AWSCURRENT,
  // AWSPREVIOUS or AWSPENDING under the new key), and with a value adds a version as
  // PutSecretValue does (AWSCURRENT moves to it). A ClientRequestToken that already names a
  // version is ResourceExistsException (UpdateSecret is not idempotent, as AWS documents).
  Result<WriteResult> UpdateSecret(UpdateSecretRequest request);

  // The secret's metadata (also while scheduled for deletion).
  Result<Secret> DescribeSecret(std::string_view secret_id);

  // Secrets that match every filter (values of one filter are alternatives), ordered by
  // CreatedDate. Secrets scheduled for deletion only with include_planned_deletion.
  Result<ListSecretsPage> ListSecrets(const ListSecretsRequest& request);

  // Schedules the deletion (window 7..30 days, default 30), or with force purges the secret at
  // once (also when it is already scheduled). Both options: InvalidParameterException.
  Result<DeleteSecretResult> DeleteSecret(const DeleteSecretRequest& request);

  // Cancels a scheduled deletion; a secret that is not scheduled is answered unchanged.
  Result<Secret> RestoreSecret(std::string_view secret_id);

  // Adds or overwrites tags (at most 50 per secret) / removes tags by key (unknown keys are
  // ignored, as AWS does).
  Status TagResource(std::string_view secret_id, const Tags& tags);
  Status UntagResource(std::string_view secret_id, const std::vector<std::string>& keys);

  // The secret's versions, oldest first; deprecated ones (no labels) only when asked.
  Result<SecretVersionsPage> ListSecretVersionIds(const ListSecretVersionIdsRequest& request);

  // Moves a staging label: onto move_to_version_id and/or off remove_from_version_id. When the
  // label is on another version, remove_from_version_id must name it. Moving AWSCURRENT moves
  // AWSPREVIOUS to the version it left; AWSCURRENT cannot just be removed.
  Result<Secret> UpdateSecretVersionStage(const UpdateSecretVersionStageRequest& request);

  // A random password from the IdSource's randomness (uniform over the allowed characters).
  Result<std::string> GetRandomPassword(const RandomPasswordRequest& request);

  // The value an ECS task receives for a container `secrets` entry whose valueFrom names a
  // Secrets Manager secret (see ValueFromRef for the forms). Selects the version by stage and/or
  // id (default AWSCURRENT); with a json-key, the SecretString must be a JSON object and the
  // result is that top-level member (a string as is, anything else as compact JSON).
  // `authorize` (the task execution role) is asked for secretsmanager:GetSecretValue on the
  // secret ARN and, for a customer managed key, kms:Decrypt on the key. Records
  // LastAccessedDate as GetSecretValue does. Errors name the secret and what is missing, never
  // the value; a SecretBinary secret cannot be injected (InvalidRequestException).
  Result<std::string> ResolveForTask(std::string_view value_from,
                                     const AuthorizeFn& authorize = {});

 private:
  Secret* Find(std::string_view secret_id);
  Result<Secret*> Require(std::string_view secret_id);
  Result<Secret*> RequireActive(std::string_view secret_id);
  Status PurgeExpired();
  Status Purge(const std::string& arn);
  // Persists `updated` (the document, and `new_ciphertexts` of version id -> blob in the same
  // transaction) and only then replaces the in-memory copy.
  Status Save(Secret updated, const std::map<std::string, std::string>& new_ciphertexts = {});
  Result<std::string> Encrypt(const Secret& secret, const std::string& version_id,
                              const std::string& key_ref, const SecretValue& value,
                              SecretVersion* version);
  Result<SecretValue> Decrypt(const Secret& secret, const SecretVersion& version);
  // Adds a version with `value` to `secret` (a copy the caller saves), placing the labels as
  // PutSecretValue does; stores the ciphertext into `ciphertexts`.
  Status AddVersion(Secret& secret, const std::string& version_id, const SecretValue& value,
                    std::vector<std::string> stages,
                    std::map<std::string, std::string>& ciphertexts);
  Result<const SecretVersion*> SelectVersion(const Secret& secret, const std::string& version_id,
                                             const std::string& version_stage) const;
  void TouchAccess(Secret& secret, const std::string& version_id);
  std::string NewSuffix();
  int64_t Now() const { return clock_.NowMillis(); }

  store::Db& db_;
  SecretsStore store_;
  core::Clock& clock_;
  core::IdSource& ids_;
  SecretCipher& cipher_;
  SecretsConfig config_;

  std::map<std::string, Secret> secrets_;                  // by ARN
  std::map<std::string, std::string> by_name_;             // name -> ARN (scheduled ones too)
  std::set<std::pair<int64_t, std::string>> purge_queue_;  // (purge_ms, ARN)
};

}  // namespace berth::secretsmanager
