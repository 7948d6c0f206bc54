#pragma once
// Decoding the text of a JSON string literal: the hot half of reading a PutLogEvents batch, whose
// messages are JSON lines, so a 1 MiB batch holds ~180,000 escaped quotes. simdjson's unescaper
// rescans from every backslash (16 % of the server's ingest time); this one removes the
// backslashes of a 64-byte block in one step where the CPU has AVX-512 VBMI2 (compress), and
// falls back to a memchr loop elsewhere.

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::core {

// Decodes `escaped`, the bytes between a string literal's quotes, into `out` (replacing its
// contents; its capacity is reused; `escaped` must not point into `out`). Returns false for a malformed escape: an unknown letter
// after a backslash, \u without four hex digits, a lone or reversed surrogate, a backslash at
// the end. It does not check what a JSON tokenizer already has (valid UTF-8, no raw quote);
// control characters pass through unchanged.
bool UnescapeJsonString(std::string_view escaped, std::string& out);

// The same into `out`, which has room for escaped.size() bytes (decoding never lengthens);
// returns the decoded length, or std::string_view::npos when malformed.
size_t UnescapeJsonString(std::string_view escaped, char* out);

// The portable decoder alone (what UnescapeJsonString uses without AVX-512 VBMI2): for tests
// that compare the two on the same input.
size_t UnescapeJsonStringScalar(std::string_view escaped, char* out);
// Whether UnescapeJsonString takes the AVX-512 VBMI2 path on this CPU (/proc/cpuinfo's flag is
// avx512_vbmi2): tests say which of the two they compared.
bool JsonUnescapeIsVectorized();

}  // namespace berth::core
