#pragma once
// Conversions between epoch times and the text forms AWS uses.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::core {

// "20261126T190750Z" (SigV4's X-Amz-Date) -> epoch seconds; nullopt when malformed.
std::optional<int64_t> ParseAmzDate(std::string_view text);
// epoch seconds -> "20261126T190750Z"
std::string FormatAmzDate(int64_t epoch_seconds);
// epoch millis -> "2026-11-26T19:07:50.123Z" (ISO 8601, the query protocols' timestamp form)
std::string FormatIso8601(int64_t epoch_millis);
// "2026-11-26T19:07:50Z" or with fractional seconds/offset "+00:00" -> epoch millis.
std::optional<int64_t> ParseIso8601(std::string_view text);

}  // namespace berth::core
