#include "logs/log_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::logs {

namespace {

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/berth-logstore-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<LogEvent> Events(int n, int64_t ts0, const std::string& prefix) {
    std::vector<LogEvent> out;
    for (int i = 0; i < n; ++i) {
      out.push_back({7, ts0 + i, ts0 + i + 1, prefix + std::to_string(i)});
    }
    return out;
  }

  static std::vector<std::string> All(LogStore& store, int64_t from = 0, int64_t to = INT64_MAX) {
    std::vector<std::string> out;
    EXPECT_TRUE(store.Scan(1, from, to, [&](const LogEvent& e, uint64_t) {
      out.push_back(e.message);
      return true;
    }).ok());
    return out;
  }

  std::string dir_;
};

}  // namespace

TEST_F(LogStoreTest, BlockRoundTrip) {
  auto events = Events(3, 1000, "msg ");
  events[1].message = std::string(300000, 'x');  // larger than a 256 KiB event, still stored
  std::string block = EncodeBlock(events);
  auto back = DecodeBlock(block);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].message.size(), 300000u);
  EXPECT_EQ((*back)[2].timestamp_ms, 1002);
  EXPECT_EQ((*back)[2].ingestion_ms, 1003);
  block[kBlockHeaderSize + 3] ^= 1;
  EXPECT_FALSE(DecodeBlock(block).ok());
}

TEST_F(LogStoreTest, AppendScanAndReopen) {
  {
    LogStore store(dir_);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Events(3, 1000, "a")).ok());
    ASSERT_TRUE(store.Append(1, Events(2, 5000, "b")).ok());
    EXPECT_EQ(All(store), (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1"}));
    EXPECT_EQ(All(store, 1001, 5000), (std::vector<std::string>{"a1", "a2", "b0"}));
  }
  LogStore reopened(dir_);
  ASSERT_TRUE(reopened.OpenGroup(1).ok());
  EXPECT_EQ(All(reopened).size(), 5u);
  ASSERT_TRUE(reopened.Append(1, Events(1, 9000, "c")).ok());
  EXPECT_EQ(All(reopened).back(), "c0");
}

TEST_F(LogStoreTest, TornTailIsTruncatedOnOpen) {
  {
    LogStore store(dir_);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Events(3, 1000, "a")).ok());
  }
  std::string seg = dir_ + "/1/" + SegmentFileName(0);
  auto good_size = std::filesystem::file_size(seg);
  std::string torn = EncodeBlock(Events(5, 2000, "never acknowledged"));
  std::ofstream(seg, std::ios::app | std::ios::binary) << torn.substr(0, torn.size() / 2);
  LogStore reopened(dir_);
  std::string repaired;
  ASSERT_TRUE(reopened.OpenGroup(1, &repaired).ok());
  EXPECT_NE(repaired.find("torn"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(seg), good_size);
  EXPECT_EQ(All(reopened), (std::vector<std::string>{"a0", "a1", "a2"}));
}

TEST_F(LogStoreTest, CorruptionInAnOlderSegmentIsRefused) {
  {
    LogStore store(dir_, /*segment_bytes=*/64);  // every block gets its own segment
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Events(3, 1000, "a")).ok());
    ASSERT_TRUE(store.Append(1, Events(3, 2000, "b")).ok());
  }
  std::string seg = dir_ + "/1/" + SegmentFileName(0);
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(0);
  f.write("XXXX", 4);
  f.close();
  LogStore reopened(dir_);
  EXPECT_FALSE(reopened.OpenGroup(1).ok());
}

TEST_F(LogStoreTest, RetentionDropsWholeOldSegments) {
  LogStore store(dir_, /*segment_bytes=*/64);
  ASSERT_TRUE(store.OpenGroup(1).ok());
  ASSERT_TRUE(store.Append(1, Events(2, 1000, "old")).ok());
  ASSERT_TRUE(store.Append(1, Events(2, 9000, "new")).ok());
  ASSERT_TRUE(store.Append(1, Events(2, 9500, "newest")).ok());
  ASSERT_TRUE(store.DropOlderThan(1, 5000).ok());
  EXPECT_EQ(All(store), (std::vector<std::string>{"new0", "new1", "newest0", "newest1"}));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/1/" + SegmentFileName(0)));
  ASSERT_TRUE(store.DropGroup(1).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/1"));
}

}  // namespace berth::logs
