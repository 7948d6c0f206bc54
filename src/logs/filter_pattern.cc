#include "logs/filter_pattern.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace berth::logs {
namespace {

// Limits that keep hostile patterns cheap: parentheses nest at most this deep (the evaluator
// recurses once per level), and a compiled regex has at most this many automaton states.
constexpr int kMaxNesting = 32;
constexpr size_t kMaxRegexStates = 4096;
constexpr int kMaxRepeat = 1000;
// AWS: "There is a limit of 2 regex for each filter pattern when creating a delimited or JSON
// filter pattern ... or when filtering log events or Live Tail."
constexpr int kMaxRegexPerPattern = 2;

Error Invalid(std::string detail) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidParameterException",
                   "Invalid filter pattern: " + detail);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
// A table, not a chain of comparisons: splitting space-delimited events tests every byte.
constexpr std::array<bool, 256> kBlank = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
    t[c] = true;
  }
  return t;
}();
bool IsBlank(char c) { return kBlank[static_cast<unsigned char>(c)]; }
bool IsHighByte(char c) { return static_cast<unsigned char>(c) >= 0x80; }

std::string Show(char c) {
  if (c >= 0x20 && c < 0x7f) {
    return std::string("'") + c + "'";
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02X", static_cast<unsigned char>(c));
  return buf;
}

std::string_view TrimBlanks(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsBlank(s[b])) {
    ++b;
  }
  while (e > b && IsBlank(s[e - 1])) {
    --e;
  }
  return s.substr(b, e - b);
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') {
      x = static_cast<char>(x - 'a' + 'A');
    }
    if (y >= 'a' && y <= 'z') {
      y = static_cast<char>(y - 'a' + 'A');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

// ---- exact decimal numbers ------------------------------------------------------------------

// A number as sign, significant digits and a power of ten: value = ±0.DIGITS × 10^exp. Comparing
// two of these is exact, so 500, 500.0 and 5E2 are equal and huge integers do not collapse the
// way doubles do (AWS: "precise matching on numeric comparisons").
struct Decimal {
  bool neg = false;
  std::string digits;  // no leading or trailing zeros; empty means zero
  int64_t exp = 0;
};

// strict: the JSON grammar (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?). Otherwise the looser
// grammar AWS documents for patterns and delimited fields: optional '+' or '-', digits with an
// optional '.', an optional exponent.
bool ParseDecimal(std::string_view s, bool strict, Decimal* out) {
  size_t i = 0;
  const size_t n = s.size();
  bool neg = false;
  if (i < n && (s[i] == '-' || (!strict && s[i] == '+'))) {
    neg = s[i] == '-';
    ++i;
  }
  const size_t int_begin = i;
  while (i < n && IsDigit(s[i])) {
    ++i;
  }
  const size_t int_end = i;
  if (strict && (int_end == int_begin || (int_end - int_begin > 1 && s[int_begin] == '0'))) {
    return false;
  }
  size_t frac_begin = i;
  size_t frac_end = i;
  if (i < n && s[i] == '.') {
    ++i;
    frac_begin = i;
    while (i < n && IsDigit(s[i])) {
      ++i;
    }
    frac_end = i;
    if (strict && frac_end == frac_begin) {
      return false;
    }
  }
  if (int_end == int_begin && frac_end == frac_begin) {
    return false;
  }
  int64_t e10 = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      eneg = s[i] == '-';
      ++i;
    }
    if (i == n || !IsDigit(s[i])) {
      return false;
    }
    while (i < n && IsDigit(s[i])) {
      if (e10 < 1'000'000'000'000LL) {  // saturate: 1e(10^12) is "infinite" enough
        e10 = e10 * 10 + (s[i] - '0');
      }
      ++i;
    }
    if (eneg) {
      e10 = -e10;
    }
  }
  if (i != n) {
    return false;
  }
  std::string digits;
  digits.append(s.data() + int_begin, int_end - int_begin);
  digits.append(s.data() + frac_begin, frac_end - frac_begin);
  int64_t point = static_cast<int64_t>(int_end - int_begin);
  size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') {
    ++lead;
  }
  size_t last = digits.size();
  while (last > lead && digits[last - 1] == '0') {
    --last;
  }
  out->digits.assign(digits, lead, last - lead);
  out->neg = neg && !out->digits.empty();
  out->exp = out->digits.empty() ? 0 : point - static_cast<int64_t>(lead) + e10;
  return true;
}

int CompareDecimal(const Decimal& a, const Decimal& b) {
  const int sa = a.digits.empty() ? 0 : (a.neg ? -1 : 1);
  const int sb = b.digits.empty() ? 0 : (b.neg ? -1 : 1);
  if (sa != sb) {
    return sa < sb ? -1 : 1;
  }
  if (sa == 0) {
    return 0;
  }
  int mag = 0;
  if (a.exp != b.exp) {
    mag = a.exp < b.exp ? -1 : 1;
  } else {
    // Same magnitude: digit strings compare lexicographically ("12" < "123" as 0.12 < 0.123).
    int c = a.digits.compare(b.digits);
    mag = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return sa < 0 ? -mag : mag;
}

enum class CmpOp : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };

bool ApplyCmp(CmpOp op, int c) {
  switch (op) {
    case CmpOp::Eq:
      return c == 0;
    case CmpOp::Ne:
      return c != 0;
    case CmpOp::Lt:
      return c < 0;
    case CmpOp::Le:
      return c <= 0;
    case CmpOp::Gt:
      return c > 0;
    case CmpOp::Ge:
      return c >= 0;
  }
  return false;
}

const char* CmpText(CmpOp op) {
  switch (op) {
    case CmpOp::Eq:
      return "=";
    case CmpOp::Ne:
      return "!=";
    case CmpOp::Lt:
      return "<";
    case CmpOp::Le:
      return "<=";
    case CmpOp::Gt:
      return ">";
    case CmpOp::Ge:
      return ">=";
  }
  return "?";
}

// ---- string values with wildcards -----------------------------------------------------------

// AWS: '*' matches "any text at, before, or after a search term ... Ev*ent will only match the
// actual string Ev*ent" - so only leading and trailing stars are wildcards.
struct Wildcard {
  std::string core;
  bool lead = false;
  bool trail = false;
  bool any = false;  // only stars: every value matches

  static Wildcard From(std::string_view text) {
    Wildcard w;
    size_t b = 0;
    size_t e = text.size();
    while (b < e && text[b] == '*') {
      ++b;
    }
    while (e > b && text[e - 1] == '*') {
      --e;
    }
    w.lead = b > 0;
    w.trail = e < text.size();
    w.core.assign(text.substr(b, e - b));
    w.any = w.core.empty() && (w.lead || w.trail);
    return w;
  }

  bool Match(std::string_view s) const {
    if (any) {
      return true;
    }
    if (lead && trail) {
      return s.find(core) != std::string_view::npos;
    }
    if (lead) {
      return s.size() >= core.size() && s.substr(s.size() - core.size()) == core;
    }
    if (trail) {
      return s.substr(0, std::min(s.size(), core.size())) == core;
    }
    return s == core;
  }
};

// ---- substring search -----------------------------------------------------------------------

// A needle searched for as a substring. With AVX2 it tests 32 candidate positions at a time by
// their first and last bytes and confirms with memcmp (Muła's "SIMD-friendly" algorithm), which
// is what makes plain term patterns run at memory speed.
class Needle {
 public:
  explicit Needle(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }

  bool In(std::string_view hay) const {
    const size_t n = text_.size();
    if (n == 0) {
      return true;
    }
    if (hay.size() < n) {
      return false;
    }
    if (n == 1) {
      return std::memchr(hay.data(), text_[0], hay.size()) != nullptr;
    }
#ifdef __AVX2__
    const char* h = hay.data();
    const size_t hs = hay.size();
    const __m256i first = _mm256_set1_epi8(text_[0]);
    const __m256i last = _mm256_set1_epi8(text_[n - 1]);
    size_t i = 0;
    for (; i + n - 1 + 32 <= hs; i += 32) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i + n - 1));
      uint32_t mask = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last))));
      while (mask != 0) {
        const unsigned bit = static_cast<unsigned>(__builtin_ctz(mask));
        if (std::memcmp(h + i + bit + 1, text_.data() + 1, n - 2) == 0) {
          return true;
        }
        mask &= mask - 1;
      }
    }
    return hay.substr(i).find(text_) != std::string_view::npos;
#else
    return hay.find(text_) != std::string_view::npos;
#endif
  }

 private:
  std::string text_;
};

// ---- regular expressions --------------------------------------------------------------------

// AWS's regex subset has no groups, so a regex is alternatives of single-character items with
// quantifiers. It compiles to a Thompson NFA searched with a state set: linear in the event
// size, no backtracking, no recursion - safe against any pattern a client sends.
class Regex {
 public:
  static Result<Regex> Compile(std::string_view src);
  bool Search(std::string_view text) const;
  const std::vector<std::string>& required() const { return required_; }

 private:
  using CharSet = std::array<uint64_t, 4>;
  enum class Op : uint8_t { Char, Split, Begin, End, Match };
  struct State {
    Op op;
    uint32_t set;
    int32_t out;
    int32_t out1;
  };
  struct Item {
    enum class Kind : uint8_t { Set, Begin, End } kind = Kind::Set;
    CharSet set{};
    int min = 1;
    int max = 1;  // -1: unbounded
    bool quantified = false;
  };

  static void Add(CharSet& s, unsigned char c) { s[c >> 6] |= uint64_t{1} << (c & 63); }
  static bool Has(const CharSet& s, unsigned char c) { return (s[c >> 6] >> (c & 63)) & 1; }
  static int Count(const CharSet& s) {
    int n = 0;
    for (uint64_t w : s) {
      n += __builtin_popcountll(w);
    }
    return n;
  }
  static Status ParseEscape(std::string_view src, size_t* i, CharSet* set, bool* is_class);
  static Status ParseClass(std::string_view src, size_t* i, CharSet* set);
  static Status ParseRepeat(std::string_view src, size_t* i, int* min, int* max);
  Status Build(const std::vector<std::vector<Item>>& alts);
  int32_t Push(Op op, uint32_t set, int32_t out, int32_t out1) {
    states_.push_back({op, set, out, out1});
    return static_cast<int32_t>(states_.size() - 1);
  }

  std::vector<State> states_;
  std::vector<CharSet> sets_;
  int32_t start_ = 0;
  bool anchored_ = false;  // every alternative starts with '^'
  std::vector<std::string> required_;
  std::vector<Needle> prefilter_;
};

// After a backslash: \d \D \s \S \w \W are classes; \t \n \r control characters; any other
// letter or digit is refused (no \b, no back-references); a symbol stands for itself.
Status Regex::ParseEscape(std::string_view src, size_t* i, CharSet* set, bool* is_class) {
  if (*i + 1 >= src.size()) {
    return Invalid("regular expression ends with a lone '\\'");
  }
  const char e = src[*i + 1];
  *i += 2;
  CharSet s{};
  *is_class = true;
  switch (e) {
    case 'd':
    case 'D':
      for (char c = '0'; c <= '9'; ++c) {
        Add(s, static_cast<unsigned char>(c));
      }
      break;
    case 's':
    case 'S':
      for (char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
        Add(s, static_cast<unsigned char>(c));
      }
      break;
    case 'w':
    case 'W':
      for (int c = 0; c < 128; ++c) {
        if (IsAlnum(static_cast<char>(c)) || c == '_') {
          Add(s, static_cast<unsigned char>(c));
        }
      }
      break;
    default:
      *is_class = false;
      if (e == 't') {
        Add(s, '\t');
      } else if (e == 'n') {
        Add(s, '\n');
      } else if (e == 'r') {
        Add(s, '\r');
      } else if (IsAlnum(e)) {
        return Invalid(std::string("unsupported escape '\\") + e + "' in regular expression");
      } else {
        Add(s, static_cast<unsigned char>(e));
      }
  }
  if (e == 'D' || e == 'S' || e == 'W') {
    for (uint64_t& w : s) {
      w = ~w;
    }
  }
  for (int k = 0; k < 4; ++k) {
    (*set)[k] |= s[k];
  }
  return OkStatus();
}

Status Regex::ParseClass(std::string_view src, size_t* i, CharSet* set) {
  const size_t open = *i;
  ++*i;
  bool negate = false;
  if (*i < src.size() && src[*i] == '^') {
    negate = true;
    ++*i;
  }
  CharSet s{};
  bool first = true;
  while (true) {
    if (*i >= src.size()) {
      return Invalid("unbalanced '[' at offset " + std::to_string(open) +
                     " of the regular expression");
    }
    const char c = src[*i];
    if (c == ']' && !first) {
      ++*i;
      break;
    }
    first = false;
    unsigned char lo = 0;
    if (c == '\\') {
      CharSet one{};
      bool is_class = false;
      BERTH_RETURN_IF_ERROR(ParseEscape(src, i, &one, &is_class));
      if (is_class) {
        for (int k = 0; k < 4; ++k) {
          s[k] |= one[k];
        }
        continue;
      }
      for (int b = 0; b < 256; ++b) {
        if (Has(one, static_cast<unsigned char>(b))) {
          lo = static_cast<unsigned char>(b);
        }
      }
    } else {
      lo = static_cast<unsigned char>(c);
      ++*i;
    }
    unsigned char hi = lo;
    if (*i + 1 < src.size() && src[*i] == '-' && src[*i + 1] != ']') {
      ++*i;
      if (src[*i] == '\\') {
        CharSet one{};
        bool is_class = false;
        BERTH_RETURN_IF_ERROR(ParseEscape(src, i, &one, &is_class));
        if (is_class) {
          return Invalid(
              "a character class such as \\d cannot end a range in a regular expression");
        }
        for (int b = 0; b < 256; ++b) {
          if (Has(one, static_cast<unsigned char>(b))) {
            hi = static_cast<unsigned char>(b);
          }
        }
      } else {
        hi = static_cast<unsigned char>(src[*i]);
        ++*i;
      }
      if (hi < lo) {
        return Invalid("invalid range in regular expression character class");
      }
    }
    for (unsigned b = lo; b <= hi; ++b) {
      Add(s, static_cast<unsigned char>(b));
    }
  }
  if (negate) {
    for (uint64_t& w : s) {
      w = ~w;
    }
  }
  *set = s;
  return OkStatus();
}

Status Regex::ParseRepeat(std::string_view src, size_t* i, int* min, int* max) {
  ++*i;  // '{'
  auto number = [&](int* v) -> bool {
    bool any = false;
    *v = 0;
    while (*i < src.size() && IsDigit(src[*i])) {
      any = true;
      *v = std::min(*v * 10 + (src[*i] - '0'), kMaxRepeat + 1);
      ++*i;
    }
    return any;
  };
  int lo = 0;
  int hi = 0;
  const bool has_lo = number(&lo);
  bool has_hi = false;
  bool comma = false;
  if (*i < src.size() && src[*i] == ',') {
    comma = true;
    ++*i;
    has_hi = number(&hi);
  }
  if (*i >= src.size() || src[*i] != '}' || (!has_lo && !has_hi)) {
    return Invalid("malformed repetition '{m,n}' in regular expression");
  }
  ++*i;
  if (!comma) {
    hi = lo;
    has_hi = true;
  }
  if (lo > kMaxRepeat || hi > kMaxRepeat) {
    return Invalid("repetition count in regular expression exceeds " + std::to_string(kMaxRepeat));
  }
  if (has_hi && hi < lo) {
    return Invalid("repetition '{m,n}' in regular expression has n < m");
  }
  *min = lo;
  *max = has_hi ? hi : -1;
  return OkStatus();
}

Result<Regex> Regex::Compile(std::string_view src) {
  if (src.empty()) {
    return Invalid("empty regular expression '%%'");
  }
  // AWS accepts only letters, digits, the symbols : _ # = @ / ; , - and the operators
  // ^ $ ? [ ] { } | \ * + . ("%something!% would be rejected").
  static constexpr std::string_view kAllowed = ":_#=@/;,-^$?[]{}|\\*+.";
  for (char c : src) {
    if (IsHighByte(c)) {
      return Invalid("multi-byte characters are not supported in regular expressions");
    }
    if (c == '(' || c == ')') {
      return Invalid("'(' and ')' are not supported in regular expressions");
    }
    if (!IsAlnum(c) && kAllowed.find(c) == std::string_view::npos) {
      return Invalid("unsupported character " + Show(c) + " in regular expression");
    }
  }
  std::vector<std::vector<Item>> alts(1);
  size_t i = 0;
  while (i < src.size()) {
    const char c = src[i];
    std::vector<Item>& seq = alts.back();
    if (c == '|') {
      alts.emplace_back();
      ++i;
    } else if (c == '^' || c == '$') {
      Item it;
      it.kind = c == '^' ? Item::Kind::Begin : Item::Kind::End;
      seq.push_back(it);
      ++i;
    } else if (c == '?' || c == '*' || c == '+' || c == '{') {
      if (seq.empty() || seq.back().kind != Item::Kind::Set) {
        return Invalid(std::string("'") + c + "' in regular expression has nothing to repeat");
      }
      if (seq.back().quantified) {
        return Invalid(std::string("'") + c + "' in regular expression repeats a repetition");
      }
      Item& it = seq.back();
      if (c == '{') {
        BERTH_RETURN_IF_ERROR(ParseRepeat(src, &i, &it.min, &it.max));
      } else {
        it.min = c == '+' ? 1 : 0;
        it.max = c == '?' ? 1 : -1;
        ++i;
      }
      it.quantified = true;
    } else if (c == ']' || c == '}') {
      return Invalid(std::string("unbalanced '") + c + "' in regular expression");
    } else {
      Item it;
      if (c == '[') {
        BERTH_RETURN_IF_ERROR(ParseClass(src, &i, &it.set));
      } else if (c == '\\') {
        bool is_class = false;
        BERTH_RETURN_IF_ERROR(ParseEscape(src, &i, &it.set, &is_class));
      } else if (c == '.') {
        // As in RE2 and Java: '.' does not cross a line break of a multi-line event.
        for (uint64_t& w : it.set) {
          w = ~uint64_t{0};
        }
        it.set['\n' >> 6] &= ~(uint64_t{1} << ('\n' & 63));
        ++i;
      } else {
        Add(it.set, static_cast<unsigned char>(c));
        ++i;
      }
      seq.push_back(it);
    }
  }
  Regex re;
  BERTH_RETURN_IF_ERROR(re.Build(alts));
  return re;
}

// Thompson construction, built back to front so each item only needs to know its successor:
//   x{m,n}  -> m mandatory Char states, then n-m nested optional ones (Split: take x or leave)
//   x{m,}   -> m mandatory Char states, then a Split/Char loop
//   ^ and $ -> zero-width Begin/End states checked during the epsilon closure
// Alternatives hang off a chain of Splits. Expanding counted repetition is what bounds the
// state count, hence the kMaxRegexStates check inside the loops.
Status Regex::Build(const std::vector<std::vector<Item>>& alts) {
  const int32_t match = Push(Op::Match, 0, -1, -1);
  std::vector<int32_t> starts;
  anchored_ = true;
  for (const std::vector<Item>& seq : alts) {
    anchored_ = anchored_ && !seq.empty() && seq.front().kind == Item::Kind::Begin;
    int32_t next = match;
    for (auto it = seq.rbegin(); it != seq.rend(); ++it) {
      if (it->kind != Item::Kind::Set) {
        next = Push(it->kind == Item::Kind::Begin ? Op::Begin : Op::End, 0, next, -1);
        continue;
      }
      sets_.push_back(it->set);
      const auto set = static_cast<uint32_t>(sets_.size() - 1);
      const int32_t cont = next;
      if (it->max < 0) {
        const int32_t split = Push(Op::Split, 0, -1, cont);
        states_[static_cast<size_t>(split)].out = Push(Op::Char, set, split, -1);
        next = split;
      } else {
        for (int k = 0; k < it->max - it->min; ++k) {
          const int32_t ch = Push(Op::Char, set, next, -1);
          next = Push(Op::Split, 0, ch, cont);
          if (states_.size() > kMaxRegexStates) {
            return Invalid("regular expression is too large");
          }
        }
      }
      for (int k = 0; k < it->min; ++k) {
        next = Push(Op::Char, set, next, -1);
        if (states_.size() > kMaxRegexStates) {
          return Invalid("regular expression is too large");
        }
      }
    }
    starts.push_back(next);
  }
  start_ = starts[0];
  for (size_t k = 1; k < starts.size(); ++k) {
    start_ = Push(Op::Split, 0, starts[k], start_);
  }
  if (states_.size() > kMaxRegexStates) {
    return Invalid("regular expression is too large");
  }
  // Literal runs every match must contain: consecutive single-character items, each taken as
  // many times as it is mandatory; an optional or variable-length item ends the run.
  if (alts.size() == 1) {
    std::string run;
    auto flush = [&] {
      if (!run.empty()) {
        required_.push_back(run);
        run.clear();
      }
    };
    for (const Item& it : alts[0]) {
      if (it.kind != Item::Kind::Set) {
        continue;  // anchors are zero-width: adjacency across them holds
      }
      if (Count(it.set) != 1) {
        flush();
        continue;
      }
      char lit = 0;
      for (int b = 0; b < 256; ++b) {
        if (Has(it.set, static_cast<unsigned char>(b))) {
          lit = static_cast<char>(b);
        }
      }
      run.append(static_cast<size_t>(it.min), lit);
      if (it.max != it.min) {
        flush();
      }
    }
    flush();
    for (const std::string& r : required_) {
      prefilter_.emplace_back(r);
    }
  }
  return OkStatus();
}

// State-set simulation (Pike/Thompson): `cur` holds the Char states alive before text[i]; each
// byte advances all of them at once. Unanchored search re-seeds the start state at every
// position. The literal prefilter rejects most events before the automaton runs at all.
bool Regex::Search(std::string_view text) const {
  for (const Needle& n : prefilter_) {
    if (!n.In(text)) {
      return false;
    }
  }
  struct Scratch {
    std::vector<int32_t> cur, next, stack;
    std::vector<uint32_t> mark;
    uint32_t gen = 0;
  };
  thread_local Scratch sc;
  if (sc.mark.size() < states_.size()) {
    sc.mark.assign(states_.size(), 0);
    sc.gen = 0;
  }
  auto bump = [&] {
    if (++sc.gen == 0) {
      std::fill(sc.mark.begin(), sc.mark.end(), 0);
      sc.gen = 1;
    }
  };
  const size_t len = text.size();
  // Adds `s` and its epsilon closure at `pos`; true as soon as the match state is reached.
  auto add = [&](std::vector<int32_t>& list, int32_t s, size_t pos) {
    sc.stack.clear();
    sc.stack.push_back(s);
    while (!sc.stack.empty()) {
      const int32_t k = sc.stack.back();
      sc.stack.pop_back();
      if (sc.mark[static_cast<size_t>(k)] == sc.gen) {
        continue;
      }
      sc.mark[static_cast<size_t>(k)] = sc.gen;
      const State& st = states_[static_cast<size_t>(k)];
      switch (st.op) {
        case Op::Match:
          return true;
        case Op::Char:
          list.push_back(k);
          break;
        case Op::Split:
          sc.stack.push_back(st.out1);
          sc.stack.push_back(st.out);
          break;
        case Op::Begin:
          if (pos == 0) {
            sc.stack.push_back(st.out);
          }
          break;
        case Op::End:
          if (pos == len) {
            sc.stack.push_back(st.out);
          }
          break;
      }
    }
    return false;
  };
  bump();
  sc.cur.clear();
  if (add(sc.cur, start_, 0)) {
    return true;
  }
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    bump();
    sc.next.clear();
    for (int32_t k : sc.cur) {
      const State& st = states_[static_cast<size_t>(k)];
      if (Has(sets_[st.set], c) && add(sc.next, st.out, i + 1)) {
        return true;
      }
    }
    if (!anchored_ && add(sc.next, start_, i + 1)) {
      return true;
    }
    std::swap(sc.cur, sc.next);
    if (sc.cur.empty() && anchored_) {
      return false;
    }
  }
  return false;
}

// ---- parsed representation ------------------------------------------------------------------

struct PathSeg {
  bool is_index = false;
  std::string key;
  uint32_t index = 0;
};

enum class ValueKind : uint8_t { Number, Text, Regex };

struct Value {
  ValueKind kind = ValueKind::Text;
  Decimal num;      // Number
  std::string raw;  // Number: the literal as written (delimited fields compare text with it)
  Wildcard text;    // Text
  int regex = -1;   // Regex: index into Impl::regexes
};

enum class JsonOp : uint8_t { Compare, IsNull, IsTrue, IsFalse, NotExists };

struct JsonLeaf {
  std::vector<PathSeg> path;
  JsonOp op = JsonOp::Compare;
  CmpOp cmp = CmpOp::Eq;
  Value value;
};

struct DelimLeaf {
  std::string name;
  int slot = -1;  // -1: names no field of the pattern, so the comparison is false
  CmpOp cmp = CmpOp::Eq;
  Value value;
};

// Boolean tree over leaves; && and || chains are flattened, so depth comes only from
// parentheses (bounded by kMaxNesting).
struct Node {
  enum class Kind : uint8_t { And, Or, Leaf } kind = Kind::Leaf;
  int leaf = -1;
  std::vector<int> kids;
};

}  // namespace

struct FilterPattern::Impl {
  enum class Kind : uint8_t { Everything, Terms, Regex, Json, Delimited } kind = Kind::Everything;

  // Terms: every all_of, no none_of, and one of any_of (unless any_of is empty or
  // any_of_always). `never` is set by an excluded blank phrase.
  std::vector<Needle> all_of, none_of, any_of;
  bool any_of_always = false;
  bool never = false;

  std::vector<Regex> regexes;  // Kind::Regex uses regexes[0]

  std::vector<Node> nodes;
  int root = -1;  // -1: no conditions
  std::vector<JsonLeaf> json_leaves;
  std::vector<DelimLeaf> delim_leaves;
  size_t slot_count = 0;
  int ellipsis = -1;  // slot index of "...", or -1

  std::vector<std::string> required;
  // TrigramBitmap::NeedleTrigrams of each `required` string and of each any_of term, for
  // MayMatch (computed once by Parse).
  std::vector<std::vector<uint16_t>> required_trigrams, any_of_trigrams;
};

namespace {

using Impl = FilterPattern::Impl;

int AddNode(Impl& p, Node::Kind kind, std::vector<int> kids, int leaf) {
  Node n;
  n.kind = kind;
  n.kids = std::move(kids);
  n.leaf = leaf;
  p.nodes.push_back(std::move(n));
  return static_cast<int>(p.nodes.size() - 1);
}

template <typename LeafFn>
bool EvalTree(const std::vector<Node>& nodes, int idx, LeafFn& leaf) {
  const Node& n = nodes[static_cast<size_t>(idx)];
  switch (n.kind) {
    case Node::Kind::Leaf:
      return leaf(n.leaf);
    case Node::Kind::And:
      for (int k : n.kids) {
        if (!EvalTree(nodes, k, leaf)) {
          return false;
        }
      }
      return true;
    case Node::Kind::Or:
      for (int k : n.kids) {
        if (EvalTree(nodes, k, leaf)) {
          return true;
        }
      }
      return false;
  }
  return false;
}

// Substrings required by a subtree: an AND needs all of its children's, an OR only those every
// child needs.
template <typename LeafReq>
std::vector<std::string> TreeRequired(const std::vector<Node>& nodes, int idx, LeafReq& leaf) {
  const Node& n = nodes[static_cast<size_t>(idx)];
  if (n.kind == Node::Kind::Leaf) {
    return leaf(n.leaf);
  }
  std::vector<std::string> acc;
  bool first = true;
  for (int k : n.kids) {
    std::vector<std::string> r = TreeRequired(nodes, k, leaf);
    std::sort(r.begin(), r.end());
    if (n.kind == Node::Kind::And) {
      acc.insert(acc.end(), r.begin(), r.end());
    } else if (first) {
      acc = std::move(r);
    } else {
      std::vector<std::string> both;
      std::set_intersection(acc.begin(), acc.end(), r.begin(), r.end(), std::back_inserter(both));
      acc = std::move(both);
    }
    first = false;
  }
  std::sort(acc.begin(), acc.end());
  acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
  return acc;
}

// ---- lexer for JSON and space-delimited patterns --------------------------------------------

enum class Tk : uint8_t {
  End,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  AndAnd,
  OrOr,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Selector,
  Quoted,
  Regex,
  Word
};

struct Token {
  Tk kind = Tk::End;
  std::string text;
  std::vector<PathSeg> path;  // Selector
  size_t pos = 0;
};

std::string Describe(const Token& t) {
  if (t.kind == Tk::End) {
    return "the end of the pattern";
  }
  std::string text = t.text.size() > 40 ? t.text.substr(0, 40) + "..." : t.text;
  if (t.kind == Tk::Quoted) {
    text = "\"" + text + "\"";
  } else if (t.kind == Tk::Regex) {
    text = "%" + text + "%";
  }
  return "'" + text + "' at position " + std::to_string(t.pos);
}

bool IsCmp(Tk k) {
  return k == Tk::Eq || k == Tk::Ne || k == Tk::Lt || k == Tk::Le || k == Tk::Gt || k == Tk::Ge;
}

CmpOp ToCmp(Tk k) {
  switch (k) {
    case Tk::Ne:
      return CmpOp::Ne;
    case Tk::Lt:
      return CmpOp::Lt;
    case Tk::Le:
      return CmpOp::Le;
    case Tk::Gt:
      return CmpOp::Gt;
    case Tk::Ge:
      return CmpOp::Ge;
    default:
      return CmpOp::Eq;
  }
}

// Both structured shapes share one lexer. The modes differ in what a bare word may hold: in
// JSON, '$' starts a selector and unquoted values are limited to what AWS allows unquoted; in
// space-delimited patterns '[', ']' and ',' are punctuation and a word runs to the next blank
// or operator (so `*.html*`, `10/Oct/2000*` and `-` are values).
enum class Mode : uint8_t { Json, Delimited };

class Lexer {
 public:
  Lexer(std::string_view src, Mode mode) : src_(src), mode_(mode) {}

  Result<Token> Peek() const {
    Lexer copy = *this;
    return copy.Next();
  }

  Result<Token> Next() {
    while (pos_ < src_.size() && IsBlank(src_[pos_])) {
      ++pos_;
    }
    Token t;
    t.pos = pos_;
    if (pos_ >= src_.size()) {
      return t;
    }
    const char c = src_[pos_];
    const char d = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    auto punct = [&](Tk kind, size_t len) {
      t.kind = kind;
      t.text.assign(src_.substr(pos_, len));
      pos_ += len;
      return t;
    };
    switch (c) {
      case '{':
        return punct(Tk::LBrace, 1);
      case '}':
        return punct(Tk::RBrace, 1);
      case '(':
        return punct(Tk::LParen, 1);
      case ')':
        return punct(Tk::RParen, 1);
      case '=':
        return punct(Tk::Eq, 1);
      case '<':
        return d == '=' ? punct(Tk::Le, 2) : punct(Tk::Lt, 1);
      case '>':
        return d == '=' ? punct(Tk::Ge, 2) : punct(Tk::Gt, 1);
      case '!':
        if (d != '=') {
          return Invalid("'!' at position " + std::to_string(pos_) + " must be followed by '='");
        }
        return punct(Tk::Ne, 2);
      case '&':
        if (d != '&') {
          return Invalid("'&' at position " + std::to_string(pos_) + " must be written '&&'");
        }
        return punct(Tk::AndAnd, 2);
      case '|':
        if (d != '|') {
          return Invalid("'|' at position " + std::to_string(pos_) + " must be written '||'");
        }
        return punct(Tk::OrOr, 2);
      case '"':
        return Quoted();
      case '%':
        return RegexToken();
      default:
        break;
    }
    if (mode_ == Mode::Delimited) {
      if (c == '[') {
        return punct(Tk::LBracket, 1);
      }
      if (c == ']') {
        return punct(Tk::RBracket, 1);
      }
      if (c == ',') {
        return punct(Tk::Comma, 1);
      }
    } else if (c == '$') {
      return Selector();
    }
    return Word();
  }

 private:
  // A double-quoted value. Only \" and \\ are escapes (so a quote can appear inside); any
  // other backslash is kept, so "C:\temp" means what it says.
  Result<Token> Quoted() {
    Token t;
    t.kind = Tk::Quoted;
    t.pos = pos_;
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] != '"') {
      if (src_[i] == '\\' && i + 1 < src_.size() && (src_[i + 1] == '"' || src_[i + 1] == '\\')) {
        ++i;
      }
      t.text.push_back(src_[i]);
      ++i;
    }
    if (i >= src_.size()) {
      return Invalid("unbalanced quotation marks: the '\"' at position " + std::to_string(pos_) +
                     " is never closed");
    }
    pos_ = i + 1;
    return t;
  }

  Result<Token> RegexToken() {
    Token t;
    t.kind = Tk::Regex;
    t.pos = pos_;
    const size_t close = src_.find('%', pos_ + 1);
    if (close == std::string_view::npos) {
      return Invalid("the regular expression starting at position " + std::to_string(pos_) +
                     " has no closing '%'");
    }
    t.text.assign(src_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return t;
  }

  // $.name, $.name[3], $.a.b[0][1] ... AWS: "Property selectors always start with dollar sign
  // ($) ... alphanumeric strings that also support '-' and '_' characters. Array elements are
  // denoted with [NUMBER] syntax, and must follow a property."
  Result<Token> Selector() {
    Token t;
    t.kind = Tk::Selector;
    t.pos = pos_;
    size_t i = pos_ + 1;
    while (i < src_.size() && (src_[i] == '.' || src_[i] == '[')) {
      PathSeg seg;
      if (src_[i] == '.') {
        const size_t b = ++i;
        while (i < src_.size() && (IsAlnum(src_[i]) || src_[i] == '_' || src_[i] == '-')) {
          ++i;
        }
        if (i == b) {
          return Invalid("selector at position " + std::to_string(pos_) +
                         " needs a property name after '.'");
        }
        seg.key.assign(src_.substr(b, i - b));
      } else {
        if (t.path.empty()) {
          return Invalid("selector at position " + std::to_string(pos_) +
                         ": an array index must follow a property, as in $.items[0]");
        }
        const size_t b = ++i;
        uint64_t v = 0;
        while (i < src_.size() && IsDigit(src_[i])) {
          v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(src_[i] - '0'), 1u << 30);
          ++i;
        }
        if (i == b || i >= src_.size() || src_[i] != ']') {
          return Invalid("selector at position " + std::to_string(pos_) +
                         ": an array index must be a non-negative integer in [ ]");
        }
        ++i;
        seg.is_index = true;
        seg.index = static_cast<uint32_t>(v);
      }
      t.path.push_back(std::move(seg));
    }
    if (t.path.empty()) {
      return Invalid("selector at position " + std::to_string(pos_) +
                     " must start with '$.' followed by a property name");
    }
    t.text.assign(src_.substr(pos_, i - pos_));
    pos_ = i;
    return t;
  }

  Result<Token> Word() {
    Token t;
    t.kind = Tk::Word;
    t.pos = pos_;
    size_t i = pos_;
    if (mode_ == Mode::Json) {
      // AWS: strings of letters and digits need no quotes; ones with '@', '$', '\', unicode
      // and the like must be quoted. Dots, '*', signs, ':' and '/' are allowed so that
      // `123.123.*`, `-1` and `/api/*` work unquoted.
      static constexpr std::string_view kWordChars = "_-.*+:/";
      while (i < src_.size() &&
             (IsAlnum(src_[i]) || kWordChars.find(src_[i]) != std::string_view::npos)) {
        ++i;
      }
      if (i == pos_) {
        const char c = src_[pos_];
        if (IsHighByte(c)) {
          return Invalid("non-ASCII text at position " + std::to_string(pos_) +
                         " must be enclosed in double quotes");
        }
        return Invalid("unexpected character " + Show(c) + " at position " + std::to_string(pos_));
      }
    } else {
      static constexpr std::string_view kStop = "[](),&|=!<>\"%";
      while (i < src_.size() && !IsBlank(src_[i]) &&
             kStop.find(src_[i]) == std::string_view::npos) {
        ++i;
      }
    }
    t.text.assign(src_.substr(pos_, i - pos_));
    pos_ = i;
    return t;
  }

  std::string_view src_;
  size_t pos_ = 0;
  Mode mode_;
};

// ---- expression parser (JSON and space-delimited) -------------------------------------------

// Recursive descent over
//   or      := and ( '||' and )*
//   and     := primary ( '&&' primary )*
//   primary := '(' or ')' | comparison
//   JSON comparison:      selector ( op value | IS (NULL|TRUE|FALSE) | NOT EXISTS )
//   delimited comparison: field-name op value
//   value := "quoted" | %regex% | word          (a word that parses as a number is numeric)
// which gives AWS's documented precedence: () > && > ||.
class ExprParser {
 public:
  ExprParser(Lexer& lx, Impl& p, Mode mode) : lx_(lx), p_(p), mode_(mode) {}

  // Name of the first field compared since the last reset (a space-delimited slot's name).
  std::string& first_name() { return first_name_; }

  Result<int> ParseOr(int depth) {
    BERTH_TRY(int first, ParseAnd(depth));
    std::vector<int> kids{first};
    while (true) {
      BERTH_TRY(Token t, lx_.Peek());
      if (t.kind != Tk::OrOr) {
        break;
      }
      BERTH_RETURN_IF_ERROR(lx_.Next());
      BERTH_TRY(int k, ParseAnd(depth));
      kids.push_back(k);
    }
    return kids.size() == 1 ? first : AddNode(p_, Node::Kind::Or, std::move(kids), -1);
  }

 private:
  Result<int> ParseAnd(int depth) {
    BERTH_TRY(int first, ParsePrimary(depth));
    std::vector<int> kids{first};
    while (true) {
      BERTH_TRY(Token t, lx_.Peek());
      if (t.kind != Tk::AndAnd) {
        break;
      }
      BERTH_RETURN_IF_ERROR(lx_.Next());
      BERTH_TRY(int k, ParsePrimary(depth));
      kids.push_back(k);
    }
    return kids.size() == 1 ? first : AddNode(p_, Node::Kind::And, std::move(kids), -1);
  }

  Result<int> ParsePrimary(int depth) {
    BERTH_TRY(Token t, lx_.Peek());
    if (t.kind == Tk::LParen) {
      if (depth >= kMaxNesting) {
        return Invalid("parentheses nest deeper than " + std::to_string(kMaxNesting) + " levels");
      }
      BERTH_RETURN_IF_ERROR(lx_.Next());
      BERTH_TRY(int e, ParseOr(depth + 1));
      BERTH_TRY(Token close, lx_.Next());
      if (close.kind != Tk::RParen) {
        return Invalid("expected ')' to close the '(' at position " + std::to_string(t.pos) +
                       ", found " + Describe(close));
      }
      return e;
    }
    return mode_ == Mode::Json ? ParseJsonComparison() : ParseDelimComparison();
  }

  Result<Value> ParseValue(CmpOp cmp, const Token& op) {
    BERTH_TRY(Token t, lx_.Next());
    const bool ordering = cmp != CmpOp::Eq && cmp != CmpOp::Ne;
    Value v;
    switch (t.kind) {
      case Tk::Quoted:
        if (ordering) {
          return Invalid(std::string("operator '") + CmpText(cmp) + "' at position " +
                         std::to_string(op.pos) + " needs a number, not a quoted string");
        }
        v.kind = ValueKind::Text;
        v.text = Wildcard::From(t.text);
        return v;
      case Tk::Regex: {
        if (ordering) {
          return Invalid(std::string("operator '") + CmpText(cmp) + "' at position " +
                         std::to_string(op.pos) + " needs a number, not a regular expression");
        }
        if (static_cast<int>(p_.regexes.size()) >= kMaxRegexPerPattern) {
          return Invalid("at most " + std::to_string(kMaxRegexPerPattern) +
                         " regular expressions are allowed in a JSON or space-delimited pattern");
        }
        BERTH_TRY(Regex re, Regex::Compile(t.text));
        p_.regexes.push_back(std::move(re));
        v.kind = ValueKind::Regex;
        v.regex = static_cast<int>(p_.regexes.size() - 1);
        return v;
      }
      case Tk::Word:
        if (ParseDecimal(t.text, /*strict=*/false, &v.num)) {
          v.kind = ValueKind::Number;
          v.raw = t.text;
          return v;
        }
        if (ordering) {
          return Invalid(std::string("operator '") + CmpText(cmp) + "' at position " +
                         std::to_string(op.pos) + " needs a number, found " + Describe(t));
        }
        v.kind = ValueKind::Text;
        v.text = Wildcard::From(t.text);
        return v;
      default:
        return Invalid(std::string("expected a value after '") + CmpText(cmp) + "' at position " +
                       std::to_string(op.pos) + ", found " + Describe(t));
    }
  }

  Result<int> ParseJsonComparison() {
    BERTH_TRY(Token sel, lx_.Next());
    if (sel.kind != Tk::Selector) {
      return Invalid("expected a selector such as $.field, found " + Describe(sel));
    }
    JsonLeaf leaf;
    leaf.path = std::move(sel.path);
    BERTH_TRY(Token op, lx_.Next());
    if (op.kind == Tk::Word && IEquals(op.text, "IS")) {
      BERTH_TRY(Token what, lx_.Next());
      if (what.kind == Tk::Word && IEquals(what.text, "NULL")) {
        leaf.op = JsonOp::IsNull;
      } else if (what.kind == Tk::Word && IEquals(what.text, "TRUE")) {
        leaf.op = JsonOp::IsTrue;
      } else if (what.kind == Tk::Word && IEquals(what.text, "FALSE")) {
        leaf.op = JsonOp::IsFalse;
      } else {
        return Invalid("expected NULL, TRUE or FALSE after IS, found " + Describe(what));
      }
    } else if (op.kind == Tk::Word && IEquals(op.text, "NOT")) {
      BERTH_TRY(Token what, lx_.Next());
      if (what.kind != Tk::Word || !IEquals(what.text, "EXISTS")) {
        return Invalid("expected EXISTS after NOT, found " + Describe(what));
      }
      leaf.op = JsonOp::NotExists;
    } else if (IsCmp(op.kind)) {
      leaf.cmp = ToCmp(op.kind);
      BERTH_TRY(Value v, ParseValue(leaf.cmp, op));
      leaf.value = std::move(v);
    } else {
      return Invalid("expected =, !=, <, <=, >, >=, IS or NOT EXISTS after selector '" + sel.text +
                     "', found " + Describe(op));
    }
    p_.json_leaves.push_back(std::move(leaf));
    return AddNode(p_, Node::Kind::Leaf, {}, static_cast<int>(p_.json_leaves.size() - 1));
  }

  Result<int> ParseDelimComparison() {
    BERTH_TRY(Token name, lx_.Next());
    if (name.kind != Tk::Word || !IsFieldName(name.text)) {
      return Invalid("expected a field name (letters, digits, '_'), found " + Describe(name));
    }
    if (first_name_.empty()) {
      first_name_ = name.text;
    }
    BERTH_TRY(Token op, lx_.Next());
    if (!IsCmp(op.kind)) {
      return Invalid("expected =, !=, <, <=, > or >= after field '" + name.text + "', found " +
                     Describe(op));
    }
    DelimLeaf leaf;
    leaf.name = name.text;
    leaf.cmp = ToCmp(op.kind);
    BERTH_TRY(Value v, ParseValue(leaf.cmp, op));
    leaf.value = std::move(v);
    p_.delim_leaves.push_back(std::move(leaf));
    return AddNode(p_, Node::Kind::Leaf, {}, static_cast<int>(p_.delim_leaves.size() - 1));
  }

 public:
  static bool IsFieldName(std::string_view s) {
    if (s.empty()) {
      return false;
    }
    for (char c : s) {
      if (!IsAlnum(c) && c != '_') {
        return false;
      }
    }
    return true;
  }

 private:
  Lexer& lx_;
  Impl& p_;
  Mode mode_;
  std::string first_name_;
};

// ---- the four pattern shapes ----------------------------------------------------------------

// Unstructured: blank-separated terms, each optionally prefixed by '?' (any of) or '-' (none
// of), bare (letters, digits, '_') or a double-quoted phrase.
Status ParseTerms(std::string_view s, Impl& p) {
  p.kind = Impl::Kind::Terms;
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsBlank(s[i])) {
      ++i;
    }
    if (i >= s.size()) {
      break;
    }
    char prefix = 0;
    if (s[i] == '?' || s[i] == '-') {
      prefix = s[i];
      const size_t at = i++;
      // The user guide once wrote `"ERROR" - "Exiting"`; a detached prefix applies to the next
      // term.
      while (i < s.size() && IsBlank(s[i])) {
        ++i;
      }
      if (i >= s.size()) {
        return Invalid(std::string("'") + prefix + "' at position " + std::to_string(at) +
                       " must be followed by a term");
      }
      if (s[i] == '?' || s[i] == '-') {
        return Invalid("a term takes at most one '?' or '-' prefix (position " + std::to_string(i) +
                       ")");
      }
    }
    std::string term;
    bool blank_phrase = false;
    if (s[i] == '"') {
      const size_t open = i++;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
          ++i;
        }
        term.push_back(s[i]);
        ++i;
      }
      if (i >= s.size()) {
        return Invalid("unbalanced quotation marks: the '\"' at position " + std::to_string(open) +
                       " is never closed");
      }
      ++i;
      if (i < s.size() && !IsBlank(s[i])) {
        return Invalid("expected a blank after the closing quote at position " +
                       std::to_string(i - 1));
      }
      blank_phrase = TrimBlanks(term).empty();
    } else {
      const size_t b = i;
      while (i < s.size() && !IsBlank(s[i])) {
        ++i;
      }
      term.assign(s.substr(b, i - b));
      for (char c : term) {
        if (!IsAlnum(c) && c != '_' && !IsHighByte(c)) {
          std::string shown = term.size() > 40 ? term.substr(0, 40) + "..." : term;
          return Invalid("Invalid character(s) in term '" + shown +
                         "': enclose terms with characters other than letters, digits and '_' "
                         "in double quotes");
        }
      }
    }
    // AWS documents `" "` as the pattern that matches every event: a blank phrase is a term
    // every event contains.
    if (blank_phrase) {
      if (prefix == '-') {
        p.never = true;
      } else if (prefix == '?') {
        p.any_of_always = true;
      }
      continue;
    }
    if (prefix == '?') {
      p.any_of.emplace_back(std::move(term));
    } else if (prefix == '-') {
      p.none_of.emplace_back(std::move(term));
    } else {
      p.all_of.emplace_back(std::move(term));
    }
  }
  if (!p.never && p.all_of.empty() && p.none_of.empty() && (p.any_of.empty() || p.any_of_always)) {
    p.kind = Impl::Kind::Everything;
    return OkStatus();
  }
  for (const Needle& n : p.all_of) {
    p.required.push_back(n.text());
  }
  if (p.any_of.size() == 1 && !p.any_of_always) {
    p.required.push_back(p.any_of[0].text());
  }
  return OkStatus();
}

Status ParseStandaloneRegex(std::string_view body, Impl& p) {
  BERTH_TRY(Regex re, Regex::Compile(body));
  p.kind = Impl::Kind::Regex;
  p.required = re.required();
  p.regexes.push_back(std::move(re));
  return OkStatus();
}

Status ParseJson(std::string_view s, Impl& p) {
  p.kind = Impl::Kind::Json;
  Lexer lx(s, Mode::Json);
  BERTH_TRY(Token open, lx.Next());
  BERTH_TRY(Token first, lx.Peek());
  if (first.kind == Tk::RBrace || first.kind == Tk::End) {
    return Invalid("a JSON pattern needs a condition between '{' and '}'");
  }
  ExprParser parser(lx, p, Mode::Json);
  BERTH_TRY(int root, parser.ParseOr(0));
  BERTH_TRY(Token close, lx.Next());
  if (close.kind == Tk::End) {
    return Invalid("unbalanced braces: the '{' at position " + std::to_string(open.pos) +
                   " is never closed");
  }
  if (close.kind != Tk::RBrace) {
    return Invalid("expected '&&', '||' or '}', found " + Describe(close));
  }
  BERTH_TRY(Token end, lx.Next());
  if (end.kind != Tk::End) {
    return Invalid("unexpected " + Describe(end) + " after the closing '}'");
  }
  p.root = root;
  // Keys are matched byte-for-byte against the raw JSON (simdjson does not unescape them), so
  // a selector that must resolve puts `"key"` in the event. Values are not claimed: `\/`,
  // \u escapes and spellings such as 5E2 for 500 would make that unsound.
  auto leaf_req = [&p](int leaf) {
    const JsonLeaf& l = p.json_leaves[static_cast<size_t>(leaf)];
    std::vector<std::string> out;
    if (l.op == JsonOp::NotExists) {
      return out;
    }
    for (const PathSeg& seg : l.path) {
      if (!seg.is_index) {
        out.push_back("\"" + seg.key + "\"");
      }
    }
    if (l.op == JsonOp::IsNull) {
      out.emplace_back("null");
    } else if (l.op == JsonOp::IsTrue) {
      out.emplace_back("true");
    } else if (l.op == JsonOp::IsFalse) {
      out.emplace_back("false");
    }
    return out;
  };
  p.required = TreeRequired(p.nodes, p.root, leaf_req);
  return OkStatus();
}

// `[slot, slot, ...]` where a slot is a field name, a condition (its first field name names
// the slot), "..." (any number of fields, at most once), or empty (one unnamed field).
Status ParseDelimited(std::string_view s, Impl& p) {
  p.kind = Impl::Kind::Delimited;
  Lexer lx(s, Mode::Delimited);
  BERTH_TRY(Token open, lx.Next());
  ExprParser parser(lx, p, Mode::Delimited);
  std::vector<std::string> names;
  std::vector<int> conditions;
  while (true) {
    BERTH_TRY(Token t, lx.Peek());
    std::string name;
    if (t.kind == Tk::End) {
      return Invalid("unbalanced brackets: the '[' at position " + std::to_string(open.pos) +
                     " is never closed");
    }
    if (t.kind == Tk::RBracket && names.empty()) {
      return Invalid("a space-delimited pattern needs at least one field between '[' and ']'");
    }
    if (t.kind == Tk::RBracket || t.kind == Tk::Comma) {
      // An empty slot stands for one unnamed field (the user guide's `[..., status_code=4*,]`).
    } else if (t.kind == Tk::Word && (t.text == "..." || t.text == "\xE2\x80\xA6")) {
      BERTH_RETURN_IF_ERROR(lx.Next());
      if (p.ellipsis >= 0) {
        return Invalid(
            "only one '...' is supported in a space-delimited pattern (second one at "
            "position " +
            std::to_string(t.pos) + ")");
      }
      p.ellipsis = static_cast<int>(names.size());
    } else {
      Lexer ahead = lx;
      BERTH_RETURN_IF_ERROR(ahead.Next());
      BERTH_TRY(Token after, ahead.Next());
      if (t.kind == Tk::Word && (after.kind == Tk::Comma || after.kind == Tk::RBracket)) {
        if (!ExprParser::IsFieldName(t.text)) {
          return Invalid("invalid field name " + Describe(t) + ": use letters, digits and '_'");
        }
        BERTH_RETURN_IF_ERROR(lx.Next());
        name = t.text;
      } else {
        parser.first_name().clear();
        BERTH_TRY(int cond, parser.ParseOr(0));
        conditions.push_back(cond);
        name = parser.first_name();
      }
    }
    names.push_back(std::move(name));
    BERTH_TRY(Token sep, lx.Next());
    if (sep.kind == Tk::RBracket) {
      break;
    }
    if (sep.kind == Tk::End) {
      return Invalid("unbalanced brackets: the '[' at position " + std::to_string(open.pos) +
                     " is never closed");
    }
    if (sep.kind != Tk::Comma) {
      return Invalid("expected ',' or ']', found " + Describe(sep));
    }
  }
  BERTH_TRY(Token end, lx.Next());
  if (end.kind != Tk::End) {
    return Invalid("unexpected " + Describe(end) + " after the closing ']'");
  }
  p.slot_count = names.size();
  // A condition may name any field of the pattern (`status_code = 4* && bytes > 1000`).
  for (DelimLeaf& leaf : p.delim_leaves) {
    auto it = std::find(names.begin(), names.end(), leaf.name);
    leaf.slot = it == names.end() ? -1 : static_cast<int>(it - names.begin());
  }
  if (conditions.empty()) {
    if (p.ellipsis >= 0 && p.slot_count == 1) {
      p.kind = Impl::Kind::Everything;  // `[...]`
    }
    return OkStatus();
  }
  p.root = conditions.size() == 1 ? conditions[0]
                                  : AddNode(p, Node::Kind::And, std::move(conditions), -1);
  // Fields are slices of the event (quotes and brackets dropped, nothing unescaped), so a
  // string equality's literal part is a substring of the event.
  auto leaf_req = [&p](int leaf) {
    const DelimLeaf& l = p.delim_leaves[static_cast<size_t>(leaf)];
    std::vector<std::string> out;
    if (l.slot < 0 || l.cmp != CmpOp::Eq) {
      return out;
    }
    if (l.value.kind == ValueKind::Text && !l.value.text.core.empty()) {
      out.push_back(l.value.text.core);
    } else if (l.value.kind == ValueKind::Regex) {
      out = p.regexes[static_cast<size_t>(l.value.regex)].required();
    }
    return out;
  };
  p.required = TreeRequired(p.nodes, p.root, leaf_req);
  return OkStatus();
}

// ---- matching -------------------------------------------------------------------------------

// Plain terms first: they are the most selective and the commonest, so most events are
// rejected by the first SIMD substring scan.
bool MatchTerms(const Impl& p, std::string_view m) {
  if (p.never) {
    return false;
  }
  for (const Needle& n : p.all_of) {
    if (!n.In(m)) {
      return false;
    }
  }
  for (const Needle& n : p.none_of) {
    if (n.In(m)) {
      return false;
    }
  }
  if (p.any_of.empty() || p.any_of_always) {
    return true;
  }
  for (const Needle& n : p.any_of) {
    if (n.In(m)) {
      return true;
    }
  }
  return false;
}

// Splits a space-delimited event. "..." and [...] are one field each, without the quotes or
// brackets; inside quotes a backslash escapes the next character (Apache writes \" there).
// Stops once `limit` fields are exceeded, since the caller only needs to know "too many".
void SplitFields(std::string_view m, size_t limit, std::vector<std::string_view>& out) {
  size_t i = 0;
  const size_t n = m.size();
  while (true) {
    while (i < n && IsBlank(m[i])) {
      ++i;
    }
    if (i >= n || out.size() > limit) {
      return;
    }
    size_t j = 0;
    if (m[i] == '"') {
      j = i + 1;
      while (j < n && m[j] != '"') {
        j += (m[j] == '\\' && j + 1 < n) ? 2 : 1;
      }
      j = std::min(j, n);
      out.push_back(m.substr(i + 1, j - i - 1));
      i = j < n ? j + 1 : n;
    } else if (m[i] == '[') {
      j = m.find(']', i + 1);
      if (j == std::string_view::npos) {
        j = n;
      }
      out.push_back(m.substr(i + 1, j - i - 1));
      i = j < n ? j + 1 : n;
    } else {
      j = i;
      while (j < n && !IsBlank(m[j])) {
        ++j;
      }
      out.push_back(m.substr(i, j - i));
      i = j;
    }
  }
}

// Aligns the event's fields with the pattern's slots: without "..." field i is slot i; with
// it, the slots before it take the first fields and the slots after it the last ones.
bool MatchDelimited(const Impl& p, std::string_view m) {
  thread_local std::vector<std::string_view> fields;
  fields.clear();
  const size_t n = p.slot_count;
  SplitFields(m, p.ellipsis < 0 ? n : SIZE_MAX - 1, fields);
  const size_t k = fields.size();
  if (p.ellipsis < 0 ? k != n : k + 1 < n) {
    return false;
  }
  if (p.root < 0) {
    return true;
  }
  const auto e = static_cast<size_t>(p.ellipsis);
  auto leaf = [&](int idx) {
    const DelimLeaf& l = p.delim_leaves[static_cast<size_t>(idx)];
    if (l.slot < 0) {
      return false;
    }
    const auto s = static_cast<size_t>(l.slot);
    const std::string_view f = (p.ellipsis < 0 || s < e) ? fields[s] : fields[k - (n - s)];
    switch (l.value.kind) {
      case ValueKind::Number: {
        // Every delimited field is text; one that reads as a number compares as a number.
        Decimal d;
        if (ParseDecimal(f, /*strict=*/false, &d)) {
          return ApplyCmp(l.cmp, CompareDecimal(d, l.value.num));
        }
        // A field that is not a number is only ever equal to the literal's own text.
        if (l.cmp == CmpOp::Eq) {
          return f == l.value.raw;
        }
        return l.cmp == CmpOp::Ne && f != l.value.raw;
      }
      case ValueKind::Text: {
        const bool hit = l.value.text.Match(f);
        return l.cmp == CmpOp::Eq ? hit : !hit;
      }
      case ValueKind::Regex: {
        const bool hit = p.regexes[static_cast<size_t>(l.value.regex)].Search(f);
        return l.cmp == CmpOp::Eq ? hit : !hit;
      }
    }
    return false;
  };
  return EvalTree(p.nodes, p.root, leaf);
}

// One simdjson On-Demand parser and padded copy buffer per thread: Matches() is const and may
// run on many threads, and re-using both keeps the per-event cost allocation-free.
struct JsonScratch {
  simdjson::ondemand::parser parser;
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
};

JsonScratch& Scratch() {
  thread_local JsonScratch s;
  return s;
}

class JsonEval {
 public:
  JsonEval(const Impl& p, simdjson::ondemand::document& doc) : p_(p), doc_(doc) {}

  bool invalid() const { return invalid_; }

  // Evaluates one comparison. A malformed document (bad number token, broken string) marks the
  // whole evaluation invalid: AWS only matches JSON patterns against well-formed JSON.
  bool Leaf(int idx) {
    if (invalid_) {
      return false;
    }
    const JsonLeaf& l = p_.json_leaves[static_cast<size_t>(idx)];
    simdjson::ondemand::value v;
    const Found r = Resolve(l.path, &v);
    if (r == Found::Invalid) {
      return Fail();
    }
    if (l.op == JsonOp::NotExists) {
      return r == Found::Missing;
    }
    if (r == Found::Missing) {
      return false;
    }
    simdjson::ondemand::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) {
      return Fail();
    }
    using JT = simdjson::ondemand::json_type;
    switch (l.op) {
      case JsonOp::IsNull: {
        if (t != JT::null) {
          return false;
        }
        bool is_null = false;
        if (v.is_null().get(is_null) != simdjson::SUCCESS) {
          return Fail();
        }
        return is_null;
      }
      case JsonOp::IsTrue:
      case JsonOp::IsFalse: {
        if (t != JT::boolean) {
          return false;
        }
        bool b = false;
        if (v.get_bool().get(b) != simdjson::SUCCESS) {
          return Fail();
        }
        return b == (l.op == JsonOp::IsTrue);
      }
      case JsonOp::NotExists:
      case JsonOp::Compare:
        break;
    }
    // Objects and arrays are not values: AWS says such a filter "will not be applied", so
    // both = and != are false. Likewise a number literal never matches a string, nor a string
    // literal a number (except the lone '*').
    switch (l.value.kind) {
      case ValueKind::Number: {
        if (t != JT::number) {
          return false;
        }
        Decimal d;
        if (!ParseDecimal(TrimBlanks(v.raw_json_token()), /*strict=*/true, &d)) {
          return Fail();
        }
        return ApplyCmp(l.cmp, CompareDecimal(d, l.value.num));
      }
      case ValueKind::Text: {
        if (l.value.text.any) {
          return l.cmp == CmpOp::Eq && (t == JT::string || t == JT::number);
        }
        if (t != JT::string) {
          return false;
        }
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) {
          return Fail();
        }
        const bool hit = l.value.text.Match(s);
        return l.cmp == CmpOp::Eq ? hit : !hit;
      }
      case ValueKind::Regex: {
        if (t != JT::string) {
          return false;
        }
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) {
          return Fail();
        }
        const bool hit = p_.regexes[static_cast<size_t>(l.value.regex)].Search(s);
        return l.cmp == CmpOp::Eq ? hit : !hit;
      }
    }
    return false;
  }

 private:
  enum class Found : uint8_t { Yes, Missing, Invalid };

  bool Fail() {
    invalid_ = true;
    return false;
  }

  static Found Classify(simdjson::error_code e) {
    if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INCORRECT_TYPE ||
        e == simdjson::INDEX_OUT_OF_BOUNDS) {
      return Found::Missing;
    }
    return Found::Invalid;
  }

  // On-Demand is forward-only, so every leaf after the first rewinds to the root and walks its
  // path again; patterns have few leaves and find_field_unordered is a cheap key scan.
  Found Resolve(const std::vector<PathSeg>& path, simdjson::ondemand::value* out) {
    if (!first_) {
      doc_.rewind();
    }
    first_ = false;
    simdjson::ondemand::value cur;
    simdjson::error_code e = doc_.find_field_unordered(path[0].key).get(cur);
    if (e != simdjson::SUCCESS) {
      return Classify(e);
    }
    for (size_t i = 1; i < path.size(); ++i) {
      const PathSeg& seg = path[i];
      if (!seg.is_index) {
        simdjson::ondemand::object obj;
        if ((e = cur.get_object().get(obj)) != simdjson::SUCCESS) {
          return Classify(e);
        }
        simdjson::ondemand::value next;
        if ((e = obj.find_field_unordered(seg.key).get(next)) != simdjson::SUCCESS) {
          return Classify(e);
        }
        cur = next;
        continue;
      }
      simdjson::ondemand::array arr;
      if ((e = cur.get_array().get(arr)) != simdjson::SUCCESS) {
        return Classify(e);
      }
      uint32_t at = 0;
      bool found = false;
      for (auto child : arr) {
        simdjson::ondemand::value v;
        if (child.get(v) != simdjson::SUCCESS) {
          return Found::Invalid;
        }
        if (at == seg.index) {
          cur = v;
          found = true;
          break;
        }
        ++at;
      }
      if (!found) {
        return Found::Missing;
      }
    }
    *out = cur;
    return Found::Yes;
  }

  const Impl& p_;
  simdjson::ondemand::document& doc_;
  bool first_ = true;
  bool invalid_ = false;
};

bool MatchJson(const Impl& p, std::string_view m) {
  size_t i = 0;
  while (i < m.size() && IsBlank(m[i])) {
    ++i;
  }
  size_t last = m.size();
  while (last > i && IsBlank(m[last - 1])) {
    --last;
  }
  // JSON patterns only ever match JSON objects. On-Demand parsing is lazy and would not notice
  // text after the object (`{"a":1} trailer`), so the last character is checked here.
  if (i == m.size() || m[i] != '{' || m[last - 1] != '}') {
    return false;
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the end of its input, and an event is a
  // slice of a larger block, so it is copied into a padded per-thread buffer (~10 ns for a
  // typical line, far below the parse itself).
  JsonScratch& s = Scratch();
  const size_t need = m.size() + simdjson::SIMDJSON_PADDING;
  if (s.cap < need) {
    s.cap = std::max(need, s.cap * 2);
    s.buf.reset(new char[s.cap]);
  }
  std::memcpy(s.buf.get(), m.data(), m.size());
  std::memset(s.buf.get() + m.size(), 0, simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  if (s.parser.iterate(s.buf.get(), m.size(), s.cap).get(doc) != simdjson::SUCCESS) {
    return false;
  }
  JsonEval ev(p, doc);
  auto leaf = [&ev](int idx) { return ev.Leaf(idx); };
  const bool hit = EvalTree(p.nodes, p.root, leaf);
  return hit && !ev.invalid();
}

// ---- cluster skipping ------------------------------------------------------------------------

// Three-valued (Kleene) truth: what a subtree is for every event of a cluster.
enum class Tri : uint8_t { False, True, Unknown };

template <typename LeafFn>
Tri KleeneTree(const std::vector<Node>& nodes, int idx, LeafFn& leaf) {
  const Node& n = nodes[static_cast<size_t>(idx)];
  if (n.kind == Node::Kind::Leaf) {
    return leaf(n.leaf);
  }
  const bool is_and = n.kind == Node::Kind::And;
  bool unknown = false;
  for (int k : n.kids) {
    const Tri t = KleeneTree(nodes, k, leaf);
    if (t == Tri::Unknown) {
      unknown = true;
    } else if ((t == Tri::False) == is_and) {
      return t;  // a false child decides an AND, a true child an OR
    }
  }
  if (unknown) {
    return Tri::Unknown;
  }
  return is_and ? Tri::True : Tri::False;
}

// Decides a JSON comparison for a cluster whose events all hold `dim`: the comparison is run by
// the same JsonEval as Matches, on a one-field document `{"key":value}` (or `{}` when the key is
// absent), so typing, wildcards and missing-field rules cannot drift apart. The key is copied
// byte for byte, and simdjson compares keys by their raw bytes, so the document resolves the
// selector exactly as the cluster's events do.
Tri JsonLeafOnDim(const Impl& p, int idx, const ClusterDim& dim) {
  std::string text = "{";
  if (dim.value) {
    text += '"';
    text += dim.key;
    text += "\":";
    text += *dim.value;
  }
  text += '}';
  JsonScratch& s = Scratch();
  const size_t need = text.size() + simdjson::SIMDJSON_PADDING;
  if (s.cap < need) {
    s.cap = std::max(need, s.cap * 2);
    s.buf.reset(new char[s.cap]);
  }
  std::memcpy(s.buf.get(), text.data(), text.size());
  std::memset(s.buf.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  if (s.parser.iterate(s.buf.get(), text.size(), s.cap).get(doc) != simdjson::SUCCESS) {
    return Tri::Unknown;
  }
  JsonEval ev(p, doc);
  const bool hit = ev.Leaf(idx);
  if (ev.invalid()) {
    return Tri::Unknown;
  }
  return hit ? Tri::True : Tri::False;
}

Tri JsonLeafOnFacts(const Impl& p, int idx, const ClusterFacts& facts) {
  const JsonLeaf& l = p.json_leaves[static_cast<size_t>(idx)];
  if (l.path.size() != 1 || l.path[0].is_index ||
      l.path[0].key.find_first_of("\"\\") != std::string::npos) {
    return Tri::Unknown;
  }
  const ClusterDim* dim = facts.Find(l.path[0].key);
  return dim == nullptr ? Tri::Unknown : JsonLeafOnDim(p, idx, *dim);
}

}  // namespace

FilterPattern::FilterPattern() : impl_(std::make_shared<Impl>()) {}

// The first non-blank character decides the shape, as in CloudWatch: '{' JSON, '[' space-
// delimited, '%' a standalone regex, anything else unstructured terms.
Result<FilterPattern> FilterPattern::Parse(std::string_view pattern) {
  auto impl = std::make_shared<Impl>();
  const std::string_view body = TrimBlanks(pattern);
  if (!body.empty()) {
    Status st;
    switch (body.front()) {
      case '{':
        st = ParseJson(body, *impl);
        break;
      case '[':
        st = ParseDelimited(body, *impl);
        break;
      case '%':
        if (body.size() < 2 || body.back() != '%') {
          return Invalid("the regular expression starting at position 0 has no closing '%'");
        }
        st = ParseStandaloneRegex(body.substr(1, body.size() - 2), *impl);
        break;
      default:
        st = ParseTerms(body, *impl);
        break;
    }
    if (!st.ok()) {
      return std::move(st).take_error();
    }
  }
  std::vector<std::string>& req = impl->required;
  req.erase(std::remove_if(req.begin(), req.end(), [](const std::string& r) { return r.empty(); }),
            req.end());
  std::sort(req.begin(), req.end());
  req.erase(std::unique(req.begin(), req.end()), req.end());
  for (const std::string& r : req) {
    impl->required_trigrams.push_back(TrigramBitmap::NeedleTrigrams(r));
  }
  for (const Needle& n : impl->any_of) {
    impl->any_of_trigrams.push_back(TrigramBitmap::NeedleTrigrams(n.text()));
  }
  return FilterPattern(std::shared_ptr<const Impl>(std::move(impl)));
}

bool FilterPattern::Matches(std::string_view message) const {
  const Impl& p = *impl_;
  switch (p.kind) {
    case Impl::Kind::Everything:
      return true;
    case Impl::Kind::Terms:
      return MatchTerms(p, message);
    case Impl::Kind::Regex:
      return p.regexes[0].Search(message);
    case Impl::Kind::Json:
      return MatchJson(p, message);
    case Impl::Kind::Delimited:
      return MatchDelimited(p, message);
  }
  return false;
}

bool FilterPattern::MayMatch(const ClusterFacts& facts) const {
  return MayMatchTrigrams(facts) && MayMatchDims(facts);
}

bool FilterPattern::MayMatchTrigrams(const ClusterFacts& facts) const {
  const Impl& p = *impl_;
  if (p.kind == Impl::Kind::Everything) {
    return true;
  }
  if (p.kind == Impl::Kind::Terms && p.never) {
    return false;
  }
  if (facts.trigrams != nullptr) {
    for (const std::vector<uint16_t>& r : p.required_trigrams) {
      if (!facts.trigrams->MayContainAll(r)) {
        return false;
      }
    }
    // `?a ?b`: some alternative must be present.
    if (p.kind == Impl::Kind::Terms && !p.any_of.empty() && !p.any_of_always) {
      bool any = false;
      for (const std::vector<uint16_t>& t : p.any_of_trigrams) {
        any = any || facts.trigrams->MayContainAll(t);
      }
      if (!any) {
        return false;
      }
    }
  }
  return true;
}

bool FilterPattern::MayMatchDims(const ClusterFacts& facts) const {
  const Impl& p = *impl_;
  if (p.kind == Impl::Kind::Json && p.root >= 0 && !facts.dims.empty()) {
    auto leaf = [&](int idx) { return JsonLeafOnFacts(p, idx, facts); };
    if (KleeneTree(p.nodes, p.root, leaf) == Tri::False) {
      return false;
    }
  }
  return true;
}

bool FilterPattern::UsesDims() const { return impl_->kind == Impl::Kind::Json && impl_->root >= 0; }

// Computed once by Parse (sorted, de-duplicated, no empty strings).
std::vector<std::string> FilterPattern::RequiredSubstrings() const { return impl_->required; }

bool FilterPattern::MatchesEverything() const { return impl_->kind == Impl::Kind::Everything; }

}  // namespace berth::logs
