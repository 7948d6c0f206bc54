#include "core/arn.h"

namespace berth::core {

std::string Arn::ToString() const {
  return "arn:" + partition + ":" + service + ":" + region + ":" + account + ":" + resource;
}

std::optional<Arn> ParseArn(std::string_view text) {
  if (text.substr(0, 4) != "arn:") {
    return std::nullopt;
  }
  std::string_view rest = text.substr(4);
  std::string parts[4];
  for (auto& part : parts) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    part = std::string(rest.substr(0, colon));
    rest.remove_prefix(colon + 1);
  }
  if (parts[0].empty() || parts[1].empty() || rest.empty()) {
    return std::nullopt;
  }
  return Arn{parts[0], parts[1], parts[2], parts[3], std::string(rest)};
}

}  // namespace berth::core
