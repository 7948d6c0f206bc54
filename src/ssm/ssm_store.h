#pragma once
// SsmStore: the only code that touches the ssm_* tables. A parameter is one row in
// ssm_parameters (name and tags, keyed by the parameter's canonical key) and one row per version
// in ssm_parameter_versions, so a PutParameter writes one version instead of rewriting a hundred.
// Rows hold JSON documents; SecureString values are stored only as the cipher's blob (base64).

#include <string>
#include <vector>

#include "core/result.h"
#include "ssm/ssm_types.h"
#include "store/db.h"

namespace berth::ssm {

// A version's stored document (what LoadAll reads back); ValidationException when a string in
// it is not valid UTF-8.
Result<std::string> VersionDocument(const ParameterVersion& version);

class SsmStore {
 public:
  explicit SsmStore(store::Db& db) : db_(db) {}
  // Creates or upgrades the tables (migration module "ssm").
  Status Migrate();

  // Every parameter with its versions, in canonical-key order.
  Result<std::vector<std::pair<std::string, Parameter>>> LoadAll();

  // Writes the parameter's name and tags (its versions are written one by one).
  Status PutParameter(const std::string& key, const Parameter& parameter);
  Status PutVersion(const std::string& key, const ParameterVersion& version);
  // Deletes every stored version up to `version` (inclusive).
  Status DeleteVersionsThrough(const std::string& key, int64_t version);
  // Deletes the parameter and all of its versions.
  Status DeleteParameter(const std::string& key);

 private:
  store::Db& db_;
};

}  // namespace berth::ssm
