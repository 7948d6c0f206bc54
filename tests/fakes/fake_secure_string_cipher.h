#pragma once
// FakeSecureStringCipher: a stand-in for KMS behind ssm's SecureStringCipher port. Its "cipher"
// reverses the bytes and XORs them with 0x5A, so a blob never contains the plaintext; the blob
// carries a marker, the key ARN and the encryption context, and Decrypt refuses another context.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ssm/secure_string_cipher.h"

namespace berth::testing {

class FakeSecureStringCipher final : public ssm::SecureStringCipher {
 public:
  static constexpr const char* kDefaultKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-00000000ssm0";
  static constexpr const char* kAppKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-4111-8111-111111111111";
  static constexpr const char* kMarker = "FAKEKMS1:";

  FakeSecureStringCipher() {
    keys_[""] = kDefaultKeyArn;
    keys_["alias/aws/ssm"] = kDefaultKeyArn;
    keys_["alias/app"] = kAppKeyArn;
    keys_["11111111-1111-4111-8111-111111111111"] = kAppKeyArn;
    keys_[kAppKeyArn] = kAppKeyArn;
  }

  Result<ssm::Encrypted> Encrypt(const std::string& key_ref, std::string_view plaintext,
                                 const std::map<std::string, std::string>& context) override {
    ++encrypts;
    BERTH_TRY(std::string arn, Lookup(key_ref));
    encrypt_contexts.push_back(context);
    std::string body(plaintext.rbegin(), plaintext.rend());
    for (char& c : body) {
      c = static_cast<char>(c ^ 0x5A);
    }
    return ssm::Encrypted{kMarker + arn + "\n" + Flatten(context) + "\n" + body, arn};
  }

  Result<ssm::Decrypted> Decrypt(std::string_view blob,
                                 const std::map<std::string, std::string>& context) override {
    ++decrypts;
    if (fail) {
      return Unavailable();
    }
    std::string text(blob);
    if (!text.starts_with(kMarker)) {
      return MakeError(ErrorKind::InvalidArgument, "InvalidCiphertextException", "bad blob");
    }
    size_t first = text.find('\n');
    size_t second = text.find('\n', first + 1);
    std::string arn = text.substr(std::string(kMarker).size(), first - std::string(kMarker).size());
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
    return ssm::Decrypted{std::string(body.rbegin(), body.rend()), arn};
  }

  Result<std::string> ResolveKeyArn(const std::string& key_ref) override { return Lookup(key_ref); }

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
