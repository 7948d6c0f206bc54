#include "api/handlers/logs_put_events.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace berth::api {

namespace {

// A body with simdjson's padding as spare capacity, as HttpServer's are, or without any.
std::string Body(const std::string& json, bool padded) {
  std::string body;
  if (padded) {
    body.reserve(json.size() + 64);
    body.assign(json);
  } else {
    body = json;
    body.shrink_to_fit();
  }
  return body;
}

std::string Request(const std::vector<std::string>& raw_messages) {
  std::string out = R"({"logGroupName":"g","logStreamName":"s","logEvents":[)";
  for (size_t i = 0; i < raw_messages.size(); ++i) {
    out += (i ? "," : "") + std::string(R"({"timestamp":)") + std::to_string(1000 + i) +
           R"(,"message":)" + raw_messages[i] + "}";
  }
  return out + "]}";
}

}  // namespace

TEST(PutLogEventsDecodeTest, UnescapesEveryKindOfEscape) {
  for (bool padded : {true, false}) {
    const std::string body = Body(
        Request({R"("{\"status\":200,\"path\":\"/a\\\\b\"}")", R"("tab\there\nline \u00e9 \ud83d\ude00")",
                 R"("plain")"}),
        padded);
    auto in = ParsePutLogEvents(body);
    ASSERT_TRUE(in.ok()) << in.error().message;
    EXPECT_EQ(in->group, "g");
    EXPECT_EQ(in->stream, "s");
    ASSERT_EQ(in->events.size(), 3u);
    EXPECT_EQ(in->events[0].message, R"({"status":200,"path":"/a\\b"})");
    EXPECT_EQ(in->events[1].message, "tab\there\nline \xC3\xA9 \xF0\x9F\x98\x80");
    EXPECT_EQ(in->events[2].message, "plain");
    EXPECT_EQ(in->events[2].timestamp_ms, 1002);
  }
}

TEST(PutLogEventsDecodeTest, BlanksAroundTheMessageToken) {
  const std::string body = Body(
      R"({ "logGroupName" : "g" , "logStreamName":"s", "logEvents" : [ { "message" : "a b" , )"
      R"("timestamp" : 5 } , {"timestamp":6,"message":"c\"d"
      } ] } )",
      true);
  auto in = ParsePutLogEvents(body);
  ASSERT_TRUE(in.ok()) << in.error().message;
  ASSERT_EQ(in->events.size(), 2u);
  EXPECT_EQ(in->events[0].message, "a b");
  EXPECT_EQ(in->events[0].timestamp_ms, 5);
  EXPECT_EQ(in->events[1].message, "c\"d");
}

TEST(PutLogEventsDecodeTest, MalformedMessagesAreSerializationErrors) {
  for (const std::string& raw : {std::string(R"("bad \x escape")"), std::string("42"),
                                 std::string(R"({"nested":1})"), std::string(R"("\ud83d alone")")}) {
    auto in = ParsePutLogEvents(Body(Request({R"("fine")", raw}), true));
    ASSERT_FALSE(in.ok()) << raw;
    EXPECT_EQ(in.error().aws_code, "SerializationException") << raw;
  }
  auto missing = ParsePutLogEvents(Body(R"({"logGroupName":"g","logStreamName":"s",)"
                                        R"("logEvents":[{"timestamp":1}]})",
                                        true));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "InvalidParameterException");
}

// Two threads unescaping at once take disjoint chunks and give what one thread gives.
TEST(PutLogEventsDecodeTest, TwoThreadsUnescapeTheSameMessages) {
  std::vector<std::string> raw;
  for (int i = 0; i < 5000; ++i) {
    raw.push_back(R"("{\"method\":\"GET\",\"path\":\"/api/users/)" + std::to_string(i) +
                  R"(\",\"status\":200}")");
  }
  const std::string body = Body(Request(raw), true);
  auto alone = ParsePutLogEvents(body);
  ASSERT_TRUE(alone.ok());
  for (int round = 0; round < 20; ++round) {
    auto pending = PendingPutLogEvents::Parse(body);
    ASSERT_TRUE(pending.ok());
    PendingPutLogEvents& p = **pending;
    std::thread other([&p] { p.Unescape(); });
    p.Unescape();
    auto in = p.Finish();
    other.join();
    ASSERT_TRUE(in.ok());
    ASSERT_EQ(in->events.size(), alone->events.size());
    for (size_t i = 0; i < in->events.size(); ++i) {
      ASSERT_EQ(in->events[i].message, alone->events[i].message) << i;
    }
  }
}

// Messages are unescaped into the buffers given (no allocation when one is large enough).
TEST(PutLogEventsDecodeTest, MessagesReuseTheBuffersGiven) {
  std::vector<std::string> buffers(2);
  buffers[0].reserve(300);
  buffers[1].reserve(2);
  const char* roomy = buffers[0].data();
  auto pending = PendingPutLogEvents::Parse(
      Body(Request({R"("{\"a\":1}")", R"("longer than two bytes")", R"("third")"}), true),
      std::move(buffers));
  ASSERT_TRUE(pending.ok());
  (*pending)->Unescape();
  auto in = (*pending)->Finish();
  ASSERT_TRUE(in.ok());
  ASSERT_EQ(in->events.size(), 3u);
  EXPECT_EQ(in->events[0].message, R"({"a":1})");
  EXPECT_EQ(in->events[0].message.data(), roomy);
  EXPECT_EQ(in->events[1].message, "longer than two bytes");
  EXPECT_EQ(in->events[2].message, "third");
}

// Stop before anything is unescaped (an operation dropped unrun): later Unescape calls take
// nothing, so they never read the body.
TEST(PutLogEventsDecodeTest, StopLeavesNothingToTake) {
  auto pending = PendingPutLogEvents::Parse(Body(Request({R"("a")", R"("b")"}), true));
  ASSERT_TRUE(pending.ok());
  (*pending)->Stop();
  (*pending)->Unescape();
  auto in = (*pending)->Finish();
  ASSERT_TRUE(in.ok());
  ASSERT_EQ(in->events.size(), 2u);
  EXPECT_TRUE(in->events[0].message.empty());
}

}  // namespace berth::api
