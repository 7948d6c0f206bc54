#include "secretsmanager/secrets_service.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/arn.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/text.h"
#include "secretsmanager/secrets_errors.h"

namespace berth::secretsmanager {

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr size_t kMaxValueBytes = 65536;
constexpr size_t kMaxTags = 50;
// AWS trims deprecated versions once a secret has more than this many, sparing young ones.
constexpr size_t kVersionsKept = 100;
constexpr int64_t kVersionMinAgeMs = kDayMs;

// Appends rather than concatenates: g++ 12 warns falsely (-Wrestrict) on "'" + string + "'".
std::string Quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

std::string LengthAtMost(const std::string& member, size_t max) {
  return "1 validation error detected: Value at '" + member +
         "' failed to satisfy constraint: Member must have length less than or equal to " +
         std::to_string(max);
}
std::string LengthAtLeast(const std::string& member, size_t min) {
  return "1 validation error detected: Value at '" + member +
         "' failed to satisfy constraint: Member must have length greater than or equal to " +
         std::to_string(min);
}

Status CheckLength(const std::string& member, std::string_view value, size_t min, size_t max) {
  if (value.size() < min) {
    return errors::Validation(LengthAtLeast(member, min));
  }
  if (value.size() > max) {
    return errors::Validation(LengthAtMost(member, max));
  }
  return OkStatus();
}

// ASCII letters, digits and /_+=.@- (CreateSecret's Name rule).
Status ValidateName(const std::string& name) {
  BERTH_RETURN_IF_ERROR(CheckLength("name", name, 1, 512));
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '=' || c == '.' || c == '@' || c == '-';
    if (!ok) {
      return errors::InvalidParameter(
          "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
          "following: -/_+=.@!");
    }
  }
  return OkStatus();
}

Status ValidateToken(const std::string& token) {
  if (token.empty()) {
    return OkStatus();  // berth generates one (AWS requires SDK-less callers to send it)
  }
  return CheckLength("clientRequestToken", token, 32, 64);
}

// Exactly one of the two, or neither when `required` is false.
Result<std::optional<SecretValue>> ValueOf(const std::optional<std::string>& text,
                                           const std::optional<std::string>& binary,
                                           bool required) {
  if (text && binary) {
    return errors::InvalidParameter(
        "You can't specify both a binary secret value and a string "
        "secret value in the same secret.");
  }
  if (!text && !binary) {
    if (required) {
      return errors::InvalidRequest("You must provide either SecretString or SecretBinary.");
    }
    return std::optional<SecretValue>();
  }
  SecretValue v{binary.has_value(), binary ? *binary : *text};
  if (v.bytes.size() > kMaxValueBytes) {
    return errors::Validation(
        LengthAtMost(v.binary ? "secretBinary" : "secretString", kMaxValueBytes));
  }
  return std::optional<SecretValue>(std::move(v));
}

Status ValidateTags(const Tags& tags) {
  for (const auto& [key, value] : tags) {
    BERTH_RETURN_IF_ERROR(CheckLength("tags.member.key", key, 1, 128));
    BERTH_RETURN_IF_ERROR(CheckLength("tags.member.value", value, 0, 256));
    if (key.starts_with("aws:")) {
      return errors::InvalidParameter(
          "Tag keys beginning with the aws: prefix are reserved for "
          "AWS use: " +
          Quote(key));
    }
  }
  return OkStatus();
}

Status ValidateStages(const std::vector<std::string>& stages) {
  if (stages.size() > 20) {
    return errors::Validation(
        "1 validation error detected: Value at 'versionStages' failed to "
        "satisfy constraint: Member must have length less than or equal "
        "to 20");
  }
  for (const std::string& s : stages) {
    BERTH_RETURN_IF_ERROR(CheckLength("versionStages.member", s, 1, 256));
  }
  return OkStatus();
}

Status ValidateMaxResults(const std::optional<int>& max_results) {
  if (max_results && (*max_results < 1 || *max_results > 100)) {
    return errors::Validation(
        "1 validation error detected: Value '" + std::to_string(*max_results) +
        "' at 'maxResults' failed to satisfy constraint: Member must have "
        "value " +
        (*max_results < 1 ? "greater than or equal to 1" : "less than or equal to 100"));
  }
  return OkStatus();
}

// "", alias/aws/secretsmanager and its alias ARN all name the account's default key.
bool IsDefaultKey(const std::string& key_ref) {
  return key_ref.empty() || key_ref == "alias/aws/secretsmanager" ||
         key_ref.ends_with(":alias/aws/secretsmanager");
}

std::map<std::string, std::string> ContextFor(const std::string& arn,
                                              const std::string& version_id) {
  return {{"SecretARN", arn}, {"SecretVersionId", version_id}};
}

int64_t DayOf(int64_t ms) { return ms - ms % kDayMs; }

void AddUnique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) {
    list.push_back(item);
  }
}

void Remove(std::vector<std::string>& list, const std::string& item) {
  list.erase(std::remove(list.begin(), list.end(), item), list.end());
}

// The trailing "-XXXXXX" AWS appends to a secret's name in its ARN.
bool LooksSuffixed(std::string_view name) {
  if (name.size() < 8 || name[name.size() - 7] != '-') {
    return false;
  }
  for (char c : name.substr(name.size() - 6)) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         core::EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

// The attribute and each alphanumeric run inside it: "all" filter words match any of them.
bool AnyWordStartsWith(std::string_view attribute, std::string_view word) {
  if (StartsWithIgnoreCase(attribute, word)) {
    return true;
  }
  size_t i = 0;
  while (i < attribute.size()) {
    while (i < attribute.size() && !std::isalnum(static_cast<unsigned char>(attribute[i]))) {
      ++i;
    }
    size_t j = i;
    while (j < attribute.size() && std::isalnum(static_cast<unsigned char>(attribute[j]))) {
      ++j;
    }
    if (j > i && StartsWithIgnoreCase(attribute.substr(i), word)) {
      return true;
    }
    i = j;
  }
  return false;
}

bool MatchesOne(const Secret& s, const std::string& key, const std::string& value,
                const std::string& region) {
  if (key == "name") {
    return s.name.starts_with(value);
  }
  if (key == "description") {
    return StartsWithIgnoreCase(s.description, value);
  }
  if (key == "tag-key" || key == "tag-value") {
    for (const auto& [k, v] : s.tags) {
      if ((key == "tag-key" ? k : v).starts_with(value)) {
        return true;
      }
    }
    return false;
  }
  if (key == "primary-region") {
    return region.starts_with(value);
  }
  // "all": every whitespace-separated word must match some attribute.
  size_t i = 0;
  bool any_word = false;
  while (i < value.size()) {
    size_t j = value.find(' ', i);
    std::string word = value.substr(i, j == std::string::npos ? std::string::npos : j - i);
    i = j == std::string::npos ? value.size() : j + 1;
    if (word.empty()) {
      continue;
    }
    any_word = true;
    bool hit = AnyWordStartsWith(s.name, word) || AnyWordStartsWith(s.description, word);
    for (const auto& [k, v] : s.tags) {
      hit = hit || AnyWordStartsWith(k, word) || AnyWordStartsWith(v, word);
    }
    if (!hit) {
      return false;
    }
  }
  return any_word || value.empty();
}

// Values of one filter are alternatives; a '!' value excludes what it matches.
bool Matches(const Secret& s, const ListSecretsFilter& f, const std::string& region) {
  bool any_positive = false;
  bool positive_hit = false;
  for (const std::string& raw : f.values) {
    bool negated = raw.starts_with('!');
    std::string value = negated ? raw.substr(1) : raw;
    bool hit = MatchesOne(s, f.key, value, region);
    if (negated && hit) {
      return false;
    }
    if (!negated) {
      any_positive = true;
      positive_hit = positive_hit || hit;
    }
  }
  return !any_positive || positive_hit;
}

// Uniform choices from the IdSource's randomness (6 bits per base64 character it returns).
class RandomDraw {
 public:
  explicit RandomDraw(core::IdSource& ids) : ids_(ids) {}
  // Uniform in [0, n); REQUIRES: 0 < n <= 4096.
  uint32_t Below(uint32_t n) {
    BERTH_ASSERT(n > 0 && n <= 4096, "RandomDraw::Below range");
    uint32_t limit = 4096 - 4096 % n;
    uint32_t v = 0;
    // Rejection sampling; a degenerate IdSource (tests) falls back to the modulo after a while.
    for (int attempt = 0; attempt < 64; ++attempt) {
      v = (SixBits() << 6) | SixBits();
      if (v < limit) {
        break;
      }
    }
    return v % n;
  }

 private:
  uint32_t SixBits() {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (pos_ >= pool_.size()) {
      pool_ = ids_.RandomString(64, false);
      pos_ = 0;
      if (pool_.empty()) {
        return 0;
      }
    }
    size_t i = kAlphabet.find(pool_[pos_++]);
    return i == std::string_view::npos ? 0 : static_cast<uint32_t>(i);
  }
  core::IdSource& ids_;
  std::string pool_;
  size_t pos_ = 0;
};

// Adds " (secret ARN)" to an error so ResolveForTask's failures say which secret they concern.
Error Naming(Error e, const std::string& arn) {
  e.message += " (secret " + arn + ")";
  return e;
}

}  // namespace

Result<ValueFromRef> ParseValueFrom(std::string_view value_from) {
  auto malformed = [&]() {
    return errors::InvalidParameter(
        "valueFrom " + Quote(value_from) +
        " is not a Secrets Manager secret ARN: expected "
        "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
        "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME:JSON-KEY:VERSION-STAGE:VERSION-ID");
  };
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    size_t colon = value_from.find(':', i);
    parts.emplace_back(value_from.substr(i, colon == std::string_view::npos ? colon : colon - i));
    if (colon == std::string_view::npos) {
      break;
    }
    i = colon + 1;
  }
  if ((parts.size() != 7 && parts.size() != 10) || parts[0] != "arn" || parts[1].empty() ||
      parts[2] != "secretsmanager" || parts[3].empty() || parts[4].empty() ||
      parts[5] != "secret" || parts[6].empty()) {
    return malformed();
  }
  ValueFromRef ref;
  for (size_t p = 0; p < 7; ++p) {
    ref.secret_arn += (p == 0 ? "" : ":") + parts[p];
  }
  if (parts.size() == 10) {
    ref.json_key = parts[7];
    ref.version_stage = parts[8];
    ref.version_id = parts[9];
  }
  return ref;
}

SecretsService::SecretsService(store::Db& db, core::Clock& clock, core::IdSource& ids,
                               SecretCipher& cipher, SecretsConfig config)
    : db_(db), store_(db), clock_(clock), ids_(ids), cipher_(cipher), config_(std::move(config)) {}

Status SecretsService::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(std::vector<Secret> loaded, store_.LoadSecrets());
  secrets_.clear();
  by_name_.clear();
  purge_queue_.clear();
  for (Secret& s : loaded) {
    by_name_[s.name] = s.arn;
    if (s.scheduled_for_deletion()) {
      purge_queue_.emplace(s.purge_ms, s.arn);
    }
    std::string arn = s.arn;
    secrets_.emplace(std::move(arn), std::move(s));
  }
  return PurgeExpired();
}

// ---------------------------------------------------------------------------------------------
// Lookup, persistence, purge

Secret* SecretsService::Find(std::string_view secret_id) {
  auto live = [this](Secret* s) -> Secret* {
    // A secret past its recovery window is gone even before PurgeExpired has removed it.
    return s != nullptr && s->scheduled_for_deletion() && s->purge_ms <= Now() ? nullptr : s;
  };
  auto by_name = [&](const std::string& name) -> Secret* {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : live(&secrets_.at(it->second));
  };
  if (!secret_id.starts_with("arn:")) {
    return by_name(std::string(secret_id));
  }
  if (auto it = secrets_.find(std::string(secret_id)); it != secrets_.end()) {
    return live(&it->second);
  }
  std::optional<core::Arn> arn = core::ParseArn(secret_id);
  if (!arn || arn->partition != "aws" || arn->service != "secretsmanager" ||
      arn->region != config_.region || arn->account != config_.account_id ||
      !arn->resource.starts_with("secret:")) {
    return nullptr;
  }
  std::string name = arn->resource.substr(7);
  // AWS quirk: a partial ARN ending in "-" and six characters is read as a full ARN with a
  // random suffix (see SecretsServiceTest.PartialArnEndingLikeASuffixIsNotFound).
  if (LooksSuffixed(name)) {
    return nullptr;
  }
  return by_name(name);
}

Result<Secret*> SecretsService::Require(std::string_view secret_id) {
  Secret* s = Find(secret_id);
  if (s == nullptr) {
    return errors::ResourceNotFound();
  }
  return s;
}

Result<Secret*> SecretsService::RequireActive(std::string_view secret_id) {
  BERTH_TRY(Secret * s, Require(secret_id));
  if (s->scheduled_for_deletion()) {
    return errors::MarkedForDeletion();
  }
  return s;
}

std::string SecretsService::ArnOf(std::string_view secret_id) {
  if (Secret* s = Find(secret_id)) {
    return s->arn;
  }
  if (secret_id.starts_with("arn:")) {
    return std::string(secret_id);
  }
  return "arn:aws:secretsmanager:" + config_.region + ":" + config_.account_id +
         ":secret:" + std::string(secret_id);
}

Status SecretsService::Save(Secret updated,
                            const std::map<std::string, std::string>& new_ciphertexts) {
  const Secret* old = nullptr;
  if (auto it = secrets_.find(updated.arn); it != secrets_.end()) {
    old = &it->second;
  }
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.PutSecret(updated));
  for (const auto& [version_id, blob] : new_ciphertexts) {
    BERTH_RETURN_IF_ERROR(store_.PutCiphertext(updated.arn, version_id, blob));
  }
  if (old != nullptr) {
    for (const SecretVersion& v : old->versions) {
      if (updated.FindVersion(v.version_id) == nullptr) {
        BERTH_RETURN_IF_ERROR(store_.DeleteCiphertext(updated.arn, v.version_id));
      }
    }
  }
  BERTH_RETURN_IF_ERROR(txn.Commit());

  if (old != nullptr && old->scheduled_for_deletion()) {
    purge_queue_.erase({old->purge_ms, old->arn});
  }
  if (updated.scheduled_for_deletion()) {
    purge_queue_.emplace(updated.purge_ms, updated.arn);
  }
  by_name_[updated.name] = updated.arn;
  std::string arn = updated.arn;
  secrets_[arn] = std::move(updated);
  return OkStatus();
}

Status SecretsService::Purge(const std::string& arn) {
  auto it = secrets_.find(arn);
  if (it == secrets_.end()) {
    return OkStatus();
  }
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.DeleteSecret(arn));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  const Secret& s = it->second;
  purge_queue_.erase({s.purge_ms, s.arn});
  if (auto n = by_name_.find(s.name); n != by_name_.end() && n->second == arn) {
    by_name_.erase(n);
  }
  secrets_.erase(it);
  return OkStatus();
}

Status SecretsService::PurgeExpired() {
  while (!purge_queue_.empty() && purge_queue_.begin()->first <= Now()) {
    std::string arn = purge_queue_.begin()->second;
    BERTH_RETURN_IF_ERROR(Purge(arn));
    spdlog::info("secretsmanager: purged {} at the end of its recovery window", arn);
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Values

Result<std::string> SecretsService::Encrypt(const Secret& secret, const std::string& version_id,
                                            const std::string& key_ref, const SecretValue& value,
                                            SecretVersion* version) {
  auto out = cipher_.Encrypt(key_ref, value.bytes, ContextFor(secret.arn, version_id));
  if (!out.ok()) {
    const Error& e = out.error();
    if (e.kind == ErrorKind::Unavailable || e.kind == ErrorKind::Internal ||
        e.kind == ErrorKind::AccessDenied) {
      return e;
    }
    return errors::EncryptionFailure(e.message);
  }
  version->kms_key_arn = out->second;
  version->customer_key = !IsDefaultKey(key_ref);
  version->binary = value.binary;
  return std::move(out->first);
}

Result<SecretValue> SecretsService::Decrypt(const Secret& secret, const SecretVersion& version) {
  BERTH_TRY(std::string blob, store_.Ciphertext(secret.arn, version.version_id));
  auto out = cipher_.Decrypt(blob, ContextFor(secret.arn, version.version_id));
  if (!out.ok()) {
    const Error& e = out.error();
    if (e.kind == ErrorKind::Unavailable || e.kind == ErrorKind::Internal ||
        e.kind == ErrorKind::AccessDenied) {
      return e;
    }
    return errors::DecryptionFailure(e.message);
  }
  return SecretValue{version.binary, std::move(out->first)};
}

Status SecretsService::AddVersion(Secret& secret, const std::string& version_id,
                                  const SecretValue& value, std::vector<std::string> stages,
                                  std::map<std::string, std::string>& ciphertexts) {
  SecretVersion v;
  v.version_id = version_id;
  v.created_ms = Now();
  BERTH_TRY(std::string blob, Encrypt(secret, version_id, secret.kms_key_id, value, &v));

  std::vector<std::string> labels;
  for (const std::string& s : stages) {
    AddUnique(labels, s);
  }
  const SecretVersion* current = secret.FindStage(kAwsCurrent);
  if (labels.empty() || current == nullptr) {
    AddUnique(labels, kAwsCurrent);  // the default, and always on a secret's first version
  }
  std::string old_current = current == nullptr ? "" : current->version_id;
  bool moves_current = std::find(labels.begin(), labels.end(), kAwsCurrent) != labels.end();
  for (SecretVersion& other : secret.versions) {
    for (const std::string& label : labels) {
      Remove(other.stages, label);
    }
  }
  if (moves_current && !old_current.empty()) {
    for (SecretVersion& other : secret.versions) {
      Remove(other.stages, kAwsPrevious);
      if (other.version_id == old_current) {
        other.stages.push_back(kAwsPrevious);
      }
    }
  }
  v.stages = std::move(labels);
  secret.versions.push_back(std::move(v));
  ciphertexts[version_id] = std::move(blob);
  secret.last_changed_ms = Now();

  // Trim deprecated versions beyond the quota, oldest first, sparing those under a day old.
  for (auto it = secret.versions.begin();
       secret.versions.size() > kVersionsKept && it != secret.versions.end();) {
    if (it->stages.empty() && Now() - it->created_ms >= kVersionMinAgeMs) {
      it = secret.versions.erase(it);
    } else {
      ++it;
    }
  }
  return OkStatus();
}

Result<const SecretVersion*> SecretsService::SelectVersion(const Secret& secret,
                                                           const std::string& version_id,
                                                           const std::string& version_stage) const {
  if (!version_id.empty()) {
    const SecretVersion* v = secret.FindVersion(version_id);
    if (v == nullptr) {
      return errors::VersionNotFound(version_id);
    }
    if (!version_stage.empty() && !v->HasStage(version_stage)) {
      return errors::ResourceNotFound(
          "Secrets Manager can't find the specified secret value for VersionId: " + version_id +
          " and staging label: " + version_stage);
    }
    return v;
  }
  std::string stage = version_stage.empty() ? kAwsCurrent : version_stage;
  const SecretVersion* v = secret.FindStage(stage);
  if (v == nullptr) {
    return errors::StageNotFound(stage);
  }
  return v;
}

void SecretsService::TouchAccess(Secret& secret, const std::string& version_id) {
  int64_t day = DayOf(Now());
  secret.last_accessed_ms = day;
  for (SecretVersion& v : secret.versions) {
    if (v.version_id == version_id) {
      v.last_accessed_ms = day;
    }
  }
}

std::string SecretsService::NewSuffix() {
  // RandomString's alphabet is the 62 alphanumerics plus '+' and '/': dropping those two keeps
  // the suffix uniform. A degenerate IdSource (tests) is padded rather than looped on forever.
  std::string out;
  for (int attempt = 0; out.size() < 6 && attempt < 16; ++attempt) {
    for (char c : ids_.RandomString(6 - out.size(), false)) {
      if (std::isalnum(static_cast<unsigned char>(c)) && out.size() < 6) {
        out.push_back(c);
      }
    }
  }
  out.resize(6, 'A');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Operations

Result<WriteResult> SecretsService::CreateSecret(CreateSecretRequest r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateName(r.name));
  BERTH_RETURN_IF_ERROR(CheckLength("description", r.description, 0, 2048));
  BERTH_RETURN_IF_ERROR(CheckLength("kmsKeyId", r.kms_key_id, 0, 2048));
  BERTH_RETURN_IF_ERROR(ValidateToken(r.client_request_token));
  BERTH_TRY(std::optional<SecretValue> value, ValueOf(r.secret_string, r.secret_binary, false));
  BERTH_RETURN_IF_ERROR(ValidateTags(r.tags));
  if (r.tags.size() > kMaxTags) {
    return errors::InvalidParameter("A secret can have at most 50 tags.");
  }

  if (Secret* held = Find(r.name)) {
    if (held->scheduled_for_deletion()) {
      return errors::NameScheduledForDeletion();
    }
    // A retried CreateSecret (same token, same value) answers the version it created.
    const SecretVersion* v =
        r.client_request_token.empty() ? nullptr : held->FindVersion(r.client_request_token);
    if (v != nullptr && value) {
      BERTH_TRY(SecretValue stored, Decrypt(*held, *v));
      if (stored == *value) {
        return WriteResult{held->arn, held->name, v->version_id, v->stages};
      }
      return errors::VersionExists(v->version_id);
    }
    return errors::SecretExists(r.name);
  }

  Secret s;
  // A clash needs the same name and suffix while the old secret awaits its purge: draw again.
  for (int attempt = 0; s.arn.empty() || secrets_.count(s.arn) > 0; ++attempt) {
    if (attempt == 16) {
      return InternalError("secretsmanager: no unused ARN suffix for " + r.name);
    }
    s.arn = "arn:aws:secretsmanager:" + config_.region + ":" + config_.account_id +
            ":secret:" + r.name + "-" + NewSuffix();
  }
  s.name = r.name;
  s.description = std::move(r.description);
  s.kms_key_id = IsDefaultKey(r.kms_key_id) ? "" : r.kms_key_id;
  s.created_ms = Now();
  s.last_changed_ms = s.created_ms;
  for (auto& [k, v] : r.tags) {
    auto it =
        std::find_if(s.tags.begin(), s.tags.end(), [&](const auto& t) { return t.first == k; });
    if (it != s.tags.end()) {
      it->second = v;
    } else {
      s.tags.emplace_back(k, v);
    }
  }
  std::map<std::string, std::string> ciphertexts;
  WriteResult out{s.arn, s.name, "", {}};
  if (value) {
    out.version_id = r.client_request_token.empty() ? ids_.NewUuid() : r.client_request_token;
    BERTH_RETURN_IF_ERROR(AddVersion(s, out.version_id, *value, {}, ciphertexts));
    out.stages = s.versions.back().stages;
  }
  BERTH_RETURN_IF_ERROR(Save(std::move(s), ciphertexts));
  return out;
}

Result<GetSecretValueResult> SecretsService::GetSecretValue(const GetSecretValueRequest& r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_TRY(Secret * s, RequireActive(r.secret_id));
  BERTH_TRY(const SecretVersion* v, SelectVersion(*s, r.version_id, r.version_stage));
  if (v->customer_key && r.authorize_key) {
    BERTH_RETURN_IF_ERROR(r.authorize_key(v->kms_key_arn));
  }
  BERTH_TRY(SecretValue value, Decrypt(*s, *v));
  GetSecretValueResult out{s->arn,           s->name,   v->version_id,
                           std::move(value), v->stages, v->created_ms};
  if (DayOf(Now()) != v->last_accessed_ms || DayOf(Now()) != s->last_accessed_ms) {
    Secret copy = *s;
    TouchAccess(copy, out.version_id);
    BERTH_RETURN_IF_ERROR(Save(std::move(copy)));
  }
  return out;
}

Result<WriteResult> SecretsService::PutSecretValue(PutSecretValueRequest r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateToken(r.client_request_token));
  BERTH_RETURN_IF_ERROR(ValidateStages(r.version_stages));
  BERTH_TRY(std::optional<SecretValue> value, ValueOf(r.secret_string, r.secret_binary, true));
  BERTH_TRY(Secret * s, RequireActive(r.secret_id));
  std::string version_id = r.client_request_token.empty() ? ids_.NewUuid() : r.client_request_token;
  if (const SecretVersion* existing = s->FindVersion(version_id)) {
    // Idempotent retry: the same token with the same value changes nothing.
    BERTH_TRY(SecretValue stored, Decrypt(*s, *existing));
    if (stored == *value) {
      return WriteResult{s->arn, s->name, existing->version_id, existing->stages};
    }
    return errors::VersionExists(version_id);
  }
  Secret copy = *s;
  std::map<std::string, std::string> ciphertexts;
  BERTH_RETURN_IF_ERROR(AddVersion(copy, version_id, *value, r.version_stages, ciphertexts));
  WriteResult out{copy.arn, copy.name, version_id, copy.versions.back().stages};
  BERTH_RETURN_IF_ERROR(Save(std::move(copy), ciphertexts));
  return out;
}

Result<WriteResult> SecretsService::UpdateSecret(UpdateSecretRequest r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateToken(r.client_request_token));
  if (r.description) {
    BERTH_RETURN_IF_ERROR(CheckLength("description", *r.description, 0, 2048));
  }
  if (r.kms_key_id) {
    BERTH_RETURN_IF_ERROR(CheckLength("kmsKeyId", *r.kms_key_id, 0, 2048));
  }
  BERTH_TRY(std::optional<SecretValue> value, ValueOf(r.secret_string, r.secret_binary, false));
  BERTH_TRY(Secret * s, RequireActive(r.secret_id));
  std::string version_id;
  if (value) {
    version_id = r.client_request_token.empty() ? ids_.NewUuid() : r.client_request_token;
    if (s->FindVersion(version_id) != nullptr) {
      return errors::VersionExists(version_id);
    }
  }

  Secret copy = *s;
  std::map<std::string, std::string> ciphertexts;
  bool changed = value.has_value();
  if (r.description && *r.description != copy.description) {
    copy.description = *r.description;
    changed = true;
  }
  if (r.kms_key_id) {
    std::string key = IsDefaultKey(*r.kms_key_id) ? "" : *r.kms_key_id;
    if (key != copy.kms_key_id) {
      changed = true;
      copy.kms_key_id = key;
      // AWS re-encrypts the versions a client can still reach by label under the new key.
      for (SecretVersion& v : copy.versions) {
        if (!v.HasStage(kAwsCurrent) && !v.HasStage(kAwsPrevious) && !v.HasStage(kAwsPending)) {
          continue;
        }
        BERTH_TRY(SecretValue plain, Decrypt(*s, v));
        BERTH_TRY(std::string blob, Encrypt(copy, v.version_id, key, plain, &v));
        ciphertexts[v.version_id] = std::move(blob);
      }
    }
  }
  if (value) {
    BERTH_RETURN_IF_ERROR(AddVersion(copy, version_id, *value, {}, ciphertexts));
  }
  WriteResult out{copy.arn, copy.name, version_id, {}};
  if (!changed) {
    return out;
  }
  copy.last_changed_ms = Now();
  if (value) {
    out.stages = copy.versions.back().stages;
  }
  BERTH_RETURN_IF_ERROR(Save(std::move(copy), ciphertexts));
  return out;
}

Result<Secret> SecretsService::DescribeSecret(std::string_view secret_id) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_TRY(Secret * s, Require(secret_id));
  return *s;
}

Result<ListSecretsPage> SecretsService::ListSecrets(const ListSecretsRequest& r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateMaxResults(r.max_results));
  if (!r.sort_order.empty() && r.sort_order != "asc" && r.sort_order != "desc") {
    return errors::Validation("1 validation error detected: Value " + Quote(r.sort_order) +
                              " at 'sortOrder' failed to satisfy constraint: Member must satisfy "
                              "enum value set: [asc, desc]");
  }
  static const std::set<std::string> kKeys = {"description", "name",           "tag-key",
                                              "tag-value",   "primary-region", "all"};
  for (const ListSecretsFilter& f : r.filters) {
    if (kKeys.count(f.key) == 0) {
      return errors::Validation("1 validation error detected: Value " + Quote(f.key) +
                                " at 'filters.member.key' failed to satisfy constraint: Member "
                                "must satisfy enum value set: [description, name, tag-key, "
                                "tag-value, primary-region, all]");
    }
    if (f.values.empty() || f.values.size() > 10) {
      return errors::Validation(
          "1 validation error detected: Value at 'filters.member.values' "
          "failed to satisfy constraint: Member must have length between "
          "1 and 10");
    }
    for (const std::string& v : f.values) {
      BERTH_RETURN_IF_ERROR(CheckLength("filters.member.values.member", v, 0, 512));
    }
  }

  std::vector<const Secret*> matched;
  for (const auto& [arn, s] : secrets_) {
    if (s.scheduled_for_deletion() && !r.include_planned_deletion) {
      continue;
    }
    bool ok = true;
    for (const ListSecretsFilter& f : r.filters) {
      ok = ok && Matches(s, f, config_.region);
    }
    if (ok) {
      matched.push_back(&s);
    }
  }
  bool desc = r.sort_order == "desc";
  auto key_of = [](const Secret* s) { return std::make_pair(s->created_ms, s->arn); };
  std::sort(matched.begin(), matched.end(), [&](const Secret* a, const Secret* b) {
    return desc ? key_of(b) < key_of(a) : key_of(a) < key_of(b);
  });

  // The token is the sort key of the last secret returned: stable when secrets come and go.
  size_t start = 0;
  if (!r.next_token.empty()) {
    auto decoded = core::Base64Decode(r.next_token);
    size_t bar = decoded ? decoded->find('|') : std::string::npos;
    if (bar == std::string::npos) {
      return errors::InvalidNextToken();
    }
    std::pair<int64_t, std::string> after;
    try {
      after = {std::stoll(decoded->substr(0, bar)), decoded->substr(bar + 1)};
    } catch (const std::exception&) {
      return errors::InvalidNextToken();
    }
    while (start < matched.size() &&
           (desc ? key_of(matched[start]) >= after : key_of(matched[start]) <= after)) {
      ++start;
    }
  }
  size_t limit = static_cast<size_t>(r.max_results.value_or(100));
  ListSecretsPage page;
  for (size_t i = start; i < matched.size() && page.secrets.size() < limit; ++i) {
    page.secrets.push_back(*matched[i]);
  }
  if (start + page.secrets.size() < matched.size() && !page.secrets.empty()) {
    const Secret& last = page.secrets.back();
    page.next_token = core::Base64Encode(std::to_string(last.created_ms) + "|" + last.arn);
  }
  return page;
}

Result<DeleteSecretResult> SecretsService::DeleteSecret(const DeleteSecretRequest& r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  if (r.force_delete_without_recovery && r.recovery_window_in_days) {
    return errors::InvalidParameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  int64_t days = r.recovery_window_in_days.value_or(30);
  if (days < 7 || days > 30) {
    return errors::InvalidParameter(
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  BERTH_TRY(Secret * s, Require(r.secret_id));
  DeleteSecretResult out{s->arn, s->name, Now()};
  if (r.force_delete_without_recovery) {
    BERTH_RETURN_IF_ERROR(Purge(out.arn));
    return out;
  }
  if (s->scheduled_for_deletion()) {
    return errors::MarkedForDeletion();
  }
  Secret copy = *s;
  copy.deleted_ms = Now();
  copy.purge_ms = Now() + days * kDayMs;
  copy.last_changed_ms = Now();
  out.deletion_ms = copy.purge_ms;
  BERTH_RETURN_IF_ERROR(Save(std::move(copy)));
  return out;
}

Result<Secret> SecretsService::RestoreSecret(std::string_view secret_id) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_TRY(Secret * s, Require(secret_id));
  if (!s->scheduled_for_deletion()) {
    return *s;
  }
  Secret copy = *s;
  copy.deleted_ms = 0;
  copy.purge_ms = 0;
  copy.last_changed_ms = Now();
  Secret out = copy;
  BERTH_RETURN_IF_ERROR(Save(std::move(copy)));
  return out;
}

Status SecretsService::TagResource(std::string_view secret_id, const Tags& tags) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateTags(tags));
  BERTH_TRY(Secret * s, RequireActive(secret_id));
  Secret copy = *s;
  for (const auto& [k, v] : tags) {
    auto it = std::find_if(copy.tags.begin(), copy.tags.end(),
                           [&](const auto& t) { return t.first == k; });
    if (it != copy.tags.end()) {
      it->second = v;
    } else {
      copy.tags.emplace_back(k, v);
    }
  }
  if (copy.tags.size() > kMaxTags) {
    return errors::InvalidParameter("A secret can have at most 50 tags.");
  }
  copy.last_changed_ms = Now();
  return Save(std::move(copy));
}

Status SecretsService::UntagResource(std::string_view secret_id,
                                     const std::vector<std::string>& keys) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_TRY(Secret * s, RequireActive(secret_id));
  Secret copy = *s;
  for (const std::string& key : keys) {
    if (key.starts_with("aws:")) {
      return errors::InvalidParameter(
          "Tag keys beginning with the aws: prefix are reserved for "
          "AWS use: " +
          Quote(key));
    }
    copy.tags.erase(std::remove_if(copy.tags.begin(), copy.tags.end(),
                                   [&](const auto& t) { return t.first == key; }),
                    copy.tags.end());
  }
  copy.last_changed_ms = Now();
  return Save(std::move(copy));
}

Result<SecretVersionsPage> SecretsService::ListSecretVersionIds(
    const ListSecretVersionIdsRequest& r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(ValidateMaxResults(r.max_results));
  BERTH_TRY(Secret * s, Require(r.secret_id));
  std::vector<const SecretVersion*> listed;
  for (const SecretVersion& v : s->versions) {
    if (r.include_deprecated || !v.stages.empty()) {
      listed.push_back(&v);
    }
  }
  size_t start = 0;
  if (!r.next_token.empty()) {
    auto after = core::Base64Decode(r.next_token);
    if (!after) {
      return errors::InvalidNextToken();
    }
    auto it = std::find_if(listed.begin(), listed.end(),
                           [&](const SecretVersion* v) { return v->version_id == *after; });
    if (it == listed.end()) {
      return errors::InvalidNextToken();
    }
    start = static_cast<size_t>(it - listed.begin()) + 1;
  }
  size_t limit = static_cast<size_t>(r.max_results.value_or(100));
  SecretVersionsPage page{s->arn, s->name, {}, ""};
  for (size_t i = start; i < listed.size() && page.versions.size() < limit; ++i) {
    page.versions.push_back(*listed[i]);
  }
  if (start + page.versions.size() < listed.size() && !page.versions.empty()) {
    page.next_token = core::Base64Encode(page.versions.back().version_id);
  }
  return page;
}

Result<Secret> SecretsService::UpdateSecretVersionStage(const UpdateSecretVersionStageRequest& r) {
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  BERTH_RETURN_IF_ERROR(CheckLength("versionStage", r.version_stage, 1, 256));
  if (!r.move_to_version_id.empty()) {
    BERTH_RETURN_IF_ERROR(CheckLength("moveToVersionId", r.move_to_version_id, 32, 64));
  }
  if (!r.remove_from_version_id.empty()) {
    BERTH_RETURN_IF_ERROR(CheckLength("removeFromVersionId", r.remove_from_version_id, 32, 64));
  }
  BERTH_TRY(Secret * s, RequireActive(r.secret_id));
  const std::string& stage = r.version_stage;
  if (!r.move_to_version_id.empty() && s->FindVersion(r.move_to_version_id) == nullptr) {
    return errors::VersionNotFound(r.move_to_version_id);
  }
  if (!r.remove_from_version_id.empty() && s->FindVersion(r.remove_from_version_id) == nullptr) {
    return errors::VersionNotFound(r.remove_from_version_id);
  }
  const SecretVersion* holder_version = s->FindStage(stage);
  std::string holder = holder_version == nullptr ? "" : holder_version->version_id;
  if (!r.remove_from_version_id.empty() && r.remove_from_version_id != holder) {
    return errors::InvalidParameter("The staging label " + stage +
                                    " isn't attached to the version " + r.remove_from_version_id +
                                    ".");
  }
  if (!holder.empty() && holder != r.move_to_version_id && r.remove_from_version_id != holder) {
    return errors::InvalidParameter("The staging label " + stage +
                                    " is currently attached to the version " + holder +
                                    ". To move it, specify that version in RemoveFromVersionId.");
  }
  if (stage == kAwsCurrent && r.move_to_version_id.empty()) {
    return errors::InvalidParameter(
        "You can't remove the staging label AWSCURRENT without moving "
        "it to another version with MoveToVersionId.");
  }
  if (holder == r.move_to_version_id) {
    return *s;  // already there
  }

  Secret copy = *s;
  for (SecretVersion& v : copy.versions) {
    if (v.version_id == holder) {
      Remove(v.stages, stage);
    }
    if (v.version_id == r.move_to_version_id) {
      AddUnique(v.stages, stage);
    }
  }
  if (stage == kAwsCurrent && !holder.empty()) {
    for (SecretVersion& v : copy.versions) {
      Remove(v.stages, kAwsPrevious);
      if (v.version_id == holder) {
        v.stages.push_back(kAwsPrevious);
      }
    }
  }
  copy.last_changed_ms = Now();
  Secret out = copy;
  BERTH_RETURN_IF_ERROR(Save(std::move(copy)));
  return out;
}

Result<std::string> SecretsService::GetRandomPassword(const RandomPasswordRequest& r) {
  int64_t length = r.password_length.value_or(32);
  if (length < 1 || length > 4096) {
    return errors::Validation(
        "1 validation error detected: Value '" + std::to_string(length) +
        "' at 'passwordLength' failed to satisfy constraint: Member must "
        "have value " +
        (length < 1 ? "greater than or equal to 1" : "less than or equal to 4096"));
  }
  BERTH_RETURN_IF_ERROR(CheckLength("excludeCharacters", r.exclude_characters, 0, 4096));
  auto keep = [&](std::string_view chars) {
    std::string out;
    for (char c : chars) {
      if (r.exclude_characters.find(c) == std::string::npos) {
        out.push_back(c);
      }
    }
    return out;
  };
  std::vector<std::string> classes;
  if (!r.exclude_lowercase) {
    classes.push_back(keep("abcdefghijklmnopqrstuvwxyz"));
  }
  if (!r.exclude_uppercase) {
    classes.push_back(keep("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  }
  if (!r.exclude_numbers) {
    classes.push_back(keep("0123456789"));
  }
  if (!r.exclude_punctuation) {
    classes.push_back(keep("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
  }
  classes.erase(std::remove_if(classes.begin(), classes.end(),
                               [](const std::string& c) { return c.empty(); }),
                classes.end());
  std::string all;
  for (const std::string& c : classes) {
    all += c;
  }
  if (r.include_space && r.exclude_characters.find(' ') == std::string::npos) {
    all.push_back(' ');
  }
  if (all.empty()) {
    return errors::InvalidParameter(
        "The password can't be generated: every character type is "
        "excluded.");
  }
  size_t n = static_cast<size_t>(length);
  if (r.require_each_included_type && classes.size() > n) {
    return errors::InvalidParameter(
        "The password length is too short to include a character of "
        "every included type.");
  }
  RandomDraw draw(ids_);
  std::string out;
  out.reserve(n);
  if (r.require_each_included_type) {
    for (const std::string& c : classes) {
      out.push_back(c[draw.Below(static_cast<uint32_t>(c.size()))]);
    }
  }
  while (out.size() < n) {
    out.push_back(all[draw.Below(static_cast<uint32_t>(all.size()))]);
  }
  // Fisher-Yates, so the required characters are not always in front.
  for (size_t i = out.size(); i > 1; --i) {
    size_t j = draw.Below(static_cast<uint32_t>(std::min<size_t>(i, 4096)));
    std::swap(out[i - 1], out[j]);
  }
  return out;
}

Result<std::string> SecretsService::ResolveForTask(std::string_view value_from,
                                                   const AuthorizeFn& authorize) {
  BERTH_TRY(ValueFromRef ref, ParseValueFrom(value_from));
  BERTH_RETURN_IF_ERROR(PurgeExpired());
  std::string arn = ArnOf(ref.secret_arn);
  if (authorize) {
    BERTH_RETURN_IF_ERROR(authorize("secretsmanager:GetSecretValue", arn));
  }
  Secret* s = Find(ref.secret_arn);
  if (s == nullptr) {
    return Naming(errors::ResourceNotFound(), ref.secret_arn);
  }
  if (s->scheduled_for_deletion()) {
    return Naming(errors::MarkedForDeletion(), arn);
  }
  auto version = SelectVersion(*s, ref.version_id, ref.version_stage);
  if (!version.ok()) {
    return Naming(std::move(version).take_error(), arn);
  }
  const SecretVersion* v = *version;
  if (v->customer_key && authorize) {
    BERTH_RETURN_IF_ERROR(authorize("kms:Decrypt", v->kms_key_arn));
  }
  auto value = Decrypt(*s, *v);
  if (!value.ok()) {
    return Naming(std::move(value).take_error(), arn);
  }
  bool binary = value->binary;
  std::string text = std::move(value->bytes);
  if (DayOf(Now()) != v->last_accessed_ms || DayOf(Now()) != s->last_accessed_ms) {
    Secret copy = *s;
    TouchAccess(copy, v->version_id);
    BERTH_RETURN_IF_ERROR(Save(std::move(copy)));
  }
  if (binary) {
    return errors::InvalidRequest("The secret " + arn +
                                  " stores a SecretBinary value; only a SecretString can be "
                                  "injected into a container.");
  }
  if (ref.json_key.empty()) {
    return text;
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return errors::InvalidParameter("The SecretString of the secret " + arn +
                                    " is not a JSON object, so it has no JSON key " +
                                    Quote(ref.json_key) + ".");
  }
  auto member = doc.find(ref.json_key);
  if (member == doc.end()) {
    return errors::InvalidParameter("The SecretString of the secret " + arn +
                                    " has no top-level JSON key " + Quote(ref.json_key) + ".");
  }
  return member->is_string() ? member->get<std::string>() : member->dump();
}

}  // namespace berth::secretsmanager
