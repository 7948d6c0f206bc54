#pragma once
// SsmService: Parameter Store (the facade). Keeps every parameter in memory, keyed by its
// canonical name, and writes through to SsmStore; SecureString values go through the
// SecureStringCipher port and are stored only as ciphertext.
//
// Names. "db" and "/db" are the same parameter (AWS treats a leading slash on a one-level name
// as optional); its canonical key is "/db" and its ARN arn:aws:ssm:R:A:parameter/db. A name with
// a '/' must start with one and has at most 15 levels. Get* accept "NAME:VERSION" and
// "NAME:LABEL" selectors and parameter ARNs wherever they take a name.
//
// Versions. Every PutParameter adds a version (1, 2, ...). At most 100 are kept: the 101st
// deletes the oldest, unless the oldest carries a label (ParameterMaxVersionLimitExceeded).
//
// Single-threaded: every call comes from the control loop. Nothing here logs a value.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "ssm/secure_string_cipher.h"
#include "ssm/ssm_store.h"
#include "ssm/ssm_types.h"
#include "store/db.h"

namespace berth::ssm {

struct SsmConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// How a read treats SecureString values.
struct DecryptOptions {
  bool with_decryption = false;
  // Called with the key ARN before each SecureString is decrypted (the handler checks
  // kms:Decrypt there); an error aborts the whole call. Empty: always allowed.
  std::function<Status(const std::string& key_arn)> authorize;
};

struct PutParameterRequest {
  std::string name;
  std::string value;
  std::optional<ParameterType> type;  // required on create; an overwrite keeps the old one
  std::optional<std::string> description, key_id, allowed_pattern, data_type, policies;
  std::optional<ParameterTier> tier;  // absent: the current tier (Standard for a new one)
  bool overwrite = false;
  Tags tags;             // only on create
  std::string user_arn;  // LastModifiedUser; "" = arn:aws:iam::ACCOUNT:root
};

struct PutParameterResult {
  int64_t version = 0;
  ParameterTier tier = ParameterTier::Standard;
};

// One parameter value as GetParameter(s) and GetParametersByPath return it.
struct ParameterValue {
  std::string name;
  std::string arn;
  ParameterType type = ParameterType::String;
  // The plaintext; for a SecureString read without decryption, base64 of the ciphertext.
  std::string value;
  int64_t version = 0;
  std::string selector;  // ":3" or ":prod" when the caller named one
  int64_t modified_ms = 0;
  std::string data_type;
};

struct GetParametersResult {
  std::vector<ParameterValue> parameters;
  std::vector<std::string> invalid_parameters;  // names (with selectors) that matched nothing
};

// A ParameterStringFilter: Key is Name, Type, KeyId, Path, Tier, DataType, Label or tag:KEY.
struct ParameterStringFilter {
  std::string key;
  std::optional<std::string> option;
  std::optional<std::vector<std::string>> values;
};

// The legacy DescribeParameters Filters (Key Name, Type or KeyId).
struct ParametersFilter {
  std::string key;
  std::vector<std::string> values;
};

struct GetParametersByPathRequest {
  std::string path;
  bool recursive = false;
  std::vector<ParameterStringFilter> filters;  // Type, KeyId, Label
  DecryptOptions decryption;
  std::optional<int> max_results;  // 1-10, default 10
  std::string next_token;
};

struct DescribeParametersRequest {
  std::vector<ParametersFilter> filters;
  std::vector<ParameterStringFilter> parameter_filters;
  std::optional<int> max_results;  // 1-50, default 10
  std::string next_token;
};

struct GetParameterHistoryRequest {
  std::string name;
  DecryptOptions decryption;
  std::optional<int> max_results;  // 1-50, default 50
  std::string next_token;
};

// DescribeParameters' view: the latest version's settings (its value is left empty).
struct ParameterMetadata {
  std::string name;
  std::string arn;
  ParameterVersion latest;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // "" on the last page
};

struct HistoryPage {
  std::string name;
  std::vector<ParameterVersion> items;  // `value` decrypted when asked, else as stored
  std::string next_token;
};

struct DeleteParametersResult {
  std::vector<std::string> deleted;
  std::vector<std::string> invalid;
};

struct LabelResult {
  int64_t version = 0;
  std::vector<std::string> invalid_labels;
};

struct UnlabelResult {
  std::vector<std::string> removed_labels;
  std::vector<std::string> invalid_labels;
};

class SsmService {
 public:
  SsmService(store::Db& db, core::Clock& clock, SecureStringCipher& cipher, SsmConfig config);
  // Creates the tables if needed and loads every parameter.
  Status Open();

  // Creates a parameter, or with overwrite adds a version to it. Fails with ValidationException
  // (name, value size for the tier, type, tags with overwrite, ...),
  // HierarchyLevelLimitExceededException, ParameterAlreadyExists, InvalidAllowedPatternException,
  // ParameterPatternMismatchException, InvalidKeyId (the cipher refused the key) or
  // ParameterMaxVersionLimitExceeded. Nothing changes on failure.
  Result<PutParameterResult> PutParameter(const PutParameterRequest& request);

  // The latest version, or the one a ":VERSION"/":LABEL" selector names. ParameterNotFound when
  // the name is unknown, ParameterVersionNotFound when the selector matches no version.
  Result<ParameterValue> GetParameter(const std::string& name, const DecryptOptions& decryption);
  // Up to 10 names; unknown names and selectors land in invalid_parameters, not in an error.
  // A refused decryption fails the whole call.
  Result<GetParametersResult> GetParameters(const std::vector<std::string>& names,
                                            const DecryptOptions& decryption);
  // The parameters one level below the path (or every level with recursive), in name order.
  Result<Page<ParameterValue>> GetParametersByPath(const GetParametersByPathRequest& request);

  // ParameterNotFound when the name is unknown.
  Status DeleteParameter(const std::string& name);
  // Up to 10 names; unknown ones are reported in `invalid`.
  Result<DeleteParametersResult> DeleteParameters(const std::vector<std::string>& names);

  Result<Page<ParameterMetadata>> DescribeParameters(const DescribeParametersRequest& request);
  // Every kept version, oldest first.
  Result<HistoryPage> GetParameterHistory(const GetParameterHistoryRequest& request);

  // Attaches labels to a version (the latest when `version` is absent), moving them off other
  // versions. Malformed labels are returned in invalid_labels and not attached. More than 10
  // labels on the version: ParameterVersionLabelLimitExceeded, nothing attached.
  Result<LabelResult> LabelParameterVersion(const std::string& name, std::optional<int64_t> version,
                                            const std::vector<std::string>& labels);
  // Removes labels from a version; labels the version does not carry are returned as invalid.
  Result<UnlabelResult> UnlabelParameterVersion(const std::string& name, int64_t version,
                                                const std::vector<std::string>& labels);

  // Tags on a parameter (resource_type "Parameter"; resource_id a name or ARN).
  // InvalidResourceType for other types, InvalidResourceId for an unknown parameter.
  Status AddTagsToResource(const std::string& resource_type, const std::string& resource_id,
                           const Tags& tags);
  Status RemoveTagsFromResource(const std::string& resource_type, const std::string& resource_id,
                                const std::vector<std::string>& keys);
  Result<Tags> ListTagsForResource(const std::string& resource_type,
                                   const std::string& resource_id) const;

  // The ARN IAM checks for a parameter name (a selector or an ARN is accepted and stripped):
  // arn:aws:ssm:R:A:parameter/NAME without a doubled slash.
  std::string ParameterArn(std::string_view name) const;
  // The ARN IAM checks for GetParametersByPath: arn:aws:ssm:R:A:parameter/PATH.
  std::string PathArn(std::string_view path) const;

 private:
  struct Resolved;

  std::string ArnOfKey(const std::string& key) const;
  std::optional<std::string> NameFromArn(std::string_view arn) const;
  Parameter* Find(const std::string& name);
  const Parameter* Find(const std::string& name) const;
  Result<Resolved> Resolve(const std::string& name_with_selector) const;
  Result<std::string> Reveal(const Parameter& parameter, const ParameterVersion& version,
                             const DecryptOptions& decryption);
  // The same, given the parameter's ARN (the encryption context) when the caller has it.
  Result<std::string> Reveal(const std::string& arn, const ParameterVersion& version,
                             const DecryptOptions& decryption);
  Result<ParameterValue> ValueOf(const Parameter& parameter, const ParameterVersion& version,
                                 std::string selector, const DecryptOptions& decryption);
  Result<Parameter*> TaggedParameter(const std::string& resource_type,
                                     const std::string& resource_id);

  store::Db& db_;
  SsmStore store_;
  core::Clock& clock_;
  SecureStringCipher& cipher_;
  SsmConfig config_;
  std::map<std::string, Parameter> parameters_;  // by canonical key ("/db", "/app/x")
};

// "/db" for "db" or "/db"; "/app/x" for "/app/x". Names with a '/' are kept as they are.
std::string CanonicalKey(std::string_view name);

}  // namespace berth::ssm
