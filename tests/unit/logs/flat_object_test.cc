#include "logs/flat_object.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

namespace berth::logs {

namespace {

struct Scan {
  bool ok = false;
  std::vector<std::pair<std::string, std::string>> fields;
  bool operator==(const Scan&) const = default;
};

Scan Run(const std::string& object) {
  std::array<FlatField, kMaxFlatFields> fields;
  size_t count = 0;
  Scan out;
  out.ok = ScanFlatObject(object, fields, &count);
  if (out.ok) {
    for (size_t i = 0; i < count; ++i) {
      out.fields.emplace_back(std::string(fields[i].key), std::string(fields[i].value));
    }
  }
  return out;
}

// simdjson's reading of the same object, for a line ScanFlatObject accepted: every top-level
// field a scalar, with the same key and value text.
Scan Simdjson(const std::string& object) {
  Scan out;
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(object);
  try {
    simdjson::ondemand::document doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      simdjson::ondemand::value value = field.value();
      const auto type = value.type().value();
      if (type == simdjson::ondemand::json_type::object ||
          type == simdjson::ondemand::json_type::array) {
        return out;
      }
      std::string_view token = value.raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t' ||
                                token.back() == '\n' || token.back() == '\r')) {
        token.remove_suffix(1);
      }
      out.fields.emplace_back(std::string(std::string_view(field.unescaped_key())), std::string(token));
    }
    if (!doc.current_location().error()) return out;  // content after the object
  } catch (const simdjson::simdjson_error&) {
    return out;
  }
  out.ok = true;
  return out;
}

// Whatever ScanFlatObject accepts that is JSON, simdjson reads the same way; returns the scan.
Scan ExpectSame(const std::string& object) {
  // A copy in an allocation of its own size, so that a read past the end shows under ASan.
  const std::string owned(object.begin(), object.end());
  const Scan scan = Run(owned);
  const Scan reference = Simdjson(owned);
  if (scan.ok && reference.ok) {
    EXPECT_EQ(scan, reference) << object;
  }
  return scan;
}

}  // namespace

TEST(FlatObjectTest, ReadsALogrageLine) {
  const Scan s = ExpectSame(
      R"({"method":"GET","path":"/a/1","status":200,"duration":54.12,"ok":true,"x":null})");
  ASSERT_TRUE(s.ok);
  ASSERT_EQ(s.fields.size(), 6u);
  EXPECT_EQ(s.fields[0], std::make_pair(std::string("method"), std::string(R"("GET")")));
  EXPECT_EQ(s.fields[2], std::make_pair(std::string("status"), std::string("200")));
  EXPECT_EQ(s.fields[3].second, "54.12");
  EXPECT_EQ(s.fields[5].second, "null");
}

TEST(FlatObjectTest, BlanksEmptyObjectsAndRefusals) {
  EXPECT_TRUE(ExpectSame("{}").ok);
  EXPECT_TRUE(ExpectSame("{ \t\n}").ok);
  EXPECT_TRUE(ExpectSame("{ \"a\" :\t1 ,\n\"b\": \"x y\" }").ok);
  EXPECT_EQ(ExpectSame("{ \"a\" :\t1 ,\n\"b\": \"x y\" }").fields.size(), 2u);
  for (const char* refused : {R"({"a":{"b":1}})", R"({"a":[1]})", R"({"a":1,})", R"({"a" 1})",
                              R"({"a":})", R"({"a":1 "b":2})", R"({a:1})", R"({"a":"x})",
                              R"({"a\"b":1})", R"({"a":1}})", R"({"a":1} x})", R"({"a":#})"}) {
    EXPECT_FALSE(ExpectSame(refused).ok) << refused;
  }
  // Escapes inside values are read by the byte-by-byte path.
  const Scan escaped = ExpectSame(R"({"msg":"say \"hi\"","n":1})");
  ASSERT_TRUE(escaped.ok);
  EXPECT_EQ(escaped.fields[0].second, R"("say \"hi\"")");
}

// Lines of every length (the scan reads strings 32 bytes at a time).
TEST(FlatObjectTest, LinesOfEveryLength) {
  for (size_t pad = 0; pad < 600; ++pad) {
    const std::string value(pad, 'v');
    ExpectSame(R"({"k":")" + value + R"(","n":12})");
    ExpectSame(R"({"k":")" + value + R"(","n":12 )" + "}");
    ExpectSame(R"({"n":)" + std::string(pad + 1, '7') + "}");
    EXPECT_FALSE(ExpectSame(R"({"k":")" + value + R"(","n")" + "}").ok);  // cut short
    if (HasFailure()) return;
  }
}

// Lograge-like lines with random edits (characters that matter to the grammar, bytes >= 0x80):
// simdjson reads every JSON line the scan accepts as the scan does.
TEST(FlatObjectTest, AgreesWithSimdjsonOnMutatedLines) {
  const std::vector<std::string> lines = {
      R"({"method":"GET","path":"/retrospectives/14593","format":"json","controller":"BoardsController","action":"show","status":200,"duration":54.12,"view":1.22,"db":2.79,"time":1790000000000})",
      R"({"level":"ERROR","message":"boom","tags":null,"ok":false,"n":-1.5e+3})",
      "{ \"a\" : \"b\" ,\t\"c\" : 1 }"};
  // Whole UTF-8 sequences only: stored messages are valid UTF-8 (PutLogEvents checks it).
  const std::vector<std::string> pieces = {"\"", "{", "}", "[", "]", ":", ",", " ", "\t", "\n",
                                           "\r", "\\", "a", "Z", "0", "9", ".", "+", "-", "e",
                                           "\xC3\xA9", "/", "#", std::string(1, '\0')};
  std::mt19937 random(7);
  size_t accepted = 0;
  for (int round = 0; round < 30000; ++round) {
    std::string line = lines[random() % lines.size()];
    if (random() % 4 == 0) {
      // Longer lines: more of the scan's 32-byte steps inside one string.
      line.insert(line.size() - 1, ",\"pad\":\"" + std::string(random() % 500, 'p') + "\"");
    }
    const int edits = static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % line.size();
      const std::string& piece = pieces[random() % pieces.size()];
      if (static_cast<unsigned char>(line[at]) >= 0x80) continue;  // keep sequences whole
      switch (random() % 3) {
        case 0: line.replace(at, 1, piece); break;
        case 1: line.insert(at, piece); break;
        default: line.erase(at, 1); break;
      }
    }
    if (line.size() < 2 || line.front() != '{' || line.back() != '}') continue;
    accepted += ExpectSame(line).ok && Simdjson(line).ok ? 1 : 0;
    if (HasFailure()) return;
  }
  EXPECT_GT(accepted, 5000u);  // the comparison ran on thousands of lines
}

}  // namespace berth::logs
