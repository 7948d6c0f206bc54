#include "secretsmanager/secrets_store.h"

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace berth::secretsmanager {

// The stored form: every field by its C++ name; missing fields keep their defaults, so adding a
// field needs no migration.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SecretVersion, version_id, stages, created_ms,
                                                last_accessed_ms, kms_key_arn, customer_key, binary)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Secret, arn, name, description, kms_key_id,
                                                created_ms, last_changed_ms, last_accessed_ms,
                                                deleted_ms, purge_ms, tags, versions)

namespace {

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "secretsmanager: secrets and version ciphertexts", R"sql(
CREATE TABLE IF NOT EXISTS secretsmanager_secrets (
  arn TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS secretsmanager_versions (
  secret_arn TEXT NOT NULL,
  version_id TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  PRIMARY KEY (secret_arn, version_id)
);
)sql"},
  };
  return kMigrations;
}

}  // namespace

Status SecretsStore::Migrate() {
  return store::ApplyMigrations(db_, "secretsmanager", Migrations());
}

Result<std::vector<Secret>> SecretsStore::LoadSecrets() {
  BERTH_TRY(auto stmt, db_.Prepare("SELECT doc FROM secretsmanager_secrets "
                                   "ORDER BY created_ms, rowid"));
  std::vector<Secret> out;
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    nlohmann::json j = nlohmann::json::parse(stmt.ColumnText(0), nullptr, false);
    if (j.is_discarded()) {
      return InternalError("corrupt JSON document in the secretsmanager store");
    }
    try {
      out.push_back(j.get<Secret>());
    } catch (const nlohmann::json::exception& e) {
      return InternalError(std::string("unreadable document in the secretsmanager store: ") +
                           e.what());
    }
  }
  return out;
}

Status SecretsStore::PutSecret(const Secret& secret) {
  BERTH_TRY(auto stmt,
            db_.Prepare("INSERT INTO secretsmanager_secrets (arn, name, created_ms, doc) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE SET "
                        "name = excluded.name, doc = excluded.doc"));
  std::string doc = nlohmann::json(secret).dump();
  stmt.Bind(1, secret.arn).Bind(2, secret.name).Bind(3, secret.created_ms).Bind(4, doc);
  return stmt.Run();
}

Status SecretsStore::DeleteSecret(const std::string& arn) {
  {
    BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM secretsmanager_versions WHERE secret_arn = ?"));
    stmt.Bind(1, arn);
    BERTH_RETURN_IF_ERROR(stmt.Run());
  }
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM secretsmanager_secrets WHERE arn = ?"));
  stmt.Bind(1, arn);
  return stmt.Run();
}

Status SecretsStore::PutCiphertext(const std::string& arn, const std::string& version_id,
                                   std::string_view ciphertext) {
  BERTH_TRY(auto stmt,
            db_.Prepare("INSERT INTO secretsmanager_versions (secret_arn, version_id, ciphertext) "
                        "VALUES (?, ?, ?) ON CONFLICT(secret_arn, version_id) DO UPDATE SET "
                        "ciphertext = excluded.ciphertext"));
  std::string encoded = core::Base64Encode(ciphertext);
  stmt.Bind(1, arn).Bind(2, version_id).Bind(3, encoded);
  return stmt.Run();
}

Result<std::string> SecretsStore::Ciphertext(const std::string& arn,
                                             const std::string& version_id) {
  BERTH_TRY(auto stmt, db_.Prepare("SELECT ciphertext FROM secretsmanager_versions "
                                   "WHERE secret_arn = ? AND version_id = ?"));
  stmt.Bind(1, arn).Bind(2, version_id);
  BERTH_TRY(bool row, stmt.Step());
  if (!row) {
    return InternalError("the secretsmanager store has no ciphertext for a version of " + arn);
  }
  auto decoded = core::Base64Decode(stmt.ColumnText(0));
  if (!decoded) {
    return InternalError("corrupt ciphertext in the secretsmanager store for " + arn);
  }
  return *decoded;
}

Status SecretsStore::DeleteCiphertext(const std::string& arn, const std::string& version_id) {
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM secretsmanager_versions "
                                   "WHERE secret_arn = ? AND version_id = ?"));
  stmt.Bind(1, arn).Bind(2, version_id);
  return stmt.Run();
}

}  // namespace berth::secretsmanager
