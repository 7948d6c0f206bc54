#include "ssm/ssm_service.h"
#include "ssm/ssm_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_secure_string_cipher.h"

namespace berth::ssm {
namespace {

using testing::FakeSecureStringCipher;

constexpr char kAccount[] = "123456789012";
constexpr char kArnPrefix[] = "arn:aws:ssm:us-east-1:123456789012:parameter";

class SsmServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  // A restart: a new service over the same database.
  void Reopen() {
    svc_.reset();
    SsmConfig config;
    config.account_id = kAccount;
    svc_ = std::make_unique<SsmService>(*db_, clock_, cipher_, config);
    ASSERT_TRUE(svc_->Open().ok());
  }
  Result<PutParameterResult> Put(const std::string& name, const std::string& value,
                                 std::optional<ParameterType> type = ParameterType::String,
                                 bool overwrite = false) {
    PutParameterRequest r;
    r.name = name;
    r.value = value;
    r.type = type;
    r.overwrite = overwrite;
    return svc_->PutParameter(r);
  }
  void MustPut(const std::string& name, const std::string& value,
               std::optional<ParameterType> type = ParameterType::String, bool overwrite = false) {
    auto r = Put(name, value, type, overwrite);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().aws_code << " " << r.error().message;
  }
  Result<ParameterValue> Get(const std::string& name, bool decrypt = false) {
    DecryptOptions d;
    d.with_decryption = decrypt;
    return svc_->GetParameter(name, d);
  }
  std::vector<std::string> Names(const std::vector<ParameterValue>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
      out.push_back(v.name);
    }
    return out;
  }
  std::vector<std::string> Names(const std::vector<ParameterMetadata>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
      out.push_back(v.name);
    }
    return out;
  }
  Result<Page<ParameterMetadata>> Describe(std::vector<ParameterStringFilter> filters,
                                           std::optional<int> max = 50) {
    DescribeParametersRequest r;
    r.parameter_filters = std::move(filters);
    r.max_results = max;
    return svc_->DescribeParameters(r);
  }
  Result<Page<ParameterValue>> ByPath(const std::string& path, bool recursive,
                                      std::vector<ParameterStringFilter> filters = {}) {
    GetParametersByPathRequest r;
    r.path = path;
    r.recursive = recursive;
    r.filters = std::move(filters);
    return svc_->GetParametersByPath(r);
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  FakeSecureStringCipher cipher_;
  std::unique_ptr<SsmService> svc_;
};

void ExpectError(const Status& s, const std::string& code, const std::string& message = "") {
  ASSERT_FALSE(s.ok()) << "expected " << code;
  EXPECT_EQ(s.error().aws_code, code) << s.error().message;
  if (!message.empty()) {
    EXPECT_EQ(s.error().message, message);
  }
}
template <typename T>
void ExpectError(const Result<T>& r, const std::string& code, const std::string& message = "") {
  ASSERT_FALSE(r.ok()) << "expected " << code;
  EXPECT_EQ(r.error().aws_code, code) << r.error().message;
  if (!message.empty()) {
    EXPECT_EQ(r.error().message, message);
  }
}

// ---- PutParameter / GetParameter -------------------------------------------------------

TEST_F(SsmServiceTest, PutThenGetString) {
  auto put = Put("/app/db/host", "db.internal");
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->version, 1);
  EXPECT_EQ(put->tier, ParameterTier::Standard);
  auto got = Get("/app/db/host");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "/app/db/host");
  EXPECT_EQ(got->value, "db.internal");
  EXPECT_EQ(got->type, ParameterType::String);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->arn, std::string(kArnPrefix) + "/app/db/host");  // no doubled slash
  EXPECT_EQ(got->data_type, "text");
  EXPECT_EQ(got->modified_ms, clock_.NowMillis());
  EXPECT_TRUE(got->selector.empty());
}

TEST_F(SsmServiceTest, ExistingNameWithoutOverwriteIsParameterAlreadyExists) {
  MustPut("db", "one");
  ExpectError(Put("db", "two"), "ParameterAlreadyExists",
              "The parameter already exists. To overwrite this value, set the overwrite option in "
              "the request to true.");
  EXPECT_EQ(Get("db")->value, "one");
}

TEST_F(SsmServiceTest, OverwriteAddsAVersionEachTime) {
  MustPut("db", "one");
  clock_.Advance(1000);
  auto second = Put("db", "two", std::nullopt, true);  // Type may be left out on an update
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, 2);
  auto third = Put("db", "two", std::nullopt, true);  // the same value is still a new version
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->version, 3);
  auto got = Get("db");
  EXPECT_EQ(got->value, "two");
  EXPECT_EQ(got->version, 3);
  EXPECT_EQ(got->type, ParameterType::String);
  EXPECT_EQ(got->modified_ms, clock_.NowMillis());
}

TEST_F(SsmServiceTest, OverwriteKeepsSettingsTheRequestLeavesOut) {
  PutParameterRequest r;
  r.name = "port";
  r.value = "80";
  r.type = ParameterType::String;
  r.description = "the port";
  r.allowed_pattern = "^\\d+$";
  r.data_type = "text";
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  PutParameterRequest update;
  update.name = "port";
  update.value = "8080";
  update.overwrite = true;
  ASSERT_TRUE(svc_->PutParameter(update).ok());
  auto page = Describe({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].latest.description, "the port");
  EXPECT_EQ(page->items[0].latest.allowed_pattern, "^\\d+$");
  EXPECT_EQ(page->items[0].latest.version, 2);
  // The inherited pattern still applies.
  update.value = "eighty";
  ExpectError(svc_->PutParameter(update), "ParameterPatternMismatchException");
}

TEST_F(SsmServiceTest, CreateNeedsAType) {
  ExpectError(Put("db", "x", std::nullopt), "ValidationException",
              "A parameter type is required when you create a parameter.");
}

TEST_F(SsmServiceTest, OverwriteMayChangeTheType) {
  MustPut("list", "a,b");
  MustPut("list", "a,b,c", ParameterType::StringList, true);
  EXPECT_EQ(Get("list")->type, ParameterType::StringList);
  MustPut("list", "secret", ParameterType::SecureString, true);
  EXPECT_EQ(Get("list")->type, ParameterType::SecureString);
  EXPECT_EQ(Get("list", true)->value, "secret");
  MustPut("list", "plain", ParameterType::String, true);
  EXPECT_EQ(Get("list")->value, "plain");
}

TEST_F(SsmServiceTest, TagsWithOverwriteAreRejected) {
  PutParameterRequest r;
  r.name = "db";
  r.value = "x";
  r.type = ParameterType::String;
  r.overwrite = true;
  r.tags = {{"team", "a"}};
  ExpectError(svc_->PutParameter(r), "ValidationException",
              "Invalid request: tags and overwrite can't be used together. To create a parameter "
              "with tags, please remove overwrite flag. To update tags for an existing parameter, "
              "please use AddTagsToResource or RemoveTagsFromResource.");
}

TEST_F(SsmServiceTest, EmptyValueIsRejected) { ExpectError(Put("db", ""), "ValidationException"); }

TEST_F(SsmServiceTest, ValidNames) {
  std::string fifteen = "/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/name";
  for (const std::string& name : {std::string("db"), std::string("/db2"), std::string("a.b-c_D9"),
                                  std::string("/app/x"), fifteen, std::string(2048, 'n')}) {
    EXPECT_TRUE(Put(name, "v").ok()) << name;
  }
}

TEST_F(SsmServiceTest, NameRules) {
  const std::string rules =
      "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it "
      "can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of "
      "letters, numbers and the following 3 symbols .-_";
  for (const char* bad : {"a b", "a/b", "/a//b", "/a/", "a:b", "a*b", "/ssm/x", "/SSMx/y"}) {
    ExpectError(Put(bad, "v"), "ValidationException", rules);
  }
  const std::string prefix =
      "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
  for (const char* bad : {"aws-thing", "AWS_TEST", "ssm_test", "SSM"}) {
    ExpectError(Put(bad, "v"), "ValidationException", prefix);
  }
  ExpectError(Put("/aws/x", "v"), "ValidationException",
              "No access to reserved parameter name: /aws/x.");
  ExpectError(Put("", "v"), "ValidationException");
  ExpectError(Put(std::string(2049, 'n'), "v"), "ValidationException");
}

TEST_F(SsmServiceTest, HierarchyDepthIsFifteenLevels) {
  std::string sixteen = "/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15/name";
  ExpectError(Put(sixteen, "v"), "HierarchyLevelLimitExceededException");
}

// AWS treats "db" and "/db" as one parameter (see ARN rules in ssm_service.h).
TEST_F(SsmServiceTest, LeadingSlashOnAOneLevelNameIsOptional) {
  MustPut("db", "x");
  ExpectError(Put("/db", "y"), "ParameterAlreadyExists");
  auto got = Get("/db");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "db");
  EXPECT_EQ(got->arn, std::string(kArnPrefix) + "/db");
  EXPECT_EQ(svc_->ParameterArn("/db"), std::string(kArnPrefix) + "/db");
  EXPECT_EQ(svc_->ParameterArn("db:3"), std::string(kArnPrefix) + "/db");
  EXPECT_EQ(svc_->ParameterArn("/app/x"), std::string(kArnPrefix) + "/app/x");
  EXPECT_EQ(svc_->PathArn("/app/"), std::string(kArnPrefix) + "/app");
  EXPECT_EQ(svc_->PathArn("/"), std::string(kArnPrefix) + "/");
}

TEST_F(SsmServiceTest, GetByArn) {
  MustPut("/app/x", "1");
  MustPut("/app/x", "2", std::nullopt, true);
  auto got = Get(std::string(kArnPrefix) + "/app/x");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "2");
  auto old = Get(std::string(kArnPrefix) + "/app/x:1");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->value, "1");
  ExpectError(Get("arn:aws:ssm:eu-west-1:123456789012:parameter/app/x"), "ParameterNotFound");
}

// ---- Tiers and sizes -------------------------------------------------------------------

TEST_F(SsmServiceTest, StandardTierHoldsFourKiB) {
  EXPECT_TRUE(Put("four", std::string(4096, 'v')).ok());
  ExpectError(Put("big", std::string(4097, 'v')), "ValidationException",
              "Standard tier parameters support a maximum parameter value of 4096 characters. To "
              "create a larger parameter value, upgrade the parameter to use the "
              "advanced-parameter tier. For more information, see "
              "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
              "parameter-store-advanced-parameters.html");
}

TEST_F(SsmServiceTest, AdvancedTierHoldsEightKiB) {
  PutParameterRequest r;
  r.name = "big";
  r.value = std::string(8192, 'v');
  r.type = ParameterType::String;
  r.tier = ParameterTier::Advanced;
  auto put = svc_->PutParameter(r);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->tier, ParameterTier::Advanced);
  r.name = "bigger";
  r.value = std::string(8193, 'v');
  ExpectError(svc_->PutParameter(r), "ValidationException",
              "The specified parameter value is too large. Advanced-tier parameters support a "
              "maximum parameter value of 8192 characters.");
}

TEST_F(SsmServiceTest, IntelligentTieringPicksTheSmallestTierThatFits) {
  PutParameterRequest r;
  r.name = "small";
  r.value = "v";
  r.type = ParameterType::String;
  r.tier = ParameterTier::IntelligentTiering;
  EXPECT_EQ(svc_->PutParameter(r)->tier, ParameterTier::Standard);
  r.name = "large";
  r.value = std::string(5000, 'v');
  EXPECT_EQ(svc_->PutParameter(r)->tier, ParameterTier::Advanced);
}

TEST_F(SsmServiceTest, AdvancedNeverGoesBackToStandard) {
  PutParameterRequest r;
  r.name = "adv";
  r.value = "v";
  r.type = ParameterType::String;
  r.tier = ParameterTier::Advanced;
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  r.overwrite = true;
  r.tier = ParameterTier::Standard;
  ExpectError(svc_->PutParameter(r), "ValidationException");
  r.tier.reset();  // no tier: the parameter stays Advanced
  EXPECT_EQ(svc_->PutParameter(r)->tier, ParameterTier::Advanced);
  r.tier = ParameterTier::IntelligentTiering;
  EXPECT_EQ(svc_->PutParameter(r)->tier, ParameterTier::Advanced);
}

TEST_F(SsmServiceTest, PoliciesNeedTheAdvancedTier) {
  PutParameterRequest r;
  r.name = "p";
  r.value = "v";
  r.type = ParameterType::String;
  r.policies =
      R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}])";
  ExpectError(svc_->PutParameter(r), "ValidationException");
  r.tier = ParameterTier::IntelligentTiering;
  EXPECT_EQ(svc_->PutParameter(r)->tier, ParameterTier::Advanced);
}

// ---- AllowedPattern, KeyId, DataType ---------------------------------------------------

TEST_F(SsmServiceTest, AllowedPatternMustMatchTheWholeValue) {
  PutParameterRequest r;
  r.name = "/MyService/Test/MaxConnections";
  r.value = "10,000";
  r.type = ParameterType::String;
  r.allowed_pattern = "\\d{1,4}";
  ExpectError(svc_->PutParameter(r), "ParameterPatternMismatchException",
              "Parameter value, cannot be validated against allowedPattern: \\d{1,4}");
  r.value = "1000";
  EXPECT_TRUE(svc_->PutParameter(r).ok());
}

TEST_F(SsmServiceTest, InvalidAllowedPattern) {
  PutParameterRequest r;
  r.name = "p";
  r.value = "v";
  r.type = ParameterType::String;
  r.allowed_pattern = "([a-z";
  ExpectError(svc_->PutParameter(r), "InvalidAllowedPatternException");
}

TEST_F(SsmServiceTest, AllowedPatternOnAnEightKiBValue) {
  PutParameterRequest r;
  r.name = "p";
  r.value = std::string(8192, 'x');
  r.type = ParameterType::SecureString;
  r.tier = ParameterTier::Advanced;
  r.allowed_pattern = ".*";
  EXPECT_TRUE(svc_->PutParameter(r).ok());
  r.name = "q";
  r.allowed_pattern = "[a-w]+";
  ExpectError(svc_->PutParameter(r), "ParameterPatternMismatchException");
  // Patterns that make a backtracking matcher recurse per character (or blow up) stay cheap.
  r.name = "r";
  r.allowed_pattern = "^(\\w|\\s)*$";
  EXPECT_TRUE(svc_->PutParameter(r).ok());
  r.name = "s";
  r.allowed_pattern = "(x+x+)+y";
  ExpectError(svc_->PutParameter(r), "ParameterPatternMismatchException");
}

TEST_F(SsmServiceTest, AllowedPatternWithBackReferences) {
  PutParameterRequest r;
  r.name = "p";
  r.value = "abab";
  r.type = ParameterType::String;
  r.allowed_pattern = "(ab)\\1";
  EXPECT_TRUE(svc_->PutParameter(r).ok());
  r.name = "q";
  r.value = "abcd";
  ExpectError(svc_->PutParameter(r), "ParameterPatternMismatchException");
  r.name = "r";
  r.value = std::string(2000, 'a');
  r.allowed_pattern = "(a)\\1*";
  ExpectError(svc_->PutParameter(r), "InvalidAllowedPatternException");
}

TEST_F(SsmServiceTest, KeyIdOnlyForSecureString) {
  PutParameterRequest r;
  r.name = "p";
  r.value = "v";
  r.type = ParameterType::String;
  r.key_id = "alias/app";
  ExpectError(svc_->PutParameter(r), "ValidationException",
              "KeyId is required for SecureString type parameter only.");
}

TEST_F(SsmServiceTest, DataTypes) {
  PutParameterRequest r;
  r.name = "ami";
  r.value = "ami-12345678";
  r.type = ParameterType::String;
  r.data_type = "aws:ec2:image";
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  EXPECT_EQ(Get("ami")->data_type, "aws:ec2:image");
  r.name = "bad";
  r.data_type = "Text";
  ExpectError(svc_->PutParameter(r), "ValidationException",
              "The following data type is not supported: Text (Data type names are all "
              "lowercase.)");
}

TEST_F(SsmServiceTest, LastModifiedUser) {
  MustPut("a", "1");
  PutParameterRequest r;
  r.name = "b";
  r.value = "1";
  r.type = ParameterType::String;
  r.user_arn = "arn:aws:iam::123456789012:user/alice";
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  auto page = Describe({});
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].latest.modified_user, "arn:aws:iam::123456789012:root");
  EXPECT_EQ(page->items[1].latest.modified_user, "arn:aws:iam::123456789012:user/alice");
}

// ---- SecureString ----------------------------------------------------------------------

TEST_F(SsmServiceTest, SecureStringWithTheDefaultKey) {
  MustPut("/app/password", "hunter2", ParameterType::SecureString);
  ASSERT_EQ(cipher_.encrypt_contexts.size(), 1u);
  EXPECT_EQ(cipher_.encrypt_contexts[0],
            (std::map<std::string, std::string>{
                {"PARAMETER_ARN", std::string(kArnPrefix) + "/app/password"}}));
  // Without decryption the value is the ciphertext, base64-encoded.
  auto sealed = Get("/app/password");
  ASSERT_TRUE(sealed.ok());
  EXPECT_NE(sealed->value, "hunter2");
  auto blob = core::Base64Decode(sealed->value);
  ASSERT_TRUE(blob.has_value());
  EXPECT_TRUE(blob->starts_with(FakeSecureStringCipher::kMarker));
  EXPECT_EQ(cipher_.decrypts, 0);
  auto open = Get("/app/password", true);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->value, "hunter2");
  auto meta = Describe({});
  EXPECT_EQ(meta->items[0].latest.key_id, "alias/aws/ssm");
  EXPECT_EQ(meta->items[0].latest.key_arn, FakeSecureStringCipher::kDefaultKeyArn);
  EXPECT_TRUE(meta->items[0].latest.value.empty());
}

TEST_F(SsmServiceTest, SecureStringWithACustomKeyKeepsItOnOverwrite) {
  PutParameterRequest r;
  r.name = "token";
  r.value = "t1";
  r.type = ParameterType::SecureString;
  r.key_id = "alias/app";
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  MustPut("token", "t2", std::nullopt, true);
  auto meta = Describe({});
  EXPECT_EQ(meta->items[0].latest.key_id, "alias/app");
  EXPECT_EQ(meta->items[0].latest.key_arn, FakeSecureStringCipher::kAppKeyArn);
  EXPECT_EQ(Get("token", true)->value, "t2");
}

TEST_F(SsmServiceTest, UnknownKeyIsInvalidKeyIdAndStoresNothing) {
  PutParameterRequest r;
  r.name = "token";
  r.value = "t1";
  r.type = ParameterType::SecureString;
  r.key_id = "alias/nope";
  auto put = svc_->PutParameter(r);
  ExpectError(put, "InvalidKeyId");
  EXPECT_NE(put.error().message.find("Key 'alias/nope' does not exist"), std::string::npos);
  ExpectError(Get("token"), "ParameterNotFound");
}

TEST_F(SsmServiceTest, DisabledKeyIsInvalidKeyIdOnRead) {
  MustPut("token", "t1", ParameterType::SecureString);
  cipher_.disabled.insert(FakeSecureStringCipher::kDefaultKeyArn);
  ExpectError(Get("token", true), "InvalidKeyId");
  EXPECT_TRUE(Get("token").ok());  // the ciphertext needs no key
}

TEST_F(SsmServiceTest, CipherOutageKeepsItsOwnError) {
  MustPut("token", "t1", ParameterType::SecureString);
  cipher_.fail = true;
  auto got = Get("token", true);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Unavailable);
  auto put = Put("other", "x", ParameterType::SecureString);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::Unavailable);
  cipher_.fail = false;
  ExpectError(Get("other"), "ParameterNotFound");
}

TEST_F(SsmServiceTest, DecryptionIsAuthorizedWithTheKeyArnFirst) {
  MustPut("token", "t1", ParameterType::SecureString);
  std::vector<std::string> asked;
  DecryptOptions d;
  d.with_decryption = true;
  d.authorize = [&](const std::string& key_arn) -> Status {
    asked.push_back(key_arn);
    return MakeError(ErrorKind::AccessDenied, "AccessDeniedException", "no kms:Decrypt");
  };
  ExpectError(svc_->GetParameter("token", d), "AccessDeniedException");
  EXPECT_EQ(asked, std::vector<std::string>{FakeSecureStringCipher::kDefaultKeyArn});
  EXPECT_EQ(cipher_.decrypts, 0);
  // Not asking for decryption needs no key permission.
  d.with_decryption = false;
  EXPECT_TRUE(svc_->GetParameter("token", d).ok());
  // A String parameter is never "decrypted".
  MustPut("plain", "p");
  d.with_decryption = true;
  EXPECT_EQ(svc_->GetParameter("plain", d)->value, "p");
}

// The store holds SecureStrings only as ciphertext: no table's text contains the plaintext.
TEST_F(SsmServiceTest, NoPlaintextInTheStore) {
  const std::string secret = "correct-horse-battery-staple";
  MustPut("/app/secret", secret, ParameterType::SecureString);
  MustPut("/app/secret", secret + "-2", std::nullopt, true);
  ASSERT_TRUE(svc_->LabelParameterVersion("/app/secret", 1, {"old"}).ok());
  MustPut("/app/plain", "visible");
  sqlite3* h = db_->handle();
  std::vector<std::string> tables;
  {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st,
                                 nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
  }
  bool saw_plain = false;
  for (const std::string& table : tables) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, ("SELECT * FROM \"" + table + "\"").c_str(), -1, &st, nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* text = sqlite3_column_text(st, c);
        std::string cell = text == nullptr ? "" : reinterpret_cast<const char*>(text);
        EXPECT_EQ(cell.find("correct-horse"), std::string::npos) << table;
        saw_plain = saw_plain || cell.find("visible") != std::string::npos;
      }
    }
    sqlite3_finalize(st);
  }
  EXPECT_TRUE(saw_plain);  // the scan did read the parameter rows
  EXPECT_EQ(Get("/app/secret:old", true)->value, secret);
}

// ---- Selectors -------------------------------------------------------------------------

TEST_F(SsmServiceTest, VersionAndLabelSelectors) {
  MustPut("test-2", "one");
  MustPut("test-2", "two", std::nullopt, true);
  ASSERT_TRUE(svc_->LabelParameterVersion("test-2", 1, {"prod"}).ok());
  auto v1 = Get("test-2:1");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->name, "test-2");
  EXPECT_EQ(v1->value, "one");
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->selector, ":1");
  auto prod = Get("test-2:prod");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(prod->value, "one");
  EXPECT_EQ(prod->selector, ":prod");
  EXPECT_EQ(Get("test-2:2")->value, "two");
  ExpectError(Get("test-2:3"), "ParameterVersionNotFound",
              "Systems Manager could not find version 3 of test-2. Verify the version and try "
              "again.");
  ExpectError(Get("test-2:staging"), "ParameterVersionNotFound");
  ExpectError(Get("test-2:2:3"), "ParameterNotFound");
  ExpectError(Get("test-3:2"), "ParameterNotFound");
}

// AWS answers an unknown name with an empty message (see ParameterNotFound in ssm_errors.h).
TEST_F(SsmServiceTest, UnknownNameIsParameterNotFound) {
  ExpectError(Get("nope"), "ParameterNotFound", "");
  EXPECT_EQ(Get("nope").error().kind, ErrorKind::NotFound);
}

// ---- GetParameters ---------------------------------------------------------------------

TEST_F(SsmServiceTest, GetParametersReportsInvalidNamesWithoutFailing) {
  MustPut("a", "1");
  MustPut("a", "2", std::nullopt, true);
  MustPut("b", "b1", ParameterType::SecureString);
  ASSERT_TRUE(svc_->LabelParameterVersion("a", 1, {"first"}).ok());
  DecryptOptions d;
  d.with_decryption = true;
  auto out = svc_->GetParameters({"a", "a:first", "b", "missing", "a:9", "a:nolabel", "a"}, d);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->parameters.size(), 3u);  // "a" asked twice is answered once
  EXPECT_EQ(out->parameters[0].value, "2");
  EXPECT_EQ(out->parameters[1].value, "1");
  EXPECT_EQ(out->parameters[1].selector, ":first");
  EXPECT_EQ(out->parameters[2].value, "b1");
  EXPECT_EQ(out->invalid_parameters, (std::vector<std::string>{"missing", "a:9", "a:nolabel"}));
}

TEST_F(SsmServiceTest, GetParametersTakesOneToTenNames) {
  std::vector<std::string> eleven;
  for (char c = 'a'; c <= 'k'; ++c) {
    eleven.emplace_back(1, c);
  }
  ExpectError(svc_->GetParameters(eleven, {}), "ValidationException",
              "1 validation error detected: Value '[a, b, c, d, e, f, g, h, i, j, k]' at 'names' "
              "failed to satisfy constraint: Member must have length less than or equal to 10");
  ExpectError(svc_->GetParameters({}, {}), "ValidationException");
  eleven.pop_back();
  EXPECT_TRUE(svc_->GetParameters(eleven, {}).ok());
}

TEST_F(SsmServiceTest, GetParametersFailsWholeWhenDecryptionIsRefused) {
  MustPut("a", "1");
  MustPut("b", "2", ParameterType::SecureString);
  DecryptOptions d;
  d.with_decryption = true;
  d.authorize = [](const std::string&) -> Status {
    return MakeError(ErrorKind::AccessDenied, "AccessDeniedException", "no");
  };
  ExpectError(svc_->GetParameters({"a", "b"}, d), "AccessDeniedException");
}

// ---- GetParametersByPath ---------------------------------------------------------------

class SsmByPathTest : public SsmServiceTest {
 protected:
  void SetUp() override {
    SsmServiceTest::SetUp();
    MustPut("/app/a", "a");
    MustPut("/app/b", "b1,b2", ParameterType::StringList);
    MustPut("/app/sub/c", "c");
    MustPut("/app/sub/deep/d", "d", ParameterType::SecureString);
    MustPut("/apple/x", "x");
    MustPut("top", "t");
    MustPut("/other", "o");
  }
};

TEST_F(SsmByPathTest, OneLevelAndRecursive) {
  EXPECT_EQ(Names(ByPath("/app", false)->items), (std::vector<std::string>{"/app/a", "/app/b"}));
  EXPECT_EQ(Names(ByPath("/app/", false)->items), (std::vector<std::string>{"/app/a", "/app/b"}));
  EXPECT_EQ(Names(ByPath("/app", true)->items),
            (std::vector<std::string>{"/app/a", "/app/b", "/app/sub/c", "/app/sub/deep/d"}));
  EXPECT_EQ(Names(ByPath("/", false)->items), (std::vector<std::string>{"/other", "top"}));
  EXPECT_EQ(ByPath("/", true)->items.size(), 7u);
  EXPECT_TRUE(ByPath("/nothing", true)->items.empty());
}

TEST_F(SsmByPathTest, SecureStringsStaySealedUnlessAsked) {
  auto sealed = ByPath("/app/sub/deep", false);
  ASSERT_EQ(sealed->items.size(), 1u);
  EXPECT_NE(sealed->items[0].value, "d");
  GetParametersByPathRequest r;
  r.path = "/app/sub/deep";
  r.decryption.with_decryption = true;
  EXPECT_EQ(svc_->GetParametersByPath(r)->items[0].value, "d");
}

TEST_F(SsmByPathTest, PathMustBeAHierarchy) {
  ExpectError(ByPath("app", false), "ValidationException");
  ExpectError(ByPath("/app//x", false), "ValidationException");
  ExpectError(ByPath("/app/#", false), "ValidationException");
}

TEST_F(SsmByPathTest, Filters) {
  EXPECT_EQ(Names(ByPath("/app", true, {{"Type", "Equals", std::vector<std::string>{"StringList"}}})
                      ->items),
            (std::vector<std::string>{"/app/b"}));
  EXPECT_EQ(Names(ByPath("/app", true, {{"Type", "BeginsWith", std::vector<std::string>{"String"}}})
                      ->items),
            (std::vector<std::string>{"/app/a", "/app/b", "/app/sub/c"}));
  EXPECT_EQ(Names(ByPath("/app", true,
                         {{"KeyId", std::nullopt, std::vector<std::string>{"alias/aws/ssm"}}})
                      ->items),
            (std::vector<std::string>{"/app/sub/deep/d"}));
  ExpectError(ByPath("/app", true, {{"Name", std::nullopt, std::vector<std::string>{"x"}}}),
              "InvalidFilterKey",
              "The following filter key is not valid: Name. Valid filter keys include: [Type, "
              "KeyId].");
  ExpectError(ByPath("/app", true, {{"Tier", std::nullopt, std::vector<std::string>{"Standard"}}}),
              "InvalidFilterKey");
  ExpectError(ByPath("/app", true, {{"Type", std::nullopt, std::vector<std::string>{"Bogus"}}}),
              "InvalidFilterValue");
  ExpectError(ByPath("/app", true, {{"Label", "BeginsWith", std::vector<std::string>{"x"}}}),
              "InvalidFilterOption");
}

TEST_F(SsmByPathTest, LabelFilterReturnsTheLabelledVersion) {
  MustPut("/app/a", "a2", std::nullopt, true);
  ASSERT_TRUE(svc_->LabelParameterVersion("/app/a", 1, {"prod"}).ok());
  auto page = ByPath("/app", true, {{"Label", std::nullopt, std::vector<std::string>{"prod"}}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "/app/a");
  EXPECT_EQ(page->items[0].value, "a");
  EXPECT_EQ(page->items[0].version, 1);
}

TEST_F(SsmByPathTest, Paging) {
  GetParametersByPathRequest r;
  r.path = "/";
  r.recursive = true;
  r.max_results = 3;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto page = svc_->GetParametersByPath(r);
    ASSERT_TRUE(page.ok());
    ++pages;
    EXPECT_LE(page->items.size(), 3u);
    for (const auto& p : page->items) {
      seen.push_back(p.name);
    }
    r.next_token = page->next_token;
  } while (!r.next_token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"/app/a", "/app/b", "/app/sub/c", "/app/sub/deep/d",
                                            "/apple/x", "/other", "top"}));
  r.max_results = 11;
  ExpectError(svc_->GetParametersByPath(r), "ValidationException",
              "1 validation error detected: Value '11' at 'maxResults' failed to satisfy "
              "constraint: Member must have value less than or equal to 10");
  r.max_results = 0;
  ExpectError(svc_->GetParametersByPath(r), "ValidationException");
  r.max_results.reset();
  r.next_token = "%%%";
  ExpectError(svc_->GetParametersByPath(r), "InvalidNextToken");
}

TEST_F(SsmByPathTest, ExactlyAFullPageHasNoNextToken) {
  GetParametersByPathRequest r;
  r.path = "/app";
  r.max_results = 2;
  auto page = svc_->GetParametersByPath(r);
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_TRUE(page->next_token.empty());
}

// ---- DescribeParameters ----------------------------------------------------------------

class SsmDescribeTest : public SsmServiceTest {
 protected:
  void SetUp() override {
    SsmServiceTest::SetUp();
    MustPut("param", "v");
    MustPut("/param-2", "v");
    MustPut("/tangent-3", "v");
    MustPut("tangram-4", "v", ParameterType::StringList);
    PutParameterRequest r;
    r.name = "/foo/name1";
    r.value = "v";
    r.type = ParameterType::SecureString;
    r.key_id = "alias/app";
    r.tier = ParameterTier::Advanced;
    r.tags = {{"team", "core"}, {"env", "prod"}};
    ASSERT_TRUE(svc_->PutParameter(r).ok());
    MustPut("/foo/name2", "v", ParameterType::SecureString);
    MustPut("/bar/name3/name4", "v");
  }
  std::vector<std::string> Find(std::vector<ParameterStringFilter> filters) {
    auto page = Describe(std::move(filters));
    EXPECT_TRUE(page.ok()) << page.error().aws_code << " " << page.error().message;
    return page.ok() ? Names(page->items) : std::vector<std::string>{};
  }
  static ParameterStringFilter F(std::string key, std::optional<std::string> option,
                                 std::vector<std::string> values) {
    return {std::move(key), std::move(option), std::move(values)};
  }
};

TEST_F(SsmDescribeTest, NameFilters) {
  EXPECT_EQ(Find({F("Name", std::nullopt, {"param"})}), (std::vector<std::string>{"param"}));
  EXPECT_EQ(Find({F("Name", "Equals", {"/param"})}), (std::vector<std::string>{"param"}));
  EXPECT_EQ(Find({F("Name", "Equals", {"param-2"})}), (std::vector<std::string>{"/param-2"}));
  EXPECT_EQ(Find({F("Name", "BeginsWith", {"param"})}),
            (std::vector<std::string>{"param", "/param-2"}));
  EXPECT_EQ(Find({F("Name", "Contains", {"ram"})}),
            (std::vector<std::string>{"param", "/param-2", "tangram-4"}));
  EXPECT_EQ(Find({F("Name", "Contains", {"/tan"})}),
            (std::vector<std::string>{"/tangent-3", "tangram-4"}));
}

TEST_F(SsmDescribeTest, TypeKeyTierAndTagFilters) {
  EXPECT_EQ(Find({F("Type", "Equals", {"SecureString"})}),
            (std::vector<std::string>{"/foo/name1", "/foo/name2"}));
  EXPECT_EQ(Find({F("KeyId", std::nullopt, {"alias/app"})}),
            (std::vector<std::string>{"/foo/name1"}));
  EXPECT_EQ(Find({F("KeyId", "BeginsWith", {"alias"})}),
            (std::vector<std::string>{"/foo/name1", "/foo/name2"}));
  EXPECT_EQ(Find({F("Tier", std::nullopt, {"Advanced"})}),
            (std::vector<std::string>{"/foo/name1"}));
  EXPECT_EQ(Find({F("DataType", std::nullopt, {"text"})}).size(), 7u);
  EXPECT_EQ(Find({F("tag:team", std::nullopt, {"core"})}),
            (std::vector<std::string>{"/foo/name1"}));
  EXPECT_EQ(Find({{"tag:env", std::nullopt, std::nullopt}}),
            (std::vector<std::string>{"/foo/name1"}));
  EXPECT_TRUE(Find({F("tag:team", "BeginsWith", {"x"})}).empty());
  // Filters are ANDed.
  EXPECT_EQ(Find({F("Type", std::nullopt, {"SecureString"}),
                  F("KeyId", std::nullopt, {"alias/aws/ssm"})}),
            (std::vector<std::string>{"/foo/name2"}));
}

TEST_F(SsmDescribeTest, PathFilters) {
  EXPECT_TRUE(Find({F("Path", std::nullopt, {"/fo"})}).empty());
  EXPECT_EQ(Find({F("Path", std::nullopt, {"/"})}),
            (std::vector<std::string>{"param", "/param-2", "/tangent-3", "tangram-4"}));
  EXPECT_EQ(Find({F("Path", "OneLevel", {"/foo/"})}),
            (std::vector<std::string>{"/foo/name1", "/foo/name2"}));
  EXPECT_EQ(Find({F("Path", "OneLevel", {"/bar"})}), std::vector<std::string>{});
  EXPECT_EQ(Find({F("Path", "Recursive", {"/bar"})}),
            (std::vector<std::string>{"/bar/name3/name4"}));
  EXPECT_EQ(Find({F("Path", "Recursive", {"/foo", "/bar"})}),
            (std::vector<std::string>{"/bar/name3/name4", "/foo/name1", "/foo/name2"}));
}

TEST_F(SsmDescribeTest, InvalidFilters) {
  ExpectError(Describe({F("Label", std::nullopt, {"x"})}), "InvalidFilterKey",
              "The following filter key is not valid: Label. Valid filter keys include: [Path, "
              "Name, Type, KeyId, Tier].");
  ExpectError(Describe({F("key", std::nullopt, {"x"})}), "ValidationException");
  ExpectError(Describe({{"Name", std::nullopt, std::nullopt}}), "InvalidFilterValue",
              "The following filter values are missing : null for filter key Name");
  ExpectError(Describe({F("Name", std::nullopt, {"a"}), F("Name", std::nullopt, {"b"})}),
              "ValidationException",
              "The following filter is duplicated in the request: Name. A request can contain "
              "only one occurrence of a specific filter.");
  ExpectError(Describe({F("Path", "Equals", {"/x"})}), "InvalidFilterOption",
              "The following filter option is not valid: Equals. Valid options include: "
              "[Recursive, OneLevel].");
  ExpectError(Describe({F("Name", "Sometimes", {"x"})}), "InvalidFilterOption");
  ExpectError(Describe({F("Type", std::nullopt, {"Text"})}), "InvalidFilterValue",
              "The following filter value is not valid: Text. Valid values include: [String, "
              "StringList, SecureString]");
  ExpectError(Describe({F("Tier", std::nullopt, {"Gold"})}), "InvalidFilterValue");
  ExpectError(Describe({F("Path", std::nullopt, {"test"})}), "ValidationException");
  ExpectError(Describe({F("Path", std::nullopt, {"/aws"})}), "ValidationException",
              "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" "
              "(case-insensitive).");
  ExpectError(Describe({F("Name", std::nullopt, {std::string(1025, 'n')})}), "ValidationException");
}

TEST_F(SsmDescribeTest, LegacyFilters) {
  DescribeParametersRequest r;
  r.filters = {{"Name", {"param"}}};
  EXPECT_EQ(Names(svc_->DescribeParameters(r)->items),
            (std::vector<std::string>{"param", "/param-2"}));
  r.filters = {{"Type", {"StringList"}}};
  EXPECT_EQ(Names(svc_->DescribeParameters(r)->items), (std::vector<std::string>{"tangram-4"}));
  r.parameter_filters = {F("Name", std::nullopt, {"x"})};
  ExpectError(svc_->DescribeParameters(r), "ValidationException",
              "You can use either Filters or ParameterFilters in a single request.");
  r.parameter_filters.clear();
  r.filters = {{"Tier", {"Standard"}}};
  ExpectError(svc_->DescribeParameters(r), "ValidationException");
}

TEST_F(SsmDescribeTest, MetadataOfTheLatestVersion) {
  auto page = Describe({F("Name", std::nullopt, {"/foo/name1"})});
  ASSERT_EQ(page->items.size(), 1u);
  const ParameterMetadata& m = page->items[0];
  EXPECT_EQ(m.arn, std::string(kArnPrefix) + "/foo/name1");
  EXPECT_EQ(m.latest.type, ParameterType::SecureString);
  EXPECT_EQ(m.latest.key_id, "alias/app");
  EXPECT_EQ(m.latest.tier, ParameterTier::Advanced);
  EXPECT_EQ(m.latest.version, 1);
  EXPECT_TRUE(m.latest.value.empty());
}

TEST_F(SsmDescribeTest, PagingDefaultsToTenAndAllowsFifty) {
  for (int i = 0; i < 20; ++i) {
    MustPut("bulk-" + std::to_string(100 + i), "v");
  }
  DescribeParametersRequest r;
  size_t total = 0;
  int pages = 0;
  do {
    auto page = svc_->DescribeParameters(r);
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->items.size(), 10u);
    total += page->items.size();
    ++pages;
    r.next_token = page->next_token;
  } while (!r.next_token.empty());
  EXPECT_EQ(total, 27u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(Describe({}, 50)->items.size(), 27u);
  ExpectError(Describe({}, 51), "ValidationException");
}

// ---- GetParameterHistory ---------------------------------------------------------------

TEST_F(SsmServiceTest, HistoryHasEveryVersionWithItsSettings) {
  for (int i = 0; i < 3; ++i) {
    PutParameterRequest r;
    r.name = "test";
    r.value = "value-" + std::to_string(i);
    r.type = ParameterType::String;
    r.description = "version " + std::to_string(i);
    r.overwrite = true;
    ASSERT_TRUE(svc_->PutParameter(r).ok());
    clock_.Advance(1000);
  }
  ASSERT_TRUE(svc_->LabelParameterVersion("test", 2, {"prod", "blue"}).ok());
  GetParameterHistoryRequest r;
  r.name = "test";
  auto history = svc_->GetParameterHistory(r);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->name, "test");
  ASSERT_EQ(history->items.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(history->items[i].version, i + 1);
    EXPECT_EQ(history->items[i].value, "value-" + std::to_string(i));
    EXPECT_EQ(history->items[i].description, "version " + std::to_string(i));
  }
  EXPECT_EQ(history->items[1].labels, (std::vector<std::string>{"prod", "blue"}));
  EXPECT_TRUE(history->items[0].labels.empty());
  EXPECT_EQ(history->items[2].modified_ms - history->items[0].modified_ms, 2000);
  EXPECT_TRUE(history->next_token.empty());
}

TEST_F(SsmServiceTest, HistoryPagingAndDecryption) {
  for (int i = 1; i <= 5; ++i) {
    MustPut("s", "secret-" + std::to_string(i), ParameterType::SecureString, true);
  }
  GetParameterHistoryRequest r;
  r.name = "s";
  r.max_results = 2;
  r.decryption.with_decryption = true;
  std::vector<std::string> values;
  do {
    auto page = svc_->GetParameterHistory(r);
    ASSERT_TRUE(page.ok());
    for (const auto& v : page->items) {
      values.push_back(v.value);
    }
    r.next_token = page->next_token;
  } while (!r.next_token.empty());
  EXPECT_EQ(values,
            (std::vector<std::string>{"secret-1", "secret-2", "secret-3", "secret-4", "secret-5"}));
  r.max_results = 51;
  ExpectError(svc_->GetParameterHistory(r), "ValidationException");
  r.max_results.reset();
  r.decryption.with_decryption = false;
  EXPECT_NE(svc_->GetParameterHistory(r)->items[0].value, "secret-1");
  r.name = "missing";
  ExpectError(svc_->GetParameterHistory(r), "ParameterNotFound");
}

// ---- Labels ----------------------------------------------------------------------------

TEST_F(SsmServiceTest, LabelTheLatestVersionByDefault) {
  MustPut("p", "1");
  MustPut("p", "2", std::nullopt, true);
  auto out = svc_->LabelParameterVersion("p", std::nullopt, {"current"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->version, 2);
  EXPECT_TRUE(out->invalid_labels.empty());
  EXPECT_EQ(Get("p:current")->version, 2);
}

TEST_F(SsmServiceTest, LabellingMovesALabelBetweenVersions) {
  MustPut("p", "1");
  MustPut("p", "2", std::nullopt, true);
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 1, {"l1", "l2", "l3"}).ok());
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 2, {"l2", "l3"}).ok());
  GetParameterHistoryRequest r;
  r.name = "p";
  auto history = svc_->GetParameterHistory(r);
  EXPECT_EQ(history->items[0].labels, std::vector<std::string>{"l1"});
  EXPECT_EQ(history->items[1].labels, (std::vector<std::string>{"l2", "l3"}));
  // Labelling twice is harmless.
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 2, {"l2"}).ok());
  EXPECT_EQ(svc_->GetParameterHistory(r)->items[1].labels, (std::vector<std::string>{"l2", "l3"}));
}

TEST_F(SsmServiceTest, MalformedLabelsAreReportedNotAttached) {
  MustPut("p", "1");
  auto out =
      svc_->LabelParameterVersion("p", 1, {"awsabc", "SSMabc", "9abc", "abc/123", "ok.label-1_"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->invalid_labels, (std::vector<std::string>{"awsabc", "SSMabc", "9abc", "abc/123"}));
  GetParameterHistoryRequest r;
  r.name = "p";
  EXPECT_EQ(svc_->GetParameterHistory(r)->items[0].labels, std::vector<std::string>{"ok.label-1_"});
  ExpectError(svc_->LabelParameterVersion("p", 1, {std::string(101, 'a')}), "ValidationException");
  ExpectError(svc_->LabelParameterVersion("p", 1, {}), "ValidationException");
}

TEST_F(SsmServiceTest, TenLabelsPerVersion) {
  MustPut("p", "1");
  std::vector<std::string> five = {"l1", "l2", "l3", "l4", "l5"};
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 1, five).ok());
  ExpectError(svc_->LabelParameterVersion("p", 1, {"l6", "l7", "l8", "l9", "l10", "l11"}),
              "ParameterVersionLabelLimitExceeded",
              "A parameter version can have maximum 10 labels.Move one or more labels to another "
              "version and try again.");
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 1, {"l6", "l7", "l8", "l9", "l10"}).ok());
  ExpectError(Get("p:l11"), "ParameterVersionNotFound");
}

TEST_F(SsmServiceTest, LabelErrors) {
  ExpectError(svc_->LabelParameterVersion("nope", std::nullopt, {"a"}), "ParameterNotFound");
  MustPut("test", "1");
  ExpectError(svc_->LabelParameterVersion("test", 5, {"a"}), "ParameterVersionNotFound",
              "Systems Manager could not find version 5 of test. Verify the version and try "
              "again.");
}

TEST_F(SsmServiceTest, Unlabel) {
  MustPut("p", "1");
  ASSERT_TRUE(svc_->LabelParameterVersion("p", 1, {"a", "b"}).ok());
  auto out = svc_->UnlabelParameterVersion("p", 1, {"a", "zzz"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->removed_labels, std::vector<std::string>{"a"});
  EXPECT_EQ(out->invalid_labels, std::vector<std::string>{"zzz"});
  ExpectError(Get("p:a"), "ParameterVersionNotFound");
  EXPECT_TRUE(Get("p:b").ok());
  ExpectError(svc_->UnlabelParameterVersion("p", 2, {"b"}), "ParameterVersionNotFound");
  ExpectError(svc_->UnlabelParameterVersion("q", 1, {"b"}), "ParameterNotFound");
}

// ---- The hundred-version limit ---------------------------------------------------------

TEST_F(SsmServiceTest, TheOldestOfAHundredVersionsMakesWayForTheNext) {
  for (int i = 1; i <= 101; ++i) {
    MustPut("p", "value-" + std::to_string(i), ParameterType::String, true);
  }
  GetParameterHistoryRequest r;
  r.name = "p";
  std::vector<int64_t> versions;
  do {
    auto page = svc_->GetParameterHistory(r);
    ASSERT_TRUE(page.ok());
    for (const auto& v : page->items) {
      versions.push_back(v.version);
    }
    r.next_token = page->next_token;
  } while (!r.next_token.empty());
  ASSERT_EQ(versions.size(), 100u);
  EXPECT_EQ(versions.front(), 2);
  EXPECT_EQ(versions.back(), 101);
  ExpectError(Get("p:1"), "ParameterVersionNotFound");
  EXPECT_EQ(Get("p")->value, "value-101");
  Reopen();
  EXPECT_EQ(Get("p:2")->value, "value-2");
  ExpectError(Get("p:1"), "ParameterVersionNotFound");
}

TEST_F(SsmServiceTest, PushedOutVersionsLeaveTheStoreInBatchesAndNeverComeBack) {
  auto stored = [&] {
    auto stmt = db_->Prepare("SELECT COUNT(*) FROM ssm_parameter_versions");
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE(*stmt->Step());
    return stmt->ColumnInt(0);
  };
  for (int i = 1; i <= 125; ++i) {
    MustPut("p", "value-" + std::to_string(i), ParameterType::String, true);
    ASSERT_LE(stored(), 110) << i;  // at most ten stale rows wait for deletion
  }
  EXPECT_EQ(stored(), 105);  // versions 21..125: 21..25 are stale
  for (bool reopened : {false, true}) {
    if (reopened) {
      Reopen();
    }
    ExpectError(Get("p:25"), "ParameterVersionNotFound");
    EXPECT_EQ(Get("p:26")->value, "value-26");
    GetParameterHistoryRequest r;
    r.name = "p";
    r.max_results = 50;
    size_t total = 0;
    do {
      auto page = svc_->GetParameterHistory(r);
      ASSERT_TRUE(page.ok());
      total += page->items.size();
      r.next_token = page->next_token;
    } while (!r.next_token.empty());
    EXPECT_EQ(total, 100u);
  }
  MustPut("p", "value-126", ParameterType::String, true);  // and on it goes after a restart
  EXPECT_EQ(Get("p")->version, 126);
  ExpectError(Get("p:26"), "ParameterVersionNotFound");
}

TEST_F(SsmServiceTest, ALabelOnTheOldestVersionBlocksTheHundredAndFirst) {
  for (int i = 1; i <= 100; ++i) {
    MustPut("test-param", "v" + std::to_string(i), ParameterType::String, true);
  }
  ASSERT_TRUE(svc_->LabelParameterVersion("test-param", 1, {"pinned"}).ok());
  ExpectError(Put("test-param", "new", ParameterType::String, true),
              "ParameterMaxVersionLimitExceeded",
              "You attempted to create a new version of test-param by calling the PutParameter "
              "API with the overwrite flag. Version 1, the oldest version, can't be deleted "
              "because it has a label associated with it. Move the label to another version of "
              "the parameter, and try again.");
  ASSERT_TRUE(svc_->LabelParameterVersion("test-param", 100, {"pinned"}).ok());
  auto put = Put("test-param", "new", ParameterType::String, true);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->version, 101);
}

// ---- Delete ----------------------------------------------------------------------------

TEST_F(SsmServiceTest, DeleteParameter) {
  ExpectError(svc_->DeleteParameter("nope"), "ParameterNotFound");
  PutParameterRequest r;
  r.name = "/app/x";
  r.value = "1";
  r.type = ParameterType::String;
  r.tags = {{"a", "b"}};
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  MustPut("/app/x", "2", std::nullopt, true);
  ASSERT_TRUE(svc_->DeleteParameter("/app/x").ok());
  ExpectError(Get("/app/x"), "ParameterNotFound");
  ExpectError(svc_->ListTagsForResource("Parameter", "/app/x"), "InvalidResourceId");
  // A recreated parameter starts again at version 1, without the old tags.
  auto again = Put("/app/x", "3");
  EXPECT_EQ(again->version, 1);
  EXPECT_TRUE(svc_->ListTagsForResource("Parameter", "/app/x")->empty());
  Reopen();
  EXPECT_EQ(Get("/app/x")->value, "3");
}

TEST_F(SsmServiceTest, DeleteParameters) {
  MustPut("a", "1");
  MustPut("/b", "2");
  auto out = svc_->DeleteParameters({"a", "missing", "b"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->deleted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(out->invalid, std::vector<std::string>{"missing"});
  ExpectError(Get("a"), "ParameterNotFound");
  ExpectError(svc_->DeleteParameters(std::vector<std::string>(11, "x")), "ValidationException");
}

// ---- Tags ------------------------------------------------------------------------------

TEST_F(SsmServiceTest, Tags) {
  PutParameterRequest r;
  r.name = "/spam/eggs";
  r.value = "eggs";
  r.type = ParameterType::String;
  r.tags = {{"spam", "eggs"}};
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  EXPECT_EQ(*svc_->ListTagsForResource("Parameter", "/spam/eggs"), (Tags{{"spam", "eggs"}}));
  ASSERT_TRUE(
      svc_->AddTagsToResource("Parameter", "/spam/eggs", {{"spam", "ham"}, {"x", "y"}}).ok());
  EXPECT_EQ(*svc_->ListTagsForResource("Parameter", std::string(kArnPrefix) + "/spam/eggs"),
            (Tags{{"spam", "ham"}, {"x", "y"}}));
  ASSERT_TRUE(svc_->RemoveTagsFromResource("Parameter", "/spam/eggs", {"spam", "nope"}).ok());
  EXPECT_EQ(*svc_->ListTagsForResource("Parameter", "/spam/eggs"), (Tags{{"x", "y"}}));
  // Tags survive an overwrite.
  MustPut("/spam/eggs", "more", std::nullopt, true);
  EXPECT_EQ(*svc_->ListTagsForResource("Parameter", "/spam/eggs"), (Tags{{"x", "y"}}));
  ExpectError(svc_->ListTagsForResource("Document", "/spam/eggs"), "InvalidResourceType");
  ExpectError(svc_->AddTagsToResource("Parameter", "/nope", {{"a", "b"}}), "InvalidResourceId");
  Tags many;
  for (int i = 0; i < 50; ++i) {
    many.emplace_back("k" + std::to_string(i), "v");
  }
  ExpectError(svc_->AddTagsToResource("Parameter", "/spam/eggs", many), "TooManyTagsError");
  EXPECT_EQ(svc_->ListTagsForResource("Parameter", "/spam/eggs")->size(), 1u);
}

// ---- Restart ---------------------------------------------------------------------------

TEST_F(SsmServiceTest, EverythingSurvivesARestart) {
  PutParameterRequest r;
  r.name = "/app/secret";
  r.value = "s1";
  r.type = ParameterType::SecureString;
  r.key_id = "alias/app";
  r.description = "the secret";
  r.tier = ParameterTier::Advanced;
  r.tags = {{"team", "core"}};
  ASSERT_TRUE(svc_->PutParameter(r).ok());
  MustPut("/app/secret", "s2", std::nullopt, true);
  ASSERT_TRUE(svc_->LabelParameterVersion("/app/secret", 1, {"old"}).ok());
  MustPut("plain", "p");
  Reopen();
  EXPECT_EQ(Get("/app/secret", true)->value, "s2");
  EXPECT_EQ(Get("/app/secret:old", true)->value, "s1");
  EXPECT_EQ(Get("plain")->value, "p");
  EXPECT_EQ(*svc_->ListTagsForResource("Parameter", "/app/secret"), (Tags{{"team", "core"}}));
  auto meta = Describe({{"Name", std::nullopt, std::vector<std::string>{"/app/secret"}}});
  ASSERT_EQ(meta->items.size(), 1u);
  EXPECT_EQ(meta->items[0].latest.description, "the secret");
  EXPECT_EQ(meta->items[0].latest.key_id, "alias/app");
  EXPECT_EQ(meta->items[0].latest.tier, ParameterTier::Advanced);
  EXPECT_EQ(meta->items[0].latest.version, 2);
  EXPECT_EQ(Put("/app/secret", "s3", std::nullopt, true)->version, 3);
}

TEST_F(SsmServiceTest, VersionsWrittenByTheFirstSchemaSurviveTheMoveToAClusteredTable) {
  MustPut("/app/db", "v1");
  MustPut("/app/db", "v2", ParameterType::String, /*overwrite=*/true);
  // Put the rows back into a schema-1 (rowid) versions table, as an older berth left them.
  ASSERT_TRUE(db_->Exec("CREATE TABLE old_rows AS SELECT key, version, doc FROM "
                        "ssm_parameter_versions;"
                        "DROP TABLE ssm_parameter_versions;"
                        "CREATE TABLE ssm_parameter_versions (key TEXT NOT NULL, version INTEGER "
                        "NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (key, version));"
                        "INSERT INTO ssm_parameter_versions SELECT * FROM old_rows;"
                        "DROP TABLE old_rows;"
                        "UPDATE schema_versions SET version = 1 WHERE module = 'ssm';")
                  .ok());
  Reopen();
  auto v = Get("/app/db");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, "v2");
  EXPECT_EQ(v->version, 2);
  auto sql = db_->Prepare("SELECT sql FROM sqlite_master WHERE name = 'ssm_parameter_versions'");
  ASSERT_TRUE(sql.ok());
  ASSERT_TRUE(*sql->Step());
  EXPECT_NE(sql->ColumnText(0).find("WITHOUT ROWID"), std::string::npos);
}

}  // namespace
}  // namespace berth::ssm

namespace berth::ssm {
namespace {

// The stored version document is written by hand (JsonWriter); every field must read back as it
// was, and text that is not UTF-8 is refused as the nlohmann writer refused it.
TEST(SsmStoreTest, VersionDocumentsReadBackWholeAndRefuseInvalidUtf8) {
  auto db = std::move(store::Db::Open(":memory:")).value();
  SsmStore store(*db);
  ASSERT_TRUE(store.Migrate().ok());
  ParameterVersion v;
  v.version = 42;
  v.type = ParameterType::SecureString;
  v.value = "YmxvYg==";
  v.key_id = "alias/app \"quoted\"";
  v.key_arn = "arn:aws:kms:us-east-1:123456789012:key/k";
  v.description = "line\nbreak \\ and caf\xc3\xa9";
  v.allowed_pattern = "^[a-z]+$";
  v.data_type = "aws:ec2:image";
  v.tier = ParameterTier::Advanced;
  v.policies = R"([{"Type":"Expiration"}])";
  v.labels = {"prod", "blue"};
  v.modified_ms = 1795753549296;
  v.modified_user = "arn:aws:iam::123456789012:user/dev";
  ASSERT_TRUE(store.PutParameter("/a/b", Parameter{"/a/b", {{"team", "x"}}, {}}).ok());
  ASSERT_TRUE(store.PutVersion("/a/b", v).ok());
  auto all = store.LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  ASSERT_EQ((*all)[0].second.versions.size(), 1u);
  const ParameterVersion& back = (*all)[0].second.versions[0];
  EXPECT_EQ(back.version, v.version);
  EXPECT_EQ(back.type, v.type);
  EXPECT_EQ(back.value, v.value);
  EXPECT_EQ(back.key_id, v.key_id);
  EXPECT_EQ(back.key_arn, v.key_arn);
  EXPECT_EQ(back.description, v.description);
  EXPECT_EQ(back.allowed_pattern, v.allowed_pattern);
  EXPECT_EQ(back.data_type, v.data_type);
  EXPECT_EQ(back.tier, v.tier);
  EXPECT_EQ(back.policies, v.policies);
  EXPECT_EQ(back.labels, v.labels);
  EXPECT_EQ(back.modified_ms, v.modified_ms);
  EXPECT_EQ(back.modified_user, v.modified_user);
  for (ParameterTier tier : {ParameterTier::Standard, ParameterTier::IntelligentTiering}) {
    v.tier = tier;
    auto doc = VersionDocument(v);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(nlohmann::json::parse(*doc)["tier"], std::string(ToString(tier)));
  }
  v.description = "bad \xff byte";
  auto refused = VersionDocument(v);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().aws_code, "ValidationException");
  v.description = "ok";
  v.labels.push_back("\xc3");
  EXPECT_FALSE(VersionDocument(v).ok());
}

}  // namespace
}  // namespace berth::ssm
