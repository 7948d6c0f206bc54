#pragma once
// FakeKms: the KMS stand-in behind the fakes of the services' cipher ports (FakeSecretCipher,
// FakeSecureStringCipher). Its "cipher" reverses the bytes and XORs them with 0x5A, so a blob
// never contains the plaintext; the blob carries a marker, the key ARN and the encryption
// context, and Open refuses another context. Tests drive failures through its public fields.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace berth::testing {

class FakeKms {
 public:
  static constexpr const char* kMarker = "FAKEKMS1:";

  // `keys`: every key reference the fake knows (ids, aliases, ARNs; "" for the default) → ARN.
  explicit FakeKms(std::map<std::string, std::string> keys) : keys_(std::move(keys)) {}

  // The ARN of `key_ref`; KMS's errors for an unknown or disabled key, or when failing.
  Result<std::string> Lookup(const std::string& key_ref) const {
    if (fail) {
      return Unavailable();
    }
    auto it = keys_.find(key_ref);
    if (it == keys_.end()) {
      return MakeError(ErrorKind::NotFound, "NotFoundException",
                       "Key '" + key_ref + "' does not exist");
    }
    if (disabled.count(it->second) > 0) {
      return Disabled(it->second);
    }
    return it->second;
  }

  // (blob, key ARN)
  Result<std::pair<std::string, std::string>> Seal(const std::string& key_ref,
                                                   std::string_view plaintext,
                                                   const std::map<std::string, std::string>& context) {
    ++encrypts;
    BERTH_TRY(std::string arn, Lookup(key_ref));
    encrypt_contexts.push_back(context);
    std::string body(plaintext.rbegin(), plaintext.rend());
    for (char& c : body) {
      c = static_cast<char>(c ^ 0x5A);
    }
    return std::make_pair(kMarker + arn + "\n" + Flatten(context) + "\n" + body, arn);
  }

  // (plaintext, key ARN)
  Result<std::pair<std::string, std::string>> Open(
      std::string_view blob, const std::map<std::string, std::string>& context) {
    ++decrypts;
    if (fail) {
      return Unavailable();
    }
    std::string text(blob);
    const std::string marker = kMarker;
    if (!text.starts_with(marker)) {
      return MakeError(ErrorKind::InvalidArgument, "InvalidCiphertextException", "bad blob");
    }
    size_t first = text.find('\n');
    size_t second = text.find('\n', first + 1);
    std::string arn = text.substr(marker.size(), first - marker.size());
    if (text.substr(first + 1, second - first - 1) != Flatten(context)) {
      return MakeError(ErrorKind::InvalidArgument, "InvalidCiphertextException",
                       "the encryption context does not match");
    }
    if (disabled.count(arn) > 0) {
      return Disabled(arn);
    }
    std::string body = text.substr(second + 1);
    for (char& c : body) {
      c = static_cast<char>(c ^ 0x5A);
    }
    return std::make_pair(std::string(body.rbegin(), body.rend()), arn);
  }

  bool fail = false;               // every call fails as KMS being unreachable would
  std::set<std::string> disabled;  // key ARNs KMS refuses (DisabledException)
  int encrypts = 0;
  int decrypts = 0;
  std::vector<std::map<std::string, std::string>> encrypt_contexts;

 private:
  static Error Unavailable() {
    return MakeError(ErrorKind::Unavailable, "KMSInternalException", "KMS is unreachable");
  }
  static Error Disabled(const std::string& arn) {
    return MakeError(ErrorKind::Conflict, "DisabledException", arn + " is disabled.");
  }
  static std::string Flatten(const std::map<std::string, std::string>& context) {
    std::string out;
    for (const auto& [k, v] : context) {
      out += k + "=" + v + ";";
    }
    return out;
  }
  std::map<std::string, std::string> keys_;
};

}  // namespace berth::testing
