#include "ssm/ssm_store.h"

#include <map>
#include <nlohmann/json.hpp>

#include "core/json_writer.h"
#include "core/utf8.h"

namespace berth::ssm {

NLOHMANN_JSON_SERIALIZE_ENUM(ParameterType, {{ParameterType::String, "String"},
                                             {ParameterType::StringList, "StringList"},
                                             {ParameterType::SecureString, "SecureString"}})
NLOHMANN_JSON_SERIALIZE_ENUM(ParameterTier,
                             {{ParameterTier::Standard, "Standard"},
                              {ParameterTier::Advanced, "Advanced"},
                              {ParameterTier::IntelligentTiering, "Intelligent-Tiering"}})

// The stored form: every field by its C++ name; missing fields keep their defaults, so adding a
// field needs no migration.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ParameterVersion, version, type, value, key_id,
                                                key_arn, description, allowed_pattern, data_type,
                                                tier, policies, labels, modified_ms, modified_user)

namespace {

struct ParameterRow {
  std::string name;
  Tags tags;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ParameterRow, name, tags)

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "ssm: parameters and their versions", R"sql(
CREATE TABLE IF NOT EXISTS ssm_parameters (
  key TEXT PRIMARY KEY,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ssm_parameter_versions (
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (key, version)
);
)sql"},
      // A PutParameter adds a version and drops the 101st: as a rowid table with a separate
      // primary-key index that wrote ~4 pages to the WAL per call; clustered on the key
      // (WITHOUT ROWID) it writes 2.
      {2, "ssm: versions clustered on (key, version)", R"sql(
CREATE TABLE ssm_parameter_versions_v2 (
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (key, version)
) WITHOUT ROWID;
INSERT INTO ssm_parameter_versions_v2 (key, version, doc)
  SELECT key, version, doc FROM ssm_parameter_versions;
DROP TABLE ssm_parameter_versions;
ALTER TABLE ssm_parameter_versions_v2 RENAME TO ssm_parameter_versions;
)sql"},
  };
  return kMigrations;
}

template <typename T>
Result<T> Decode(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return InternalError("corrupt JSON document in the ssm store");
  }
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    return InternalError(std::string("unreadable document in the ssm store: ") + e.what());
  }
}

// Text that is not UTF-8 cannot be stored as JSON; a CBOR client could send such text.
Error NotUtf8() {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException",
                   "A string in the request is not valid UTF-8.");
}

// nlohmann refuses to serialize invalid UTF-8.
Result<std::string> Dump(const nlohmann::json& j) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception&) {
    return NotUtf8();
  }
}

}  // namespace

// The same document as nlohmann::json(version).dump() (keys in its sorted order), written
// straight to text: building the tree and dumping it was a fifth of a PutParameter.
Result<std::string> VersionDocument(const ParameterVersion& v) {
  std::vector<const std::string*> texts = {&v.value,           &v.key_id,    &v.key_arn,
                                           &v.description,     &v.data_type, &v.policies,
                                           &v.allowed_pattern, &v.modified_user};
  for (const std::string& label : v.labels) {
    texts.push_back(&label);
  }
  for (const std::string* text : texts) {
    if (!core::IsValidUtf8(*text)) {
      return NotUtf8();
    }
  }
  core::JsonWriter w;
  w.BeginObject()
      .Key("allowed_pattern").String(v.allowed_pattern)
      .Key("data_type").String(v.data_type)
      .Key("description").String(v.description)
      .Key("key_arn").String(v.key_arn)
      .Key("key_id").String(v.key_id)
      .Key("labels").BeginArray();
  for (const std::string& label : v.labels) {
    w.String(label);
  }
  w.EndArray()
      .Key("modified_ms").Int(v.modified_ms)
      .Key("modified_user").String(v.modified_user)
      .Key("policies").String(v.policies)
      .Key("tier").String(ToString(v.tier))
      .Key("type").String(ToString(v.type))
      .Key("value").String(v.value)
      .Key("version").Int(v.version);
  return w.EndObject().Take();
}

Status SsmStore::Migrate() { return store::ApplyMigrations(db_, "ssm", Migrations()); }

Result<std::vector<std::pair<std::string, Parameter>>> SsmStore::LoadAll() {
  std::map<std::string, Parameter> by_key;
  {
    BERTH_TRY(auto stmt, db_.Prepare("SELECT key, doc FROM ssm_parameters"));
    while (true) {
      BERTH_TRY(bool row, stmt.Step());
      if (!row) {
        break;
      }
      BERTH_TRY(ParameterRow p, Decode<ParameterRow>(stmt.ColumnText(1)));
      by_key[stmt.ColumnText(0)] = Parameter{std::move(p.name), std::move(p.tags), {}};
    }
  }
  {
    BERTH_TRY(auto stmt, db_.Prepare("SELECT key, doc FROM ssm_parameter_versions "
                                     "ORDER BY key, version"));
    while (true) {
      BERTH_TRY(bool row, stmt.Step());
      if (!row) {
        break;
      }
      auto it = by_key.find(stmt.ColumnText(0));
      if (it == by_key.end()) {
        return InternalError("ssm store: a parameter version without its parameter");
      }
      BERTH_TRY(ParameterVersion v, Decode<ParameterVersion>(stmt.ColumnText(1)));
      it->second.versions.push_back(std::move(v));
    }
  }
  std::vector<std::pair<std::string, Parameter>> out;
  out.reserve(by_key.size());
  for (auto& [key, p] : by_key) {
    if (p.versions.empty()) {
      return InternalError("ssm store: a parameter without versions");
    }
    out.emplace_back(key, std::move(p));
  }
  return out;
}

Status SsmStore::PutParameter(const std::string& key, const Parameter& parameter) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO ssm_parameters (key, doc) VALUES (?, ?) "
                                   "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc"));
  BERTH_TRY(std::string doc, Dump(nlohmann::json(ParameterRow{parameter.name, parameter.tags})));
  stmt.Bind(1, key).Bind(2, doc);
  return stmt.Run();
}

Status SsmStore::PutVersion(const std::string& key, const ParameterVersion& version) {
  BERTH_TRY(auto stmt,
            db_.Prepare("INSERT INTO ssm_parameter_versions (key, version, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT(key, version) DO UPDATE SET doc = excluded.doc"));
  BERTH_TRY(std::string doc, VersionDocument(version));
  stmt.Bind(1, key).Bind(2, version.version).Bind(3, doc);
  return stmt.Run();
}

Status SsmStore::DeleteVersionsThrough(const std::string& key, int64_t version) {
  BERTH_TRY(auto stmt,
            db_.Prepare("DELETE FROM ssm_parameter_versions WHERE key = ? AND version <= ?"));
  stmt.Bind(1, key).Bind(2, version);
  return stmt.Run();
}

Status SsmStore::DeleteParameter(const std::string& key) {
  {
    BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM ssm_parameter_versions WHERE key = ?"));
    stmt.Bind(1, key);
    BERTH_RETURN_IF_ERROR(stmt.Run());
  }
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM ssm_parameters WHERE key = ?"));
  stmt.Bind(1, key);
  return stmt.Run();
}

}  // namespace berth::ssm
