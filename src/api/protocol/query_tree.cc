#include "api/protocol/query_tree.h"

#include <algorithm>
#include <cctype>

#include "api/protocol/protocol.h"

namespace berth::api {

using nlohmann::json;

namespace {

constexpr const char* kListMark = "\x01list";

bool IsIndex(std::string_view s) {
  return !s.empty() && s.size() < 7 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Turns every {"\x01list": {"1": a, "2": b}} into [a, b] (ordered by the number).
void Finish(json& node) {
  if (!node.is_object()) {
    return;
  }
  for (auto& [k, v] : node.items()) {
    Finish(v);
  }
  if (node.size() == 1 && node.contains(kListMark)) {
    std::vector<std::pair<int, json>> items;
    for (auto& [k, v] : node[kListMark].items()) {
      items.emplace_back(std::stoi(k), std::move(v));
    }
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    json list = json::array();
    for (auto& [i, v] : items) {
      list.push_back(std::move(v));
    }
    node = std::move(list);
  }
}

}  // namespace

json QueryTree(const std::map<std::string, std::string>& params) {
  json root = json::object();
  for (const auto& [key, value] : params) {
    std::vector<std::string_view> parts;
    std::string_view rest = key;
    while (true) {
      size_t dot = rest.find('.');
      parts.push_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) {
        break;
      }
      rest = rest.substr(dot + 1);
    }
    json* node = &root;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      std::string part(parts[i]);
      bool last = i + 1 == parts.size();
      if ((part == "member" || part == "entry") && i + 1 < parts.size() &&
          IsIndex(parts[i + 1])) {
        if (!node->is_object()) {
          *node = json::object();
        }
        json& list = (*node)[kListMark];
        if (!list.is_object()) {
          list = json::object();
        }
        node = &list[std::string(parts[i + 1])];
        ++i;
        if (i + 1 == parts.size()) {
          if (!node->is_object()) {
            *node = value;
          }
        }
        continue;
      }
      if (!node->is_object()) {
        *node = json::object();
      }
      json& child = (*node)[part];
      if (last) {
        if (!child.is_object()) {
          child = value;
        }
      } else if (!child.is_object()) {
        child = json::object();
      }
      node = &child;
    }
  }
  Finish(root);
  return root;
}

std::string QueryString(const json& node, const char* name) {
  if (!node.is_object()) {
    return "";
  }
  auto it = node.find(name);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> QueryStrings(const json& node, const char* name) {
  std::vector<std::string> out;
  const json& list = QueryList(node, name);
  for (const json& v : list) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    }
  }
  return out;
}

const json& QueryList(const json& node, const char* name) {
  static const json kEmpty = json::array();
  if (!node.is_object()) {
    return kEmpty;
  }
  auto it = node.find(name);
  return it != node.end() && it->is_array() ? *it : kEmpty;
}

XmlOut& XmlOut::Open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  return *this;
}

XmlOut& XmlOut::Close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

XmlOut& XmlOut::Leaf(std::string_view name, std::string_view value) {
  Open(name);
  out_ += XmlEscape(value);
  return Close(name);
}

XmlOut& XmlOut::Leaf(std::string_view name, int64_t value) {
  return Leaf(name, std::to_string(value));
}

XmlOut& XmlOut::Bool(std::string_view name, bool value) {
  return Leaf(name, value ? "true" : "false");
}

}  // namespace berth::api
