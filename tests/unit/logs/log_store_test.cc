#include "logs/log_store.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <boost/crc.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/worker_thread.h"

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

template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

// A block in the BLK2 format older versions wrote (see segment.h), built by hand.
std::string EncodeBlk2(const std::vector<LogEvent>& events) {
  std::string raw;
  std::vector<int64_t> streams;
  for (const LogEvent& e : events) {
    Put<uint64_t>(raw, static_cast<uint64_t>(e.stream_id));
    Put<int64_t>(raw, e.timestamp_ms);
    Put<int64_t>(raw, e.ingestion_ms);
    Put<uint32_t>(raw, static_cast<uint32_t>(e.message.size()));
    raw.append(e.message);
    if (std::find(streams.begin(), streams.end(), e.stream_id) == streams.end()) {
      streams.push_back(e.stream_id);
    }
  }
  std::sort(streams.begin(), streams.end());
  std::string frame(ZSTD_compressBound(raw.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), raw.data(), raw.size(), 3));
  std::string table;
  for (int64_t id : streams) {
    Put<uint64_t>(table, static_cast<uint64_t>(id));
  }
  std::string block;
  Put<uint32_t>(block, kBlockMagicV2);
  Put<uint32_t>(block, static_cast<uint32_t>(frame.size()));
  Put<uint32_t>(block, static_cast<uint32_t>(raw.size()));
  Put<uint32_t>(block, static_cast<uint32_t>(events.size()));
  Put<int64_t>(block, events.front().timestamp_ms);
  Put<int64_t>(block, events.back().timestamp_ms);
  Put<uint32_t>(block, static_cast<uint32_t>(streams.size()));
  boost::crc_32_type crc;
  crc.process_bytes(block.data(), block.size());
  crc.process_bytes(table.data(), table.size());
  crc.process_bytes(frame.data(), frame.size());
  Put<uint32_t>(block, crc.checksum());
  return block + table + frame;
}

// Lograge-like events: every tenth a 5xx, every 50th with an error field, two streams.
std::vector<LogEvent> Lograge(int n, int64_t ts0) {
  std::vector<LogEvent> out;
  for (int i = 0; i < n; ++i) {
    std::string m = R"({"method":"GET","path":"/api/users/)" + std::to_string(i * 7919 % 1000) +
                    R"(","status":)" + std::to_string(i % 10 == 3 ? 503 : 200) +
                    R"(,"duration":)" + std::to_string(i % 97) + ".5";
    if (i % 50 == 7) {
      m += R"(,"error":"ERROR ActiveRecord::RecordNotFound")";
    }
    out.push_back({i % 3 == 0 ? 8 : 7, ts0 + i, ts0 + i, m + "}"});
  }
  return out;
}

}  // namespace

TEST_F(LogStoreTest, AHelperThreadEncodesTheSameBlockBytes) {
  core::WorkerThread helper;
  for (int n : {1, 500, 1024, 5133, 16384}) {
    std::vector<LogEvent> events = Lograge(n, 1790000000000);
    std::string alone = EncodeBlock(events);
    std::string helped = EncodeBlock(events, 1, &helper);
    EXPECT_EQ(alone, helped) << n;
    auto back = DecodeBlock(helped);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->size(), events.size());
    EXPECT_EQ(back->back().message, events.back().message);
  }
}

// Two threads encoding blocks at once with one helper (which then runs jobs for both): each
// block is still the one encoded alone, whichever thread took which cluster.
TEST_F(LogStoreTest, TwoThreadsSharingAHelperEncodeTheSameBlockBytes) {
  core::WorkerThread helper;
  const std::vector<LogEvent> a = Lograge(5133, 1790000000000);
  const std::vector<LogEvent> b = Lograge(3000, 1790000100000);
  const std::string alone_a = EncodeBlock(a);
  const std::string alone_b = EncodeBlock(b);
  int mismatches = 0;
  std::thread other([&] {
    for (int round = 0; round < 20; ++round) {
      mismatches += EncodeBlock(b, 1, &helper) != alone_b ? 1 : 0;
    }
  });
  int own_mismatches = 0;
  for (int round = 0; round < 20; ++round) {
    own_mismatches += EncodeBlock(a, 1, &helper) != alone_a ? 1 : 0;
  }
  other.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(own_mismatches, 0);
}

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

TEST_F(LogStoreTest, Blk2BlocksStayReadable) {
  std::filesystem::create_directories(dir_ + "/1");
  const std::string old = EncodeBlk2(Events(3, 1000, "v2 "));
  ASSERT_TRUE(DecodeBlock(old).ok());
  std::ofstream(dir_ + "/1/" + SegmentFileName(0), std::ios::binary) << old;
  {
    LogStore store(dir_);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Events(2, 5000, "v3 ")).ok());  // appended after it as BLK3
    EXPECT_EQ(All(store), (std::vector<std::string>{"v2 0", "v2 1", "v2 2", "v3 0", "v3 1"}));
  }
  LogStore reopened(dir_, /*segment_bytes=*/64);  // and once the BLK2 segment is an older one
  ASSERT_TRUE(reopened.OpenGroup(1).ok());
  ASSERT_TRUE(reopened.Append(1, Events(1, 9000, "next ")).ok());
  LogStore again(dir_);
  ASSERT_TRUE(again.OpenGroup(1).ok());
  EXPECT_EQ(All(again).size(), 6u);
  auto pattern = FilterPattern::Parse("v2");
  std::vector<std::string> hits;
  ASSERT_TRUE(again.Scan(1, 0, INT64_MAX, [&](const LogEvent& e, uint64_t) {
    if (pattern->Matches(e.message)) {
      hits.push_back(e.message);
    }
    return true;
  }, ScanFilter{nullptr, &*pattern}).ok());
  EXPECT_EQ(hits.size(), 3u);
}

// A filtered scan decompresses only the clusters that can match, yet visits events in the same
// order and with the same ids as a full scan, and pages the same way.
TEST_F(LogStoreTest, ClusteredScanSkipsClustersKeepsOrderAndIds) {
  LogStore store(dir_);
  ASSERT_TRUE(store.OpenGroup(1).ok());
  ASSERT_TRUE(store.Append(1, Lograge(1000, 1000)).ok());
  ASSERT_TRUE(store.Append(1, Lograge(500, 5000)).ok());
  for (const char* text : {"{ $.status >= 500 }", "ERROR", "{ $.status = 200 && $.error = * }",
                           "{ $.duration > 90 }", "users"}) {
    SCOPED_TRACE(text);
    auto pattern = FilterPattern::Parse(text);
    ASSERT_TRUE(pattern.ok());
    std::vector<std::pair<uint64_t, std::string>> want, got;
    auto collect = [&](std::vector<std::pair<uint64_t, std::string>>& out) {
      return [&out, &pattern](const LogEvent& e, uint64_t id) {
        if (pattern->Matches(e.message)) {
          out.emplace_back(id, e.message);
        }
        return true;
      };
    };
    ASSERT_TRUE(store.Scan(1, 0, INT64_MAX, collect(want)).ok());
    const uint64_t before = store.ClustersRead();
    ASSERT_TRUE(store.Scan(1, 0, INT64_MAX, collect(got), ScanFilter{nullptr, &*pattern}).ok());
    EXPECT_EQ(got, want);
    EXPECT_FALSE(want.empty());
    if (std::string(text) == "{ $.status >= 500 }" || std::string(text) == "ERROR") {
      // 5xx: (stream 7, 8) x (error or not) at most; everything else stays compressed.
      EXPECT_LE(store.ClustersRead() - before, 8u);
    }
    // Paging: stop after every 7th hit and resume from the returned position.
    std::vector<std::pair<uint64_t, std::string>> paged;
    LogStore::Position from;
    while (true) {
      LogStore::Position next;
      bool complete = false;
      size_t page = 0;
      ASSERT_TRUE(store.ScanFrom(1, 0, INT64_MAX, from, [&](const LogEvent& e, uint64_t id) {
        if (pattern->Matches(e.message)) {
          paged.emplace_back(id, e.message);
          return ++page < 7;
        }
        return true;
      }, &next, &complete, ScanFilter{nullptr, &*pattern}).ok());
      if (complete) {
        break;
      }
      from = next;
    }
    EXPECT_EQ(paged, want);
  }
  // Reads of one stream touch only that stream's clusters; a time range only its clusters.
  const std::vector<int64_t> only = {8};
  size_t n = 0;
  ASSERT_TRUE(store.Scan(1, 1000, 1099, [&](const LogEvent& e, uint64_t) {
    EXPECT_EQ(e.stream_id, 8);
    ++n;
    return true;
  }, ScanFilter{&only, nullptr}).ok());
  EXPECT_EQ(n, 34u);
}

TEST_F(LogStoreTest, ClusterTablesComeBackFromDisk) {
  {
    LogStore store(dir_, /*segment_bytes=*/64);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Lograge(300, 1000)).ok());
    ASSERT_TRUE(store.Append(1, Lograge(300, 2000)).ok());
  }
  LogStore store(dir_);
  ASSERT_TRUE(store.OpenGroup(1).ok());
  for (const BlockRef& b : store.Blocks(1)) {
    ASSERT_NE(b.clusters, nullptr);  // older segment (head read) and newest (read in full)
    EXPECT_GE(b.clusters->clusters.size(), 4u);
  }
  auto pattern = FilterPattern::Parse("{ $.status >= 500 }");
  size_t hits = 0;
  ASSERT_TRUE(store.Scan(1, 0, INT64_MAX, [&](const LogEvent& e, uint64_t) {
    hits += pattern->Matches(e.message) ? 1 : 0;
    return true;
  }, ScanFilter{nullptr, &*pattern}).ok());
  EXPECT_EQ(hits, 60u);
}

// Append keeps the cluster table it encoded instead of reading the block back: it must be the
// table (and stream list, sizes, times) that reopening the store reads from disk.
TEST_F(LogStoreTest, AppendedBlockRefsMatchTheOnesReadFromDisk) {
  std::vector<BlockRef> appended;
  {
    LogStore store(dir_, /*segment_bytes=*/64);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Lograge(300, 1000)).ok());
    ASSERT_TRUE(store.Append(1, Lograge(5133, 2000)).ok());
    ASSERT_TRUE(store.Append(1, Events(3, 9000, "plain ")).ok());
    appended = store.Blocks(1);
  }
  LogStore store(dir_);
  ASSERT_TRUE(store.OpenGroup(1).ok());
  const std::vector<BlockRef> read = store.Blocks(1);
  ASSERT_EQ(appended.size(), read.size());
  for (size_t b = 0; b < read.size(); ++b) {
    EXPECT_EQ(appended[b].segment, read[b].segment);
    EXPECT_EQ(appended[b].offset, read[b].offset);
    EXPECT_EQ(appended[b].size, read[b].size);
    EXPECT_EQ(appended[b].count, read[b].count);
    EXPECT_EQ(appended[b].min_ts, read[b].min_ts);
    EXPECT_EQ(appended[b].max_ts, read[b].max_ts);
    EXPECT_EQ(appended[b].head_size, read[b].head_size);
    EXPECT_EQ(appended[b].streams, read[b].streams);
    ASSERT_NE(appended[b].clusters, nullptr);
    ASSERT_NE(read[b].clusters, nullptr);
    EXPECT_EQ(appended[b].clusters->Encode(), read[b].clusters->Encode()) << b;
  }
}

// Sync has each group written since the last round fdatasync'd, on the syncer thread, and
// returns without waiting for it; a group not written since is left alone.
TEST_F(LogStoreTest, SyncSyncsWrittenGroupsOnItsOwnThread) {
  LogStore store(dir_);
  auto wait_for = [&](uint64_t n) {
    for (int i = 0; i < 5000 && store.SyncsDone() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return store.SyncsDone();
  };
  ASSERT_TRUE(store.OpenGroup(1).ok());
  ASSERT_TRUE(store.OpenGroup(2).ok());
  ASSERT_TRUE(store.Append(1, Lograge(100, 1000)).ok());
  ASSERT_TRUE(store.Append(2, Lograge(100, 1000)).ok());
  ASSERT_TRUE(store.Sync().ok());
  EXPECT_EQ(wait_for(2), 2u);  // both groups
  ASSERT_TRUE(store.Sync().ok());  // nothing written since
  ASSERT_TRUE(store.Append(1, Lograge(100, 2000)).ok());
  ASSERT_TRUE(store.Sync().ok());
  EXPECT_EQ(wait_for(3), 3u);  // group 1 only
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(store.SyncsDone(), 3u);
}

// A round syncs at most 64 groups (one descriptor duplicated for each); the others stay dirty
// and go in the next rounds.
TEST_F(LogStoreTest, ManyWrittenGroupsAreSyncedOverSeveralRounds) {
  LogStore store(dir_);
  for (int64_t g = 1; g <= 100; ++g) {
    ASSERT_TRUE(store.OpenGroup(g).ok());
    ASSERT_TRUE(store.Append(g, Lograge(5, 1000)).ok());
  }
  uint64_t rounds = 0;
  for (int i = 0; i < 5000 && store.SyncsDone() < 100; ++i) {
    const uint64_t before = store.SyncsDone();
    ASSERT_TRUE(store.Sync().ok());
    for (int j = 0; j < 1000 && store.SyncsDone() == before; ++j) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    rounds += store.SyncsDone() > before ? 1 : 0;
  }
  EXPECT_EQ(store.SyncsDone(), 100u);
  EXPECT_GE(rounds, 2u);
}

// Sync hands the fdatasyncs to a thread of its own, on duplicated descriptors: dropping the
// group (closing its descriptor, deleting its files) while they run harms nothing, and what
// was appended before the store's end is there when it is reopened.
TEST_F(LogStoreTest, SyncsInFlightOutliveTheirGroup) {
  {
    LogStore store(dir_);
    for (int round = 0; round < 20; ++round) {
      ASSERT_TRUE(store.OpenGroup(2).ok());
      ASSERT_TRUE(store.Append(2, Lograge(200, 1000)).ok());
      ASSERT_TRUE(store.Sync().ok());
      ASSERT_TRUE(store.DropGroup(2).ok());
    }
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Lograge(300, 1000)).ok());
    ASSERT_TRUE(store.Sync().ok());
    ASSERT_TRUE(store.Append(1, Lograge(300, 5000)).ok());  // dirty again at the store's end
  }
  LogStore reopened(dir_);
  ASSERT_TRUE(reopened.OpenGroup(1).ok());
  EXPECT_EQ(All(reopened).size(), 600u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/2"));
}

// Events handed to DisposeLater leave their message buffers (emptied, with their capacity) for
// TakeMessageBuffers, one batch's worth at most, and nothing else changes.
TEST_F(LogStoreTest, DisposedMessagesComeBackAsBuffers) {
  LogStore store(dir_);
  ASSERT_TRUE(store.OpenGroup(1).ok());
  std::vector<LogEvent> events = Lograge(2000, 1000);
  ASSERT_TRUE(store.Append(1, events).ok());
  std::vector<size_t> sizes;
  for (const LogEvent& e : events) {
    sizes.push_back(e.message.size());
  }
  store.DisposeLater(std::move(events));
  store.DisposeLater(Lograge(10, 5000));  // the buffers of one batch are kept, not more
  ASSERT_TRUE(store.Append(1, Lograge(2000, 3000)).ok());
  // An Append does not wait for the helper's queue (core::SharedWork): wait for the disposals.
  store.WaitForHelper();
  std::vector<std::string> buffers = store.TakeMessageBuffers();
  ASSERT_EQ(buffers.size(), 2000u);
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_TRUE(buffers[i].empty());
    EXPECT_GE(buffers[i].capacity(), sizes[i]);
  }
  EXPECT_TRUE(store.TakeMessageBuffers().empty());
  EXPECT_EQ(All(store).size(), 4000u);
}

TEST_F(LogStoreTest, CorruptFrameInTheNewestBlockIsTruncated) {
  std::string seg = dir_ + "/1/" + SegmentFileName(0);
  uintmax_t good_size = 0;
  {
    LogStore store(dir_);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Lograge(100, 1000)).ok());
    good_size = std::filesystem::file_size(seg);
    ASSERT_TRUE(store.Append(1, Lograge(100, 2000)).ok());
  }
  // The last byte belongs to the last cluster frame: a torn or bad write there.
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(seg) - 1));
  f.put('\x5a');
  f.close();
  LogStore reopened(dir_);
  std::string repaired;
  ASSERT_TRUE(reopened.OpenGroup(1, &repaired).ok());
  EXPECT_NE(repaired.find("torn"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(seg), good_size);
  EXPECT_EQ(All(reopened).size(), 100u);
}

TEST_F(LogStoreTest, CorruptClusterTableInAnOlderSegmentIsRefused) {
  {
    LogStore store(dir_, /*segment_bytes=*/64);
    ASSERT_TRUE(store.OpenGroup(1).ok());
    ASSERT_TRUE(store.Append(1, Lograge(100, 1000)).ok());
    ASSERT_TRUE(store.Append(1, Lograge(100, 2000)).ok());
  }
  std::string seg = dir_ + "/1/" + SegmentFileName(0);
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(kBlockHeaderSize + 2 * 8 + 5);  // past the header and the two-stream table
  f.put('\x5a');
  f.close();
  LogStore reopened(dir_);
  EXPECT_FALSE(reopened.OpenGroup(1).ok());
}

}  // namespace berth::logs
