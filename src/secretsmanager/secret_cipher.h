#pragma once
// SecretCipher: the port through which Secrets Manager encrypts and decrypts secret values. The
// server implements it over the KMS service; secretsmanager never includes a kms header (arrows
// point down through this port only). Tests plug in a fake.
//
// Contract for implementations:
// - Encrypt(key_ref, plaintext, context) encrypts under the key named by key_ref (a key id, key
//   ARN, alias/NAME or alias ARN; "" = the account's aws/secretsmanager key, created on first
//   use as AWS does) and returns {ciphertext blob, ARN of the key used}.
// - Decrypt(blob, context) returns {plaintext, ARN of the key used}. A blob decrypts only with
//   the context it was encrypted with. SecretsService binds
//   {"SecretARN": ARN, "SecretVersionId": VERSION_ID}, as AWS does, so a blob copied to another
//   secret or version does not decrypt.
// - Errors carry KMS's own kind and code (NotFound for an unknown key, Conflict for a disabled
//   one, AccessDenied, Unavailable, ...). SecretsService reports client-side ones as
//   EncryptionFailure / DecryptionFailure and passes Unavailable and Internal through.
// - Called on the control loop; implementations must not block for long.

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace berth::secretsmanager {

class SecretCipher {
 public:
  virtual ~SecretCipher() = default;
  // key_ref "" = the account's aws/secretsmanager key; returns blob + key ARN.
  virtual Result<std::pair<std::string, std::string>> Encrypt(
      const std::string& key_ref, std::string_view plaintext,
      const std::map<std::string, std::string>& context) = 0;
  // Returns plaintext + key ARN.
  virtual Result<std::pair<std::string, std::string>> Decrypt(
      std::string_view blob, const std::map<std::string, std::string>& context) = 0;
};

}  // namespace berth::secretsmanager
