#pragma once
// FakeSecureStringCipher: FakeKms (see there) behind ssm's SecureStringCipher port.

#include <map>
#include <string>

#include "fakes/fake_kms.h"
#include "ssm/secure_string_cipher.h"

namespace berth::testing {

class FakeSecureStringCipher final : public ssm::SecureStringCipher, public FakeKms {
 public:
  static constexpr const char* kDefaultKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-00000000ssm0";
  static constexpr const char* kAppKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-4111-8111-111111111111";

  FakeSecureStringCipher()
      : FakeKms({{"", kDefaultKeyArn},
                 {"alias/aws/ssm", kDefaultKeyArn},
                 {"alias/app", kAppKeyArn},
                 {"11111111-1111-4111-8111-111111111111", kAppKeyArn},
                 {kAppKeyArn, kAppKeyArn}}) {}

  Result<ssm::Encrypted> Encrypt(const std::string& key_ref, std::string_view plaintext,
                                 const std::map<std::string, std::string>& context) override {
    BERTH_TRY(auto sealed, Seal(key_ref, plaintext, context));
    return ssm::Encrypted{std::move(sealed.first), std::move(sealed.second)};
  }

  Result<ssm::Decrypted> Decrypt(std::string_view blob,
                                 const std::map<std::string, std::string>& context) override {
    BERTH_TRY(auto opened, Open(blob, context));
    return ssm::Decrypted{std::move(opened.first), std::move(opened.second)};
  }

  Result<std::string> ResolveKeyArn(const std::string& key_ref) override { return Lookup(key_ref); }
};

}  // namespace berth::testing
