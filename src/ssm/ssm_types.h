#pragma once
// Parameter Store's resources as berth keeps them: a parameter is a name, its tags and up to 100
// versions; each version carries the value and every setting PutParameter gave it (type, key,
// description, pattern, tier, labels), because GetParameterHistory shows them per version.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <deque>
#include <vector>

namespace berth::ssm {

using Tags = std::vector<std::pair<std::string, std::string>>;

enum class ParameterType : uint8_t { String, StringList, SecureString };
// IntelligentTiering is only a request: a stored version is Standard or Advanced.
enum class ParameterTier : uint8_t { Standard, Advanced, IntelligentTiering };

// Wire spellings ("String", "Intelligent-Tiering"); Parse* return nullopt for anything else.
std::string_view ToString(ParameterType type);
std::string_view ToString(ParameterTier tier);
std::optional<ParameterType> ParseParameterType(std::string_view text);
std::optional<ParameterTier> ParseParameterTier(std::string_view text);

// The KeyId Parameter Store shows for a SecureString created without one.
inline constexpr std::string_view kDefaultKeyId = "alias/aws/ssm";

struct ParameterVersion {
  int64_t version = 0;
  ParameterType type = ParameterType::String;
  // String/StringList: the value. SecureString: base64 of the cipher's blob, never the plaintext
  // (outside the store, a decrypted read replaces it with the plaintext in the returned copy).
  std::string value;
  std::string key_id;   // SecureString only: the KeyId as the caller gave it, or kDefaultKeyId
  std::string key_arn;  // SecureString only: the key that encrypted `value`
  std::string description;
  std::string allowed_pattern;
  std::string data_type = "text";
  ParameterTier tier = ParameterTier::Standard;
  std::string policies;             // the Policies JSON text as given; "" = none
  std::vector<std::string> labels;  // in the order they were attached
  int64_t modified_ms = 0;
  std::string modified_user;  // an IAM ARN
};

struct Parameter {
  std::string name;  // as first created: "/app/db" or "db" ("db" and "/db" are one parameter)
  Tags tags;
  // Ascending; never empty for a stored parameter. A deque: the 101st version pushes the first
  // out, which in a vector moved the other 99 on every PutParameter.
  std::deque<ParameterVersion> versions;
  const ParameterVersion& latest() const { return versions.back(); }
};

}  // namespace berth::ssm
