#pragma once
// Base64 (RFC 4648, with padding): blobs on the AWS JSON protocols travel in this form.

#include <optional>
#include <string>
#include <string_view>

namespace berth::core {

std::string Base64Encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64 (whitespace is not allowed).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace berth::core
