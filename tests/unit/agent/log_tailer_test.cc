#include "agent/log_tailer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fakes/fake_clock.h"

namespace berth::agent {

namespace {

struct RecordingLogSink final : ContainerLogSink {
  std::vector<std::string> lines;
  bool refuse = false;
  Status CheckGroup(const std::string&, bool) override { return OkStatus(); }
  Status Append(const std::string&, const std::string&, bool, std::vector<LogLine> in) override {
    if (refuse) {
      return MakeError(ErrorKind::Unavailable, "ServiceUnavailableException", "down");
    }
    for (auto& l : in) {
      lines.push_back(l.message);
    }
    return OkStatus();
  }
};

class LogTailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/berth-tailer-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ + "/" + file, std::ios::app) << text;
  }
  LogTailer Tailer() { return LogTailer(dir_, {"g", "s", false}, sink_, clock_); }

  std::string dir_;
  RecordingLogSink sink_;
  testing::FakeClock clock_;
};

}  // namespace

TEST_F(LogTailerTest, WholeLinesNowTheUnterminatedRestAtTheEnd) {
  LogTailer t = Tailer();
  Write("stdout", "one\r\ntwo\n\npart");
  Write("stderr", "err\n");
  ASSERT_TRUE(t.Poll(false));
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"one", "two", "err"}));
  Write("stdout", "ial\nlast");
  ASSERT_TRUE(t.Poll(false));
  EXPECT_EQ(sink_.lines.back(), "partial");
  ASSERT_TRUE(t.Poll(true));
  EXPECT_EQ(sink_.lines.back(), "last");
  ASSERT_TRUE(t.Poll(true));
  EXPECT_EQ(sink_.lines.size(), 5u);  // nothing twice
}

TEST_F(LogTailerTest, ResumesFromThePersistedOffset) {
  Write("stdout", "a\nb\n");
  {
    LogTailer t = Tailer();
    ASSERT_TRUE(t.Poll(false));
  }
  Write("stdout", "c\n");
  LogTailer restarted = Tailer();  // a new server: reads the offset file
  ASSERT_TRUE(restarted.Poll(false));
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(LogTailerTest, RefusedLinesAreRetried) {
  LogTailer t = Tailer();
  Write("stdout", "x\n");
  sink_.refuse = true;
  EXPECT_FALSE(t.Poll(false));
  sink_.refuse = false;
  ASSERT_TRUE(t.Poll(false));
  EXPECT_EQ(sink_.lines, std::vector<std::string>{"x"});
}

TEST_F(LogTailerTest, LongLinesAreSplitAtTheEventLimit) {
  LogTailer t = Tailer();
  Write("stdout", std::string(300 * 1024, 'z') + "\n");
  ASSERT_TRUE(t.Poll(false));
  ASSERT_EQ(sink_.lines.size(), 2u);
  EXPECT_EQ(sink_.lines[0].size(), 256u * 1024 - 26);
  EXPECT_EQ(sink_.lines[0].size() + sink_.lines[1].size(), 300u * 1024);
}

}  // namespace berth::agent

namespace berth::agent {

TEST_F(LogTailerTest, MultilinePatternJoinsStackTraces) {
  LogTailer t(dir_, {"g", "s", false, "^[^ \\t]", ""}, sink_, clock_);
  Write("stdout", "Error: boom\n  at a()\n  at b()\nINFO next\n");
  ASSERT_TRUE(t.Poll(false));
  // The last event (INFO next) may still grow: it is held back for a moment.
  EXPECT_EQ(sink_.lines, std::vector<std::string>{"Error: boom\n  at a()\n  at b()"});
  Write("stdout", "  continued\n");
  ASSERT_TRUE(t.Poll(false));
  EXPECT_EQ(sink_.lines.size(), 1u);
  clock_.Advance(1500);
  ASSERT_TRUE(t.Poll(false));  // waited long enough: sent
  EXPECT_EQ(sink_.lines.back(), "INFO next\n  continued");
}

TEST_F(LogTailerTest, DatetimeFormatStartsEvents) {
  EXPECT_EQ(LogTailer::DatetimeFormatToRegex("[%Y-%m-%d]"),
            "^\\[[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\\]");
  LogTailer t(dir_, {"g", "s", false, "ignored-when-datetime-is-set", "%Y-%m-%d %H:%M:%S"},
              sink_, clock_);
  Write("stdout", "2026-11-26 19:07:50 first\ndetail\n2026-11-26 19:07:51 second\n");
  ASSERT_TRUE(t.Poll(true));
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"2026-11-26 19:07:50 first\ndetail",
                                                   "2026-11-26 19:07:51 second"}));
}

TEST_F(LogTailerTest, BadMultilinePatternIsRefused) {
  Status s = LogTailer::Validate({"g", "s", false, "([unclosed", ""});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("failed to initialize logging driver"), std::string::npos);
}

}  // namespace berth::agent
