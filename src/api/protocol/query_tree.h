#pragma once
// The query protocol's flattened parameters as a tree, so handlers read nested input the way the
// JSON protocols do:
//   Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=5
//   → {"Actions":[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"Weight":"5"}]}}]}
// "member.N" (and "entry.N") lists become arrays ordered by N; every leaf stays a string.
// A name that is both a leaf and a parent ("A=1&A.B=2") keeps the parent.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::api {

nlohmann::json QueryTree(const std::map<std::string, std::string>& params);

// Reading helpers for a tree node: absent or empty when the parameter is missing.
std::string QueryString(const nlohmann::json& node, const char* name);
std::vector<std::string> QueryStrings(const nlohmann::json& node, const char* name);
const nlohmann::json& QueryList(const nlohmann::json& node, const char* name);

// A small XML builder for query-protocol results (element content is escaped).
class XmlOut {
 public:
  XmlOut& Open(std::string_view name);
  XmlOut& Close(std::string_view name);
  XmlOut& Leaf(std::string_view name, std::string_view value);
  XmlOut& Leaf(std::string_view name, int64_t value);
  XmlOut& Bool(std::string_view name, bool value);
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace berth::api
