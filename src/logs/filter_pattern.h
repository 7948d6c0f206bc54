#pragma once
// CloudWatch Logs filter patterns: the syntax FilterLogEvents, metric filters, subscription
// filters and Live Tail share ("Filter pattern syntax for metric filters, subscription filters,
// filter log events, and Live Tail", CloudWatch Logs user guide). Four shapes exist, chosen by
// the first non-blank character of the pattern:
//
//   (empty)            every event matches
//   %regex%            a standalone regular expression (AWS's restricted subset, see below)
//   { ... }            JSON: { $.status >= 500 && $.path = "/api/*" }, IS NULL, NOT EXISTS, ...
//   [ ... ]            space-delimited: [ip, user, ..., status = 5*, size > 1000]
//   anything else      unstructured terms: ERROR -Exiting, ?ERROR ?WARN, "Ignoring file"
//
// Behaviour copied from AWS on purpose (each has a test of the same name in
// tests/unit/logs/filter_pattern_test.cc):
// - Terms are case-sensitive substrings: ERROR matches "ERRORCODE" (TermIsSubstring). An
//   unquoted term may hold only letters, digits and '_' (UnquotedTermCharset); anything else
//   needs double quotes. `" "` (a blank quoted phrase) matches every event (BlankPhrase).
// - JSON comparisons are typed: a number literal only matches JSON numbers (compared exactly as
//   decimals, so 500 = 5E2 = 500.0), a string literal only JSON strings
//   (JsonNumberDoesNotMatchString); a selector that is missing, or that names an object or
//   array, makes every comparison false, `!=` included (JsonMissingFieldNeverMatches). The
//   lone wildcard `*` matches any string or number, as in AWS's `{ $.latency = * }` metric
//   example (JsonStarMatchesNumbers). `*` is a wildcard only at the start or end of a string
//   value; `Ev*ent` matches only the literal text (WildcardInMiddle).
// - Space-delimited events split on blanks; "..." and [...] are one field each (without their
//   quotes or brackets). Without `...` the number of fields must equal the number of pattern
//   fields (DelimitedFieldCount). Only one `...` is allowed per pattern.
// - Regular expressions (`%...%`) accept only what AWS lists: letters, digits, the symbols
//   _ # = @ / ; , - : and the operators ^ $ ? [ ] { } | \ * + . plus \d \D \s \S \w \W; no
//   parentheses, no multi-byte characters, at most two per JSON or space-delimited pattern.
//   Matching is a linear-time automaton search (never backtracking).
//
// A malformed pattern is an InvalidParameterException "Invalid filter pattern: <detail>".

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "logs/cluster_facts.h"

namespace berth::logs {

class FilterPattern {
 public:
  // A pattern that matches every event, as the empty pattern does.
  FilterPattern();

  // Parses `pattern`. Never throws; any malformed input (unbalanced quotes or brackets, bad
  // operators, `$.` without a property, a regex with unsupported characters, nesting deeper
  // than 32 parentheses, ...) returns InvalidParameterException.
  static Result<FilterPattern> Parse(std::string_view pattern);

  // True when `message` (one log event's text) matches. Thread-safe and allocation-free in the
  // steady state (numbers over 15 digits excepted): JSON patterns use a thread_local simdjson
  // On-Demand parser and a padded copy buffer, and reject at once a message that does not
  // start with '{' and end with '}' (blanks aside).
  bool Matches(std::string_view message) const;

  // Byte strings that occur in every event this pattern matches; the log store uses them to
  // skip whole blocks. Sound but not complete: `ERROR -Exiting` -> {"ERROR"}, `?a ?b` -> {}.
  // For JSON patterns only the quoted keys of selectors that must exist (`"status"`) and the
  // literal tokens of IS TRUE/FALSE/NULL are claimed: keys are matched byte-for-byte against
  // the raw JSON (simdjson does not unescape keys, see JsonKeysMatchRawBytes), while values may
  // be escaped (`\/`, \u00xx) or spelled differently (5E2), so no value text is claimed.
  // Thread-safe; returns a copy (computed once by Parse).
  std::vector<std::string> RequiredSubstrings() const;

  // Whether some event described by `facts` could match: false only when no event with those
  // facts can (sound, never complete). Used by the log store to skip whole clusters of a
  // block without decompressing them. Evaluated in three-valued (Kleene) logic:
  // - a JSON comparison on a top-level selector (`$.status`, not `$.a.b` or `$.a[0]`) whose key
  //   is a dimension of the cluster is decided on the known value with exactly Matches'
  //   semantics (typed comparisons, wildcards, a missing field makes every comparison false
  //   including !=, IS NULL / NOT EXISTS); every other comparison is "unknown";
  // - && and || combine true/false/unknown; the answer is false only when definitely false;
  // - and any pattern is ruled out when one of its RequiredSubstrings() has a digit-free
  //   trigram missing from the cluster's trigram bitmap (likewise when every `?term` is).
  // Thread-safe.
  bool MayMatch(const ClusterFacts& facts) const;
  // The two halves of MayMatch: MayMatch(f) == MayMatchTrigrams(f) && MayMatchDims(f). The
  // second depends only on `facts.dims`, so a caller may cache it by the dimension values.
  bool MayMatchTrigrams(const ClusterFacts& facts) const;
  bool MayMatchDims(const ClusterFacts& facts) const;
  // Whether MayMatchDims can ever be false (a JSON pattern): callers need no cache otherwise.
  bool UsesDims() const;

  // True when every event matches (empty pattern, `""`, `[...]`); callers may skip Matches().
  bool MatchesEverything() const;

  struct Impl;  // defined in filter_pattern.cc

 private:
  explicit FilterPattern(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  // Immutable once parsed, so copies share it and any thread may call Matches().
  std::shared_ptr<const Impl> impl_;
};

}  // namespace berth::logs
