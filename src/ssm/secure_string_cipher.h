#pragma once
// SecureStringCipher: the port through which Parameter Store encrypts SecureString values. The
// server implements it over the KMS service; ssm never includes a kms header (arrows point down
// through this port only). Tests plug in a fake.
//
// Contract for implementations: a blob returned by Encrypt decrypts only with the same context
// (SSM binds {"PARAMETER_ARN": "arn:aws:ssm:R:A:parameter/NAME"}). Errors carry KMS's own kind
// and code (NotFound for an unknown key, Conflict for a disabled one, AccessDenied, ...); ssm
// turns them into InvalidKeyId as Parameter Store does.

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace berth::ssm {

struct Encrypted {
  std::string blob;     // opaque ciphertext bytes
  std::string key_arn;  // the key that encrypted them
};

struct Decrypted {
  std::string plaintext;
  std::string key_arn;
};

class SecureStringCipher {
 public:
  virtual ~SecureStringCipher() = default;
  // key_ref: a key id, key ARN, alias/NAME or alias ARN; "" = the account's alias/aws/ssm key.
  virtual Result<Encrypted> Encrypt(const std::string& key_ref, std::string_view plaintext,
                                    const std::map<std::string, std::string>& context) = 0;
  virtual Result<Decrypted> Decrypt(std::string_view blob,
                                    const std::map<std::string, std::string>& context) = 0;
  virtual Result<std::string> ResolveKeyArn(const std::string& key_ref) = 0;  // "" -> default key
};

}  // namespace berth::ssm
