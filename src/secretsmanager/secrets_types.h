#pragma once
// AWS Secrets Manager as berth keeps it: secrets (metadata, tags, deletion state) and their
// versions (staging labels, the key that encrypted them). Values never live in these structs:
// the store keeps each version's ciphertext beside them and the service decrypts on demand.
//
// A secret's life (DeleteSecret / RestoreSecret, purge when the recovery window ends):
//
//   CreateSecret --> ACTIVE --DeleteSecret(window 7..30 d)--> SCHEDULED --window ends--> (purged)
//                      ^                                          |
//                      +--------------RestoreSecret---------------+
//   DeleteSecret(ForceDeleteWithoutRecovery) from either state --> (purged at once)
//
// A SCHEDULED secret answers DescribeSecret, ListSecretVersionIds and (with
// IncludePlannedDeletion) ListSecrets; everything else is InvalidRequestException. Its name
// stays taken until the purge.
//
// Staging labels: each label sits on at most one version of a secret. AWSCURRENT is on exactly
// one version once the secret has a value; moving it moves AWSPREVIOUS to the version it left.
// A version without labels is "deprecated": still readable by VersionId, hidden from
// DescribeSecret and (unless asked) ListSecretVersionIds.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::secretsmanager {

using Tags = std::vector<std::pair<std::string, std::string>>;

inline constexpr char kAwsCurrent[] = "AWSCURRENT";
inline constexpr char kAwsPrevious[] = "AWSPREVIOUS";
inline constexpr char kAwsPending[] = "AWSPENDING";

struct SecretVersion {
  std::string version_id;           // the ClientRequestToken that created it
  std::vector<std::string> stages;  // staging labels; empty = deprecated
  int64_t created_ms = 0;
  int64_t last_accessed_ms = 0;  // midnight (UTC) of the last day it was read; 0 = never
  std::string kms_key_arn;       // the key the stored ciphertext is under
  bool customer_key = false;     // that key is not the account's aws/secretsmanager key
  bool binary = false;           // SecretBinary (else SecretString)

  bool HasStage(const std::string& stage) const {
    for (const std::string& s : stages) {
      if (s == stage) {
        return true;
      }
    }
    return false;
  }
};

struct Secret {
  std::string arn;  // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX
  std::string name;
  std::string description;
  std::string kms_key_id;  // as the caller gave it; "" = aws/secretsmanager
  int64_t created_ms = 0;
  int64_t last_changed_ms = 0;
  int64_t last_accessed_ms = 0;  // day resolution, as versions; 0 = never
  int64_t deleted_ms = 0;        // when DeleteSecret was called; 0 = not scheduled for deletion
  int64_t purge_ms = 0;          // the end of the recovery window (DeletionDate)
  Tags tags;
  std::vector<SecretVersion> versions;  // oldest first

  bool scheduled_for_deletion() const { return deleted_ms != 0; }
  const SecretVersion* FindVersion(const std::string& version_id) const {
    for (const SecretVersion& v : versions) {
      if (v.version_id == version_id) {
        return &v;
      }
    }
    return nullptr;
  }
  const SecretVersion* FindStage(const std::string& stage) const {
    for (const SecretVersion& v : versions) {
      if (v.HasStage(stage)) {
        return &v;
      }
    }
    return nullptr;
  }
};

// A secret value in the clear. Lives only for the duration of a call; never logged.
struct SecretValue {
  bool binary = false;
  std::string bytes;  // SecretString text or SecretBinary bytes

  bool operator==(const SecretValue& other) const {
    return binary == other.binary && bytes == other.bytes;
  }
};

}  // namespace berth::secretsmanager
