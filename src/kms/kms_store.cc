#include "kms/kms_store.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace berth::kms {

NLOHMANN_JSON_SERIALIZE_ENUM(KeyState, {{KeyState::Enabled, "Enabled"},
                                        {KeyState::Disabled, "Disabled"},
                                        {KeyState::PendingDeletion, "PendingDeletion"}})
NLOHMANN_JSON_SERIALIZE_ENUM(KeyManager,
                             {{KeyManager::Customer, "CUSTOMER"}, {KeyManager::Aws, "AWS"}})

// The stored form: every field by its C++ name; missing fields keep their defaults, so adding a
// field needs no migration.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(KmsKey, key_id, arn, description, state, manager,
                                                created_ms, deletion_ms, pending_window_days,
                                                rotation_enabled, current_version, last_rotated_ms,
                                                policy, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(KmsAlias, alias_name, arn, target_key_id,
                                                created_ms, updated_ms)

namespace {

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "kms: keys, sealed key material, aliases", R"sql(
CREATE TABLE IF NOT EXISTS kms_keys (
  key_id TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kms_key_material (
  key_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  sealed TEXT NOT NULL,
  PRIMARY KEY (key_id, version)
);
CREATE TABLE IF NOT EXISTS kms_aliases (
  alias_name TEXT PRIMARY KEY,
  target_key_id TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kms_aliases_by_target ON kms_aliases (target_key_id);
)sql"},
  };
  return kMigrations;
}

template <typename T>
Result<std::vector<T>> DecodeDocs(store::Db& db, const char* sql, const char* what) {
  BERTH_TRY(auto stmt, db.Prepare(sql));
  std::vector<T> out;
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    nlohmann::json j = nlohmann::json::parse(stmt.ColumnText(0), nullptr, false);
    if (j.is_discarded()) {
      return InternalError(std::string("corrupt JSON document in ") + what);
    }
    try {
      out.push_back(j.get<T>());
    } catch (const nlohmann::json::exception& e) {
      return InternalError(std::string("unreadable document in ") + what + ": " + e.what());
    }
  }
  return out;
}

}  // namespace

Status KmsStore::Migrate() { return store::ApplyMigrations(db_, "kms", Migrations()); }

Status KmsStore::PutKey(const KmsKey& key) {
  BERTH_TRY(auto stmt,
            db_.Prepare("INSERT INTO kms_keys (key_id, created_ms, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT(key_id) DO UPDATE SET doc = excluded.doc"));
  stmt.Bind(1, key.key_id).Bind(2, key.created_ms).Bind(3, nlohmann::json(key).dump());
  return stmt.Run();
}

Status KmsStore::DeleteKey(const std::string& key_id) {
  for (const char* sql :
       {"DELETE FROM kms_keys WHERE key_id = ?", "DELETE FROM kms_key_material WHERE key_id = ?",
        "DELETE FROM kms_aliases WHERE target_key_id = ?"}) {
    BERTH_TRY(auto stmt, db_.Prepare(sql));
    stmt.Bind(1, key_id);
    BERTH_RETURN_IF_ERROR(stmt.Run());
  }
  return OkStatus();
}

Status KmsStore::PutMaterial(const std::string& key_id, uint32_t version, std::string_view sealed,
                             int64_t created_ms) {
  // Base64 keeps the column TEXT like every other berth table; the bytes are already sealed.
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO kms_key_material (key_id, version, created_ms, "
                                   "sealed) VALUES (?, ?, ?, ?)"));
  stmt.Bind(1, key_id)
      .Bind(2, static_cast<int64_t>(version))
      .Bind(3, created_ms)
      .Bind(4, core::Base64Encode(sealed));
  return stmt.Run();
}

Status KmsStore::PutAlias(const KmsAlias& alias) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO kms_aliases (alias_name, target_key_id, doc) "
                                   "VALUES (?, ?, ?) ON CONFLICT(alias_name) DO UPDATE SET "
                                   "target_key_id = excluded.target_key_id, doc = excluded.doc"));
  stmt.Bind(1, alias.alias_name).Bind(2, alias.target_key_id).Bind(3, nlohmann::json(alias).dump());
  return stmt.Run();
}

Status KmsStore::DeleteAlias(const std::string& alias_name) {
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM kms_aliases WHERE alias_name = ?"));
  stmt.Bind(1, alias_name);
  return stmt.Run();
}

Result<std::vector<KmsKey>> KmsStore::Keys() {
  return DecodeDocs<KmsKey>(db_, "SELECT doc FROM kms_keys ORDER BY created_ms, key_id",
                            "kms_keys");
}

Result<std::vector<KmsAlias>> KmsStore::Aliases() {
  return DecodeDocs<KmsAlias>(db_, "SELECT doc FROM kms_aliases ORDER BY alias_name",
                              "kms_aliases");
}

Result<std::vector<SealedMaterialRow>> KmsStore::Materials() {
  BERTH_TRY(auto stmt, db_.Prepare("SELECT key_id, version, sealed FROM kms_key_material "
                                   "ORDER BY key_id, version"));
  std::vector<SealedMaterialRow> out;
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    const int64_t version = stmt.ColumnInt(1);
    auto sealed = core::Base64Decode(stmt.ColumnText(2));
    if (!sealed || version < 1 || version > UINT32_MAX) {
      return InternalError("corrupt row in kms_key_material for key " + stmt.ColumnText(0));
    }
    out.push_back({stmt.ColumnText(0), static_cast<uint32_t>(version), std::move(*sealed)});
  }
  return out;
}

}  // namespace berth::kms
