#include "ssm/ssm_service.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include "core/arn.h"
#include "core/base64.h"
#include "core/text.h"
#include "ssm/ssm_errors.h"

namespace berth::ssm {

std::string_view ToString(ParameterType type) {
  switch (type) {
    case ParameterType::String:
      return "String";
    case ParameterType::StringList:
      return "StringList";
    case ParameterType::SecureString:
      return "SecureString";
  }
  return "String";
}

std::string_view ToString(ParameterTier tier) {
  switch (tier) {
    case ParameterTier::Standard:
      return "Standard";
    case ParameterTier::Advanced:
      return "Advanced";
    case ParameterTier::IntelligentTiering:
      return "Intelligent-Tiering";
  }
  return "Standard";
}

std::optional<ParameterType> ParseParameterType(std::string_view text) {
  for (ParameterType t :
       {ParameterType::String, ParameterType::StringList, ParameterType::SecureString}) {
    if (text == ToString(t)) {
      return t;
    }
  }
  return std::nullopt;
}

std::optional<ParameterTier> ParseParameterTier(std::string_view text) {
  for (ParameterTier t :
       {ParameterTier::Standard, ParameterTier::Advanced, ParameterTier::IntelligentTiering}) {
    if (text == ToString(t)) {
      return t;
    }
  }
  return std::nullopt;
}

std::string CanonicalKey(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('/') != std::string_view::npos) {
    return std::string(name);
  }
  return "/" + std::string(name);
}

namespace {

constexpr size_t kStandardValueMax = 4096;
constexpr size_t kAdvancedValueMax = 8192;
constexpr size_t kNameMax = 2048;
constexpr size_t kMaxVersions = 100;
// How many pushed-out versions may stay in the store before they are deleted together.
constexpr int64_t kStoreTrimBatch = 10;
constexpr size_t kMaxLabelsPerVersion = 10;
constexpr size_t kMaxLevels = 15;
constexpr size_t kMaxNamesPerCall = 10;
constexpr size_t kMaxTags = 50;

// AWS's words for a malformed name. The first is what PutParameter says for bad characters and
// for paths under "ssm"; the second for one-level names starting with aws/ssm.
constexpr char kNameRules[] =
    "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it "
    "can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of "
    "letters, numbers and the following 3 symbols .-_";
constexpr char kReservedPrefix[] =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
constexpr char kPathRules[] =
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    "with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). "
    "It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ "
    "(underscore). Special characters are not allowed. All sub-paths, if specified, must use the "
    "forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.";
constexpr char kTagsWithOverwrite[] =
    "Invalid request: tags and overwrite can't be used together. To create a parameter with "
    "tags, please remove overwrite flag. To update tags for an existing parameter, please use "
    "AddTagsToResource or RemoveTagsFromResource.";
constexpr char kStandardTooLarge[] =
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
    "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
    "information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "parameter-store-advanced-parameters.html";
constexpr char kAdvancedTooLarge[] =
    "The specified parameter value is too large. Advanced-tier parameters support a maximum "
    "parameter value of 8192 characters.";
constexpr char kNoDowngrade[] =
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
    "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the "
    "advanced parameter and recreate it as a standard parameter.";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         core::EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

bool ReservedPrefix(std::string_view segment) {
  return StartsWithNoCase(segment, "aws") || StartsWithNoCase(segment, "ssm");
}

std::string Trim(std::string_view text) {
  size_t b = text.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    return "";
  }
  size_t e = text.find_last_not_of(' ');
  return std::string(text.substr(b, e - b + 1));
}

// Java's List.toString, which AWS's validation messages use: "[a, b]".
std::string ListText(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + items[i];
  }
  return out + "]";
}

std::vector<std::string_view> Segments(std::string_view name) {
  std::vector<std::string_view> out;
  size_t start = name.starts_with('/') ? 1 : 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(name.substr(start));
      break;
    }
    out.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

Status ValidateNewName(const std::string& name) {
  if (name.empty()) {
    return errors::Validation(
        "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  if (name.size() > kNameMax) {
    return errors::Validation("1 validation error detected: Value '" + name +
                              "' at 'name' failed to satisfy constraint: Member must have length "
                              "less than or equal to 2048");
  }
  for (char c : name) {
    if (!IsNameChar(c) && c != '/') {
      return errors::Validation(kNameRules);
    }
  }
  bool is_path = name.find('/') != std::string::npos;
  std::vector<std::string_view> segments = Segments(name);
  if (is_path) {
    if (name.front() != '/') {
      return errors::Validation(kNameRules);
    }
    for (std::string_view s : segments) {
      if (s.empty()) {
        return errors::Validation(kNameRules);
      }
    }
  }
  if (ReservedPrefix(segments.front())) {
    if (!is_path) {
      return errors::Validation(kReservedPrefix);
    }
    // AWS's wording differs by prefix: /aws/... is reserved (public parameters live there).
    if (StartsWithNoCase(segments.front(), "aws")) {
      return errors::Validation("No access to reserved parameter name: " + name + ".");
    }
    return errors::Validation(kNameRules);
  }
  if (segments.size() > kMaxLevels) {
    return errors::HierarchyLevelLimitExceeded();
  }
  return OkStatus();
}

// A hierarchy path ("/", "/app", "/app/"), returned without its trailing slash.
std::optional<std::string> NormalizePath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return std::nullopt;
  }
  std::string out(path);
  if (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  if (out == "/") {
    return out;
  }
  for (std::string_view s : Segments(out)) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), IsNameChar)) {
      return std::nullopt;
    }
  }
  return out;
}

// The path a canonical key sits in: "/" for "/db", "/app" for "/app/db".
std::string_view ParentOf(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/")
                                                       : key.substr(0, slash);
}

bool InPath(std::string_view key, std::string_view path, bool recursive) {
  if (!recursive) {
    return ParentOf(key) == path;
  }
  return path == "/" ||
         (key.size() > path.size() + 1 && key.starts_with(path) && key[path.size()] == '/');
}

// Labels: letters, digits, '.', '-', '_'; not starting with a digit, "aws" or "ssm".
bool ValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 100 || (label.front() >= '0' && label.front() <= '9') ||
      ReservedPrefix(label)) {
    return false;
  }
  return std::all_of(label.begin(), label.end(), IsNameChar);
}

Status CheckLabelLengths(const std::vector<std::string>& labels) {
  if (labels.empty()) {
    return errors::Validation(
        "1 validation error detected: Value '[]' at 'labels' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1");
  }
  for (const std::string& l : labels) {
    if (l.empty() || l.size() > 100) {
      return errors::Validation("1 validation error detected: Value '" + ListText(labels) +
                                "' at 'labels' failed to satisfy constraint: Member must satisfy "
                                "constraint: [Member must have length less than or equal to 100, "
                                "Member must have length greater than or equal to 1]");
    }
  }
  return OkStatus();
}

Status CheckNameCount(const std::vector<std::string>& names) {
  if (names.empty()) {
    return errors::Validation(
        "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  if (names.size() > kMaxNamesPerCall) {
    return errors::Validation("1 validation error detected: Value '" + ListText(names) +
                              "' at 'names' failed to satisfy constraint: Member must have length "
                              "less than or equal to 10");
  }
  return OkStatus();
}

Result<size_t> PageSize(std::optional<int> requested, int max, int fallback) {
  if (!requested) {
    return static_cast<size_t>(fallback);
  }
  if (*requested < 1 || *requested > max) {
    return errors::Validation(
        "1 validation error detected: Value '" + std::to_string(*requested) +
        "' at 'maxResults' failed to satisfy constraint: Member must have value " +
        (*requested < 1 ? std::string("greater than or equal to 1")
                        : "less than or equal to " + std::to_string(max)));
  }
  return static_cast<size_t>(*requested);
}

// Paging tokens are opaque to clients: base64 of where the next page starts after.
std::string EncodeToken(std::string_view after) { return core::Base64Encode(after); }
Result<std::string> DecodeToken(const std::string& token) {
  auto decoded = core::Base64Decode(token);
  if (!decoded || decoded->empty()) {
    return errors::InvalidNextToken();
  }
  return *decoded;
}

std::optional<int64_t> ParseVersion(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return v;
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool HasPolicies(const std::string& policies) { return !policies.empty() && policies != "[]"; }

Result<ParameterTier> ChooseTier(std::optional<ParameterTier> requested,
                                 std::optional<ParameterTier> current, size_t size,
                                 bool has_policies) {
  bool advanced_now = current == ParameterTier::Advanced;
  ParameterTier tier = advanced_now ? ParameterTier::Advanced : ParameterTier::Standard;
  if (requested == ParameterTier::Standard) {
    if (advanced_now) {
      return errors::Validation(kNoDowngrade);
    }
  } else if (requested == ParameterTier::Advanced) {
    tier = ParameterTier::Advanced;
  } else if (requested == ParameterTier::IntelligentTiering) {
    // Intelligent-Tiering picks Advanced only when the request needs it.
    if (size > kStandardValueMax || has_policies) {
      tier = ParameterTier::Advanced;
    }
  }
  if (tier == ParameterTier::Standard && size > kStandardValueMax) {
    return errors::Validation(kStandardTooLarge);
  }
  if (tier == ParameterTier::Standard && has_policies) {
    return errors::Validation(
        "Standard tier parameters don't support parameter policies. To use parameter policies, "
        "upgrade the parameter to use the advanced-parameter tier.");
  }
  if (size > kAdvancedValueMax) {
    return errors::Validation(kAdvancedTooLarge);
  }
  return tier;
}

// AllowedPattern must match the whole value (AWS's own example, \d{1,4}, rejects "10,000").
//
// libstdc++'s default (backtracking) matcher recurses once per input character: some patterns
// need ~5 MB of stack for an 8 KiB value, so a caller could crash the server. Its
// __polynomial mode matches breadth-first with bounded recursion and polynomial time, but
// rejects back-references; those fall back to the backtracking matcher on short values only.
constexpr size_t kBacktrackingValueMax = 1024;

Status CheckPattern(const std::string& pattern, const std::string& value) {
  const Error invalid =
      errors::InvalidAllowedPattern("The request doesn't meet the regular expression requirement.");
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
  } catch (const std::regex_error& e) {
    if (e.code() != std::regex_constants::error_complexity) {
      return invalid;
    }
    if (value.size() > kBacktrackingValueMax) {
      return errors::InvalidAllowedPattern(
          "berth evaluates an AllowedPattern with back-references only against values of up "
          "to 1024 characters.");
    }
    try {
      re = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return invalid;
    }
  }
  bool matched = false;
  try {
    matched = std::regex_match(value, re);
  } catch (const std::regex_error&) {
    matched = false;  // too complex to evaluate: treat as not validated
  }
  if (!matched) {
    return errors::ParameterPatternMismatch(pattern);
  }
  return OkStatus();
}

Status CheckTags(const Tags& tags) {
  if (tags.size() > kMaxTags) {
    return errors::TooManyTagsError();
  }
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) {
      return errors::Validation(
          "1 validation error detected: Value '" + k +
          "' at 'tags.member.key' failed to satisfy constraint: Member must have length " +
          (k.empty() ? "greater than or equal to 1" : "less than or equal to 128"));
    }
    if (v.size() > 256) {
      return errors::Validation("1 validation error detected: Value '" + v +
                                "' at 'tags.member.value' failed to satisfy constraint: Member "
                                "must have length less than or equal to 256");
    }
  }
  return OkStatus();
}

// Later duplicates of a key win, as with AddTagsToResource.
void MergeTags(Tags& into, const Tags& more) {
  for (const auto& [k, v] : more) {
    auto it = std::find_if(into.begin(), into.end(), [&](const auto& t) { return t.first == k; });
    if (it == into.end()) {
      into.emplace_back(k, v);
    } else {
      it->second = v;
    }
  }
}

// The cipher speaks KMS; Parameter Store wraps KMS's refusal of a key in InvalidKeyId, quoting
// KMS's message the way AWS does. Access and availability problems keep their own codes.
Error KeyError(const Error& kms) {
  if (kms.kind == ErrorKind::AccessDenied || kms.kind == ErrorKind::Internal ||
      kms.kind == ErrorKind::Unavailable || kms.kind == ErrorKind::Throttled ||
      kms.kind == ErrorKind::Unauthenticated) {
    return kms;
  }
  return errors::InvalidKeyId(
      kms.message + " (Service: AWSKMS; Status Code: 400; Error Code: " + kms.aws_code + ")");
}

std::map<std::string, std::string> EncryptionContext(const std::string& arn) {
  return {{"PARAMETER_ARN", arn}};
}

// ---- ParameterStringFilters -------------------------------------------------------------

enum class FilterScope { ByPath, Describe };

std::string_view DefaultOption(std::string_view key) {
  return key == "Path" ? "OneLevel" : "Equals";
}

std::vector<std::string> OptionsFor(std::string_view key) {
  if (key == "Path") {
    return {"Recursive", "OneLevel"};
  }
  if (key == "Name") {
    return {"BeginsWith", "Equals", "Contains"};
  }
  if (key == "Label" || key == "Tier" || key == "DataType") {
    return {"Equals"};
  }
  return {"BeginsWith", "Equals"};
}

bool KnownFilterKey(std::string_view key) {
  static const std::set<std::string_view> kKeys = {"Name",  "Type", "KeyId",   "Path",
                                                   "Label", "Tier", "DataType"};
  return kKeys.count(key) > 0 || (key.starts_with("tag:") && key.size() > 4);
}

Status CheckFilters(const std::vector<ParameterStringFilter>& filters, FilterScope scope) {
  std::set<std::string> seen;
  for (size_t i = 0; i < filters.size(); ++i) {
    const ParameterStringFilter& f = filters[i];
    std::string at = "parameterFilters." + std::to_string(i + 1) + ".member.";
    if (f.key.size() > 132) {
      return errors::Validation("1 validation error detected: Value '" + f.key + "' at '" + at +
                                "key' failed to satisfy constraint: Member must have length less "
                                "than or equal to 132");
    }
    if (!KnownFilterKey(f.key)) {
      return errors::Validation("1 validation error detected: Value '" + f.key + "' at '" + at +
                                "key' failed to satisfy constraint: Member must satisfy regular "
                                "expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|"
                                "DataType");
    }
    if (f.option && (f.option->empty() || f.option->size() > 10)) {
      return errors::Validation("1 validation error detected: Value '" + *f.option + "' at '" + at +
                                "option' failed to satisfy constraint: Member must have "
                                "length less than or equal to 10");
    }
    if (f.values) {
      if (f.values->empty() || f.values->size() > 50) {
        return errors::Validation(
            "1 validation error detected: Value '" + ListText(*f.values) + "' at '" + at +
            "values' failed to satisfy constraint: Member "
            "must have length " +
            (f.values->empty() ? "greater than or equal to 1" : "less than or equal to 50"));
      }
      for (const std::string& v : *f.values) {
        if (v.empty() || v.size() > 1024) {
          return errors::Validation("1 validation error detected: Value '" + ListText(*f.values) +
                                    "' at '" + at +
                                    "values' failed to satisfy constraint: "
                                    "Member must satisfy constraint: [Member must have length "
                                    "less than or equal to 1024, Member must have length greater "
                                    "than or equal to 1]");
        }
      }
    }
    if (scope == FilterScope::ByPath && f.key != "Type" && f.key != "KeyId" && f.key != "Label") {
      return errors::InvalidFilterKey("The following filter key is not valid: " + f.key +
                                      ". Valid filter keys include: [Type, KeyId].");
    }
    if (scope == FilterScope::Describe && f.key == "Label") {
      return errors::InvalidFilterKey(
          "The following filter key is not valid: Label. Valid filter "
          "keys include: [Path, Name, Type, KeyId, Tier].");
    }
    if (!seen.insert(f.key).second) {
      return errors::Validation("The following filter is duplicated in the request: " + f.key +
                                ". A request can contain only one occurrence of a specific "
                                "filter.");
    }
    std::string option(f.option.value_or(std::string(DefaultOption(f.key))));
    std::vector<std::string> options = OptionsFor(f.key);
    if (std::find(options.begin(), options.end(), option) == options.end()) {
      return errors::InvalidFilterOption("The following filter option is not valid: " + option +
                                         ". Valid options include: " + ListText(options) + ".");
    }
    if (!f.values) {
      if (f.key.starts_with("tag:")) {
        continue;  // a tag filter without values asks whether the tag exists
      }
      return errors::InvalidFilterValue(
          "The following filter values are missing : null for "
          "filter key " +
          f.key);
    }
    for (const std::string& v : *f.values) {
      if (f.key == "Type" && !ParseParameterType(v)) {
        return errors::InvalidFilterValue("The following filter value is not valid: " + v +
                                          ". Valid values include: [String, StringList, "
                                          "SecureString]");
      }
      if (f.key == "Tier" && !ParseParameterTier(v)) {
        return errors::InvalidFilterValue("The following filter value is not valid: " + v +
                                          ". Valid values include: [Standard, Advanced, "
                                          "Intelligent-Tiering]");
      }
      if (f.key == "Path") {
        if (!NormalizePath(v)) {
          return errors::Validation(kPathRules);
        }
        std::vector<std::string_view> segments = Segments(v);
        if (!segments.empty() && ReservedPrefix(segments.front())) {
          return errors::Validation(
              "Filters for common parameters can't be prefixed with \"aws\" "
              "or \"ssm\" (case-insensitive).");
        }
      }
    }
  }
  return OkStatus();
}

bool MatchOption(std::string_view option, std::string_view subject,
                 const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if ((option == "Equals" && subject == v) ||
        (option == "BeginsWith" && subject.starts_with(v)) ||
        (option == "Contains" && subject.find(v) != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

std::string WithLeadingSlash(std::string_view text) {
  return text.starts_with('/') ? std::string(text) : "/" + std::string(text);
}

// REQUIRES: CheckFilters accepted `f`. Label filters are applied by the caller (they choose the
// version rather than test it).
bool Matches(const ParameterStringFilter& f, const std::string& key, const Parameter& p,
             const ParameterVersion& v) {
  std::string option(f.option.value_or(std::string(DefaultOption(f.key))));
  static const std::vector<std::string> kNone;
  const std::vector<std::string>& values = f.values ? *f.values : kNone;
  if (f.key == "Name") {
    // "db" and "/db" name one parameter, so Equals and BeginsWith compare both sides with a
    // leading slash; Contains looks anywhere in the canonical key.
    if (option == "Contains") {
      return MatchOption(option, key, values);
    }
    std::vector<std::string> slashed;
    for (const std::string& x : values) {
      slashed.push_back(WithLeadingSlash(x));
    }
    return MatchOption(option, key, slashed);
  }
  if (f.key == "Type") {
    return MatchOption(option, ToString(v.type), values);
  }
  if (f.key == "KeyId") {
    return v.type == ParameterType::SecureString &&
           (MatchOption(option, v.key_id, values) || MatchOption(option, v.key_arn, values));
  }
  if (f.key == "Path") {
    return std::any_of(values.begin(), values.end(), [&](const std::string& path) {
      return InPath(key, *NormalizePath(path), option == "Recursive");
    });
  }
  if (f.key == "Tier") {
    return MatchOption(option, ToString(v.tier), values);
  }
  if (f.key == "DataType") {
    return MatchOption(option, v.data_type, values);
  }
  if (f.key.starts_with("tag:")) {
    std::string_view tag = std::string_view(f.key).substr(4);
    auto it =
        std::find_if(p.tags.begin(), p.tags.end(), [&](const auto& t) { return t.first == tag; });
    return it != p.tags.end() && (!f.values || MatchOption(option, it->second, values));
  }
  return true;
}

}  // namespace

struct SsmService::Resolved {
  const Parameter* parameter = nullptr;
  const ParameterVersion* version = nullptr;
  std::string selector;  // ":3", ":prod" or ""
};

SsmService::SsmService(store::Db& db, core::Clock& clock, SecureStringCipher& cipher,
                       SsmConfig config)
    : db_(db), store_(db), clock_(clock), cipher_(cipher), config_(std::move(config)) {}

Status SsmService::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(auto all, store_.LoadAll());
  parameters_.clear();
  for (auto& [key, p] : all) {
    // Rows of versions already pushed out (deleted from the store in batches): not versions.
    if (p.versions.size() > kMaxVersions) {
      p.versions.erase(p.versions.begin(),
                       p.versions.end() - static_cast<std::ptrdiff_t>(kMaxVersions));
    }
    parameters_.emplace(key, std::move(p));
  }
  return OkStatus();
}

std::string SsmService::ArnOfKey(const std::string& key) const {
  // Built ~20 times per GetParameters call (IAM resources, encryption contexts): one buffer.
  std::string arn;
  arn.reserve(32 + config_.region.size() + config_.account_id.size() + key.size());
  arn.append("arn:aws:ssm:").append(config_.region).append(":").append(config_.account_id);
  arn.append(":parameter").append(key);
  return arn;
}

std::optional<std::string> SsmService::NameFromArn(std::string_view text) const {
  auto arn = core::ParseArn(text);
  if (!arn || arn->service != "ssm" || arn->region != config_.region ||
      arn->account != config_.account_id || !arn->resource.starts_with("parameter/")) {
    return std::nullopt;
  }
  std::string rest = arn->resource.substr(10);
  if (rest.empty()) {
    return std::nullopt;
  }
  return rest.find('/') == std::string::npos ? rest : "/" + rest;
}

std::string SsmService::ParameterArn(std::string_view name) const {
  std::string text = Trim(name);
  if (text.starts_with("arn:")) {
    auto from_arn = NameFromArn(text);
    if (!from_arn) {
      return text;  // another account's or region's parameter: IAM sees the ARN as given
    }
    text = *from_arn;
  }
  return ArnOfKey(CanonicalKey(text.substr(0, text.find(':'))));
}

std::string SsmService::PathArn(std::string_view path) const {
  std::string normalized = NormalizePath(path).value_or(std::string(path));
  return "arn:aws:ssm:" + config_.region + ":" + config_.account_id + ":parameter" + normalized;
}

const Parameter* SsmService::Find(const std::string& name) const {
  std::string text = Trim(name);
  if (text.starts_with("arn:")) {
    auto from_arn = NameFromArn(text);
    if (!from_arn) {
      return nullptr;
    }
    text = *from_arn;
  }
  auto it = parameters_.find(CanonicalKey(text));
  return it == parameters_.end() ? nullptr : &it->second;
}

Parameter* SsmService::Find(const std::string& name) {
  return const_cast<Parameter*>(static_cast<const SsmService*>(this)->Find(name));
}

Result<SsmService::Resolved> SsmService::Resolve(const std::string& name_with_selector) const {
  std::string text = Trim(name_with_selector);
  if (text.starts_with("arn:")) {
    auto from_arn = NameFromArn(text);
    if (!from_arn) {
      return errors::ParameterNotFound();
    }
    text = *from_arn;
  }
  size_t colon = text.find(':');
  std::string name = text.substr(0, colon);
  std::string selector = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (colon != std::string::npos && (selector.empty() || selector.find(':') != std::string::npos)) {
    return errors::ParameterNotFound();
  }
  auto it = parameters_.find(CanonicalKey(name));
  if (it == parameters_.end()) {
    return errors::ParameterNotFound();
  }
  const Parameter& p = it->second;
  Resolved r{&p, &p.latest(), ""};
  if (selector.empty()) {
    return r;
  }
  r.selector = ":" + selector;
  r.version = nullptr;
  for (const ParameterVersion& v : p.versions) {
    bool hit = AllDigits(selector)
                   ? ParseVersion(selector) == v.version
                   : std::find(v.labels.begin(), v.labels.end(), selector) != v.labels.end();
    if (hit) {
      r.version = &v;
      break;
    }
  }
  if (r.version == nullptr) {
    return errors::ParameterVersionNotFound(selector, p.name);
  }
  return r;
}

Result<std::string> SsmService::Reveal(const Parameter& parameter, const ParameterVersion& version,
                                       const DecryptOptions& decryption) {
  return Reveal(ArnOfKey(CanonicalKey(parameter.name)), version, decryption);
}

Result<std::string> SsmService::Reveal(const std::string& arn, const ParameterVersion& version,
                                       const DecryptOptions& decryption) {
  if (version.type != ParameterType::SecureString || !decryption.with_decryption) {
    return version.value;
  }
  if (decryption.authorize) {
    BERTH_RETURN_IF_ERROR(decryption.authorize(version.key_arn));
  }
  auto blob = core::Base64Decode(version.value);
  if (!blob) {
    return InternalError("ssm: a stored SecureString is not valid base64");
  }
  auto out = cipher_.Decrypt(*blob, EncryptionContext(arn));
  if (!out.ok()) {
    return KeyError(out.error());
  }
  return std::move(out->plaintext);
}

Result<ParameterValue> SsmService::ValueOf(const Parameter& parameter,
                                           const ParameterVersion& version, std::string selector,
                                           const DecryptOptions& decryption) {
  ParameterValue out;
  out.arn = ArnOfKey(CanonicalKey(parameter.name));
  BERTH_TRY(std::string value, Reveal(out.arn, version, decryption));
  out.name = parameter.name;
  out.type = version.type;
  out.value = std::move(value);
  out.version = version.version;
  out.selector = std::move(selector);
  out.modified_ms = version.modified_ms;
  out.data_type = version.data_type;
  return out;
}

Result<PutParameterResult> SsmService::PutParameter(const PutParameterRequest& request) {
  std::string name = Trim(request.name);
  BERTH_RETURN_IF_ERROR(ValidateNewName(name));
  if (request.overwrite && !request.tags.empty()) {
    return errors::Validation(kTagsWithOverwrite);
  }
  if (request.value.empty()) {
    return errors::Validation(
        "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  std::string key = CanonicalKey(name);
  auto found = parameters_.find(key);
  Parameter* existing = found == parameters_.end() ? nullptr : &found->second;
  if (existing != nullptr && !request.overwrite) {
    return errors::ParameterAlreadyExists();
  }
  // An overwrite keeps every setting the request leaves out (type, key, description, ...).
  const ParameterVersion* prev = existing != nullptr ? &existing->latest() : nullptr;

  ParameterVersion v;
  if (request.type) {
    v.type = *request.type;
  } else if (prev != nullptr) {
    v.type = prev->type;
  } else {
    return errors::Validation("A parameter type is required when you create a parameter.");
  }
  if (request.key_id && v.type != ParameterType::SecureString) {
    return errors::Validation("KeyId is required for SecureString type parameter only.");
  }
  v.description = request.description.value_or(prev != nullptr ? prev->description : "");
  if (v.description.size() > 1024) {
    return errors::Validation(
        "1 validation error detected: Value at 'description' failed to "
        "satisfy constraint: Member must have length less than or equal "
        "to 1024");
  }
  v.allowed_pattern =
      request.allowed_pattern.value_or(prev != nullptr ? prev->allowed_pattern : "");
  if (v.allowed_pattern.size() > 1024) {
    return errors::Validation(
        "1 validation error detected: Value at 'allowedPattern' failed to "
        "satisfy constraint: Member must have length less than or equal "
        "to 1024");
  }
  v.data_type = request.data_type.value_or(prev != nullptr ? prev->data_type : "text");
  if (v.data_type.empty()) {
    v.data_type = "text";
  }
  // aws:ec2:image values are checked by AWS asynchronously (the PutParameter itself succeeds),
  // so berth accepts any value for it.
  if (v.data_type != "text" && v.data_type != "aws:ec2:image" &&
      v.data_type != "aws:ssm:integration") {
    return errors::Validation("The following data type is not supported: " + v.data_type +
                              " (Data type names are all lowercase.)");
  }
  v.policies = request.policies.value_or(prev != nullptr ? prev->policies : "");
  BERTH_TRY(v.tier,
            ChooseTier(request.tier, prev != nullptr ? std::optional(prev->tier) : std::nullopt,
                       request.value.size(), HasPolicies(v.policies)));
  if (!v.allowed_pattern.empty()) {
    BERTH_RETURN_IF_ERROR(CheckPattern(v.allowed_pattern, request.value));
  }
  Tags tags;
  MergeTags(tags, request.tags);
  BERTH_RETURN_IF_ERROR(CheckTags(tags));

  // The 101st version pushes the oldest out, unless a label pins it.
  std::optional<int64_t> dropped;
  if (existing != nullptr && existing->versions.size() >= kMaxVersions) {
    const ParameterVersion& oldest = existing->versions.front();
    if (!oldest.labels.empty()) {
      return errors::ParameterMaxVersionLimitExceeded(existing->name, oldest.version);
    }
    dropped = oldest.version;
  }
  v.version = prev != nullptr ? prev->version + 1 : 1;
  v.modified_ms = clock_.NowMillis();
  v.modified_user =
      request.user_arn.empty() ? "arn:aws:iam::" + config_.account_id + ":root" : request.user_arn;

  // Encrypt last, once the request is known to be acceptable.
  if (v.type == ParameterType::SecureString) {
    std::string key_ref = request.key_id.value_or(
        prev != nullptr && prev->type == ParameterType::SecureString ? prev->key_id : "");
    std::string cipher_ref = key_ref == kDefaultKeyId ? "" : key_ref;
    std::string arn = ArnOfKey(key);
    auto encrypted = cipher_.Encrypt(cipher_ref, request.value, EncryptionContext(arn));
    if (!encrypted.ok()) {
      return KeyError(encrypted.error());
    }
    v.value = core::Base64Encode(encrypted->blob);
    v.key_id = key_ref.empty() ? std::string(kDefaultKeyId) : key_ref;
    v.key_arn = encrypted->key_arn;
  } else {
    v.value = request.value;
  }

  {
    store::Transaction txn(db_);
    if (existing == nullptr) {
      BERTH_RETURN_IF_ERROR(store_.PutParameter(key, Parameter{name, tags, {}}));
    }
    BERTH_RETURN_IF_ERROR(store_.PutVersion(key, v));
    // Versions pushed out leave the store ten at a time: deleting the oldest row on every
    // call wrote one more page to the WAL per PutParameter. Open() ignores the stale rows.
    if (dropped && *dropped % kStoreTrimBatch == 0) {
      BERTH_RETURN_IF_ERROR(store_.DeleteVersionsThrough(key, *dropped));
    }
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  PutParameterResult result{v.version, v.tier};
  if (existing == nullptr) {
    parameters_.emplace(key, Parameter{name, std::move(tags), {std::move(v)}});
  } else {
    if (dropped) {
      existing->versions.erase(existing->versions.begin());
    }
    existing->versions.push_back(std::move(v));
  }
  return result;
}

Result<ParameterValue> SsmService::GetParameter(const std::string& name,
                                                const DecryptOptions& decryption) {
  BERTH_TRY(Resolved r, Resolve(name));
  return ValueOf(*r.parameter, *r.version, r.selector, decryption);
}

Result<GetParametersResult> SsmService::GetParameters(const std::vector<std::string>& names,
                                                      const DecryptOptions& decryption) {
  BERTH_RETURN_IF_ERROR(CheckNameCount(names));
  GetParametersResult out;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      continue;  // AWS answers each distinct name once
    }
    auto r = Resolve(name);
    if (!r.ok()) {
      if (r.error().kind != ErrorKind::NotFound) {
        return std::move(r).take_error();
      }
      out.invalid_parameters.push_back(name);
      continue;
    }
    BERTH_TRY(ParameterValue value, ValueOf(*r->parameter, *r->version, r->selector, decryption));
    out.parameters.push_back(std::move(value));
  }
  return out;
}

Result<Page<ParameterValue>> SsmService::GetParametersByPath(
    const GetParametersByPathRequest& request) {
  auto path = NormalizePath(request.path);
  if (!path) {
    return errors::Validation(kPathRules);
  }
  BERTH_TRY(size_t size, PageSize(request.max_results, 10, 10));
  BERTH_RETURN_IF_ERROR(CheckFilters(request.filters, FilterScope::ByPath));
  const ParameterStringFilter* label_filter = nullptr;
  for (const ParameterStringFilter& f : request.filters) {
    if (f.key == "Label") {
      label_filter = &f;
    }
  }
  // Every key below the path starts with "PATH/" (or "/" for the root): start there.
  std::string prefix = *path == "/" ? "/" : *path + "/";
  auto it = parameters_.lower_bound(prefix);
  if (!request.next_token.empty()) {
    BERTH_TRY(std::string after, DecodeToken(request.next_token));
    auto resume = parameters_.upper_bound(after);
    if (it != parameters_.end() && (resume == parameters_.end() || it->first < resume->first)) {
      it = resume;
    }
  }
  Page<ParameterValue> page;
  std::string last_key;
  for (; it != parameters_.end() && it->first.starts_with(prefix); ++it) {
    const auto& [key, p] = *it;
    if (!InPath(key, *path, request.recursive)) {
      continue;
    }
    // A Label filter selects the labelled version instead of the latest one.
    const ParameterVersion* v = &p.latest();
    if (label_filter != nullptr) {
      v = nullptr;
      for (const ParameterVersion& candidate : p.versions) {
        for (const std::string& l : *label_filter->values) {
          if (std::find(candidate.labels.begin(), candidate.labels.end(), l) !=
              candidate.labels.end()) {
            v = &candidate;
          }
        }
      }
      if (v == nullptr) {
        continue;
      }
    }
    bool match = std::all_of(request.filters.begin(), request.filters.end(), [&](const auto& f) {
      return f.key == "Label" || Matches(f, key, p, *v);
    });
    if (!match) {
      continue;
    }
    if (page.items.size() == size) {
      page.next_token = EncodeToken(last_key);
      break;
    }
    BERTH_TRY(ParameterValue value, ValueOf(p, *v, "", request.decryption));
    page.items.push_back(std::move(value));
    last_key = key;
  }
  return page;
}

Status SsmService::DeleteParameter(const std::string& name) {
  const Parameter* p = Find(name);
  if (p == nullptr) {
    return errors::ParameterNotFound();
  }
  std::string key = CanonicalKey(p->name);
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.DeleteParameter(key));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  parameters_.erase(key);
  return OkStatus();
}

Result<DeleteParametersResult> SsmService::DeleteParameters(const std::vector<std::string>& names) {
  BERTH_RETURN_IF_ERROR(CheckNameCount(names));
  DeleteParametersResult out;
  for (const std::string& name : names) {
    Status s = DeleteParameter(name);
    if (s.ok()) {
      out.deleted.push_back(name);
    } else if (s.error().kind == ErrorKind::NotFound) {
      out.invalid.push_back(name);
    } else {
      return std::move(s).take_error();
    }
  }
  return out;
}

Result<Page<ParameterMetadata>> SsmService::DescribeParameters(
    const DescribeParametersRequest& request) {
  if (!request.filters.empty() && !request.parameter_filters.empty()) {
    return errors::Validation(
        "You can use either Filters or ParameterFilters in a single request.");
  }
  // The legacy Filters become their ParameterStringFilter equivalents (Name matched as a
  // prefix, Type and KeyId exactly).
  std::vector<ParameterStringFilter> filters = request.parameter_filters;
  for (size_t i = 0; i < request.filters.size(); ++i) {
    const ParametersFilter& f = request.filters[i];
    if (f.key != "Name" && f.key != "Type" && f.key != "KeyId") {
      return errors::Validation("1 validation error detected: Value '" + f.key + "' at 'filters." +
                                std::to_string(i + 1) +
                                ".member.key' failed to satisfy constraint: Member must satisfy "
                                "enum value set: [Name, Type, KeyId]");
    }
    filters.push_back({f.key, f.key == "Name" ? "BeginsWith" : "Equals", f.values});
  }
  BERTH_RETURN_IF_ERROR(CheckFilters(filters, FilterScope::Describe));
  BERTH_TRY(size_t size, PageSize(request.max_results, 50, 10));
  auto it = parameters_.begin();
  if (!request.next_token.empty()) {
    BERTH_TRY(std::string after, DecodeToken(request.next_token));
    it = parameters_.upper_bound(after);
  }
  Page<ParameterMetadata> page;
  std::string last_key;
  for (; it != parameters_.end(); ++it) {
    const auto& [key, p] = *it;
    const ParameterVersion& v = p.latest();
    bool match = std::all_of(filters.begin(), filters.end(),
                             [&](const auto& f) { return Matches(f, key, p, v); });
    if (!match) {
      continue;
    }
    if (page.items.size() == size) {
      page.next_token = EncodeToken(last_key);
      break;
    }
    ParameterMetadata m{p.name, ArnOfKey(key), v};
    m.latest.value.clear();
    page.items.push_back(std::move(m));
    last_key = key;
  }
  return page;
}

Result<HistoryPage> SsmService::GetParameterHistory(const GetParameterHistoryRequest& request) {
  const Parameter* p = Find(request.name);
  if (p == nullptr) {
    return errors::ParameterNotFound();
  }
  BERTH_TRY(size_t size, PageSize(request.max_results, 50, 50));
  int64_t after = 0;
  if (!request.next_token.empty()) {
    BERTH_TRY(std::string token, DecodeToken(request.next_token));
    auto parsed = ParseVersion(token);
    if (!parsed) {
      return errors::InvalidNextToken();
    }
    after = *parsed;
  }
  HistoryPage page;
  page.name = p->name;
  for (const ParameterVersion& v : p->versions) {
    if (v.version <= after) {
      continue;
    }
    if (page.items.size() == size) {
      page.next_token = EncodeToken(std::to_string(page.items.back().version));
      break;
    }
    ParameterVersion copy = v;
    BERTH_TRY(copy.value, Reveal(*p, v, request.decryption));
    page.items.push_back(std::move(copy));
  }
  return page;
}

Result<LabelResult> SsmService::LabelParameterVersion(const std::string& name,
                                                      std::optional<int64_t> version,
                                                      const std::vector<std::string>& labels) {
  Parameter* p = Find(name);
  if (p == nullptr) {
    return errors::ParameterNotFound();
  }
  BERTH_RETURN_IF_ERROR(CheckLabelLengths(labels));
  auto target = p->versions.end() - 1;
  if (version) {
    target = std::find_if(p->versions.begin(), p->versions.end(),
                          [&](const ParameterVersion& v) { return v.version == *version; });
    if (target == p->versions.end()) {
      return errors::ParameterVersionNotFound(std::to_string(*version), p->name);
    }
  }
  LabelResult out;
  out.version = target->version;
  std::vector<std::string> valid;
  for (const std::string& l : labels) {
    if (!ValidLabel(l)) {
      out.invalid_labels.push_back(l);
    } else if (std::find(valid.begin(), valid.end(), l) == valid.end()) {
      valid.push_back(l);
    }
  }
  std::vector<std::string> merged = target->labels;
  for (const std::string& l : valid) {
    if (std::find(merged.begin(), merged.end(), l) == merged.end()) {
      merged.push_back(l);
    }
  }
  if (merged.size() > kMaxLabelsPerVersion) {
    return errors::ParameterVersionLabelLimitExceeded();
  }
  // A label names one version of a parameter: attaching it here moves it off any other.
  std::vector<ParameterVersion> changed;
  for (ParameterVersion& v : p->versions) {
    if (&v == &*target) {
      if (v.labels != merged) {
        changed.push_back(v);
        changed.back().labels = merged;
      }
      continue;
    }
    std::vector<std::string> kept;
    for (const std::string& l : v.labels) {
      if (std::find(valid.begin(), valid.end(), l) == valid.end()) {
        kept.push_back(l);
      }
    }
    if (kept.size() != v.labels.size()) {
      changed.push_back(v);
      changed.back().labels = std::move(kept);
    }
  }
  std::string key = CanonicalKey(p->name);
  store::Transaction txn(db_);
  for (const ParameterVersion& v : changed) {
    BERTH_RETURN_IF_ERROR(store_.PutVersion(key, v));
  }
  BERTH_RETURN_IF_ERROR(txn.Commit());
  for (ParameterVersion& c : changed) {
    for (ParameterVersion& v : p->versions) {
      if (v.version == c.version) {
        v.labels = std::move(c.labels);
      }
    }
  }
  return out;
}

Result<UnlabelResult> SsmService::UnlabelParameterVersion(const std::string& name, int64_t version,
                                                          const std::vector<std::string>& labels) {
  Parameter* p = Find(name);
  if (p == nullptr) {
    return errors::ParameterNotFound();
  }
  BERTH_RETURN_IF_ERROR(CheckLabelLengths(labels));
  auto target = std::find_if(p->versions.begin(), p->versions.end(),
                             [&](const ParameterVersion& v) { return v.version == version; });
  if (target == p->versions.end()) {
    return errors::ParameterVersionNotFound(std::to_string(version), p->name);
  }
  UnlabelResult out;
  std::vector<std::string> kept = target->labels;
  for (const std::string& l : labels) {
    auto hit = std::find(kept.begin(), kept.end(), l);
    if (hit == kept.end()) {
      out.invalid_labels.push_back(l);
    } else {
      kept.erase(hit);
      out.removed_labels.push_back(l);
    }
  }
  if (!out.removed_labels.empty()) {
    ParameterVersion updated = *target;
    updated.labels = kept;
    store::Transaction txn(db_);
    BERTH_RETURN_IF_ERROR(store_.PutVersion(CanonicalKey(p->name), updated));
    BERTH_RETURN_IF_ERROR(txn.Commit());
    target->labels = std::move(kept);
  }
  return out;
}

Result<Parameter*> SsmService::TaggedParameter(const std::string& resource_type,
                                               const std::string& resource_id) {
  if (resource_type != "Parameter") {
    return errors::InvalidResourceType();
  }
  Parameter* p = Find(resource_id);
  if (p == nullptr) {
    return errors::InvalidResourceId();
  }
  return p;
}

Status SsmService::AddTagsToResource(const std::string& resource_type,
                                     const std::string& resource_id, const Tags& tags) {
  BERTH_TRY(Parameter * p, TaggedParameter(resource_type, resource_id));
  Tags merged = p->tags;
  MergeTags(merged, tags);
  BERTH_RETURN_IF_ERROR(CheckTags(merged));
  Parameter row{p->name, merged, {}};
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.PutParameter(CanonicalKey(p->name), row));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  p->tags = std::move(merged);
  return OkStatus();
}

Status SsmService::RemoveTagsFromResource(const std::string& resource_type,
                                          const std::string& resource_id,
                                          const std::vector<std::string>& keys) {
  BERTH_TRY(Parameter * p, TaggedParameter(resource_type, resource_id));
  Tags kept;
  for (const auto& t : p->tags) {
    if (std::find(keys.begin(), keys.end(), t.first) == keys.end()) {
      kept.push_back(t);
    }
  }
  Parameter row{p->name, kept, {}};
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.PutParameter(CanonicalKey(p->name), row));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  p->tags = std::move(kept);
  return OkStatus();
}

Result<Tags> SsmService::ListTagsForResource(const std::string& resource_type,
                                             const std::string& resource_id) const {
  if (resource_type != "Parameter") {
    return errors::InvalidResourceType();
  }
  const Parameter* p = Find(resource_id);
  if (p == nullptr) {
    return errors::InvalidResourceId();
  }
  return p->tags;
}

}  // namespace berth::ssm
