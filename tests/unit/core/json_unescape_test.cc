#include "core/json_unescape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace berth::core {

namespace {

// What nlohmann's parser makes of the same literal: the reference decoder.
bool Reference(const std::string& escaped, std::string& out) {
  try {
    out = nlohmann::json::parse("\"" + escaped + "\"").get<std::string>();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Both decoders (the vector one where the CPU has it, and the portable one) on `escaped`.
void ExpectDecodes(const std::string& escaped, const std::string& expected) {
  std::string out = "previous contents";
  ASSERT_TRUE(UnescapeJsonString(escaped, out)) << escaped;
  EXPECT_EQ(out, expected) << escaped;
  for (auto decode : {&UnescapeJsonStringScalar,
                      static_cast<size_t (*)(std::string_view, char*)>(&UnescapeJsonString)}) {
    std::vector<char> buffer(escaped.size() + 1, '\x7f');
    const size_t n = decode(escaped, buffer.data());
    ASSERT_NE(n, std::string_view::npos) << escaped;
    EXPECT_EQ(std::string(buffer.data(), n), expected) << escaped;
    EXPECT_EQ(buffer[escaped.size()], '\x7f') << "wrote past the input's length";
  }
}

void ExpectMalformed(const std::string& escaped) {
  std::string out;
  EXPECT_FALSE(UnescapeJsonString(escaped, out)) << escaped;
  std::vector<char> buffer(escaped.size() + 1);
  EXPECT_EQ(UnescapeJsonStringScalar(escaped, buffer.data()), std::string_view::npos) << escaped;
}

}  // namespace

TEST(JsonUnescapeTest, EveryEscape) {
  // Every test below compares the dispatching decoder with the portable one: say which ran.
  std::cout << "UnescapeJsonString on this CPU: "
            << (JsonUnescapeIsVectorized() ? "AVX-512 VBMI2" : "portable (both the same)")
            << std::endl;
  ExpectDecodes("", "");
  ExpectDecodes("plain", "plain");
  ExpectDecodes(R"(\"\\\/\b\f\n\r\t)", "\"\\/\b\f\n\r\t");
  ExpectDecodes(R"(\u0041\u00e9\u20AC)", "A\xC3\xA9\xE2\x82\xAC");
  ExpectDecodes(R"(\ud83d\ude00)", "\xF0\x9F\x98\x80");
  ExpectDecodes(R"(\u0000)", std::string(1, '\0'));
  ExpectDecodes("raw \xC3\xA9 stays", "raw \xC3\xA9 stays");
  ExpectDecodes(R"({\"status\":200,\"path\":\"/a\\\\b\"})", R"({"status":200,"path":"/a\\b"})");
}

TEST(JsonUnescapeTest, MalformedEscapes) {
  for (const char* bad : {R"(\x)", R"(\)", R"(ab\)", R"(\u12)", R"(\u12G4)", R"(\ud83d)",
                          R"(\ud83d alone)", R"(\ude00\ud83d)", R"(\ud83d\u0041)", R"(\U0041)"}) {
    ExpectMalformed(bad);
  }
}

// Escapes on either side of the 64-byte blocks the vector decoder works in: a backslash that
// ends a block escapes the first byte of the next.
TEST(JsonUnescapeTest, EscapesAcrossBlockEdges) {
  for (size_t at = 55; at < 135; ++at) {
    for (const std::string escape : {R"(\")", R"(\\)", R"(\/)", R"(\n)", R"(\u00e9)",
                                     R"(\ud83d\ude00)", R"(\\\")"}) {
      const std::string escaped = std::string(at, 'a') + escape + std::string(70, 'b');
      std::string expected;
      ASSERT_TRUE(Reference(escaped, expected));
      ExpectDecodes(escaped, expected);
    }
    ExpectMalformed(std::string(at, 'a') + "\\");
    ExpectMalformed(std::string(at, 'a') + "\\q" + std::string(10, 'b'));
  }
}

// Random literals built from pieces (plain runs, every escape, raw UTF-8, some malformed pieces),
// decoded by both decoders and by nlohmann: the same verdict and the same text.
TEST(JsonUnescapeTest, AgreesWithAReferenceParser) {
  const std::vector<std::string> pieces = {
      "a",      "status", " ",          R"(\")",          R"(\\)",     R"(\/)",  R"(\n)",
      R"(\t)",  R"(\r)",  R"(\b)",      R"(\f)",          R"(\u00e9)", R"(\u20ac)",
      R"(\ud83d\ude00)",  "\xC3\xA9",   "\xF0\x9F\x98\x80", "{",       ":",      "/api/v1",
      R"(\x)",  R"(\ud83d)", R"(\u12)", R"(\ude00)"};
  std::mt19937 random(1);
  std::uniform_int_distribution<size_t> piece(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(0, 120);
  std::bernoulli_distribution malformed_allowed(0.1);
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    const bool allow_bad = malformed_allowed(random);
    std::string escaped;
    for (int n = length(random); n > 0; --n) {
      const size_t k = piece(random);
      if (!allow_bad && k >= pieces.size() - 4) continue;
      escaped += pieces[k];
    }
    std::string expected;
    if (Reference(escaped, expected)) {
      ++accepted;
      ExpectDecodes(escaped, expected);
    } else {
      ExpectMalformed(escaped);
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(accepted, 15000u);  // the test exercised decoding, not just refusals
}

}  // namespace berth::core
