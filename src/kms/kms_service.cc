#include "kms/kms_service.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <variant>

#include "core/log.h"
#include "kms/kms_errors.h"

namespace berth::kms {

std::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::Enabled:
      return "Enabled";
    case KeyState::Disabled:
      return "Disabled";
    case KeyState::PendingDeletion:
      return "PendingDeletion";
  }
  return "Enabled";
}

std::string_view KeyManagerName(KeyManager manager) {
  return manager == KeyManager::Aws ? "AWS" : "CUSTOMER";
}

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr size_t kMaxDescription = 8192;
constexpr size_t kMaxPolicy = 131072;
constexpr size_t kMaxAliasName = 256;
constexpr size_t kMaxTagsPerKey = 50;

// KMS's default key policy (what GetKeyPolicy shows for a key created without one), in the
// layout KMS prints it.
constexpr std::string_view kDefaultPolicy = R"({
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::ACCOUNT:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
})";

// The policy of the AWS managed SSM key: use through SSM by the account, metadata directly.
constexpr std::string_view kSsmPolicy = R"({
  "Version" : "2012-10-17",
  "Id" : "auto-ssm-2",
  "Statement" : [ {
    "Sid" : "Allow access through Systems Manager for all principals in the account that are authorized to use Systems Manager",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "ACCOUNT",
        "kms:ViaService" : "ssm.REGION.amazonaws.com"
      }
    }
  }, {
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::ACCOUNT:root"
    },
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  } ]
})";

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// A policy template with this service's account and region filled in.
std::string Substitute(std::string_view policy, const KmsConfig& config) {
  std::string out(policy);
  ReplaceAll(out, "ACCOUNT", config.account_id);
  ReplaceAll(out, "REGION", config.region);
  return out;
}

Error EnumError(std::string_view value, std::string_view member, std::string_view allowed) {
  return errors::Validation(fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must "
      "satisfy enum value set: [{}]",
      value, member, allowed));
}

// The enum lists as KMS prints them in its validation messages (its own order).
constexpr std::string_view kKeySpecs =
    "RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, "
    "RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512, SM2";
constexpr std::string_view kKeyUsages = "ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC";
constexpr std::string_view kOrigins = "EXTERNAL_KEY_STORE, AWS_CLOUDHSM, AWS_KMS, EXTERNAL";

bool InList(std::string_view value, std::string_view list) {
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = list.find(", ", at);
    std::string_view item =
        list.substr(at, comma == std::string_view::npos ? list.npos : comma - at);
    if (item == value) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    at = comma + 2;
  }
  return false;
}

Status ValidateDescription(const std::string& description) {
  if (description.size() > kMaxDescription) {
    return errors::Validation(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 8192");
  }
  return OkStatus();
}

Status ValidatePolicy(const std::string& policy) {
  if (policy.empty() || policy.size() > kMaxPolicy) {
    return errors::MalformedPolicyDocument(
        "The key policy must be between 1 and 131072 characters long.");
  }
  nlohmann::json doc = nlohmann::json::parse(policy, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return errors::MalformedPolicyDocument("The key policy is not a valid JSON document.");
  }
  return OkStatus();
}

Status ValidateTags(const Tags& tags) {
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.size() > 128) {
      return errors::Tag("Tag keys must be between 1 and 128 characters long.");
    }
    if (value.size() > 256) {
      return errors::Tag("Tag values must be at most 256 characters long.");
    }
    if (key.starts_with("aws:")) {
      return errors::Tag("Tag keys beginning with 'aws:' are reserved for AWS use.");
    }
  }
  return OkStatus();
}

Status ValidatePolicyName(const std::string& name) {
  if (name != kDefaultPolicyName) {
    return errors::NotFound("No such policy exists: " + name);
  }
  return OkStatus();
}

// Checks an alias name as CreateAlias, UpdateAlias and DeleteAlias do.
Status ValidateAliasName(const std::string& name) {
  if (!name.starts_with("alias/")) {
    return errors::Validation(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  }
  if (name.size() > kMaxAliasName) {
    return errors::Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'aliasName' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
        name));
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '/' && c != '_' &&
        c != '-') {
      return errors::Validation(fmt::format(
          "1 validation error detected: Value '{}' at 'aliasName' failed to satisfy "
          "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
          name));
    }
  }
  // The model's pattern admits ':', KMS's alias rules do not.
  if (name.find(':') != std::string::npos || name.size() == 6) {
    return errors::InvalidAliasName(name + " is not a valid alias name.");
  }
  if (name.starts_with("alias/aws/")) {
    return errors::NotAuthorized();
  }
  return OkStatus();
}

// A page size from a Limit argument: the model allows 1..1000; each operation caps it lower.
Result<size_t> PageSize(std::optional<int64_t> limit, size_t fallback, size_t cap) {
  if (!limit) {
    return fallback;
  }
  if (*limit < 1 || *limit > 1000) {
    return errors::Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'limit' failed to satisfy constraint: Member "
        "must have value {} {}",
        *limit, *limit < 1 ? "greater than or equal to" : "less than or equal to",
        *limit < 1 ? 1 : 1000));
  }
  return std::min(static_cast<size_t>(*limit), cap);
}

// One page of `items` (sorted by `key`), starting after `marker`; the next marker is the last
// item's key when more remain.
template <typename T, typename KeyFn>
Page<T> Paginate(const std::vector<T>& items, const std::string& marker, size_t size, KeyFn key) {
  auto it = items.begin();
  if (!marker.empty()) {
    it = std::find_if(items.begin(), items.end(), [&](const T& t) { return key(t) > marker; });
  }
  Page<T> page;
  for (; it != items.end() && page.items.size() < size; ++it) {
    page.items.push_back(*it);
  }
  if (it != items.end()) {
    page.next_marker = key(page.items.back());
  }
  return page;
}

Status CheckUsable(const KmsKey& key) {
  if (key.state == KeyState::Disabled) {
    return errors::Disabled(key.arn);
  }
  if (key.state == KeyState::PendingDeletion) {
    return errors::PendingDeletion(key.arn);
  }
  return OkStatus();
}

Status CheckNotPendingDeletion(const KmsKey& key) {
  if (key.state == KeyState::PendingDeletion) {
    return errors::PendingDeletion(key.arn);
  }
  return OkStatus();
}

// Customers cannot manage AWS managed keys (their lifecycle, policy and tags belong to AWS).
Status CheckCustomerManaged(const KmsKey& key) {
  if (key.manager == KeyManager::Aws) {
    return errors::UnsupportedOperation(key.arn +
                                        " is an AWS managed key which is not valid for this "
                                        "operation.");
  }
  return OkStatus();
}

Error InvalidCiphertext() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidCiphertextException", "");
}

void Scrub(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace

KmsService::KmsService(store::Db& db, core::Clock& clock, core::IdSource& ids, MasterKey master_key,
                       KmsConfig config)
    : db_(db),
      store_(db),
      clock_(clock),
      ids_(ids),
      master_key_(std::move(master_key)),
      config_(std::move(config)) {}

Status KmsService::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(std::vector<KmsKey> keys, store_.Keys());
  BERTH_TRY(std::vector<KmsAlias> aliases, store_.Aliases());
  BERTH_TRY(std::vector<SealedMaterialRow> rows, store_.Materials());

  std::map<std::string, std::map<uint32_t, KeyMaterial>> material;
  for (const SealedMaterialRow& row : rows) {
    auto opened = UnsealKeyMaterial(master_key_, row.key_id, row.version, row.sealed);
    if (!opened.ok()) {
      // Not the client's doing: say what the operator must check, never anything secret.
      return InternalError(fmt::format(
          "kms: the master key does not open the stored material of key {} version {}: a "
          "different master key file than the one this data directory was created with, or a "
          "damaged store",
          row.key_id, row.version));
    }
    material[row.key_id].emplace(row.version, *opened);
  }
  std::map<std::string, KmsKey> by_id;
  for (KmsKey& key : keys) {
    auto versions = material.find(key.key_id);
    if (versions == material.end() || !versions->second.count(key.current_version)) {
      return InternalError("kms: the store has no material for the current version of key " +
                           key.key_id);
    }
    std::string id = key.key_id;
    by_id.emplace(std::move(id), std::move(key));
  }
  keys_ = std::move(by_id);
  aliases_.clear();
  for (KmsAlias& alias : aliases) {
    std::string name = alias.alias_name;
    aliases_.emplace(std::move(name), std::move(alias));
  }
  material_ = std::move(material);
  return OkStatus();
}

// ---- lookups ----------------------------------------------------------------------------------

std::string KmsService::KeyArnOf(std::string_view key_id) const {
  return KeyArn(config_.region, config_.account_id, key_id);
}

std::string KmsService::AliasArnOf(std::string_view alias_name) const {
  return AliasArn(config_.region, config_.account_id, alias_name);
}

Result<KmsKey*> KmsService::FindById(const std::string& key_id, const std::string& shown_arn) {
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return errors::KeyNotFound(shown_arn);
  }
  return &it->second;
}

Result<KmsKey*> KmsService::FindByAlias(const std::string& alias_name) {
  if (alias_name == kSsmAliasName) {
    return EnsureManagedKey(std::string(kSsmAliasName), std::string(kSsmKeyDescription));
  }
  if (alias_name == kSecretsManagerAliasName) {
    return EnsureManagedKey(std::string(kSecretsManagerAliasName),
                            std::string(kSecretsManagerKeyDescription));
  }
  auto it = aliases_.find(alias_name);
  if (it == aliases_.end() || !keys_.count(it->second.target_key_id)) {
    return errors::AliasNotFound(AliasArnOf(alias_name));
  }
  return &keys_.at(it->second.target_key_id);
}

Result<KmsKey*> KmsService::Find(const std::string& key_ref) {
  BERTH_TRY(KeyRef ref, ParseKeyRef(key_ref));
  if (const auto* id = std::get_if<KeyIdRef>(&ref)) {
    return FindById(id->key_id, KeyArnOf(id->key_id));
  }
  if (const auto* arn = std::get_if<KeyArnRef>(&ref)) {
    // KMS answers an ARN from another region this way (and simply does not know the key of
    // another account).
    if (arn->region != config_.region) {
      return errors::NotFound("Invalid arn " + arn->region);
    }
    if (arn->account != config_.account_id) {
      return errors::KeyNotFound(key_ref);
    }
    return FindById(arn->key_id, key_ref);
  }
  if (const auto* alias = std::get_if<AliasNameRef>(&ref)) {
    return FindByAlias(alias->alias_name);
  }
  const auto& alias_arn = std::get<AliasArnRef>(ref);
  if (alias_arn.region != config_.region) {
    return errors::NotFound("Invalid arn " + alias_arn.region);
  }
  if (alias_arn.account != config_.account_id) {
    return errors::AliasNotFound(key_ref);
  }
  return FindByAlias(alias_arn.alias_name);
}

const KeyMaterial* KmsService::CurrentMaterial(const KmsKey& key) const {
  auto versions = material_.find(key.key_id);
  if (versions == material_.end()) {
    return nullptr;
  }
  auto it = versions->second.find(key.current_version);
  return it == versions->second.end() ? nullptr : &it->second;
}

// ---- writes -----------------------------------------------------------------------------------

Result<KmsKey*> KmsService::InsertKey(KmsKey draft, const std::string& alias_name) {
  // A random id never collides; a restarted test IdSource could, so check rather than
  // overwrite a key.
  std::string key_id = NewKeyId(ids_);
  for (int attempt = 0; keys_.count(key_id) && attempt < 8; ++attempt) {
    key_id = NewKeyId(ids_);
  }
  if (keys_.count(key_id)) {
    return InternalError("kms: the id source keeps returning existing key ids");
  }
  KmsKey key = std::move(draft);
  key.key_id = key_id;
  key.arn = KeyArnOf(key_id);
  key.created_ms = clock_.NowMillis();
  key.current_version = 1;
  KeyMaterial material = KeyMaterial::Generate(1);

  KmsAlias alias;
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.PutKey(key));
  BERTH_RETURN_IF_ERROR(store_.PutMaterial(
      key_id, 1, SealKeyMaterial(master_key_, key_id, material), key.created_ms));
  if (!alias_name.empty()) {
    alias = {alias_name, AliasArnOf(alias_name), key_id, key.created_ms, key.created_ms};
    BERTH_RETURN_IF_ERROR(store_.PutAlias(alias));
  }
  BERTH_RETURN_IF_ERROR(txn.Commit());

  material_[key_id].emplace(1, material);
  if (!alias_name.empty()) {
    aliases_[alias_name] = alias;
  }
  return &keys_.emplace(key_id, std::move(key)).first->second;
}

Status KmsService::SaveKey(const KmsKey& updated) {
  BERTH_RETURN_IF_ERROR(store_.PutKey(updated));
  keys_[updated.key_id] = updated;
  return OkStatus();
}

// An AWS managed key (alias/aws/ssm, alias/aws/secretsmanager), created with its alias on the
// first use, as AWS does.
Result<KmsKey*> KmsService::EnsureManagedKey(const std::string& alias_name,
                                             const std::string& description) {
  auto it = aliases_.find(alias_name);
  if (it != aliases_.end()) {
    auto key = keys_.find(it->second.target_key_id);
    if (key != keys_.end()) {
      return &key->second;
    }
  }
  KmsKey draft;
  draft.description = description;
  draft.manager = KeyManager::Aws;
  draft.policy = Substitute(kSsmPolicy, config_);
  BERTH_TRY(KmsKey * key, InsertKey(std::move(draft), alias_name));
  spdlog::info("kms: created the AWS managed key {} for {}", key->arn, alias_name);
  return key;
}

Status KmsService::Reap() {
  const int64_t now = clock_.NowMillis();
  std::vector<std::string> due;
  for (const auto& [id, key] : keys_) {
    if (key.state == KeyState::PendingDeletion && key.deletion_ms <= now) {
      due.push_back(id);
    }
  }
  for (const std::string& id : due) {
    store::Transaction txn(db_);
    BERTH_RETURN_IF_ERROR(store_.DeleteKey(id));
    BERTH_RETURN_IF_ERROR(txn.Commit());
    spdlog::info("kms: deleted key {}: its deletion date passed", keys_.at(id).arn);
    keys_.erase(id);
    material_.erase(id);
    std::erase_if(aliases_, [&](const auto& entry) { return entry.second.target_key_id == id; });
  }
  return OkStatus();
}

// ---- the calls other services make ------------------------------------------------------------

Result<EncryptOutput> KmsService::Encrypt(const std::string& key_ref, std::string_view plaintext,
                                          const EncryptionContext& context) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckUsable(*key));
  const KeyMaterial* material = CurrentMaterial(*key);
  BERTH_ASSERT(material != nullptr, "Open and InsertKey keep every current version loaded");
  BERTH_TRY(std::string blob, EncryptBlob(*material, key->key_id, plaintext, context));
  return EncryptOutput{std::move(blob), key->arn};
}

Result<DecryptOutput> KmsService::Decrypt(std::string_view blob, const EncryptionContext& context,
                                          const std::string& expected_key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  const KmsKey* expected = nullptr;
  if (!expected_key_ref.empty()) {
    BERTH_TRY(expected, Find(expected_key_ref));
  }
  // The lookup refuses keys for KMS's reasons and records which; DecryptBlob then reports a
  // NotFoundException that is replaced by the recorded error.
  std::optional<Error> refusal;
  auto lookup = [&](std::string_view key_id, uint32_t version) -> const KeyMaterial* {
    if (expected != nullptr && key_id != expected->key_id) {
      refusal = errors::IncorrectKey();
      return nullptr;
    }
    auto key = keys_.find(std::string(key_id));
    if (key == keys_.end()) {
      refusal = errors::KeyNotFound(KeyArnOf(key_id));
      return nullptr;
    }
    Status usable = CheckUsable(key->second);
    if (!usable.ok()) {
      refusal = usable.error();
      return nullptr;
    }
    const auto& versions = material_.at(key->second.key_id);
    auto it = versions.find(version);
    if (it == versions.end()) {
      // A version this key never had: the blob was not made by it.
      refusal = InvalidCiphertext();
      return nullptr;
    }
    return &it->second;
  };
  auto decrypted = DecryptBlob(lookup, blob, context);
  if (!decrypted.ok()) {
    if (refusal) {
      return std::move(*refusal);
    }
    return std::move(decrypted).take_error();
  }
  return DecryptOutput{std::move(decrypted->plaintext), keys_.at(decrypted->key_id).arn};
}

Result<std::string> KmsService::ResolveKeyArn(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  return key->arn;
}

Result<std::string> KmsService::DefaultSsmKeyArn() {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key,
            EnsureManagedKey(std::string(kSsmAliasName), std::string(kSsmKeyDescription)));
  return key->arn;
}

// ---- keys -------------------------------------------------------------------------------------

Result<KmsKey> KmsService::CreateKey(const CreateKeyRequest& request) {
  // Request validation first, in the order KMS's model checks members, then berth's limits.
  const std::string usage = request.key_usage.value_or("ENCRYPT_DECRYPT");
  if (!InList(usage, kKeyUsages)) {
    return EnumError(usage, "keyUsage", kKeyUsages);
  }
  if (request.key_spec && !InList(*request.key_spec, kKeySpecs)) {
    return EnumError(*request.key_spec, "keySpec", kKeySpecs);
  }
  if (request.customer_master_key_spec && !InList(*request.customer_master_key_spec, kKeySpecs)) {
    return EnumError(*request.customer_master_key_spec, "customerMasterKeySpec", kKeySpecs);
  }
  const std::string origin = request.origin.value_or("AWS_KMS");
  if (!InList(origin, kOrigins)) {
    return EnumError(origin, "origin", kOrigins);
  }
  BERTH_RETURN_IF_ERROR(ValidateDescription(request.description));
  if (request.key_spec && request.customer_master_key_spec) {
    return errors::Validation(
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
        "CustomerMasterKeySpec parameter is deprecated. Use KeySpec only.");
  }
  const std::string spec =
      request.key_spec.value_or(request.customer_master_key_spec.value_or("SYMMETRIC_DEFAULT"));
  if (spec != "SYMMETRIC_DEFAULT") {
    return errors::UnsupportedOperation(
        "berth's KMS supports only SYMMETRIC_DEFAULT keys; KeySpec " + spec + " is not supported.");
  }
  if (usage != "ENCRYPT_DECRYPT") {
    return errors::Validation("KeyUsage " + usage +
                              " is not compatible with KeySpec SYMMETRIC_DEFAULT.");
  }
  if (origin != "AWS_KMS") {
    return errors::UnsupportedOperation("berth's KMS supports only keys of Origin AWS_KMS; " +
                                        origin + " is not supported.");
  }
  if (request.custom_key_store_id) {
    return errors::UnsupportedOperation("berth's KMS has no custom key stores.");
  }
  if (request.multi_region.value_or(false)) {
    return errors::UnsupportedOperation("berth's KMS does not support multi-Region keys.");
  }
  if (request.policy) {
    BERTH_RETURN_IF_ERROR(ValidatePolicy(*request.policy));
  }
  BERTH_RETURN_IF_ERROR(ValidateTags(request.tags));
  if (request.tags.size() > kMaxTagsPerKey) {
    return errors::Tag("A KMS key can have at most 50 tags.");
  }
  BERTH_RETURN_IF_ERROR(Reap());

  KmsKey draft;
  draft.description = request.description;
  draft.policy = request.policy ? *request.policy : Substitute(kDefaultPolicy, config_);
  draft.tags = request.tags;
  BERTH_TRY(KmsKey * key, InsertKey(std::move(draft), ""));
  return *key;
}

Result<KmsKey> KmsService::DescribeKey(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  return *key;
}

Result<Page<KmsKey>> KmsService::ListKeys(std::optional<int64_t> limit, const std::string& marker) {
  BERTH_TRY(size_t size, PageSize(limit, 100, 1000));
  if (!marker.empty() && !IsKeyId(marker)) {
    return errors::InvalidMarker();
  }
  BERTH_RETURN_IF_ERROR(Reap());
  std::vector<KmsKey> all;
  all.reserve(keys_.size());
  for (const auto& [id, key] : keys_) {
    all.push_back(key);
  }
  return Paginate(all, marker, size, [](const KmsKey& k) { return k.key_id; });
}

Status KmsService::UpdateKeyDescription(const std::string& key_ref,
                                        const std::string& description) {
  BERTH_RETURN_IF_ERROR(ValidateDescription(description));
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  KmsKey updated = *key;
  updated.description = description;
  return SaveKey(updated);
}

Status KmsService::EnableKey(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  if (key->state == KeyState::Enabled) {
    return OkStatus();
  }
  KmsKey updated = *key;
  updated.state = KeyState::Enabled;
  return SaveKey(updated);
}

Status KmsService::DisableKey(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  if (key->state == KeyState::Disabled) {
    return OkStatus();
  }
  KmsKey updated = *key;
  updated.state = KeyState::Disabled;
  return SaveKey(updated);
}

Result<DeletionSchedule> KmsService::ScheduleKeyDeletion(
    const std::string& key_ref, std::optional<int64_t> pending_window_days) {
  const int64_t days = pending_window_days.value_or(30);
  if (days < 7 || days > 30) {
    return errors::Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'pendingWindowInDays' failed to satisfy "
        "constraint: Member must have value {} {}",
        days, days < 7 ? "greater than or equal to" : "less than or equal to", days < 7 ? 7 : 30));
  }
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  KmsKey updated = *key;
  updated.state = KeyState::PendingDeletion;
  updated.pending_window_days = static_cast<int>(days);
  updated.deletion_ms = clock_.NowMillis() + days * kDayMs;
  BERTH_RETURN_IF_ERROR(SaveKey(updated));
  spdlog::info("kms: key {} scheduled for deletion in {} days", updated.arn, days);
  return DeletionSchedule{updated.arn, updated.deletion_ms, updated.pending_window_days};
}

Result<std::string> KmsService::CancelKeyDeletion(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  if (key->state != KeyState::PendingDeletion) {
    return errors::NotPendingDeletion(key->arn);
  }
  KmsKey updated = *key;
  updated.state = KeyState::Disabled;
  updated.deletion_ms = 0;
  updated.pending_window_days = 0;
  BERTH_RETURN_IF_ERROR(SaveKey(updated));
  return updated.arn;
}

// ---- aliases ----------------------------------------------------------------------------------

Status KmsService::SetAlias(const std::string& alias_name, const std::string& target_key_ref,
                            bool create) {
  BERTH_RETURN_IF_ERROR(ValidateAliasName(alias_name));
  BERTH_RETURN_IF_ERROR(Reap());
  auto existing = aliases_.find(alias_name);
  if (create && existing != aliases_.end()) {
    return errors::AliasAlreadyExists(AliasArnOf(alias_name));
  }
  if (!create && existing == aliases_.end()) {
    return errors::AliasNotFound(AliasArnOf(alias_name));
  }
  BERTH_TRY(KmsKey * key, Find(target_key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  const int64_t now = clock_.NowMillis();
  KmsAlias alias =
      create ? KmsAlias{alias_name, AliasArnOf(alias_name), "", now, now} : existing->second;
  alias.target_key_id = key->key_id;
  alias.updated_ms = now;
  BERTH_RETURN_IF_ERROR(store_.PutAlias(alias));
  aliases_[alias_name] = std::move(alias);
  return OkStatus();
}

Status KmsService::CreateAlias(const std::string& alias_name, const std::string& target_key_ref) {
  return SetAlias(alias_name, target_key_ref, true);
}

Status KmsService::UpdateAlias(const std::string& alias_name, const std::string& target_key_ref) {
  return SetAlias(alias_name, target_key_ref, false);
}

Status KmsService::DeleteAlias(const std::string& alias_name) {
  BERTH_RETURN_IF_ERROR(ValidateAliasName(alias_name));
  BERTH_RETURN_IF_ERROR(Reap());
  if (!aliases_.count(alias_name)) {
    return errors::AliasNotFound(AliasArnOf(alias_name));
  }
  BERTH_RETURN_IF_ERROR(store_.DeleteAlias(alias_name));
  aliases_.erase(alias_name);
  return OkStatus();
}

Result<Page<KmsAlias>> KmsService::ListAliases(const std::string& key_ref,
                                               std::optional<int64_t> limit,
                                               const std::string& marker) {
  BERTH_TRY(size_t size, PageSize(limit, 50, 100));
  if (!marker.empty() && !marker.starts_with("alias/")) {
    return errors::InvalidMarker();
  }
  BERTH_RETURN_IF_ERROR(Reap());
  std::string target;
  if (!key_ref.empty()) {
    BERTH_TRY(KmsKey * key, Find(key_ref));
    target = key->key_id;
  }
  std::vector<KmsAlias> all;
  for (const auto& [name, alias] : aliases_) {
    if (target.empty() || alias.target_key_id == target) {
      all.push_back(alias);
    }
  }
  // KMS lists the AWS managed aliases of an account before their keys exist, without a
  // TargetKeyId (see ListAliases_SsmAliasBeforeFirstUse).
  const std::string ssm(kSsmAliasName);
  if (target.empty() && !aliases_.count(ssm)) {
    KmsAlias placeholder;
    placeholder.alias_name = ssm;
    placeholder.arn = AliasArnOf(ssm);
    all.insert(std::upper_bound(all.begin(), all.end(), placeholder,
                                [](const KmsAlias& a, const KmsAlias& b) {
                                  return a.alias_name < b.alias_name;
                                }),
               placeholder);
  }
  return Paginate(all, marker, size, [](const KmsAlias& a) { return a.alias_name; });
}

// ---- cryptographic operations ----------------------------------------------------------------

Result<DataKeyOutput> KmsService::GenerateDataKey(const std::string& key_ref,
                                                  std::optional<DataKeySpec> spec,
                                                  std::optional<int64_t> number_of_bytes,
                                                  const EncryptionContext& context,
                                                  bool with_plaintext) {
  BERTH_RETURN_IF_ERROR(DataKeyLength(spec, number_of_bytes));
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckUsable(*key));
  const KeyMaterial* material = CurrentMaterial(*key);
  BERTH_ASSERT(material != nullptr, "Open and InsertKey keep every current version loaded");
  BERTH_TRY(DataKey data_key,
            kms::GenerateDataKey(*material, key->key_id, spec, number_of_bytes, context));
  if (!with_plaintext) {
    Scrub(data_key.plaintext);
  }
  return DataKeyOutput{std::move(data_key.plaintext), std::move(data_key.blob), key->arn};
}

Result<ReEncryptOutput> KmsService::ReEncrypt(std::string_view blob,
                                              const EncryptionContext& source_context,
                                              const std::string& source_key_ref,
                                              const std::string& destination_key_ref,
                                              const EncryptionContext& destination_context) {
  BERTH_TRY(DecryptOutput source, Decrypt(blob, source_context, source_key_ref));
  auto destination = Encrypt(destination_key_ref, source.plaintext, destination_context);
  Scrub(source.plaintext);
  if (!destination.ok()) {
    return std::move(destination).take_error();
  }
  return ReEncryptOutput{std::move(destination->blob), std::move(source.key_arn),
                         std::move(destination->key_arn)};
}

// ---- tags -------------------------------------------------------------------------------------

Status KmsService::TagResource(const std::string& key_ref, const Tags& tags) {
  BERTH_RETURN_IF_ERROR(ValidateTags(tags));
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  KmsKey updated = *key;
  for (const auto& [k, v] : tags) {
    updated.tags[k] = v;
  }
  if (updated.tags.size() > kMaxTagsPerKey) {
    return errors::Tag("A KMS key can have at most 50 tags.");
  }
  return SaveKey(updated);
}

Status KmsService::UntagResource(const std::string& key_ref,
                                 const std::vector<std::string>& tag_keys) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  KmsKey updated = *key;
  for (const std::string& k : tag_keys) {
    updated.tags.erase(k);
  }
  return SaveKey(updated);
}

Result<Page<std::pair<std::string, std::string>>> KmsService::ListResourceTags(
    const std::string& key_ref, std::optional<int64_t> limit, const std::string& marker) {
  BERTH_TRY(size_t size, PageSize(limit, 50, 50));
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  std::vector<std::pair<std::string, std::string>> all(key->tags.begin(), key->tags.end());
  return Paginate(all, marker, size,
                  [](const std::pair<std::string, std::string>& t) { return t.first; });
}

// ---- key policy -------------------------------------------------------------------------------

Result<std::string> KmsService::GetKeyPolicy(const std::string& key_ref,
                                             const std::string& policy_name) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
  return key->policy;
}

Status KmsService::PutKeyPolicy(const std::string& key_ref, const std::string& policy_name,
                                const std::string& policy) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(ValidatePolicy(policy));
  KmsKey updated = *key;
  updated.policy = policy;
  return SaveKey(updated);
}

Result<std::vector<std::string>> KmsService::ListKeyPolicies(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  (void)key;
  return std::vector<std::string>{std::string(kDefaultPolicyName)};
}

// ---- rotation ---------------------------------------------------------------------------------

Status KmsService::EnableKeyRotation(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckUsable(*key));
  KmsKey updated = *key;
  updated.rotation_enabled = true;
  return SaveKey(updated);
}

Status KmsService::DisableKeyRotation(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckCustomerManaged(*key));
  BERTH_RETURN_IF_ERROR(CheckUsable(*key));
  KmsKey updated = *key;
  updated.rotation_enabled = false;
  return SaveKey(updated);
}

Result<bool> KmsService::GetKeyRotationStatus(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  return key->manager == KeyManager::Aws || key->rotation_enabled;
}

Status KmsService::RotateKeyMaterial(const std::string& key_ref) {
  BERTH_RETURN_IF_ERROR(Reap());
  BERTH_TRY(KmsKey * key, Find(key_ref));
  BERTH_RETURN_IF_ERROR(CheckNotPendingDeletion(*key));
  KmsKey updated = *key;
  updated.current_version = key->current_version + 1;
  updated.last_rotated_ms = clock_.NowMillis();
  KeyMaterial material = KeyMaterial::Generate(updated.current_version);

  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.PutMaterial(updated.key_id, updated.current_version,
                                           SealKeyMaterial(master_key_, updated.key_id, material),
                                           updated.last_rotated_ms));
  BERTH_RETURN_IF_ERROR(store_.PutKey(updated));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  material_[updated.key_id].emplace(updated.current_version, material);
  keys_[updated.key_id] = std::move(updated);
  return OkStatus();
}

}  // namespace berth::kms
