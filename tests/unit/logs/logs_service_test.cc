#include "logs/logs_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <map>

#include "fakes/fake_clock.h"

namespace berth::logs {

namespace {

constexpr int64_t kHour = 3600 * 1000;

class LogsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/berth-logs-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
    ASSERT_TRUE(logs_->CreateLogGroup("/app", "", {}).ok());
    ASSERT_TRUE(logs_->CreateLogStream("/app", "s").ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Reopen() {
    logs_ = std::make_unique<LogsService>(*db_, clock_, dir_, "us-east-1", "123");
    ASSERT_TRUE(logs_->Open().ok());
  }
  std::vector<std::string> Messages(bool from_head = true) {
    GetEventsRequest req{"/app", "s"};
    req.start_from_head = from_head;
    auto r = logs_->GetLogEvents(req);
    EXPECT_TRUE(r.ok());
    std::vector<std::string> out;
    for (const auto& e : r->events) {
      out.push_back(e.message);
    }
    return out;
  }

  std::string dir_;
  testing::FakeClock clock_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<LogsService> logs_;
};

}  // namespace

TEST_F(LogsServiceTest, BatchRules) {
  int64_t now = clock_.NowMillis();
  EXPECT_EQ(logs_->PutLogEvents("/app", "s", {}).error().aws_code, "InvalidParameterException");
  EXPECT_FALSE(logs_->PutLogEvents("/app", "s", {{now, "b"}, {now - 1, "a"}}).ok());
  EXPECT_FALSE(logs_->PutLogEvents("/app", "s", {{now - 25 * kHour, "a"}, {now, "b"}}).ok());
  EXPECT_FALSE(logs_->PutLogEvents("/app", "s", {{now, ""}}).ok());
  std::vector<InputEvent> too_many(10001, {now, "x"});
  EXPECT_FALSE(logs_->PutLogEvents("/app", "s", too_many).ok());
  std::vector<InputEvent> too_big(5, {now, std::string(250000, 'x')});
  EXPECT_FALSE(logs_->PutLogEvents("/app", "s", too_big).ok());
  EXPECT_TRUE(Messages().empty());
  EXPECT_EQ(logs_->PutLogEvents("/nope", "s", {{now, "a"}}).error().aws_code,
            "ResourceNotFoundException");
}

TEST_F(LogsServiceTest, RejectedEventsAreReported) {
  int64_t now = clock_.NowMillis();
  auto r = logs_->PutLogEvents("/app", "s", {{now - 14 * 24 * kHour - 1, "old"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->too_old_end, 0);
  r = logs_->PutLogEvents("/app", "s", {{now, "ok"}, {now + 3 * kHour, "new1"}, {now + 4 * kHour, "new2"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->too_new_start, 1);
  ASSERT_TRUE(logs_->PutRetentionPolicy("/app", 1).ok());
  r = logs_->PutLogEvents("/app", "s", {{now - 25 * kHour, "expired"}, {now - 3 * kHour, "kept"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->expired_end, 0);
  EXPECT_EQ(Messages(), (std::vector<std::string>{"kept", "ok"}));
}

TEST_F(LogsServiceTest, GetLogEventsTokensPageBothWays) {
  int64_t now = clock_.NowMillis();
  std::vector<InputEvent> events;
  for (int i = 0; i < 7; ++i) {
    events.push_back({now + i, "e" + std::to_string(i)});
  }
  ASSERT_TRUE(logs_->PutLogEvents("/app", "s", events).ok());
  GetEventsRequest req{"/app", "s"};
  req.limit = 3;
  auto last = logs_->GetLogEvents(req);  // not from head: the newest three
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->events.front().message, "e4");
  req.next_token = last->next_backward_token;
  auto before = logs_->GetLogEvents(req);
  EXPECT_EQ(before->events.front().message, "e1");
  req.next_token = last->next_forward_token;
  auto after = logs_->GetLogEvents(req);
  EXPECT_TRUE(after->events.empty());
  EXPECT_EQ(after->next_forward_token, last->next_forward_token);  // the end repeats the token
  req.next_token = "garbage";
  EXPECT_EQ(logs_->GetLogEvents(req).error().aws_code, "InvalidParameterException");
}

TEST_F(LogsServiceTest, FilterAcrossStreamsPagesAndSurvivesReopen) {
  int64_t now = clock_.NowMillis();
  ASSERT_TRUE(logs_->CreateLogStream("/app", "t").ok());
  ASSERT_TRUE(logs_->PutLogEvents("/app", "s", {{now + 1, "s1 ERROR"}, {now + 3, "s3"}}).ok());
  ASSERT_TRUE(logs_->PutLogEvents("/app", "t", {{now + 2, "t2 ERROR"}}).ok());
  Reopen();
  FilterEventsRequest req{"/app"};
  auto all = logs_->FilterLogEvents(req);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->events.size(), 3u);  // in write order, interleaved across streams
  EXPECT_EQ(all->events[2].message, "t2 ERROR");
  EXPECT_EQ(all->events[2].stream, "t");
  req.filter_pattern = "ERROR";
  req.limit = 1;
  auto page = logs_->FilterLogEvents(req);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].message, "s1 ERROR");
  req.next_token = page->next_token;
  auto rest = logs_->FilterLogEvents(req);
  ASSERT_EQ(rest->events.size(), 1u);
  EXPECT_EQ(rest->events[0].message, "t2 ERROR");
  // A full page cannot know whether more follow (CloudWatch behaves the same): the token then
  // leads to an empty last page without a token.
  req.next_token = rest->next_token;
  auto last = logs_->FilterLogEvents(req);
  EXPECT_TRUE(last->events.empty());
  EXPECT_TRUE(last->next_token.empty());
  EXPECT_NE(page->events[0].event_id, rest->events[0].event_id);
  req.next_token = "12_x";
  EXPECT_EQ(logs_->FilterLogEvents(req).error().aws_code, "InvalidParameterException");
}

// Handed to a sink in batches, a page holds the same events, in the same order, with the same
// ids and token, as returned whole; the result's own list stays empty.
TEST_F(LogsServiceTest, FilterIntoASinkGivesTheSamePageInBatches) {
  int64_t now = clock_.NowMillis();
  for (int b = 0; b < 3; ++b) {
    std::vector<InputEvent> batch;
    for (int i = 0; i < 700; ++i) {
      batch.push_back({now + b * 1000 + i, (i % 3 == 0 ? "ERROR " : "ok ") + std::to_string(i)});
    }
    ASSERT_TRUE(logs_->PutLogEvents("/app", "s", batch).ok());
  }
  FilterEventsRequest req{"/app"};
  req.filter_pattern = "ERROR";
  req.limit = 600;
  size_t total = 0;
  for (int page = 0; page < 2; ++page) {
    auto whole = logs_->FilterLogEvents(req);
    ASSERT_TRUE(whole.ok());
    std::vector<OutputEvent> streamed;
    int batches = 0;
    auto summary = logs_->FilterLogEvents(req, [&](std::vector<OutputEvent>&& batch) {
      ++batches;
      EXPECT_FALSE(batch.empty());
      streamed.insert(streamed.end(), batch.begin(), batch.end());
    });
    ASSERT_TRUE(summary.ok());
    EXPECT_TRUE(summary->events.empty());
    EXPECT_GE(batches, page == 0 ? 2 : 1);  // a 600-event page comes in more than one batch
    ASSERT_EQ(streamed.size(), whole->events.size()) << page;
    for (size_t i = 0; i < streamed.size(); ++i) {
      EXPECT_EQ(streamed[i].message, whole->events[i].message);
      EXPECT_EQ(streamed[i].event_id, whole->events[i].event_id);
      EXPECT_EQ(streamed[i].stream, whole->events[i].stream);
    }
    EXPECT_EQ(summary->next_token, whole->next_token);
    total += streamed.size();
    req.next_token = whole->next_token;
  }
  EXPECT_EQ(total, 702u);  // 234 ERRORs a batch: a page of 600, then 102 and the end
  EXPECT_EQ(req.next_token, "");
}

TEST_F(LogsServiceTest, ReadsOfOneStreamSkipOtherStreamsBlocks) {
  int64_t now = clock_.NowMillis();
  ASSERT_TRUE(logs_->CreateLogStream("/app", "busy").ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(logs_->PutLogEvents("/app", "busy", {{now + i, "noise"}}).ok());
  }
  ASSERT_TRUE(logs_->PutLogEvents("/app", "s", {{now, "mine"}}).ok());
  Reopen();  // the stream tables must come back from disk too
  uint64_t before = logs_->BlocksRead();
  EXPECT_EQ(Messages(), std::vector<std::string>{"mine"});
  EXPECT_EQ(logs_->BlocksRead() - before, 1u);
  FilterEventsRequest req{"/app"};
  req.stream_names = {"s"};
  before = logs_->BlocksRead();
  auto r = logs_->FilterLogEvents(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_EQ(logs_->BlocksRead() - before, 1u);
}

TEST_F(LogsServiceTest, DeleteGroupRemovesItsFiles) {
  ASSERT_TRUE(logs_->PutLogEvents("/app", "s", {{clock_.NowMillis(), "x"}}).ok());
  ASSERT_TRUE(logs_->DeleteLogGroup("/app").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/1"));
  EXPECT_TRUE(logs_->CreateLogGroup("/app", "", {}).ok());
  EXPECT_EQ(logs_->DescribeLogStreams("/app", "", "LogStreamName", false, "", 50)->items.size(), 0u);
}

}  // namespace berth::logs

namespace berth::logs {
namespace {

// `stats count(*) by bin(…)` is answered from the cluster tables where a block's clusters each
// fit in one bin, and by decoding where they straddle one: the counts must be exact either way.
TEST_F(LogsServiceTest, CountingQueriesMatchAnIndependentCountAcrossBinEdges) {
  const int64_t now = clock_.NowMillis();
  const int64_t start = now - 2 * kHour;
  std::map<int64_t, int> expected;  // bin start (ms) -> events
  int64_t ts = start;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<InputEvent> events;
    for (int i = 0; i < 250; ++i) {
      ts += 97 + (i % 7) * 13;  // batches of ~30 s: some straddle a minute, most do not
      std::string status = i % 50 == 0 ? "500" : "200";
      events.push_back({ts, "{\"status\":" + status + ",\"path\":\"/x/" + std::to_string(i) + "\"}"});
      expected[ts / 60000 * 60000] += 1;
    }
    ASSERT_TRUE(logs_->PutLogEvents("/app", "s", std::move(events)).ok());
  }
  auto id = logs_->StartQuery({"/app"}, start / 1000 - 60, now / 1000 + 60,
                              "stats count(*) by bin(1m)", 0);
  ASSERT_TRUE(id.ok());
  Result<QueryInfo> info = logs_->GetQueryResults(*id);
  for (int i = 0; i < 500 && info.ok() && info->status == "Running"; ++i) {
    usleep(10000);
    info = logs_->GetQueryResults(*id);
  }
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->status, "Complete");
  EXPECT_EQ(info->records_scanned, 40 * 250);
  ASSERT_EQ(info->results.size(), expected.size());
  int total = 0;
  for (const auto& row : info->results) {
    ASSERT_EQ(row.size(), 2u);
    total += std::stoi(row[1].second);
  }
  EXPECT_EQ(total, 40 * 250);
  // Every bin's count, by its rendered start time.
  std::map<std::string, int> by_bin;
  for (const auto& row : info->results) {
    by_bin[row[0].second] = std::stoi(row[1].second);
  }
  std::map<std::string, int> want;
  for (const auto& [bin, n] : expected) {
    std::time_t secs = bin / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S.000", &tm);  // as Insights renders it
    want[buf] = n;
  }
  EXPECT_EQ(by_bin, want);
}

}  // namespace
}  // namespace berth::logs
