#include "api/protocol/cbor.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/utf8.h"

namespace berth::api::cbor {
namespace {

using nlohmann::json;

// Deep enough for any smithy shape CloudWatch has, shallow enough that recursion is harmless.
constexpr int kMaxDepth = 64;

constexpr uint8_t kMajorUnsigned = 0;
constexpr uint8_t kMajorNegative = 1;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;
constexpr uint8_t kMajorSimple = 7;

constexpr uint8_t kInfoIndefinite = 31;
constexpr uint8_t kBreakByte = 0xFF;
constexpr uint64_t kTagEpochSeconds = 1;

const char* MajorName(uint8_t major) {
  static constexpr const char* kNames[] = {
      "unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag",
      "simple/float"};
  return kNames[major & 7];
}

// IEEE 754 binary16 -> double, following RFC 8949 Appendix D.
double HalfToDouble(uint16_t half) {
  const int exponent = (half >> 10) & 0x1F;
  const int mantissa = half & 0x3FF;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent != 31) {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    value = mantissa == 0 ? std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::quiet_NaN();
  }
  return (half & 0x8000) != 0 ? -value : value;
}

// The initial byte of a data item plus its argument (length, value, tag number or float bits).
// Floats need no special path: a 2/4/8-byte argument read big-endian is exactly their bit pattern.
struct Head {
  size_t offset = 0;  // where the initial byte is, for error messages
  uint8_t major = 0;
  uint8_t info = 0;
  uint64_t arg = 0;
  bool indefinite = false;  // additional info 31
};

// Recursive descent over a borrowed buffer. Recursion is bounded by kMaxDepth, and every length
// is checked against the bytes left before anything is allocated or looped over, so a hostile
// 9-byte header cannot make berth reserve gigabytes or spin for 2^64 iterations.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  Result<json> DecodeAll() {
    BERTH_TRY(json value, DecodeItem(0));
    if (pos_ != in_.size()) {
      return Fail(pos_, std::to_string(in_.size() - pos_) + " trailing byte(s) after the item");
    }
    return value;
  }

 private:
  size_t Remaining() const { return in_.size() - pos_; }

  static Error Fail(size_t offset, const std::string& what) {
    return MakeError(ErrorKind::InvalidArgument, "SerializationException",
                     "Invalid CBOR: " + what + " at byte " + std::to_string(offset));
  }

  Result<Head> ReadHead() {
    Head head;
    head.offset = pos_;
    if (pos_ >= in_.size()) {
      return Fail(pos_, "unexpected end of input");
    }
    const auto initial = static_cast<uint8_t>(in_[pos_++]);
    head.major = initial >> 5;
    head.info = initial & 0x1F;
    if (head.info < 24) {
      head.arg = head.info;
      return head;
    }
    if (head.info >= 28 && head.info <= 30) {
      return Fail(head.offset, "reserved additional info " + std::to_string(head.info));
    }
    // Whether 31 is legal depends on the major type (strings, arrays, maps; 0xFF is a break),
    // so the caller decides.
    if (head.info == kInfoIndefinite) {
      head.indefinite = true;
      return head;
    }
    const size_t width = size_t{1} << (head.info - 24);
    if (Remaining() < width) {
      return Fail(head.offset, "truncated " + std::to_string(width) + "-byte argument");
    }
    for (size_t i = 0; i < width; ++i) {
      head.arg = (head.arg << 8) | static_cast<uint8_t>(in_[pos_++]);
    }
    return head;
  }

  bool AtBreak() const {
    return pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == kBreakByte;
  }

  // Inside an indefinite item: consumes the break and returns true, or returns false if another
  // element follows. Running out of input first is an error.
  Result<bool> TakeBreak(size_t item_offset) {
    if (pos_ >= in_.size()) {
      return Fail(item_offset, "indefinite-length item not terminated by a break");
    }
    if (AtBreak()) {
      ++pos_;
      return true;
    }
    return false;
  }

  // Reads the payload of a byte or text string whose head has been read; indefinite strings are
  // the concatenation of definite chunks of the same major type.
  Result<std::string> ReadString(const Head& head) {
    if (!head.indefinite) {
      return ReadChunk(head);
    }
    // The total can never exceed the input size, since every chunk is bounds-checked.
    std::string out;
    while (true) {
      BERTH_TRY(bool done, TakeBreak(head.offset));
      if (done) {
        return out;
      }
      BERTH_TRY(Head chunk, ReadHead());
      if (chunk.major != head.major || chunk.indefinite) {
        return Fail(chunk.offset, std::string("chunk of an indefinite ") + MajorName(head.major) +
                                      " must be a definite " + MajorName(head.major));
      }
      BERTH_TRY(std::string piece, ReadChunk(chunk));
      out += piece;
    }
  }

  Result<std::string> ReadChunk(const Head& head) {
    if (head.arg > Remaining()) {
      return Fail(head.offset, std::string(MajorName(head.major)) + " length " +
                                   std::to_string(head.arg) + " exceeds the " +
                                   std::to_string(Remaining()) + " remaining byte(s)");
    }
    // The cast is safe: arg <= Remaining() fits size_t.
    std::string piece(in_.substr(pos_, static_cast<size_t>(head.arg)));
    pos_ += static_cast<size_t>(head.arg);
    // Checked per chunk: RFC 8949 forbids splitting a code point across chunks.
    if (head.major == kMajorText && !core::IsValidUtf8(piece)) {
      return Fail(head.offset, "text string is not valid UTF-8");
    }
    return piece;
  }

  // `depth` counts the arrays, maps and tags enclosing the item about to be read.
  Result<json> DecodeItem(int depth) {
    BERTH_TRY(Head head, ReadHead());
    switch (head.major) {
      case kMajorUnsigned:
      case kMajorNegative:
        return DecodeInteger(head);
      case kMajorBytes: {
        BERTH_TRY(std::string bytes, ReadString(head));
        return json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
      }
      case kMajorText: {
        BERTH_TRY(std::string text, ReadString(head));
        return json(std::move(text));
      }
      case kMajorArray:
        return DecodeArray(head, depth + 1);
      case kMajorMap:
        return DecodeMap(head, depth + 1);
      case kMajorTag:
        return DecodeTag(head, depth + 1);
      default:
        return DecodeSimple(head);
    }
  }

  Result<json> DecodeInteger(const Head& head) {
    if (head.indefinite) {
      return Fail(head.offset, "indefinite length is not allowed for an integer");
    }
    if (head.major == kMajorUnsigned) {
      return json(head.arg);
    }
    // The value is -1 - arg; it only fits an int64 while arg <= INT64_MAX.
    if (head.arg > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail(head.offset, "negative integer below INT64_MIN");
    }
    return json(int64_t{-1} - static_cast<int64_t>(head.arg));
  }

  Result<json> DecodeArray(const Head& head, int level) {
    if (level > kMaxDepth) {
      return Fail(head.offset, "nesting deeper than " + std::to_string(kMaxDepth));
    }
    json array = json::array();
    if (head.indefinite) {
      while (true) {
        BERTH_TRY(bool done, TakeBreak(head.offset));
        if (done) {
          return array;
        }
        BERTH_TRY(json element, DecodeItem(level));
        array.push_back(std::move(element));
      }
    }
    // Every element takes at least one byte, so a longer count cannot be satisfied.
    if (head.arg > Remaining()) {
      return Fail(head.offset, "array of " + std::to_string(head.arg) + " elements exceeds the " +
                                   std::to_string(Remaining()) + " remaining byte(s)");
    }
    for (uint64_t i = 0; i < head.arg; ++i) {
      BERTH_TRY(json element, DecodeItem(level));
      array.push_back(std::move(element));
    }
    return array;
  }

  Result<json> DecodeMap(const Head& head, int level) {
    if (level > kMaxDepth) {
      return Fail(head.offset, "nesting deeper than " + std::to_string(kMaxDepth));
    }
    json object = json::object();
    if (head.indefinite) {
      while (true) {
        BERTH_TRY(bool done, TakeBreak(head.offset));
        if (done) {
          return object;
        }
        BERTH_RETURN_IF_ERROR(DecodeEntry(object, level));
      }
    }
    // Every entry takes at least two bytes (key and value).
    if (head.arg > Remaining() / 2) {
      return Fail(head.offset, "map of " + std::to_string(head.arg) + " entries exceeds the " +
                                   std::to_string(Remaining()) + " remaining byte(s)");
    }
    for (uint64_t i = 0; i < head.arg; ++i) {
      BERTH_RETURN_IF_ERROR(DecodeEntry(object, level));
    }
    return object;
  }

  // smithy only ever sends text keys, and a JSON object can hold nothing else; the key is read
  // without recursion so a key cannot smuggle in nesting.
  Status DecodeEntry(json& object, int level) {
    BERTH_TRY(Head key_head, ReadHead());
    if (key_head.major != kMajorText) {
      if (key_head.major == kMajorSimple && key_head.indefinite) {
        return Fail(key_head.offset, "unexpected break (0xFF)");
      }
      return Fail(key_head.offset,
                  std::string("map key must be a text string, not a ") + MajorName(key_head.major));
    }
    BERTH_TRY(std::string key, ReadString(key_head));
    BERTH_TRY(json value, DecodeItem(level));
    object[key] = std::move(value);
    return OkStatus();
  }

  Result<json> DecodeTag(const Head& head, int level) {
    if (head.indefinite) {
      return Fail(head.offset, "indefinite length is not allowed for a tag");
    }
    if (level > kMaxDepth) {
      return Fail(head.offset, "nesting deeper than " + std::to_string(kMaxDepth));
    }
    BERTH_TRY(json value, DecodeItem(level));
    // smithy timestamps: tag 1 around epoch seconds. The caller knows the member is a timestamp,
    // so the bare number is all it needs. Other tags carry nothing berth uses.
    if (head.arg == kTagEpochSeconds && !value.is_number()) {
      return Fail(head.offset, "tag 1 (epoch time) must enclose an integer or a float");
    }
    return value;
  }

  Result<json> DecodeSimple(const Head& head) {
    switch (head.info) {
      case 20:
        return json(false);
      case 21:
        return json(true);
      // 0-19 and 24 (one-byte simple values) are unassigned or reserved; smithy never sends them.
      case 22:
      case 23:  // undefined: smithy has no such value; treat it as absent like null
        return json(nullptr);
      case 25:
        return json(HalfToDouble(static_cast<uint16_t>(head.arg)));
      case 26:
        return json(static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(head.arg))));
      case 27:
        return json(std::bit_cast<double>(head.arg));
      case kInfoIndefinite:
        return Fail(head.offset, "unexpected break (0xFF)");
      default:
        return Fail(head.offset, "unsupported simple value " + std::to_string(head.arg));
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

// Preferred serialization (RFC 8949 4.2.1): the shortest argument that holds the value.
void WriteHead(std::string& out, uint8_t major, uint64_t arg) {
  const auto type_bits = static_cast<uint8_t>(major << 5);
  int width;
  if (arg < 24) {
    out.push_back(static_cast<char>(type_bits | arg));
    return;
  }
  if (arg <= 0xFF) {
    out.push_back(static_cast<char>(type_bits | 24));
    width = 1;
  } else if (arg <= 0xFFFF) {
    out.push_back(static_cast<char>(type_bits | 25));
    width = 2;
  } else if (arg <= 0xFFFFFFFF) {
    out.push_back(static_cast<char>(type_bits | 26));
    width = 4;
  } else {
    out.push_back(static_cast<char>(type_bits | 27));
    width = 8;
  }
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((arg >> shift) & 0xFF));
  }
}

void EncodeValue(const json& value, std::string& out);

void EncodeNumber(const json& value, std::string& out) {
  switch (value.type()) {
    case json::value_t::number_unsigned:
      WriteHead(out, kMajorUnsigned, value.get<uint64_t>());
      return;
    case json::value_t::number_integer: {
      const auto n = value.get<int64_t>();
      // For n < 0 CBOR stores -1 - n, which is ~n in two's complement (no overflow at INT64_MIN).
      if (n >= 0) {
        WriteHead(out, kMajorUnsigned, static_cast<uint64_t>(n));
      } else {
        WriteHead(out, kMajorNegative, ~static_cast<uint64_t>(n));
      }
      return;
    }
    default: {
      // Always a double: shrinking to half/single would save bytes no client cares about, and
      // botocore reads every width anyway.
      out.push_back(static_cast<char>(0xFB));
      const auto bits = std::bit_cast<uint64_t>(value.get<double>());
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((bits >> shift) & 0xFF));
      }
      return;
    }
  }
}

bool IsTimestampMarker(const json& value) {
  return value.size() == 1 && value.begin().key() == kEpochSecondsKey && value.begin()->is_number();
}

void EncodeValue(const json& value, std::string& out) {
  switch (value.type()) {
    // A discarded value only comes from a failed nlohmann parse; null is the harmless choice.
    case json::value_t::null:
    case json::value_t::discarded:
      out.push_back(static_cast<char>(0xF6));
      return;
    case json::value_t::boolean:
      out.push_back(static_cast<char>(value.get<bool>() ? 0xF5 : 0xF4));
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      EncodeNumber(value, out);
      return;
    case json::value_t::string: {
      const auto& text = value.get_ref<const json::string_t&>();
      WriteHead(out, kMajorText, text.size());
      out += text;
      return;
    }
    case json::value_t::binary: {
      const auto& bytes = value.get_binary();
      WriteHead(out, kMajorBytes, bytes.size());
      out.append(bytes.begin(), bytes.end());
      return;
    }
    case json::value_t::array:
      WriteHead(out, kMajorArray, value.size());
      for (const auto& element : value) {
        EncodeValue(element, out);
      }
      return;
    case json::value_t::object:
      if (IsTimestampMarker(value)) {
        WriteHead(out, kMajorTag, kTagEpochSeconds);
        EncodeNumber(*value.begin(), out);
        return;
      }
      WriteHead(out, kMajorMap, value.size());
      for (auto it = value.begin(); it != value.end(); ++it) {
        WriteHead(out, kMajorText, it.key().size());
        out += it.key();
        EncodeValue(*it, out);
      }
      return;
  }
}

}  // namespace

Result<nlohmann::json> Decode(std::string_view bytes) { return Decoder(bytes).DecodeAll(); }

std::string Encode(const nlohmann::json& value) {
  std::string out;
  EncodeValue(value, out);
  return out;
}

nlohmann::json Timestamp(double epoch_seconds) {
  nlohmann::json marker = nlohmann::json::object();
  marker[kEpochSecondsKey] = epoch_seconds;
  return marker;
}

}  // namespace berth::api::cbor
