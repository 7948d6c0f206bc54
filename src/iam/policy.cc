#include "iam/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "core/assert.h"
#include "core/text.h"
#include "core/time_util.h"

namespace berth::iam {

namespace {

using json = nlohmann::json;

constexpr std::string_view kVersion2012 = "2012-10-17";
constexpr std::string_view kVersion2008 = "2008-10-17";

Error Malformed(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "MalformedPolicyDocument", std::move(message));
}
Error SyntaxError() { return Malformed("Syntax errors in policy."); }

char Lower(char c) { return core::AsciiLower(c); }
using core::EqualsIgnoreCase;

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = Lower(c);
  }
  return out;
}



bool CharEq(char p, char t, bool ignore_case) {
  return ignore_case ? Lower(p) == Lower(t) : p == t;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits "arn:partition:service:region:account:resource" at its first five colons (the resource
// part keeps any further colons). False when there are fewer than five.
bool SplitArn(std::string_view s, std::array<std::string_view, 6>* parts) {
  for (size_t i = 0; i < 5; ++i) {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) {
      return false;
    }
    (*parts)[i] = s.substr(0, colon);
    s.remove_prefix(colon + 1);
  }
  (*parts)[5] = s;
  return true;
}

// As SplitArn, for a policy value: colons inside "${...}" (policy variables such as
// ${aws:username}) do not split.
bool SplitPolicyArn(std::string_view s, std::array<std::string_view, 6>* parts) {
  size_t start = 0;
  size_t found = 0;
  for (size_t i = 0; i < s.size() && found < 5; ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t close = s.find('}', i + 2);
      if (close != std::string_view::npos) {
        i = close;
        continue;
      }
    }
    if (s[i] == ':') {
      (*parts)[found++] = s.substr(start, i - start);
      start = i + 1;
    }
  }
  if (found < 5) {
    return false;
  }
  (*parts)[5] = s.substr(start);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Patterns: Resource values and condition values, compiled into literal / wildcard / variable
// pieces so that a variable's value (or an escaped ${*}) is always matched literally.

struct Piece {
  enum class Kind : uint8_t { Literal, Star, One, Var };
  Kind kind = Kind::Literal;
  bool has_fallback = false;
  uint16_t var_index = 0;  // Var: slot in the resolved-values array
  std::string text;        // Literal: the characters; Var: the lowercased context key
  std::string fallback;    // Var: the default from ${key, 'default'}
};

class Pattern {
 public:
  // `wildcards`: '*' and '?' are wildcards (StringLike, ArnLike, Resource) rather than literal
  // characters (StringEquals). `variables`: "${...}" is a policy variable (Version 2012-10-17).
  static Pattern Compile(std::string_view text, bool wildcards, bool variables) {
    Pattern p;
    std::string literal;
    auto flush = [&] {
      if (!literal.empty()) {
        p.pieces_.push_back(Piece{Piece::Kind::Literal, false, 0, std::move(literal), {}});
        literal.clear();
      }
    };
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (wildcards && c == '*') {
        flush();
        if (p.pieces_.empty() || p.pieces_.back().kind != Piece::Kind::Star) {
          p.pieces_.push_back(Piece{Piece::Kind::Star, false, 0, {}, {}});
        }
        continue;
      }
      if (wildcards && c == '?') {
        flush();
        p.pieces_.push_back(Piece{Piece::Kind::One, false, 0, {}, {}});
        continue;
      }
      if (variables && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
        size_t close = text.find('}', i + 2);
        if (close != std::string_view::npos) {
          std::string_view inner = text.substr(i + 2, close - i - 2);
          if (inner == "*" || inner == "?" || inner == "$") {
            // AWS's escapes for characters that would otherwise be special.
            literal.push_back(inner[0]);
            i = close;
            continue;
          }
          Piece var;
          if (ParseVariable(inner, &var)) {
            flush();
            var.var_index = static_cast<uint16_t>(p.var_count_++);
            p.pieces_.push_back(std::move(var));
            i = close;
            continue;
          }
        }
      }
      literal.push_back(c);
    }
    flush();
    p.match_all_ = p.pieces_.size() == 1 && p.pieces_[0].kind == Piece::Kind::Star;
    return p;
  }

  // Matches `text` after resolving variables from `context`. A variable whose key is missing or
  // multivalued, without a default, makes the whole value not match (AWS: "the value does not
  // match").
  bool Matches(std::string_view text, const Context* context, bool ignore_case) const {
    if (match_all_) {
      return true;
    }
    if (var_count_ == 0) {
      return MatchResolved(text, nullptr, ignore_case);
    }
    constexpr size_t kInline = 8;
    std::array<std::string_view, kInline> inline_vars;
    std::vector<std::string_view> heap_vars;
    std::string_view* vars = inline_vars.data();
    if (var_count_ > kInline) {
      heap_vars.resize(var_count_);
      vars = heap_vars.data();
    }
    for (const Piece& piece : pieces_) {
      if (piece.kind != Piece::Kind::Var) {
        continue;
      }
      const std::vector<std::string>* values = nullptr;
      if (context != nullptr) {
        auto it = context->find(piece.text);
        if (it != context->end()) {
          values = &it->second;
        }
      }
      if (values != nullptr && values->size() == 1) {
        vars[piece.var_index] = (*values)[0];
      } else if (piece.has_fallback) {
        vars[piece.var_index] = piece.fallback;
      } else {
        return false;
      }
    }
    return MatchResolved(text, vars, ignore_case);
  }

 private:
  // "aws:username" or "aws:PrincipalTag/team, 'default'" ('' inside the quotes is one quote).
  static bool ParseVariable(std::string_view inner, Piece* out) {
    std::string_view name = inner;
    std::optional<std::string> fallback;
    size_t comma = inner.find(',');
    if (comma != std::string_view::npos) {
      name = inner.substr(0, comma);
      std::string_view rest = Trim(inner.substr(comma + 1));
      if (rest.size() < 2 || rest.front() != '\'' || rest.back() != '\'') {
        return false;
      }
      rest = rest.substr(1, rest.size() - 2);
      std::string value;
      for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '\'') {
          if (i + 1 >= rest.size() || rest[i + 1] != '\'') {
            return false;
          }
          ++i;
        }
        value.push_back(rest[i]);
      }
      fallback = std::move(value);
    }
    name = Trim(name);
    if (name.empty() || name.find_first_of(" \t${}'") != std::string_view::npos) {
      return false;
    }
    out->kind = Piece::Kind::Var;
    out->text = ToLower(name);
    out->has_fallback = fallback.has_value();
    if (fallback) {
      out->fallback = std::move(*fallback);
    }
    return true;
  }

  std::string_view LiteralAt(size_t i, const std::string_view* vars) const {
    const Piece& p = pieces_[i];
    return p.kind == Piece::Kind::Var ? vars[p.var_index] : std::string_view(p.text);
  }
  bool IsText(size_t i) const {
    return pieces_[i].kind == Piece::Kind::Literal || pieces_[i].kind == Piece::Kind::Var;
  }

  // The classic iterative glob match with one backtracking point (the last '*'), walking the
  // pattern as (piece, offset) so that literal runs and variable values need no flattening.
  bool MatchResolved(std::string_view text, const std::string_view* vars, bool ignore_case) const {
    const size_t n = pieces_.size();
    size_t pi = 0;
    size_t pk = 0;
    size_t t = 0;
    size_t star_pi = std::string_view::npos;
    size_t star_t = 0;
    while (true) {
      while (pi < n && IsText(pi) && pk == LiteralAt(pi, vars).size()) {
        ++pi;
        pk = 0;
      }
      if (t == text.size()) {
        break;
      }
      if (pi < n) {
        Piece::Kind kind = pieces_[pi].kind;
        if (kind == Piece::Kind::Star) {
          ++pi;
          pk = 0;
          star_pi = pi;
          star_t = t;
          continue;
        }
        if (kind == Piece::Kind::One) {
          ++pi;
          pk = 0;
          ++t;
          continue;
        }
        if (CharEq(LiteralAt(pi, vars)[pk], text[t], ignore_case)) {
          ++pk;
          ++t;
          continue;
        }
      }
      if (star_pi == std::string_view::npos) {
        return false;
      }
      t = ++star_t;
      pi = star_pi;
      pk = 0;
    }
    for (; pi < n; ++pi, pk = 0) {
      if (pieces_[pi].kind == Piece::Kind::Star) {
        continue;
      }
      if (IsText(pi) && pk == LiteralAt(pi, vars).size()) {
        continue;
      }
      return false;
    }
    return true;
  }

  std::vector<Piece> pieces_;
  size_t var_count_ = 0;
  bool match_all_ = false;
};

// ---------------------------------------------------------------------------------------------
// Typed condition values.

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  if (s.empty()) {
    return std::nullopt;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// Dates as AWS accepts them: W3C ISO 8601 ("2026-01-01", "2026-01-01T12:00Z",
// "2026-01-01T12:00:00.5+02:00") or epoch seconds ("1767225600"). Returns epoch millis.
std::optional<int64_t> ParseDateMillis(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  if (s[0] >= '0' && s[0] <= '9' && s.find('-') == std::string_view::npos) {
    if (s.find('T') != std::string_view::npos) {  // ISO 8601 basic form, "20260101T000000Z"
      auto secs = core::ParseAmzDate(s);
      return secs ? std::optional<int64_t>(*secs * 1000) : std::nullopt;
    }
    auto secs = ParseNumber(s);  // epoch seconds, as aws:EpochTime carries them
    return secs ? std::optional<int64_t>(static_cast<int64_t>(*secs * 1000.0)) : std::nullopt;
  }
  char buf[64];
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    std::memcpy(buf, s.data(), 10);
    std::memcpy(buf + 10, "T00:00:00Z", 10);
    return core::ParseIso8601(std::string_view(buf, 20));
  }
  // "YYYY-MM-DDThh:mm" plus an optional zone: add the seconds ParseIso8601 wants.
  if (s.size() >= 16 && s.size() < 40 && s[13] == ':' && (s.size() == 16 || s[16] != ':')) {
    std::memcpy(buf, s.data(), 16);
    std::memcpy(buf + 16, ":00", 3);
    std::memcpy(buf + 19, s.data() + 16, s.size() - 16);
    return core::ParseIso8601(std::string_view(buf, s.size() + 3));
  }
  return core::ParseIso8601(s);
}

struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

// inet_pton wants a NUL-terminated string: copy into a stack buffer so that checking
// aws:SourceIp never allocates.
std::optional<IpAddr> ParseIp(std::string_view s) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof buf) {
    return std::nullopt;
  }
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddr ip;
  if (s.find(':') != std::string_view::npos) {
    ip.v6 = true;
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) {
      return std::nullopt;
    }
  } else if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) {
    return std::nullopt;
  }
  return ip;
}

struct IpNet {
  IpAddr addr;
  int prefix = 0;

  bool Contains(const IpAddr& ip) const {
    if (ip.v6 != addr.v6) {
      return false;
    }
    int full = prefix / 8;
    if (std::memcmp(ip.bytes.data(), addr.bytes.data(), full) != 0) {
      return false;
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (ip.bytes[full] & mask) == (addr.bytes[full] & mask);
  }
};

// "203.0.113.0/24", "2001:DB8:1234:5678::/64", or a bare address (/32, /128).
std::optional<IpNet> ParseCidr(std::string_view s) {
  size_t slash = s.find('/');
  auto ip = ParseIp(s.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  IpNet net{*ip, ip->v6 ? 128 : 32};
  if (slash != std::string_view::npos) {
    std::string_view bits = s.substr(slash + 1);
    int prefix = -1;
    auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc() || p != bits.data() + bits.size() || prefix < 0 || prefix > net.prefix) {
      return std::nullopt;
    }
    net.prefix = prefix;
  }
  return net;
}

// ---------------------------------------------------------------------------------------------
// Conditions.

enum class Family : uint8_t { Text, Arn, Numeric, Date, Ip, Null };
enum class Cmp : uint8_t { Eq, Lt, Le, Gt, Ge };
enum class SetOp : uint8_t { None, ForAnyValue, ForAllValues };

struct OperatorSpec {
  std::string_view name;
  Family family;
  Cmp cmp;
  bool negated;
  bool ignore_case;  // Text: StringEqualsIgnoreCase, Bool
  bool wildcards;    // Text/Arn: '*' and '?' are wildcards
  bool variables;    // policy variables allowed in the values
};

// The operators AWS documents. ArnEquals and ArnLike behave alike in AWS (both match each of
// the six ARN components with wildcards), and so do they here.
constexpr OperatorSpec kOperators[] = {
    {"StringEquals", Family::Text, Cmp::Eq, false, false, false, true},
    {"StringNotEquals", Family::Text, Cmp::Eq, true, false, false, true},
    {"StringEqualsIgnoreCase", Family::Text, Cmp::Eq, false, true, false, true},
    {"StringNotEqualsIgnoreCase", Family::Text, Cmp::Eq, true, true, false, true},
    {"StringLike", Family::Text, Cmp::Eq, false, false, true, true},
    {"StringNotLike", Family::Text, Cmp::Eq, true, false, true, true},
    {"NumericEquals", Family::Numeric, Cmp::Eq, false, false, false, false},
    {"NumericNotEquals", Family::Numeric, Cmp::Eq, true, false, false, false},
    {"NumericLessThan", Family::Numeric, Cmp::Lt, false, false, false, false},
    {"NumericLessThanEquals", Family::Numeric, Cmp::Le, false, false, false, false},
    {"NumericGreaterThan", Family::Numeric, Cmp::Gt, false, false, false, false},
    {"NumericGreaterThanEquals", Family::Numeric, Cmp::Ge, false, false, false, false},
    {"DateEquals", Family::Date, Cmp::Eq, false, false, false, false},
    {"DateNotEquals", Family::Date, Cmp::Eq, true, false, false, false},
    {"DateLessThan", Family::Date, Cmp::Lt, false, false, false, false},
    {"DateLessThanEquals", Family::Date, Cmp::Le, false, false, false, false},
    {"DateGreaterThan", Family::Date, Cmp::Gt, false, false, false, false},
    {"DateGreaterThanEquals", Family::Date, Cmp::Ge, false, false, false, false},
    {"Bool", Family::Text, Cmp::Eq, false, true, false, true},
    {"BinaryEquals", Family::Text, Cmp::Eq, false, false, false, false},
    {"IpAddress", Family::Ip, Cmp::Eq, false, false, false, false},
    {"NotIpAddress", Family::Ip, Cmp::Eq, true, false, false, false},
    {"ArnEquals", Family::Arn, Cmp::Eq, false, false, true, true},
    {"ArnLike", Family::Arn, Cmp::Eq, false, false, true, true},
    {"ArnNotEquals", Family::Arn, Cmp::Eq, true, false, true, true},
    {"ArnNotLike", Family::Arn, Cmp::Eq, true, false, true, true},
    {"Null", Family::Null, Cmp::Eq, false, false, false, false},
};

template <typename T>
bool Compare(Cmp cmp, T request, T policy) {
  switch (cmp) {
    case Cmp::Eq:
      return request == policy;
    case Cmp::Lt:
      return request < policy;
    case Cmp::Le:
      return request <= policy;
    case Cmp::Gt:
      return request > policy;
    case Cmp::Ge:
      return request >= policy;
  }
  return false;
}

// One policy value of a condition, pre-parsed for its operator's family. A value that does not
// parse (a date that is not a date) never matches, rather than failing the whole document.
struct CondValue {
  Pattern pattern;                        // Text; Arn when the value is not a six-part ARN
  std::vector<Pattern> arn_parts;         // Arn: the six components, when the value has them
  std::optional<double> number;           // Numeric
  std::optional<int64_t> millis;          // Date
  std::optional<IpNet> net;               // Ip
  std::optional<bool> null_means_absent;  // Null: "true" -> the key must be absent
};

struct Clause {
  const OperatorSpec* op = nullptr;
  SetOp set = SetOp::None;
  bool if_exists = false;
  std::string key;  // lowercased
  std::vector<CondValue> values;

  // Whether one request value matches any of the policy values (OR). Parses the request value
  // once for the typed families.
  bool AnyValueMatches(std::string_view request_value, const Context* context) const {
    switch (op->family) {
      case Family::Text:
        for (const CondValue& v : values) {
          if (v.pattern.Matches(request_value, context, op->ignore_case)) {
            return true;
          }
        }
        return false;
      case Family::Arn: {
        std::array<std::string_view, 6> parts;
        bool is_arn = SplitArn(request_value, &parts);
        for (const CondValue& v : values) {
          if (v.arn_parts.empty()) {
            if (v.pattern.Matches(request_value, context, false)) {
              return true;
            }
            continue;
          }
          if (!is_arn) {
            continue;
          }
          bool all = true;
          for (size_t i = 0; i < 6 && all; ++i) {
            all = v.arn_parts[i].Matches(parts[i], context, false);
          }
          if (all) {
            return true;
          }
        }
        return false;
      }
      case Family::Numeric: {
        auto n = ParseNumber(request_value);
        if (!n) {
          return false;
        }
        for (const CondValue& v : values) {
          if (v.number && Compare(op->cmp, *n, *v.number)) {
            return true;
          }
        }
        return false;
      }
      case Family::Date: {
        auto ms = ParseDateMillis(request_value);
        if (!ms) {
          return false;
        }
        for (const CondValue& v : values) {
          if (v.millis && Compare(op->cmp, *ms, *v.millis)) {
            return true;
          }
        }
        return false;
      }
      case Family::Ip: {
        auto ip = ParseIp(request_value);
        if (!ip) {
          return false;
        }
        for (const CondValue& v : values) {
          if (v.net && v.net->Contains(*ip)) {
            return true;
          }
        }
        return false;
      }
      case Family::Null:
        break;
    }
    return false;
  }

  // AWS's rules: values OR within the key (NOR for negated operators); a missing key makes a
  // positive operator false and a negated one true, except that ...IfExists makes it true,
  // ForAllValues true and ForAnyValue false; Null tests presence alone.
  bool Holds(const Context* context) const {
    const std::vector<std::string>* request_values = nullptr;
    if (context != nullptr) {
      auto it = context->find(key);
      if (it != context->end()) {
        request_values = &it->second;
      }
    }
    bool present = request_values != nullptr && !request_values->empty();
    if (op->family == Family::Null) {
      for (const CondValue& v : values) {
        if (v.null_means_absent && *v.null_means_absent == !present) {
          return true;
        }
      }
      return false;
    }
    if (!present) {
      // AWS quirks, each pinned by a test: StringNotEquals & co. hold on a missing key
      // (StringEqualsAndNegationWithMissingKey); ForAllValues holds on a missing or empty set
      // (ForAllValuesIncludingEmptySet), ForAnyValue does not (ForAnyValueAndNegatedSetOperators).
      if (if_exists) {
        return true;
      }
      switch (set) {
        case SetOp::ForAllValues:
          return true;
        case SetOp::ForAnyValue:
          return false;
        case SetOp::None:
          return op->negated;
      }
      return false;
    }
    switch (set) {
      case SetOp::None: {
        // A single-valued key: the value matches one of the policy's (or, negated, none). A
        // request that supplies several values anyway is treated like ForAnyValue / "none".
        bool any = false;
        for (const std::string& rv : *request_values) {
          if (AnyValueMatches(rv, context)) {
            any = true;
            break;
          }
        }
        return op->negated ? !any : any;
      }
      case SetOp::ForAnyValue:
        for (const std::string& rv : *request_values) {
          if (AnyValueMatches(rv, context) != op->negated) {
            return true;
          }
        }
        return false;
      case SetOp::ForAllValues:
        for (const std::string& rv : *request_values) {
          if (AnyValueMatches(rv, context) == op->negated) {
            return false;
          }
        }
        return true;
    }
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// Principals.

struct PrincipalSet {
  bool everyone = false;  // "Principal": "*"
  bool any_aws = false;   // {"AWS": "*"}
  std::vector<std::string> arns;
  std::vector<std::string> accounts;
  std::vector<std::string> services;
  std::vector<std::string> federated;
  std::vector<std::string> canonical;  // accepted, never matches: berth has no S3 canonical ids

  static bool Contains(const std::vector<std::string>& list, std::string_view v) {
    for (const std::string& s : list) {
      if (s == v) {
        return true;
      }
    }
    return false;
  }

  // A caller matches through its ARN, its role's ARN (sessions of a trusted role may assume:
  // role chaining), its account (a 12-digit id or ":root" trusts every principal of the
  // account) or its service/provider name. {"AWS":"*"} covers AWS principals, not services.
  bool Matches(const Caller* caller) const {
    if (everyone) {
      return true;
    }
    if (caller == nullptr) {
      return false;
    }
    std::string_view account = caller->account;
    if (account.empty() && !caller->arn.empty()) {
      std::array<std::string_view, 6> parts;
      if (SplitArn(caller->arn, &parts)) {
        account = parts[4];
      }
    }
    bool is_aws = !caller->arn.empty() || !account.empty();
    if (is_aws) {
      if (any_aws || (!account.empty() && Contains(accounts, account)) ||
          (!caller->arn.empty() && Contains(arns, caller->arn)) ||
          (!caller->role_arn.empty() && Contains(arns, caller->role_arn))) {
        return true;
      }
    }
    if (!caller->service.empty() && Contains(services, caller->service)) {
      return true;
    }
    return !caller->federated.empty() && Contains(federated, caller->federated);
  }
};

std::string PrincipalText(std::string_view type, std::string_view value) {
  return "Invalid principal in policy: \"" + std::string(type) + "\":\"" + std::string(value) +
         "\"";
}

// Collects a string or a non-empty array of strings.
bool StringList(const json& j, std::vector<std::string>* out) {
  if (j.is_string()) {
    out->push_back(j.get_ref<const std::string&>());
    return true;
  }
  if (!j.is_array() || j.empty()) {
    return false;
  }
  for (const json& item : j) {
    if (!item.is_string()) {
      return false;
    }
    out->push_back(item.get_ref<const std::string&>());
  }
  return true;
}

Status AddAwsPrincipal(const std::string& value, PrincipalSet* set) {
  if (value == "*") {
    set->any_aws = true;
    return OkStatus();
  }
  if (value.size() == 12 && AllDigits(value)) {
    set->accounts.push_back(value);
    return OkStatus();
  }
  std::array<std::string_view, 6> parts;
  // AWS refuses wildcards inside a principal ARN; only "*" alone means everyone.
  if (value.find_first_of("*?") != std::string::npos || !SplitArn(value, &parts) ||
      parts[0] != "arn" || (parts[2] != "iam" && parts[2] != "sts") || parts[4].size() != 12 ||
      !AllDigits(parts[4]) || parts[5].empty()) {
    return Malformed(PrincipalText("AWS", value));
  }
  if (parts[2] == "iam" && parts[5] == "root") {
    set->accounts.emplace_back(parts[4]);
  } else {
    set->arns.push_back(value);
  }
  return OkStatus();
}

Result<PrincipalSet> ParsePrincipal(const json& j) {
  PrincipalSet set;
  if (j.is_string()) {
    if (j.get_ref<const std::string&>() != "*") {
      return Malformed("Invalid principal in policy: " + j.dump());
    }
    set.everyone = true;
    return set;
  }
  if (!j.is_object() || j.empty()) {
    return Malformed("Invalid principal in policy: " + j.dump());
  }
  for (const auto& [type, value] : j.items()) {
    std::vector<std::string> ids;
    if (!StringList(value, &ids)) {
      return Malformed("Invalid principal in policy: \"" + type + "\":" + value.dump());
    }
    for (const std::string& id : ids) {
      if (type == "AWS") {
        BERTH_RETURN_IF_ERROR(AddAwsPrincipal(id, &set));
        continue;
      }
      if (id.empty() || id.find_first_of("*?") != std::string::npos) {
        return Malformed(PrincipalText(type, id));
      }
      if (type == "Service") {
        set.services.push_back(id);
      } else if (type == "Federated") {
        set.federated.push_back(id);
      } else if (type == "CanonicalUser") {
        set.canonical.push_back(id);
      } else {
        return Malformed(PrincipalText(type, id));
      }
    }
  }
  return set;
}

// ---------------------------------------------------------------------------------------------
// Statements.

struct Statement {
  std::string sid;
  Effect effect = Effect::Allow;
  bool not_action = false;
  std::vector<std::string> actions;  // lowercased patterns
  bool has_resource = false;
  bool not_resource = false;
  std::vector<Pattern> resources;
  bool has_principal = false;
  bool not_principal = false;
  PrincipalSet principals;
  std::vector<Clause> conditions;

  bool ActionMatches(std::string_view action) const {
    bool any = false;
    for (const std::string& pattern : actions) {
      if (WildcardMatch(pattern, action, true)) {
        any = true;
        break;
      }
    }
    return any != not_action;
  }

  bool ResourceMatches(std::string_view resource, const Context* context) const {
    if (!has_resource) {
      return true;
    }
    bool any = false;
    for (const Pattern& pattern : resources) {
      if (pattern.Matches(resource, context, false)) {
        any = true;
        break;
      }
    }
    return any != not_resource;
  }

  bool Matches(const Request& request) const {
    if (has_principal && principals.Matches(request.caller) == not_principal) {
      return false;
    }
    if (!ActionMatches(request.action) || !ResourceMatches(request.resource, request.context)) {
      return false;
    }
    for (const Clause& clause : conditions) {
      if (!clause.Holds(request.context)) {
        return false;
      }
    }
    return true;
  }
};

// "service:Action" with wildcards, or "*".
Status CheckAction(const std::string& action) {
  if (action == "*") {
    return OkStatus();
  }
  size_t colon = action.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  }
  if (action.find(':', colon + 1) != std::string::npos) {
    return Malformed("Actions/Condition can contain only one colon.");
  }
  return OkStatus();
}

// IAM wants "*" or an ARN. A wildcard may stand for several trailing segments ("arn:aws:*"),
// so an "arn:" value with a '*' is accepted even with fewer than five colons.
Status CheckResource(const std::string& resource) {
  if (resource == "*") {
    return OkStatus();
  }
  size_t colons = 0;
  for (char c : resource) {
    colons += c == ':';
  }
  bool arn =
      resource.rfind("arn:", 0) == 0 && (colons >= 5 || resource.find('*') != std::string::npos);
  if (!arn) {
    return Malformed("Resource " + resource + " must be in ARN format or \"*\".");
  }
  return OkStatus();
}

// A condition value as text: AWS accepts strings, numbers and booleans (`"Bool": {"k": true}`,
// `"NumericLessThan": {"k": 10}`) and compares them as their JSON spelling.
bool ConditionValueText(const json& j, std::string* out) {
  if (j.is_string()) {
    *out = j.get_ref<const std::string&>();
  } else if (j.is_boolean()) {
    *out = j.get<bool>() ? "true" : "false";
  } else if (j.is_number()) {
    *out = j.dump();
  } else {
    return false;
  }
  return true;
}

CondValue CompileValue(const OperatorSpec& op, const std::string& text, bool variables) {
  CondValue v;
  bool vars = variables && op.variables;
  switch (op.family) {
    case Family::Text:
      v.pattern = Pattern::Compile(text, op.wildcards, vars);
      break;
    case Family::Arn: {
      std::array<std::string_view, 6> parts;
      if (SplitPolicyArn(text, &parts)) {
        for (std::string_view part : parts) {
          v.arn_parts.push_back(Pattern::Compile(part, true, vars));
        }
      } else {
        v.pattern = Pattern::Compile(text, true, vars);
      }
      break;
    }
    case Family::Numeric:
      v.number = ParseNumber(text);
      break;
    case Family::Date:
      v.millis = ParseDateMillis(text);
      break;
    case Family::Ip:
      v.net = ParseCidr(text);
      break;
    case Family::Null:
      if (EqualsIgnoreCase(text, "true")) {
        v.null_means_absent = true;
      } else if (EqualsIgnoreCase(text, "false")) {
        v.null_means_absent = false;
      }
      break;
  }
  return v;
}

Result<std::vector<Clause>> ParseConditions(const json& j, bool variables) {
  if (!j.is_object()) {
    return SyntaxError();
  }
  // Operator names are matched case-insensitively: AWS does not document their case rules, and
  // refusing a policy that AWS would take is worse than taking one it would refuse.
  std::vector<Clause> clauses;
  for (const auto& [op_name, block] : j.items()) {
    std::string_view name = op_name;
    SetOp set = SetOp::None;
    constexpr std::string_view kAny = "ForAnyValue:";
    constexpr std::string_view kAll = "ForAllValues:";
    if (name.size() > kAny.size() && EqualsIgnoreCase(name.substr(0, kAny.size()), kAny)) {
      set = SetOp::ForAnyValue;
      name.remove_prefix(kAny.size());
    } else if (name.size() > kAll.size() && EqualsIgnoreCase(name.substr(0, kAll.size()), kAll)) {
      set = SetOp::ForAllValues;
      name.remove_prefix(kAll.size());
    }
    bool if_exists = false;
    constexpr std::string_view kIfExists = "IfExists";
    if (name.size() > kIfExists.size() &&
        EqualsIgnoreCase(name.substr(name.size() - kIfExists.size()), kIfExists)) {
      if_exists = true;
      name.remove_suffix(kIfExists.size());
    }
    const OperatorSpec* op = nullptr;
    for (const OperatorSpec& candidate : kOperators) {
      if (EqualsIgnoreCase(candidate.name, name)) {
        op = &candidate;
        break;
      }
    }
    // Null takes neither IfExists (it is itself an existence test) nor a set qualifier.
    if (op == nullptr || (op->family == Family::Null && (if_exists || set != SetOp::None))) {
      return Malformed("Invalid Condition type : " + op_name + ".");
    }
    if (!block.is_object() || block.empty()) {
      return SyntaxError();
    }
    for (const auto& [key, value] : block.items()) {
      if (key.find(':') == std::string::npos || key.front() == ':') {
        return Malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
      }
      Clause clause;
      clause.op = op;
      clause.set = set;
      clause.if_exists = if_exists;
      clause.key = ToLower(key);
      std::vector<std::string> texts;
      if (value.is_array()) {
        for (const json& item : value) {
          std::string text;
          if (!ConditionValueText(item, &text)) {
            return SyntaxError();
          }
          texts.push_back(std::move(text));
        }
      } else {
        std::string text;
        if (!ConditionValueText(value, &text)) {
          return SyntaxError();
        }
        texts.push_back(std::move(text));
      }
      for (const std::string& text : texts) {
        clause.values.push_back(CompileValue(*op, text, variables));
      }
      clauses.push_back(std::move(clause));
    }
  }
  return clauses;
}

bool IsAlphanumeric(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

Result<Statement> ParseStatement(const json& j, PolicyKind kind, bool variables,
                                 const ParseOptions& options) {
  if (!j.is_object()) {
    return SyntaxError();
  }
  // AWS refuses elements it does not know (element names are case-sensitive).
  constexpr std::string_view kFields[] = {"Sid",       "Effect",       "Action",
                                          "NotAction", "Resource",     "NotResource",
                                          "Principal", "NotPrincipal", "Condition"};
  for (const auto& [field, value] : j.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), field) == std::end(kFields)) {
      return SyntaxError();
    }
  }
  // Checks run in a fixed order (Sid, Principal, Effect, Action, Resource, Condition) so that a
  // document with several faults always reports the same one.
  Statement st;
  auto field = [&](const char* name) -> const json* {
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };

  if (const json* sid = field("Sid")) {
    if (!sid->is_string()) {
      return SyntaxError();
    }
    st.sid = sid->get<std::string>();
    if (options.alphanumeric_sids && !IsAlphanumeric(st.sid)) {
      return Malformed(
          "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
          "regular expression [0-9A-Za-z]*");
    }
  }

  const json* principal = field("Principal");
  const json* not_principal = field("NotPrincipal");
  if (kind == PolicyKind::Identity) {
    if (principal != nullptr || not_principal != nullptr) {
      return Malformed("Policy document should not specify a principal.");
    }
  } else {
    if (principal != nullptr && not_principal != nullptr) {
      return SyntaxError();
    }
    if (principal == nullptr && not_principal == nullptr) {
      return Malformed("Missing required field Principal");
    }
    st.has_principal = true;
    st.not_principal = not_principal != nullptr;
    BERTH_TRY(st.principals, ParsePrincipal(principal != nullptr ? *principal : *not_principal));
  }

  const json* effect = field("Effect");
  if (effect == nullptr) {
    return Malformed("Missing required field Effect");
  }
  if (!effect->is_string()) {
    return SyntaxError();
  }
  const std::string& effect_text = effect->get_ref<const std::string&>();
  if (effect_text == "Allow") {
    st.effect = Effect::Allow;
  } else if (effect_text == "Deny") {
    st.effect = Effect::Deny;
  } else {
    return Malformed("Invalid effect: " + effect_text);
  }

  const json* action = field("Action");
  const json* not_action = field("NotAction");
  if (action != nullptr && not_action != nullptr) {
    return SyntaxError();
  }
  if (action == nullptr && not_action == nullptr) {
    return Malformed("Policy statement must contain actions.");
  }
  st.not_action = not_action != nullptr;
  {
    const json& list = action != nullptr ? *action : *not_action;
    if (list.is_array() && list.empty()) {
      return Malformed("Policy statement must contain actions.");
    }
    std::vector<std::string> actions;
    if (!StringList(list, &actions)) {
      return SyntaxError();
    }
    for (std::string& a : actions) {
      BERTH_RETURN_IF_ERROR(CheckAction(a));
      st.actions.push_back(ToLower(a));
    }
  }

  const json* resource = field("Resource");
  const json* not_resource = field("NotResource");
  if (resource != nullptr && not_resource != nullptr) {
    return SyntaxError();
  }
  if (resource == nullptr && not_resource == nullptr) {
    if (kind == PolicyKind::Identity) {
      return Malformed("Policy statement must contain resources.");
    }
  } else {
    st.has_resource = true;
    st.not_resource = not_resource != nullptr;
    const json& list = resource != nullptr ? *resource : *not_resource;
    if (list.is_array() && list.empty()) {
      return Malformed("Policy statement must contain resources.");
    }
    std::vector<std::string> resources;
    if (!StringList(list, &resources)) {
      return SyntaxError();
    }
    for (const std::string& r : resources) {
      BERTH_RETURN_IF_ERROR(CheckResource(r));
      st.resources.push_back(Pattern::Compile(r, true, variables));
    }
  }

  if (const json* condition = field("Condition")) {
    BERTH_TRY(st.conditions, ParseConditions(*condition, variables));
  }
  return st;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Policy::Impl {
  PolicyKind kind = PolicyKind::Identity;
  std::string name;
  std::string version;
  std::string id;
  std::vector<Statement> statements;
};

Policy::Policy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

PolicyKind Policy::kind() const { return impl_->kind; }
const std::string& Policy::name() const { return impl_->name; }
const std::string& Policy::version() const { return impl_->version; }
const std::string& Policy::id() const { return impl_->id; }
size_t Policy::statement_count() const { return impl_->statements.size(); }

Result<Policy> Policy::Parse(std::string_view document, PolicyKind kind, ParseOptions options) {
  json doc = json::parse(document.begin(), document.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return SyntaxError();
  }
  auto impl = std::make_unique<Impl>();
  impl->kind = kind;
  for (const auto& [field, value] : doc.items()) {
    if (field != "Version" && field != "Id" && field != "Statement") {
      return SyntaxError();
    }
  }
  // A missing Version means the 2008-10-17 language, which has no policy variables.
  if (auto it = doc.find("Version"); it != doc.end()) {
    if (!it->is_string() || (it->get_ref<const std::string&>() != kVersion2012 &&
                             it->get_ref<const std::string&>() != kVersion2008)) {
      return Malformed("The policy must contain a valid version string");
    }
    impl->version = it->get<std::string>();
  }
  if (auto it = doc.find("Id"); it != doc.end()) {
    if (!it->is_string()) {
      return SyntaxError();
    }
    impl->id = it->get<std::string>();
  }
  auto statements = doc.find("Statement");
  if (statements == doc.end()) {
    return Malformed("Missing required field Statement");
  }
  // Variables exist only in the 2012-10-17 language; older documents keep "${...}" literally.
  bool variables = impl->version == kVersion2012;
  std::set<std::string, std::less<>> sids;
  auto add = [&](const json& j) -> Status {
    BERTH_TRY(Statement st, ParseStatement(j, kind, variables, options));
    if (!st.sid.empty() && !sids.insert(st.sid).second) {
      return Malformed("Statement IDs (SID) in a single policy must be unique.");
    }
    impl->statements.push_back(std::move(st));
    return OkStatus();
  };
  if (statements->is_array()) {
    for (const json& j : *statements) {
      BERTH_RETURN_IF_ERROR(add(j));
    }
  } else if (statements->is_object()) {
    BERTH_RETURN_IF_ERROR(add(*statements));
  } else {
    return SyntaxError();
  }
  impl->name = std::move(options.name);
  return Policy(std::move(impl));
}

PolicyEvaluation Policy::Evaluate(const Request& request) const {
  PolicyEvaluation result;
  for (const Statement& st : impl_->statements) {
    // A matching Allow cannot end the scan: a later Deny still wins.
    if (result.outcome == Outcome::Allow && st.effect == Effect::Allow) {
      continue;
    }
    if (!st.Matches(request)) {
      continue;
    }
    if (st.effect == Effect::Deny) {
      return PolicyEvaluation{Outcome::ExplicitDeny, st.sid};
    }
    result = PolicyEvaluation{Outcome::Allow, st.sid};
  }
  return result;
}

void SetContextValue(Context& context, std::string_view key, std::vector<std::string> values) {
  context[ToLower(key)] = std::move(values);
}

Decision Decide(const PolicySet& policies, const Request& request) {
  auto explicit_deny = [](PolicyType type, const Policy& policy, std::string_view sid) {
    Decision d;
    d.outcome = Outcome::ExplicitDeny;
    d.policy_type = type;
    d.sid = std::string(sid);
    d.policy_name = policy.name();
    return d;
  };
  bool identity_allows = false;
  for (const Policy* policy : policies.identity) {
    if (policy == nullptr) {
      continue;
    }
    PolicyEvaluation e = policy->Evaluate(request);
    if (e.outcome == Outcome::ExplicitDeny) {
      return explicit_deny(PolicyType::Identity, *policy, e.sid);
    }
    identity_allows |= e.outcome == Outcome::Allow;
  }
  bool resource_allows = false;
  if (policies.resource != nullptr) {
    PolicyEvaluation e = policies.resource->Evaluate(request);
    if (e.outcome == Outcome::ExplicitDeny) {
      return explicit_deny(PolicyType::Resource, *policies.resource, e.sid);
    }
    resource_allows = e.outcome == Outcome::Allow;
  }
  bool session_allows = true;
  if (policies.session != nullptr) {
    PolicyEvaluation e = policies.session->Evaluate(request);
    if (e.outcome == Outcome::ExplicitDeny) {
      return explicit_deny(PolicyType::Session, *policies.session, e.sid);
    }
    session_allows = e.outcome == Outcome::Allow;
  }
  // Within one account a resource-based policy that allows is enough on its own; a session
  // policy only narrows what the identity-based policies grant.
  Decision d;
  if (resource_allows || (identity_allows && session_allows)) {
    d.outcome = Outcome::Allow;
    return d;
  }
  d.outcome = Outcome::ImplicitDeny;
  d.policy_type = identity_allows ? PolicyType::Session : PolicyType::Identity;
  return d;
}

std::string DenialMessage(std::string_view caller_arn, std::string_view action,
                          std::string_view resource, const Decision& decision) {
  BERTH_ASSERT(!decision.allowed(), "DenialMessage needs a denial");
  std::string_view type;
  std::string_view article;
  switch (decision.policy_type) {
    case PolicyType::Identity:
      type = "identity-based";
      article = "an";
      break;
    case PolicyType::Resource:
      type = "resource-based";
      article = "a";
      break;
    case PolicyType::Session:
      type = "session";
      article = "a";
      break;
  }
  std::string out = "User: ";
  out.append(caller_arn).append(" is not authorized to perform: ").append(action);
  if (!resource.empty()) {
    out.append(" on resource: ").append(resource);
  }
  if (decision.outcome == Outcome::ExplicitDeny) {
    out.append(" with an explicit deny in ").append(article).append(" ").append(type);
    out.append(" policy");
    if (!decision.policy_name.empty()) {
      out.append(": ").append(decision.policy_name);
    }
  } else {
    out.append(" because no ").append(type).append(" policy allows the ").append(action);
    out.append(" action");
  }
  return out;
}

bool AllowsAssumeRole(const Policy& trust_policy, const Caller& caller, const Context& context,
                      std::string_view action, std::string_view role_arn) {
  BERTH_ASSERT(trust_policy.kind() == PolicyKind::Resource, "a trust policy is resource-based");
  Request request;
  request.action = action;
  request.resource = role_arn;
  request.context = &context;
  request.caller = &caller;
  return trust_policy.Evaluate(request).outcome == Outcome::Allow;
}

// Same algorithm as Pattern::MatchResolved over a flat string. Only the last '*' is ever
// backtracked to: an earlier star can never need to absorb more than the later one allows.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  return core::WildcardMatch(pattern, text, ignore_case);
}

}  // namespace berth::iam
