#include "kms/crypto.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/hex.h"
#include "fakes/sequential_ids.h"

namespace berth::kms {
namespace {

constexpr std::string_view kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr std::string_view kOtherKeyId = "0987fedc-12ab-34cd-56ef-1234567890ab";

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Sequence(unsigned char first, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<char>(first + i));
  }
  return out;
}

// A lookup over one key's versions, like the API layer's over its store.
struct Keyring {
  std::string key_id{kKeyId};
  std::map<uint32_t, KeyMaterial> versions;
  int calls = 0;

  MaterialLookup Lookup() {
    return [this](std::string_view id, uint32_t version) -> const KeyMaterial* {
      ++calls;
      if (id != key_id) {
        return nullptr;
      }
      auto it = versions.find(version);
      return it == versions.end() ? nullptr : &it->second;
    };
  }
  const KeyMaterial& Add(uint32_t version) {
    return versions.emplace(version, KeyMaterial::Generate(version)).first->second;
  }
};

void ExpectInvalidCiphertext(const Result<Decrypted>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.error().aws_code, "InvalidCiphertextException") << what;
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << what;
  EXPECT_EQ(r.error().message, "") << what;
}

// ---- blobs --------------------------------------------------------------------------------------

TEST(BlobTest, RoundTripsSizesAndBinaryPlaintext) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  std::string binary("\0\x01\xff\n\0", 5);
  for (const std::string& plaintext :
       {std::string("x"), std::string("hello, berth"), binary, std::string(4096, 'z')}) {
    auto blob = EncryptBlob(key, kKeyId, plaintext, {{"app", "berth"}});
    ASSERT_TRUE(blob.ok());
    EXPECT_EQ(blob->size(), 74 + plaintext.size());  // 38 + 36-byte key id
    auto out = DecryptBlob(ring.Lookup(), *blob, {{"app", "berth"}});
    ASSERT_TRUE(out.ok()) << out.error().aws_code;
    EXPECT_EQ(out->plaintext, plaintext);
    EXPECT_EQ(out->key_id, kKeyId);
    EXPECT_EQ(out->key_version, 1u);
  }
}

TEST(BlobTest, LayoutMatchesTheReadme) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(0x01020304);
  auto blob = EncryptBlob(key, kKeyId, "abc", {});
  ASSERT_TRUE(blob.ok());
  const std::string& b = *blob;
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0xB1);
  EXPECT_EQ(static_cast<unsigned char>(b[1]), 36);
  EXPECT_EQ(b.substr(2, 36), kKeyId);
  EXPECT_EQ(b.substr(38, 4), std::string("\x01\x02\x03\x04"));
  auto digest = core::Sha256(b.substr(0, 42));
  EXPECT_EQ(b.substr(42, 4), std::string(reinterpret_cast<const char*>(digest.data()), 4));
  EXPECT_EQ(b.size(), 42u + 4 + 12 + 16 + 3);
}

TEST(BlobTest, SamePlaintextEncryptsDifferentlyEachTime) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  std::set<std::string> blobs;
  for (int i = 0; i < 20; ++i) {
    blobs.insert(*EncryptBlob(key, kKeyId, "same", {}));
  }
  EXPECT_EQ(blobs.size(), 20u);
}

// Vector made from the README alone, with Python's `cryptography` (AESGCM + HKDF): it pins the
// format, the HKDF label and the context encoding against an independent implementation.
TEST(BlobTest, DecryptsTheKnownAnswerVector) {
  auto material = KeyMaterial::FromBytes(Sequence(0, 32), 3);
  ASSERT_TRUE(material.ok());
  const std::string blob = FromHex(
      "b12431323334616263642d313261622d333463642d353665662d3132333435363738393061620000000300c2"
      "8129000102030405060708090a0ba2d78ee007ea05126bd7a703f39c470e34d36686643e45962dd62c383f");
  auto lookup = [&](std::string_view id, uint32_t version) -> const KeyMaterial* {
    return id == kKeyId && version == 3 ? &*material : nullptr;
  };
  auto out = DecryptBlob(lookup, blob, {{"purpose", "kat"}, {"app", "berth"}});
  ASSERT_TRUE(out.ok()) << out.error().aws_code;
  EXPECT_EQ(out->plaintext, "berth says hi");
  EXPECT_EQ(out->key_id, kKeyId);
  EXPECT_EQ(out->key_version, 3u);
  ExpectInvalidCiphertext(DecryptBlob(lookup, blob, {{"purpose", "kat"}}), "context");
}

TEST(BlobTest, ContextSerializationIsCanonical) {
  EXPECT_EQ(SerializeEncryptionContext({}), std::string(4, '\0'));
  EXPECT_EQ(core::HexEncode(SerializeEncryptionContext({{"b", "2"}, {"a", "1"}})),
            "000000020000000161000000013100000001620000000132");
  // Length prefixes keep different maps apart even when their concatenations agree.
  EXPECT_NE(SerializeEncryptionContext({{"a", "bc"}}), SerializeEncryptionContext({{"ab", "c"}}));
  EXPECT_NE(SerializeEncryptionContext({{"a", ""}}), SerializeEncryptionContext({}));
  // Byte order, not signed-char order: "\xc3\xa9" (é) sorts after "z".
  EXPECT_EQ(SerializeEncryptionContext({{"z", ""}, {"\xc3\xa9", ""}}).substr(8, 1), "z");
}

TEST(BlobTest, ContextMustMatchExactly) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  EncryptionContext ctx{{"app", "berth"}, {"env", "prod"}};
  auto blob = EncryptBlob(key, kKeyId, "secret", ctx);
  ASSERT_TRUE(blob.ok());

  EncryptionContext reordered;  // same pairs, inserted in the other order
  reordered["env"] = "prod";
  reordered["app"] = "berth";
  auto ok = DecryptBlob(ring.Lookup(), *blob, reordered);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->plaintext, "secret");

  ExpectInvalidCiphertext(
      DecryptBlob(ring.Lookup(), *blob, {{"app", "berth"}, {"env", "prod"}, {"x", "y"}}),
      "extra key");
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob, {{"app", "berth"}}), "missing key");
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob, {}), "no context");
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob, {{"app", "berth"}, {"env", "Prod"}}),
                          "changed value");
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob, {{"app", "berth"}, {"Env", "prod"}}),
                          "changed key");

  // And the other way round: a blob made without a context needs none.
  auto plain = EncryptBlob(key, kKeyId, "secret", {});
  ASSERT_TRUE(plain.ok());
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *plain, {{"app", "berth"}}), "added");
  EXPECT_TRUE(DecryptBlob(ring.Lookup(), *plain, {}).ok());
}

TEST(BlobTest, EveryFlippedByteIsInvalidCiphertext) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(7);
  EncryptionContext ctx{{"k", "v"}};
  auto blob = EncryptBlob(key, kKeyId, "the plaintext", ctx);
  ASSERT_TRUE(blob.ok());
  for (size_t i = 0; i < blob->size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = *blob;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), bad, ctx),
                              "byte " + std::to_string(i) + " mask " + std::to_string(mask));
      // A failed decryption leaves nothing behind in the thread's reused cipher context.
      auto good = DecryptBlob(ring.Lookup(), *blob, ctx);
      ASSERT_TRUE(good.ok());
      EXPECT_EQ(good->plaintext, "the plaintext");
    }
  }
}

TEST(BlobTest, EveryTruncationAndExtensionIsInvalidCiphertext) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  auto blob = EncryptBlob(key, kKeyId, "0123456789", {});
  ASSERT_TRUE(blob.ok());
  for (size_t n = 0; n < blob->size(); ++n) {
    ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), blob->substr(0, n), {}),
                            "length " + std::to_string(n));
  }
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob + "x", {}), "one byte more");
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), blob->substr(1), {}), "first byte gone");
}

TEST(BlobTest, MalformedHeadersNeverReachTheLookup) {
  Keyring ring;
  ring.Add(1);
  for (const std::string& junk :
       {std::string(), std::string("\xb1"), std::string("\xb1\x00", 2), std::string(200, '\xb1'),
        std::string("\xa1") + std::string(100, '\0'), std::string(5000, '\0')}) {
    ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), junk, {}), "junk");
  }
  EXPECT_EQ(ring.calls, 0);
}

TEST(BlobTest, SealedValueIsNotABlob) {
  auto master = MasterKey::FromBytes(Sequence(0, 32));
  ASSERT_TRUE(master.ok());
  Keyring ring;
  ring.Add(1);
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), master->Seal("x", ""), {}), "seal");
}

TEST(BlobTest, OversizedCiphertextIsRefusedUnread) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  auto blob = EncryptBlob(key, kKeyId, std::string(4096, 'a'), {});
  ASSERT_TRUE(blob.ok());
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob + "a", {}), "4097 bytes");
}

TEST(BlobTest, UnknownKeyIsNotFound) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  auto blob = EncryptBlob(key, kOtherKeyId, "x", {});
  ASSERT_TRUE(blob.ok());
  auto out = DecryptBlob(ring.Lookup(), *blob, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().aws_code, "NotFoundException");
  EXPECT_EQ(out.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(out.error().message, "Key '0987fedc-12ab-34cd-56ef-1234567890ab' does not exist");
}

TEST(BlobTest, RotatedKeysDecryptOldBlobsWithOldMaterial) {
  Keyring ring;
  auto v1 = EncryptBlob(ring.Add(1), kKeyId, "old", {});
  auto v2 = EncryptBlob(ring.Add(2), kKeyId, "new", {});
  ASSERT_TRUE(v1.ok() && v2.ok());
  auto old_out = DecryptBlob(ring.Lookup(), *v1, {});
  auto new_out = DecryptBlob(ring.Lookup(), *v2, {});
  ASSERT_TRUE(old_out.ok() && new_out.ok());
  EXPECT_EQ(old_out->plaintext, "old");
  EXPECT_EQ(old_out->key_version, 1u);
  EXPECT_EQ(new_out->plaintext, "new");
  EXPECT_EQ(new_out->key_version, 2u);

  // A lookup that ignores the version (a caller bug) gets a failure, not another key's output.
  const KeyMaterial& current = ring.versions.at(2);
  auto sloppy = [&](std::string_view, uint32_t) { return &current; };
  ExpectInvalidCiphertext(DecryptBlob(sloppy, *v1, {}), "wrong version's material");
}

// Decryption keeps a keyed context per thread between calls: runs under one key, switches
// between keys and failed decryptions in between must each behave as if it were fresh.
TEST(BlobTest, InterleavedKeysAndFailuresDecryptAsIfEachWereTheFirst) {
  Keyring ring;
  const KeyMaterial& one = ring.Add(1);
  const KeyMaterial& two = ring.Add(2);
  auto a = EncryptBlob(one, kKeyId, "alpha", {{"n", "a"}});
  auto b = EncryptBlob(one, kKeyId, "bravo", {{"n", "b"}});
  auto c = EncryptBlob(two, kKeyId, "charlie", {{"n", "c"}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::string tampered = *b;
  tampered.back() = static_cast<char>(tampered.back() ^ 1);
  for (int round = 0; round < 3; ++round) {
    auto first = DecryptBlob(ring.Lookup(), *a, {{"n", "a"}});
    ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *a, {{"n", "b"}}), "wrong context");
    ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), tampered, {{"n", "b"}}), "tampered");
    auto same_key = DecryptBlob(ring.Lookup(), *b, {{"n", "b"}});
    auto other_key = DecryptBlob(ring.Lookup(), *c, {{"n", "c"}});
    auto back = DecryptBlob(ring.Lookup(), *a, {{"n", "a"}});
    ASSERT_TRUE(first.ok() && same_key.ok() && other_key.ok() && back.ok()) << round;
    EXPECT_EQ(first->plaintext, "alpha");
    EXPECT_EQ(same_key->plaintext, "bravo");
    EXPECT_EQ(other_key->plaintext, "charlie");
    EXPECT_EQ(back->plaintext, "alpha");
  }
}

TEST(BlobTest, AnotherKeysMaterialFails) {
  Keyring ring;
  ring.Add(1);
  KeyMaterial stranger = KeyMaterial::Generate(1);
  auto blob = EncryptBlob(stranger, kKeyId, "x", {});
  ASSERT_TRUE(blob.ok());
  ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), *blob, {}), "stranger");
}

// KMS: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member
// must have length less than or equal to 4096" (the value itself is sensitive, so not echoed).
TEST(BlobTest, PlaintextLimitIs4096Bytes) {
  KeyMaterial key = KeyMaterial::Generate(1);
  EXPECT_TRUE(EncryptBlob(key, kKeyId, std::string(4096, 'a'), {}).ok());
  auto big = EncryptBlob(key, kKeyId, std::string(4097, 'a'), {});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().aws_code, "ValidationException");
  EXPECT_EQ(big.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(big.error().message,
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096");
  auto empty = EncryptBlob(key, kKeyId, "", {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().aws_code, "ValidationException");
  EXPECT_NE(empty.error().message.find("greater than or equal to 1"), std::string::npos);
}

// ---- data keys ----------------------------------------------------------------------------------

TEST(DataKeyTest, SpecsAndNumberOfBytesGiveTheirSizes) {
  Keyring ring;
  const KeyMaterial& key = ring.Add(1);
  struct Case {
    std::optional<DataKeySpec> spec;
    std::optional<int64_t> bytes;
    size_t want;
  };
  for (const Case& c :
       {Case{DataKeySpec::Aes256, std::nullopt, 32}, Case{DataKeySpec::Aes128, std::nullopt, 16},
        Case{std::nullopt, 1, 1}, Case{std::nullopt, 64, 64}, Case{std::nullopt, 1024, 1024}}) {
    auto dk = GenerateDataKey(key, kKeyId, c.spec, c.bytes, {{"purpose", "ssm"}});
    ASSERT_TRUE(dk.ok()) << c.want;
    EXPECT_EQ(dk->plaintext.size(), c.want);
    auto out = DecryptBlob(ring.Lookup(), dk->blob, {{"purpose", "ssm"}});
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->plaintext, dk->plaintext);
    ExpectInvalidCiphertext(DecryptBlob(ring.Lookup(), dk->blob, {}), "context bound");
  }
  auto a = GenerateDataKey(key, kKeyId, DataKeySpec::Aes256, std::nullopt, {});
  auto b = GenerateDataKey(key, kKeyId, DataKeySpec::Aes256, std::nullopt, {});
  EXPECT_NE(a->plaintext, b->plaintext);
}

TEST(DataKeyTest, RejectsBadSizesWithKmsWording) {
  auto expect = [](Result<size_t> r, const std::string& message) {
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.error().aws_code, "ValidationException");
    EXPECT_EQ(r.error().message, message);
  };
  expect(DataKeyLength(std::nullopt, 0),
         "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
         "constraint: Member must have value greater than or equal to 1");
  expect(DataKeyLength(std::nullopt, -5),
         "1 validation error detected: Value '-5' at 'numberOfBytes' failed to satisfy "
         "constraint: Member must have value greater than or equal to 1");
  expect(DataKeyLength(std::nullopt, 1025),
         "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
         "constraint: Member must have value less than or equal to 1024");
  expect(DataKeyLength(std::nullopt, std::nullopt),
         "Please specify either number of bytes or key spec.");
  expect(DataKeyLength(DataKeySpec::Aes256, 32),
         "Please specify either number of bytes or key spec.");
  KeyMaterial key = KeyMaterial::Generate(1);
  EXPECT_FALSE(GenerateDataKey(key, kKeyId, std::nullopt, 2000, {}).ok());
}

TEST(DataKeyTest, ParsesKeySpecs) {
  EXPECT_EQ(*ParseDataKeySpec("AES_256"), DataKeySpec::Aes256);
  EXPECT_EQ(*ParseDataKeySpec("AES_128"), DataKeySpec::Aes128);
  auto bad = ParseDataKeySpec("AES-256");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().aws_code, "ValidationException");
  EXPECT_EQ(bad.error().message,
            "1 validation error detected: Value 'AES-256' at 'keySpec' failed to satisfy "
            "constraint: Member must satisfy enum value set: [AES_256, AES_128]");
}

// ---- master key and sealing ---------------------------------------------------------------------

class MasterKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kms-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/master.key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& content, mode_t mode) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  std::string Read() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  size_t EntriesInDir() {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }
  void ExpectRefused(const std::string& needle) {
    auto key = MasterKey::LoadOrCreate(path_);
    ASSERT_FALSE(key.ok()) << needle;
    EXPECT_EQ(key.error().kind, ErrorKind::Internal);
    EXPECT_NE(key.error().message.find(needle), std::string::npos) << key.error().message;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(MasterKeyFileTest, CreatesA0600HexFileAndReloadsTheSameKey) {
  auto first = MasterKey::LoadOrCreate(path_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string text = Read();
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u);
  EXPECT_EQ(EntriesInDir(), 1u);  // no temporary file left behind

  std::string sealed = first->Seal("payload", "aad");
  auto second = MasterKey::LoadOrCreate(path_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Read(), text);  // not rewritten
  auto opened = second->Unseal(sealed, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "payload");

  auto from_hex = MasterKey::FromHex(text.substr(0, 64));
  ASSERT_TRUE(from_hex.ok());
  EXPECT_TRUE(from_hex->Unseal(sealed, "aad").ok());
}

TEST_F(MasterKeyFileTest, AcceptsUppercaseAndNoNewline) {
  const std::string hex = core::HexEncode(Sequence(0x20, 32));
  std::string upper = hex;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  Write(upper, 0600);
  auto key = MasterKey::LoadOrCreate(path_);
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto same = MasterKey::FromBytes(Sequence(0x20, 32));
  EXPECT_TRUE(same->Unseal(key->Seal("x", ""), "").ok());
  Write(hex + "\n", 0400);
  EXPECT_TRUE(MasterKey::LoadOrCreate(path_).ok());
}

TEST_F(MasterKeyFileTest, RefusesFilesOthersCanAccess) {
  const std::string hex = core::HexEncode(Sequence(0x20, 32)) + "\n";
  for (mode_t mode : {0640, 0604, 0660, 0602, 0610, 0644}) {
    Write(hex, mode);
    ExpectRefused("must not be accessible by group or others");
  }
  Write(hex, 0644);
  ExpectRefused("has mode 0644");
}

TEST_F(MasterKeyFileTest, RefusesWrongSizesAndNonHex) {
  const std::string hex = core::HexEncode(Sequence(0x20, 32));
  for (const std::string& content :
       {std::string(), hex.substr(0, 63), hex.substr(0, 62) + "\n", hex + "0", hex + "\n\n",
        hex + "\r\n", " " + hex, Sequence(0x20, 32)}) {
    Write(content, 0600);
    ExpectRefused("must hold exactly 64 hex characters");
  }
  Write(hex.substr(0, 63) + "g\n", 0600);
  ExpectRefused("not a hex digit");
  Write(std::string(100000, 'a'), 0600);
  ExpectRefused("holds 100000 bytes");
}

TEST_F(MasterKeyFileTest, RefusesSymlinksDirectoriesAndMissingParents) {
  const std::string target = dir_ + "/real.key";
  { std::ofstream(target) << core::HexEncode(Sequence(0x20, 32)) << "\n"; }
  ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  ExpectRefused("symbolic link");
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  // A dangling symlink must not lead to a key being written through it.
  ASSERT_EQ(::symlink((dir_ + "/elsewhere").c_str(), path_.c_str()), 0);
  ExpectRefused("symbolic link");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/elsewhere"));
  ASSERT_EQ(::unlink(path_.c_str()), 0);

  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  ExpectRefused("not a regular file");
  ASSERT_EQ(::rmdir(path_.c_str()), 0);

  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);  // must not block
  ExpectRefused("not a regular file");
  ASSERT_EQ(::unlink(path_.c_str()), 0);

  auto missing = MasterKey::LoadOrCreate(dir_ + "/no/such/dir/master.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot create"), std::string::npos);
  EXPECT_FALSE(MasterKey::LoadOrCreate("").ok());
}

TEST(MasterKeyTest, FromHexAndFromBytesCheckTheirInput) {
  EXPECT_FALSE(MasterKey::FromHex("abcd").ok());
  EXPECT_FALSE(MasterKey::FromHex(std::string(63, 'a') + "z").ok());
  EXPECT_FALSE(MasterKey::FromBytes(std::string(31, 'a')).ok());
  EXPECT_FALSE(MasterKey::FromBytes(std::string(33, 'a')).ok());
  auto a = MasterKey::FromHex(core::HexEncode(Sequence(0x20, 32)));
  auto b = MasterKey::FromBytes(Sequence(0x20, 32));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(b->Unseal(a->Seal("x", "y"), "y").ok());
}

class SealTest : public ::testing::Test {
 protected:
  MasterKey master_ = std::move(MasterKey::FromBytes(Sequence(0x20, 32))).value();
  MasterKey other_ = std::move(MasterKey::FromBytes(Sequence(0x40, 32))).value();
};

void ExpectSealFailure(const Result<std::string>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.error().kind, ErrorKind::Internal) << what;
  EXPECT_EQ(r.error().aws_code, "KMSInternalException") << what;
}

TEST_F(SealTest, RoundTripsAnySize) {
  for (size_t n : {0, 1, 32, 4097, 1 << 20}) {
    std::string plaintext(n, 'p');
    std::string sealed = master_.Seal(plaintext, "ctx");
    EXPECT_EQ(sealed.size(), 29 + n);
    EXPECT_EQ(static_cast<unsigned char>(sealed[0]), 0xA1);
    auto opened = master_.Unseal(sealed, "ctx");
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, plaintext);
  }
  EXPECT_NE(master_.Seal("x", ""), master_.Seal("x", ""));
}

TEST_F(SealTest, WrongAadOrKeyFails) {
  std::string sealed = master_.Seal("secret", "key-1");
  ExpectSealFailure(master_.Unseal(sealed, "key-2"), "other aad");
  ExpectSealFailure(master_.Unseal(sealed, ""), "no aad");
  ExpectSealFailure(master_.Unseal(sealed, "key-1 "), "longer aad");
  ExpectSealFailure(other_.Unseal(sealed, "key-1"), "other master key");
}

TEST_F(SealTest, EveryFlippedByteAndTruncationFails) {
  std::string sealed = master_.Seal("some secret bytes", "aad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    ExpectSealFailure(master_.Unseal(bad, "aad"), "byte " + std::to_string(i));
  }
  for (size_t n = 0; n < sealed.size(); ++n) {
    ExpectSealFailure(master_.Unseal(sealed.substr(0, n), "aad"), "length " + std::to_string(n));
  }
  ExpectSealFailure(master_.Unseal(sealed + "x", "aad"), "extended");
}

// Independent vector (Python `cryptography`, from the README): format 0xA1 and the HKDF label.
TEST_F(SealTest, OpensTheKnownAnswerVector) {
  auto opened = master_.Unseal(
      FromHex("a1a0a1a2a3a4a5a6a7a8a9aaab4645518ff2547e2f27d768b8481aa5774a86a11c8367e647646d0e3"
              "9d2"),
      "kat-aad");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "sealed secret");
}

TEST_F(SealTest, MovedKeyStillWorks) {
  std::string sealed = master_.Seal("x", "");
  MasterKey moved = std::move(master_);
  EXPECT_TRUE(moved.Unseal(sealed, "").ok());
  other_ = std::move(moved);
  EXPECT_TRUE(other_.Unseal(sealed, "").ok());
}

TEST_F(SealTest, KeyMaterialIsBoundToKeyIdAndVersion) {
  KeyMaterial material = KeyMaterial::Generate(4);
  std::string sealed = SealKeyMaterial(master_, kKeyId, material);
  auto back = UnsealKeyMaterial(master_, kKeyId, 4, sealed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version(), 4u);
  // Same bytes: a blob made with one decrypts with the other.
  auto blob = EncryptBlob(material, kKeyId, "x", {});
  auto lookup = [&](std::string_view, uint32_t) { return &*back; };
  EXPECT_TRUE(DecryptBlob(lookup, *blob, {}).ok());

  EXPECT_FALSE(UnsealKeyMaterial(master_, kOtherKeyId, 4, sealed).ok());
  EXPECT_FALSE(UnsealKeyMaterial(master_, kKeyId, 5, sealed).ok());
  EXPECT_FALSE(UnsealKeyMaterial(other_, kKeyId, 4, sealed).ok());
  // Material sealed by the independent implementation (README) opens and works.
  auto kat = UnsealKeyMaterial(
      master_, kKeyId, 3,
      FromHex("a1a0a1a2a3a4a5a6a7a8a9aaabf928dfabd4d3aaf44a3975cbd80a400939e2c273e206c03309077657a"
              "a4f6edd9f7de6f132231609dbf95926d15a3492"));
  ASSERT_TRUE(kat.ok()) << kat.error().message;
  auto kat_material = KeyMaterial::FromBytes(Sequence(0, 32), 3);
  auto kat_blob = EncryptBlob(*kat_material, kKeyId, "y", {});
  auto kat_lookup = [&](std::string_view, uint32_t) { return &*kat; };
  EXPECT_TRUE(DecryptBlob(kat_lookup, *kat_blob, {}).ok());
}

TEST_F(SealTest, KeyMaterialOfTheWrongLengthIsRefused) {
  std::string aad = "berth/kms/key-material/v1";
  aad += std::string("\0\0\0\x24", 4);
  aad += kKeyId;
  aad += std::string("\0\0\0\x01", 4);
  auto r = UnsealKeyMaterial(master_, kKeyId, 1, master_.Seal(std::string(31, 'k'), aad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("31 bytes"), std::string::npos);
  EXPECT_TRUE(UnsealKeyMaterial(master_, kKeyId, 1, master_.Seal(std::string(32, 'k'), aad)).ok());
  EXPECT_FALSE(KeyMaterial::FromBytes(std::string(16, 'k'), 1).ok());
}

// ---- key ids and ARNs ---------------------------------------------------------------------------

TEST(KeyIdTest, NewIdsAreUuids) {
  core::RandomIdSource random;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    std::string id = NewKeyId(random);
    EXPECT_TRUE(IsKeyId(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 50u);
  testing::SequentialIds seq;
  EXPECT_EQ(NewKeyId(seq), "00000000-0000-4000-8000-000000000001");
}

TEST(KeyIdTest, RecognisesKeyIdForms) {
  EXPECT_TRUE(IsKeyId(kKeyId));
  EXPECT_TRUE(IsKeyId("mrk-1234abcd12ab34cd56ef1234567890ab"));
  for (std::string_view bad :
       {"", "1234abcd-12ab-34cd-56ef-1234567890a", "1234abcd-12ab-34cd-56ef-1234567890abc",
        "1234ABCD-12ab-34cd-56ef-1234567890ab", "1234abcd_12ab-34cd-56ef-1234567890ab",
        "1234abcd-12ab-34cd-56ef-1234567890ag", "mrk-1234abcd-12ab-34cd-56ef-1234567890",
        "mrk-1234abcd12ab34cd56ef1234567890aB", "alias/foo"}) {
    EXPECT_FALSE(IsKeyId(bad)) << bad;
  }
}

TEST(KeyIdTest, BuildsArns) {
  EXPECT_EQ(KeyArn("us-east-1", "000000000000", kKeyId),
            "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_EQ(AliasArn("eu-west-1", "123456789012", "alias/app"),
            "arn:aws:kms:eu-west-1:123456789012:alias/app");
}

TEST(KeyIdTest, ParsesTheFourKeyIdForms) {
  auto id = ParseKeyRef(kKeyId);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(std::get<KeyIdRef>(*id).key_id, kKeyId);

  auto arn = ParseKeyRef(KeyArn("us-east-1", "000000000000", kKeyId));
  ASSERT_TRUE(arn.ok());
  const auto& key_arn = std::get<KeyArnRef>(*arn);
  EXPECT_EQ(key_arn.region, "us-east-1");
  EXPECT_EQ(key_arn.account, "000000000000");
  EXPECT_EQ(key_arn.key_id, kKeyId);

  auto alias = ParseKeyRef("alias/my/app-key_1");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(std::get<AliasNameRef>(*alias).alias_name, "alias/my/app-key_1");

  auto alias_arn = ParseKeyRef("arn:aws:kms:eu-west-1:123456789012:alias/app");
  ASSERT_TRUE(alias_arn.ok());
  const auto& a = std::get<AliasArnRef>(*alias_arn);
  EXPECT_EQ(a.region, "eu-west-1");
  EXPECT_EQ(a.account, "123456789012");
  EXPECT_EQ(a.alias_name, "alias/app");
}

TEST(KeyIdTest, RefusesWhatCannotNameAKey) {
  auto expect = [](std::string_view text, const std::string& code, const std::string& message) {
    auto r = ParseKeyRef(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().aws_code, code) << text;
    EXPECT_EQ(r.error().message, message) << text;
  };
  expect("", "ValidationException",
         "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member "
         "must have length greater than or equal to 1");
  auto long_ref = ParseKeyRef("alias/" + std::string(2043, 'a'));
  ASSERT_FALSE(long_ref.ok());
  EXPECT_EQ(long_ref.error().aws_code, "ValidationException");
  EXPECT_TRUE(ParseKeyRef("alias/" + std::string(2042, 'a')).ok());  // 2048 exactly
  // AWS answers a bare alias name (no "alias/") with "NotFoundException: Invalid keyId".
  expect("my-alias", "NotFoundException", "Invalid keyId my-alias");
  expect("alias/", "NotFoundException", "Invalid keyId alias/");
  expect("arn:aws:s3:::bucket", "NotFoundException", "Invalid arn arn:aws:s3:::bucket");
  expect("arn:aws:kms:us-east-1:000000000000:key/nope", "NotFoundException",
         "Invalid arn arn:aws:kms:us-east-1:000000000000:key/nope");
  expect("arn:aws:kms:us-east-1:000000000000:alias/", "NotFoundException",
         "Invalid arn arn:aws:kms:us-east-1:000000000000:alias/");
  expect("arn:aws:kms::000000000000:alias/x", "NotFoundException",
         "Invalid arn arn:aws:kms::000000000000:alias/x");
  expect("arn:aws:kms:us-east-1", "NotFoundException", "Invalid arn arn:aws:kms:us-east-1");
  EXPECT_EQ(ParseKeyRef("arn:aws:kms:us-east-1:000000000000:grant/x").error().kind,
            ErrorKind::NotFound);
}

}  // namespace
}  // namespace berth::kms
