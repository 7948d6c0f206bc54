// libFuzzer target for the hand-written JSON text readers of the PutLogEvents path:
//  - core::UnescapeJsonString (AVX-512 VBMI2 where the CPU has it) must agree with its portable
//    version on every input: the same verdict, the same text, nothing written past the input's
//    length;
//  - logs::ScanFlatObject must stay inside the text and, when it accepts a text simdjson also
//    reads as an object, give the same keys and value texts.
//
// Not part of the build: scripts/fuzz.sh builds and runs it.

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/json_unescape.h"
#include "logs/flat_object.h"

namespace {

void CheckUnescape(std::string_view input) {
  // Each output in an allocation of exactly the input's length, so ASan sees any overrun.
  std::unique_ptr<char[]> fast(new char[std::max<size_t>(input.size(), 1)]);
  std::unique_ptr<char[]> portable(new char[std::max<size_t>(input.size(), 1)]);
  const size_t a = berth::core::UnescapeJsonString(input, fast.get());
  const size_t b = berth::core::UnescapeJsonStringScalar(input, portable.get());
  if (a != b || (a != std::string_view::npos && std::memcmp(fast.get(), portable.get(), a) != 0)) {
    __builtin_trap();
  }
}

void CheckFlatObject(std::string_view input) {
  if (input.size() < 2 || input.front() != '{' || input.back() != '}') return;
  const std::string owned(input);
  std::array<berth::logs::FlatField, berth::logs::kMaxFlatFields> fields;
  size_t count = 0;
  if (!berth::logs::ScanFlatObject(owned, fields, &count)) return;
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(owned);
  try {
    simdjson::ondemand::document doc = parser.iterate(padded);
    size_t k = 0;
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      std::string_view token = field.value().raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t' ||
                                token.back() == '\n' || token.back() == '\r')) {
        token.remove_suffix(1);
      }
      if (k >= count || key != fields[k].key || token != fields[k].value) __builtin_trap();
      ++k;
    }
    if (doc.current_location().error() && k != count) __builtin_trap();
  } catch (const simdjson::simdjson_error&) {
    // Not JSON to simdjson: the scan may accept it (see flat_object.h).
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckUnescape(input);
  CheckFlatObject(input);
  return 0;
}
