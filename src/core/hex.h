#pragma once
// Hex and SHA-256/HMAC helpers over OpenSSL (used by SigV4 and KMS).

#include <array>
#include <string>
#include <string_view>

namespace berth::core {

std::string HexEncode(std::string_view bytes);
std::array<unsigned char, 32> Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::array<unsigned char, 32> HmacSha256(std::string_view key, std::string_view data);

}  // namespace berth::core
