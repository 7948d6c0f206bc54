#pragma once
// Reading the top-level fields of a flat JSON object without a JSON parser: the common shape of
// a log line (lograge, python-json-logger), read for every event a block stores (block_clusters)
// so that events with the same field values share a cluster.
//
// A flat object here: keys without escapes, values that are strings or plain tokens (numbers,
// true, false, null). Anything else (nesting, escaped keys, odd characters in a token,
// malformed text) is refused, and the caller falls back to simdjson; so whenever a scan
// succeeds on a JSON text, simdjson would resolve each key to the same value text. Some texts
// that are not JSON pass too (a bare word as a value, a raw control character in a string):
// harmless for clustering, since a JSON filter pattern never matches a line simdjson refuses.

#include <array>
#include <cstddef>
#include <string_view>

namespace berth::logs {

struct FlatField {
  std::string_view key;    // the raw bytes between the key's quotes
  std::string_view value;  // the value's JSON text (a string with its quotes)
};
inline constexpr size_t kMaxFlatFields = 64;

// Reads `object` (trimmed: it starts with '{' and ends with '}', which the caller has checked)
// into fields[0, *count). False when it is not a flat object as described above.
//
// Tried and dropped: reading a line from bit masks of its quotes, blanks and token characters
// (64 bytes a word) instead of byte by byte. It was 7-100 % slower on lograge lines
// (bench/micro_bench.cc, BM_ScanFlatObjectLograge): each lookup in the masks waits for the
// last, where the byte loop's well-predicted branches let the CPU run ahead.
bool ScanFlatObject(std::string_view object, std::array<FlatField, kMaxFlatFields>& fields,
                    size_t* count);

}  // namespace berth::logs
