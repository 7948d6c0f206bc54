#include "api/protocol/cbor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace berth::api::cbor {
namespace {

using nlohmann::json;

std::string FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    return c - 'a' + 10;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// Decodes `hex`, failing the test (and returning a discarded value) on an error.
json DecodeHex(std::string_view hex) {
  auto result = Decode(FromHex(hex));
  EXPECT_TRUE(result.ok()) << hex << ": " << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : json(json::value_t::discarded);
}

// Expects `bytes` to be rejected as a SerializationException naming a byte offset.
void ExpectRejected(std::string_view bytes, std::string_view message_part = "") {
  auto result = Decode(bytes);
  ASSERT_FALSE(result.ok()) << ToHex(bytes) << " decoded to " << result->dump();
  EXPECT_EQ(result.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(result.error().aws_code, "SerializationException");
  EXPECT_NE(result.error().message.find("at byte "), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
}

void ExpectRejectedHex(std::string_view hex, std::string_view message_part = "") {
  ExpectRejected(FromHex(hex), message_part);
}

json Binary(std::vector<uint8_t> bytes) { return json::binary(std::move(bytes)); }

TEST(Cbor, Rfc8949Integers) {
  EXPECT_EQ(DecodeHex("00"), 0);
  EXPECT_EQ(DecodeHex("01"), 1);
  EXPECT_EQ(DecodeHex("0a"), 10);
  EXPECT_EQ(DecodeHex("17"), 23);
  EXPECT_EQ(DecodeHex("1818"), 24);
  EXPECT_EQ(DecodeHex("1819"), 25);
  EXPECT_EQ(DecodeHex("1864"), 100);
  EXPECT_EQ(DecodeHex("1903e8"), 1000);
  EXPECT_EQ(DecodeHex("1a000f4240"), 1000000);
  EXPECT_EQ(DecodeHex("1b000000e8d4a51000"), 1000000000000);
  EXPECT_EQ(DecodeHex("1bffffffffffffffff").get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(DecodeHex("20"), -1);
  EXPECT_EQ(DecodeHex("29"), -10);
  EXPECT_EQ(DecodeHex("3863"), -100);
  EXPECT_EQ(DecodeHex("3903e7"), -1000);
  EXPECT_EQ(DecodeHex("3b7fffffffffffffff").get<int64_t>(), INT64_MIN);
}

TEST(Cbor, Rfc8949Floats) {
  EXPECT_EQ(DecodeHex("f90000").get<double>(), 0.0);
  EXPECT_TRUE(std::signbit(DecodeHex("f98000").get<double>()));
  EXPECT_EQ(DecodeHex("f93c00").get<double>(), 1.0);
  EXPECT_EQ(DecodeHex("fb3ff199999999999a").get<double>(), 1.1);
  EXPECT_EQ(DecodeHex("f93e00").get<double>(), 1.5);
  EXPECT_EQ(DecodeHex("f97bff").get<double>(), 65504.0);
  EXPECT_EQ(DecodeHex("fa47c35000").get<double>(), 100000.0);
  EXPECT_EQ(DecodeHex("fa7f7fffff").get<double>(), 3.4028234663852886e+38);
  EXPECT_EQ(DecodeHex("fb7e37e43c8800759c").get<double>(), 1.0e+300);
  EXPECT_EQ(DecodeHex("f90001").get<double>(), 5.960464477539063e-8);    // smallest subnormal
  EXPECT_EQ(DecodeHex("f903ff").get<double>(), 0.00006097555160522461);  // largest subnormal
  EXPECT_EQ(DecodeHex("f90400").get<double>(), 0.00006103515625);
  EXPECT_EQ(DecodeHex("f9c400").get<double>(), -4.0);
  EXPECT_EQ(DecodeHex("fbc010666666666666").get<double>(), -4.1);
  EXPECT_EQ(DecodeHex("f97c00").get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(DecodeHex("f9fc00").get<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(DecodeHex("f97e00").get<double>()));
  EXPECT_EQ(DecodeHex("fa7f800000").get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(DecodeHex("fa7fc00000").get<double>()));
  EXPECT_EQ(DecodeHex("fbfff0000000000000").get<double>(),
            -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(DecodeHex("fb7ff8000000000000").get<double>()));
}

TEST(Cbor, Rfc8949SimpleValues) {
  EXPECT_EQ(DecodeHex("f4"), false);
  EXPECT_EQ(DecodeHex("f5"), true);
  EXPECT_TRUE(DecodeHex("f6").is_null());
  EXPECT_TRUE(DecodeHex("f7").is_null());  // undefined
  ExpectRejectedHex("f0", "simple value 16");
  ExpectRejectedHex("f8ff", "simple value 255");
}

TEST(Cbor, Rfc8949Strings) {
  EXPECT_EQ(DecodeHex("40"), Binary({}));
  EXPECT_EQ(DecodeHex("4401020304"), Binary({1, 2, 3, 4}));
  EXPECT_EQ(DecodeHex("60"), "");
  EXPECT_EQ(DecodeHex("6161"), "a");
  EXPECT_EQ(DecodeHex("6449455446"), "IETF");
  EXPECT_EQ(DecodeHex("62225c"), "\"\\");
  EXPECT_EQ(DecodeHex("62c3bc"), "\u00fc");
  EXPECT_EQ(DecodeHex("63e6b0b4"), "\u6c34");
  EXPECT_EQ(DecodeHex("64f0908591"), "\U00010151");
}

TEST(Cbor, Rfc8949ArraysAndMaps) {
  EXPECT_EQ(DecodeHex("80"), json::array());
  EXPECT_EQ(DecodeHex("83010203"), json({1, 2, 3}));
  EXPECT_EQ(DecodeHex("8301820203820405"), json::parse("[1,[2,3],[4,5]]"));
  json one_to_25 = json::array();
  for (int i = 1; i <= 25; ++i) {
    one_to_25.push_back(i);
  }
  EXPECT_EQ(DecodeHex("98190102030405060708090a0b0c0d0e0f101112131415161718181819"), one_to_25);
  EXPECT_EQ(DecodeHex("a0"), json::object());
  EXPECT_EQ(DecodeHex("a26161016162820203"), json::parse(R"({"a":1,"b":[2,3]})"));
  EXPECT_EQ(DecodeHex("826161a161626163"), json::parse(R"(["a",{"b":"c"}])"));
  EXPECT_EQ(DecodeHex("a56161614161626142616361436164614461656145"),
            json::parse(R"({"a":"A","b":"B","c":"C","d":"D","e":"E"})"));
}

TEST(Cbor, Rfc8949IndefiniteLengths) {
  EXPECT_EQ(DecodeHex("5f42010243030405ff"), Binary({1, 2, 3, 4, 5}));
  EXPECT_EQ(DecodeHex("7f657374726561646d696e67ff"), "streaming");
  EXPECT_EQ(DecodeHex("7fff"), "");
  EXPECT_EQ(DecodeHex("9fff"), json::array());
  const json nested = json::parse("[1,[2,3],[4,5]]");
  EXPECT_EQ(DecodeHex("9f018202039f0405ffff"), nested);
  EXPECT_EQ(DecodeHex("9f01820203820405ff"), nested);
  EXPECT_EQ(DecodeHex("83018202039f0405ff"), nested);
  EXPECT_EQ(DecodeHex("83019f0203ff820405"), nested);
  json one_to_25 = json::array();
  for (int i = 1; i <= 25; ++i) {
    one_to_25.push_back(i);
  }
  EXPECT_EQ(DecodeHex("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff"), one_to_25);
  EXPECT_EQ(DecodeHex("bf61610161629f0203ffff"), json::parse(R"({"a":1,"b":[2,3]})"));
  EXPECT_EQ(DecodeHex("826161bf61626163ff"), json::parse(R"(["a",{"b":"c"}])"));
  EXPECT_EQ(DecodeHex("bf6346756ef563416d7421ff"), json::parse(R"({"Fun":true,"Amt":-2})"));
  // An indefinite-length text string is also accepted as a map key.
  EXPECT_EQ(DecodeHex("a17f61616162ff01"), json::parse(R"({"ab":1})"));
}

TEST(Cbor, Rfc8949TagsAreDroppedButKeepTheirItem) {
  EXPECT_EQ(DecodeHex("c074323031332d30332d32315432303a30343a30305a"), "2013-03-21T20:04:00Z");
  EXPECT_EQ(DecodeHex("d74401020304"), Binary({1, 2, 3, 4}));
  EXPECT_EQ(DecodeHex("d818456449455446"), Binary({0x64, 0x49, 0x45, 0x54, 0x46}));
  EXPECT_EQ(DecodeHex("d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
            "http://www.example.com");
  EXPECT_EQ(DecodeHex("c2c301"), 1);  // nested tags
}

// botocore writes timestamps as tag 1 in its one-byte form (0xC1), which nlohmann cannot read.
TEST(Cbor, Tag1OneByteFormDecodesToTheNumber) {
  const json seconds = DecodeHex("c11a514b67b0");
  EXPECT_TRUE(seconds.is_number_integer());
  EXPECT_EQ(seconds, 1363896240);
  const json fractional = DecodeHex("c1fb41d452d9ec200000");
  EXPECT_TRUE(fractional.is_number_float());
  EXPECT_EQ(fractional.get<double>(), 1363896240.5);
  // The long form of the same tag (0xD8 0x01) is equivalent.
  EXPECT_EQ(DecodeHex("d8011a514b67b0"), 1363896240);
  ExpectRejectedHex("c16161", "tag 1");
  ExpectRejectedHex("c1f6", "tag 1");
}

TEST(Cbor, EncodeUsesSmallestIntegerWidth) {
  EXPECT_EQ(ToHex(Encode(0)), "00");
  EXPECT_EQ(ToHex(Encode(23)), "17");
  EXPECT_EQ(ToHex(Encode(24)), "1818");
  EXPECT_EQ(ToHex(Encode(255)), "18ff");
  EXPECT_EQ(ToHex(Encode(256)), "190100");
  EXPECT_EQ(ToHex(Encode(65535)), "19ffff");
  EXPECT_EQ(ToHex(Encode(65536)), "1a00010000");
  EXPECT_EQ(ToHex(Encode(4294967295u)), "1affffffff");
  EXPECT_EQ(ToHex(Encode(int64_t{4294967296})), "1b0000000100000000");
  EXPECT_EQ(ToHex(Encode(UINT64_MAX)), "1bffffffffffffffff");
  EXPECT_EQ(ToHex(Encode(-1)), "20");
  EXPECT_EQ(ToHex(Encode(-24)), "37");
  EXPECT_EQ(ToHex(Encode(-25)), "3818");
  EXPECT_EQ(ToHex(Encode(-1000)), "3903e7");
  EXPECT_EQ(ToHex(Encode(INT64_MIN)), "3b7fffffffffffffff");
}

TEST(Cbor, EncodeScalars) {
  EXPECT_EQ(ToHex(Encode(nullptr)), "f6");
  EXPECT_EQ(ToHex(Encode(false)), "f4");
  EXPECT_EQ(ToHex(Encode(true)), "f5");
  EXPECT_EQ(ToHex(Encode(1.1)), "fb3ff199999999999a");
  EXPECT_EQ(ToHex(Encode(1.0)), "fb3ff0000000000000");  // floats are always doubles
  EXPECT_EQ(ToHex(Encode(std::numeric_limits<double>::infinity())), "fb7ff0000000000000");
  EXPECT_EQ(ToHex(Encode("IETF")), "6449455446");
  EXPECT_EQ(ToHex(Encode("")), "60");
  EXPECT_EQ(ToHex(Encode(Binary({1, 2, 3, 4}))), "4401020304");
  EXPECT_EQ(ToHex(Encode(json::array())), "80");
  EXPECT_EQ(ToHex(Encode(json::object())), "a0");
  EXPECT_EQ(ToHex(Encode(json::parse(R"({"a":1,"b":[2,3]})"))), "a26161016162820203");
}

TEST(Cbor, EncodeTimestampWritesTag1AroundADouble) {
  EXPECT_EQ(ToHex(Encode(Timestamp(1363896240.5))), "c1fb41d452d9ec200000");
  EXPECT_EQ(Timestamp(1363896240.5), json::parse(R"({"__cbor_epoch_seconds":1363896240.5})"));
  // The marker with an integer writes tag 1 around the integer, as botocore itself sends it.
  EXPECT_EQ(ToHex(Encode(json{{kEpochSecondsKey, 1363896240}})), "c11a514b67b0");
  // Anything else with that key is an ordinary map.
  const json two_members = {{kEpochSecondsKey, 1}, {"b", 2}};
  EXPECT_EQ(Encode(two_members)[0], '\xa2');
  const json not_a_number = {{kEpochSecondsKey, "x"}};
  EXPECT_EQ(Encode(not_a_number)[0], '\xa1');
  // Decoding gives the bare number back.
  EXPECT_EQ(DecodeHex(ToHex(Encode(Timestamp(1363896240.5)))), 1363896240.5);
}

TEST(Cbor, RoundTripNestedStructures) {
  const json value = {
      {"Namespace", "Berth/Test"},
      {"Count", 3},
      {"Negative", -70000},
      {"Big", UINT64_MAX},
      {"Small", INT64_MIN},
      {"Ratio", 0.25},
      {"Flags", {true, false, nullptr}},
      {"Blob", Binary({0, 255, 16})},
      {"Unicode", "\u00fc\u6c34\U00010151"},
      {"Empty", json::object()},
      {"Items",
       {{{"Name", "a"}, {"Values", {1.5, -2, 300}}},
        {{"Name", std::string(300, 'x')}, {"Nested", {{"Deep", {{"Deeper", json::array()}}}}}}}},
  };
  auto decoded = Decode(Encode(value));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, value);
  EXPECT_EQ(Encode(*decoded), Encode(value));
}

TEST(Cbor, RejectsTruncatedInput) {
  ExpectRejected("", "unexpected end of input");
  ExpectRejectedHex("19", "truncated 2-byte argument");
  ExpectRejectedHex("1903", "truncated 2-byte argument");
  ExpectRejectedHex("1b00000000", "truncated 8-byte argument");
  ExpectRejectedHex("6261", "exceeds");
  ExpectRejectedHex("830102", "array of 3 elements exceeds the 2 remaining");
  ExpectRejectedHex("8301021903", "truncated 2-byte argument");
  ExpectRejectedHex("a16161", "unexpected end of input");
  ExpectRejectedHex("fa7f80", "truncated");
  ExpectRejectedHex("9f01", "not terminated");
  ExpectRejectedHex("bf616101", "not terminated");
  ExpectRejectedHex("7f6161", "not terminated");
  ExpectRejectedHex("c1", "unexpected end of input");
}

TEST(Cbor, RejectsLengthBeyondInput) {
  ExpectRejectedHex("5bffffffffffffffff01", "byte string length 18446744073709551615 exceeds");
  ExpectRejectedHex("7b7fffffffffffffff", "text string length");
  ExpectRejectedHex("9bffffffffffffffff00", "array of 18446744073709551615 elements");
  ExpectRejectedHex("bbffffffffffffffff", "map of");
  ExpectRejectedHex("9a0000000200", "array of 2 elements exceeds the 1 remaining");
  ExpectRejectedHex("a2616101", "map of 2 entries exceeds the 3 remaining");
  ExpectRejectedHex("5f5bffffffffffffffffff", "exceeds");
}

TEST(Cbor, RejectsNestingDeeperThan64) {
  std::string ok_arrays(64, '\x81');
  ok_arrays.push_back('\x00');
  EXPECT_TRUE(Decode(ok_arrays).ok());
  std::string deep_arrays(65, '\x81');
  deep_arrays.push_back('\x00');
  ExpectRejected(deep_arrays, "nesting deeper than 64");

  std::string deep_maps;
  for (int i = 0; i < 65; ++i) {
    deep_maps += FromHex("a16161");
  }
  deep_maps.push_back('\x00');
  ExpectRejected(deep_maps, "nesting deeper than 64");

  std::string deep_indefinite(65, '\x9f');
  ExpectRejected(deep_indefinite, "nesting deeper than 64");

  std::string ok_tags(64, '\xc6');
  ok_tags.push_back('\x01');
  EXPECT_TRUE(Decode(ok_tags).ok());
  std::string deep_tags(65, '\xc6');
  deep_tags.push_back('\x01');
  ExpectRejected(deep_tags, "nesting deeper than 64");
}

TEST(Cbor, RejectsTrailingBytes) {
  ExpectRejectedHex("0000", "1 trailing byte(s) after the item at byte 1");
  ExpectRejectedHex("a0ff", "trailing");
  ExpectRejectedHex("8001020304", "4 trailing");
}

TEST(Cbor, RejectsNonStringMapKey) {
  ExpectRejectedHex("a10102", "map key must be a text string, not a unsigned integer");
  ExpectRejectedHex("a1410102", "not a byte string");
  ExpectRejectedHex("bf0102ff", "map key must be a text string");
  ExpectRejectedHex("a1c1616101", "not a tag");
  ExpectRejectedHex("a1f602", "map key must be a text string");
}

TEST(Cbor, RejectsBreakOutsideIndefiniteItem) {
  ExpectRejectedHex("ff", "unexpected break (0xFF) at byte 0");
  ExpectRejectedHex("81ff", "unexpected break");
  ExpectRejectedHex("a1ff00", "unexpected break");
  ExpectRejectedHex("bf6161ff", "unexpected break");  // break where a value is expected
  ExpectRejectedHex("c1ff", "unexpected break");
}

TEST(Cbor, RejectsReservedAndInvalidAdditionalInfo) {
  for (std::string_view hex :
       {"1c", "1d", "1e", "3c", "5d", "7e", "9c", "bd", "dc", "fc", "fd", "fe"}) {
    ExpectRejectedHex(hex, "reserved additional info");
  }
  ExpectRejectedHex("1f", "indefinite length is not allowed for an integer");
  ExpectRejectedHex("3f", "indefinite length is not allowed for an integer");
  ExpectRejectedHex("df01", "indefinite length is not allowed for a tag");
}

TEST(Cbor, RejectsBadIndefiniteStringChunks) {
  ExpectRejectedHex("5f6161ff",
                    "chunk of an indefinite byte string must be a definite byte string");
  ExpectRejectedHex("7f4161ff", "must be a definite text string");
  ExpectRejectedHex("7f7f6161ffff", "must be a definite text string");
  ExpectRejectedHex("5f01ff", "must be a definite byte string");
}

TEST(Cbor, RejectsNegativeBelowInt64Min) {
  ExpectRejectedHex("3b8000000000000000", "below INT64_MIN");
  ExpectRejectedHex("3bffffffffffffffff", "below INT64_MIN");
}

TEST(Cbor, RejectsInvalidUtf8Text) {
  ExpectRejectedHex("61ff", "UTF-8");
  ExpectRejectedHex("62c0af", "UTF-8");          // overlong
  ExpectRejectedHex("63eda080", "UTF-8");        // surrogate
  ExpectRejectedHex("64f4908080", "UTF-8");      // above U+10FFFF
  ExpectRejectedHex("62e6b0", "UTF-8");          // cut short
  ExpectRejectedHex("7f61e662b0b4ff", "UTF-8");  // code point split across chunks
  EXPECT_EQ(DecodeHex("41ff"), Binary({0xff}));  // byte strings are not text
}

TEST(Cbor, ErrorNamesTheOffendingByte) {
  auto result = Decode(FromHex("a2616101616218"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "Invalid CBOR: truncated 1-byte argument at byte 6");
}

// Captured from botocore 1.43.11's smithy-rpc-v2-cbor serializer (client.put_metric_data with a
// Timestamp of 2013-03-21T20:04:00.5Z and Value 42.5). botocore uses definite lengths only,
// writes the timestamp as tag 1 around an *integer* (it drops the .5 seconds) and the double
// member Value as a 0xFB double.
TEST(Cbor, DecodesBotocorePutMetricDataRequest) {
  const json request = DecodeHex(
      "a2694e616d6573706163656a42657274682f546573746a4d65747269634461746181a56a4d65747269634e616d65"
      "6e43"
      "50555574696c697a6174696f6e6a44696d656e73696f6e7381a2644e616d656b536572766963654e616d65655661"
      "6c75"
      "65637765626954696d657374616d70c11a514b67b06556616c7565fb404540000000000064556e69746750657263"
      "656e"
      "74");
  EXPECT_EQ(request["Namespace"], "Berth/Test");
  ASSERT_EQ(request["MetricData"].size(), 1u);
  const json& datum = request["MetricData"][0];
  EXPECT_EQ(datum["MetricName"], "CPUUtilization");
  EXPECT_EQ(datum["Dimensions"], json::parse(R"([{"Name":"ServiceName","Value":"web"}])"));
  EXPECT_TRUE(datum["Timestamp"].is_number_integer());
  EXPECT_EQ(datum["Timestamp"], 1363896240);
  EXPECT_EQ(datum["Value"].get<double>(), 42.5);
  EXPECT_EQ(datum["Unit"], "Percent");
}

// Captured from botocore 1.43.11 (client.get_metric_data, StartTime 20:00Z, EndTime 21:00Z).
TEST(Cbor, DecodesBotocoreGetMetricDataRequest) {
  const json request = DecodeHex(
      "a4714d6574726963446174615175657269657381a3624964626d316a4d657472696353746174a3664d6574726963"
      "a369"
      "4e616d6573706163656a42657274682f546573746a4d65747269634e616d656e4350555574696c697a6174696f6e"
      "6a44"
      "696d656e73696f6e7381a2644e616d656b536572766963654e616d656556616c75656377656266506572696f6418"
      "3c64"
      "5374617467417665726167656a52657475726e44617461f569537461727454696d65c11a514b66c067456e645469"
      "6d65"
      "c11a514b74d06d4d617844617461706f696e74731864");
  ASSERT_EQ(request["MetricDataQueries"].size(), 1u);
  const json& query = request["MetricDataQueries"][0];
  EXPECT_EQ(query["Id"], "m1");
  EXPECT_EQ(query["ReturnData"], true);
  EXPECT_EQ(query["MetricStat"]["Metric"]["Namespace"], "Berth/Test");
  EXPECT_EQ(query["MetricStat"]["Metric"]["MetricName"], "CPUUtilization");
  EXPECT_EQ(query["MetricStat"]["Metric"]["Dimensions"][0]["Value"], "web");
  EXPECT_EQ(query["MetricStat"]["Period"], 60);
  EXPECT_EQ(query["MetricStat"]["Stat"], "Average");
  EXPECT_EQ(request["StartTime"], 1363896000);
  EXPECT_EQ(request["EndTime"], 1363899600);
  EXPECT_EQ(request["MaxDatapoints"], 100);
}

// Golden bytes verified by parsing them with botocore 1.43.11's RpcV2CBORParser through a real
// cloudwatch client: it returned exactly this ListMetrics output.
TEST(Cbor, EncodesListMetricsResponseBotocoreParses) {
  const json response = {
      {"Metrics",
       {{{"Namespace", "Berth/Test"},
         {"MetricName", "CPUUtilization"},
         {"Dimensions",
          {{{"Name", "ServiceName"}, {"Value", "web"}},
           {{"Name", "ClusterName"}, {"Value", "default"}}}}},
        {{"Namespace", "AWS/ECS"},
         {"MetricName", "MemoryUtilization"},
         {"Dimensions", json::array()}}}},
      {"NextToken", "tok-1"},
  };
  EXPECT_EQ(ToHex(Encode(response)),
            "a2674d65747269637382a36a44696d656e73696f6e7382a2644e616d656b536572766963654e616d656556"
            "616c756563"
            "776562a2644e616d656b436c75737465724e616d656556616c75656764656661756c746a4d65747269634e"
            "616d656e43"
            "50555574696c697a6174696f6e694e616d6573706163656a42657274682f54657374a36a44696d656e7369"
            "6f6e73806a"
            "4d65747269634e616d65714d656d6f72795574696c697a6174696f6e694e616d657370616365674157532f"
            "454353694e"
            "657874546f6b656e65746f6b2d31");
}

// Golden bytes verified with botocore 1.43.11: Timestamps parsed to the datetimes
// 2013-03-21T20:04:00.5Z and 2013-03-21T20:05:00Z, Values to [42.5, 7.0].
TEST(Cbor, EncodesGetMetricDataResponseBotocoreParses) {
  const json response = {
      {"MetricDataResults",
       {{{"Id", "m1"},
         {"Label", "CPUUtilization"},
         {"Timestamps", {Timestamp(1363896240.5), json{{kEpochSecondsKey, 1363896300}}}},
         {"Values", {42.5, 7.0}},
         {"StatusCode", "Complete"}}}},
      {"Messages", json::array()},
  };
  EXPECT_EQ(ToHex(Encode(response)),
            "a2684d6573736167657380714d657472696344617461526573756c747381a5624964626d31654c6162656c"
            "6e43505555"
            "74696c697a6174696f6e6a537461747573436f646568436f6d706c6574656a54696d657374616d707382c1"
            "fb41d452d9"
            "ec200000c11a514b67ec6656616c75657382fb4045400000000000fb401c000000000000");
}

}  // namespace
}  // namespace berth::api::cbor
