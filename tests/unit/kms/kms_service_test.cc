#include "kms/kms_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "core/base64.h"
#include "fakes/fake_clock.h"
#include "fakes/sequential_ids.h"

namespace berth::kms {
namespace {

constexpr std::string_view kMasterHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kOtherMasterHex =
    "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr int64_t kDayMs = 86'400'000;

MasterKey Master(std::string_view hex = kMasterHex) {
  return std::move(MasterKey::FromHex(hex)).value();
}

KmsConfig Config() {
  KmsConfig config;
  config.region = "us-east-1";
  config.account_id = "123456789012";
  return config;
}

template <typename T>
void ExpectError(const T& result, const std::string& code, const std::string& message = "*") {
  ASSERT_FALSE(result.ok()) << "expected " << code;
  EXPECT_EQ(result.error().aws_code, code) << result.error().message;
  if (message != "*") {
    EXPECT_EQ(result.error().message, message);
  }
}

int64_t CountRows(store::Db& db, const std::string& table) {
  auto stmt = std::move(db.Prepare("SELECT COUNT(*) FROM " + table)).value();
  EXPECT_TRUE(stmt.Step().value());
  return stmt.ColumnInt(0);
}

class KmsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  void Reopen() {
    svc_.reset();
    svc_ = std::make_unique<KmsService>(*db_, clock_, ids_, Master(), Config());
    ASSERT_TRUE(svc_->Open().ok());
  }
  KmsKey MakeKey(const std::string& description = "test key") {
    CreateKeyRequest req;
    req.description = description;
    auto key = svc_->CreateKey(req);
    EXPECT_TRUE(key.ok()) << key.error().message;
    return *key;
  }
  std::string EncryptOk(const std::string& key_ref, const std::string& plaintext,
                        const EncryptionContext& context = {}) {
    auto out = svc_->Encrypt(key_ref, plaintext, context);
    EXPECT_TRUE(out.ok()) << out.error().aws_code << ": " << out.error().message;
    return out.ok() ? out->blob : std::string();
  }

  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<KmsService> svc_;
};

// ---- CreateKey / DescribeKey ------------------------------------------------------------------

TEST_F(KmsServiceTest, CreateKey_Defaults) {
  KmsKey key = MakeKey("my key");
  EXPECT_TRUE(IsKeyId(key.key_id));
  EXPECT_EQ(key.arn, "arn:aws:kms:us-east-1:123456789012:key/" + key.key_id);
  EXPECT_EQ(key.description, "my key");
  EXPECT_EQ(key.state, KeyState::Enabled);
  EXPECT_TRUE(key.enabled());
  EXPECT_EQ(key.manager, KeyManager::Customer);
  EXPECT_EQ(key.created_ms, clock_.NowMillis());
  EXPECT_FALSE(key.rotation_enabled);
  EXPECT_EQ(key.current_version, 1u);
}

TEST_F(KmsServiceTest, DescribeKey_AcceptsEveryKindOfKeyRef) {
  KmsKey key = MakeKey();
  ASSERT_TRUE(svc_->CreateAlias("alias/app", key.key_id).ok());
  for (const std::string& ref : {key.key_id, key.arn, std::string("alias/app"),
                                 std::string("arn:aws:kms:us-east-1:123456789012:alias/app")}) {
    auto d = svc_->DescribeKey(ref);
    ASSERT_TRUE(d.ok()) << ref << ": " << d.error().message;
    EXPECT_EQ(d->key_id, key.key_id) << ref;
  }
}

TEST_F(KmsServiceTest, DescribeKey_NotFoundMessages) {
  const std::string id = "11111111-2222-4333-8444-555555555555";
  ExpectError(svc_->DescribeKey(id), "NotFoundException",
              "Key 'arn:aws:kms:us-east-1:123456789012:key/" + id + "' does not exist");
  ExpectError(svc_->DescribeKey("arn:aws:kms:us-east-1:123456789012:key/" + id),
              "NotFoundException",
              "Key 'arn:aws:kms:us-east-1:123456789012:key/" + id + "' does not exist");
  // KMS's answer to an ARN of another region.
  ExpectError(svc_->DescribeKey("arn:aws:kms:eu-west-1:123456789012:key/" + id),
              "NotFoundException", "Invalid arn eu-west-1");
  ExpectError(svc_->DescribeKey("alias/nope"), "NotFoundException",
              "Alias arn:aws:kms:us-east-1:123456789012:alias/nope is not found.");
  ExpectError(svc_->DescribeKey("not-a-key-id"), "NotFoundException");
  ExpectError(svc_->DescribeKey(""), "ValidationException");
}

TEST_F(KmsServiceTest, DescribeKey_KeyOfAnotherAccountIsNotFound) {
  KmsKey key = MakeKey();
  ExpectError(svc_->DescribeKey("arn:aws:kms:us-east-1:999999999999:key/" + key.key_id),
              "NotFoundException");
}

TEST_F(KmsServiceTest, CreateKey_RejectsWhatBerthDoesNotEmulate) {
  auto create = [&](auto mutate) {
    CreateKeyRequest req;
    mutate(req);
    return svc_->CreateKey(req);
  };
  ExpectError(create([](CreateKeyRequest& r) { r.key_spec = "RSA_2048"; }),
              "UnsupportedOperationException");
  ExpectError(create([](CreateKeyRequest& r) { r.customer_master_key_spec = "ECC_NIST_P256"; }),
              "UnsupportedOperationException");
  auto bad_spec = create([](CreateKeyRequest& r) { r.key_spec = "AES_999"; });
  ExpectError(bad_spec, "ValidationException");
  EXPECT_NE(bad_spec.error().message.find("Value 'AES_999' at 'keySpec'"), std::string::npos);
  ExpectError(create([](CreateKeyRequest& r) { r.key_usage = "RANDOM"; }), "ValidationException",
              "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy "
              "constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, "
              "GENERATE_VERIFY_MAC]");
  ExpectError(create([](CreateKeyRequest& r) { r.key_usage = "SIGN_VERIFY"; }),
              "ValidationException");
  ExpectError(create([](CreateKeyRequest& r) {
                r.key_spec = "SYMMETRIC_DEFAULT";
                r.customer_master_key_spec = "SYMMETRIC_DEFAULT";
              }),
              "ValidationException");
  ExpectError(create([](CreateKeyRequest& r) { r.origin = "EXTERNAL"; }),
              "UnsupportedOperationException");
  ExpectError(create([](CreateKeyRequest& r) { r.origin = "MOON"; }), "ValidationException");
  ExpectError(create([](CreateKeyRequest& r) { r.multi_region = true; }),
              "UnsupportedOperationException");
  ExpectError(create([](CreateKeyRequest& r) { r.custom_key_store_id = "cks-1"; }),
              "UnsupportedOperationException");
  ExpectError(create([](CreateKeyRequest& r) { r.policy = "not json"; }),
              "MalformedPolicyDocumentException");
  ExpectError(create([](CreateKeyRequest& r) { r.description = std::string(8193, 'd'); }),
              "ValidationException");
  ExpectError(create([](CreateKeyRequest& r) { r.tags = {{"aws:owner", "me"}}; }), "TagException");
  // Explicit defaults are fine; nothing above created a key.
  auto ok = create([](CreateKeyRequest& r) {
    r.key_spec = "SYMMETRIC_DEFAULT";
    r.key_usage = "ENCRYPT_DECRYPT";
    r.origin = "AWS_KMS";
    r.multi_region = false;
  });
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(svc_->ListKeys(std::nullopt, "")->items.size(), 1u);
}

// ---- ListKeys ---------------------------------------------------------------------------------

TEST_F(KmsServiceTest, ListKeys_Pages) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.insert(MakeKey().key_id);
  }
  std::set<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto page = svc_->ListKeys(2, marker);
    ASSERT_TRUE(page.ok()) << page.error().message;
    EXPECT_LE(page->items.size(), 2u);
    for (const KmsKey& k : page->items) {
      EXPECT_TRUE(seen.insert(k.key_id).second) << "listed twice: " << k.key_id;
    }
    marker = page->next_marker;
    EXPECT_EQ(page->truncated(), !marker.empty());
    ++pages;
  } while (!marker.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, created);

  auto all = svc_->ListKeys(std::nullopt, "");
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_FALSE(all->truncated());
  ExpectError(svc_->ListKeys(0, ""), "ValidationException",
              "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
              "Member must have value greater than or equal to 1");
  ExpectError(svc_->ListKeys(1001, ""), "ValidationException");
  ExpectError(svc_->ListKeys(std::nullopt, "garbage"), "InvalidMarkerException");
}

// ---- Encrypt / Decrypt -----------------------------------------------------------------------

TEST_F(KmsServiceTest, EncryptDecrypt_RoundTrip) {
  KmsKey key = MakeKey();
  const EncryptionContext context = {{"PARAMETER_ARN", "arn:aws:ssm:us-east-1:1:parameter/x"}};
  auto enc = svc_->Encrypt(key.key_id, "s3cr3t", context);
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  EXPECT_EQ(enc->key_arn, key.arn);

  // KeyId is optional for symmetric keys; any kind of ref to the right key is accepted.
  for (const std::string& expected : {std::string(), key.key_id, key.arn}) {
    auto dec = svc_->Decrypt(enc->blob, context, expected);
    ASSERT_TRUE(dec.ok()) << dec.error().aws_code;
    EXPECT_EQ(dec->plaintext, "s3cr3t");
    EXPECT_EQ(dec->key_arn, key.arn);
  }
}

TEST_F(KmsServiceTest, Decrypt_WrongContextOrTamperedBlobIsInvalidCiphertext) {
  KmsKey key = MakeKey();
  std::string blob = EncryptOk(key.key_id, "payload", {{"a", "b"}});
  ExpectError(svc_->Decrypt(blob, {}, ""), "InvalidCiphertextException", "");
  ExpectError(svc_->Decrypt(blob, {{"a", "c"}}, ""), "InvalidCiphertextException", "");
  ExpectError(svc_->Decrypt(blob, {{"a", "b"}, {"x", "y"}}, ""), "InvalidCiphertextException");
  std::string tampered = blob;
  tampered.back() = static_cast<char>(tampered.back() ^ 0x01);
  ExpectError(svc_->Decrypt(tampered, {{"a", "b"}}, ""), "InvalidCiphertextException");
  ExpectError(svc_->Decrypt(blob.substr(0, blob.size() - 1), {{"a", "b"}}, ""),
              "InvalidCiphertextException");
  ExpectError(svc_->Decrypt("not a blob at all", {}, ""), "InvalidCiphertextException");
}

TEST_F(KmsServiceTest, Decrypt_KeyIdOfAnotherKeyIsIncorrectKey) {
  KmsKey key = MakeKey();
  KmsKey other = MakeKey();
  std::string blob = EncryptOk(key.key_id, "payload");
  ExpectError(svc_->Decrypt(blob, {}, other.key_id), "IncorrectKeyException",
              "The key ID in the request does not identify a CMK that can perform this "
              "operation.");
  ExpectError(svc_->Decrypt(blob, {}, "11111111-2222-4333-8444-555555555555"), "NotFoundException");
}

TEST_F(KmsServiceTest, Encrypt_PlaintextLimits) {
  KmsKey key = MakeKey();
  ExpectError(svc_->Encrypt(key.key_id, "", {}), "ValidationException");
  ExpectError(svc_->Encrypt(key.key_id, std::string(4097, 'x'), {}), "ValidationException");
  EXPECT_TRUE(svc_->Encrypt(key.key_id, std::string(4096, 'x'), {}).ok());
}

// ---- key states -------------------------------------------------------------------------------

TEST_F(KmsServiceTest, DisabledKey_RefusesCryptoUntilEnabled) {
  KmsKey key = MakeKey();
  std::string blob = EncryptOk(key.key_id, "payload");
  ASSERT_TRUE(svc_->DisableKey(key.key_id).ok());
  ASSERT_TRUE(svc_->DisableKey(key.key_id).ok());  // idempotent
  EXPECT_EQ(svc_->DescribeKey(key.key_id)->state, KeyState::Disabled);
  EXPECT_FALSE(svc_->DescribeKey(key.key_id)->enabled());

  const std::string disabled = key.arn + " is disabled.";
  ExpectError(svc_->Encrypt(key.key_id, "x", {}), "DisabledException", disabled);
  ExpectError(svc_->Decrypt(blob, {}, ""), "DisabledException", disabled);
  ExpectError(svc_->GenerateDataKey(key.key_id, DataKeySpec::Aes256, std::nullopt, {}, true),
              "DisabledException", disabled);
  ExpectError(svc_->EnableKeyRotation(key.key_id), "DisabledException", disabled);
  // Management still works on a disabled key.
  EXPECT_TRUE(svc_->TagResource(key.key_id, {{"k", "v"}}).ok());
  EXPECT_TRUE(svc_->CreateAlias("alias/disabled", key.key_id).ok());

  ASSERT_TRUE(svc_->EnableKey(key.key_id).ok());
  EXPECT_EQ(svc_->Decrypt(blob, {}, "")->plaintext, "payload");
}

TEST_F(KmsServiceTest, ScheduleKeyDeletion_WindowAndPendingState) {
  KmsKey key = MakeKey();
  std::string blob = EncryptOk(key.key_id, "payload");
  ExpectError(svc_->ScheduleKeyDeletion(key.key_id, 6), "ValidationException",
              "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy "
              "constraint: Member must have value greater than or equal to 7");
  ExpectError(svc_->ScheduleKeyDeletion(key.key_id, 31), "ValidationException");

  auto scheduled = svc_->ScheduleKeyDeletion(key.key_id, std::nullopt);
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().message;
  EXPECT_EQ(scheduled->key_arn, key.arn);
  EXPECT_EQ(scheduled->pending_window_days, 30);
  EXPECT_EQ(scheduled->deletion_ms, clock_.NowMillis() + 30 * kDayMs);

  KmsKey pending = *svc_->DescribeKey(key.key_id);
  EXPECT_EQ(pending.state, KeyState::PendingDeletion);
  EXPECT_FALSE(pending.enabled());
  EXPECT_EQ(pending.deletion_ms, scheduled->deletion_ms);

  const std::string message = key.arn + " is pending deletion.";
  ExpectError(svc_->Encrypt(key.key_id, "x", {}), "KMSInvalidStateException", message);
  ExpectError(svc_->Decrypt(blob, {}, ""), "KMSInvalidStateException", message);
  ExpectError(svc_->EnableKey(key.key_id), "KMSInvalidStateException", message);
  ExpectError(svc_->DisableKey(key.key_id), "KMSInvalidStateException", message);
  ExpectError(svc_->ScheduleKeyDeletion(key.key_id, 7), "KMSInvalidStateException", message);
  ExpectError(svc_->TagResource(key.key_id, {{"k", "v"}}), "KMSInvalidStateException");
  ExpectError(svc_->CreateAlias("alias/late", key.key_id), "KMSInvalidStateException");
  ExpectError(svc_->RotateKeyMaterial(key.key_id), "KMSInvalidStateException");
  // Reading is still allowed.
  EXPECT_TRUE(svc_->GetKeyPolicy(key.key_id, "default").ok());
  EXPECT_TRUE(svc_->ListResourceTags(key.key_id, std::nullopt, "").ok());
}

TEST_F(KmsServiceTest, CancelKeyDeletion_LeavesTheKeyDisabled) {
  KmsKey key = MakeKey();
  std::string blob = EncryptOk(key.key_id, "payload");
  ExpectError(svc_->CancelKeyDeletion(key.key_id), "KMSInvalidStateException",
              key.arn + " is not pending deletion.");
  ASSERT_TRUE(svc_->ScheduleKeyDeletion(key.key_id, 7).ok());
  auto cancelled = svc_->CancelKeyDeletion(key.key_id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(*cancelled, key.arn);
  KmsKey after = *svc_->DescribeKey(key.key_id);
  EXPECT_EQ(after.state, KeyState::Disabled);
  EXPECT_EQ(after.deletion_ms, 0);
  ExpectError(svc_->Decrypt(blob, {}, ""), "DisabledException");
  ASSERT_TRUE(svc_->EnableKey(key.key_id).ok());
  EXPECT_EQ(svc_->Decrypt(blob, {}, "")->plaintext, "payload");
}

TEST_F(KmsServiceTest, ScheduleKeyDeletion_KeyIsDeletedWhenTheWindowEnds) {
  KmsKey key = MakeKey();
  KmsKey kept = MakeKey();
  ASSERT_TRUE(svc_->CreateAlias("alias/doomed", key.key_id).ok());
  ASSERT_TRUE(svc_->CreateAlias("alias/kept", kept.key_id).ok());
  std::string blob = EncryptOk(key.key_id, "payload");
  ASSERT_TRUE(svc_->RotateKeyMaterial(key.key_id).ok());
  ASSERT_TRUE(svc_->ScheduleKeyDeletion(key.key_id, 7).ok());

  clock_.Advance(7 * kDayMs - 1);
  EXPECT_TRUE(svc_->DescribeKey(key.key_id).ok());
  clock_.Advance(1);
  ExpectError(svc_->DescribeKey(key.key_id), "NotFoundException");
  ExpectError(svc_->DescribeKey("alias/doomed"), "NotFoundException");
  ExpectError(svc_->Decrypt(blob, {}, ""), "NotFoundException",
              "Key '" + key.arn + "' does not exist");
  EXPECT_EQ(CountRows(*db_, "kms_keys"), 1);
  EXPECT_EQ(CountRows(*db_, "kms_key_material"), 1);
  EXPECT_EQ(CountRows(*db_, "kms_aliases"), 1);
  EXPECT_TRUE(svc_->DescribeKey("alias/kept").ok());
}

// ---- aliases ----------------------------------------------------------------------------------

TEST_F(KmsServiceTest, Aliases_CreateUpdateDelete) {
  KmsKey a = MakeKey();
  KmsKey b = MakeKey();
  ASSERT_TRUE(svc_->CreateAlias("alias/app", a.arn).ok());
  ExpectError(svc_->CreateAlias("alias/app", b.key_id), "AlreadyExistsException",
              "An alias with the name arn:aws:kms:us-east-1:123456789012:alias/app already "
              "exists");
  EXPECT_EQ(svc_->DescribeKey("alias/app")->key_id, a.key_id);

  clock_.Advance(1000);
  ASSERT_TRUE(svc_->UpdateAlias("alias/app", b.key_id).ok());
  EXPECT_EQ(svc_->DescribeKey("alias/app")->key_id, b.key_id);
  auto listed = svc_->ListAliases(b.key_id, std::nullopt, "");
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].updated_ms, listed->items[0].created_ms + 1000);
  EXPECT_TRUE(svc_->ListAliases(a.key_id, std::nullopt, "")->items.empty());
  ExpectError(svc_->UpdateAlias("alias/ghost", a.key_id), "NotFoundException");

  ASSERT_TRUE(svc_->DeleteAlias("alias/app").ok());
  ExpectError(svc_->DeleteAlias("alias/app"), "NotFoundException",
              "Alias arn:aws:kms:us-east-1:123456789012:alias/app is not found.");
  ExpectError(svc_->DescribeKey("alias/app"), "NotFoundException");
  EXPECT_TRUE(svc_->DescribeKey(a.key_id).ok());  // deleting an alias leaves its key
}

TEST_F(KmsServiceTest, Aliases_NameRules) {
  KmsKey key = MakeKey();
  ExpectError(svc_->CreateAlias("app", key.key_id), "ValidationException",
              "Alias must start with the prefix \"alias/\". Please see "
              "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  ExpectError(svc_->CreateAlias("alias/aws/mine", key.key_id), "NotAuthorizedException");
  ExpectError(svc_->DeleteAlias("alias/aws/ssm"), "NotAuthorizedException");
  ExpectError(svc_->CreateAlias("alias/bad name", key.key_id), "ValidationException");
  ExpectError(svc_->CreateAlias("alias/" + std::string(251, 'a'), key.key_id),
              "ValidationException");
  ExpectError(svc_->CreateAlias("alias/", key.key_id), "InvalidAliasNameException");
  ExpectError(svc_->CreateAlias("alias/ok", "alias/missing"), "NotFoundException");
  EXPECT_TRUE(svc_->CreateAlias("alias/Team_1/app-2", key.key_id).ok());
}

TEST_F(KmsServiceTest, ListAliases_SsmAliasBeforeFirstUse) {
  KmsKey key = MakeKey();
  ASSERT_TRUE(svc_->CreateAlias("alias/zeta", key.key_id).ok());
  ASSERT_TRUE(svc_->CreateAlias("alias/alpha", key.key_id).ok());
  auto all = svc_->ListAliases("", std::nullopt, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].alias_name, "alias/alpha");
  EXPECT_EQ(all->items[1].alias_name, "alias/aws/ssm");
  EXPECT_EQ(all->items[1].target_key_id, "");  // no key yet, as KMS lists it
  EXPECT_EQ(all->items[1].arn, "arn:aws:kms:us-east-1:123456789012:alias/aws/ssm");
  EXPECT_EQ(all->items[2].alias_name, "alias/zeta");
  EXPECT_EQ(CountRows(*db_, "kms_keys"), 1);  // listing created nothing

  // Paging by one.
  std::vector<std::string> names;
  std::string marker;
  do {
    auto page = svc_->ListAliases("", 1, marker);
    ASSERT_TRUE(page.ok());
    for (const KmsAlias& a : page->items) {
      names.push_back(a.alias_name);
    }
    marker = page->next_marker;
  } while (!marker.empty() && names.size() < 10);
  EXPECT_EQ(names, (std::vector<std::string>{"alias/alpha", "alias/aws/ssm", "alias/zeta"}));
  ExpectError(svc_->ListAliases("", std::nullopt, "nope"), "InvalidMarkerException");
  ExpectError(svc_->ListAliases("11111111-2222-4333-8444-555555555555", std::nullopt, ""),
              "NotFoundException");
}

// ---- the AWS managed SSM key -------------------------------------------------------------------

TEST_F(KmsServiceTest, SsmManagedKey_CreatedOnFirstUse) {
  auto arn = svc_->DefaultSsmKeyArn();
  ASSERT_TRUE(arn.ok()) << arn.error().message;
  EXPECT_EQ(*svc_->DefaultSsmKeyArn(), *arn);
  EXPECT_EQ(*svc_->ResolveKeyArn("alias/aws/ssm"), *arn);
  EXPECT_EQ(*svc_->ResolveKeyArn("arn:aws:kms:us-east-1:123456789012:alias/aws/ssm"), *arn);

  KmsKey key = *svc_->DescribeKey("alias/aws/ssm");
  EXPECT_EQ(key.arn, *arn);
  EXPECT_EQ(key.manager, KeyManager::Aws);
  EXPECT_EQ(key.description,
            "Default key that protects my SSM parameters when no other key is defined");
  EXPECT_TRUE(*svc_->GetKeyRotationStatus(key.key_id));

  auto aliases = svc_->ListAliases(key.key_id, std::nullopt, "");
  ASSERT_EQ(aliases->items.size(), 1u);
  EXPECT_EQ(aliases->items[0].alias_name, "alias/aws/ssm");
  EXPECT_EQ(aliases->items[0].target_key_id, key.key_id);

  // Usable for crypto, not manageable by customers.
  std::string blob = EncryptOk("alias/aws/ssm", "param-value");
  EXPECT_EQ(svc_->Decrypt(blob, {}, "alias/aws/ssm")->plaintext, "param-value");
  ExpectError(svc_->DisableKey(key.key_id), "UnsupportedOperationException");
  ExpectError(svc_->ScheduleKeyDeletion(key.key_id, 7), "UnsupportedOperationException");
  ExpectError(svc_->PutKeyPolicy(key.key_id, "default", "{}"), "UnsupportedOperationException");
  ExpectError(svc_->CreateAlias("alias/mine", key.key_id), "UnsupportedOperationException");
  ExpectError(svc_->TagResource(key.key_id, {{"a", "b"}}), "UnsupportedOperationException");
  EXPECT_EQ(CountRows(*db_, "kms_keys"), 1);
}

TEST_F(KmsServiceTest, SsmManagedKey_CreatedByEncryptThroughItsAlias) {
  auto enc = svc_->Encrypt("alias/aws/ssm", "v", {});
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  EXPECT_EQ(enc->key_arn, *svc_->DefaultSsmKeyArn());
}

// ---- data keys and ReEncrypt -------------------------------------------------------------------

TEST_F(KmsServiceTest, GenerateDataKey_WithAndWithoutPlaintext) {
  KmsKey key = MakeKey();
  const EncryptionContext context = {{"purpose", "test"}};
  auto dk = svc_->GenerateDataKey(key.key_id, DataKeySpec::Aes256, std::nullopt, context, true);
  ASSERT_TRUE(dk.ok()) << dk.error().message;
  EXPECT_EQ(dk->plaintext.size(), 32u);
  EXPECT_EQ(dk->key_arn, key.arn);
  EXPECT_EQ(svc_->Decrypt(dk->blob, context, "")->plaintext, dk->plaintext);

  auto sized = svc_->GenerateDataKey(key.key_id, std::nullopt, 64, {}, true);
  ASSERT_TRUE(sized.ok());
  EXPECT_EQ(sized->plaintext.size(), 64u);

  auto hidden = svc_->GenerateDataKey(key.key_id, DataKeySpec::Aes128, std::nullopt, {}, false);
  ASSERT_TRUE(hidden.ok());
  EXPECT_TRUE(hidden->plaintext.empty());
  EXPECT_EQ(svc_->Decrypt(hidden->blob, {}, "")->plaintext.size(), 16u);

  ExpectError(svc_->GenerateDataKey(key.key_id, std::nullopt, std::nullopt, {}, true),
              "ValidationException");
  ExpectError(svc_->GenerateDataKey(key.key_id, DataKeySpec::Aes256, 32, {}, true),
              "ValidationException");
  ExpectError(svc_->GenerateDataKey(key.key_id, std::nullopt, 1025, {}, true),
              "ValidationException");
}

TEST_F(KmsServiceTest, ReEncrypt_MovesABlobToAnotherKey) {
  KmsKey source = MakeKey();
  KmsKey destination = MakeKey();
  std::string blob = EncryptOk(source.key_id, "payload", {{"a", "1"}});
  auto re = svc_->ReEncrypt(blob, {{"a", "1"}}, "", destination.arn, {{"b", "2"}});
  ASSERT_TRUE(re.ok()) << re.error().message;
  EXPECT_EQ(re->source_key_arn, source.arn);
  EXPECT_EQ(re->key_arn, destination.arn);
  auto dec = svc_->Decrypt(re->blob, {{"b", "2"}}, destination.key_id);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->plaintext, "payload");
  ExpectError(svc_->Decrypt(re->blob, {{"b", "2"}}, source.key_id), "IncorrectKeyException");
  ExpectError(svc_->ReEncrypt(blob, {{"a", "1"}}, destination.key_id, source.key_id, {}),
              "IncorrectKeyException");
  ExpectError(svc_->ReEncrypt(blob, {}, "", destination.key_id, {}), "InvalidCiphertextException");
}

// ---- tags, policies, rotation ------------------------------------------------------------------

TEST_F(KmsServiceTest, Tags_AddListPageRemove) {
  CreateKeyRequest req;
  req.tags = {{"team", "core"}};
  KmsKey key = *svc_->CreateKey(req);
  ASSERT_TRUE(svc_->TagResource(key.arn, {{"env", "dev"}, {"team", "platform"}}).ok());

  std::vector<std::pair<std::string, std::string>> tags;
  std::string marker;
  do {
    auto page = svc_->ListResourceTags(key.key_id, 1, marker);
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->items.size(), 1u);
    tags.insert(tags.end(), page->items.begin(), page->items.end());
    marker = page->next_marker;
  } while (!marker.empty() && tags.size() < 10);
  EXPECT_EQ(tags, (std::vector<std::pair<std::string, std::string>>{{"env", "dev"},
                                                                    {"team", "platform"}}));

  ASSERT_TRUE(svc_->UntagResource(key.key_id, {"env", "absent"}).ok());
  EXPECT_EQ(svc_->DescribeKey(key.key_id)->tags, (Tags{{"team", "platform"}}));

  ExpectError(svc_->TagResource(key.key_id, {{"aws:x", "y"}}), "TagException");
  ExpectError(svc_->TagResource(key.key_id, {{"", "y"}}), "TagException");
  ExpectError(svc_->TagResource(key.key_id, {{"k", std::string(257, 'v')}}), "TagException");
  Tags many;
  for (int i = 0; i < 50; ++i) {
    many["k" + std::to_string(i)] = "v";
  }
  ExpectError(svc_->TagResource(key.key_id, many), "TagException");  // 51 with "team"
  ExpectError(svc_->ListResourceTags(key.key_id, 0, ""), "ValidationException");
}

TEST_F(KmsServiceTest, KeyPolicy_DefaultStoredAndReplaced) {
  KmsKey key = MakeKey();
  auto policy = svc_->GetKeyPolicy(key.key_id, "default");
  ASSERT_TRUE(policy.ok());
  nlohmann::json doc = nlohmann::json::parse(*policy);
  EXPECT_EQ(doc["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::123456789012:root");
  EXPECT_EQ(doc["Statement"][0]["Action"], "kms:*");

  const std::string mine = R"({"Version":"2012-10-17","Statement":[]})";
  ASSERT_TRUE(svc_->PutKeyPolicy(key.key_id, "default", mine).ok());
  EXPECT_EQ(*svc_->GetKeyPolicy(key.key_id, "default"), mine);
  ExpectError(svc_->GetKeyPolicy(key.key_id, "other"), "NotFoundException");
  ExpectError(svc_->PutKeyPolicy(key.key_id, "default", "[1,2]"),
              "MalformedPolicyDocumentException");
  EXPECT_EQ(*svc_->ListKeyPolicies(key.key_id), std::vector<std::string>{"default"});

  CreateKeyRequest req;
  req.policy = mine;
  EXPECT_EQ(*svc_->GetKeyPolicy(svc_->CreateKey(req)->key_id, "default"), mine);
}

TEST_F(KmsServiceTest, UpdateKeyDescription) {
  KmsKey key = MakeKey("old");
  ASSERT_TRUE(svc_->UpdateKeyDescription(key.key_id, "new").ok());
  EXPECT_EQ(svc_->DescribeKey(key.key_id)->description, "new");
  ExpectError(svc_->UpdateKeyDescription(key.key_id, std::string(8193, 'x')),
              "ValidationException");
}

TEST_F(KmsServiceTest, Rotation_OldBlobsStillDecrypt) {
  KmsKey key = MakeKey();
  EXPECT_FALSE(*svc_->GetKeyRotationStatus(key.key_id));
  ASSERT_TRUE(svc_->EnableKeyRotation(key.key_id).ok());
  EXPECT_TRUE(*svc_->GetKeyRotationStatus(key.key_id));

  std::string v1 = EncryptOk(key.key_id, "before", {{"c", "1"}});
  ASSERT_TRUE(svc_->RotateKeyMaterial(key.arn).ok());
  EXPECT_EQ(svc_->DescribeKey(key.key_id)->current_version, 2u);
  std::string v2 = EncryptOk(key.key_id, "after", {{"c", "1"}});
  ASSERT_TRUE(svc_->RotateKeyMaterial(key.key_id).ok());
  std::string v3 = EncryptOk(key.key_id, "latest");

  // The blob names its material version right after the key id (see src/kms/README.md).
  auto version_of = [&](const std::string& blob) { return static_cast<uint8_t>(blob[2 + 36 + 3]); };
  EXPECT_EQ(version_of(v1), 1);
  EXPECT_EQ(version_of(v2), 2);
  EXPECT_EQ(version_of(v3), 3);
  EXPECT_EQ(svc_->Decrypt(v1, {{"c", "1"}}, "")->plaintext, "before");
  EXPECT_EQ(svc_->Decrypt(v2, {{"c", "1"}}, key.key_id)->plaintext, "after");
  EXPECT_EQ(svc_->Decrypt(v3, {}, "")->plaintext, "latest");
  EXPECT_EQ(CountRows(*db_, "kms_key_material"), 3);

  Reopen();
  EXPECT_EQ(svc_->Decrypt(v1, {{"c", "1"}}, "")->plaintext, "before");
  EXPECT_EQ(svc_->Decrypt(v3, {}, "")->plaintext, "latest");
  EXPECT_TRUE(*svc_->GetKeyRotationStatus(key.key_id));

  ASSERT_TRUE(svc_->DisableKeyRotation(key.key_id).ok());
  EXPECT_FALSE(*svc_->GetKeyRotationStatus(key.key_id));
}

// ---- persistence and secrecy --------------------------------------------------------------------

TEST_F(KmsServiceTest, Restart_KeepsKeysAliasesStatesAndDecrypts) {
  KmsKey key = MakeKey("persisted");
  KmsKey disabled = MakeKey();
  ASSERT_TRUE(svc_->CreateAlias("alias/p", key.key_id).ok());
  ASSERT_TRUE(svc_->TagResource(key.key_id, {{"a", "b"}}).ok());
  ASSERT_TRUE(svc_->DisableKey(disabled.key_id).ok());
  std::string ssm_arn = *svc_->DefaultSsmKeyArn();
  std::string blob = EncryptOk("alias/p", "survives restarts", {{"x", "y"}});
  std::string ssm_blob = EncryptOk("alias/aws/ssm", "ssm value");

  Reopen();
  auto dec = svc_->Decrypt(blob, {{"x", "y"}}, "alias/p");
  ASSERT_TRUE(dec.ok()) << dec.error().message;
  EXPECT_EQ(dec->plaintext, "survives restarts");
  EXPECT_EQ(svc_->Decrypt(ssm_blob, {}, "")->plaintext, "ssm value");
  EXPECT_EQ(*svc_->DefaultSsmKeyArn(), ssm_arn);
  KmsKey reloaded = *svc_->DescribeKey("alias/p");
  EXPECT_EQ(reloaded.description, "persisted");
  EXPECT_EQ(reloaded.tags, (Tags{{"a", "b"}}));
  EXPECT_EQ(reloaded.created_ms, key.created_ms);
  EXPECT_EQ(svc_->DescribeKey(disabled.key_id)->state, KeyState::Disabled);
  EXPECT_EQ(svc_->ListKeys(std::nullopt, "")->items.size(), 3u);
}

TEST_F(KmsServiceTest, Restart_WithAnotherMasterKeyRefusesToOpen) {
  MakeKey();
  svc_.reset();
  KmsService wrong(*db_, clock_, ids_, Master(kOtherMasterHex), Config());
  Status opened = wrong.Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::Internal);
  EXPECT_NE(opened.error().message.find("master key"), std::string::npos);
}

// Finds any 32-byte window of `bytes` that, used as key material, opens `blob`.
bool ContainsMaterialFor(const std::string& bytes, const std::string& blob) {
  for (size_t i = 0; i + kKeySize <= bytes.size(); ++i) {
    auto material = KeyMaterial::FromBytes(std::string_view(bytes).substr(i, kKeySize), 1);
    MaterialLookup lookup = [&](std::string_view, uint32_t) { return &*material; };
    if (DecryptBlob(lookup, blob, {}).ok()) {
      return true;
    }
  }
  return false;
}

TEST(KmsStoreSecrecyTest, MaterialScanFindsMaterialWhenPresent) {
  const std::string raw(kKeySize, '\x5a');
  auto material = KeyMaterial::FromBytes(raw, 1);
  ASSERT_TRUE(material.ok());
  std::string blob = *EncryptBlob(*material, "11111111-2222-4333-8444-555555555555", "x", {});
  EXPECT_TRUE(ContainsMaterialFor("some bytes before " + raw + " and after", blob));
  EXPECT_FALSE(ContainsMaterialFor(std::string(100, '\x5b'), blob));
}

TEST(KmsStoreSecrecyTest, StoreHoldsNoPlaintextAndNoKeyMaterial) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("berth-kms-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  testing::FakeClock clock;
  testing::SequentialIds ids;
  const std::string plaintext = "TOP-SECRET-PLAINTEXT-0123456789";
  std::string blob;
  std::string data_key;
  {
    auto db = std::move(store::Db::Open((dir / "berth.db").string())).value();
    KmsService svc(*db, clock, ids, Master(), Config());
    ASSERT_TRUE(svc.Open().ok());
    CreateKeyRequest req;
    KmsKey key = *svc.CreateKey(req);
    blob = svc.Encrypt(key.key_id, plaintext, {})->blob;
    data_key =
        svc.GenerateDataKey(key.key_id, DataKeySpec::Aes256, std::nullopt, {}, true)->plaintext;
    ASSERT_TRUE(svc.RotateKeyMaterial(key.key_id).ok());
    ASSERT_TRUE(svc.Decrypt(blob, {}, "").ok());
  }
  std::string bytes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find(plaintext), std::string::npos);
  EXPECT_EQ(bytes.find(core::Base64Encode(plaintext)), std::string::npos);
  EXPECT_EQ(bytes.find(data_key), std::string::npos);
  EXPECT_EQ(bytes.find(core::Base64Encode(data_key)), std::string::npos);
  // No 32 bytes anywhere in the files, raw or base64-decoded, are the key's material.
  EXPECT_FALSE(ContainsMaterialFor(bytes, blob));
  // Nor as base64 text (44 characters for 32 bytes) at any offset.
  std::string decoded;
  for (size_t i = 0; i + 44 <= bytes.size(); ++i) {
    auto d = core::Base64Decode(std::string_view(bytes).substr(i, 44));
    if (d && d->size() == kKeySize) {
      decoded += *d;
    }
  }
  EXPECT_FALSE(ContainsMaterialFor(decoded, blob));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::kms
