#pragma once
// FakeSecretCipher: FakeKms (see there) behind secretsmanager's SecretCipher port.

#include <map>
#include <string>
#include <utility>

#include "fakes/fake_kms.h"
#include "secretsmanager/secret_cipher.h"

namespace berth::testing {

class FakeSecretCipher final : public secretsmanager::SecretCipher, public FakeKms {
 public:
  static constexpr const char* kDefaultKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-0000000000sm";
  static constexpr const char* kAppKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-4111-8111-111111111111";
  static constexpr const char* kOtherKeyArn =
      "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-4222-8222-222222222222";

  FakeSecretCipher()
      : FakeKms({{"", kDefaultKeyArn},
                 {"alias/aws/secretsmanager", kDefaultKeyArn},
                 {"alias/app", kAppKeyArn},
                 {kAppKeyArn, kAppKeyArn},
                 {"alias/other", kOtherKeyArn}}) {}

  Result<std::pair<std::string, std::string>> Encrypt(
      const std::string& key_ref, std::string_view plaintext,
      const std::map<std::string, std::string>& context) override {
    return Seal(key_ref, plaintext, context);
  }

  Result<std::pair<std::string, std::string>> Decrypt(
      std::string_view blob, const std::map<std::string, std::string>& context) override {
    return Open(blob, context);
  }
};

}  // namespace berth::testing
