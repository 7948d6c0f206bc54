#include "logs/insights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

// Syntax and behaviour come from AWS's "CloudWatch Logs Insights language query syntax" pages
// (CWL_QuerySyntax*.html: fields, filter, stats, sort, limit, parse, display, dedup). Expected
// values in the execution tests are computed from the test table itself, not by the engine.

namespace berth::logs::insights {
namespace {

constexpr int64_t kBase = 1795719600000;  // 2026-11-26 19:00:00.000 UTC

// ---------------------------------------------------------------------------------------------
// Parser

TEST(InsightsParse, AcceptsEachCommand) {
  const char* queries[] = {
      "fields @timestamp, @message",
      "fields @timestamp, @message | sort @timestamp desc | limit 20",
      "fields concat(method, \" \", path) as line, strlen(@message) as n, duration * 1000 as us",
      "fields toupper(method) as m, `x-request-id`, request.path",
      "filter status >= 500 and (path like \"/api\" or not ispresent(user))",
      "filter @message like /ERROR/ | filter @message =~ /(?i)timeout/",
      "filter status in [500, 503] | filter method not in [\"GET\"]",
      "filter path not like \"/health\"",
      "where status != 200",
      "stats count(*) by path",
      "stats count(*), count(user), sum(bytes), avg(duration), min(duration), max(duration), "
      "pct(duration, 95), count_distinct(path) as paths by status, bin(5m)",
      "stats count(*) as n by bin(1h) as hour | sort n desc | limit 3",
      "parse @message \"* [*] *\" as a, b, c | display a, c",
      "parse \"user=*\" as user",
      "parse @message /(?<level>[A-Z]+)\\] (?<text>.*)/ | display level",
      "fields @message | dedup @logStream",
      "# a comment line\nfields @message # trailing comment\n| limit 5",
      "FIELDS @message | SORT @timestamp ASC",
  };
  for (const char* q : queries) {
    auto r = Query::Parse(q);
    EXPECT_TRUE(r.ok()) << q << ": " << (r.ok() ? "" : r.error().message);
  }
}

TEST(InsightsParse, MalformedQueries) {
  const char* queries[] = {
      "",
      "   # only a comment",
      "fields",
      "fields a b",
      "fields a |",
      "| fields a",
      "filter",
      "filter status >=",
      "filter (status = 1",
      "filter a = \"unterminated",
      "filter @message like /unterminated",
      "filter @message like 5",
      "filter status in [500, 503",
      "filter status in 500",
      "filter @message like /(/",
      "stats",
      "stats count(",
      "stats frobnicate(x)",
      "stats pct(duration)",
      "stats count(*) by bin(5q)",
      "stats count(*) | stats count(*)",
      "stats count(*) | parse @message \"*\" as a",
      "sort",
      "limit",
      "limit 0",
      "limit abc",
      "limit 1.5",
      "parse @message \"* *\" as a",
      "parse @message \"*\"",
      "parse @message /no named groups/",
      "select * from logs",
      "fields count(*)",
      "fields nosuchfunction(a)",
      "fields `unterminated",
      "filter a ! b",
      "limit 5 | stats count(*)",
  };
  for (const char* q : queries) {
    auto r = Query::Parse(q);
    ASSERT_FALSE(r.ok()) << "accepted: " << q;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << q;
    EXPECT_EQ(r.error().aws_code, "MalformedQueryException") << q;
    EXPECT_NE(r.error().message.find("line "), std::string::npos) << r.error().message;
  }
}

TEST(InsightsParse, ErrorNamesLineAndPosition) {
  auto r = Query::Parse("fields @message\n| bogus x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 2, position 3"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("bogus"), std::string::npos) << r.error().message;
}

TEST(InsightsParse, RequiredSubstrings) {
  auto subs = [](const char* q) {
    auto r = Query::Parse(q);
    EXPECT_TRUE(r.ok()) << q;
    return r.ok() ? r->RequiredSubstrings() : std::vector<std::string>{};
  };
  EXPECT_EQ(subs("filter @message like /ERROR/"), std::vector<std::string>{"ERROR"});
  EXPECT_EQ(subs("fields a | filter @message like \"x y\" and status = 5"),
            std::vector<std::string>{"x y"});
  EXPECT_EQ(subs("filter @message like /a/ and @message like \"b\""),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(subs("filter @message like /a/ or @message like /b/").empty());
  EXPECT_TRUE(subs("filter @message like /(?i)error/").empty());
  EXPECT_TRUE(subs("filter @message like /ERR.R/").empty());
  EXPECT_TRUE(subs("filter @message not like \"x\"").empty());
  EXPECT_TRUE(subs("filter path like \"/api\"").empty());
  EXPECT_TRUE(subs("stats count(*) by bin(5m)").empty());
  // Only the first filter counts.
  EXPECT_TRUE(subs("filter status = 1 | filter @message like \"x\"").empty());
  // @message redefined before the filter.
  EXPECT_TRUE(subs("fields concat(\"a\", \"b\") as @message | filter @message like \"x\"").empty());
}

// ---------------------------------------------------------------------------------------------
// Execution over a table of lograge-style JSON events and plain-text events.

struct TestEvent {
  int64_t ts;
  bool json;
  std::string method, path;
  int status = 0;
  double duration = 0;
  std::string level, text;  // plain-text events
  std::string message;
  std::string stream;
};

std::string FormatDuration(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

std::vector<TestEvent> MakeTable() {
  const char* paths[] = {"/api/users", "/api/orders", "/health", "/api/users/1"};
  const int statuses[] = {200, 200, 404, 500, 503, 200, 201};
  const char* methods[] = {"GET", "POST", "GET"};
  std::vector<TestEvent> table;
  for (int i = 0; i < 40; ++i) {
    TestEvent e;
    e.ts = kBase + i * 37000 + i % 3;
    e.stream = i % 2 ? "web/1" : "web/2";
    if (i % 4 == 3) {
      e.json = false;
      e.level = i % 8 == 3 ? "ERROR" : "INFO";
      e.text = e.level == "ERROR" ? "payment failed id=" + std::to_string(i)
                                  : "request served id=" + std::to_string(i);
      e.message = "2026-11-26T19:00:" + std::to_string(10 + i) + "Z [" + e.level + "] " + e.text;
    } else {
      e.json = true;
      e.method = methods[i % 3];
      e.path = paths[i % 4];
      e.status = statuses[i % 7];
      e.duration = 5 + i * 1.5;
      e.message = "{\"method\":\"" + e.method + "\",\"path\":\"" + e.path +
                  "\",\"status\":" + std::to_string(e.status) +
                  ",\"duration\":" + FormatDuration(e.duration) + "}";
    }
    table.push_back(e);
  }
  return table;
}

struct RunResult {
  std::vector<Row> rows;
  Statistics stats;
};

RunResult RunQuery(const std::string& query, const std::vector<TestEvent>& table) {
  auto q = Query::Parse(query);
  EXPECT_TRUE(q.ok()) << query << ": " << (q.ok() ? "" : q.error().message);
  if (!q.ok()) {
    return {};
  }
  Execution ex(*q);
  // Feed out of order: events may arrive in any order.
  for (size_t k = 0; k < table.size(); ++k) {
    size_t i = (k * 7) % table.size();  // 7 is coprime with 40
    const TestEvent& e = table[i];
    ex.Add(Event{e.ts, e.ts + 500, e.message, e.stream, "123456789012:/ecs/web"});
  }
  return {ex.Results(), ex.statistics()};
}

std::optional<std::string> Get(const Row& row, const std::string& field) {
  for (const auto& [k, v] : row) {
    if (k == field) {
      return v;
    }
  }
  return std::nullopt;
}

std::string Ts(int64_t ms) {
  int64_t in_day = ms - kBase + 19 * 3600000LL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-11-26 %02d:%02d:%02d.%03d", static_cast<int>(in_day / 3600000),
                static_cast<int>(in_day / 60000 % 60), static_cast<int>(in_day / 1000 % 60),
                static_cast<int>(in_day % 1000));
  return buf;
}

TEST(InsightsParse, CountsByTimeBin) {
  auto counts = [](const char* q, int64_t* bin) {
    auto r = Query::Parse(q);
    EXPECT_TRUE(r.ok()) << q;
    return r.ok() && r->CountsByTimeBin(bin);
  };
  int64_t bin = -1;
  EXPECT_TRUE(counts("stats count(*) by bin(5m)", &bin));
  EXPECT_EQ(bin, 5 * 60 * 1000);
  EXPECT_TRUE(counts("stats count(*) as n, count(*) as m by bin(1h) | sort n desc | limit 3", &bin));
  EXPECT_EQ(bin, 3600 * 1000);
  EXPECT_TRUE(counts("stats count(*)", &bin));
  EXPECT_EQ(bin, 0);
  EXPECT_FALSE(counts("filter status >= 500 | stats count(*) by bin(5m)", &bin));
  EXPECT_FALSE(counts("stats count(*) by bin(5m), status", &bin));
  EXPECT_FALSE(counts("stats count(status) by bin(5m)", &bin));
  EXPECT_FALSE(counts("stats count(*) by status", &bin));
  EXPECT_FALSE(counts("fields @timestamp", &bin));
  EXPECT_FALSE(counts("parse @message \"* *\" as a, b | stats count(*) by bin(5m)", &bin));
}

TEST(InsightsExec, AddCountGivesWhatTheSameAddsGive) {
  auto table = MakeTable();
  for (const char* query : {"stats count(*) by bin(1m)", "stats count(*) as n by bin(30s)",
                            "stats count(*)"}) {
    RunResult one_by_one = RunQuery(query, table);
    auto q = Query::Parse(query);
    ASSERT_TRUE(q.ok());
    int64_t bin = 0;
    ASSERT_TRUE(q->CountsByTimeBin(&bin)) << query;
    Execution ex(*q);
    // Group the events by bin, as the log store does with clusters whose times share a bin.
    std::map<int64_t, std::pair<uint64_t, uint64_t>> by_bin;
    for (const TestEvent& e : table) {
      int64_t key = bin == 0 ? 0 : e.ts / bin;
      by_bin[key].first += 1;
      by_bin[key].second += e.message.size();
    }
    for (const auto& [key, count_bytes] : by_bin) {
      ex.AddCount(key * bin, count_bytes.first, count_bytes.second);
    }
    EXPECT_EQ(ex.Results(), one_by_one.rows) << query;
    EXPECT_EQ(ex.statistics().records_scanned, one_by_one.stats.records_scanned);
    EXPECT_EQ(ex.statistics().records_matched, one_by_one.stats.records_matched);
    EXPECT_EQ(ex.statistics().bytes_scanned, one_by_one.stats.bytes_scanned);
  }
}

TEST(InsightsExec, FieldsSortLimit) {
  auto table = MakeTable();
  auto res = RunQuery("fields @timestamp, @message | sort @timestamp desc | limit 20", table);
  ASSERT_EQ(res.rows.size(), 20u);
  std::vector<TestEvent> sorted = table;
  std::sort(sorted.begin(), sorted.end(),
            [](const TestEvent& a, const TestEvent& b) { return a.ts > b.ts; });
  for (size_t i = 0; i < 20; ++i) {
    ASSERT_EQ(res.rows[i].size(), 2u);
    EXPECT_EQ(res.rows[i][0].first, "@timestamp");
    EXPECT_EQ(res.rows[i][0].second, Ts(sorted[i].ts));
    EXPECT_EQ(res.rows[i][1].first, "@message");
    EXPECT_EQ(res.rows[i][1].second, sorted[i].message);
  }
  EXPECT_EQ(res.stats.records_scanned, 40);
  EXPECT_EQ(res.stats.records_matched, 40);
}

TEST(InsightsExec, TimestampFormat) {
  auto q = Query::Parse("fields @timestamp, @ingestionTime, @log, @logStream");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  // 2026-11-26 19:07:50.123
  ex.Add(Event{kBase + 7 * 60000 + 50123, kBase + 8 * 60000, "hello", "s1", "111:/g"});
  auto rows = ex.Results();
  ASSERT_EQ(rows.size(), 1u);
  Row want = {{"@timestamp", "2026-11-26 19:07:50.123"},
              {"@ingestionTime", "2026-11-26 19:08:00.000"},
              {"@log", "111:/g"},
              {"@logStream", "s1"}};
  EXPECT_EQ(rows[0], want);
}

TEST(InsightsExec, DefaultSortTimestampDesc) {
  auto table = MakeTable();
  auto res = RunQuery("filter @message like /ERROR/", table);
  std::vector<int64_t> want;
  for (const auto& e : table) {
    if (e.message.find("ERROR") != std::string::npos) {
      want.push_back(e.ts);
    }
  }
  std::sort(want.rbegin(), want.rend());
  ASSERT_EQ(res.rows.size(), want.size());
  ASSERT_FALSE(want.empty());
  for (size_t i = 0; i < want.size(); ++i) {
    // Without fields or display, rows carry @timestamp and @message.
    EXPECT_EQ(Get(res.rows[i], "@timestamp"), Ts(want[i]));
    EXPECT_TRUE(Get(res.rows[i], "@message").has_value());
  }
  EXPECT_EQ(res.stats.records_matched, static_cast<double>(want.size()));
}

TEST(InsightsExec, DefaultLimit) {
  auto q = Query::Parse("fields @message");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  for (int i = 0; i < 10500; ++i) {
    ex.Add(Event{kBase + i, kBase + i, "m", "s", "g"});
  }
  auto rows = ex.Results();
  EXPECT_EQ(rows.size(), 10000u);
  // Stats output is capped at 10,000 too.
  auto sq = Query::Parse("stats count(*) by @timestamp");
  ASSERT_TRUE(sq.ok());
  Execution sx(*sq);
  for (int i = 0; i < 10500; ++i) {
    sx.Add(Event{kBase + i, kBase + i, "m", "s", "g"});
  }
  EXPECT_EQ(sx.Results().size(), 10000u);
}

TEST(InsightsExec, FilterStatusStatsCountByPath) {
  auto table = MakeTable();
  auto res = RunQuery("filter status >= 500 | stats count(*) by path", table);
  std::map<std::string, int> want;
  for (const auto& e : table) {
    if (e.json && e.status >= 500) {
      want[e.path]++;
    }
  }
  ASSERT_EQ(res.rows.size(), want.size());
  for (const Row& row : res.rows) {
    ASSERT_EQ(row.size(), 2u);
    EXPECT_EQ(row[0].first, "path");
    EXPECT_EQ(row[1].first, "count(*)");
    EXPECT_EQ(row[1].second, std::to_string(want[row[0].second])) << row[0].second;
  }
  int total = 0;
  for (const auto& [p, n] : want) {
    total += n;
  }
  EXPECT_EQ(res.stats.records_matched, total);
}

TEST(InsightsExec, StatsCountByBin5m) {
  auto table = MakeTable();
  auto res = RunQuery("stats count(*) by bin(5m)", table);
  std::map<int64_t, int> want;
  for (const auto& e : table) {
    want[(e.ts - kBase) / 300000]++;
  }
  ASSERT_EQ(res.rows.size(), want.size());
  size_t i = 0;
  for (const auto& [bin, n] : want) {  // ascending, as berth orders stats rows
    char label[40];
    std::snprintf(label, sizeof label, "2026-11-26 19:%02d:00.000", static_cast<int>(bin * 5));
    Row expect = {{"bin(5m)", label}, {"count(*)", std::to_string(n)}};
    EXPECT_EQ(res.rows[i++], expect);
  }
}

TEST(InsightsExec, StatsAvgPctMaxByStatus) {
  auto table = MakeTable();
  auto res = RunQuery("stats avg(duration), pct(duration, 95), max(duration) by status", table);
  std::map<int, std::vector<double>> by_status;
  for (const auto& e : table) {
    if (e.json) {
      by_status[e.status].push_back(e.duration);
    }
  }
  // Plain-text events have no status: they form one group whose row has no status and, having
  // no durations either, no aggregate values at all.
  ASSERT_EQ(res.rows.size(), by_status.size() + 1);
  EXPECT_TRUE(res.rows.back().empty());
  res.rows.pop_back();
  for (const Row& row : res.rows) {
    ASSERT_EQ(row.size(), 4u);
    EXPECT_EQ(row[0].first, "status");
    EXPECT_EQ(row[1].first, "avg(duration)");
    EXPECT_EQ(row[2].first, "pct(duration, 95)");
    EXPECT_EQ(row[3].first, "max(duration)");
    std::vector<double> v = by_status.at(std::stoi(row[0].second));
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double d : v) {
      sum += d;
    }
    EXPECT_NEAR(std::stod(row[1].second), sum / v.size(), 1e-9);
    size_t rank = static_cast<size_t>(std::ceil(0.95 * v.size()));  // nearest rank
    EXPECT_EQ(row[2].second, FormatDuration(v[rank - 1]));
    EXPECT_EQ(row[3].second, FormatDuration(v.back()));
  }
}

TEST(InsightsExec, ParseGlobDisplay) {
  auto table = MakeTable();
  auto res = RunQuery("parse @message \"* [*] *\" as a, b, c | display a, c", table);
  std::map<std::string, std::string> want;  // a -> c for plain-text events
  int json = 0;
  for (const auto& e : table) {
    if (e.json) {
      ++json;
    } else {
      want[e.message.substr(0, e.message.find(' '))] = e.text;
    }
  }
  ASSERT_EQ(res.rows.size(), table.size());  // ParseNoMatchKeepsEvent
  int empty = 0;
  std::map<std::string, std::string> got;
  for (const Row& row : res.rows) {
    if (row.empty()) {
      ++empty;
      continue;
    }
    ASSERT_EQ(row.size(), 2u);
    EXPECT_EQ(row[0].first, "a");
    EXPECT_EQ(row[1].first, "c");
    got[row[0].second] = row[1].second;
  }
  EXPECT_EQ(empty, json);
  EXPECT_EQ(got, want);
}

TEST(InsightsExec, ParseNoMatchKeepsEvent) {
  auto q = Query::Parse("parse @message \"user=*,\" as user | fields @message");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  ex.Add(Event{kBase + 1, 0, "x user=bob, y", "s", "g"});
  ex.Add(Event{kBase, 0, "no user here", "s", "g"});
  auto rows = ex.Results();
  ASSERT_EQ(rows.size(), 2u);
  // Columns follow the commands: parse's names first, then fields'.
  EXPECT_EQ(rows[0], (Row{{"user", "bob"}, {"@message", "x user=bob, y"}}));
  EXPECT_EQ(rows[1], (Row{{"@message", "no user here"}}));
}

TEST(InsightsExec, ParseRegexNamedGroups) {
  auto q = Query::Parse(
      "parse @message /\\[(?<level>[A-Z]+)\\] (?:payment|request) (?<what>\\w+)/ "
      "| stats count(*) by level, what");
  ASSERT_TRUE(q.ok()) << q.error().message;
  auto table = MakeTable();
  auto res = RunQuery("parse @message /\\[(?<level>[A-Z]+)\\] (?:payment|request) (?<what>\\w+)/ "
                 "| filter ispresent(level) | stats count(*) by level, what",
                 table);
  int errors = 0, infos = 0;
  for (const auto& e : table) {
    errors += !e.json && e.level == "ERROR";
    infos += !e.json && e.level == "INFO";
  }
  ASSERT_EQ(res.rows.size(), 2u);
  EXPECT_EQ(res.rows[0], (Row{{"level", "ERROR"}, {"what", "failed"},
                              {"count(*)", std::to_string(errors)}}));
  EXPECT_EQ(res.rows[1], (Row{{"level", "INFO"}, {"what", "served"},
                              {"count(*)", std::to_string(infos)}}));
}

int CountWhere(const std::vector<TestEvent>& table, bool (*pred)(const TestEvent&)) {
  int n = 0;
  for (const auto& e : table) {
    n += pred(e);
  }
  return n;
}

std::string CountOf(const RunResult& res) {
  if (res.rows.size() != 1) {
    return "rows=" + std::to_string(res.rows.size());
  }
  return Get(res.rows[0], "count(*)").value_or("missing");
}

TEST(InsightsExec, FilterLikeRegex) {
  auto table = MakeTable();
  int want = CountWhere(table, [](const TestEvent& e) {
    return e.message.find("ERROR") != std::string::npos;
  });
  EXPECT_GT(want, 0);
  EXPECT_EQ(CountOf(RunQuery("filter @message like /ERROR/ | stats count(*)", table)),
            std::to_string(want));
  EXPECT_EQ(CountOf(RunQuery("filter @message =~ /ERR[O]R/ | stats count(*)", table)),
            std::to_string(want));
  EXPECT_EQ(CountOf(RunQuery("filter @message like /(?i)error/ | stats count(*)", table)),
            std::to_string(want));
  EXPECT_EQ(CountOf(RunQuery("filter @message not like /ERROR/ | stats count(*)", table)),
            std::to_string(40 - want));
  // like is case-sensitive without (?i).
  EXPECT_EQ(RunQuery("filter @message like /error/", table).rows.size(), 0u);
}

TEST(InsightsExec, FilterLikeSubstring) {
  auto table = MakeTable();
  int want = CountWhere(table, [](const TestEvent& e) {
    return e.json && e.path.find("/api") != std::string::npos;
  });
  EXPECT_EQ(CountOf(RunQuery("filter path like \"/api\" | stats count(*)", table)),
            std::to_string(want));
  int users = CountWhere(table, [](const TestEvent& e) {
    return e.json && e.path.find("/api/users") != std::string::npos;
  });
  EXPECT_EQ(RunQuery("filter path like \"/api/users\"", table).rows.size(),
            static_cast<size_t>(users));
}

TEST(InsightsExec, FilterIn) {
  auto table = MakeTable();
  int want = CountWhere(table, [](const TestEvent& e) {
    return e.json && (e.status == 500 || e.status == 503);
  });
  EXPECT_GT(want, 0);
  EXPECT_EQ(CountOf(RunQuery("filter status in [500, 503] | stats count(*)", table)),
            std::to_string(want));
  int not_in = CountWhere(table, [](const TestEvent& e) {
    return e.json && e.status != 500 && e.status != 503;
  });
  EXPECT_EQ(CountOf(RunQuery("filter status not in [500, 503] | stats count(*)", table)),
            std::to_string(not_in));
  int get_post = CountWhere(table, [](const TestEvent& e) { return e.json; });
  EXPECT_EQ(CountOf(RunQuery("filter method in [\"GET\", \"POST\"] | stats count(*)", table)),
            std::to_string(get_post));
}

TEST(InsightsExec, BooleanLogic) {
  auto table = MakeTable();
  int want = CountWhere(table, [](const TestEvent& e) {
    return e.json && ((e.method == "GET" && e.status == 200) || e.duration > 60);
  });
  EXPECT_EQ(CountOf(RunQuery("filter (method = \"GET\" and status = 200) or duration > 60 "
                        "| stats count(*)",
                        table)),
            std::to_string(want));
  int plain = CountWhere(table, [](const TestEvent& e) { return !e.json; });
  EXPECT_EQ(CountOf(RunQuery("filter not ispresent(status) | stats count(*)", table)),
            std::to_string(plain));
}

TEST(InsightsExec, AbsentFieldComparisonsAreFalse) {
  auto table = MakeTable();
  int json_not_200 = CountWhere(table, [](const TestEvent& e) {
    return e.json && e.status != 200;
  });
  int plain = CountWhere(table, [](const TestEvent& e) { return !e.json; });
  EXPECT_EQ(CountOf(RunQuery("filter status != 200 | stats count(*)", table)),
            std::to_string(json_not_200));
  EXPECT_EQ(CountOf(RunQuery("filter not (status = 200) | stats count(*)", table)),
            std::to_string(json_not_200 + plain));
}

TEST(InsightsExec, FieldsExpressions) {
  auto q = Query::Parse(
      "fields concat(method, \" \", path) as line, strlen(path) as n, duration * 2 as d2, "
      "toupper(path) as up, status + 1 | limit 1");
  ASSERT_TRUE(q.ok()) << q.error().message;
  Execution ex(*q);
  ex.Add(Event{kBase, 0, R"({"method":"GET","path":"/api/x","status":200,"duration":1.25})",
               "s", "g"});
  auto rows = ex.Results();
  ASSERT_EQ(rows.size(), 1u);
  Row want = {{"line", "GET /api/x"}, {"n", "6"},  {"d2", "2.5"},
              {"up", "/API/X"},       {"status + 1", "201"}};
  EXPECT_EQ(rows[0], want);
}

TEST(InsightsExec, NestedJsonAndBackticks) {
  auto q = Query::Parse(
      "fields request.path, `request.headers.x-id`, tags.1, request, missing "
      "| filter request.code = 7");
  ASSERT_TRUE(q.ok()) << q.error().message;
  Execution ex(*q);
  ex.Add(Event{kBase, 0,
               R"({"request":{"path":"\/a\"b","code":7,"headers":{"x-id":"q1"}},"tags":["t0","t1"]})",
               "s", "g"});
  ex.Add(Event{kBase + 1, 0, R"({"request":{"path":"/other","code":8}})", "s", "g"});
  ex.Add(Event{kBase + 2, 0, "not json {", "s", "g"});
  ex.Add(Event{kBase + 3, 0, R"({"broken": )", "s", "g"});
  auto rows = ex.Results();
  ASSERT_EQ(rows.size(), 1u);
  // request is not displayed whole here because its nested fields are wanted as well.
  EXPECT_EQ(Get(rows[0], "request.path"), "/a\"b");
  EXPECT_EQ(Get(rows[0], "request.headers.x-id"), "q1");
  EXPECT_EQ(Get(rows[0], "tags.1"), "t1");
  EXPECT_FALSE(Get(rows[0], "missing").has_value());
}

TEST(InsightsExec, MalformedJsonIsIgnored) {
  auto q = Query::Parse("filter ispresent(status) | stats count(*) as n, max(status) as top");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  for (const char* msg : {R"({"status": )", R"([{"status":1}])", R"({"status":"5)", "{",
                          R"({"a":{"status":9}})", R"(  {"status":404})", R"({"status":500,)"}) {
    ex.Add(Event{kBase, 0, msg, "s", "g"});
  }
  // Damaged JSON yields no fields at all, arrays and nested objects no top-level status: only
  // the well-formed event counts.
  EXPECT_EQ(ex.Results(), (std::vector<Row>{{{"n", "1"}, {"top", "404"}}}));
}

TEST(InsightsExec, JsonObjectValueIsRawJson) {
  auto q = Query::Parse("fields request, ok");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  ex.Add(Event{kBase, 0, R"({"request":{"a":1},"ok":true,"n":null})", "s", "g"});
  auto rows = ex.Results();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (Row{{"request", "{\"a\":1}"}, {"ok", "true"}}));
}

TEST(InsightsExec, AbsentFieldsOmitted) {
  auto table = MakeTable();
  auto res = RunQuery("fields status, @logStream | limit 40", table);
  ASSERT_EQ(res.rows.size(), 40u);
  for (const Row& row : res.rows) {
    bool has_status = Get(row, "status").has_value();
    EXPECT_EQ(row.size(), has_status ? 2u : 1u);
  }
}

TEST(InsightsExec, StatsMoreAggregates) {
  auto table = MakeTable();
  auto res = RunQuery("stats count(*) as n, count(status) as with_status, sum(status) as total, "
                 "min(duration) as lo, count_distinct(path) as paths",
                 table);
  int with_status = 0;
  long total = 0;
  double lo = 1e9;
  std::set<std::string> paths;
  for (const auto& e : table) {
    if (e.json) {
      ++with_status;
      total += e.status;
      lo = std::min(lo, e.duration);
      paths.insert(e.path);
    }
  }
  ASSERT_EQ(res.rows.size(), 1u);
  Row want = {{"n", "40"},
              {"with_status", std::to_string(with_status)},
              {"total", std::to_string(total)},
              {"lo", FormatDuration(lo)},
              {"paths", std::to_string(paths.size())}};
  EXPECT_EQ(res.rows[0], want);
}

TEST(InsightsExec, StatsThenSortLimitFilter) {
  auto table = MakeTable();
  auto res = RunQuery("filter ispresent(path) | stats count(*) as n by path | filter n > 1 "
                 "| sort n desc | limit 2",
                 table);
  std::map<std::string, int> counts;
  for (const auto& e : table) {
    if (e.json) {
      counts[e.path]++;
    }
  }
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [p, n] : counts) {
    order.emplace_back(n, p);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  ASSERT_EQ(res.rows.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(Get(res.rows[i], "n"), std::to_string(order[i].first));
  }
  EXPECT_GE(std::stoi(*Get(res.rows[0], "n")), std::stoi(*Get(res.rows[1], "n")));
}

TEST(InsightsExec, SortNaturalOrder) {
  // AWS's example order for ascending sort (CWL_QuerySyntax-Sort).
  std::vector<std::string> want = {"!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@",
                                   "@_", "A", "A9876fghj", "a12345hfh", "0", "1", "2", "3"};
  auto q = Query::Parse("fields v | sort v asc");
  ASSERT_TRUE(q.ok());
  Execution ex(*q);
  std::vector<std::string> shuffled = want;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(), shuffled.begin() + 5, shuffled.end());
  for (size_t i = 0; i < shuffled.size(); ++i) {
    std::string msg = "{\"v\":\"" + shuffled[i] + "\"}";
    ex.Add(Event{kBase + static_cast<int64_t>(i), 0, msg, "s", "g"});
  }
  std::vector<std::string> got;
  for (const Row& row : ex.Results()) {
    got.push_back(Get(row, "v").value_or("?"));
  }
  EXPECT_EQ(got, want);
}

TEST(InsightsExec, SortDefaultsToDescAndKeepsTopN) {
  auto table = MakeTable();
  auto res = RunQuery("fields duration | sort duration | limit 3", table);
  std::vector<double> d;
  for (const auto& e : table) {
    if (e.json) {
      d.push_back(e.duration);
    }
  }
  std::sort(d.rbegin(), d.rend());
  ASSERT_EQ(res.rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Get(res.rows[i], "duration"), FormatDuration(d[i]));
  }
}

TEST(InsightsExec, Dedup) {
  auto table = MakeTable();
  auto res = RunQuery("filter ispresent(path) | fields path | dedup path", table);
  std::set<std::string> paths;
  for (const auto& e : table) {
    if (e.json) {
      paths.insert(e.path);
    }
  }
  ASSERT_EQ(res.rows.size(), paths.size());
  std::set<std::string> got;
  for (const Row& row : res.rows) {
    got.insert(*Get(row, "path"));
  }
  EXPECT_EQ(got, paths);
}

TEST(InsightsExec, ExecutionOutlivesQueryAndMoves) {
  std::optional<Execution> ex;
  {
    auto q = Query::Parse("stats count(*)");
    ASSERT_TRUE(q.ok());
    ex.emplace(*q);
  }
  ex->Add(Event{kBase, 0, "x", "s", "g"});
  Execution moved = std::move(*ex);
  moved.Add(Event{kBase, 0, "y", "s", "g"});
  EXPECT_EQ(moved.Results(), (std::vector<Row>{{{"count(*)", "2"}}}));
  EXPECT_EQ(moved.statistics().bytes_scanned, 2);
}

}  // namespace
}  // namespace berth::logs::insights
