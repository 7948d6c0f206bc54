#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

namespace berth::core {
namespace {

using nlohmann::json;

TEST(JsonWriterTest, NestedDocumentParsesBackToTheSameValues) {
  JsonWriter w;
  w.BeginObject()
      .Key("Parameters").BeginArray()
      .BeginObject().Key("Name").String("/app/db").Key("Version").Int(3).EndObject()
      .BeginObject().Key("Name").String("x\"y\\z").Key("Ok").Bool(true).Key("N").Null().EndObject()
      .EndArray()
      .Key("InvalidParameters").BeginArray().String("/missing").EndArray()
      .Key("Empty").BeginObject().EndObject()
      .Key("When").Double(1764200000.123)
      .EndObject();
  std::string text = w.Take();
  json j = json::parse(text);
  EXPECT_EQ(j["Parameters"][0]["Name"], "/app/db");
  EXPECT_EQ(j["Parameters"][0]["Version"], 3);
  EXPECT_EQ(j["Parameters"][1]["Name"], "x\"y\\z");
  EXPECT_EQ(j["Parameters"][1]["Ok"], true);
  EXPECT_TRUE(j["Parameters"][1]["N"].is_null());
  EXPECT_EQ(j["InvalidParameters"], json::array({"/missing"}));
  EXPECT_TRUE(j["Empty"].is_object() && j["Empty"].empty());
  EXPECT_DOUBLE_EQ(j["When"].get<double>(), 1764200000.123);
}

TEST(JsonWriterTest, EscapesLikeNlohmannDump) {
  for (std::string s : {std::string("plain"), std::string("tab\there\nnewline\r"),
                        std::string("ctl\x01\x1f", 5), std::string("nul\0in", 6),
                        std::string("\b\f"), std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")}) {
    std::string out;
    AppendJsonString(out, s);
    EXPECT_EQ(out, json(s).dump()) << s;
  }
}

TEST(JsonWriterTest, LogLinesOfEveryLengthAndQuotePositionMatchNlohmann) {
  const std::string line =
      R"({"method":"GET","path":"/api/users/123","status":200,"note":"tab\there \\ é ✓"})";
  for (size_t len = 0; len <= line.size(); ++len) {
    std::string s = line.substr(0, len);
    std::string out;
    AppendJsonString(out, s);
    std::string expected;
    try {
      expected = nlohmann::json(s).dump();
    } catch (const nlohmann::json::exception&) {
      continue;  // cut inside a multi-byte character
    }
    EXPECT_EQ(out, expected) << len;
  }
}

TEST(JsonWriterTest, InvalidUtf8IsReplacedAsTheApiRepliesDo) {
  for (std::string s : {std::string("\xff"), std::string("a\xc3"), std::string("\xed\xa0\x80"),
                        std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80"),
                        std::string("ok\x80ok")}) {
    std::string out;
    AppendJsonString(out, s);
    json back = json::parse(out);  // always valid JSON and valid UTF-8
    EXPECT_NE(back.get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << out;
  }
}

TEST(JsonWriterTest, RandomBytesAlwaysRoundTripWhenValid) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 200, '\0');  // past several 16-byte vector steps
    for (char& c : s) {
      c = static_cast<char>(rng() % 256);
    }
    std::string out;
    AppendJsonString(out, s);
    json back = json::parse(out);  // never throws: escaping and replacement keep it valid
    std::string expected;
    try {
      expected = json(s).dump();  // throws on invalid UTF-8
    } catch (const json::exception&) {
      continue;
    }
    EXPECT_EQ(out, expected);
  }
}

// Quote-dense text of every length over the characters that take each path of the escaper
// (plain, quote and backslash escaped inside the vector loop, control and multi-byte characters
// on the byte-by-byte path), against nlohmann's dump.
TEST(JsonWriterTest, QuoteDenseTextMatchesNlohmannAtEveryLength) {
  const std::vector<std::string> pieces = {"a", "b", "\"", "\\", "\n", "\t", "\xc3\xa9", "{\"k\":"};
  std::mt19937 rng(11);
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    const size_t n = rng() % 120;
    for (size_t i = 0; i < n; ++i) {
      s += pieces[rng() % (round % 3 == 0 ? pieces.size() : 4)];  // a third with controls/UTF-8
    }
    std::string out = "prefix:";
    AppendJsonString(out, s);
    EXPECT_EQ(out, "prefix:" + json(s).dump()) << s;
  }
}

}  // namespace
// Misuse is a bug in the caller: the writer stops rather than write a malformed document.
TEST(JsonWriterDeathTest, CrossedOrMisplacedCallsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(JsonWriter().BeginArray().EndObject(), "EndObject without an open object");
  EXPECT_DEATH(JsonWriter().BeginObject().EndArray(), "EndArray without an open array");
  EXPECT_DEATH(JsonWriter().BeginArray().Key("k"), "Key outside an object");
  EXPECT_DEATH(JsonWriter().BeginObject().Int(1), "needs its Key first");
  EXPECT_DEATH(JsonWriter().BeginObject().Key("k").Key("j"), "Key outside an object");
  EXPECT_DEATH(JsonWriter().BeginObject().Take(), "Take with an open container");
  EXPECT_DEATH(JsonWriter().Int(1).Int(2), "a second top-level value");
}

}  // namespace berth::core
