#include "secretsmanager/secrets_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "fakes/fake_clock.h"
#include "fakes/fake_secret_cipher.h"
#include "fakes/sequential_ids.h"
#include "secretsmanager/secrets_errors.h"

namespace berth::secretsmanager {
namespace {

using testing::FakeSecretCipher;

constexpr int64_t kDay = 86'400'000;
constexpr char kArnPrefix[] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
// Version ids as a CLI would send them (36 characters; AWS wants 32..64).
constexpr char kV1[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kV2[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kV3[] = "aaaaaaaa-0000-4000-8000-000000000003";

class SecretsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  // A restart: a new service over the same database.
  void Reopen() {
    svc_.reset();
    SecretsConfig config;
    config.account_id = "123456789012";
    svc_ = std::make_unique<SecretsService>(*db_, clock_, ids_, cipher_, config);
    ASSERT_TRUE(svc_->Open().ok());
  }
  WriteResult Create(const std::string& name, std::optional<std::string> value = "s3cret",
                     const std::string& token = "", const std::string& kms = "") {
    CreateSecretRequest r;
    r.name = name;
    r.secret_string = std::move(value);
    r.client_request_token = token;
    r.kms_key_id = kms;
    auto out = svc_->CreateSecret(r);
    EXPECT_TRUE(out.ok()) << out.error().aws_code << " " << out.error().message;
    return out.ok() ? *out : WriteResult{};
  }
  WriteResult Put(const std::string& id, const std::string& value, const std::string& token,
                  std::vector<std::string> stages = {}) {
    PutSecretValueRequest r;
    r.secret_id = id;
    r.secret_string = value;
    r.client_request_token = token;
    r.version_stages = std::move(stages);
    auto out = svc_->PutSecretValue(r);
    EXPECT_TRUE(out.ok()) << out.error().aws_code << " " << out.error().message;
    return out.ok() ? *out : WriteResult{};
  }
  Result<GetSecretValueResult> Get(const std::string& id, const std::string& version_id = "",
                                   const std::string& stage = "") {
    GetSecretValueRequest r;
    r.secret_id = id;
    r.version_id = version_id;
    r.version_stage = stage;
    return svc_->GetSecretValue(r);
  }
  std::string Value(const std::string& id, const std::string& version_id = "",
                    const std::string& stage = "") {
    auto out = Get(id, version_id, stage);
    EXPECT_TRUE(out.ok()) << out.error().aws_code << " " << out.error().message;
    return out.ok() ? out->value.bytes : "";
  }
  template <typename T>
  static std::string Code(const Result<T>& r) {
    return r.ok() ? "OK" : r.error().aws_code;
  }
  static std::string Code(const Status& s) { return s.ok() ? "OK" : s.error().aws_code; }
  std::map<std::string, std::vector<std::string>> Stages(const std::string& id) {
    std::map<std::string, std::vector<std::string>> out;
    auto d = svc_->DescribeSecret(id);
    EXPECT_TRUE(d.ok());
    for (const SecretVersion& v : d->versions) {
      if (!v.stages.empty()) {
        out[v.version_id] = v.stages;
      }
    }
    return out;
  }
  Status Delete(const std::string& id, std::optional<int64_t> window = std::nullopt,
                bool force = false) {
    DeleteSecretRequest r{id, window, force};
    auto out = svc_->DeleteSecret(r);
    return out.ok() ? OkStatus() : Status(out.error());
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  FakeSecretCipher cipher_;
  std::unique_ptr<SecretsService> svc_;
};

TEST_F(SecretsServiceTest, CreateBuildsArnWithSixCharacterSuffix) {
  WriteResult w = Create("prod/db");
  ASSERT_TRUE(w.arn.starts_with(std::string(kArnPrefix) + "prod/db-")) << w.arn;
  std::string suffix =
      w.arn.substr(std::string(kArnPrefix).size() + std::string("prod/db-").size());
  EXPECT_EQ(suffix.size(), 6u);
  for (char c : suffix) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << suffix;
  }
  EXPECT_EQ(w.name, "prod/db");
  EXPECT_FALSE(w.version_id.empty());  // generated when the caller sends no token
  EXPECT_EQ(w.stages, std::vector<std::string>{"AWSCURRENT"});
}

TEST_F(SecretsServiceTest, CreateUsesClientRequestTokenAsVersionId) {
  WriteResult w = Create("app", "v", kV1);
  EXPECT_EQ(w.version_id, kV1);
  auto got = Get("app");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version_id, kV1);
  EXPECT_EQ(got->stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(got->created_ms, clock_.NowMillis());
}

TEST_F(SecretsServiceTest, NameRules) {
  CreateSecretRequest r;
  r.name = "bad name";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "InvalidParameterException");
  r.name = "colon:name";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "InvalidParameterException");
  r.name = std::string(513, 'a');
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "ValidationException");
  r.name = "";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "ValidationException");
  r.name = "ok/_+=.@-Name9";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "OK");
}

TEST_F(SecretsServiceTest, CreateRejectsBothValuesAndShortTokens) {
  CreateSecretRequest r;
  r.name = "x";
  r.secret_string = "a";
  r.secret_binary = "b";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "InvalidParameterException");
  r.secret_binary.reset();
  r.client_request_token = "too-short";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "ValidationException");
  r.client_request_token.clear();
  r.secret_string = std::string(65537, 'x');
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "ValidationException");
}

TEST_F(SecretsServiceTest, DuplicateNameIsResourceExists) {
  Create("dup");
  CreateSecretRequest r;
  r.name = "dup";
  r.secret_string = "other";
  auto out = svc_->CreateSecret(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().aws_code, "ResourceExistsException");
  EXPECT_EQ(out.error().message, "The operation failed because the secret dup already exists.");
}

// A retried CreateSecret (same token, same value) answers the first call's result.
TEST_F(SecretsServiceTest, CreateIsIdempotentForTheSameTokenAndValue) {
  WriteResult first = Create("idem", "v", kV1);
  CreateSecretRequest r;
  r.name = "idem";
  r.secret_string = "v";
  r.client_request_token = kV1;
  auto again = svc_->CreateSecret(r);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->arn, first.arn);
  EXPECT_EQ(again->version_id, kV1);
  r.secret_string = "changed";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "ResourceExistsException");
}

TEST_F(SecretsServiceTest, CreateWithoutValueHasNoCurrentVersion) {
  WriteResult w = Create("empty", std::nullopt);
  EXPECT_TRUE(w.version_id.empty());
  auto got = Get("empty");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().aws_code, "ResourceNotFoundException");
  EXPECT_EQ(got.error().message,
            "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
  // The first PutSecretValue gets AWSCURRENT even when it asks only for another label.
  WriteResult p = Put("empty", "now", kV1, {"AWSPENDING"});
  EXPECT_EQ(p.stages, (std::vector<std::string>{"AWSPENDING", "AWSCURRENT"}));
  EXPECT_EQ(Value("empty"), "now");
}

TEST_F(SecretsServiceTest, SecretIdByNameFullArnAndPartialArn) {
  WriteResult w = Create("lookup/me", "v");
  EXPECT_EQ(Value("lookup/me"), "v");
  EXPECT_EQ(Value(w.arn), "v");
  EXPECT_EQ(Value(std::string(kArnPrefix) + "lookup/me"), "v");
  // Wrong suffix, other account or region: not found.
  EXPECT_EQ(Code(Get(std::string(kArnPrefix) + "lookup/me-ZZZZZZ")), "ResourceNotFoundException");
  EXPECT_EQ(Code(Get("arn:aws:secretsmanager:us-east-1:999999999999:secret:lookup/me")),
            "ResourceNotFoundException");
  EXPECT_EQ(Code(Get("arn:aws:secretsmanager:eu-west-1:123456789012:secret:lookup/me")),
            "ResourceNotFoundException");
  auto missing = Get("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "ResourceNotFoundException");
  EXPECT_EQ(missing.error().message, "Secrets Manager can't find the specified secret.");
}

// AWS reads a partial ARN ending in "-" plus six characters as a full ARN with a suffix.
TEST_F(SecretsServiceTest, PartialArnEndingLikeASuffixIsNotFound) {
  WriteResult w = Create("db-secret", "v");
  EXPECT_EQ(Code(Get(std::string(kArnPrefix) + "db-secret")), "ResourceNotFoundException");
  EXPECT_EQ(Value("db-secret"), "v");
  EXPECT_EQ(Value(w.arn), "v");
}

TEST_F(SecretsServiceTest, PutMovesCurrentAndPrevious) {
  Create("rot", "one", kV1);
  WriteResult two = Put("rot", "two", kV2);
  EXPECT_EQ(two.stages, std::vector<std::string>{"AWSCURRENT"});
  auto stages = Stages("rot");
  EXPECT_EQ(stages[kV1], std::vector<std::string>{"AWSPREVIOUS"});
  EXPECT_EQ(stages[kV2], std::vector<std::string>{"AWSCURRENT"});
  Put("rot", "three", kV3);
  stages = Stages("rot");
  EXPECT_EQ(stages.count(kV1), 0u);  // deprecated: no labels left
  EXPECT_EQ(stages[kV2], std::vector<std::string>{"AWSPREVIOUS"});
  EXPECT_EQ(stages[kV3], std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(Value("rot"), "three");
  EXPECT_EQ(Value("rot", "", "AWSPREVIOUS"), "two");
  EXPECT_EQ(Value("rot", kV1), "one");  // deprecated versions stay readable by id
}

TEST_F(SecretsServiceTest, PutWithStagesLeavesCurrentAlone) {
  Create("pend", "one", kV1);
  WriteResult p = Put("pend", "two", kV2, {"AWSPENDING"});
  EXPECT_EQ(p.stages, std::vector<std::string>{"AWSPENDING"});
  EXPECT_EQ(Value("pend"), "one");
  EXPECT_EQ(Value("pend", "", "AWSPENDING"), "two");
  // A label moves off the version that had it.
  Put("pend", "three", kV3, {"AWSPENDING"});
  auto stages = Stages("pend");
  EXPECT_EQ(stages.count(kV2), 0u);
  EXPECT_EQ(stages[kV3], std::vector<std::string>{"AWSPENDING"});
}

TEST_F(SecretsServiceTest, PutIsIdempotentPerToken) {
  Create("tok", "one", kV1);
  Put("tok", "two", kV2);
  int encrypts = cipher_.encrypts;
  WriteResult again = Put("tok", "two", kV2);
  EXPECT_EQ(again.version_id, kV2);
  EXPECT_EQ(cipher_.encrypts, encrypts);  // nothing new was written
  EXPECT_EQ(Stages("tok").size(), 2u);
  PutSecretValueRequest r;
  r.secret_id = "tok";
  r.secret_string = "CHANGED-VALUE-XYZ";
  r.client_request_token = kV2;
  auto out = svc_->PutSecretValue(r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().aws_code, "ResourceExistsException");
  EXPECT_EQ(out.error().message.find("CHANGED-VALUE"), std::string::npos);  // never the value
}

TEST_F(SecretsServiceTest, PutNeedsAValue) {
  Create("nv");
  PutSecretValueRequest r;
  r.secret_id = "nv";
  EXPECT_EQ(Code(svc_->PutSecretValue(r)), "InvalidRequestException");
  r.secret_id = "missing";
  r.secret_string = "x";
  EXPECT_EQ(Code(svc_->PutSecretValue(r)), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, BinarySecretsRoundTrip) {
  CreateSecretRequest r;
  r.name = "bin";
  r.secret_binary = std::string("\x00\x01\xff", 3);
  ASSERT_TRUE(svc_->CreateSecret(r).ok());
  auto got = Get("bin");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->value.binary);
  EXPECT_EQ(got->value.bytes, std::string("\x00\x01\xff", 3));
}

TEST_F(SecretsServiceTest, VersionSelection) {
  Create("sel", "one", kV1);
  Put("sel", "two", kV2);
  EXPECT_EQ(Value("sel", kV1, "AWSPREVIOUS"), "one");
  EXPECT_EQ(Code(Get("sel", kV1, "AWSCURRENT")), "ResourceNotFoundException");
  auto missing = Get("sel", kV3);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(
      missing.error().message,
      std::string("Secrets Manager can't find the specified secret value for VersionId: ") + kV3);
  EXPECT_EQ(Code(Get("sel", "", "AWSPENDING")), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, ValuesAreEncryptedWithSecretContext) {
  WriteResult w = Create("ctx", "v", kV1);
  ASSERT_FALSE(cipher_.encrypt_contexts.empty());
  auto context = cipher_.encrypt_contexts.back();
  EXPECT_EQ(context["SecretARN"], w.arn);
  EXPECT_EQ(context["SecretVersionId"], kV1);
}

// The store holds values only as ciphertext: no table's text contains a plaintext.
TEST_F(SecretsServiceTest, NoPlaintextInTheStore) {
  Create("scan/text", "PLAINTEXT-STRING-123");
  CreateSecretRequest r;
  r.name = "scan/binary";
  r.secret_binary = "PLAINTEXT-BINARY-456";
  ASSERT_TRUE(svc_->CreateSecret(r).ok());
  Put("scan/text", "PLAINTEXT-STRING-789", kV2);
  sqlite3* h = db_->handle();
  sqlite3_stmt* tables = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table'", -1,
                               &tables, nullptr),
            SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(tables) == SQLITE_ROW) {
    std::string table = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
    sqlite3_stmt* all = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, ("SELECT * FROM " + table).c_str(), -1, &all, nullptr),
              SQLITE_OK);
    while (sqlite3_step(all) == SQLITE_ROW) {
      ++rows;
      for (int c = 0; c < sqlite3_column_count(all); ++c) {
        const void* p = sqlite3_column_blob(all, c);
        std::string cell(p == nullptr ? "" : static_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(all, c)));
        EXPECT_EQ(cell.find("PLAINTEXT"), std::string::npos) << table;
      }
    }
    sqlite3_finalize(all);
  }
  sqlite3_finalize(tables);
  EXPECT_GT(rows, 3);
}

TEST_F(SecretsServiceTest, StateSurvivesRestart) {
  WriteResult w = Create("persist", "one", kV1);
  Put("persist", "two", kV2);
  ASSERT_TRUE(svc_->TagResource("persist", {{"team", "a"}}).ok());
  Reopen();
  EXPECT_EQ(Value(w.arn), "two");
  EXPECT_EQ(Value("persist", "", "AWSPREVIOUS"), "one");
  auto d = svc_->DescribeSecret("persist");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tags, (Tags{{"team", "a"}}));
  EXPECT_EQ(d->arn, w.arn);
}

TEST_F(SecretsServiceTest, DescribeTracksDates) {
  int64_t t0 = clock_.NowMillis();
  Create("dates", "v");
  auto d = svc_->DescribeSecret("dates");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->created_ms, t0);
  EXPECT_EQ(d->last_changed_ms, t0);
  EXPECT_EQ(d->last_accessed_ms, 0);
  clock_.Advance(kDay + 5000);
  EXPECT_EQ(Value("dates"), "v");
  d = svc_->DescribeSecret("dates");
  EXPECT_EQ(d->last_accessed_ms % kDay, 0);  // day resolution
  EXPECT_EQ(d->last_accessed_ms, clock_.NowMillis() - clock_.NowMillis() % kDay);
  EXPECT_EQ(d->last_changed_ms, t0);  // reading is not a change
  clock_.Advance(1000);
  ASSERT_TRUE(svc_->TagResource("dates", {{"k", "v"}}).ok());
  EXPECT_EQ(svc_->DescribeSecret("dates")->last_changed_ms, clock_.NowMillis());
}

TEST_F(SecretsServiceTest, DeleteValidatesItsOptions) {
  Create("del");
  EXPECT_EQ(Code(Delete("del", 7, true)), "InvalidParameterException");
  EXPECT_EQ(Code(Delete("del", 6)), "InvalidParameterException");
  EXPECT_EQ(Code(Delete("del", 31)), "InvalidParameterException");
  EXPECT_EQ(Code(Delete("nope")), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, DeleteSchedulesAndBlocksAccess) {
  Create("sched", "v");
  DeleteSecretRequest r{"sched", std::nullopt, false};
  auto out = svc_->DeleteSecret(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->deletion_ms, clock_.NowMillis() + 30 * kDay);  // default window
  auto got = Get("sched");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().aws_code, "InvalidRequestException");
  EXPECT_EQ(got.error().message,
            "You can't perform this operation on the secret because it was marked for deletion.");
  EXPECT_EQ(Code(svc_->DescribeSecret("sched")), "OK");  // metadata stays visible
  EXPECT_EQ(svc_->DescribeSecret("sched")->deleted_ms, clock_.NowMillis());
  PutSecretValueRequest put;
  put.secret_id = "sched";
  put.secret_string = "x";
  EXPECT_EQ(Code(svc_->PutSecretValue(put)), "InvalidRequestException");
  EXPECT_EQ(Code(Delete("sched")), "InvalidRequestException");  // already scheduled
  CreateSecretRequest again;
  again.name = "sched";
  auto create = svc_->CreateSecret(again);
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().aws_code, "InvalidRequestException");
  EXPECT_EQ(create.error().message,
            "You can't create this secret because a secret with this "
            "name is already scheduled for deletion.");
}

TEST_F(SecretsServiceTest, RestoreCancelsTheDeletion) {
  Create("restore", "v");
  ASSERT_TRUE(Delete("restore", 7).ok());
  auto restored = svc_->RestoreSecret("restore");
  ASSERT_TRUE(restored.ok());
  EXPECT_FALSE(restored->scheduled_for_deletion());
  EXPECT_EQ(Value("restore"), "v");
  clock_.Advance(8 * kDay);  // the old window has passed: nothing is purged
  EXPECT_EQ(Value("restore"), "v");
  EXPECT_EQ(Code(svc_->RestoreSecret("restore")), "OK");  // not scheduled: unchanged
}

// Deleted secrets are purged lazily once the window ends, and the purge survives a restart.
TEST_F(SecretsServiceTest, PurgeAfterTheRecoveryWindow) {
  WriteResult w = Create("purge", "v");
  ASSERT_TRUE(Delete("purge", 7).ok());
  clock_.Advance(7 * kDay - 1);
  EXPECT_EQ(Code(svc_->DescribeSecret("purge")), "OK");
  EXPECT_EQ(Code(svc_->RestoreSecret("purge")), "OK");
  ASSERT_TRUE(Delete("purge", 7).ok());
  clock_.Advance(7 * kDay);
  EXPECT_EQ(Code(svc_->DescribeSecret("purge")), "ResourceNotFoundException");
  EXPECT_EQ(Code(svc_->RestoreSecret(w.arn)), "ResourceNotFoundException");
  Reopen();
  EXPECT_EQ(Code(svc_->DescribeSecret("purge")), "ResourceNotFoundException");
  // The name is free again, and the new secret has a new ARN.
  WriteResult again = Create("purge", "new");
  EXPECT_NE(again.arn, w.arn);
  EXPECT_EQ(Code(Get(w.arn)), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, PurgeHappensOnOpenToo) {
  Create("gone", "v");
  ASSERT_TRUE(Delete("gone", 7).ok());
  clock_.Advance(8 * kDay);
  Reopen();
  ListSecretsRequest r;
  r.include_planned_deletion = true;
  EXPECT_TRUE(svc_->ListSecrets(r)->secrets.empty());
}

TEST_F(SecretsServiceTest, ForceDeleteIsImmediate) {
  WriteResult w = Create("force", "v");
  auto out = svc_->DeleteSecret({"force", std::nullopt, true});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->deletion_ms, clock_.NowMillis());
  EXPECT_EQ(Code(svc_->DescribeSecret("force")), "ResourceNotFoundException");
  // Force also purges a secret already scheduled for deletion.
  Create("force2", "v");
  ASSERT_TRUE(Delete("force2").ok());
  ASSERT_TRUE(Delete("force2", std::nullopt, true).ok());
  EXPECT_EQ(Code(svc_->DescribeSecret("force2")), "ResourceNotFoundException");
  Create("force2", "again");
  EXPECT_EQ(Value("force2"), "again");
  (void)w;
}

TEST_F(SecretsServiceTest, UpdateSecretChangesMetadataAndValue) {
  Create("upd", "one", kV1);
  UpdateSecretRequest r;
  r.secret_id = "upd";
  r.description = "the db";
  auto out = svc_->UpdateSecret(r);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->version_id.empty());
  EXPECT_EQ(svc_->DescribeSecret("upd")->description, "the db");
  r.description.reset();
  r.secret_string = "two";
  r.client_request_token = kV2;
  out = svc_->UpdateSecret(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->version_id, kV2);
  EXPECT_EQ(Value("upd"), "two");
  EXPECT_EQ(Stages("upd")[kV1], std::vector<std::string>{"AWSPREVIOUS"});
  // UpdateSecret does not repeat: a token that names a version is an error.
  EXPECT_EQ(Code(svc_->UpdateSecret(r)), "ResourceExistsException");
  // Nothing to change: LastChangedDate stays.
  int64_t changed = svc_->DescribeSecret("upd")->last_changed_ms;
  clock_.Advance(1000);
  UpdateSecretRequest same;
  same.secret_id = "upd";
  same.description = "the db";
  ASSERT_TRUE(svc_->UpdateSecret(same).ok());
  EXPECT_EQ(svc_->DescribeSecret("upd")->last_changed_ms, changed);
}

TEST_F(SecretsServiceTest, UpdateKmsKeyReencryptsLabelledVersions) {
  Create("rekey", "one", kV1);
  Put("rekey", "two", kV2);
  Put("rekey", "three", kV3);  // kV1 is now deprecated
  UpdateSecretRequest r;
  r.secret_id = "rekey";
  r.kms_key_id = "alias/app";
  ASSERT_TRUE(svc_->UpdateSecret(r).ok());
  auto d = svc_->DescribeSecret("rekey");
  EXPECT_EQ(d->kms_key_id, "alias/app");
  EXPECT_EQ(d->FindVersion(kV1)->kms_key_arn, FakeSecretCipher::kDefaultKeyArn);
  EXPECT_EQ(d->FindVersion(kV2)->kms_key_arn, FakeSecretCipher::kAppKeyArn);
  EXPECT_TRUE(d->FindVersion(kV3)->customer_key);
  EXPECT_EQ(Value("rekey"), "three");
  EXPECT_EQ(Value("rekey", kV2), "two");
  EXPECT_EQ(Value("rekey", kV1), "one");
  // Back to the default key.
  r.kms_key_id = "";
  ASSERT_TRUE(svc_->UpdateSecret(r).ok());
  EXPECT_EQ(svc_->DescribeSecret("rekey")->kms_key_id, "");
  EXPECT_FALSE(svc_->DescribeSecret("rekey")->FindVersion(kV3)->customer_key);
}

TEST_F(SecretsServiceTest, CustomerKeyAuthorizationOnlyForCustomerKeys) {
  Create("dflt", "a");
  Create("cust", "b", "", "alias/app");
  std::vector<std::string> asked;
  GetSecretValueRequest r;
  r.authorize_key = [&](const std::string& key_arn) {
    asked.push_back(key_arn);
    return Status(MakeError(ErrorKind::AccessDenied, "AccessDeniedException", "denied"));
  };
  r.secret_id = "dflt";
  EXPECT_TRUE(svc_->GetSecretValue(r).ok());
  EXPECT_TRUE(asked.empty());
  r.secret_id = "cust";
  int decrypts = cipher_.decrypts;
  EXPECT_EQ(Code(svc_->GetSecretValue(r)), "AccessDeniedException");
  EXPECT_EQ(asked, std::vector<std::string>{FakeSecretCipher::kAppKeyArn});
  EXPECT_EQ(cipher_.decrypts, decrypts);  // refused before decrypting
}

TEST_F(SecretsServiceTest, KmsFailuresMapToEncryptionAndDecryptionFailure) {
  CreateSecretRequest r;
  r.name = "nokey";
  r.secret_string = "v";
  r.kms_key_id = "alias/missing";
  EXPECT_EQ(Code(svc_->CreateSecret(r)), "EncryptionFailure");
  EXPECT_EQ(Code(svc_->DescribeSecret("nokey")), "ResourceNotFoundException");  // nothing kept
  Create("dis", "v", "", "alias/app");
  cipher_.disabled.insert(FakeSecretCipher::kAppKeyArn);
  EXPECT_EQ(Code(Get("dis")), "DecryptionFailure");
  cipher_.fail = true;
  EXPECT_EQ(Code(Get("dis")), "KMSInternalException");  // unavailability passes through
}

TEST_F(SecretsServiceTest, TagsMergeAndUntag) {
  Create("tags");
  ASSERT_TRUE(svc_->TagResource("tags", {{"a", "1"}, {"b", "2"}}).ok());
  ASSERT_TRUE(svc_->TagResource("tags", {{"a", "9"}}).ok());
  EXPECT_EQ(svc_->DescribeSecret("tags")->tags, (Tags{{"a", "9"}, {"b", "2"}}));
  ASSERT_TRUE(svc_->UntagResource("tags", {"a", "unknown"}).ok());
  EXPECT_EQ(svc_->DescribeSecret("tags")->tags, (Tags{{"b", "2"}}));
  EXPECT_EQ(Code(svc_->TagResource("tags", {{"aws:x", "1"}})), "InvalidParameterException");
  EXPECT_EQ(Code(svc_->TagResource("tags", {{"", "1"}})), "ValidationException");
  Tags many;
  for (int i = 0; i < 50; ++i) {
    many.emplace_back("k" + std::to_string(i), "v");
  }
  EXPECT_EQ(Code(svc_->TagResource("tags", many)), "InvalidParameterException");  // 51 with b
  EXPECT_EQ(Code(svc_->TagResource("missing", {{"a", "1"}})), "ResourceNotFoundException");
  ASSERT_TRUE(Delete("tags").ok());
  EXPECT_EQ(Code(svc_->TagResource("tags", {{"a", "1"}})), "InvalidRequestException");
}

TEST_F(SecretsServiceTest, ListSecretsFiltersAndSorts) {
  CreateSecretRequest r;
  r.name = "prod/db";
  r.description = "Primary database";
  r.tags = {{"env", "production"}};
  ASSERT_TRUE(svc_->CreateSecret(r).ok());
  clock_.Advance(1);
  r.name = "prod/cache";
  r.description = "Redis";
  r.tags = {{"env", "prod"}, {"team", "web"}};
  ASSERT_TRUE(svc_->CreateSecret(r).ok());
  clock_.Advance(1);
  r.name = "dev/db";
  r.description = "dev database";
  r.tags = {{"env", "dev"}};
  ASSERT_TRUE(svc_->CreateSecret(r).ok());

  auto names = [&](std::vector<ListSecretsFilter> filters, std::string order = "") {
    ListSecretsRequest req;
    req.filters = std::move(filters);
    req.sort_order = std::move(order);
    auto page = svc_->ListSecrets(req);
    EXPECT_TRUE(page.ok()) << page.error().message;
    std::vector<std::string> out;
    for (const Secret& s : page->secrets) {
      out.push_back(s.name);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({}), (V{"prod/db", "prod/cache", "dev/db"}));
  EXPECT_EQ(names({}, "desc"), (V{"dev/db", "prod/cache", "prod/db"}));
  EXPECT_EQ(names({{"name", {"prod/"}}}), (V{"prod/db", "prod/cache"}));
  EXPECT_EQ(names({{"name", {"Prod/"}}}), V{});                    // name: case-sensitive
  EXPECT_EQ(names({{"description", {"primary"}}}), V{"prod/db"});  // description: not
  EXPECT_EQ(names({{"tag-key", {"te"}}}), V{"prod/cache"});
  EXPECT_EQ(names({{"tag-value", {"prod"}}}), (V{"prod/db", "prod/cache"}));
  EXPECT_EQ(names({{"name", {"prod/"}}, {"tag-value", {"production"}}}), V{"prod/db"});
  EXPECT_EQ(names({{"name", {"dev/", "prod/c"}}}), (V{"prod/cache", "dev/db"}));
  EXPECT_EQ(names({{"name", {"!prod/"}}}), V{"dev/db"});
  EXPECT_EQ(names({{"all", {"database"}}}), (V{"prod/db", "dev/db"}));
  EXPECT_EQ(names({{"all", {"DB"}}}), (V{"prod/db", "dev/db"}));
  EXPECT_EQ(names({{"all", {"web"}}}), V{"prod/cache"});

  ListSecretsRequest bad;
  bad.filters = {{"colour", {"x"}}};
  EXPECT_EQ(Code(svc_->ListSecrets(bad)), "ValidationException");
  bad.filters = {{"name", {}}};
  EXPECT_EQ(Code(svc_->ListSecrets(bad)), "ValidationException");
  bad.filters.clear();
  bad.sort_order = "up";
  EXPECT_EQ(Code(svc_->ListSecrets(bad)), "ValidationException");
  bad.sort_order.clear();
  bad.max_results = 101;
  EXPECT_EQ(Code(svc_->ListSecrets(bad)), "ValidationException");
}

TEST_F(SecretsServiceTest, ListSecretsPagesAndHidesDeleted) {
  for (int i = 0; i < 5; ++i) {
    Create("s" + std::to_string(i));
    clock_.Advance(1);
  }
  ASSERT_TRUE(Delete("s2").ok());
  ListSecretsRequest r;
  r.max_results = 2;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto page = svc_->ListSecrets(r);
    ASSERT_TRUE(page.ok());
    for (const Secret& s : page->secrets) {
      seen.push_back(s.name);
    }
    r.next_token = page->next_token;
    ++pages;
  } while (!r.next_token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"s0", "s1", "s3", "s4"}));
  EXPECT_EQ(pages, 2);
  r = {};
  r.max_results = 3;
  r.sort_order = "desc";
  auto first = svc_->ListSecrets(r);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->secrets.size(), 3u);
  EXPECT_EQ(first->secrets[0].name, "s4");
  r.next_token = first->next_token;
  auto second = svc_->ListSecrets(r);
  ASSERT_EQ(second->secrets.size(), 1u);
  EXPECT_EQ(second->secrets[0].name, "s0");
  EXPECT_TRUE(second->next_token.empty());
  ListSecretsRequest all;
  all.include_planned_deletion = true;
  EXPECT_EQ(svc_->ListSecrets(all)->secrets.size(), 5u);
  ListSecretsRequest bad;
  bad.next_token = "garbage!";
  EXPECT_EQ(Code(svc_->ListSecrets(bad)), "InvalidNextTokenException");
}

TEST_F(SecretsServiceTest, ListSecretVersionIdsHidesDeprecatedUnlessAsked) {
  Create("lv", "1", kV1);
  Put("lv", "2", kV2);
  Put("lv", "3", kV3);
  ListSecretVersionIdsRequest r;
  r.secret_id = "lv";
  auto page = svc_->ListSecretVersionIds(r);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->versions.size(), 2u);
  EXPECT_EQ(page->versions[0].version_id, kV2);
  r.include_deprecated = true;
  r.max_results = 2;
  page = svc_->ListSecretVersionIds(r);
  ASSERT_EQ(page->versions.size(), 2u);
  EXPECT_EQ(page->versions[0].version_id, kV1);
  ASSERT_FALSE(page->next_token.empty());
  r.next_token = page->next_token;
  page = svc_->ListSecretVersionIds(r);
  ASSERT_EQ(page->versions.size(), 1u);
  EXPECT_EQ(page->versions[0].version_id, kV3);
  EXPECT_TRUE(page->next_token.empty());
}

TEST_F(SecretsServiceTest, UpdateSecretVersionStage) {
  Create("stage", "1", kV1);
  Put("stage", "2", kV2, {"AWSPENDING"});
  // Moving AWSCURRENT needs RemoveFromVersionId naming its holder.
  UpdateSecretVersionStageRequest r{"stage", "AWSCURRENT", "", kV2};
  EXPECT_EQ(Code(svc_->UpdateSecretVersionStage(r)), "InvalidParameterException");
  r.remove_from_version_id = kV2;
  EXPECT_EQ(Code(svc_->UpdateSecretVersionStage(r)), "InvalidParameterException");
  r.remove_from_version_id = kV1;
  ASSERT_TRUE(svc_->UpdateSecretVersionStage(r).ok());
  auto stages = Stages("stage");
  EXPECT_EQ(stages[kV1], std::vector<std::string>{"AWSPREVIOUS"});
  EXPECT_EQ(stages[kV2], (std::vector<std::string>{"AWSPENDING", "AWSCURRENT"}));
  EXPECT_EQ(Value("stage"), "2");
  // Removing a label without moving it.
  UpdateSecretVersionStageRequest remove{"stage", "AWSPENDING", kV2, ""};
  ASSERT_TRUE(svc_->UpdateSecretVersionStage(remove).ok());
  EXPECT_EQ(Stages("stage")[kV2], std::vector<std::string>{"AWSCURRENT"});
  // AWSCURRENT can only move.
  UpdateSecretVersionStageRequest drop{"stage", "AWSCURRENT", kV2, ""};
  EXPECT_EQ(Code(svc_->UpdateSecretVersionStage(drop)), "InvalidParameterException");
  // A custom label onto a version.
  UpdateSecretVersionStageRequest custom{"stage", "BLUE", "", kV1};
  ASSERT_TRUE(svc_->UpdateSecretVersionStage(custom).ok());
  EXPECT_EQ(Value("stage", "", "BLUE"), "1");
  UpdateSecretVersionStageRequest unknown{"stage", "BLUE", "", kV3};
  EXPECT_EQ(Code(svc_->UpdateSecretVersionStage(unknown)), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, GetRandomPassword) {
  auto p = svc_->GetRandomPassword({});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 32u);
  RandomPasswordRequest r;
  r.password_length = 64;
  r.exclude_punctuation = true;
  r.exclude_characters = "aA0";
  p = svc_->GetRandomPassword(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 64u);
  bool lower = false, upper = false, digit = false;
  for (char c : *p) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << *p;
    EXPECT_EQ(std::string("aA0").find(c), std::string::npos) << *p;
    lower = lower || std::islower(static_cast<unsigned char>(c));
    upper = upper || std::isupper(static_cast<unsigned char>(c));
    digit = digit || std::isdigit(static_cast<unsigned char>(c));
  }
  EXPECT_TRUE(lower && upper && digit);  // RequireEachIncludedType by default
  r = {};
  r.password_length = 0;
  EXPECT_EQ(Code(svc_->GetRandomPassword(r)), "ValidationException");
  r.password_length = 8;
  r.exclude_lowercase = r.exclude_uppercase = r.exclude_numbers = r.exclude_punctuation = true;
  EXPECT_EQ(Code(svc_->GetRandomPassword(r)), "InvalidParameterException");
  r.include_space = true;
  EXPECT_EQ(*svc_->GetRandomPassword(r), "        ");
}

// The random suffix comes from real randomness in production: check its spread once.
TEST_F(SecretsServiceTest, RandomSuffixesDiffer) {
  core::RandomIdSource random;
  SecretsConfig config;
  config.account_id = "123456789012";
  SecretsService svc(*db_, clock_, random, cipher_, config);
  ASSERT_TRUE(svc.Open().ok());
  std::set<std::string> arns;
  for (int i = 0; i < 20; ++i) {
    CreateSecretRequest r;
    r.name = "rand" + std::to_string(i);
    auto out = svc.CreateSecret(r);
    ASSERT_TRUE(out.ok());
    arns.insert(out->arn.substr(out->arn.size() - 6));
  }
  EXPECT_GT(arns.size(), 15u);
}

// --- ResolveForTask: ECS valueFrom ---

TEST_F(SecretsServiceTest, ResolveForTaskWholeSecretAndJsonKey) {
  WriteResult w = Create("task/db", R"({"username":"app","password":"pw","port":5432})", kV1);
  EXPECT_EQ(*svc_->ResolveForTask(w.arn), R"({"username":"app","password":"pw","port":5432})");
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + ":password::"), "pw");
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + ":port::"), "5432");  // non-strings as JSON
  // Partial ARN (no suffix) works as GetSecretValue's SecretId does.
  EXPECT_EQ(*svc_->ResolveForTask(std::string(kArnPrefix) + "task/db:username::"), "app");
  EXPECT_NE(svc_->DescribeSecret("task/db")->last_accessed_ms, 0);
}

TEST_F(SecretsServiceTest, ResolveForTaskByStageAndVersion) {
  WriteResult w = Create("task/ver", R"({"k":"one"})", kV1);
  Put("task/ver", R"({"k":"two"})", kV2);
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + ":k:AWSPREVIOUS:"), "one");
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + ":k::" + kV2), "two");
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + "::AWSCURRENT:"), R"({"k":"two"})");
  EXPECT_EQ(*svc_->ResolveForTask(w.arn + ":k:AWSPREVIOUS:" + kV1), "one");
}

TEST_F(SecretsServiceTest, ResolveForTaskErrorsNameTheSecretNeverTheValue) {
  WriteResult w = Create("task/err", R"({"user":"TOPSECRETVALUE"})", kV1);
  auto check = [&](const std::string& value_from, const std::string& code,
                   const std::string& must_mention) {
    auto out = svc_->ResolveForTask(value_from);
    ASSERT_FALSE(out.ok()) << value_from;
    EXPECT_EQ(out.error().aws_code, code) << value_from;
    EXPECT_NE(out.error().message.find(must_mention), std::string::npos) << out.error().message;
    EXPECT_EQ(out.error().message.find("TOPSECRETVALUE"), std::string::npos);
  };
  check(w.arn + ":password::", "InvalidParameterException", "'password'");
  check(w.arn + ":password::", "InvalidParameterException", w.arn);
  check(w.arn + "::AWSPENDING:", "ResourceNotFoundException", "AWSPENDING");
  check(w.arn + "::AWSPENDING:", "ResourceNotFoundException", w.arn);
  check(w.arn + ":::" + kV3, "ResourceNotFoundException", kV3);
  check(std::string(kArnPrefix) + "task/missing", "ResourceNotFoundException", "task/missing");
  check("arn:aws:ssm:us-east-1:123456789012:parameter/x", "InvalidParameterException",
        "parameter/x");
  Create("task/plain", "TOPSECRETVALUE not json", kV1);
  check(std::string(kArnPrefix) + "task/plain:user::", "InvalidParameterException",
        "not a JSON object");
  CreateSecretRequest bin;
  bin.name = "task/bin";
  bin.secret_binary = "TOPSECRETVALUE";
  ASSERT_TRUE(svc_->CreateSecret(bin).ok());
  check(std::string(kArnPrefix) + "task/bin", "InvalidRequestException", "SecretBinary");
  ASSERT_TRUE(Delete("task/err").ok());
  check(w.arn, "InvalidRequestException", w.arn);
}

TEST_F(SecretsServiceTest, ResolveForTaskAuthorizesAsTheExecutionRole) {
  WriteResult plain = Create("task/auth", "v");
  WriteResult cust = Create("task/cust", "v", "", "alias/app");
  std::vector<std::pair<std::string, std::string>> asked;
  std::set<std::string> deny;
  AuthorizeFn authorize = [&](std::string_view action, std::string_view resource) -> Status {
    asked.emplace_back(std::string(action), std::string(resource));
    if (deny.count(std::string(action)) > 0) {
      return MakeError(ErrorKind::AccessDenied, "AccessDeniedException", "denied");
    }
    return OkStatus();
  };
  ASSERT_TRUE(svc_->ResolveForTask(plain.arn, authorize).ok());
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, std::string>>{
                       {"secretsmanager:GetSecretValue", plain.arn}}));
  asked.clear();
  ASSERT_TRUE(svc_->ResolveForTask(cust.arn, authorize).ok());
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, std::string>>{
                       {"secretsmanager:GetSecretValue", cust.arn},
                       {"kms:Decrypt", FakeSecretCipher::kAppKeyArn}}));
  deny.insert("kms:Decrypt");
  EXPECT_EQ(Code(svc_->ResolveForTask(cust.arn, authorize)), "AccessDeniedException");
  deny.insert("secretsmanager:GetSecretValue");
  EXPECT_EQ(Code(svc_->ResolveForTask(plain.arn, authorize)), "AccessDeniedException");
}

}  // namespace
}  // namespace berth::secretsmanager
