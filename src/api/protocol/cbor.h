#pragma once
// CBOR (RFC 8949) codec for the smithy rpc-v2-cbor protocol.
//
// Current botocore (1.43+) talks to CloudWatch in smithy-rpc-v2-cbor: request and response
// bodies are one CBOR map, and timestamps travel as tag 1 (epoch seconds) around an integer or a
// float. nlohmann-json's own CBOR support cannot be used for that: its reader rejects tag 1 in
// the one-byte form 0xC1 that botocore writes, and its writer has no way to put tag 1 around a
// number. So berth decodes CBOR into nlohmann::json itself, and encodes back from it, with a
// small marker object standing in for "tag 1 around this number".
//
// Both functions are pure and thread-safe; they never throw and never abort on any input.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace berth::api::cbor {

// Member name of the marker object `{"__cbor_epoch_seconds": <number>}`. Encode() writes such an
// object (exactly one member, a number) as tag 1 around that number; handlers build it through
// Timestamp(). Decode() never produces it: a decoded tag 1 becomes the bare number.
inline constexpr const char kEpochSecondsKey[] = "__cbor_epoch_seconds";

// Decodes `bytes`, which must hold exactly one CBOR data item and nothing after it.
//
// On success the item is returned as JSON: integers as signed or unsigned numbers, floats of any
// width (half, single, double) as numbers, byte strings as json::binary, text strings as strings,
// arrays, maps (keys must be text strings; a repeated key keeps its last value), false/true, and
// null for both null and undefined. Indefinite-length strings, arrays and maps are accepted.
// Tag 1 around an integer or a float decodes to that number (callers know from the shape which
// members are timestamps); any other tag is dropped and its enclosed item kept.
//
// Fails with InvalidArgument / "SerializationException" (the message names the byte offset) on
// anything malformed or unsupported: truncated input, trailing bytes, a declared length longer
// than the remaining input, reserved additional info 28-30, a misplaced break (0xFF), a non-text
// map key, an integer below INT64_MIN, a text string that is not valid UTF-8, a simple value other
// than false/true/null/undefined, tag 1 around a non-number, or nesting deeper than 64 arrays,
// maps and tags. Memory use grows linearly with the input size.
Result<nlohmann::json> Decode(std::string_view bytes);

// Encodes `value` as one CBOR data item and returns its bytes.
//
// Lengths are always definite, integers use the smallest width, floats are always doubles (0xFB),
// json::binary becomes a byte string (its subtype is ignored), strings become text strings and
// objects become maps with text keys. An object of exactly one member named kEpochSecondsKey whose
// value is a number becomes tag 1 (0xC1) around that number: this is how timestamps are sent.
// A discarded json value is written as null. Text is written as given (no UTF-8 check).
std::string Encode(const nlohmann::json& value);

// Builds the marker object that Encode() writes as tag 1 around `epoch_seconds` (a double, so
// fractional seconds survive; botocore turns either form into a datetime).
nlohmann::json Timestamp(double epoch_seconds);

}  // namespace berth::api::cbor
