#pragma once
// ARNs: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE

#include <optional>
#include <string>
#include <string_view>

namespace berth::core {

struct Arn {
  std::string partition = "aws";
  std::string service;
  std::string region;
  std::string account;
  std::string resource;  // everything after the fifth colon, e.g. "task/default/0123abcd"

  std::string ToString() const;
};

// Parses an ARN; returns nullopt when `text` is not of the arn:p:s:r:a:resource form.
std::optional<Arn> ParseArn(std::string_view text);

}  // namespace berth::core
