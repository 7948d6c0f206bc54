// KMS wire mapping (awsJson1.1, target prefix TrentService): keys, aliases, tags, key
// policies, rotation, and the symmetric cryptographic operations.

#include "api/handlers/kms_handlers.h"

#include <optional>
#include <string>
#include <vector>

#include "core/base64.h"
#include "kms/kms_errors.h"
#include "kms/kms_service.h"

namespace berth::api {

using nlohmann::json;

namespace {

constexpr const char* kSymmetricDefault = "SYMMETRIC_DEFAULT";
constexpr size_t kMaxCiphertextBlob = 6144;

// Reads one request's members. Absent required members are collected and reported together,
// as KMS does ("2 validation errors detected: Value null at 'keyId' ...; Value null at ...").
// Members of the wrong JSON type throw nlohmann::json::type_error (SerializationException at
// the front door); a blob that is not base64 is a SerializationException too, as for any
// value AWS's deserializer cannot read.
class Request {
 public:
  explicit Request(const json& in) : in_(in) {}

  bool Has(const char* key) const { return in_.contains(key) && !in_.at(key).is_null(); }

  std::string Required(const char* key, const char* member) {
    if (!Has(key)) {
      missing_.push_back(member);
      return {};
    }
    return in_.at(key).get<std::string>();
  }
  std::string Optional(const char* key) const {
    return Has(key) ? in_.at(key).get<std::string>() : std::string();
  }
  std::optional<std::string> Maybe(const char* key) const {
    if (!Has(key)) {
      return std::nullopt;
    }
    return in_.at(key).get<std::string>();
  }
  std::optional<int64_t> MaybeInt(const char* key) const {
    if (!Has(key)) {
      return std::nullopt;
    }
    const json& v = in_.at(key);
    if (!v.is_number_integer()) {
      // get<int64_t> would silently truncate 1.5 and accept true.
      throw json::type_error::create(302, std::string("type must be an integer at '") + key + "'",
                                     &v);
    }
    return v.get<int64_t>();
  }
  std::optional<bool> MaybeBool(const char* key) const {
    if (!Has(key)) {
      return std::nullopt;
    }
    return in_.at(key).get<bool>();
  }

  // A blob: base64 text on the JSON protocols (CBOR would carry bytes).
  std::string Blob(const char* key, const char* member, bool required) {
    if (!Has(key)) {
      if (required) {
        missing_.push_back(member);
      }
      return {};
    }
    const json& v = in_.at(key);
    if (v.is_binary()) {
      return std::string(v.get_binary().begin(), v.get_binary().end());
    }
    auto decoded = core::Base64Decode(v.get<std::string>());
    if (!decoded) {
      if (!malformed_) {
        malformed_ =
            MakeError(ErrorKind::InvalidArgument, "SerializationException",
                      std::string("Malformed request: '") + key + "' is not valid base64.");
      }
      return {};
    }
    return std::move(*decoded);
  }

  kms::EncryptionContext Context(const char* key) const {
    if (!Has(key)) {
      return {};
    }
    return in_.at(key).get<kms::EncryptionContext>();
  }

  std::vector<std::string> Strings(const char* key, const char* member, bool required) {
    if (!Has(key)) {
      if (required) {
        missing_.push_back(member);
      }
      return {};
    }
    return in_.at(key).get<std::vector<std::string>>();
  }

  // A TagList: [{"TagKey": ..., "TagValue": ...}], both members required.
  kms::Tags TagList(const char* key, const char* member, bool required) {
    kms::Tags tags;
    if (!Has(key)) {
      if (required) {
        missing_.push_back(member);
      }
      return tags;
    }
    const json& list = in_.at(key);
    if (!list.is_array()) {
      throw json::type_error::create(302, std::string("type must be array at '") + key + "'",
                                     &list);
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const json& tag = list.at(i);
      if (!tag.is_object()) {
        throw json::type_error::create(302, std::string("type must be object in '") + key + "'",
                                       &tag);
      }
      const Request t(tag);
      const std::string at = std::string(member) + "." + std::to_string(i + 1) + ".member.";
      if (!t.Has("TagKey")) {
        missing_.push_back(at + "tagKey");
      }
      if (!t.Has("TagValue")) {
        missing_.push_back(at + "tagValue");
      }
      tags[t.Optional("TagKey")] = t.Optional("TagValue");
    }
    return tags;
  }

  // The deserialization error, or the collected "Value null" errors, or OK.
  Status Check() const {
    if (malformed_) {
      return *malformed_;
    }
    if (missing_.empty()) {
      return OkStatus();
    }
    std::string message =
        std::to_string(missing_.size()) +
        (missing_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
    for (size_t i = 0; i < missing_.size(); ++i) {
      message += (i == 0 ? "" : "; ") + std::string("Value null at '") + missing_[i] +
                 "' failed to satisfy constraint: Member must not be null";
    }
    return kms::errors::Validation(std::move(message));
  }

 private:
  const json& in_;
  std::vector<std::string> missing_;
  std::optional<Error> malformed_;
};

// KMS accepts only SYMMETRIC_DEFAULT for symmetric keys, and every berth key is symmetric.
Status CheckAlgorithm(const Request& r, const char* key, const char* member) {
  std::optional<std::string> algorithm = r.Maybe(key);
  if (!algorithm || *algorithm == kSymmetricDefault) {
    return OkStatus();
  }
  if (*algorithm != "RSAES_OAEP_SHA_1" && *algorithm != "RSAES_OAEP_SHA_256" &&
      *algorithm != "SM2PKE") {
    return kms::errors::Validation(
        "1 validation error detected: Value '" + *algorithm + "' at '" + member +
        "' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, "
        "RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]");
  }
  return kms::errors::InvalidKeyUsage("Algorithm " + *algorithm +
                                      " is incompatible with key spec SYMMETRIC_DEFAULT.");
}

// CiphertextBlob's length constraint (1..6144 bytes), checked before the blob is opened.
Status CheckCiphertextLength(const std::string& blob, const char* member) {
  if (blob.empty()) {
    return kms::errors::Validation(std::string("1 validation error detected: Value at '") + member +
                                   "' failed to satisfy constraint: Member must have length "
                                   "greater than or equal to 1");
  }
  if (blob.size() > kMaxCiphertextBlob) {
    return kms::errors::Validation(std::string("1 validation error detected: Value at '") + member +
                                   "' failed to satisfy constraint: Member must have length "
                                   "less than or equal to 6144");
  }
  return OkStatus();
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json KeyMetadata(const kms::KmsKey& k, const std::string& account_id) {
  json m = {{"AWSAccountId", account_id},
            {"KeyId", k.key_id},
            {"Arn", k.arn},
            {"CreationDate", Seconds(k.created_ms)},
            {"Enabled", k.enabled()},
            {"Description", k.description},
            {"KeyUsage", "ENCRYPT_DECRYPT"},
            {"KeyState", std::string(kms::KeyStateName(k.state))},
            {"Origin", "AWS_KMS"},
            {"KeyManager", std::string(kms::KeyManagerName(k.manager))},
            {"CustomerMasterKeySpec", kSymmetricDefault},
            {"KeySpec", kSymmetricDefault},
            {"EncryptionAlgorithms", json::array({kSymmetricDefault})},
            {"MultiRegion", false}};
  if (k.state == kms::KeyState::PendingDeletion) {
    m["DeletionDate"] = Seconds(k.deletion_ms);
    m["PendingDeletionWindowInDays"] = k.pending_window_days;
  }
  return m;
}

// Truncated is always present; NextMarker only when it is true.
template <typename T>
void AddPaging(json& out, const kms::Page<T>& page) {
  out["Truncated"] = page.truncated();
  if (page.truncated()) {
    out["NextMarker"] = page.next_marker;
  }
}

}  // namespace

JsonService MakeKmsHandlers(kms::KmsService& kms) {
  JsonService s;
  s.signing_name = "kms";
  s.target_prefixes = {"TrentService"};
  auto& ops = s.operations;

  // ---- keys --------------------------------------------------------------------------------

  ops["CreateKey"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    kms::CreateKeyRequest req;
    req.description = r.Optional("Description");
    req.key_usage = r.Maybe("KeyUsage");
    req.key_spec = r.Maybe("KeySpec");
    req.customer_master_key_spec = r.Maybe("CustomerMasterKeySpec");
    req.origin = r.Maybe("Origin");
    req.custom_key_store_id = r.Maybe("CustomKeyStoreId");
    req.multi_region = r.MaybeBool("MultiRegion");
    req.policy = r.Maybe("Policy");
    r.MaybeBool("BypassPolicyLockoutSafetyCheck");  // accepted; there is no lockout check
    req.tags = r.TagList("Tags", "tags", false);
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(kms::KmsKey key, kms.CreateKey(req));
    return json{{"KeyMetadata", KeyMetadata(key, kms.config().account_id)}};
  };
  ops["DescribeKey"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(kms::KmsKey key, kms.DescribeKey(key_id));
    return json{{"KeyMetadata", KeyMetadata(key, kms.config().account_id)}};
  };
  ops["ListKeys"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    BERTH_TRY(auto page, kms.ListKeys(r.MaybeInt("Limit"), r.Optional("Marker")));
    json keys = json::array();
    for (const kms::KmsKey& k : page.items) {
      keys.push_back({{"KeyId", k.key_id}, {"KeyArn", k.arn}});
    }
    json out = {{"Keys", std::move(keys)}};
    AddPaging(out, page);
    return out;
  };
  ops["UpdateKeyDescription"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::string description = r.Required("Description", "description");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.UpdateKeyDescription(key_id, description));
    return json::object();
  };
  ops["EnableKey"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.EnableKey(key_id));
    return json::object();
  };
  ops["DisableKey"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.DisableKey(key_id));
    return json::object();
  };
  ops["ScheduleKeyDeletion"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::optional<int64_t> window = r.MaybeInt("PendingWindowInDays");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(kms::DeletionSchedule d, kms.ScheduleKeyDeletion(key_id, window));
    return json{{"KeyId", d.key_arn},
                {"DeletionDate", Seconds(d.deletion_ms)},
                {"KeyState", "PendingDeletion"},
                {"PendingWindowInDays", d.pending_window_days}};
  };
  ops["CancelKeyDeletion"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(std::string arn, kms.CancelKeyDeletion(key_id));
    return json{{"KeyId", arn}};
  };

  // ---- aliases -----------------------------------------------------------------------------

  ops["CreateAlias"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string alias = r.Required("AliasName", "aliasName");
    std::string target = r.Required("TargetKeyId", "targetKeyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.CreateAlias(alias, target));
    return json::object();
  };
  ops["UpdateAlias"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string alias = r.Required("AliasName", "aliasName");
    std::string target = r.Required("TargetKeyId", "targetKeyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.UpdateAlias(alias, target));
    return json::object();
  };
  ops["DeleteAlias"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string alias = r.Required("AliasName", "aliasName");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.DeleteAlias(alias));
    return json::object();
  };
  ops["ListAliases"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    BERTH_TRY(auto page,
              kms.ListAliases(r.Optional("KeyId"), r.MaybeInt("Limit"), r.Optional("Marker")));
    json aliases = json::array();
    for (const kms::KmsAlias& a : page.items) {
      json entry = {{"AliasName", a.alias_name}, {"AliasArn", a.arn}};
      // An AWS managed alias whose key does not exist yet has neither target nor dates.
      if (!a.target_key_id.empty()) {
        entry["TargetKeyId"] = a.target_key_id;
        entry["CreationDate"] = Seconds(a.created_ms);
        entry["LastUpdatedDate"] = Seconds(a.updated_ms);
      }
      aliases.push_back(std::move(entry));
    }
    json out = {{"Aliases", std::move(aliases)}};
    AddPaging(out, page);
    return out;
  };

  // ---- cryptographic operations ------------------------------------------------------------

  ops["Encrypt"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::string plaintext = r.Blob("Plaintext", "plaintext", true);
    kms::EncryptionContext context = r.Context("EncryptionContext");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(CheckAlgorithm(r, "EncryptionAlgorithm", "encryptionAlgorithm"));
    BERTH_TRY(kms::EncryptOutput out, kms.Encrypt(key_id, plaintext, context));
    return json{{"CiphertextBlob", core::Base64Encode(out.blob)},
                {"KeyId", out.key_arn},
                {"EncryptionAlgorithm", kSymmetricDefault}};
  };
  ops["Decrypt"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string blob = r.Blob("CiphertextBlob", "ciphertextBlob", true);
    kms::EncryptionContext context = r.Context("EncryptionContext");
    std::string key_id = r.Optional("KeyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(CheckCiphertextLength(blob, "ciphertextBlob"));
    BERTH_RETURN_IF_ERROR(CheckAlgorithm(r, "EncryptionAlgorithm", "encryptionAlgorithm"));
    BERTH_TRY(kms::DecryptOutput out, kms.Decrypt(blob, context, key_id));
    return json{{"KeyId", out.key_arn},
                {"Plaintext", core::Base64Encode(out.plaintext)},
                {"EncryptionAlgorithm", kSymmetricDefault}};
  };
  auto data_key = [&kms](const json& in, bool with_plaintext) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    kms::EncryptionContext context = r.Context("EncryptionContext");
    std::optional<std::string> spec_text = r.Maybe("KeySpec");
    std::optional<int64_t> number_of_bytes = r.MaybeInt("NumberOfBytes");
    BERTH_RETURN_IF_ERROR(r.Check());
    std::optional<kms::DataKeySpec> spec;
    if (spec_text) {
      BERTH_TRY(spec, kms::ParseDataKeySpec(*spec_text));
    }
    BERTH_TRY(kms::DataKeyOutput out,
              kms.GenerateDataKey(key_id, spec, number_of_bytes, context, with_plaintext));
    json reply = {{"CiphertextBlob", core::Base64Encode(out.blob)}, {"KeyId", out.key_arn}};
    if (with_plaintext) {
      reply["Plaintext"] = core::Base64Encode(out.plaintext);
    }
    return reply;
  };
  ops["GenerateDataKey"] = [data_key](const ApiContext&, const json& in) {
    return data_key(in, true);
  };
  ops["GenerateDataKeyWithoutPlaintext"] = [data_key](const ApiContext&, const json& in) {
    return data_key(in, false);
  };
  ops["ReEncrypt"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string blob = r.Blob("CiphertextBlob", "ciphertextBlob", true);
    std::string destination = r.Required("DestinationKeyId", "destinationKeyId");
    std::string source = r.Optional("SourceKeyId");
    kms::EncryptionContext source_context = r.Context("SourceEncryptionContext");
    kms::EncryptionContext destination_context = r.Context("DestinationEncryptionContext");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(CheckCiphertextLength(blob, "ciphertextBlob"));
    BERTH_RETURN_IF_ERROR(
        CheckAlgorithm(r, "SourceEncryptionAlgorithm", "sourceEncryptionAlgorithm"));
    BERTH_RETURN_IF_ERROR(
        CheckAlgorithm(r, "DestinationEncryptionAlgorithm", "destinationEncryptionAlgorithm"));
    BERTH_TRY(kms::ReEncryptOutput out,
              kms.ReEncrypt(blob, source_context, source, destination, destination_context));
    return json{{"CiphertextBlob", core::Base64Encode(out.blob)},
                {"SourceKeyId", out.source_key_arn},
                {"KeyId", out.key_arn},
                {"SourceEncryptionAlgorithm", kSymmetricDefault},
                {"DestinationEncryptionAlgorithm", kSymmetricDefault}};
  };

  // ---- tags --------------------------------------------------------------------------------

  ops["TagResource"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    kms::Tags tags = r.TagList("Tags", "tags", true);
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.TagResource(key_id, tags));
    return json::object();
  };
  ops["UntagResource"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::vector<std::string> keys = r.Strings("TagKeys", "tagKeys", true);
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.UntagResource(key_id, keys));
    return json::object();
  };
  ops["ListResourceTags"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::optional<int64_t> limit = r.MaybeInt("Limit");
    std::string marker = r.Optional("Marker");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(auto page, kms.ListResourceTags(key_id, limit, marker));
    json tags = json::array();
    for (const auto& [k, v] : page.items) {
      tags.push_back({{"TagKey", k}, {"TagValue", v}});
    }
    json out = {{"Tags", std::move(tags)}};
    AddPaging(out, page);
    return out;
  };

  // ---- key policy --------------------------------------------------------------------------

  ops["GetKeyPolicy"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::string name = r.Required("PolicyName", "policyName");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(std::string policy, kms.GetKeyPolicy(key_id, name));
    return json{{"Policy", policy}};
  };
  ops["PutKeyPolicy"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    std::string name = r.Required("PolicyName", "policyName");
    std::string policy = r.Required("Policy", "policy");
    r.MaybeBool("BypassPolicyLockoutSafetyCheck");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.PutKeyPolicy(key_id, name, policy));
    return json::object();
  };
  ops["ListKeyPolicies"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(std::vector<std::string> names, kms.ListKeyPolicies(key_id));
    return json{{"PolicyNames", names}, {"Truncated", false}};
  };

  // ---- rotation ----------------------------------------------------------------------------

  ops["EnableKeyRotation"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.EnableKeyRotation(key_id));
    return json::object();
  };
  ops["DisableKeyRotation"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_RETURN_IF_ERROR(kms.DisableKeyRotation(key_id));
    return json::object();
  };
  ops["GetKeyRotationStatus"] = [&kms](const ApiContext&, const json& in) -> Result<JsonReply> {
    Request r(in);
    std::string key_id = r.Required("KeyId", "keyId");
    BERTH_RETURN_IF_ERROR(r.Check());
    BERTH_TRY(bool enabled, kms.GetKeyRotationStatus(key_id));
    return json{{"KeyRotationEnabled", enabled}};
  };
  return s;
}

}  // namespace berth::api
