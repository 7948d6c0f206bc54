#pragma once
// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) — what nlohmann's
// dump() accepts, so text that passes can always be written as JSON.

#include <cstddef>
#include <string_view>

namespace berth::core {

// Length of the valid UTF-8 sequence starting at text[i], a byte >= 0x80; 0 when none starts
// there (a stray continuation byte, an overlong form, a surrogate, beyond U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view text, size_t i);

bool IsValidUtf8(std::string_view text);

}  // namespace berth::core
