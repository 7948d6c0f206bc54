#pragma once
// The cryptography of berth's KMS, as a pure library (no SQL, no JSON, no HTTP).
//
//   master key file ──► MasterKey ──Seal/Unseal──► KeyMaterial at rest (one row per key version)
//                                                        │
//   Encrypt / GenerateDataKey ──EncryptBlob──────────────┤──► ciphertext blob (berth's format)
//   Decrypt ────────────────────DecryptBlob ◄── lookup(key id, version) from the blob
//
// Every cipher is AES-256-GCM from OpenSSL 3 with a random 12-byte nonce; keys are separated by
// purpose with HKDF-SHA256. The byte layouts, and why they look the way they do, are in
// src/kms/README.md. Errors carry the codes KMS sends: ValidationException,
// InvalidCiphertextException, NotFoundException (all ErrorKind::InvalidArgument/NotFound), and
// KMSInternalException (ErrorKind::Internal) for at-rest data berth cannot open.
//
// Thread safety: every function here may be called from any thread; a const MasterKey or
// KeyMaterial may be shared between threads.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/id.h"
#include "core/result.h"

namespace berth::kms {

// KMS's EncryptionContext: non-secret key/value pairs bound to a ciphertext as AAD.
using EncryptionContext = std::map<std::string, std::string>;

inline constexpr size_t kKeySize = 32;             // AES-256
inline constexpr size_t kMaxPlaintextSize = 4096;  // KMS Encrypt's limit
inline constexpr size_t kMaxDataKeyBytes = 1024;   // GenerateDataKey's NumberOfBytes limit

// ---------------------------------------------------------------------------------------------
// Master key: the one secret on disk that protects every KMS key's material.

class MasterKey {
 public:
  // Reads the master key file at `path`, or creates it when it does not exist.
  // File format: 64 hex characters (either case) and an optional single "\n"; nothing else.
  // A new file gets 32 bytes from RAND_bytes, written as 64 lowercase hex characters and "\n",
  // mode 0600, atomically (temporary file with O_EXCL|O_NOFOLLOW, fsync, no-clobber rename,
  // fsync of the directory); two processes racing to create it end up with the same key.
  // Errors (ErrorKind::Internal, with a message for the operator): `path` is a symbolic link or
  // not a regular file, is accessible by group or others (any bit of 077), has the wrong size
  // or a non-hex character, or the file system refused.
  static Result<MasterKey> LoadOrCreate(const std::string& path);
  // The same key from 64 hex characters (e.g. an environment variable); error otherwise.
  static Result<MasterKey> FromHex(std::string_view hex);
  // The same key from exactly 32 raw bytes (tests, known-answer vectors); error otherwise.
  static Result<MasterKey> FromBytes(std::string_view bytes);

  MasterKey(MasterKey&& other) noexcept;
  MasterKey& operator=(MasterKey&& other) noexcept;
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  ~MasterKey();  // OPENSSL_cleanse of the key bytes

  // Encrypts and authenticates `plaintext` (any size) bound to `aad`; the result is
  // 29 + plaintext.size() bytes (format 0xA1, see README). Never fails.
  // REQUIRES: *this was not moved from.
  std::string Seal(std::string_view plaintext, std::string_view aad) const;
  // Opens a Seal() result. A wrong master key, a different `aad`, or any change to `sealed`
  // (tampering, truncation, an unknown format byte) is a KMSInternalException error: at-rest
  // data that does not authenticate is an environment failure, never a client's mistake.
  // No plaintext is returned unless the tag verified.
  Result<std::string> Unseal(std::string_view sealed, std::string_view aad) const;

 private:
  explicit MasterKey(const unsigned char* raw_key);
  std::array<unsigned char, kKeySize> seal_key_{};  // HKDF(master, "berth/kms/master-seal/v1")
  bool valid_ = false;                              // false once moved from
};

// ---------------------------------------------------------------------------------------------
// Key material: the 32 secret bytes of one version of one KMS key. Rotation adds a version;
// old versions are kept so old ciphertexts still decrypt.

class KeyMaterial {
 public:
  // 32 fresh bytes from RAND_bytes.
  static KeyMaterial Generate(uint32_t version);
  // Exactly 32 bytes (tests, imports); a ValidationException otherwise.
  static Result<KeyMaterial> FromBytes(std::string_view bytes, uint32_t version);

  KeyMaterial(const KeyMaterial&) = default;
  KeyMaterial& operator=(const KeyMaterial&) = default;
  ~KeyMaterial();  // OPENSSL_cleanse of the bytes (each copy cleans its own)

  uint32_t version() const { return version_; }

 private:
  friend class KeyMaterialAccess;  // crypto.cc reads the bytes; nothing else does
  KeyMaterial() = default;
  std::array<unsigned char, kKeySize> bytes_{};
  // HKDF(bytes_, "berth/kms/blob/v1"), derived once when the material is made: an SSM
  // GetParameters of ten SecureStrings would otherwise run ten HKDFs per call.
  std::array<unsigned char, kKeySize> blob_key_{};
  uint32_t version_ = 0;
};

// Seals `material` for storage under `key_id`; the AAD binds the key id and the version, so a
// sealed row copied to another key or another version does not open.
std::string SealKeyMaterial(const MasterKey& master, std::string_view key_id,
                            const KeyMaterial& material);
// Opens a SealKeyMaterial() result stored for (`key_id`, `version`). Errors as Unseal, also
// when the sealed plaintext is not exactly 32 bytes.
Result<KeyMaterial> UnsealKeyMaterial(const MasterKey& master, std::string_view key_id,
                                      uint32_t version, std::string_view sealed);

// ---------------------------------------------------------------------------------------------
// Ciphertext blobs: what Encrypt and GenerateDataKey return as CiphertextBlob (before base64).

// Encrypts `plaintext` under `key` (the current version of `key_id`). The blob names the key id
// and the material version, so Decrypt needs neither. `context` is not stored: it is bound as
// AAD, and Decrypt must present the same map (insertion order does not matter).
// Errors: ValidationException when `plaintext` is empty or longer than 4096 bytes (with KMS's
// wording).
// REQUIRES: 1 <= key_id.size() <= 255.
Result<std::string> EncryptBlob(const KeyMaterial& key, std::string_view key_id,
                                std::string_view plaintext, const EncryptionContext& context);

struct Decrypted {
  std::string key_id;  // as stored in the blob
  uint32_t key_version = 0;
  std::string plaintext;
};

// Finds the material for (key id, version) named by a blob, or returns nullptr when that key is
// unknown to the caller. The pointer need only live until DecryptBlob returns. A caller that
// refuses a key for its own reasons (disabled, pending deletion, KeyId mismatch) may record why
// in the closure, return nullptr, and replace the NotFoundException with its own error.
using MaterialLookup = std::function<const KeyMaterial*(std::string_view key_id, uint32_t version)>;

// Authenticates and decrypts a blob made by EncryptBlob.
// Errors: InvalidCiphertextException (empty message, as KMS sends it) for a blob that is
// truncated, extended, malformed, of another format, damaged anywhere, or whose tag does not
// verify under the material and `context` given; NotFoundException when `lookup` returns nullptr
// for the intact key id the blob names. Never returns unauthenticated plaintext.
Result<Decrypted> DecryptBlob(const MaterialLookup& lookup, std::string_view blob,
                              const EncryptionContext& context);

// The key id an intact-looking blob header names (format, length, header check), without any
// key: what IAM checks kms:Decrypt against. nullopt for anything DecryptBlob would reject as
// malformed before looking the key up.
std::optional<std::string> BlobKeyId(std::string_view blob);

// The canonical bytes of a context, as bound into a blob's AAD: a big-endian uint32 pair count,
// then for each pair in byte-wise key order: uint32 key length, key, uint32 value length, value.
// Exposed for the README's examples and for tests.
std::string SerializeEncryptionContext(const EncryptionContext& context);

// ---------------------------------------------------------------------------------------------
// Data keys (GenerateDataKey / GenerateDataKeyWithoutPlaintext).

enum class DataKeySpec : uint8_t { Aes256, Aes128 };

// "AES_256" or "AES_128"; any other text is KMS's enum ValidationException.
Result<DataKeySpec> ParseDataKeySpec(std::string_view text);

// The data key length KMS would generate: exactly one of `spec` and `number_of_bytes` must be
// given, and NumberOfBytes must lie in 1..1024; otherwise a ValidationException.
Result<size_t> DataKeyLength(std::optional<DataKeySpec> spec,
                             std::optional<int64_t> number_of_bytes);

struct DataKey {
  std::string plaintext;  // random bytes of the requested length
  std::string blob;       // EncryptBlob(key, key_id, plaintext, context)
};

// Generates a random data key and its blob. Errors: those of DataKeyLength.
// REQUIRES: 1 <= key_id.size() <= 255.
Result<DataKey> GenerateDataKey(const KeyMaterial& key, std::string_view key_id,
                                std::optional<DataKeySpec> spec,
                                std::optional<int64_t> number_of_bytes,
                                const EncryptionContext& context);

// ---------------------------------------------------------------------------------------------
// Key ids, ARNs, and KeyId arguments.

// A new key id in KMS's form: a lowercase 8-4-4-4-12 UUID (from `ids`).
std::string NewKeyId(core::IdSource& ids);
// True for a lowercase 8-4-4-4-12 hex UUID, or a multi-Region id "mrk-" + 32 lowercase hex.
bool IsKeyId(std::string_view text);
// arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
std::string KeyArn(std::string_view region, std::string_view account, std::string_view key_id);
// arn:aws:kms:REGION:ACCOUNT:alias/NAME; `alias_name` includes the "alias/" prefix.
std::string AliasArn(std::string_view region, std::string_view account,
                     std::string_view alias_name);

// The four ways a KMS KeyId argument may name a key. The API layer resolves aliases and checks
// that an ARN's region and account are its own.
struct KeyIdRef {
  std::string key_id;
};
struct KeyArnRef {
  std::string region;
  std::string account;
  std::string key_id;
};
struct AliasNameRef {
  std::string alias_name;  // "alias/NAME"
};
struct AliasArnRef {
  std::string region;
  std::string account;
  std::string alias_name;  // "alias/NAME"
};
using KeyRef = std::variant<KeyIdRef, KeyArnRef, AliasNameRef, AliasArnRef>;

// Classifies a KeyId argument. Errors: ValidationException for an empty or over-2048-character
// argument; NotFoundException ("Invalid keyId ..." / "Invalid arn ...") for a bare id that is
// not in key id form, a non-KMS ARN, or an ARN whose resource is neither key/ID nor alias/NAME.
// Alias names are not checked beyond "alias/" + at least one character: an alias that cannot
// exist is simply not found later.
Result<KeyRef> ParseKeyRef(std::string_view text);

}  // namespace berth::kms
