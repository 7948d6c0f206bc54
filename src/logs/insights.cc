#include "logs/insights.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <regex>
#include <unordered_map>
#include <unordered_set>

// How a query runs. Parse turns the text into a Plan: an expression arena, a list of "slots"
// (every field name the query mentions, built-ins first) and the commands split at `stats`.
// Commands before stats run per event inside Add (fields, parse, filter); what follows stats
// runs over the aggregated rows in Results(). Without stats, matching events are kept in a
// bounded heap ordered by the query's sort (default @timestamp desc), so memory is O(limit).
//
// Field values live in a per-event slot array stamped with a generation number, so starting an
// event is five stores, not a clear. A non-@ slot that nobody assigned falls back to the event's
// JSON, which is parsed on that first lookup (once per event, simdjson On-Demand with a reused
// parser) and fills every JSON slot the query knows in one walk, stopping early once all are
// found. Queries that only touch @ fields never look at the JSON.
//
// Choices berth made where AWS's documentation is silent (tests pin them):
// - A comparison with an absent field is false, `!=`, `not like` and `not in` included; `not
//   (x = 1)` is true for an event without x (AbsentFieldComparisonsAreFalse).
// - `=`/`!=`/`in` compare numerically when both sides read as numbers ("500" = 500), as text
//   otherwise; `<` and friends compare numbers numerically and text lexicographically, and a
//   number never orders against non-numeric text.
// - Stats rows come ordered by their group values ascending (natural order) unless a sort
//   follows; a stats query that matches nothing returns no rows.
// - pct is exact nearest-rank over every value; count_distinct is exact (AWS approximates both).
// - Booleans computed by the query (ispresent, comparisons in fields) print as 1/0; JSON
//   true/false print as written. JSON null is treated as absent. Objects and arrays named
//   directly print as their raw JSON.
// - min/max/sum/avg read timestamps as epoch milliseconds and print numbers.
// - sort/limit/dedup before stats, a second stats, and parse after stats are rejected as
//   unsupported rather than guessed at.
// - When every JSON field the query reads is top-level (no dot), keys are matched on their raw
//   text, so a key written with escapes (\u0073tatus) is not found; dotted names walk the object
//   and unescape every key. Invalid JSON yields no fields at all.

namespace berth::logs::insights {
namespace {

constexpr int64_t kDefaultLimit = 10000;
constexpr int kTimestampSlot = 0;
constexpr int kMessageSlot = 1;
constexpr int kLogStreamSlot = 2;
constexpr int kLogSlot = 3;
constexpr int kIngestionTimeSlot = 4;
constexpr int kJsonMaxDepth = 32;

// ---------------------------------------------------------------------------------------------
// Values

enum class Kind : uint8_t { Null, Str, Num, Time, Bool };

// A borrowed value: `str` points into the event, the JSON parser, the plan or a Scratch.
struct Value {
  Kind kind = Kind::Null;
  bool b = false;
  double num = 0;
  int64_t ms = 0;
  std::string_view str;  // Str: the text; Num: the event's own spelling when it came from JSON

  static Value S(std::string_view s) {
    Value v;
    v.kind = Kind::Str;
    v.str = s;
    return v;
  }
  static Value N(double d, std::string_view raw = {}) {
    Value v;
    v.kind = Kind::Num;
    v.num = d;
    v.str = raw;
    return v;
  }
  static Value T(int64_t ms) {
    Value v;
    v.kind = Kind::Time;
    v.ms = ms;
    return v;
  }
  static Value B(bool b) {
    Value v;
    v.kind = Kind::Bool;
    v.b = b;
    return v;
  }
};

// A value that owns its text; what rows and literals keep.
struct OwnedValue {
  Kind kind = Kind::Null;
  bool b = false;
  double num = 0;
  int64_t ms = 0;
  std::string str;

  OwnedValue() = default;
  explicit OwnedValue(const Value& v) : kind(v.kind), b(v.b), num(v.num), ms(v.ms), str(v.str) {}
  Value View() const {
    Value v;
    v.kind = kind;
    v.b = b;
    v.num = num;
    v.ms = ms;
    v.str = str;
    return v;
  }
};

// Buffers for computed strings, recycled per event. A deque never moves its elements, so views
// into earlier buffers stay valid while later ones are added.
class Scratch {
 public:
  std::string& Next() {
    if (used_ == bufs_.size()) {
      bufs_.emplace_back();
    }
    std::string& s = bufs_[used_++];
    s.clear();
    return s;
  }
  void Reset() { used_ = 0; }

 private:
  std::deque<std::string> bufs_;
  size_t used_ = 0;
};

// Only plain decimal numbers count ("inf", "nan" and hex do not).
bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) {
    return false;
  }
  char c = s[0];
  if (!(c == '-' || c == '.' || (c >= '0' && c <= '9'))) {
    return false;
  }
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

bool AsNumber(const Value& v, double* out) {
  switch (v.kind) {
    case Kind::Num:
      *out = v.num;
      return true;
    case Kind::Time:
      *out = static_cast<double>(v.ms);
      return true;
    case Kind::Bool:
      *out = v.b ? 1 : 0;
      return true;
    case Kind::Str:
      return ParseNumber(v.str, out);
    case Kind::Null:
      return false;
  }
  return false;
}

void AppendNumber(double d, std::string* out) {
  char buf[64];
  std::to_chars_result r;
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that reads back the same
  }
  out->append(buf, r.ptr);
}

// Insights prints timestamps as "2026-11-26 19:07:50.123" in UTC.
void AppendTimestamp(int64_t ms, std::string* out) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds{ms}};
  sys_days day = floor<days>(tp);
  year_month_day ymd{day};
  int64_t in_day = (tp - day).count();
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%03d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / 3600000),
                        static_cast<int>(in_day / 60000 % 60), static_cast<int>(in_day / 1000 % 60),
                        static_cast<int>(in_day % 1000));
  out->append(buf, static_cast<size_t>(n));
}

std::string_view BoolText(bool b) { return b ? "1" : "0"; }

// The text form of a value; computed numbers and timestamps are formatted into `scratch`.
std::string_view AsString(const Value& v, Scratch* scratch) {
  switch (v.kind) {
    case Kind::Str:
      return v.str;
    case Kind::Num: {
      if (!v.str.empty()) {
        return v.str;
      }
      std::string& s = scratch->Next();
      AppendNumber(v.num, &s);
      return s;
    }
    case Kind::Time: {
      std::string& s = scratch->Next();
      AppendTimestamp(v.ms, &s);
      return s;
    }
    case Kind::Bool:
      return BoolText(v.b);
    case Kind::Null:
      return {};
  }
  return {};
}

std::string Display(const Value& v) {
  std::string out;
  switch (v.kind) {
    case Kind::Str:
      out.assign(v.str);
      break;
    case Kind::Num:
      if (!v.str.empty()) {
        out.assign(v.str);
      } else {
        AppendNumber(v.num, &out);
      }
      break;
    case Kind::Time:
      AppendTimestamp(v.ms, &out);
      break;
    case Kind::Bool:
      out.assign(BoolText(v.b));
      break;
    case Kind::Null:
      break;
  }
  return out;
}

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Bool:
      return v.b;
    case Kind::Num:
      return v.num != 0;
    case Kind::Time:
      return true;
    case Kind::Str:
      return !v.str.empty() && v.str != "false" && v.str != "0";
    case Kind::Null:
      return false;
  }
  return false;
}

bool Equals(const Value& a, const Value& b, Scratch* scratch) {
  double x, y;
  if (AsNumber(a, &x) && AsNumber(b, &y)) {
    return x == y;
  }
  return AsString(a, scratch) == AsString(b, scratch);
}

// -1/0/1 for `<`-style comparisons, nullopt when the two do not order (number vs text).
std::optional<int> Order(const Value& a, const Value& b, Scratch* scratch) {
  double x, y;
  bool an = AsNumber(a, &x), bn = AsNumber(b, &y);
  if (an && bn) {
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (an || bn) {
    return std::nullopt;
  }
  int c = AsString(a, scratch).compare(AsString(b, scratch));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// AWS's "updated natural sort" for text: digit runs compare by length, then value; everything
// else by code unit.
int NaturalCompare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsDigit(a[i]) && IsDigit(b[j])) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && IsDigit(a[i2])) {
        ++i2;
      }
      while (j2 < b.size() && IsDigit(b[j2])) {
        ++j2;
      }
      if (i2 - i != j2 - j) {
        return i2 - i < j2 - j ? -1 : 1;
      }
      int c = a.substr(i, i2 - i).compare(b.substr(j, j2 - j));
      if (c != 0) {
        return c < 0 ? -1 : 1;
      }
      i = i2;
      j = j2;
      continue;
    }
    auto ca = static_cast<unsigned char>(a[i]), cb = static_cast<unsigned char>(b[j]);
    if (ca != cb) {
      return ca < cb ? -1 : 1;
    }
    ++i;
    ++j;
  }
  if (i < a.size()) {
    return 1;
  }
  return j < b.size() ? -1 : 0;
}

// Ascending sort order of two present values: non-numeric before numeric (AWS's rule).
int SortCompare(const Value& a, const Value& b) {
  double x, y;
  bool an = AsNumber(a, &x), bn = AsNumber(b, &y);
  if (an && bn) {
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (an != bn) {
    return an ? 1 : -1;
  }
  auto text = [](const Value& v) { return v.kind == Kind::Bool ? BoolText(v.b) : v.str; };
  return NaturalCompare(text(a), text(b));
}

// ---------------------------------------------------------------------------------------------
// Regular expressions

class Matcher {
 public:
  // `pos` locates the pattern in the query for error messages. Named groups `(?<n>...)` are
  // rewritten to plain groups (std::regex has none) and remembered in groups().
  static std::optional<Matcher> Compile(std::string_view pattern, std::string* error) {
    Matcher m;
    if (pattern.substr(0, 4) == "(?i)") {
      m.icase_ = true;
      pattern.remove_prefix(4);
    }
    if (pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos) {
      m.literal_ = true;
      m.text_.assign(pattern);
      if (m.icase_) {
        for (char& c : m.text_) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
      }
      return m;
    }
    std::string rewritten;
    int group = 0;
    bool in_class = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
      char c = pattern[i];
      if (c == '\\' && i + 1 < pattern.size()) {
        rewritten += c;
        rewritten += pattern[++i];
        continue;
      }
      if (in_class) {
        in_class = c != ']';
        rewritten += c;
        continue;
      }
      if (c == '[') {
        in_class = true;
      } else if (c == '(') {
        if (i + 2 < pattern.size() && pattern[i + 1] == '?' && pattern[i + 2] == '<' &&
            i + 3 < pattern.size() && pattern[i + 3] != '=' && pattern[i + 3] != '!') {
          size_t close = pattern.find('>', i + 3);
          if (close == std::string_view::npos) {
            *error = "unterminated group name in regular expression";
            return std::nullopt;
          }
          m.groups_.emplace_back(std::string(pattern.substr(i + 3, close - i - 3)), ++group);
          rewritten += '(';
          i = close;
          continue;
        }
        if (!(i + 1 < pattern.size() && pattern[i + 1] == '?')) {
          ++group;
        }
      }
      rewritten += c;
    }
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    if (m.icase_) {
      flags |= std::regex::icase;
    }
    try {
      m.re_ = std::make_shared<std::regex>(rewritten, flags);
    } catch (const std::regex_error& e) {
      *error = std::string("invalid regular expression: ") + e.what();
      return std::nullopt;
    }
    return m;
  }

  bool Search(std::string_view s) const {
    if (literal_) {
      if (!icase_) {
        return s.find(text_) != std::string_view::npos;
      }
      auto it = std::search(s.begin(), s.end(), text_.begin(), text_.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      });
      return it != s.end() || text_.empty();
    }
    return std::regex_search(s.data(), s.data() + s.size(), *re_);
  }

  // Full capture groups for parse; false when the pattern does not occur.
  bool Find(std::string_view s, std::cmatch* m) const {
    return re_ && std::regex_search(s.data(), s.data() + s.size(), *m, *re_);
  }

  bool literal() const { return literal_; }
  bool icase() const { return icase_; }
  const std::string& text() const { return text_; }
  const std::vector<std::pair<std::string, int>>& groups() const { return groups_; }

 private:
  bool literal_ = false;
  bool icase_ = false;
  std::string text_;                 // the literal (lower-cased when icase_)
  std::shared_ptr<std::regex> re_;   // when not literal
  std::vector<std::pair<std::string, int>> groups_;  // named group -> capture index
};

// ---------------------------------------------------------------------------------------------
// The plan

enum class NodeKind : uint8_t {
  Lit, Field, Neg, Not, And, Or, Add, Sub, Mul, Div, Mod,
  Eq, Ne, Lt, Le, Gt, Ge, LikeStr, LikeRe, In, Call,
};

enum class Fn : uint8_t {
  IsPresent, IsEmpty, IsBlank, Concat, Strlen, ToUpper, ToLower, Trim, LTrim, RTrim,
  StrContains, Coalesce, Abs, Ceil, Floor, Bin,
};

struct Node {
  NodeKind kind = NodeKind::Lit;
  bool negate = false;  // `not like`, `not in`
  Fn fn = Fn::IsPresent;
  int slot = -1;
  int64_t bin_ms = 0;
  std::vector<int> kids;
  OwnedValue lit;
  std::vector<OwnedValue> set;   // In
  std::shared_ptr<const Matcher> re;
};

enum class CmdKind : uint8_t { Fields, Filter, Parse, Sort, Limit, Display, Dedup };

struct NamedExpr {
  int expr = -1;
  int slot = -1;
  bool assign = false;  // false when the expression is just the field itself
};

struct SortKey {
  int slot = -1;
  bool desc = true;
};

struct ParseSpec {
  int source = -1;
  bool is_regex = false;
  std::vector<std::string> literals;  // glob text around the `*`s (stars + 1 pieces)
  std::vector<int> slots;
  std::vector<int> groups;  // regex: capture index feeding each slot
  std::shared_ptr<const Matcher> re;
};

struct Command {
  CmdKind kind = CmdKind::Filter;
  std::vector<NamedExpr> items;  // Fields
  int expr = -1;                 // Filter
  ParseSpec parse;
  std::vector<SortKey> sort;
  int64_t limit = 0;
  std::vector<int> slots;  // Display, Dedup
};

enum class AggKind : uint8_t { CountStar, Count, Sum, Avg, Min, Max, Pct, CountDistinct };

struct Agg {
  AggKind kind = AggKind::CountStar;
  int expr = -1;
  double pct = 0;
  int slot = -1;
};

}  // namespace

struct Plan {
  std::vector<Node> nodes;
  std::vector<std::string> slot_names;
  std::vector<Command> pre;   // before stats (everything, without stats)
  std::vector<Command> post;  // after stats
  bool has_stats = false;
  std::vector<Agg> aggs;
  std::vector<NamedExpr> group_by;
  std::vector<int> output;  // the columns of the result rows
  // Without stats: the effective sort, limit and dedup, and the slots a kept row needs.
  std::vector<SortKey> row_sort;
  int64_t row_limit = kDefaultLimit;
  bool row_dedup = false;
  std::vector<int> dedup_slots;
  std::vector<int> row_slots;
  // Non-@ fields read while events are processed: the only ones looked up in an event's JSON
  // (names made by stats, for instance, never are).
  std::vector<int> json_slots;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over an on-demand lexer (a `/` means division or a regex depending
// on where the parser is, so the parser says when a regex may start).

enum class Tok : uint8_t {
  End, Ident, Number, String, Pipe, Comma, LParen, RParen, LBracket, RBracket,
  Eq, Ne, Lt, Le, Gt, Ge, Match, Plus, Minus, Star, Slash, Percent, Bad,
};

struct Token {
  Tok kind = Tok::End;
  size_t pos = 0, end = 0;
  std::string text;  // identifier (backticks removed) or unescaped string
  double num = 0;
  bool quoted = false;  // a backtick identifier: never a keyword or function
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '@' || c == '$';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '.'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

struct FnInfo {
  const char* name;
  Fn fn;
  int min_args, max_args;
};
constexpr FnInfo kFunctions[] = {
    {"ispresent", Fn::IsPresent, 1, 1}, {"isempty", Fn::IsEmpty, 1, 1},
    {"isblank", Fn::IsBlank, 1, 1},     {"concat", Fn::Concat, 1, 64},
    {"strlen", Fn::Strlen, 1, 1},       {"toupper", Fn::ToUpper, 1, 1},
    {"tolower", Fn::ToLower, 1, 1},     {"trim", Fn::Trim, 1, 1},
    {"ltrim", Fn::LTrim, 1, 1},         {"rtrim", Fn::RTrim, 1, 1},
    {"strcontains", Fn::StrContains, 2, 2}, {"coalesce", Fn::Coalesce, 1, 64},
    {"abs", Fn::Abs, 1, 1},             {"ceil", Fn::Ceil, 1, 1},
    {"floor", Fn::Floor, 1, 1},
};

struct AggInfo {
  const char* name;
  AggKind kind;
};
constexpr AggInfo kAggregates[] = {
    {"count", AggKind::Count}, {"sum", AggKind::Sum}, {"avg", AggKind::Avg},
    {"min", AggKind::Min},     {"max", AggKind::Max}, {"pct", AggKind::Pct},
    {"count_distinct", AggKind::CountDistinct},
};

const AggInfo* FindAggregate(std::string_view lower) {
  for (const AggInfo& a : kAggregates) {
    if (lower == a.name) {
      return &a;
    }
  }
  return nullptr;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), plan_(std::make_shared<Plan>()) {
    for (const char* name : {"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"}) {
      plan_->slot_names.emplace_back(name);
    }
  }

  Result<std::shared_ptr<Plan>> Run() {
    if (Peek().kind == Tok::End) {
      return Fail(0, "the query is empty");
    }
    while (true) {
      if (!ParseCommand()) {
        return std::move(*error_);
      }
      const Token& t = Peek();
      if (t.kind == Tok::End) {
        break;
      }
      if (t.kind != Tok::Pipe) {
        return Fail(t.pos, "unexpected " + Describe(t) + ", expected '|' or the end of the query");
      }
      Advance();
      if (Peek().kind == Tok::End) {
        return Fail(Peek().pos, "expected a command after '|'");
      }
    }
    if (!Finish()) {
      return std::move(*error_);
    }
    return plan_;
  }

 private:
  // --- errors

  Error Fail(size_t pos, const std::string& what) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return MakeError(ErrorKind::InvalidArgument, "MalformedQueryException",
                     what + " at line " + std::to_string(line) + ", position " +
                         std::to_string(col));
  }
  // Records the first error; parse functions then return false / -1 up the stack.
  bool Set(size_t pos, const std::string& what) {
    if (!error_) {
      error_ = Fail(pos, what);
    }
    return false;
  }
  int SetNode(size_t pos, const std::string& what) {
    Set(pos, what);
    return -1;
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::End) {
      return "end of query";
    }
    return "'" + std::string(text_.substr(t.pos, t.end - t.pos)) + "'";
  }

  // --- lexer

  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') {
          ++pos_;
        }
      } else {
        break;
      }
    }
  }

  const Token& Peek() {
    if (!cached_ || cache_from_ != pos_) {
      cache_from_ = pos_;
      cache_ = Lex();
      cached_ = true;
    }
    return cache_;
  }

  void Advance() {
    Peek();
    pos_ = cache_.end;
    last_end_ = cache_.end;
    cached_ = false;
  }

  Token Lex() {
    SkipSpace();
    Token t;
    t.pos = pos_;
    size_t i = pos_;
    auto done = [&](Tok k, size_t len) {
      t.kind = k;
      t.end = i + len;
      return t;
    };
    if (i >= text_.size()) {
      return done(Tok::End, 0);
    }
    char c = text_[i];
    char n = i + 1 < text_.size() ? text_[i + 1] : '\0';
    switch (c) {
      case '|': return done(Tok::Pipe, 1);
      case ',': return done(Tok::Comma, 1);
      case '(': return done(Tok::LParen, 1);
      case ')': return done(Tok::RParen, 1);
      case '[': return done(Tok::LBracket, 1);
      case ']': return done(Tok::RBracket, 1);
      case '+': return done(Tok::Plus, 1);
      case '-': return done(Tok::Minus, 1);
      case '*': return done(Tok::Star, 1);
      case '/': return done(Tok::Slash, 1);
      case '%': return done(Tok::Percent, 1);
      case '=':
        if (n == '~') {
          return done(Tok::Match, 2);
        }
        return done(Tok::Eq, n == '=' ? 2 : 1);
      case '!':
        return n == '=' ? done(Tok::Ne, 2) : done(Tok::Bad, 1);
      case '<':
        return n == '=' ? done(Tok::Le, 2) : done(Tok::Lt, 1);
      case '>':
        return n == '=' ? done(Tok::Ge, 2) : done(Tok::Gt, 1);
      default:
        break;
    }
    if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < text_.size() && text_[j] != c) {
        if (text_[j] == '\\' && j + 1 < text_.size()) {
          char e = text_[j + 1];
          if (e == c || e == '\\') {
            t.text += e;
          } else if (e == 'n') {
            t.text += '\n';
          } else if (e == 't') {
            t.text += '\t';
          } else {
            t.text += '\\';
            t.text += e;
          }
          j += 2;
          continue;
        }
        t.text += text_[j++];
      }
      if (j >= text_.size()) {
        t.text = "unterminated string";
        return done(Tok::Bad, text_.size() - i);
      }
      return done(Tok::String, j + 1 - i);
    }
    if (c == '`') {
      size_t close = text_.find('`', i + 1);
      if (close == std::string_view::npos) {
        t.text = "unterminated backtick field name";
        return done(Tok::Bad, text_.size() - i);
      }
      t.text.assign(text_.substr(i + 1, close - i - 1));
      t.quoted = true;
      return done(Tok::Ident, close + 1 - i);
    }
    if (IsDigit(c) || (c == '.' && IsDigit(n))) {
      size_t j = i;
      while (j < text_.size() && IsDigit(text_[j])) {
        ++j;
      }
      if (j < text_.size() && text_[j] == '.') {
        ++j;
        while (j < text_.size() && IsDigit(text_[j])) {
          ++j;
        }
      }
      if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
        size_t k = j + 1;
        if (k < text_.size() && (text_[k] == '+' || text_[k] == '-')) {
          ++k;
        }
        if (k < text_.size() && IsDigit(text_[k])) {
          j = k;
          while (j < text_.size() && IsDigit(text_[j])) {
            ++j;
          }
        }
      }
      t.text.assign(text_.substr(i, j - i));
      std::from_chars(text_.data() + i, text_.data() + j, t.num);
      return done(Tok::Number, j - i);
    }
    if (IsIdentStart(c)) {
      size_t j = i;
      while (j < text_.size() && IsIdentChar(text_[j])) {
        ++j;
      }
      t.text.assign(text_.substr(i, j - i));
      return done(Tok::Ident, j - i);
    }
    return done(Tok::Bad, 1);
  }

  // If the next thing is /regex/, consumes it into *out.
  bool TryRegex(std::string* out, size_t* at) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '/') {
      return false;
    }
    *at = pos_;
    size_t j = pos_ + 1;
    while (j < text_.size() && text_[j] != '/') {
      j += text_[j] == '\\' ? 2 : 1;
    }
    if (j >= text_.size()) {
      Set(*at, "unterminated regular expression");
      return false;
    }
    out->assign(text_.substr(pos_ + 1, j - pos_ - 1));
    pos_ = j + 1;
    last_end_ = pos_;
    cached_ = false;
    return true;
  }

  bool IsKeyword(const Token& t, std::string_view kw) const {
    return t.kind == Tok::Ident && !t.quoted && t.text.size() == kw.size() && Lower(t.text) == kw;
  }

  bool Expect(Tok kind, const char* what) {
    const Token& t = Peek();
    if (t.kind != kind) {
      return Set(t.pos, "unexpected " + Describe(t) + ", expected " + what);
    }
    Advance();
    return true;
  }

  int Slot(std::string_view name) {
    auto& names = plan_->slot_names;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) {
        return static_cast<int>(i);
      }
    }
    names.emplace_back(name);
    return static_cast<int>(names.size() - 1);
  }

  int AddNode(Node n) {
    plan_->nodes.push_back(std::move(n));
    return static_cast<int>(plan_->nodes.size() - 1);
  }

  // A field name: identifier or backticks.
  int ParseFieldName(const char* context) {
    const Token& t = Peek();
    if (t.kind != Tok::Ident) {
      return SetNode(t.pos, "unexpected " + Describe(t) + ", expected a field name " + context);
    }
    int slot = Slot(t.text);
    Advance();
    return slot;
  }

  // --- expressions

  int ParseExpr() { return ParseOr(); }

  int Binary(NodeKind kind, int a, int b) {
    Node n;
    n.kind = kind;
    n.kids = {a, b};
    return AddNode(std::move(n));
  }

  int ParseOr() {
    int a = ParseAnd();
    while (a >= 0 && IsKeyword(Peek(), "or")) {
      Advance();
      int b = ParseAnd();
      if (b < 0) {
        return -1;
      }
      a = Binary(NodeKind::Or, a, b);
    }
    return a;
  }

  int ParseAnd() {
    int a = ParseNot();
    while (a >= 0 && IsKeyword(Peek(), "and")) {
      Advance();
      int b = ParseNot();
      if (b < 0) {
        return -1;
      }
      a = Binary(NodeKind::And, a, b);
    }
    return a;
  }

  int ParseNot() {
    if (IsKeyword(Peek(), "not")) {
      Advance();
      int a = ParseNot();
      if (a < 0) {
        return -1;
      }
      Node n;
      n.kind = NodeKind::Not;
      n.kids = {a};
      return AddNode(std::move(n));
    }
    return ParseComparison();
  }

  int ParseComparison() {
    int a = ParseAdd();
    if (a < 0) {
      return -1;
    }
    const Token& t = Peek();
    NodeKind kind;
    switch (t.kind) {
      case Tok::Eq: kind = NodeKind::Eq; break;
      case Tok::Ne: kind = NodeKind::Ne; break;
      case Tok::Lt: kind = NodeKind::Lt; break;
      case Tok::Le: kind = NodeKind::Le; break;
      case Tok::Gt: kind = NodeKind::Gt; break;
      case Tok::Ge: kind = NodeKind::Ge; break;
      case Tok::Match:
        Advance();
        return ParseMatchOperand(a, false);
      default:
        if (IsKeyword(t, "like")) {
          Advance();
          return ParseMatchOperand(a, false);
        }
        if (IsKeyword(t, "in")) {
          Advance();
          return ParseInList(a, false);
        }
        if (IsKeyword(t, "not")) {
          size_t save = pos_;
          Advance();
          if (IsKeyword(Peek(), "like")) {
            Advance();
            return ParseMatchOperand(a, true);
          }
          if (IsKeyword(Peek(), "in")) {
            Advance();
            return ParseInList(a, true);
          }
          pos_ = save;
          cached_ = false;
        }
        return a;
    }
    Advance();
    int b = ParseAdd();
    if (b < 0) {
      return -1;
    }
    return Binary(kind, a, b);
  }

  // The right side of like / =~: "substring" or /regex/.
  int ParseMatchOperand(int subject, bool negate) {
    Node n;
    n.negate = negate;
    n.kids = {subject};
    std::string pattern;
    size_t at = 0;
    if (TryRegex(&pattern, &at)) {
      std::string err;
      auto m = Matcher::Compile(pattern, &err);
      if (!m) {
        return SetNode(at, err);
      }
      n.kind = NodeKind::LikeRe;
      n.re = std::make_shared<const Matcher>(std::move(*m));
      return AddNode(std::move(n));
    }
    if (error_) {
      return -1;
    }
    const Token& t = Peek();
    if (t.kind != Tok::String) {
      return SetNode(t.pos, "unexpected " + Describe(t) + ", expected a string or /regex/");
    }
    n.kind = NodeKind::LikeStr;
    n.lit = OwnedValue(Value::S(t.text));
    Advance();
    return AddNode(std::move(n));
  }

  bool ParseLiteral(OwnedValue* out) {
    bool negative = false;
    if (Peek().kind == Tok::Minus) {
      negative = true;
      Advance();
    }
    const Token& t = Peek();
    if (t.kind == Tok::Number) {
      *out = OwnedValue(Value::N(negative ? -t.num : t.num));
    } else if (t.kind == Tok::String && !negative) {
      *out = OwnedValue(Value::S(t.text));
    } else {
      return Set(t.pos, "unexpected " + Describe(t) + ", expected a string or number");
    }
    Advance();
    return true;
  }

  int ParseInList(int subject, bool negate) {
    Node n;
    n.kind = NodeKind::In;
    n.negate = negate;
    n.kids = {subject};
    if (!Expect(Tok::LBracket, "'[' after in")) {
      return -1;
    }
    while (true) {
      OwnedValue v;
      if (!ParseLiteral(&v)) {
        return -1;
      }
      n.set.push_back(std::move(v));
      if (Peek().kind == Tok::Comma) {
        Advance();
        continue;
      }
      if (!Expect(Tok::RBracket, "',' or ']'")) {
        return -1;
      }
      break;
    }
    return AddNode(std::move(n));
  }

  int ParseAdd() {
    int a = ParseMul();
    while (a >= 0 && (Peek().kind == Tok::Plus || Peek().kind == Tok::Minus)) {
      NodeKind kind = Peek().kind == Tok::Plus ? NodeKind::Add : NodeKind::Sub;
      Advance();
      int b = ParseMul();
      if (b < 0) {
        return -1;
      }
      a = Binary(kind, a, b);
    }
    return a;
  }

  int ParseMul() {
    int a = ParseUnary();
    while (a >= 0) {
      Tok k = Peek().kind;
      if (k != Tok::Star && k != Tok::Slash && k != Tok::Percent) {
        break;
      }
      Advance();
      int b = ParseUnary();
      if (b < 0) {
        return -1;
      }
      a = Binary(k == Tok::Star ? NodeKind::Mul : k == Tok::Slash ? NodeKind::Div : NodeKind::Mod,
                 a, b);
    }
    return a;
  }

  int ParseUnary() {
    if (Peek().kind == Tok::Minus) {
      Advance();
      int a = ParseUnary();
      if (a < 0) {
        return -1;
      }
      Node n;
      n.kind = NodeKind::Neg;
      n.kids = {a};
      return AddNode(std::move(n));
    }
    return ParsePrimary();
  }

  int ParsePrimary() {
    Token t = Peek();
    switch (t.kind) {
      case Tok::Number: {
        Advance();
        Node n;
        n.kind = NodeKind::Lit;
        n.lit = OwnedValue(Value::N(t.num));
        return AddNode(std::move(n));
      }
      case Tok::String: {
        Advance();
        Node n;
        n.kind = NodeKind::Lit;
        n.lit = OwnedValue(Value::S(t.text));
        return AddNode(std::move(n));
      }
      case Tok::LParen: {
        Advance();
        int a = ParseExpr();
        if (a < 0 || !Expect(Tok::RParen, "')'")) {
          return -1;
        }
        return a;
      }
      case Tok::Ident: {
        Advance();
        if (!t.quoted && Peek().kind == Tok::LParen) {
          return ParseCall(t);
        }
        Node n;
        n.kind = NodeKind::Field;
        n.slot = Slot(t.text);
        return AddNode(std::move(n));
      }
      case Tok::Bad:
        if (!t.text.empty()) {
          return SetNode(t.pos, t.text);
        }
        [[fallthrough]];
      default:
        return SetNode(t.pos, "unexpected " + Describe(t) + ", expected an expression");
    }
  }

  // bin(5m): the period is read straight from the text, since "5m" is not one token.
  int ParseBin() {
    Advance();  // '('
    SkipSpace();
    size_t start = pos_;
    size_t close = text_.find(')', pos_);
    if (close == std::string_view::npos) {
      return SetNode(start, "expected ')' after the bin period");
    }
    std::string_view period = TrimSpace(text_.substr(start, close - start));
    size_t digits = 0;
    while (digits < period.size() && IsDigit(period[digits])) {
      ++digits;
    }
    int64_t count = 0;
    std::from_chars(period.data(), period.data() + digits, count);
    std::string unit = Lower(period.substr(digits));
    static const std::pair<const char*, int64_t> kUnits[] = {
        {"ms", 1},           {"msec", 1},         {"msecs", 1},        {"millisecond", 1},
        {"milliseconds", 1}, {"s", 1000},         {"sec", 1000},       {"secs", 1000},
        {"second", 1000},    {"seconds", 1000},   {"m", 60000},        {"min", 60000},
        {"mins", 60000},     {"minute", 60000},   {"minutes", 60000},  {"h", 3600000},
        {"hr", 3600000},     {"hrs", 3600000},    {"hour", 3600000},   {"hours", 3600000},
        {"d", 86400000},     {"day", 86400000},   {"days", 86400000},  {"w", 604800000},
        {"week", 604800000}, {"weeks", 604800000},
    };
    int64_t unit_ms = 0;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) {
        unit_ms = ms;
      }
    }
    if (digits == 0 || count <= 0 || unit_ms == 0) {
      return SetNode(start, "invalid bin period '" + std::string(period) +
                                "' (berth supports ms, s, m, h, d and w)");
    }
    pos_ = close + 1;
    last_end_ = pos_;
    cached_ = false;
    Node n;
    n.kind = NodeKind::Call;
    n.fn = Fn::Bin;
    n.bin_ms = count * unit_ms;
    return AddNode(std::move(n));
  }

  int ParseCall(const Token& name) {
    std::string lower = Lower(name.text);
    if (lower == "bin") {
      return ParseBin();
    }
    if (FindAggregate(lower)) {
      return SetNode(name.pos, "aggregate function " + name.text + " is only allowed in stats");
    }
    const FnInfo* info = nullptr;
    for (const FnInfo& f : kFunctions) {
      if (lower == f.name) {
        info = &f;
      }
    }
    if (!info) {
      return SetNode(name.pos, "unknown function " + name.text);
    }
    Advance();  // '('
    Node n;
    n.kind = NodeKind::Call;
    n.fn = info->fn;
    if (Peek().kind != Tok::RParen) {
      while (true) {
        int a = ParseExpr();
        if (a < 0) {
          return -1;
        }
        n.kids.push_back(a);
        if (Peek().kind == Tok::Comma) {
          Advance();
          continue;
        }
        break;
      }
    }
    if (!Expect(Tok::RParen, "',' or ')'")) {
      return -1;
    }
    int argc = static_cast<int>(n.kids.size());
    if (argc < info->min_args || argc > info->max_args) {
      return SetNode(name.pos, "wrong number of arguments for " + name.text);
    }
    return AddNode(std::move(n));
  }

  // `expr [as name]`; without a name a plain field keeps its own and anything else is named by
  // its text, as Insights names result columns.
  bool ParseNamedExpr(NamedExpr* out) {
    SkipSpace();
    size_t start = pos_;
    int e = ParseExpr();
    if (e < 0) {
      return false;
    }
    out->expr = e;
    size_t end = last_end_;
    if (IsKeyword(Peek(), "as")) {
      Advance();
      out->slot = ParseFieldName("after as");
      out->assign = true;
      return out->slot >= 0;
    }
    const Node& n = plan_->nodes[e];
    if (n.kind == NodeKind::Field) {
      out->slot = n.slot;
      out->assign = false;
    } else {
      out->slot = Slot(TrimSpace(text_.substr(start, end - start)));
      out->assign = true;
    }
    return true;
  }

  // --- commands

  bool ParseCommand() {
    Token t = Peek();
    if (t.kind != Tok::Ident || t.quoted) {
      if (t.kind == Tok::Bad && !t.text.empty()) {
        return Set(t.pos, t.text);
      }
      return Set(t.pos, "unexpected " + Describe(t) + ", expected a command");
    }
    std::string name = Lower(t.text);
    Advance();
    Command cmd;
    bool ok = true;
    if (name == "fields") {
      cmd.kind = CmdKind::Fields;
      do {
        NamedExpr item;
        ok = ParseNamedExpr(&item);
        cmd.items.push_back(item);
      } while (ok && Peek().kind == Tok::Comma && (Advance(), true));
    } else if (name == "filter" || name == "where") {
      cmd.kind = CmdKind::Filter;
      cmd.expr = ParseExpr();
      ok = cmd.expr >= 0;
    } else if (name == "display" || name == "dedup") {
      cmd.kind = name == "display" ? CmdKind::Display : CmdKind::Dedup;
      do {
        int slot = ParseFieldName(("in " + name).c_str());
        ok = slot >= 0;
        cmd.slots.push_back(slot);
      } while (ok && Peek().kind == Tok::Comma && (Advance(), true));
    } else if (name == "sort") {
      cmd.kind = CmdKind::Sort;
      do {
        SortKey key;
        key.slot = ParseFieldName("in sort");
        ok = key.slot >= 0;
        if (ok && (IsKeyword(Peek(), "asc") || IsKeyword(Peek(), "desc"))) {
          key.desc = IsKeyword(Peek(), "desc");
          Advance();
        }
        cmd.sort.push_back(key);
      } while (ok && Peek().kind == Tok::Comma && (Advance(), true));
    } else if (name == "limit") {
      cmd.kind = CmdKind::Limit;
      const Token& n = Peek();
      if (n.kind != Tok::Number || n.num < 1 || n.num != std::floor(n.num)) {
        return Set(n.pos, "limit needs a positive whole number, not " + Describe(n));
      }
      cmd.limit = static_cast<int64_t>(std::min(n.num, 1e15));
      Advance();
    } else if (name == "parse") {
      cmd.kind = CmdKind::Parse;
      ok = ParseParse(&cmd.parse);
    } else if (name == "stats") {
      if (plan_->has_stats) {
        return Set(t.pos, "berth supports only one stats command per query");
      }
      return ParseStats();
    } else {
      return Set(t.pos, "unknown command '" + t.text +
                            "' (berth supports fields, filter, stats, sort, limit, parse, "
                            "display, dedup)");
    }
    if (!ok) {
      return false;
    }
    if (plan_->has_stats && cmd.kind == CmdKind::Parse) {
      return Set(t.pos, "berth does not support parse after stats");
    }
    (plan_->has_stats ? plan_->post : plan_->pre).push_back(std::move(cmd));
    return true;
  }

  bool ParseParse(ParseSpec* spec) {
    // The source field is optional and defaults to @message.
    std::string pattern;
    size_t at = 0;
    const Token& first = Peek();
    if (first.kind == Tok::Ident) {
      Node n;
      n.kind = NodeKind::Field;
      n.slot = Slot(first.text);
      Advance();
      spec->source = AddNode(std::move(n));
    } else {
      Node n;
      n.kind = NodeKind::Field;
      n.slot = kMessageSlot;
      spec->source = AddNode(std::move(n));
    }
    if (TryRegex(&pattern, &at)) {
      std::string err;
      auto m = Matcher::Compile(pattern, &err);
      if (!m) {
        return Set(at, err);
      }
      if (m->groups().empty()) {
        return Set(at, "a parse regular expression needs named groups (?<name>...)");
      }
      spec->is_regex = true;
      for (const auto& [name, index] : m->groups()) {
        spec->slots.push_back(Slot(name));
        spec->groups.push_back(index);
      }
      spec->re = std::make_shared<const Matcher>(std::move(*m));
      return true;
    }
    if (error_) {
      return false;
    }
    const Token& glob = Peek();
    if (glob.kind != Tok::String) {
      return Set(glob.pos, "unexpected " + Describe(glob) + ", expected a \"glob\" or /regex/");
    }
    size_t glob_pos = glob.pos;
    std::string text = glob.text;
    Advance();
    size_t from = 0;
    while (true) {
      size_t star = text.find('*', from);
      spec->literals.push_back(text.substr(from, star == std::string::npos ? star : star - from));
      if (star == std::string::npos) {
        break;
      }
      from = star + 1;
    }
    if (!IsKeyword(Peek(), "as")) {
      return Set(Peek().pos, "unexpected " + Describe(Peek()) + ", expected as after the glob");
    }
    Advance();
    do {
      int slot = ParseFieldName("after as");
      if (slot < 0) {
        return false;
      }
      spec->slots.push_back(slot);
    } while (Peek().kind == Tok::Comma && (Advance(), true));
    if (spec->slots.size() + 1 != spec->literals.size()) {
      return Set(glob_pos, "the glob has " + std::to_string(spec->literals.size() - 1) +
                               " wildcards but " + std::to_string(spec->slots.size()) +
                               " names follow as");
    }
    return true;
  }

  bool ParseStats() {
    for (const Command& c : plan_->pre) {
      if (c.kind == CmdKind::Sort || c.kind == CmdKind::Limit || c.kind == CmdKind::Dedup) {
        return Set(0, "berth does not support sort, limit or dedup before stats");
      }
    }
    plan_->has_stats = true;
    do {
      SkipSpace();
      size_t start = pos_;
      Token t = Peek();
      const AggInfo* info = t.kind == Tok::Ident && !t.quoted ? FindAggregate(Lower(t.text))
                                                                : nullptr;
      if (!info) {
        return Set(t.pos, "unexpected " + Describe(t) + ", expected an aggregate function " +
                              "(count, sum, avg, min, max, pct, count_distinct)");
      }
      Advance();
      if (!Expect(Tok::LParen, "'('")) {
        return false;
      }
      Agg agg;
      agg.kind = info->kind;
      if (agg.kind == AggKind::Count && Peek().kind == Tok::Star) {
        agg.kind = AggKind::CountStar;
        Advance();
      } else {
        agg.expr = ParseExpr();
        if (agg.expr < 0) {
          return false;
        }
        if (agg.kind == AggKind::Pct) {
          if (!Expect(Tok::Comma, "',' and a percentile")) {
            return false;
          }
          const Token& p = Peek();
          if (p.kind != Tok::Number || p.num < 0 || p.num > 100) {
            return Set(p.pos, "pct needs a percentile between 0 and 100");
          }
          agg.pct = p.num;
          Advance();
        }
      }
      if (!Expect(Tok::RParen, "')'")) {
        return false;
      }
      if (IsKeyword(Peek(), "as")) {
        Advance();
        agg.slot = ParseFieldName("after as");
        if (agg.slot < 0) {
          return false;
        }
      } else {
        agg.slot = Slot(TrimSpace(text_.substr(start, last_end_ - start)));
      }
      plan_->aggs.push_back(agg);
    } while (Peek().kind == Tok::Comma && (Advance(), true));
    if (IsKeyword(Peek(), "by")) {
      Advance();
      do {
        NamedExpr g;
        if (!ParseNamedExpr(&g)) {
          return false;
        }
        plan_->group_by.push_back(g);
      } while (Peek().kind == Tok::Comma && (Advance(), true));
    }
    return true;
  }

  static void AddUnique(std::vector<int>* v, int slot) {
    if (std::find(v->begin(), v->end(), slot) == v->end()) {
      v->push_back(slot);
    }
  }

  void CollectFields(int expr, std::vector<int>* out) const {
    const Node& n = plan_->nodes[expr];
    if (n.kind == NodeKind::Field) {
      AddUnique(out, n.slot);
    }
    for (int kid : n.kids) {
      CollectFields(kid, out);
    }
  }

  bool Finish() {
    FinishOutput();
    const Plan& p = *plan_;
    std::vector<int> used = p.has_stats ? std::vector<int>{} : p.row_slots;
    for (const Command& c : p.pre) {
      for (const NamedExpr& item : c.items) {
        CollectFields(item.expr, &used);
      }
      if (c.expr >= 0) {
        CollectFields(c.expr, &used);
      }
      if (c.kind == CmdKind::Parse) {
        CollectFields(c.parse.source, &used);
      }
    }
    for (const NamedExpr& g : p.group_by) {
      CollectFields(g.expr, &used);
    }
    for (const Agg& a : p.aggs) {
      if (a.expr >= 0) {
        CollectFields(a.expr, &used);
      }
    }
    for (int slot : used) {
      if (p.slot_names[slot][0] != '@') {
        plan_->json_slots.push_back(slot);
      }
    }
    return true;
  }

  // Works out the output columns and, without stats, the effective sort/limit/dedup.
  void FinishOutput() {
    Plan& p = *plan_;
    const std::vector<int>* display = nullptr;
    for (const auto* list : {&p.pre, &p.post}) {
      for (const Command& c : *list) {
        if (c.kind == CmdKind::Display) {
          display = &c.slots;
        }
      }
    }
    if (p.has_stats) {
      if (display) {
        p.output = *display;
        return;
      }
      for (const NamedExpr& g : p.group_by) {
        AddUnique(&p.output, g.slot);
      }
      for (const Agg& a : p.aggs) {
        AddUnique(&p.output, a.slot);
      }
      for (const Command& c : p.post) {
        for (const NamedExpr& item : c.items) {
          AddUnique(&p.output, item.slot);
        }
      }
      return;
    }
    bool limited = false;
    for (const Command& c : p.pre) {
      switch (c.kind) {
        case CmdKind::Fields:
          for (const NamedExpr& item : c.items) {
            AddUnique(&p.output, item.slot);
          }
          break;
        case CmdKind::Parse:
          for (int slot : c.parse.slots) {
            AddUnique(&p.output, slot);
          }
          break;
        case CmdKind::Sort:
          p.row_sort = c.sort;
          break;
        case CmdKind::Limit:
          p.row_limit = limited ? std::min(p.row_limit, c.limit) : c.limit;
          limited = true;
          break;
        case CmdKind::Dedup:
          p.row_dedup = true;
          p.dedup_slots = c.slots;
          break;
        default:
          break;
      }
    }
    if (display) {
      p.output = *display;
    }
    if (p.output.empty()) {
      p.output = {kTimestampSlot, kMessageSlot};
    }
    if (p.row_sort.empty()) {
      p.row_sort.push_back(SortKey{kTimestampSlot, true});
    }
    p.row_slots = p.output;
    for (const SortKey& k : p.row_sort) {
      AddUnique(&p.row_slots, k.slot);
    }
    for (int slot : p.dedup_slots) {
      AddUnique(&p.row_slots, slot);
    }
    return;
  }

  std::string_view text_;
  std::shared_ptr<Plan> plan_;
  size_t pos_ = 0;
  size_t last_end_ = 0;  // end of the last consumed token
  bool cached_ = false;
  size_t cache_from_ = 0;
  Token cache_;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation environment: the slot values of the current event or row.

class Env {
 public:
  explicit Env(const Plan& plan)
      : plan_(plan),
        vals_(plan.slot_names.size()),
        gen_(plan.slot_names.size(), 0),
        json_backed_(plan.slot_names.size(), false) {
    for (int slot : plan.json_slots) {
      json_backed_[slot] = true;
      json_names_.emplace_back(plan.slot_names[slot], slot);
      json_nested_ |= plan.slot_names[slot].find('.') != std::string::npos;
    }
  }

  void BeginEvent(const Event& e) {
    NextGeneration();
    json_done_ = json_names_.empty();
    event_message_ = e.message;
    Set(kTimestampSlot, Value::T(e.timestamp_ms));
    Set(kMessageSlot, Value::S(e.message));
    Set(kLogStreamSlot, Value::S(e.log_stream));
    Set(kLogSlot, Value::S(e.log_group));
    Set(kIngestionTimeSlot, Value::T(e.ingestion_ms));
  }

  void BeginRecord(const std::vector<OwnedValue>& rec) {
    NextGeneration();
    json_done_ = true;
    for (size_t i = 0; i < rec.size(); ++i) {
      if (rec[i].kind != Kind::Null) {
        Set(static_cast<int>(i), rec[i].View());
      }
    }
  }

  Value Get(int slot) {
    if (gen_[slot] == cur_) {
      return vals_[slot];
    }
    if (!json_done_ && json_backed_[slot]) {
      LoadJson();
      if (gen_[slot] == cur_) {
        return vals_[slot];
      }
    }
    return Value();
  }

  void Set(int slot, const Value& v) {
    vals_[slot] = v;
    gen_[slot] = cur_;
  }

  Scratch* scratch() { return &scratch_; }
  const Plan& plan() const { return plan_; }

 private:
  void NextGeneration() {
    if (++cur_ == 0) {
      std::fill(gen_.begin(), gen_.end(), 0);
      cur_ = 1;
    }
    scratch_.Reset();
  }

  // Fills every JSON-backed slot not yet assigned in this event from @message, if it is a JSON
  // object. Views point into json_buf_ or the parser's string buffer: valid until the next event.
  void LoadJson() {
    json_done_ = true;
    std::string_view msg = event_message_;
    size_t i = 0;
    while (i < msg.size() && std::isspace(static_cast<unsigned char>(msg[i]))) {
      ++i;
    }
    if (i == msg.size() || msg[i] != '{') {
      return;
    }
    if (json_buf_.size() < msg.size() + simdjson::SIMDJSON_PADDING) {
      json_buf_.resize(msg.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(json_buf_.data(), msg.data(), msg.size());
    simdjson::ondemand::document doc;
    if (parser_.iterate(json_buf_.data(), msg.size(), json_buf_.size()).get(doc)) {
      return;
    }
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) {
      return;
    }
    remaining_ = 0;
    for (const auto& [name, slot] : json_names_) {
      remaining_ += gen_[slot] != cur_;
    }
    if (!json_nested_) {
      // Only top-level names: let simdjson find each key by its raw text, which skips
      // unescaping every key (a key written with escapes is then not found).
      for (const auto& [name, slot] : json_names_) {
        if (gen_[slot] == cur_) {
          continue;
        }
        simdjson::ondemand::value v;
        auto err = obj.find_field_unordered(name).get(v);
        if (err == simdjson::NO_SUCH_FIELD) {
          continue;
        }
        if (err || !Take(v, slot, false, 0)) {
          return;
        }
      }
      return;
    }
    path_.clear();
    WalkObject(obj, 0);
  }

  // Returns false to stop the walk (error, or every wanted field found).
  bool WalkObject(simdjson::ondemand::object obj, int depth) {
    for (auto field_result : obj) {
      simdjson::ondemand::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
        return false;
      }
      size_t old = path_.size();
      if (old != 0) {
        path_ += '.';
      }
      path_ += key;
      bool go_on = Visit(field.value(), depth);
      path_.resize(old);
      if (!go_on) {
        return false;
      }
    }
    return true;
  }

  bool WalkArray(simdjson::ondemand::array arr, int depth) {
    size_t index = 0;
    for (auto element : arr) {
      simdjson::ondemand::value v;
      if (std::move(element).get(v)) {
        return false;
      }
      size_t old = path_.size();
      path_ += '.';
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, index++);
      path_.append(buf, r.ptr);
      bool go_on = Visit(v, depth);
      path_.resize(old);
      if (!go_on) {
        return false;
      }
    }
    return true;
  }

  bool Visit(simdjson::ondemand::value v, int depth) {
    int exact = -1;
    bool prefix = false;
    for (const auto& [name, slot] : json_names_) {
      if (name.size() == path_.size()) {
        if (exact < 0 && name == path_ && gen_[slot] != cur_) {
          exact = slot;
        }
      } else if (name.size() > path_.size() && name[path_.size()] == '.' &&
                 name.compare(0, path_.size(), path_) == 0) {
        prefix = true;
      }
    }
    if (exact < 0 && !prefix) {
      return true;  // on-demand skips the value when we move on
    }
    return Take(v, exact, prefix, depth);
  }

  // Stores `v` into `exact` (if >= 0) or, for objects and arrays holding wanted fields, walks in.
  bool Take(simdjson::ondemand::value v, int exact, bool prefix, int depth) {
    simdjson::ondemand::json_type type;
    if (v.type().get(type)) {
      return false;
    }
    switch (type) {
      case simdjson::ondemand::json_type::object: {
        simdjson::ondemand::object o;
        if (v.get_object().get(o)) {
          return false;
        }
        if (prefix && depth < kJsonMaxDepth) {
          return WalkObject(o, depth + 1);
        }
        std::string_view raw;
        if (o.raw_json().get(raw)) {
          return false;
        }
        return Found(exact, Value::S(raw));
      }
      case simdjson::ondemand::json_type::array: {
        simdjson::ondemand::array a;
        if (v.get_array().get(a)) {
          return false;
        }
        if (prefix && depth < kJsonMaxDepth) {
          return WalkArray(a, depth + 1);
        }
        std::string_view raw;
        if (a.raw_json().get(raw)) {
          return false;
        }
        return Found(exact, Value::S(raw));
      }
      case simdjson::ondemand::json_type::string: {
        std::string_view s;
        if (v.get_string().get(s)) {
          return false;
        }
        return Found(exact, Value::S(s));
      }
      case simdjson::ondemand::json_type::number: {
        std::string_view raw = TrimSpace(v.raw_json_token());
        double d = 0;
        if (!ParseNumber(raw, &d)) {
          return Found(exact, Value::S(raw));
        }
        return Found(exact, Value::N(d, raw));
      }
      case simdjson::ondemand::json_type::boolean:
        return Found(exact, Value::S(TrimSpace(v.raw_json_token())));
      case simdjson::ondemand::json_type::null:
        return true;
    }
    return true;
  }

  bool Found(int slot, const Value& v) {
    if (slot < 0) {
      return true;
    }
    Set(slot, v);
    return --remaining_ > 0;
  }

  const Plan& plan_;
  std::vector<Value> vals_;
  std::vector<uint32_t> gen_;
  uint32_t cur_ = 0;
  std::vector<bool> json_backed_;
  std::vector<std::pair<std::string, int>> json_names_;
  bool json_nested_ = false;  // some wanted name has a dot: walk the whole object
  bool json_done_ = true;
  std::string_view event_message_;
  Scratch scratch_;
  simdjson::ondemand::parser parser_;
  std::vector<char> json_buf_;
  std::string path_;
  int remaining_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Expression evaluation

Value Eval(const Plan& plan, int idx, Env* env);

Value CallFunction(const Plan& plan, const Node& n, Env* env) {
  Scratch* scratch = env->scratch();
  auto arg = [&](size_t i) { return Eval(plan, n.kids[i], env); };
  switch (n.fn) {
    case Fn::Bin: {
      Value ts = env->Get(kTimestampSlot);
      if (ts.kind != Kind::Time) {
        return Value();
      }
      int64_t q = ts.ms / n.bin_ms;
      if (ts.ms % n.bin_ms < 0) {
        --q;  // floor for timestamps before 1970
      }
      return Value::T(q * n.bin_ms);
    }
    case Fn::IsPresent:
      return Value::B(arg(0).kind != Kind::Null);
    case Fn::IsEmpty: {
      Value v = arg(0);
      return Value::B(v.kind == Kind::Null || AsString(v, scratch).empty());
    }
    case Fn::IsBlank: {
      Value v = arg(0);
      return Value::B(v.kind == Kind::Null || TrimSpace(AsString(v, scratch)).empty());
    }
    case Fn::Concat: {
      std::string& out = scratch->Next();
      for (size_t i = 0; i < n.kids.size(); ++i) {
        Value v = arg(i);
        if (v.kind != Kind::Null) {
          out += AsString(v, scratch);
        }
      }
      return Value::S(out);
    }
    case Fn::Strlen: {
      Value v = arg(0);
      if (v.kind == Kind::Null) {
        return v;
      }
      size_t chars = 0;
      for (char c : AsString(v, scratch)) {
        chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // count UTF-8 code points
      }
      return Value::N(static_cast<double>(chars));
    }
    case Fn::ToUpper:
    case Fn::ToLower: {
      Value v = arg(0);
      if (v.kind == Kind::Null) {
        return v;
      }
      std::string& out = scratch->Next();
      out.assign(AsString(v, scratch));
      for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        c = static_cast<char>(n.fn == Fn::ToUpper ? std::toupper(u) : std::tolower(u));
      }
      return Value::S(out);
    }
    case Fn::Trim:
    case Fn::LTrim:
    case Fn::RTrim: {
      Value v = arg(0);
      if (v.kind == Kind::Null) {
        return v;
      }
      std::string_view s = AsString(v, scratch);
      while (n.fn != Fn::RTrim && !s.empty() && std::isspace(static_cast<unsigned char>(s[0]))) {
        s.remove_prefix(1);
      }
      while (n.fn != Fn::LTrim && !s.empty() &&
             std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
      }
      return Value::S(s);
    }
    case Fn::StrContains: {
      Value s = arg(0), sub = arg(1);
      if (s.kind == Kind::Null || sub.kind == Kind::Null) {
        return Value::B(false);
      }
      return Value::B(AsString(s, scratch).find(AsString(sub, scratch)) != std::string_view::npos);
    }
    case Fn::Coalesce:
      for (size_t i = 0; i < n.kids.size(); ++i) {
        Value v = arg(i);
        if (v.kind != Kind::Null) {
          return v;
        }
      }
      return Value();
    case Fn::Abs:
    case Fn::Ceil:
    case Fn::Floor: {
      double x;
      if (!AsNumber(arg(0), &x)) {
        return Value();
      }
      return Value::N(n.fn == Fn::Abs ? std::fabs(x) : n.fn == Fn::Ceil ? std::ceil(x)
                                                                         : std::floor(x));
    }
  }
  return Value();
}

Value Eval(const Plan& plan, int idx, Env* env) {
  const Node& n = plan.nodes[idx];
  Scratch* scratch = env->scratch();
  switch (n.kind) {
    case NodeKind::Lit:
      return n.lit.View();
    case NodeKind::Field:
      return env->Get(n.slot);
    case NodeKind::Neg: {
      double x;
      return AsNumber(Eval(plan, n.kids[0], env), &x) ? Value::N(-x) : Value();
    }
    case NodeKind::Not:
      return Value::B(!Truthy(Eval(plan, n.kids[0], env)));
    case NodeKind::And:
      return Value::B(Truthy(Eval(plan, n.kids[0], env)) && Truthy(Eval(plan, n.kids[1], env)));
    case NodeKind::Or:
      return Value::B(Truthy(Eval(plan, n.kids[0], env)) || Truthy(Eval(plan, n.kids[1], env)));
    case NodeKind::Add:
    case NodeKind::Sub:
    case NodeKind::Mul:
    case NodeKind::Div:
    case NodeKind::Mod: {
      double x, y;
      if (!AsNumber(Eval(plan, n.kids[0], env), &x) || !AsNumber(Eval(plan, n.kids[1], env), &y)) {
        return Value();
      }
      switch (n.kind) {
        case NodeKind::Add: return Value::N(x + y);
        case NodeKind::Sub: return Value::N(x - y);
        case NodeKind::Mul: return Value::N(x * y);
        case NodeKind::Div: return y == 0 ? Value() : Value::N(x / y);
        default: return y == 0 ? Value() : Value::N(std::fmod(x, y));
      }
    }
    case NodeKind::Eq:
    case NodeKind::Ne: {
      Value a = Eval(plan, n.kids[0], env), b = Eval(plan, n.kids[1], env);
      if (a.kind == Kind::Null || b.kind == Kind::Null) {
        return Value::B(false);
      }
      return Value::B(Equals(a, b, scratch) == (n.kind == NodeKind::Eq));
    }
    case NodeKind::Lt:
    case NodeKind::Le:
    case NodeKind::Gt:
    case NodeKind::Ge: {
      Value a = Eval(plan, n.kids[0], env), b = Eval(plan, n.kids[1], env);
      if (a.kind == Kind::Null || b.kind == Kind::Null) {
        return Value::B(false);
      }
      std::optional<int> c = Order(a, b, scratch);
      if (!c) {
        return Value::B(false);
      }
      switch (n.kind) {
        case NodeKind::Lt: return Value::B(*c < 0);
        case NodeKind::Le: return Value::B(*c <= 0);
        case NodeKind::Gt: return Value::B(*c > 0);
        default: return Value::B(*c >= 0);
      }
    }
    case NodeKind::LikeStr:
    case NodeKind::LikeRe: {
      Value v = Eval(plan, n.kids[0], env);
      if (v.kind == Kind::Null) {
        return Value::B(false);
      }
      std::string_view s = AsString(v, scratch);
      bool hit = n.kind == NodeKind::LikeStr ? s.find(n.lit.str) != std::string_view::npos
                                             : n.re->Search(s);
      return Value::B(hit != n.negate);
    }
    case NodeKind::In: {
      Value v = Eval(plan, n.kids[0], env);
      if (v.kind == Kind::Null) {
        return Value::B(false);
      }
      bool hit = false;
      for (const OwnedValue& item : n.set) {
        if (Equals(v, item.View(), scratch)) {
          hit = true;
          break;
        }
      }
      return Value::B(hit != n.negate);
    }
    case NodeKind::Call:
      return CallFunction(plan, n, env);
  }
  return Value();
}

// Glob parse: each `*` takes the shortest text up to the next literal piece; a trailing `*`
// takes the rest. The first literal piece may occur anywhere (the pattern is not anchored).
void RunParse(const Plan& plan, const ParseSpec& spec, Env* env) {
  Value src = Eval(plan, spec.source, env);
  if (src.kind == Kind::Null) {
    return;
  }
  std::string_view s = AsString(src, env->scratch());
  if (spec.is_regex) {
    std::cmatch m;
    if (!spec.re->Find(s, &m)) {
      return;
    }
    for (size_t i = 0; i < spec.slots.size(); ++i) {
      const auto& sub = m[spec.groups[i]];
      if (sub.matched) {
        env->Set(spec.slots[i], Value::S(std::string_view(sub.first, sub.second - sub.first)));
      }
    }
    return;
  }
  const auto& lits = spec.literals;
  size_t at = s.find(lits[0]);
  if (at == std::string_view::npos) {
    return;
  }
  size_t start = at + lits[0].size();
  // Capture boundaries first, so a failed match assigns nothing.
  std::string_view caps[64];
  size_t stars = lits.size() - 1;
  if (stars > 64) {
    return;
  }
  for (size_t i = 1; i <= stars; ++i) {
    if (i == stars && lits[i].empty()) {
      caps[i - 1] = s.substr(start);
      start = s.size();
      break;
    }
    size_t next = s.find(lits[i], start);
    if (next == std::string_view::npos) {
      return;
    }
    caps[i - 1] = s.substr(start, next - start);
    start = next + lits[i].size();
  }
  for (size_t i = 0; i < stars; ++i) {
    env->Set(spec.slots[i], Value::S(caps[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// Rows and aggregation

using Record = std::vector<OwnedValue>;  // indexed by slot

struct RowEntry {
  Record rec;
  uint64_t seq = 0;
};

// Order of two values for one sort key; absent values go last in either direction.
int KeyCompare(const Value& a, const Value& b, bool desc) {
  bool an = a.kind == Kind::Null, bn = b.kind == Kind::Null;
  if (an || bn) {
    return an == bn ? 0 : (an ? 1 : -1);
  }
  int c = SortCompare(a, b);
  return desc ? -c : c;
}

int CompareRecords(const std::vector<SortKey>& keys, const Record& a, const Record& b) {
  for (const SortKey& k : keys) {
    int c = KeyCompare(a[k.slot].View(), b[k.slot].View(), k.desc);
    if (c != 0) {
      return c;
    }
  }
  return 0;
}

struct AggState {
  double count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool any = false;
  std::vector<double> values;
  std::unordered_set<std::string> distinct;
};

struct Group {
  std::vector<OwnedValue> keys;
  std::vector<AggState> aggs;
};

Value FinishAgg(const Agg& agg, const AggState& st) {
  switch (agg.kind) {
    case AggKind::CountStar:
    case AggKind::Count:
      return Value::N(st.count);
    case AggKind::CountDistinct:
      return Value::N(static_cast<double>(st.distinct.size()));
    case AggKind::Sum:
      return st.any ? Value::N(st.sum) : Value();
    case AggKind::Avg:
      return st.any ? Value::N(st.sum / st.count) : Value();
    case AggKind::Min:
      return st.any ? Value::N(st.min) : Value();
    case AggKind::Max:
      return st.any ? Value::N(st.max) : Value();
    case AggKind::Pct: {
      if (st.values.empty()) {
        return Value();
      }
      std::vector<double> v = st.values;
      // Nearest rank: the smallest value with at least pct% of the values at or below it.
      auto rank = static_cast<size_t>(std::ceil(agg.pct / 100.0 * static_cast<double>(v.size())));
      size_t idx = rank == 0 ? 0 : std::min(rank, v.size()) - 1;
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
      return Value::N(v[idx]);
    }
  }
  return Value();
}

// Group keys are encoded so that values printing the same group together ("200" from a JSON
// string and 200 from a JSON number are one group) while staying cheap for bin() timestamps.
void AppendKey(const Value& v, std::string* key) {
  auto append_bytes = [key](const void* p, size_t n) {
    key->append(static_cast<const char*>(p), n);
  };
  auto append_text = [&](std::string_view s) {
    key->push_back('s');
    uint32_t n = static_cast<uint32_t>(s.size());
    append_bytes(&n, sizeof n);
    key->append(s);
  };
  switch (v.kind) {
    case Kind::Null:
      key->push_back('n');
      break;
    case Kind::Str:
      append_text(v.str);
      break;
    case Kind::Num:
      if (!v.str.empty()) {
        append_text(v.str);
      } else {
        key->push_back('d');
        append_bytes(&v.num, sizeof v.num);
      }
      break;
    case Kind::Time:
      key->push_back('t');
      append_bytes(&v.ms, sizeof v.ms);
      break;
    case Kind::Bool:
      append_text(BoolText(v.b));
      break;
  }
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Runs the row-level commands that follow stats (or, without stats, sort/dedup/limit).
void RunRowCommands(const Plan& plan, const std::vector<Command>& cmds, std::vector<RowEntry>* rows,
                    Env* env) {
  for (const Command& c : cmds) {
    switch (c.kind) {
      case CmdKind::Fields:
        for (RowEntry& r : *rows) {
          env->BeginRecord(r.rec);
          for (const NamedExpr& item : c.items) {
            if (item.assign) {
              Value v = Eval(plan, item.expr, env);
              env->Set(item.slot, v);
              r.rec[item.slot] = OwnedValue(v);
            }
          }
        }
        break;
      case CmdKind::Filter: {
        std::vector<RowEntry> kept;
        for (RowEntry& r : *rows) {
          env->BeginRecord(r.rec);
          if (Truthy(Eval(plan, c.expr, env))) {
            kept.push_back(std::move(r));
          }
        }
        *rows = std::move(kept);
        break;
      }
      case CmdKind::Sort:
        std::stable_sort(rows->begin(), rows->end(), [&](const RowEntry& a, const RowEntry& b) {
          return CompareRecords(c.sort, a.rec, b.rec) < 0;
        });
        break;
      case CmdKind::Limit:
        if (rows->size() > static_cast<size_t>(c.limit)) {
          rows->resize(static_cast<size_t>(c.limit));
        }
        break;
      case CmdKind::Dedup: {
        std::unordered_set<std::string> seen;
        std::vector<RowEntry> kept;
        for (RowEntry& r : *rows) {
          std::string key;
          for (int slot : c.slots) {
            AppendKey(r.rec[slot].View(), &key);
          }
          if (seen.insert(std::move(key)).second) {
            kept.push_back(std::move(r));
          }
        }
        *rows = std::move(kept);
        break;
      }
      case CmdKind::Parse:
      case CmdKind::Display:
        break;
    }
  }
}

Row ToRow(const Plan& plan, const Record& rec) {
  Row row;
  row.reserve(plan.output.size());
  for (int slot : plan.output) {
    if (rec[slot].kind != Kind::Null) {
      row.emplace_back(plan.slot_names[slot], Display(rec[slot].View()));
    }
  }
  return row;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Query

Result<Query> Query::Parse(std::string_view text) {
  Parser parser(text);
  auto plan = parser.Run();
  if (!plan.ok()) {
    return std::move(plan).take_error();
  }
  return Query(std::shared_ptr<const Plan>(std::move(plan).value()));
}

bool Query::CountsByTimeBin(int64_t* bin_ms) const {
  const Plan& p = *plan_;
  if (!p.has_stats || !p.pre.empty() || p.aggs.empty() || p.group_by.size() > 1) {
    return false;
  }
  for (const Agg& agg : p.aggs) {
    if (agg.kind != AggKind::CountStar) {
      return false;
    }
  }
  *bin_ms = 0;
  if (p.group_by.size() == 1) {
    const Node& n = p.nodes[static_cast<size_t>(p.group_by[0].expr)];
    if (n.kind != NodeKind::Call || n.fn != Fn::Bin || n.bin_ms <= 0) {
      return false;
    }
    *bin_ms = n.bin_ms;
  }
  return true;
}

std::vector<std::string> Query::RequiredSubstrings() const {
  const Plan& p = *plan_;
  std::vector<std::string> out;
  for (const Command& c : p.pre) {
    if (c.kind == CmdKind::Fields) {
      for (const NamedExpr& item : c.items) {
        if (item.assign && item.slot == kMessageSlot) {
          return out;  // @message was redefined before the filter
        }
      }
    }
    if (c.kind == CmdKind::Parse &&
        std::find(c.parse.slots.begin(), c.parse.slots.end(), kMessageSlot) !=
            c.parse.slots.end()) {
      return out;
    }
    if (c.kind != CmdKind::Filter) {
      continue;
    }
    // Only conjunctions can promise anything; an `or` or `not` branch is simply skipped.
    std::function<void(int)> collect = [&](int idx) {
      const Node& n = p.nodes[idx];
      if (n.kind == NodeKind::And) {
        collect(n.kids[0]);
        collect(n.kids[1]);
        return;
      }
      if ((n.kind != NodeKind::LikeStr && n.kind != NodeKind::LikeRe) || n.negate) {
        return;
      }
      const Node& subject = p.nodes[n.kids[0]];
      if (subject.kind != NodeKind::Field || subject.slot != kMessageSlot) {
        return;
      }
      if (n.kind == NodeKind::LikeStr && !n.lit.str.empty()) {
        out.push_back(n.lit.str);
      } else if (n.kind == NodeKind::LikeRe && n.re->literal() && !n.re->icase() &&
                 !n.re->text().empty()) {
        out.push_back(n.re->text());
      }
    };
    collect(c.expr);
    return out;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Execution

struct Execution::Impl {
  explicit Impl(std::shared_ptr<const Plan> p) : plan(std::move(p)), env(*plan) {}

  void Add(const Event& e) {
    const Plan& p = *plan;
    stats.records_scanned += 1;
    stats.bytes_scanned += static_cast<double>(e.message.size());
    env.BeginEvent(e);
    for (const Command& c : p.pre) {
      switch (c.kind) {
        case CmdKind::Fields:
          for (const NamedExpr& item : c.items) {
            if (item.assign) {
              env.Set(item.slot, Eval(p, item.expr, &env));
            }
          }
          break;
        case CmdKind::Parse:
          RunParse(p, c.parse, &env);
          break;
        case CmdKind::Filter:
          if (!Truthy(Eval(p, c.expr, &env))) {
            return;
          }
          break;
        default:
          break;
      }
    }
    stats.records_matched += 1;
    if (p.has_stats) {
      Accumulate();
    } else {
      KeepRow();
    }
  }

  // See Execution::AddCount: nothing runs before stats, so only the group key (the bin of
  // the timestamp) and the count matter.
  void AddCount(int64_t timestamp_ms, uint64_t count, uint64_t message_bytes) {
    stats.records_scanned += static_cast<double>(count);
    stats.bytes_scanned += static_cast<double>(message_bytes);
    stats.records_matched += static_cast<double>(count);
    env.BeginEvent(Event{timestamp_ms, 0, {}, {}, {}});
    Accumulate(count);
  }

  void Accumulate(uint64_t events = 1) {
    const Plan& p = *plan;
    key_buf.clear();
    key_vals.clear();
    for (const NamedExpr& g : p.group_by) {
      key_vals.push_back(Eval(p, g.expr, &env));
      AppendKey(key_vals.back(), &key_buf);
    }
    // Events arrive mostly in time order, so the previous group is usually the right one.
    size_t gi = last_group;
    if (gi == SIZE_MAX || key_buf != last_key) {
      auto it = group_index.find(std::string_view(key_buf));
      if (it == group_index.end()) {
        Group g;
        for (const Value& v : key_vals) {
          g.keys.emplace_back(v);
        }
        g.aggs.resize(p.aggs.size());
        groups.push_back(std::move(g));
        it = group_index.emplace(key_buf, groups.size() - 1).first;
      }
      gi = it->second;
      last_group = gi;
      last_key = key_buf;
    }
    Group& g = groups[gi];
    for (size_t i = 0; i < p.aggs.size(); ++i) {
      const Agg& agg = p.aggs[i];
      AggState& st = g.aggs[i];
      if (agg.kind == AggKind::CountStar) {
        st.count += static_cast<double>(events);
        continue;
      }
      Value v = Eval(p, agg.expr, &env);
      if (v.kind == Kind::Null) {
        continue;
      }
      double x;
      switch (agg.kind) {
        case AggKind::Count:
          st.count += 1;
          break;
        case AggKind::CountDistinct:
          st.distinct.emplace(AsString(v, env.scratch()));
          break;
        case AggKind::Sum:
        case AggKind::Avg:
          if (AsNumber(v, &x)) {
            st.sum += x;
            st.count += 1;
            st.any = true;
          }
          break;
        case AggKind::Min:
        case AggKind::Max:
          if (AsNumber(v, &x)) {
            st.min = std::min(st.min, x);
            st.max = std::max(st.max, x);
            st.any = true;
          }
          break;
        case AggKind::Pct:
          if (AsNumber(v, &x)) {
            st.values.push_back(x);
          }
          break;
        case AggKind::CountStar:
          break;
      }
    }
  }

  // `a` (live values of the current event) sorts before `b` (a kept row)?
  bool CurrentBefore(const RowEntry& b) {
    for (const SortKey& k : plan->row_sort) {
      int c = KeyCompare(env.Get(k.slot), b.rec[k.slot].View(), k.desc);
      if (c != 0) {
        return c < 0;
      }
    }
    return false;  // equal keys: the kept row came first
  }

  static bool Before(const Plan& p, const RowEntry& a, const RowEntry& b) {
    int c = CompareRecords(p.row_sort, a.rec, b.rec);
    return c != 0 ? c < 0 : a.seq < b.seq;
  }

  void KeepRow() {
    const Plan& p = *plan;
    bool bounded = !p.row_dedup;
    auto limit = static_cast<size_t>(p.row_limit);
    auto cmp = [&p](const RowEntry& a, const RowEntry& b) { return Before(p, a, b); };
    // The heap's front is the row that would be dropped first.
    if (bounded && rows.size() >= limit && !CurrentBefore(rows.front())) {
      return;
    }
    // When full, the dropped row's storage is reused for the new one (no allocation once the
    // strings have grown), which matters when every event displaces one, as with events fed
    // oldest first into the default newest-first sort.
    bool reuse = bounded && rows.size() >= limit;
    if (reuse) {
      std::pop_heap(rows.begin(), rows.end(), cmp);
    } else {
      rows.emplace_back();
      rows.back().rec.resize(p.slot_names.size());
    }
    RowEntry& entry = rows.back();
    for (int slot : p.row_slots) {
      Value v = env.Get(slot);
      OwnedValue& o = entry.rec[slot];
      o.kind = v.kind;
      o.b = v.b;
      o.num = v.num;
      o.ms = v.ms;
      o.str.assign(v.str);
    }
    entry.seq = next_seq++;
    if (bounded) {
      std::push_heap(rows.begin(), rows.end(), cmp);
    }
  }

  std::vector<Row> Results() const {
    const Plan& p = *plan;
    Env row_env(p);
    std::vector<RowEntry> out;
    if (p.has_stats) {
      for (const Group& g : groups) {
        RowEntry r;
        r.rec.resize(p.slot_names.size());
        for (size_t i = 0; i < p.group_by.size(); ++i) {
          r.rec[p.group_by[i].slot] = g.keys[i];
        }
        for (size_t i = 0; i < p.aggs.size(); ++i) {
          r.rec[p.aggs[i].slot] = OwnedValue(FinishAgg(p.aggs[i], g.aggs[i]));
        }
        out.push_back(std::move(r));
      }
      std::vector<SortKey> by_group;
      for (const NamedExpr& g : p.group_by) {
        by_group.push_back(SortKey{g.slot, false});
      }
      std::stable_sort(out.begin(), out.end(), [&](const RowEntry& a, const RowEntry& b) {
        return CompareRecords(by_group, a.rec, b.rec) < 0;
      });
      RunRowCommands(p, p.post, &out, &row_env);
      bool limited = std::any_of(p.post.begin(), p.post.end(),
                                 [](const Command& c) { return c.kind == CmdKind::Limit; });
      if (!limited && out.size() > static_cast<size_t>(kDefaultLimit)) {
        out.resize(static_cast<size_t>(kDefaultLimit));
      }
    } else {
      out = rows;
      std::sort(out.begin(), out.end(),
                [&p](const RowEntry& a, const RowEntry& b) { return Before(p, a, b); });
      if (p.row_dedup) {
        Command dedup;
        dedup.kind = CmdKind::Dedup;
        dedup.slots = p.dedup_slots;
        RunRowCommands(p, {dedup}, &out, &row_env);
      }
      if (out.size() > static_cast<size_t>(p.row_limit)) {
        out.resize(static_cast<size_t>(p.row_limit));
      }
    }
    std::vector<Row> result;
    result.reserve(out.size());
    for (const RowEntry& r : out) {
      result.push_back(ToRow(p, r.rec));
    }
    return result;
  }

  std::shared_ptr<const Plan> plan;
  Env env;
  Statistics stats;
  // stats queries
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> group_index;
  std::vector<Group> groups;
  std::string key_buf, last_key;
  std::vector<Value> key_vals;
  size_t last_group = SIZE_MAX;
  // other queries: a heap bounded by the limit (all rows when deduplicating)
  std::vector<RowEntry> rows;
  uint64_t next_seq = 0;
};

Execution::Execution(const Query& q) : impl_(std::make_unique<Impl>(q.plan_)) {}
Execution::~Execution() = default;
Execution::Execution(Execution&&) noexcept = default;
Execution& Execution::operator=(Execution&&) noexcept = default;

void Execution::Add(const Event& e) { impl_->Add(e); }

void Execution::AddCount(int64_t timestamp_ms, uint64_t count, uint64_t message_bytes) {
  impl_->AddCount(timestamp_ms, count, message_bytes);
}
std::vector<Row> Execution::Results() const { return impl_->Results(); }
const Statistics& Execution::statistics() const { return impl_->stats; }

}  // namespace berth::logs::insights
