#pragma once
// CloudWatch Logs Insights query engine (the Logs Insights QL subset people actually write).
//
// A pure library: the logs service parses a StartQuery queryString once with Query::Parse, then
// feeds the events of the queried log groups and time range into an Execution and reads the
// GetQueryResults rows from Results(). Nothing here touches storage, clocks or threads.
//
// Supported syntax (commands separated by `|`, `#` starts a comment to the end of the line):
//   fields a, b as c, concat(a, "-", b) as d, strlen(@message) as n, duration * 1000 as us
//   filter / where   = != < <= > >=, and/or/not, ( ), like "substr", like /re/, =~ /re/,
//                    not like, in [a, b], not in [...], ispresent(f), isempty(f), isblank(f)
//   stats count(*), count(f), sum(f), avg(f), min(f), max(f), pct(f, 95), count_distinct(f)
//         [as name], ... [by f1, bin(5m) [as name], ...]       (one stats command per query)
//   sort f [asc|desc], ...     (desc when the direction is omitted)
//   limit N                    parse [field] "glob * [*] *" as a, b, c    parse f /(?<n>re)/
//   display a, b               dedup a, b
// Scalar functions: concat strlen toupper tolower trim ltrim rtrim strcontains coalesce
// abs ceil floor ispresent isempty isblank bin; arithmetic + - * / %. Regexes are ECMAScript
// (std::regex) with a leading `(?i)` for case-insensitive matching and `(?<name>...)` groups.
//
// Fields: @timestamp, @message, @logStream, @log and @ingestionTime are built in; any other
// name is looked up in the event's JSON (when @message is a JSON object), nested keys joined with
// dots (`request.path`) and array elements by index (`tags.0`), the way Insights discovers
// fields in JSON logs. Names with other characters go in backticks: `x-request-id`.
//
// Behaviour copied from AWS (each has a test of the same name in insights_test.cc):
// - Without `limit`, at most 10,000 rows are returned (DefaultLimit).
// - Without stats and without sort, events come newest first (DefaultSortTimestampDesc).
// - Values are strings: numbers as the event wrote them (JSON) or in shortest round-trip form
//   (computed), timestamps as "2026-11-26 19:07:50.123" UTC; absent fields are left out of the
//   row rather than shown empty (AbsentFieldsOmitted).
// - sort uses AWS's natural order: non-numeric values before numeric ones ascending, digit runs
//   compared by length then value (SortNaturalOrder).
// - A glob parse that does not match leaves the event in the results without the extracted
//   fields (ParseNoMatchKeepsEvent).
// Choices berth made where the documentation is silent are listed in insights.cc's comment.
//
// A malformed query is InvalidArgument "MalformedQueryException" with "line L, position P".
// Thread-safety: a Query is immutable and may be shared across threads once parsed; an
// Execution is single-threaded.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace berth::logs::insights {

// One log event as the store hands it over. The views must stay valid only for the duration of
// Execution::Add. `log_group` is the value of @log as Insights shows it, "ACCOUNT:GROUPNAME";
// the caller formats it.
struct Event {
  int64_t timestamp_ms;
  int64_t ingestion_ms;
  std::string_view message;
  std::string_view log_stream;
  std::string_view log_group;
};

// One result row: (field, value) pairs in display order, as GetQueryResults returns them.
using Row = std::vector<std::pair<std::string, std::string>>;

// GetQueryResults' statistics. records_scanned counts every Add, bytes_scanned the bytes of
// their messages, records_matched the events that passed every filter before stats.
struct Statistics {
  double records_matched = 0, records_scanned = 0, bytes_scanned = 0;
};

struct Plan;  // the parsed query; defined in insights.cc

class Query {
 public:
  // Parses a Logs Insights QL query string. Fails with MalformedQueryException naming the line
  // and position of the first problem, including syntax berth does not support.
  static Result<Query> Parse(std::string_view text);

  // Pushdown hint: literal substrings that every event able to pass the query's FIRST filter
  // must contain in @message (case-sensitive). Empty when nothing is known; the caller may use
  // it to skip blocks and must still Add the events it does not skip.
  std::vector<std::string> RequiredSubstrings() const;

  // Pushdown: true when the query only counts events by time — `stats count(*)`, optionally
  // `by bin(P)`, with nothing before stats (no fields, parse or filter) — so that what it
  // needs of a group of events whose timestamps share one bin is how many there are.
  // `*bin_ms` is P, or 0 without `by bin`. The caller may then use Execution::AddCount.
  bool CountsByTimeBin(int64_t* bin_ms) const;

 private:
  friend class Execution;
  explicit Query(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  std::shared_ptr<const Plan> plan_;  // immutable; shared with every Execution of this query
};

// One run of a Query over a stream of events, fed in any order. Keeps the query's plan alive
// itself, so the Query may be destroyed first. Memory: stats queries keep one entry per group
// (plus every value for pct and count_distinct); other queries keep at most `limit` rows
// (all matching rows when the query uses dedup).
class Execution {
 public:
  explicit Execution(const Query& q);
  ~Execution();
  Execution(Execution&&) noexcept;
  Execution& operator=(Execution&&) noexcept;
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  // Runs one event through the query. Parses the event's JSON at most once, and only when the
  // query needs a field that is not built in.
  void Add(const Event& e);
  // Adds `count` events whose timestamps all fall in the bin of `timestamp_ms` and whose
  // messages total `message_bytes`, as `count` Adds would. REQUIRES: the query's
  // CountsByTimeBin() is true.
  void AddCount(int64_t timestamp_ms, uint64_t count, uint64_t message_bytes);

  // The result rows after all Adds. May be called more than once; Add may continue afterwards.
  std::vector<Row> Results() const;

  const Statistics& statistics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::logs::insights
