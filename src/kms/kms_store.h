#pragma once
// KmsStore: the only code that touches the kms_* tables.
//
//   kms_keys          one JSON document per key (metadata, policy, tags; nothing secret)
//   kms_key_material  one row per (key, version): the material sealed by the master key
//                     (crypto.h's SealKeyMaterial), base64 text; never the material itself
//   kms_aliases       one JSON document per alias
//
// KmsService keeps everything in memory and writes through; it groups writes that belong
// together in a store::Transaction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "kms/kms_types.h"
#include "store/db.h"

namespace berth::kms {

struct SealedMaterialRow {
  std::string key_id;
  uint32_t version = 0;
  std::string sealed;  // SealKeyMaterial's bytes (decoded from the stored base64)
};

class KmsStore {
 public:
  explicit KmsStore(store::Db& db) : db_(db) {}
  // Creates or upgrades the kms_* tables (migration module "kms").
  Status Migrate();

  Status PutKey(const KmsKey& key);
  // Deletes the key, all its material versions and every alias that targets it.
  Status DeleteKey(const std::string& key_id);
  // Adds one sealed version. REQUIRES: `sealed` came from SealKeyMaterial.
  Status PutMaterial(const std::string& key_id, uint32_t version, std::string_view sealed,
                     int64_t created_ms);
  Status PutAlias(const KmsAlias& alias);
  Status DeleteAlias(const std::string& alias_name);

  // Everything stored, for KmsService::Open. Corrupt rows are Internal errors.
  Result<std::vector<KmsKey>> Keys();
  Result<std::vector<KmsAlias>> Aliases();
  Result<std::vector<SealedMaterialRow>> Materials();

 private:
  store::Db& db_;
};

}  // namespace berth::kms
