#pragma once
// ASCII text helpers shared by the protocol layer, the load balancer and IAM: case folding and
// AWS-style wildcard patterns ('*' any run, '?' one character).

#include <string_view>

namespace berth::core {

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) {
      return false;
    }
  }
  return true;
}

// Iterative matching that only ever backtracks to the last '*' (an earlier star never needs to
// absorb more than the later one allows), so it is linear-ish and cannot blow up.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);

}  // namespace berth::core
