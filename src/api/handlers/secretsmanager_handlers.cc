// Secrets Manager wire mapping (awsJson1.1, target prefix secretsmanager).
#include "api/handlers/secretsmanager_handlers.h"

#include <set>

#include "core/base64.h"
#include "secretsmanager/secrets_errors.h"
#include "secretsmanager/secrets_service.h"

namespace berth::api {

using nlohmann::json;
namespace sm = secretsmanager;

namespace {

bool Has(const json& in, const char* key) { return in.contains(key) && !in.at(key).is_null(); }

// "1 validation error detected: Value null at 'secretId' ..." names the member in lowerCamelCase.
Result<std::string> RequiredString(const json& in, const char* key, const char* member) {
  if (!Has(in, key)) {
    return sm::errors::ValidationNull(member);
  }
  return in.at(key).get<std::string>();
}

std::string String(const json& in, const char* key) {
  return Has(in, key) ? in.at(key).get<std::string>() : std::string();
}

std::optional<std::string> OptString(const json& in, const char* key) {
  if (!Has(in, key)) {
    return std::nullopt;
  }
  return in.at(key).get<std::string>();
}

bool Bool(const json& in, const char* key) { return Has(in, key) && in.at(key).get<bool>(); }

std::optional<int> OptInt(const json& in, const char* key) {
  if (!Has(in, key)) {
    return std::nullopt;
  }
  return in.at(key).get<int>();
}

std::optional<int64_t> OptInt64(const json& in, const char* key) {
  if (!Has(in, key)) {
    return std::nullopt;
  }
  return in.at(key).get<int64_t>();
}

// A list member; get<> throws type_error when it is not a list.
std::vector<json> List(const json& in, const char* key) {
  if (!Has(in, key)) {
    return {};
  }
  return in.at(key).get<std::vector<json>>();
}

// SecretBinary: base64 on the wire, raw bytes in the facade.
Result<std::optional<std::string>> Binary(const json& in) {
  if (!Has(in, "SecretBinary")) {
    return std::optional<std::string>();
  }
  auto decoded = core::Base64Decode(in.at("SecretBinary").get<std::string>());
  if (!decoded) {
    return sm::errors::InvalidParameter("The SecretBinary value is not valid base64.");
  }
  return std::optional<std::string>(std::move(*decoded));
}

Result<sm::Tags> TagsOf(const json& in, const char* key) {
  sm::Tags tags;
  for (const json& t : List(in, key)) {
    BERTH_TRY(std::string k, RequiredString(t, "Key", "tags.member.key"));
    tags.emplace_back(std::move(k), String(t, "Value"));
  }
  return tags;
}

json TagsJson(const sm::Tags& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) {
    out.push_back({{"Key", k}, {"Value", v}});
  }
  return out;
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json StagesJson(const sm::Secret& s) {
  json out = json::object();
  for (const sm::SecretVersion& v : s.versions) {
    if (!v.stages.empty()) {
      out[v.version_id] = v.stages;
    }
  }
  return out;
}

// DescribeSecret and ListSecrets entries share everything but the stage map's member name.
json SecretJson(const sm::Secret& s, const char* stages_member) {
  json j = {{"ARN", s.arn},
            {"Name", s.name},
            {"RotationEnabled", false},
            {"LastChangedDate", Seconds(s.last_changed_ms)},
            {"CreatedDate", Seconds(s.created_ms)}};
  if (!s.description.empty()) {
    j["Description"] = s.description;
  }
  if (!s.kms_key_id.empty()) {
    j["KmsKeyId"] = s.kms_key_id;  // omitted for aws/secretsmanager, as AWS does
  }
  if (s.last_accessed_ms != 0) {
    j["LastAccessedDate"] = Seconds(s.last_accessed_ms);
  }
  if (s.scheduled_for_deletion()) {
    j["DeletedDate"] = Seconds(s.deleted_ms);
  }
  if (!s.tags.empty()) {
    j["Tags"] = TagsJson(s.tags);
  }
  json stages = StagesJson(s);
  if (!stages.empty()) {
    j[stages_member] = std::move(stages);
  }
  return j;
}

Status Authorize(const ApiContext& ctx, const char* operation, const std::string& arn) {
  return ctx.authorize(std::string("secretsmanager:") + operation, arn);
}

// The operations whose handlers authorize on the secret's ARN (see the header).
const std::set<std::string>& SelfAuthorized() {
  static const std::set<std::string> kOps = {
      "GetSecretValue",       "PutSecretValue",          "UpdateSecret", "DescribeSecret",
      "DeleteSecret",         "RestoreSecret",           "TagResource",  "UntagResource",
      "ListSecretVersionIds", "UpdateSecretVersionStage"};
  return kOps;
}

json WriteJson(const sm::WriteResult& r) {
  json out = {{"ARN", r.arn}, {"Name", r.name}};
  if (!r.version_id.empty()) {
    out["VersionId"] = r.version_id;
  }
  return out;
}

}  // namespace

JsonService MakeSecretsManagerHandlers(sm::SecretsService& secrets) {
  JsonService s;
  s.signing_name = "secretsmanager";
  s.target_prefixes = {"secretsmanager"};
  s.error_style = ErrorStyle{"Message"};
  s.resources = [](const std::string& operation, const json&) -> std::vector<std::string> {
    if (SelfAuthorized().count(operation) > 0) {
      return {};
    }
    return {"*"};
  };
  auto& ops = s.operations;

  ops["CreateSecret"] = [&secrets](const ApiContext&, const json& in) -> Result<JsonReply> {
    sm::CreateSecretRequest r;
    BERTH_TRY(r.name, RequiredString(in, "Name", "name"));
    r.client_request_token = String(in, "ClientRequestToken");
    r.description = String(in, "Description");
    r.kms_key_id = String(in, "KmsKeyId");
    r.secret_string = OptString(in, "SecretString");
    BERTH_TRY(r.secret_binary, Binary(in));
    BERTH_TRY(r.tags, TagsOf(in, "Tags"));
    if (!List(in, "AddReplicaRegions").empty()) {
      return sm::errors::InvalidParameter("berth does not replicate secrets to other Regions.");
    }
    (void)Bool(in, "ForceOverwriteReplicaSecret");  // type-checked, meaningless without replicas
    BERTH_TRY(sm::WriteResult out, secrets.CreateSecret(std::move(r)));
    return WriteJson(out);
  };

  ops["GetSecretValue"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    sm::GetSecretValueRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    r.version_id = String(in, "VersionId");
    r.version_stage = String(in, "VersionStage");
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "GetSecretValue", secrets.ArnOf(r.secret_id)));
    r.authorize_key = [&ctx](const std::string& key_arn) {
      return ctx.authorize("kms:Decrypt", key_arn);
    };
    BERTH_TRY(sm::GetSecretValueResult v, secrets.GetSecretValue(r));
    json out = {{"ARN", v.arn},
                {"Name", v.name},
                {"VersionId", v.version_id},
                {"VersionStages", v.stages},
                {"CreatedDate", Seconds(v.created_ms)}};
    if (v.value.binary) {
      out["SecretBinary"] = core::Base64Encode(v.value.bytes);
    } else {
      out["SecretString"] = std::move(v.value.bytes);
    }
    return out;
  };

  ops["PutSecretValue"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    sm::PutSecretValueRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    r.client_request_token = String(in, "ClientRequestToken");
    r.secret_string = OptString(in, "SecretString");
    BERTH_TRY(r.secret_binary, Binary(in));
    if (Has(in, "VersionStages")) {
      r.version_stages = in.at("VersionStages").get<std::vector<std::string>>();
      if (r.version_stages.empty()) {
        return sm::errors::Validation(
            "1 validation error detected: Value '[]' at "
            "'versionStages' failed to satisfy constraint: Member must "
            "have length greater than or equal to 1");
      }
    }
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "PutSecretValue", secrets.ArnOf(r.secret_id)));
    BERTH_TRY(sm::WriteResult out, secrets.PutSecretValue(std::move(r)));
    json j = WriteJson(out);
    j["VersionStages"] = out.stages;
    return j;
  };

  ops["UpdateSecret"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    sm::UpdateSecretRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    r.client_request_token = String(in, "ClientRequestToken");
    r.description = OptString(in, "Description");
    r.kms_key_id = OptString(in, "KmsKeyId");
    r.secret_string = OptString(in, "SecretString");
    BERTH_TRY(r.secret_binary, Binary(in));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "UpdateSecret", secrets.ArnOf(r.secret_id)));
    BERTH_TRY(sm::WriteResult out, secrets.UpdateSecret(std::move(r)));
    return WriteJson(out);
  };

  ops["DescribeSecret"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, RequiredString(in, "SecretId", "secretId"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "DescribeSecret", secrets.ArnOf(id)));
    BERTH_TRY(sm::Secret secret, secrets.DescribeSecret(id));
    return SecretJson(secret, "VersionIdsToStages");
  };

  ops["ListSecrets"] = [&secrets](const ApiContext&, const json& in) -> Result<JsonReply> {
    sm::ListSecretsRequest r;
    r.max_results = OptInt(in, "MaxResults");
    r.next_token = String(in, "NextToken");
    r.sort_order = String(in, "SortOrder");
    r.include_planned_deletion = Bool(in, "IncludePlannedDeletion");
    for (const json& f : List(in, "Filters")) {
      sm::ListSecretsFilter filter;
      filter.key = String(f, "Key");
      if (Has(f, "Values")) {
        filter.values = f.at("Values").get<std::vector<std::string>>();
      }
      r.filters.push_back(std::move(filter));
    }
    BERTH_TRY(sm::ListSecretsPage page, secrets.ListSecrets(r));
    json list = json::array();
    for (const sm::Secret& secret : page.secrets) {
      list.push_back(SecretJson(secret, "SecretVersionsToStages"));
    }
    json out = {{"SecretList", std::move(list)}};
    if (!page.next_token.empty()) {
      out["NextToken"] = page.next_token;
    }
    return out;
  };

  ops["DeleteSecret"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    sm::DeleteSecretRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    r.recovery_window_in_days = OptInt64(in, "RecoveryWindowInDays");
    r.force_delete_without_recovery = Bool(in, "ForceDeleteWithoutRecovery");
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "DeleteSecret", secrets.ArnOf(r.secret_id)));
    BERTH_TRY(sm::DeleteSecretResult out, secrets.DeleteSecret(r));
    return json{{"ARN", out.arn}, {"Name", out.name}, {"DeletionDate", Seconds(out.deletion_ms)}};
  };

  ops["RestoreSecret"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, RequiredString(in, "SecretId", "secretId"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "RestoreSecret", secrets.ArnOf(id)));
    BERTH_TRY(sm::Secret secret, secrets.RestoreSecret(id));
    return json{{"ARN", secret.arn}, {"Name", secret.name}};
  };

  ops["TagResource"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, RequiredString(in, "SecretId", "secretId"));
    if (!Has(in, "Tags")) {
      return sm::errors::ValidationNull("tags");
    }
    BERTH_TRY(sm::Tags tags, TagsOf(in, "Tags"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "TagResource", secrets.ArnOf(id)));
    BERTH_RETURN_IF_ERROR(secrets.TagResource(id, tags));
    return json::object();
  };

  ops["UntagResource"] = [&secrets](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, RequiredString(in, "SecretId", "secretId"));
    if (!Has(in, "TagKeys")) {
      return sm::errors::ValidationNull("tagKeys");
    }
    auto keys = in.at("TagKeys").get<std::vector<std::string>>();
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "UntagResource", secrets.ArnOf(id)));
    BERTH_RETURN_IF_ERROR(secrets.UntagResource(id, keys));
    return json::object();
  };

  ops["ListSecretVersionIds"] = [&secrets](const ApiContext& ctx,
                                           const json& in) -> Result<JsonReply> {
    sm::ListSecretVersionIdsRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    r.max_results = OptInt(in, "MaxResults");
    r.next_token = String(in, "NextToken");
    r.include_deprecated = Bool(in, "IncludeDeprecated");
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "ListSecretVersionIds", secrets.ArnOf(r.secret_id)));
    BERTH_TRY(sm::SecretVersionsPage page, secrets.ListSecretVersionIds(r));
    json versions = json::array();
    for (const sm::SecretVersion& v : page.versions) {
      json j = {{"VersionId", v.version_id}, {"CreatedDate", Seconds(v.created_ms)}};
      if (!v.stages.empty()) {
        j["VersionStages"] = v.stages;
      }
      if (v.last_accessed_ms != 0) {
        j["LastAccessedDate"] = Seconds(v.last_accessed_ms);
      }
      // AWS names the default key "DefaultEncryptionKey" here.
      j["KmsKeyIds"] = json::array({v.customer_key ? v.kms_key_arn : "DefaultEncryptionKey"});
      versions.push_back(std::move(j));
    }
    json out = {{"ARN", page.arn}, {"Name", page.name}, {"Versions", std::move(versions)}};
    if (!page.next_token.empty()) {
      out["NextToken"] = page.next_token;
    }
    return out;
  };

  ops["UpdateSecretVersionStage"] = [&secrets](const ApiContext& ctx,
                                               const json& in) -> Result<JsonReply> {
    sm::UpdateSecretVersionStageRequest r;
    BERTH_TRY(r.secret_id, RequiredString(in, "SecretId", "secretId"));
    BERTH_TRY(r.version_stage, RequiredString(in, "VersionStage", "versionStage"));
    r.remove_from_version_id = String(in, "RemoveFromVersionId");
    r.move_to_version_id = String(in, "MoveToVersionId");
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "UpdateSecretVersionStage", secrets.ArnOf(r.secret_id)));
    BERTH_TRY(sm::Secret secret, secrets.UpdateSecretVersionStage(r));
    return json{{"ARN", secret.arn}, {"Name", secret.name}};
  };

  ops["GetRandomPassword"] = [&secrets](const ApiContext&, const json& in) -> Result<JsonReply> {
    sm::RandomPasswordRequest r;
    r.password_length = OptInt64(in, "PasswordLength");
    r.exclude_characters = String(in, "ExcludeCharacters");
    r.exclude_numbers = Bool(in, "ExcludeNumbers");
    r.exclude_punctuation = Bool(in, "ExcludePunctuation");
    r.exclude_uppercase = Bool(in, "ExcludeUppercase");
    r.exclude_lowercase = Bool(in, "ExcludeLowercase");
    r.include_space = Bool(in, "IncludeSpace");
    if (Has(in, "RequireEachIncludedType")) {
      r.require_each_included_type = in.at("RequireEachIncludedType").get<bool>();
    }
    BERTH_TRY(std::string password, secrets.GetRandomPassword(r));
    return json{{"RandomPassword", std::move(password)}};
  };

  return s;
}

}  // namespace berth::api
