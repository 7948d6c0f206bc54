// Parameter Store wire mapping (awsJson1.1, target prefix AmazonSSM).
#include "api/handlers/ssm_handlers.h"

#include <cctype>
#include <set>

#include "core/json_writer.h"
#include "ssm/ssm_errors.h"
#include "ssm/ssm_service.h"

namespace berth::api {

using core::JsonWriter;
using nlohmann::json;

namespace {

// "1 validation error detected: Value null at 'name' ..." names the member in lowerCamelCase.
Result<std::string> RequiredString(const json& in, const char* key, const char* member) {
  if (!in.contains(key) || in.at(key).is_null()) {
    return ssm::errors::Validation(std::string("1 validation error detected: Value null at '") +
                                   member +
                                   "' failed to satisfy constraint: Member must not be null");
  }
  return in.at(key).get<std::string>();
}

std::optional<std::string> OptString(const json& in, const char* key) {
  if (!in.contains(key) || in.at(key).is_null()) {
    return std::nullopt;
  }
  return in.at(key).get<std::string>();
}

std::optional<int> OptInt(const json& in, const char* key) {
  if (!in.contains(key) || in.at(key).is_null()) {
    return std::nullopt;
  }
  return in.at(key).get<int>();
}

bool OptBool(const json& in, const char* key) {
  return in.contains(key) && !in.at(key).is_null() && in.at(key).get<bool>();
}

// A list member; get<> throws type_error when it is not a list.
std::vector<json> List(const json& in, const char* key) {
  if (!in.contains(key) || in.at(key).is_null()) {
    return {};
  }
  return in.at(key).get<std::vector<json>>();
}

Result<std::vector<std::string>> RequiredStrings(const json& in, const char* key,
                                                 const char* member) {
  if (!in.contains(key) || in.at(key).is_null()) {
    return ssm::errors::Validation(std::string("1 validation error detected: Value null at '") +
                                   member +
                                   "' failed to satisfy constraint: Member must not be null");
  }
  return in.at(key).get<std::vector<std::string>>();
}

Result<ssm::Tags> TagsOf(const json& in, const char* key) {
  ssm::Tags tags;
  for (const json& t : List(in, key)) {
    BERTH_TRY(std::string k, RequiredString(t, "Key", "tags.member.key"));
    BERTH_TRY(std::string v, RequiredString(t, "Value", "tags.member.value"));
    tags.emplace_back(std::move(k), std::move(v));
  }
  return tags;
}

json TagsJson(const ssm::Tags& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) {
    out.push_back({{"Key", k}, {"Value", v}});
  }
  return out;
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string Text(std::string_view v) { return std::string(v); }

Status Authorize(const ApiContext& ctx, const char* operation, const std::string& arn) {
  return ctx.authorize(std::string("ssm:") + operation, arn);
}

// The same for a parameter by name, whose ARN is only built when someone checks it.
Status AuthorizeParameter(const ApiContext& ctx, const ssm::SsmService& ssm,
                          const char* operation, const std::string& name) {
  return ctx.checks_permissions ? Authorize(ctx, operation, ssm.ParameterArn(name)) : OkStatus();
}

ssm::DecryptOptions Decryption(const ApiContext& ctx, const json& in) {
  ssm::DecryptOptions d;
  d.with_decryption = OptBool(in, "WithDecryption");
  d.authorize = [&ctx](const std::string& key_arn) {
    return ctx.authorize("kms:Decrypt", key_arn);
  };
  return d;
}

// Parameter policies travel as a JSON array text; berth keeps them (without running them) and
// shows them back the way DescribeParameters does.
Status CheckPolicies(const std::string& text) {
  static const std::set<std::string> kTypes = {"Expiration", "ExpirationNotification",
                                               "NoChangeNotification"};
  json policies = json::parse(text, nullptr, false);
  if (policies.is_discarded() || !policies.is_array()) {
    return ssm::errors::InvalidPolicyType(
        "The policies must be a JSON array of parameter "
        "policies.");
  }
  for (const json& p : policies) {
    std::string type = p.is_object() && p.contains("Type") && p.at("Type").is_string()
                           ? p.at("Type").get<std::string>()
                           : "";
    if (kTypes.count(type) == 0) {
      return ssm::errors::InvalidPolicyType("The following policy type is not supported: " +
                                            (type.empty() ? std::string("null") : type));
    }
  }
  return OkStatus();
}

json PoliciesJson(const std::string& text) {
  json out = json::array();
  json policies = json::parse(text.empty() ? "[]" : text, nullptr, false);
  if (!policies.is_array()) {
    return out;
  }
  for (const json& p : policies) {
    out.push_back({{"PolicyText", p.dump()},
                   {"PolicyType", p.is_object() ? p.value("Type", std::string()) : ""},
                   {"PolicyStatus", "Pending"}});
  }
  return out;
}

// Parameter values are the hot replies (GetParameters at task start, entrypoint scripts): they
// are written straight to text (JsonWriter), not built as an nlohmann tree first.
void WriteParameter(JsonWriter& w, const ssm::ParameterValue& p) {
  w.BeginObject()
      .Key("Name").String(p.name)
      .Key("Type").String(ssm::ToString(p.type))
      .Key("Value").String(p.value)
      .Key("Version").Int(p.version)
      .Key("LastModifiedDate").Double(Seconds(p.modified_ms))
      .Key("ARN").String(p.arn)
      .Key("DataType").String(p.data_type);
  if (!p.selector.empty()) {
    w.Key("Selector").String(p.selector);
  }
  w.EndObject();
}

// The settings DescribeParameters and GetParameterHistory share.
json VersionJson(const std::string& name, const ssm::ParameterVersion& v) {
  json j = {{"Name", name},
            {"Type", Text(ssm::ToString(v.type))},
            {"LastModifiedDate", Seconds(v.modified_ms)},
            {"LastModifiedUser", v.modified_user},
            {"Version", v.version},
            {"Tier", Text(ssm::ToString(v.tier))},
            {"Policies", PoliciesJson(v.policies)},
            {"DataType", v.data_type}};
  if (v.type == ssm::ParameterType::SecureString) {
    j["KeyId"] = v.key_id;
  }
  if (!v.description.empty()) {
    j["Description"] = v.description;
  }
  if (!v.allowed_pattern.empty()) {
    j["AllowedPattern"] = v.allowed_pattern;
  }
  return j;
}

Result<std::vector<ssm::ParameterStringFilter>> StringFilters(const json& in) {
  std::vector<ssm::ParameterStringFilter> out;
  for (const json& f : List(in, "ParameterFilters")) {
    ssm::ParameterStringFilter filter;
    BERTH_TRY(filter.key, RequiredString(f, "Key", "parameterFilters.member.key"));
    filter.option = OptString(f, "Option");
    if (f.contains("Values") && !f.at("Values").is_null()) {
      filter.values = f.at("Values").get<std::vector<std::string>>();
    }
    out.push_back(std::move(filter));
  }
  return out;
}

template <typename T>
void AddNextToken(json& out, const T& page) {
  if (!page.next_token.empty()) {
    out["NextToken"] = page.next_token;
  }
}

}  // namespace

JsonService MakeSsmHandlers(ssm::SsmService& ssm) {
  JsonService s;
  s.signing_name = "ssm";
  s.target_prefixes = {"AmazonSSM"};
  auto& ops = s.operations;

  ops["PutParameter"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    ssm::PutParameterRequest r;
    BERTH_TRY(r.name, RequiredString(in, "Name", "name"));
    BERTH_TRY(r.value, RequiredString(in, "Value", "value"));
    BERTH_RETURN_IF_ERROR(AuthorizeParameter(ctx, ssm, "PutParameter", r.name));
    if (auto type = OptString(in, "Type")) {
      r.type = ssm::ParseParameterType(*type);
      if (!r.type) {
        return ssm::errors::Validation("1 validation error detected: Value '" + *type +
                                       "' at 'type' failed to satisfy constraint: Member must "
                                       "satisfy enum value set: [SecureString, StringList, "
                                       "String]");
      }
    }
    if (auto tier = OptString(in, "Tier")) {
      r.tier = ssm::ParseParameterTier(*tier);
      if (!r.tier) {
        return ssm::errors::Validation("1 validation error detected: Value '" + *tier +
                                       "' at 'tier' failed to satisfy constraint: Member must "
                                       "satisfy enum value set: [Standard, Advanced, "
                                       "Intelligent-Tiering]");
      }
    }
    r.key_id = OptString(in, "KeyId");
    if (r.key_id) {
      bool ok = !r.key_id->empty() && r.key_id->size() <= 256;
      for (char c : *r.key_id) {
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '/' ||
                    c == '_' || c == '-');
      }
      if (!ok) {
        return ssm::errors::Validation("1 validation error detected: Value '" + *r.key_id +
                                       "' at 'keyId' failed to satisfy constraint: Member must "
                                       "satisfy regular expression pattern: "
                                       "^([a-zA-Z0-9:/_-]+)$");
      }
    }
    r.description = OptString(in, "Description");
    r.allowed_pattern = OptString(in, "AllowedPattern");
    r.data_type = OptString(in, "DataType");
    r.policies = OptString(in, "Policies");
    if (r.policies && !r.policies->empty()) {
      BERTH_RETURN_IF_ERROR(CheckPolicies(*r.policies));
    }
    r.overwrite = OptBool(in, "Overwrite");
    BERTH_TRY(r.tags, TagsOf(in, "Tags"));
    if (!ctx.account_id.empty()) {
      r.user_arn = "arn:aws:iam::" + ctx.account_id + ":root";
    }
    BERTH_TRY(ssm::PutParameterResult out, ssm.PutParameter(r));
    JsonWriter w;
    w.BeginObject().Key("Version").Int(out.version).Key("Tier").String(ssm::ToString(out.tier));
    return JsonReply::Raw(w.EndObject().Take());
  };

  ops["GetParameter"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, RequiredString(in, "Name", "name"));
    BERTH_RETURN_IF_ERROR(AuthorizeParameter(ctx, ssm, "GetParameter", name));
    BERTH_TRY(ssm::ParameterValue p, ssm.GetParameter(name, Decryption(ctx, in)));
    JsonWriter w;
    w.BeginObject().Key("Parameter");
    WriteParameter(w, p);
    return JsonReply::Raw(w.EndObject().Take());
  };

  ops["GetParameters"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto names, RequiredStrings(in, "Names", "names"));
    // One refused name refuses the whole call, as IAM does for AWS.
    for (const std::string& name : names) {
      BERTH_RETURN_IF_ERROR(AuthorizeParameter(ctx, ssm, "GetParameters", name));
    }
    BERTH_TRY(ssm::GetParametersResult result, ssm.GetParameters(names, Decryption(ctx, in)));
    JsonWriter w;
    w.BeginObject().Key("Parameters").BeginArray();
    for (const ssm::ParameterValue& p : result.parameters) {
      WriteParameter(w, p);
    }
    w.EndArray().Key("InvalidParameters").BeginArray();
    for (const std::string& name : result.invalid_parameters) {
      w.String(name);
    }
    return JsonReply::Raw(w.EndArray().EndObject().Take());
  };

  ops["GetParametersByPath"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    ssm::GetParametersByPathRequest r;
    BERTH_TRY(r.path, RequiredString(in, "Path", "path"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "GetParametersByPath", ssm.PathArn(r.path)));
    r.recursive = OptBool(in, "Recursive");
    BERTH_TRY(r.filters, StringFilters(in));
    r.decryption = Decryption(ctx, in);
    r.max_results = OptInt(in, "MaxResults");
    r.next_token = OptString(in, "NextToken").value_or("");
    BERTH_TRY(auto page, ssm.GetParametersByPath(r));
    JsonWriter w;
    w.BeginObject().Key("Parameters").BeginArray();
    for (const ssm::ParameterValue& p : page.items) {
      WriteParameter(w, p);
    }
    w.EndArray();
    if (!page.next_token.empty()) {
      w.Key("NextToken").String(page.next_token);
    }
    return JsonReply::Raw(w.EndObject().Take());
  };

  ops["DeleteParameter"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, RequiredString(in, "Name", "name"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "DeleteParameter", ssm.ParameterArn(name)));
    BERTH_RETURN_IF_ERROR(ssm.DeleteParameter(name));
    return json::object();
  };

  ops["DeleteParameters"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto names, RequiredStrings(in, "Names", "names"));
    for (const std::string& name : names) {
      BERTH_RETURN_IF_ERROR(Authorize(ctx, "DeleteParameters", ssm.ParameterArn(name)));
    }
    BERTH_TRY(ssm::DeleteParametersResult result, ssm.DeleteParameters(names));
    return json{{"DeletedParameters", result.deleted}, {"InvalidParameters", result.invalid}};
  };

  ops["DescribeParameters"] = [&ssm](const ApiContext&, const json& in) -> Result<JsonReply> {
    ssm::DescribeParametersRequest r;
    for (const json& f : List(in, "Filters")) {
      ssm::ParametersFilter filter;
      BERTH_TRY(filter.key, RequiredString(f, "Key", "filters.member.key"));
      BERTH_TRY(filter.values, RequiredStrings(f, "Values", "filters.member.values"));
      r.filters.push_back(std::move(filter));
    }
    BERTH_TRY(r.parameter_filters, StringFilters(in));
    r.max_results = OptInt(in, "MaxResults");
    r.next_token = OptString(in, "NextToken").value_or("");
    BERTH_TRY(auto page, ssm.DescribeParameters(r));
    json params = json::array();
    for (const ssm::ParameterMetadata& m : page.items) {
      json j = VersionJson(m.name, m.latest);
      j["ARN"] = m.arn;
      params.push_back(std::move(j));
    }
    json out = {{"Parameters", params}};
    AddNextToken(out, page);
    return out;
  };

  ops["GetParameterHistory"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    ssm::GetParameterHistoryRequest r;
    BERTH_TRY(r.name, RequiredString(in, "Name", "name"));
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "GetParameterHistory", ssm.ParameterArn(r.name)));
    r.decryption = Decryption(ctx, in);
    r.max_results = OptInt(in, "MaxResults");
    r.next_token = OptString(in, "NextToken").value_or("");
    BERTH_TRY(ssm::HistoryPage page, ssm.GetParameterHistory(r));
    json params = json::array();
    for (const ssm::ParameterVersion& v : page.items) {
      json j = VersionJson(page.name, v);
      j["Value"] = v.value;
      j["Labels"] = v.labels;
      params.push_back(std::move(j));
    }
    json out = {{"Parameters", params}};
    AddNextToken(out, page);
    return out;
  };

  ops["LabelParameterVersion"] = [&ssm](const ApiContext& ctx,
                                        const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, RequiredString(in, "Name", "name"));
    BERTH_TRY(auto labels, RequiredStrings(in, "Labels", "labels"));
    std::optional<int64_t> version;
    if (in.contains("ParameterVersion") && !in.at("ParameterVersion").is_null()) {
      version = in.at("ParameterVersion").get<int64_t>();
    }
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "LabelParameterVersion", ssm.ParameterArn(name)));
    BERTH_TRY(ssm::LabelResult out, ssm.LabelParameterVersion(name, version, labels));
    return json{{"InvalidLabels", out.invalid_labels}, {"ParameterVersion", out.version}};
  };

  ops["UnlabelParameterVersion"] = [&ssm](const ApiContext& ctx,
                                          const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, RequiredString(in, "Name", "name"));
    BERTH_TRY(auto labels, RequiredStrings(in, "Labels", "labels"));
    if (!in.contains("ParameterVersion") || in.at("ParameterVersion").is_null()) {
      return ssm::errors::Validation(
          "1 validation error detected: Value null at "
          "'parameterVersion' failed to satisfy constraint: Member "
          "must not be null");
    }
    int64_t version = in.at("ParameterVersion").get<int64_t>();
    BERTH_RETURN_IF_ERROR(Authorize(ctx, "UnlabelParameterVersion", ssm.ParameterArn(name)));
    BERTH_TRY(ssm::UnlabelResult out, ssm.UnlabelParameterVersion(name, version, labels));
    return json{{"RemovedLabels", out.removed_labels}, {"InvalidLabels", out.invalid_labels}};
  };

  ops["AddTagsToResource"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string type, RequiredString(in, "ResourceType", "resourceType"));
    BERTH_TRY(std::string id, RequiredString(in, "ResourceId", "resourceId"));
    if (!in.contains("Tags") || in.at("Tags").is_null()) {
      return ssm::errors::Validation(
          "1 validation error detected: Value null at 'tags' failed to "
          "satisfy constraint: Member must not be null");
    }
    BERTH_TRY(ssm::Tags tags, TagsOf(in, "Tags"));
    if (type == "Parameter") {
      BERTH_RETURN_IF_ERROR(Authorize(ctx, "AddTagsToResource", ssm.ParameterArn(id)));
    }
    BERTH_RETURN_IF_ERROR(ssm.AddTagsToResource(type, id, tags));
    return json::object();
  };

  ops["RemoveTagsFromResource"] = [&ssm](const ApiContext& ctx,
                                         const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string type, RequiredString(in, "ResourceType", "resourceType"));
    BERTH_TRY(std::string id, RequiredString(in, "ResourceId", "resourceId"));
    BERTH_TRY(auto keys, RequiredStrings(in, "TagKeys", "tagKeys"));
    if (type == "Parameter") {
      BERTH_RETURN_IF_ERROR(Authorize(ctx, "RemoveTagsFromResource", ssm.ParameterArn(id)));
    }
    BERTH_RETURN_IF_ERROR(ssm.RemoveTagsFromResource(type, id, keys));
    return json::object();
  };

  ops["ListTagsForResource"] = [&ssm](const ApiContext& ctx, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string type, RequiredString(in, "ResourceType", "resourceType"));
    BERTH_TRY(std::string id, RequiredString(in, "ResourceId", "resourceId"));
    if (type == "Parameter") {
      BERTH_RETURN_IF_ERROR(Authorize(ctx, "ListTagsForResource", ssm.ParameterArn(id)));
    }
    BERTH_TRY(ssm::Tags tags, ssm.ListTagsForResource(type, id));
    return json{{"TagList", TagsJson(tags)}};
  };

  return s;
}

}  // namespace berth::api
