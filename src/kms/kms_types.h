#pragma once
// Domain types of berth's KMS API: keys (metadata only; key material never leaves KmsService
// and the store holds it only sealed by the master key) and aliases.
//
// Key lifecycle (as KMS; PendingImport/Unavailable/Creating are not emulated):
//
//            CreateKey
//                │
//                ▼      DisableKey             ScheduleKeyDeletion
//           ┌─────────┐ ─────────► ┌──────────┐ ──────────────────► ┌─────────────────┐
//           │ Enabled │            │ Disabled │                     │ PendingDeletion │
//           └─────────┘ ◄───────── └──────────┘ ◄────────────────── └─────────────────┘
//                │       EnableKey                CancelKeyDeletion          │
//                │                                                           │ DeletionDate
//                └──────────────── ScheduleKeyDeletion ─────────────────────►│ passes
//                                                                            ▼
//                                                            deleted with its material and aliases

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kms/crypto.h"

namespace berth::kms {

enum class KeyState : uint8_t { Enabled, Disabled, PendingDeletion };
enum class KeyManager : uint8_t { Customer, Aws };

// "Enabled", "Disabled", "PendingDeletion" (KMS's KeyState enum).
std::string_view KeyStateName(KeyState state);
// "CUSTOMER" or "AWS".
std::string_view KeyManagerName(KeyManager manager);

// Tags on a key: TagKey -> TagValue, ordered by key (the order ListResourceTags pages in).
using Tags = std::map<std::string, std::string>;

// One KMS key's metadata. Every key is SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT / AWS_KMS origin,
// single-Region; the constant fields of KeyMetadata are not stored.
struct KmsKey {
  std::string key_id;  // lowercase UUID
  std::string arn;     // arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
  std::string description;
  KeyState state = KeyState::Enabled;
  KeyManager manager = KeyManager::Customer;
  int64_t created_ms = 0;
  int64_t deletion_ms = 0;      // PendingDeletion only: when the key is deleted
  int pending_window_days = 0;  // PendingDeletion only: the window ScheduleKeyDeletion took
  bool rotation_enabled = false;
  uint32_t current_version = 1;  // key material version new ciphertexts use
  int64_t last_rotated_ms = 0;   // 0 until the first rotation
  std::string policy;            // the "default" key policy document, as given
  Tags tags;

  bool enabled() const { return state == KeyState::Enabled; }
};

// An alias: a name ("alias/NAME") pointing at one key.
struct KmsAlias {
  std::string alias_name;     // "alias/NAME"
  std::string arn;            // arn:aws:kms:REGION:ACCOUNT:alias/NAME
  std::string target_key_id;  // empty for an AWS managed alias whose key does not exist yet
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// What Encrypt hands back: the ciphertext blob (raw bytes, base64 only on the wire) and the
// ARN of the key that made it.
struct EncryptOutput {
  std::string blob;
  std::string key_arn;
};

// What Decrypt hands back. `plaintext` is secret: never log or store it.
struct DecryptOutput {
  std::string plaintext;
  std::string key_arn;
};

// GenerateDataKey's answer; `plaintext` is empty for GenerateDataKeyWithoutPlaintext.
struct DataKeyOutput {
  std::string plaintext;
  std::string blob;
  std::string key_arn;
};

struct ReEncryptOutput {
  std::string blob;
  std::string source_key_arn;
  std::string key_arn;  // the destination key
};

// ScheduleKeyDeletion's answer.
struct DeletionSchedule {
  std::string key_arn;
  int64_t deletion_ms = 0;
  int pending_window_days = 0;
};

// CreateKey's parameters, already decoded from the wire. Unset optionals take KMS's defaults.
struct CreateKeyRequest {
  std::string description;
  std::optional<std::string> key_usage;                 // "ENCRYPT_DECRYPT" (default)
  std::optional<std::string> key_spec;                  // "SYMMETRIC_DEFAULT" (default)
  std::optional<std::string> customer_master_key_spec;  // deprecated twin of key_spec
  std::optional<std::string> origin;                    // "AWS_KMS" (default)
  std::optional<std::string> custom_key_store_id;
  std::optional<bool> multi_region;
  std::optional<std::string> policy;  // default: KMS's default key policy
  Tags tags;
};

// One page of a list; `next_marker` is empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_marker;
  bool truncated() const { return !next_marker.empty(); }
};

}  // namespace berth::kms
