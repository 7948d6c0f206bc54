#pragma once
// JsonServiceHarness: calls a JsonService's operations directly, the way the front door would,
// with an ApiContext whose `authorize` records every IAM check and refuses chosen ones.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/service_registry.h"

namespace berth::testing {

class JsonServiceHarness {
 protected:
  // Binds the operations under test and a context for `signing_name`.
  void Bind(api::JsonService service, const std::string& signing_name) {
    service_ = std::move(service);
    ctx_.region = "us-east-1";
    ctx_.account_id = "123456789012";
    ctx_.service = signing_name;
    ctx_.authorize = [this](std::string_view action, std::string_view resource) -> Status {
      checks_.emplace_back(std::string(action), std::string(resource));
      if (denied_.count({std::string(action), std::string(resource)}) > 0) {
        return MakeError(ErrorKind::AccessDenied, "AccessDeniedException",
                         "User is not authorized to perform: " + std::string(action));
      }
      return OkStatus();
    };
    ctx_.checks_permissions = true;
  }
  Result<api::JsonReply> Call(const std::string& op, const nlohmann::json& in) {
    auto it = service_.operations.find(op);
    EXPECT_NE(it, service_.operations.end()) << op;
    return it->second(ctx_, in);
  }
  nlohmann::json Ok(const std::string& op, const nlohmann::json& in) {
    auto out = Call(op, in);
    EXPECT_TRUE(out.ok()) << op << ": " << out.error().aws_code << " " << out.error().message;
    if (!out.ok()) {
      return nlohmann::json();
    }
    // A raw reply (JsonWriter) must be valid JSON: parsing it here checks that too.
    return out->raw.empty() ? out->value : nlohmann::json::parse(out->raw);
  }
  std::string Code(const std::string& op, const nlohmann::json& in) {
    auto out = Call(op, in);
    return out.ok() ? "OK" : out.error().aws_code;
  }
  bool Checked(const std::string& action, const std::string& resource) const {
    return std::find(checks_.begin(), checks_.end(), std::make_pair(action, resource)) !=
           checks_.end();
  }

  api::JsonService service_;
  api::ApiContext ctx_;
  std::vector<std::pair<std::string, std::string>> checks_;
  std::set<std::pair<std::string, std::string>> denied_;
};

}  // namespace berth::testing
