// libFuzzer target for KMS ciphertext blobs: arbitrary bytes given to DecryptBlob must come back
// as InvalidCiphertextException or NotFoundException, never as plaintext or a crash; and a blob
// made from the input must round-trip, and stop decrypting once any one byte of it changes.
//   scripts/fuzz.sh [seconds]

#include <cstdint>
#include <string>

#include "core/hex.h"
#include "kms/crypto.h"

namespace {

using berth::kms::KeyMaterial;

const KeyMaterial& Material(uint32_t version) {
  static const KeyMaterial kOdd = *KeyMaterial::FromBytes(std::string(32, '\x5a'), 1);
  static const KeyMaterial kEven = *KeyMaterial::FromBytes(std::string(32, '\xa5'), 2);
  return version % 2 == 1 ? kOdd : kEven;
}

// Knows every key id whose first byte is even, in versions 1 and 2; the rest are NotFound.
const KeyMaterial* Lookup(std::string_view key_id, uint32_t version) {
  if (key_id.empty() || (static_cast<unsigned char>(key_id[0]) & 1) != 0 ||
      (version != 1 && version != 2)) {
    return nullptr;
  }
  return &Material(version);
}

bool Expected(const berth::Error& e) {
  return e.aws_code == "InvalidCiphertextException" || e.aws_code == "NotFoundException";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const berth::kms::MaterialLookup lookup = Lookup;

  // 1. The input as a blob. Nobody can forge a GCM tag, so success here would be a bug.
  const berth::kms::EncryptionContext some{{"k", std::string(bytes.substr(0, 8))}};
  for (const auto& context : {berth::kms::EncryptionContext{}, some}) {
    auto out = berth::kms::DecryptBlob(lookup, bytes, context);
    if (out.ok() || !Expected(out.error())) {
      __builtin_trap();
    }
  }

  // 2. The input behind a well-formed header (a fuzzer cannot find the SHA-256 check itself),
  //    so the lookup and the tag check run on junk: NotFound for odd key ids, else Invalid.
  if (size >= 1) {
    const size_t id_len = std::min<size_t>(data[0] % 40 + 1, size);
    std::string header = "\xb1";
    header.push_back(static_cast<char>(id_len));
    header.append(bytes.substr(0, id_len));
    header.append(std::string("\0\0\0", 3) + static_cast<char>(1 + (data[0] & 1)));
    auto digest = berth::core::Sha256(header);
    std::string blob = header + std::string(reinterpret_cast<const char*>(digest.data()), 4) +
                       std::string(bytes.substr(id_len));
    auto out = berth::kms::DecryptBlob(lookup, blob, {});
    if (out.ok() || !Expected(out.error())) {
      __builtin_trap();
    }
    const size_t body = blob.size() - (38 + id_len);  // ciphertext bytes, when well-sized
    const bool well_sized = blob.size() > 38 + id_len && body <= 4096;
    const bool unknown_key = (data[0] & 1) != 0;
    if (well_sized && (out.error().aws_code == "NotFoundException") != unknown_key) {
      __builtin_trap();
    }
  }

  // 3. The input as (plaintext, context value): encrypt, decrypt, then damage one byte.
  if (size < 3) {
    return 0;
  }
  const uint32_t version = 1 + (data[0] & 1);
  const size_t split = data[1] % (size - 1) + 1;
  std::string plaintext(bytes.substr(2, std::min<size_t>(split, 4096)));
  if (plaintext.empty()) {
    return 0;
  }
  berth::kms::EncryptionContext context{{"ctx", std::string(bytes.substr(2 + plaintext.size()))}};
  auto blob = berth::kms::EncryptBlob(Material(version), "0a-key", plaintext, context);
  if (!blob.ok()) {
    __builtin_trap();
  }
  auto back = berth::kms::DecryptBlob(lookup, *blob, context);
  if (!back.ok() || back->plaintext != plaintext || back->key_version != version) {
    __builtin_trap();
  }
  std::string damaged = *blob;
  size_t at = (static_cast<size_t>(data[0]) << 8 | data[1]) % damaged.size();
  damaged[at] = static_cast<char>(damaged[at] ^ (data[size - 1] | 1));
  auto broken = berth::kms::DecryptBlob(lookup, damaged, context);
  if (broken.ok() || broken.error().aws_code != "InvalidCiphertextException") {
    __builtin_trap();
  }
  return 0;
}
