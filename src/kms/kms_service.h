#pragma once
// KmsService: berth's KMS (facade). Symmetric keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with
// their lifecycle (see the diagram in kms_types.h), aliases, tags, key policies (stored, not
// evaluated), rotation by key material versions, and the cryptographic operations over
// crypto.h. SSM and Secrets Manager call Encrypt / Decrypt / ResolveKeyArn / DefaultSsmKeyArn.
//
// Every `key_ref` argument is a KMS KeyId argument: a key id, a key ARN, "alias/NAME", or an
// alias ARN (parsed by kms::ParseKeyRef). An ARN must name this service's region and account.
// "alias/aws/ssm" names the AWS managed key for SSM, which is created on first use.
//
// Errors carry KMS's codes (kms_errors.h): unknown key -> NotFoundException; a disabled key in
// a cryptographic operation -> DisabledException ("ARN is disabled."); a key pending deletion
// -> KMSInvalidStateException ("ARN is pending deletion."); damaged ciphertext or the wrong
// encryption context -> InvalidCiphertextException; store failures -> Internal.
//
// Secrets: key material lives unsealed only in this object's memory; the store holds it sealed
// by the master key. Plaintexts pass through and are never stored or logged.
//
// Keys pending deletion are deleted (with their material and aliases) by the first call made
// after their DeletionDate.
//
// Thread safety: none; every call comes from the control loop, as for the other services.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "kms/crypto.h"
#include "kms/kms_store.h"
#include "kms/kms_types.h"
#include "store/db.h"

namespace berth::kms {

struct KmsConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// The aliases and descriptions of the AWS managed keys (SSM SecureString, Secrets Manager).
inline constexpr std::string_view kSsmAliasName = "alias/aws/ssm";
inline constexpr std::string_view kSecretsManagerAliasName = "alias/aws/secretsmanager";
inline constexpr std::string_view kSecretsManagerKeyDescription =
    "Default key that protects my Secrets Manager data when no other key is defined";
inline constexpr std::string_view kSsmKeyDescription =
    "Default key that protects my SSM parameters when no other key is defined";
// The only key policy name KMS has.
inline constexpr std::string_view kDefaultPolicyName = "default";

class KmsService {
 public:
  // `master_key` seals and unseals every key's material; it is owned from here on.
  KmsService(store::Db& db, core::Clock& clock, core::IdSource& ids, MasterKey master_key,
             KmsConfig config);
  KmsService(const KmsService&) = delete;
  KmsService& operator=(const KmsService&) = delete;

  // Applies the "kms" migrations and loads every key, alias and material version, unsealing
  // the material. Fails (Internal, changing nothing) when the master key does not open the
  // stored material: the wrong master key file, or a damaged store.
  // REQUIRES: called once, before any other method.
  Status Open();

  const KmsConfig& config() const { return config_; }

  // ---- the calls other services make -------------------------------------------------------

  // Encrypts `plaintext` (1..4096 bytes) under the key's current material, bound to `context`.
  // Returns the ciphertext blob and the key's ARN.
  // Errors: NotFoundException, DisabledException, KMSInvalidStateException, and
  // ValidationException for an empty or over-4096-byte plaintext.
  Result<EncryptOutput> Encrypt(const std::string& key_ref, std::string_view plaintext,
                                const EncryptionContext& context);
  // Decrypts a blob made by Encrypt or GenerateDataKey (by any material version of its key).
  // `expected_key_ref` may be empty; when given, it must name the key the blob was made with
  // (IncorrectKeyException otherwise). `context` must equal the one used to encrypt.
  // Errors: InvalidCiphertextException (damaged blob, wrong context), IncorrectKeyException,
  // NotFoundException (the key is gone), DisabledException, KMSInvalidStateException.
  Result<DecryptOutput> Decrypt(std::string_view blob, const EncryptionContext& context,
                                const std::string& expected_key_ref);
  // The ARN of the key `key_ref` names, whatever its state (callers authorize kms:* actions on
  // it before they encrypt or decrypt). Creates the SSM managed key for "alias/aws/ssm".
  // Errors: NotFoundException, ValidationException (malformed ref).
  Result<std::string> ResolveKeyArn(const std::string& key_ref);
  // The ARN of the AWS managed key behind alias/aws/ssm, created (with its alias) on the first
  // call. Errors: only store failures (Internal).
  Result<std::string> DefaultSsmKeyArn();

  // ---- keys --------------------------------------------------------------------------------

  // Creates an Enabled customer managed key with fresh material (version 1).
  // Errors: ValidationException (bad enum values, KeySpec with CustomerMasterKeySpec, a
  // description over 8192 characters), UnsupportedOperationException (anything but a
  // single-Region SYMMETRIC_DEFAULT AWS_KMS key), MalformedPolicyDocumentException (a policy
  // that is not a JSON object), TagException.
  Result<KmsKey> CreateKey(const CreateKeyRequest& request);
  // The key's metadata, in any state.
  Result<KmsKey> DescribeKey(const std::string& key_ref);
  // Keys in key id order, `limit` (1..1000, default 100) per page; `marker` is a previous
  // page's next_marker. Errors: ValidationException (limit), InvalidMarkerException.
  Result<Page<KmsKey>> ListKeys(std::optional<int64_t> limit, const std::string& marker);
  // Errors: ValidationException (over 8192 characters), KMSInvalidStateException (pending
  // deletion), UnsupportedOperationException (AWS managed key).
  Status UpdateKeyDescription(const std::string& key_ref, const std::string& description);
  // Enabled <-> Disabled; idempotent. Errors: KMSInvalidStateException (pending deletion),
  // UnsupportedOperationException (AWS managed key).
  Status EnableKey(const std::string& key_ref);
  Status DisableKey(const std::string& key_ref);
  // Moves an Enabled or Disabled key to PendingDeletion for `pending_window_days` (7..30,
  // default 30). Errors: ValidationException (window), KMSInvalidStateException (already
  // pending), UnsupportedOperationException (AWS managed key).
  Result<DeletionSchedule> ScheduleKeyDeletion(const std::string& key_ref,
                                               std::optional<int64_t> pending_window_days);
  // PendingDeletion -> Disabled (as KMS does: the caller enables the key again). Returns the
  // key ARN. Errors: KMSInvalidStateException when the key is not pending deletion.
  Result<std::string> CancelKeyDeletion(const std::string& key_ref);

  // ---- aliases -----------------------------------------------------------------------------

  // Points a new alias at a key (any non-alias key ref). Errors: ValidationException (no
  // "alias/" prefix, bad characters, over 256 characters), NotAuthorizedException (the
  // reserved "alias/aws/" prefix), AlreadyExistsException, NotFoundException (key),
  // KMSInvalidStateException (key pending deletion), UnsupportedOperationException (AWS
  // managed key).
  Status CreateAlias(const std::string& alias_name, const std::string& target_key_ref);
  // Points an existing alias at another key. Errors as CreateAlias, and NotFoundException for
  // an unknown alias.
  Status UpdateAlias(const std::string& alias_name, const std::string& target_key_ref);
  // Errors: ValidationException, NotAuthorizedException (alias/aws/), NotFoundException.
  Status DeleteAlias(const std::string& alias_name);
  // Aliases in name order, `limit` (1..100, default 50) per page. With an empty `key_ref`,
  // every alias, including alias/aws/ssm before its key exists (without a target, as KMS lists
  // AWS managed aliases); otherwise the aliases of that key.
  // Errors: NotFoundException (key), ValidationException (limit), InvalidMarkerException.
  Result<Page<KmsAlias>> ListAliases(const std::string& key_ref, std::optional<int64_t> limit,
                                     const std::string& marker);

  // ---- cryptographic operations (KMS API shapes) -------------------------------------------

  // GenerateDataKey (with_plaintext) / GenerateDataKeyWithoutPlaintext: a random data key of
  // exactly one of `spec` or `number_of_bytes` (1..1024) and its blob under the key.
  // Errors: as Encrypt, and ValidationException for the length arguments.
  Result<DataKeyOutput> GenerateDataKey(const std::string& key_ref, std::optional<DataKeySpec> spec,
                                        std::optional<int64_t> number_of_bytes,
                                        const EncryptionContext& context, bool with_plaintext);
  // Decrypt (with `source_key_ref` as the expected key, may be empty) then Encrypt under the
  // destination key; the plaintext never leaves this call. Errors: those of both.
  Result<ReEncryptOutput> ReEncrypt(std::string_view blob, const EncryptionContext& source_context,
                                    const std::string& source_key_ref,
                                    const std::string& destination_key_ref,
                                    const EncryptionContext& destination_context);

  // ---- tags --------------------------------------------------------------------------------

  // Adds or replaces tags. Errors: TagException (a key of 1..128 or value of 0..256
  // characters violated, an "aws:" key, more than 50 tags), KMSInvalidStateException,
  // UnsupportedOperationException (AWS managed key).
  Status TagResource(const std::string& key_ref, const Tags& tags);
  // Removes tags (absent keys are ignored). Errors: as TagResource.
  Status UntagResource(const std::string& key_ref, const std::vector<std::string>& tag_keys);
  // Tags in key order, `limit` (1..50, default 50) per page.
  Result<Page<std::pair<std::string, std::string>>> ListResourceTags(const std::string& key_ref,
                                                                     std::optional<int64_t> limit,
                                                                     const std::string& marker);

  // ---- key policy (stored and returned; berth's IAM does not evaluate key policies) ---------

  // Errors: NotFoundException for a policy name other than "default".
  Result<std::string> GetKeyPolicy(const std::string& key_ref, const std::string& policy_name);
  // Errors: NotFoundException (name), MalformedPolicyDocumentException (not a JSON object, or
  // over 131072 characters), UnsupportedOperationException (AWS managed key).
  Status PutKeyPolicy(const std::string& key_ref, const std::string& policy_name,
                      const std::string& policy);
  // Always {"default"} for an existing key.
  Result<std::vector<std::string>> ListKeyPolicies(const std::string& key_ref);

  // ---- rotation ----------------------------------------------------------------------------

  // Sets or clears the automatic rotation flag (berth does not run the yearly rotation; see
  // RotateKeyMaterial). Errors: DisabledException, KMSInvalidStateException,
  // UnsupportedOperationException (AWS managed key).
  Status EnableKeyRotation(const std::string& key_ref);
  Status DisableKeyRotation(const std::string& key_ref);
  // The flag; always true for AWS managed keys (AWS rotates them yearly).
  Result<bool> GetKeyRotationStatus(const std::string& key_ref);
  // Rotates now: adds a material version that new ciphertexts use; blobs made with older
  // versions still decrypt. For tests and a future rotation timer.
  // Errors: KMSInvalidStateException (pending deletion).
  Status RotateKeyMaterial(const std::string& key_ref);

 private:
  Result<KmsKey*> Find(const std::string& key_ref);
  Result<KmsKey*> FindById(const std::string& key_id, const std::string& shown_arn);
  Result<KmsKey*> FindByAlias(const std::string& alias_name);
  Result<KmsKey*> EnsureManagedKey(const std::string& alias_name, const std::string& description);
  // Creates a key with fresh material (and, when `alias_name` is not empty, its alias) in one
  // transaction.
  Result<KmsKey*> InsertKey(KmsKey draft, const std::string& alias_name);
  Status SaveKey(const KmsKey& updated);
  Status SetAlias(const std::string& alias_name, const std::string& target_key_ref, bool create);
  Status Reap();
  const KeyMaterial* CurrentMaterial(const KmsKey& key) const;
  std::string KeyArnOf(std::string_view key_id) const;
  std::string AliasArnOf(std::string_view alias_name) const;

  store::Db& db_;
  KmsStore store_;
  core::Clock& clock_;
  core::IdSource& ids_;
  MasterKey master_key_;
  KmsConfig config_;

  std::map<std::string, KmsKey> keys_;       // by key id
  std::map<std::string, KmsAlias> aliases_;  // by alias name
  // Unsealed material: key id -> version -> material.
  std::map<std::string, std::map<uint32_t, KeyMaterial>> material_;
};

}  // namespace berth::kms
