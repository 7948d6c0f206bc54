#include "kms/crypto.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <system_error>
#include <utility>

#include "core/arn.h"
#include "core/assert.h"
#include "core/hex.h"

namespace berth::kms {

// The one place outside KeyMaterial that sees its bytes.
class KeyMaterialAccess {
 public:
  static const std::array<unsigned char, kKeySize>& Bytes(const KeyMaterial& m) { return m.bytes_; }
  static const std::array<unsigned char, kKeySize>& BlobKey(const KeyMaterial& m) {
    return m.blob_key_;
  }
  static KeyMaterial Make(const unsigned char* bytes, uint32_t version) {
    KeyMaterial m;
    std::memcpy(m.bytes_.data(), bytes, kKeySize);
    m.version_ = version;
    DeriveBlobKey(m);
    return m;
  }
  static void DeriveBlobKey(KeyMaterial& m);
};

namespace {

// Format bytes. Distinct values let each reader refuse the other's data at the first byte.
constexpr unsigned char kSealFormat = 0xA1;  // "at rest", version 1
constexpr unsigned char kBlobFormat = 0xB1;  // "blob", version 1
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kHeaderCheckSize = 4;
constexpr size_t kSealOverhead = 1 + kNonceSize + kTagSize;
constexpr size_t kMaxKeyIdInBlob = 255;  // one length byte
constexpr size_t kMaxKeyRefLength = 2048;

// HKDF "info" labels: one derived key per purpose, so a key is never used for two things.
constexpr std::string_view kSealInfo = "berth/kms/master-seal/v1";
constexpr std::string_view kBlobInfo = "berth/kms/blob/v1";
constexpr std::string_view kMaterialAadLabel = "berth/kms/key-material/v1";

using Key = std::array<unsigned char, kKeySize>;

// A derived key on the stack, scrubbed however the scope is left.
struct ScopedKey {
  Key bytes{};
  ScopedKey() = default;
  ScopedKey(const ScopedKey&) = delete;
  ScopedKey& operator=(const ScopedKey&) = delete;
  ~ScopedKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// ---- errors, with the codes and texts KMS sends -----------------------------------------------

Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}
// KMS sends this code with an empty message; saying which check failed would only help an
// attacker probing the format.
Error InvalidCiphertext() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidCiphertextException", "");
}
Error KeyNotFound(std::string message) {
  return MakeError(ErrorKind::NotFound, "NotFoundException", std::move(message));
}
Error AtRest(std::string message) {
  return MakeError(ErrorKind::Internal, "KMSInternalException", std::move(message));
}
std::string Errno() { return std::error_code(errno, std::generic_category()).message(); }

// ---- OpenSSL primitives -----------------------------------------------------------------------

// Fetched once: OpenSSL 3 looks an algorithm up by name on every implicit fetch.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = []() -> const EVP_CIPHER* {
    EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched != nullptr ? fetched : EVP_aes_256_gcm();
  }();
  return cipher;
}

EVP_KDF* Hkdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  BERTH_ASSERT(kdf != nullptr, "OpenSSL 3 provides HKDF");
  return kdf;
}

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// HKDF-SHA256 (RFC 5869) with no salt: the input is already a uniformly random key, so the
// extract step needs none; the label alone separates the purposes.
void DeriveKey(const Key& ikm, std::string_view info, Key* out) {
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(Hkdf()));
  BERTH_ASSERT(ctx != nullptr, "EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  BERTH_ASSERT(EVP_KDF_derive(ctx.get(), out->data(), out->size(), params) == 1, "HKDF-SHA256");
}

// Feeds `in` to the cipher in int-sized pieces; `out` == nullptr feeds AAD.
bool CipherUpdate(EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in) {
  constexpr size_t kChunk = size_t{1} << 30;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t left = in.size();
  while (left > 0) {
    int n = static_cast<int>(std::min(left, kChunk));
    int written = 0;
    if (EVP_CipherUpdate(ctx, out, &written, p, n) != 1) {
      return false;
    }
    if (out != nullptr) {
      out += written;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// AES-256-GCM encryption of `in` into `out` (in.size() bytes); the AAD is the concatenation of
// `aad` parts. OpenSSL failing here is not a data problem, so it aborts.
void GcmEncrypt(const Key& key, const unsigned char* nonce,
                std::initializer_list<std::string_view> aad, std::string_view in,
                unsigned char* out, unsigned char* tag) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  BERTH_ASSERT(ctx != nullptr, "EVP_CIPHER_CTX_new");
  // GCM's default IV length is 12 bytes, which is kNonceSize.
  BERTH_ASSERT(EVP_CipherInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce, 1, nullptr) == 1,
               "AES-256-GCM init");
  for (std::string_view part : aad) {
    BERTH_ASSERT(CipherUpdate(ctx.get(), nullptr, part), "AES-256-GCM aad");
  }
  BERTH_ASSERT(CipherUpdate(ctx.get(), out, in), "AES-256-GCM encrypt");
  int final_len = 0;
  BERTH_ASSERT(EVP_CipherFinal_ex(ctx.get(), out + in.size(), &final_len) == 1 && final_len == 0,
               "AES-256-GCM final");
  BERTH_ASSERT(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1,
               "AES-256-GCM tag");
}

// The inverse; false when the tag does not verify. `out` then holds unauthenticated bytes,
// which the caller must scrub and drop.
bool GcmDecrypt(const Key& key, const unsigned char* nonce,
                std::initializer_list<std::string_view> aad, std::string_view in,
                const unsigned char* tag, unsigned char* out) {
  // One context per thread: allocating one per call showed in GetParameters' profile (10
  // decryptions a call). It keeps the key schedule of the last key it was given, and a run of
  // decryptions under one key (every SecureString under alias/aws/ssm) only sets the nonce:
  // the AES key expansion and GHASH table were a third of each decryption.
  struct KeyedContext {
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx{EVP_CIPHER_CTX_new()};
    Key key{};  // what ctx is keyed with; as secret as the schedule ctx already holds
    bool keyed = false;
    ~KeyedContext() { OPENSSL_cleanse(key.data(), key.size()); }
  };
  thread_local KeyedContext keyed;
  EVP_CIPHER_CTX* ctx = keyed.ctx.get();
  BERTH_ASSERT(ctx != nullptr, "EVP_CIPHER_CTX_new");
  if (keyed.keyed && CRYPTO_memcmp(keyed.key.data(), key.data(), key.size()) == 0) {
    BERTH_ASSERT(EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, 0, nullptr) == 1,
                 "AES-256-GCM nonce");
  } else {
    keyed.keyed = false;
    BERTH_ASSERT(EVP_CipherInit_ex2(ctx, Aes256Gcm(), key.data(), nonce, 0, nullptr) == 1,
                 "AES-256-GCM init");
    keyed.key = key;
    keyed.keyed = true;
  }
  for (std::string_view part : aad) {
    if (!CipherUpdate(ctx, nullptr, part)) {
      return false;
    }
  }
  if (!CipherUpdate(ctx, out, in)) {
    return false;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<unsigned char*>(tag)) != 1) {
    return false;
  }
  int final_len = 0;
  return EVP_CipherFinal_ex(ctx, out + in.size(), &final_len) == 1;
}

unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}
uint32_t GetU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void PutLengthPrefixed(std::string* out, std::string_view s) {
  BERTH_ASSERT(s.size() <= UINT32_MAX, "length fits the 32-bit prefix");
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// The seal AAD binds the format byte, so a future format cannot be opened as this one.
std::string SealImpl(const Key& key, std::string_view plaintext, std::string_view aad) {
  std::string out(kSealOverhead + plaintext.size(), '\0');
  unsigned char* p = Bytes(out);
  p[0] = kSealFormat;
  core::FillRandom(p + 1, kNonceSize);
  GcmEncrypt(key, p + 1, {std::string_view(out.data(), 1), aad}, plaintext, p + kSealOverhead,
             p + 1 + kNonceSize);
  return out;
}

Result<std::string> UnsealImpl(const Key& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead) {
    return AtRest(fmt::format("sealed value is truncated ({} bytes)", sealed.size()));
  }
  const unsigned char* p = Bytes(sealed);
  if (p[0] != kSealFormat) {
    return AtRest(fmt::format("sealed value has unknown format byte 0x{:02x}", p[0]));
  }
  std::string out(sealed.size() - kSealOverhead, '\0');
  if (!GcmDecrypt(key, p + 1, {sealed.substr(0, 1), aad}, sealed.substr(kSealOverhead),
                  p + 1 + kNonceSize, Bytes(out))) {
    OPENSSL_cleanse(out.data(), out.size());
    return AtRest(
        "sealed value failed authentication: wrong master key, wrong context, or corrupted data");
  }
  return out;
}

std::string MaterialAad(std::string_view key_id, uint32_t version) {
  std::string aad(kMaterialAadLabel);
  PutLengthPrefixed(&aad, key_id);
  PutU32(&aad, version);
  return aad;
}

bool ParseHexKey(std::string_view hex, Key* out) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  if (hex.size() != 2 * kKeySize) {
    return false;
  }
  for (size_t i = 0; i < kKeySize; ++i) {
    int hi = digit(hex[2 * i]);
    int lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(out->data(), out->size());
      return false;
    }
    (*out)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

// ---- master key file --------------------------------------------------------------------------

// Closes a file descriptor however the scope is left.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  // Closes now and reports whether the kernel accepted it (a late write error shows here).
  bool Close() {
    int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Result<MasterKey> ReadKeyFile(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return InternalError(fmt::format("cannot stat master key file {}: {}", path, Errno()));
  }
  if (!S_ISREG(st.st_mode)) {
    return InternalError(fmt::format("master key file {} is not a regular file", path));
  }
  // A key readable (or replaceable) by other users protects nothing; refuse rather than fix it
  // silently, so the operator learns the file was exposed.
  if ((st.st_mode & 077) != 0) {
    return InternalError(fmt::format(
        "master key file {} has mode {:04o}; it must not be accessible by group or others "
        "(chmod 600 {})",
        path, st.st_mode & 07777, path));
  }
  constexpr size_t kCap = 2 * kKeySize + 2;  // enough to tell "one byte too many"
  char buf[kCap];
  size_t got = 0;
  while (got < kCap) {
    ssize_t n = ::read(fd, buf + got, kCap - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      OPENSSL_cleanse(buf, sizeof buf);
      return InternalError(fmt::format("cannot read master key file {}: {}", path, Errno()));
    }
    if (n == 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  std::string_view text(buf, got);
  if (text.size() == 2 * kKeySize + 1 && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (text.size() != 2 * kKeySize) {
    OPENSSL_cleanse(buf, sizeof buf);
    return InternalError(fmt::format(
        "master key file {} must hold exactly 64 hex characters (32 bytes) and an optional "
        "newline; it holds {} bytes",
        path, st.st_size));
  }
  Key raw{};
  bool ok = ParseHexKey(text, &raw);
  OPENSSL_cleanse(buf, sizeof buf);
  if (!ok) {
    return InternalError(
        fmt::format("master key file {} holds a character that is not a hex digit", path));
  }
  auto key = MasterKey::FromBytes(std::string_view(reinterpret_cast<char*>(raw.data()), kKeySize));
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return InternalError(fmt::format("cannot write {}: {}", what, Errno()));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

// Creates `path` with a fresh key unless it exists. Losing a race to another creator is
// success: the caller reads whichever file won.
Status CreateKeyFile(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  Key raw{};
  core::FillRandom(raw.data(), raw.size());
  // Hex-encoded in place: a temporary string would leave an unscrubbed copy on the heap.
  std::string text(2 * kKeySize + 1, '\n');
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < kKeySize; ++i) {
    text[2 * i] = kDigits[raw[i] >> 4];
    text[2 * i + 1] = kDigits[raw[i] & 15];
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  unsigned char suffix[4];
  core::FillRandom(suffix, sizeof suffix);
  const std::string tmp =
      path + ".tmp-" + core::HexEncode(std::string_view(reinterpret_cast<char*>(suffix), 4));

  // Scrubs the text and removes the temporary file on every early return.
  struct Cleanup {
    std::string& text;
    const std::string& tmp;
    bool unlink_tmp = false;
    ~Cleanup() {
      OPENSSL_cleanse(text.data(), text.size());
      if (unlink_tmp) {
        ::unlink(tmp.c_str());
      }
    }
  } cleanup{text, tmp};

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return InternalError(fmt::format("cannot create master key file {}: {}", tmp, Errno()));
  }
  cleanup.unlink_tmp = true;
  // The umask may only have removed bits from 0600; set it exactly so the reader accepts it.
  if (::fchmod(fd.get(), 0600) != 0) {
    return InternalError(fmt::format("cannot chmod {}: {}", tmp, Errno()));
  }
  BERTH_RETURN_IF_ERROR(WriteAll(fd.get(), text, tmp));
  if (::fsync(fd.get()) != 0 || !fd.Close()) {
    return InternalError(fmt::format("cannot sync {}: {}", tmp, Errno()));
  }
  // No-clobber rename: an existing key must never be replaced, or everything sealed under it
  // is lost. link() gives the same guarantee where RENAME_NOREPLACE is unsupported.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    cleanup.unlink_tmp = false;
  } else if (errno == EEXIST) {
    return OkStatus();
  } else if (errno == EINVAL || errno == ENOSYS) {
    if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
      return InternalError(fmt::format("cannot link {} to {}: {}", tmp, path, Errno()));
    }
  } else {
    return InternalError(fmt::format("cannot rename {} to {}: {}", tmp, path, Errno()));
  }
  // Make the new directory entry durable too, or a crash could lose a key already in use.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return InternalError(fmt::format("cannot sync directory {}: {}", dir.string(), Errno()));
  }
  return OkStatus();
}

// ---- blobs ------------------------------------------------------------------------------------

// Byte offsets in a blob whose key id is `id_len` bytes long (see README).
struct BlobLayout {
  size_t id_len;
  size_t header_end() const { return 2 + id_len + 4; }  // format, length, id, version
  size_t check() const { return header_end(); }
  size_t nonce() const { return check() + kHeaderCheckSize; }
  size_t tag() const { return nonce() + kNonceSize; }
  size_t ciphertext() const { return tag() + kTagSize; }
};

// The first bytes of SHA-256 over the header. Not a MAC (the GCM tag is): it tells a damaged
// key id or version (InvalidCiphertextException) from an intact blob whose key is gone
// (NotFoundException) before the key is looked up.
// Every blob under one key version has the same header, so the last one's check is kept per
// thread: ten SecureStrings in a GetParameters then cost one digest, not ten.
std::array<unsigned char, kHeaderCheckSize> HeaderCheck(std::string_view header) {
  thread_local std::string last_header;
  thread_local std::array<unsigned char, kHeaderCheckSize> last_check{};
  if (header == last_header) {
    return last_check;
  }
  auto digest = core::Sha256(header);
  std::array<unsigned char, kHeaderCheckSize> out{};
  std::memcpy(out.data(), digest.data(), out.size());
  last_header.assign(header);
  last_check = out;
  return out;
}

Status CheckPlaintextSize(size_t size) {
  if (size < 1) {
    return Validation(
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  if (size > kMaxPlaintextSize) {
    return Validation(
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member "
        "must have length less than or equal to 4096");
  }
  return OkStatus();
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

// ---- MasterKey --------------------------------------------------------------------------------

MasterKey::MasterKey(const unsigned char* raw_key) : valid_(true) {
  Key raw{};
  std::memcpy(raw.data(), raw_key, raw.size());
  DeriveKey(raw, kSealInfo, &seal_key_);
  OPENSSL_cleanse(raw.data(), raw.size());
}

MasterKey::MasterKey(MasterKey&& other) noexcept
    : seal_key_(other.seal_key_), valid_(std::exchange(other.valid_, false)) {
  OPENSSL_cleanse(other.seal_key_.data(), other.seal_key_.size());
}

MasterKey& MasterKey::operator=(MasterKey&& other) noexcept {
  if (this != &other) {
    seal_key_ = other.seal_key_;
    valid_ = std::exchange(other.valid_, false);
    OPENSSL_cleanse(other.seal_key_.data(), other.seal_key_.size());
  }
  return *this;
}

MasterKey::~MasterKey() { OPENSSL_cleanse(seal_key_.data(), seal_key_.size()); }

Result<MasterKey> MasterKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kKeySize) {
    return InternalError(
        fmt::format("a master key is exactly {} bytes, not {}", kKeySize, bytes.size()));
  }
  return MasterKey(Bytes(bytes));
}

Result<MasterKey> MasterKey::FromHex(std::string_view hex) {
  Key raw{};
  if (!ParseHexKey(hex, &raw)) {
    return InternalError(fmt::format(
        "a master key is exactly 64 hex characters (32 bytes); got {} characters", hex.size()));
  }
  MasterKey key(raw.data());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

Result<MasterKey> MasterKey::LoadOrCreate(const std::string& path) {
  if (path.empty()) {
    return InternalError("the master key file path is empty");
  }
  // Open; if missing, create and open again. Reading back what was just written sends a new
  // key through the same checks as an old one, and picks up the winner of a creation race.
  for (int attempt = 0; attempt < 3; ++attempt) {
    // O_NONBLOCK: a FIFO planted at `path` must not hang startup; fstat then refuses it.
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() >= 0) {
      return ReadKeyFile(fd.get(), path);
    }
    if (errno == ELOOP) {
      return InternalError(
          fmt::format("master key file {} is a symbolic link; refusing to follow it", path));
    }
    if (errno != ENOENT) {
      return InternalError(fmt::format("cannot open master key file {}: {}", path, Errno()));
    }
    BERTH_RETURN_IF_ERROR(CreateKeyFile(path));
  }
  return InternalError(
      fmt::format("master key file {} disappeared repeatedly while being created", path));
}

std::string MasterKey::Seal(std::string_view plaintext, std::string_view aad) const {
  BERTH_ASSERT(valid_, "Seal on a moved-from MasterKey");
  return SealImpl(seal_key_, plaintext, aad);
}

Result<std::string> MasterKey::Unseal(std::string_view sealed, std::string_view aad) const {
  BERTH_ASSERT(valid_, "Unseal on a moved-from MasterKey");
  return UnsealImpl(seal_key_, sealed, aad);
}

// ---- KeyMaterial ------------------------------------------------------------------------------

void KeyMaterialAccess::DeriveBlobKey(KeyMaterial& m) { DeriveKey(m.bytes_, kBlobInfo, &m.blob_key_); }

KeyMaterial KeyMaterial::Generate(uint32_t version) {
  KeyMaterial m;
  core::FillRandom(m.bytes_.data(), m.bytes_.size());
  m.version_ = version;
  KeyMaterialAccess::DeriveBlobKey(m);
  return m;
}

Result<KeyMaterial> KeyMaterial::FromBytes(std::string_view bytes, uint32_t version) {
  if (bytes.size() != kKeySize) {
    return Validation(fmt::format("Key material must be exactly {} bytes", kKeySize));
  }
  return KeyMaterialAccess::Make(Bytes(bytes), version);
}

KeyMaterial::~KeyMaterial() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  OPENSSL_cleanse(blob_key_.data(), blob_key_.size());
}

std::string SealKeyMaterial(const MasterKey& master, std::string_view key_id,
                            const KeyMaterial& material) {
  const Key& bytes = KeyMaterialAccess::Bytes(material);
  return master.Seal(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                     MaterialAad(key_id, material.version()));
}

Result<KeyMaterial> UnsealKeyMaterial(const MasterKey& master, std::string_view key_id,
                                      uint32_t version, std::string_view sealed) {
  BERTH_TRY(std::string bytes, master.Unseal(sealed, MaterialAad(key_id, version)));
  if (bytes.size() != kKeySize) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return AtRest(fmt::format("sealed material of key {} version {} is {} bytes, not {}", key_id,
                              version, bytes.size(), kKeySize));
  }
  KeyMaterial m = KeyMaterialAccess::Make(Bytes(bytes), version);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return m;
}

// ---- blobs ------------------------------------------------------------------------------------

std::string SerializeEncryptionContext(const EncryptionContext& context) {
  // std::map orders keys with char_traits<char>::compare, i.e. as unsigned bytes (memcmp), so
  // the order is the UTF-8 byte order whatever order the caller inserted them in.
  std::string out;
  BERTH_ASSERT(context.size() <= UINT32_MAX, "pair count fits 32 bits");
  PutU32(&out, static_cast<uint32_t>(context.size()));
  for (const auto& [key, value] : context) {
    PutLengthPrefixed(&out, key);
    PutLengthPrefixed(&out, value);
  }
  return out;
}

Result<std::string> EncryptBlob(const KeyMaterial& key, std::string_view key_id,
                                std::string_view plaintext, const EncryptionContext& context) {
  BERTH_ASSERT(!key_id.empty() && key_id.size() <= kMaxKeyIdInBlob, "key id fits one byte");
  BERTH_RETURN_IF_ERROR(CheckPlaintextSize(plaintext.size()));
  const BlobLayout at{key_id.size()};
  std::string out;
  out.reserve(at.ciphertext() + plaintext.size());
  out.push_back(static_cast<char>(kBlobFormat));
  out.push_back(static_cast<char>(key_id.size()));
  out.append(key_id);
  PutU32(&out, key.version());
  auto check = HeaderCheck(out);
  out.append(reinterpret_cast<const char*>(check.data()), check.size());
  out.resize(at.ciphertext() + plaintext.size());
  unsigned char* p = Bytes(out);
  core::FillRandom(p + at.nonce(), kNonceSize);

  const std::string aad_context = SerializeEncryptionContext(context);
  GcmEncrypt(KeyMaterialAccess::BlobKey(key), p + at.nonce(),
             {std::string_view(out.data(), at.header_end()), aad_context}, plaintext,
             p + at.ciphertext(), p + at.tag());
  return out;
}

// Format byte, a key id length, a size that can hold 1..4096 ciphertext bytes (every blob
// EncryptBlob makes does; anything else is not ours), and the header check.
static bool HeaderIntact(std::string_view blob) {
  const unsigned char* p = Bytes(blob);
  if (blob.size() < 2 || p[0] != kBlobFormat || p[1] == 0) {
    return false;
  }
  const BlobLayout at{p[1]};
  if (blob.size() <= at.ciphertext() || blob.size() - at.ciphertext() > kMaxPlaintextSize) {
    return false;
  }
  auto check = HeaderCheck(blob.substr(0, at.header_end()));
  return std::memcmp(check.data(), p + at.check(), check.size()) == 0;
}

std::optional<std::string> BlobKeyId(std::string_view blob) {
  if (!HeaderIntact(blob)) {
    return std::nullopt;
  }
  return std::string(blob.substr(2, Bytes(blob)[1]));
}

Result<Decrypted> DecryptBlob(const MaterialLookup& lookup, std::string_view blob,
                              const EncryptionContext& context) {
  BERTH_ASSERT(static_cast<bool>(lookup), "DecryptBlob needs a lookup");
  if (!HeaderIntact(blob)) {
    return InvalidCiphertext();
  }
  const unsigned char* p = Bytes(blob);
  const BlobLayout at{p[1]};
  std::string_view header = blob.substr(0, at.header_end());
  std::string_view key_id = blob.substr(2, at.id_len);
  const uint32_t version = GetU32(p + 2 + at.id_len);
  const KeyMaterial* material = lookup(key_id, version);
  if (material == nullptr) {
    return KeyNotFound(fmt::format("Key '{}' does not exist", key_id));
  }

  const std::string aad_context = SerializeEncryptionContext(context);
  std::string_view ciphertext = blob.substr(at.ciphertext());
  Decrypted out{std::string(key_id), version, std::string(ciphertext.size(), '\0')};
  if (!GcmDecrypt(KeyMaterialAccess::BlobKey(*material), p + at.nonce(), {header, aad_context}, ciphertext, p + at.tag(),
                  Bytes(out.plaintext))) {
    OPENSSL_cleanse(out.plaintext.data(), out.plaintext.size());
    return InvalidCiphertext();
  }
  return out;
}

// ---- data keys --------------------------------------------------------------------------------

Result<DataKeySpec> ParseDataKeySpec(std::string_view text) {
  if (text == "AES_256") {
    return DataKeySpec::Aes256;
  }
  if (text == "AES_128") {
    return DataKeySpec::Aes128;
  }
  return Validation(fmt::format(
      "1 validation error detected: Value '{}' at 'keySpec' failed to satisfy constraint: "
      "Member must satisfy enum value set: [AES_256, AES_128]",
      text));
}

Result<size_t> DataKeyLength(std::optional<DataKeySpec> spec,
                             std::optional<int64_t> number_of_bytes) {
  if (spec.has_value() == number_of_bytes.has_value()) {
    return Validation("Please specify either number of bytes or key spec.");
  }
  if (spec.has_value()) {
    return *spec == DataKeySpec::Aes256 ? size_t{32} : size_t{16};
  }
  const int64_t n = *number_of_bytes;
  if (n < 1) {
    return Validation(
        fmt::format("1 validation error detected: Value '{}' at 'numberOfBytes' failed to satisfy "
                    "constraint: Member must have value greater than or equal to 1",
                    n));
  }
  if (n > static_cast<int64_t>(kMaxDataKeyBytes)) {
    return Validation(
        fmt::format("1 validation error detected: Value '{}' at 'numberOfBytes' failed to satisfy "
                    "constraint: Member must have value less than or equal to 1024",
                    n));
  }
  return static_cast<size_t>(n);
}

Result<DataKey> GenerateDataKey(const KeyMaterial& key, std::string_view key_id,
                                std::optional<DataKeySpec> spec,
                                std::optional<int64_t> number_of_bytes,
                                const EncryptionContext& context) {
  BERTH_TRY(size_t length, DataKeyLength(spec, number_of_bytes));
  DataKey out;
  out.plaintext.resize(length);
  core::FillRandom(out.plaintext.data(), length);
  BERTH_TRY(out.blob, EncryptBlob(key, key_id, out.plaintext, context));
  return out;
}

// ---- key ids and ARNs -------------------------------------------------------------------------

std::string NewKeyId(core::IdSource& ids) { return ids.NewUuid(); }

bool IsKeyId(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  const bool multi_region = text.substr(0, 4) == "mrk-";
  for (size_t i = multi_region ? 4 : 0; i < text.size(); ++i) {
    const bool dash = !multi_region && (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? text[i] != '-' : !IsLowerHex(text[i])) {
      return false;
    }
  }
  return true;
}

std::string KeyArn(std::string_view region, std::string_view account, std::string_view key_id) {
  return fmt::format("arn:aws:kms:{}:{}:key/{}", region, account, key_id);
}

std::string AliasArn(std::string_view region, std::string_view account,
                     std::string_view alias_name) {
  return fmt::format("arn:aws:kms:{}:{}:{}", region, account, alias_name);
}

Result<KeyRef> ParseKeyRef(std::string_view text) {
  if (text.empty()) {
    return Validation(
        "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  if (text.size() > kMaxKeyRefLength) {
    return Validation(fmt::format(
        "1 validation error detected: Value '{}' at 'keyId' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048",
        text));
  }
  constexpr std::string_view kAlias = "alias/";
  constexpr std::string_view kKey = "key/";
  if (text.substr(0, 4) == "arn:") {
    auto arn = core::ParseArn(text);
    if (!arn || arn->service != "kms" || arn->region.empty() || arn->account.empty()) {
      return KeyNotFound(fmt::format("Invalid arn {}", text));
    }
    std::string_view resource = arn->resource;
    if (resource.substr(0, kKey.size()) == kKey && IsKeyId(resource.substr(kKey.size()))) {
      return KeyArnRef{arn->region, arn->account, std::string(resource.substr(kKey.size()))};
    }
    if (resource.substr(0, kAlias.size()) == kAlias && resource.size() > kAlias.size()) {
      return AliasArnRef{arn->region, arn->account, std::string(resource)};
    }
    return KeyNotFound(fmt::format("Invalid arn {}", text));
  }
  if (text.substr(0, kAlias.size()) == kAlias && text.size() > kAlias.size()) {
    return AliasNameRef{std::string(text)};
  }
  if (IsKeyId(text)) {
    return KeyIdRef{std::string(text)};
  }
  return KeyNotFound(fmt::format("Invalid keyId {}", text));
}

}  // namespace berth::kms
