#pragma once
// SecretsStore: the only code that touches the secretsmanager_* tables.
//
//   secretsmanager_secrets   one JSON document per secret (metadata, tags, version metadata)
//   secretsmanager_versions  one row per version: the value's ciphertext (base64), never plaintext
//
// Splitting the blobs off keeps the frequent metadata writes (labels, LastAccessedDate) small.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "secretsmanager/secrets_types.h"
#include "store/db.h"

namespace berth::secretsmanager {

class SecretsStore {
 public:
  explicit SecretsStore(store::Db& db) : db_(db) {}
  // Creates or upgrades the tables (migration module "secretsmanager").
  Status Migrate();

  // Every stored secret, oldest first.
  Result<std::vector<Secret>> LoadSecrets();
  // Inserts or replaces the secret's document.
  Status PutSecret(const Secret& secret);
  // Deletes the secret's document and all of its versions' ciphertexts.
  Status DeleteSecret(const std::string& arn);

  // Inserts or replaces one version's ciphertext (raw bytes; stored as base64).
  Status PutCiphertext(const std::string& arn, const std::string& version_id,
                       std::string_view ciphertext);
  // The ciphertext of one version; Internal when it is missing (the document says it exists).
  Result<std::string> Ciphertext(const std::string& arn, const std::string& version_id);
  Status DeleteCiphertext(const std::string& arn, const std::string& version_id);

 private:
  store::Db& db_;
};

}  // namespace berth::secretsmanager
