#include "api/handlers/secretsmanager_handlers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/base64.h"
#include "fakes/fake_clock.h"
#include "fakes/json_service_harness.h"
#include "fakes/fake_secret_cipher.h"
#include "fakes/sequential_ids.h"
#include "secretsmanager/secrets_service.h"

namespace berth::api {
namespace {

using nlohmann::json;
using testing::FakeSecretCipher;

constexpr char kArnPrefix[] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
constexpr char kV1[] = "bbbbbbbb-0000-4000-8000-000000000001";
constexpr char kV2[] = "bbbbbbbb-0000-4000-8000-000000000002";

class SecretsManagerHandlersTest : public ::testing::Test, protected testing::JsonServiceHarness {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    secretsmanager::SecretsConfig config;
    config.account_id = "123456789012";
    svc_ = std::make_unique<secretsmanager::SecretsService>(*db_, clock_, ids_, cipher_, config);
    ASSERT_TRUE(svc_->Open().ok());
    Bind(MakeSecretsManagerHandlers(*svc_), "secretsmanager");
  }
  std::string CreateArn(const std::string& name, const json& extra = json::object()) {
    json in = {{"Name", name}, {"SecretString", "v"}};
    in.update(extra);
    return Ok("CreateSecret", in).value("ARN", "");
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  FakeSecretCipher cipher_;
  std::unique_ptr<secretsmanager::SecretsService> svc_;
};

TEST_F(SecretsManagerHandlersTest, ServiceIdentity) {
  EXPECT_EQ(service_.signing_name, "secretsmanager");
  EXPECT_EQ(service_.target_prefixes, std::vector<std::string>{"secretsmanager"});
  EXPECT_STREQ(service_.error_style.message_key, "Message");
  for (const char* op :
       {"CreateSecret", "GetSecretValue", "PutSecretValue", "UpdateSecret", "DescribeSecret",
        "ListSecrets", "DeleteSecret", "RestoreSecret", "TagResource", "UntagResource",
        "GetRandomPassword", "ListSecretVersionIds", "UpdateSecretVersionStage"}) {
    EXPECT_EQ(service_.operations.count(op), 1u) << op;
  }
}

// Operations on one secret authorize themselves; the front door checks the rest on "*".
TEST_F(SecretsManagerHandlersTest, ResourcesForTheFrontDoor) {
  ASSERT_TRUE(service_.resources);
  for (const char* op : {"GetSecretValue", "PutSecretValue", "UpdateSecret", "DescribeSecret",
                         "DeleteSecret", "RestoreSecret", "TagResource", "UntagResource",
                         "ListSecretVersionIds", "UpdateSecretVersionStage"}) {
    EXPECT_TRUE(service_.resources(op, json::object()).empty()) << op;
  }
  for (const char* op : {"CreateSecret", "ListSecrets", "GetRandomPassword"}) {
    EXPECT_EQ(service_.resources(op, json::object()), std::vector<std::string>{"*"}) << op;
  }
}

TEST_F(SecretsManagerHandlersTest, CreateAndGetWireShapes) {
  json created = Ok("CreateSecret", {{"Name", "app/db"},
                                     {"SecretString", R"({"password":"pw"})"},
                                     {"ClientRequestToken", kV1},
                                     {"Description", "db"},
                                     {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}});
  std::string arn = created["ARN"];
  EXPECT_TRUE(arn.starts_with(std::string(kArnPrefix) + "app/db-")) << arn;
  EXPECT_EQ(created["Name"], "app/db");
  EXPECT_EQ(created["VersionId"], kV1);

  json got = Ok("GetSecretValue", {{"SecretId", "app/db"}});
  EXPECT_EQ(got["ARN"], arn);
  EXPECT_EQ(got["Name"], "app/db");
  EXPECT_EQ(got["VersionId"], kV1);
  EXPECT_EQ(got["SecretString"], R"({"password":"pw"})");
  EXPECT_FALSE(got.contains("SecretBinary"));
  EXPECT_EQ(got["VersionStages"], json::array({"AWSCURRENT"}));
  ASSERT_TRUE(got["CreatedDate"].is_number());
  EXPECT_DOUBLE_EQ(got["CreatedDate"].get<double>(), clock_.NowMillis() / 1000.0);

  // Without a value: no VersionId in the answer.
  json bare = Ok("CreateSecret", {{"Name", "bare"}});
  EXPECT_FALSE(bare.contains("VersionId"));
}

TEST_F(SecretsManagerHandlersTest, SecretBinaryIsBase64OnTheWire) {
  std::string raw("\x00\xfe\x10", 3);
  Ok("CreateSecret", {{"Name", "bin"}, {"SecretBinary", core::Base64Encode(raw)}});
  json got = Ok("GetSecretValue", {{"SecretId", "bin"}});
  EXPECT_FALSE(got.contains("SecretString"));
  EXPECT_EQ(core::Base64Decode(got["SecretBinary"].get<std::string>()), raw);
  EXPECT_EQ(Code("CreateSecret", {{"Name", "bad"}, {"SecretBinary", "%%%"}}),
            "InvalidParameterException");
}

TEST_F(SecretsManagerHandlersTest, RequiredMembers) {
  auto missing = Call("GetSecretValue", json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().aws_code, "ValidationException");
  EXPECT_NE(missing.error().message.find("'secretId'"), std::string::npos);
  EXPECT_EQ(Code("CreateSecret", json::object()), "ValidationException");
  CreateArn("t");
  EXPECT_EQ(Code("TagResource", {{"SecretId", "t"}}), "ValidationException");
  EXPECT_EQ(Code("UntagResource", {{"SecretId", "t"}}), "ValidationException");
  EXPECT_EQ(Code("UpdateSecretVersionStage", {{"SecretId", "t"}}), "ValidationException");
  EXPECT_EQ(Code("PutSecretValue",
                 {{"SecretId", "t"}, {"SecretString", "x"}, {"VersionStages", json::array()}}),
            "ValidationException");
}

// Members of the wrong JSON type throw; the front door answers SerializationException.
TEST_F(SecretsManagerHandlersTest, WrongTypesThrowTypeError) {
  CreateArn("typed");
  EXPECT_THROW(Call("GetSecretValue", {{"SecretId", 5}}), json::type_error);
  EXPECT_THROW(Call("CreateSecret", {{"Name", "x"}, {"Tags", "env=prod"}}), json::type_error);
  EXPECT_THROW(Call("CreateSecret", {{"Name", "x"}, {"SecretString", json::array()}}),
               json::type_error);
  EXPECT_THROW(Call("DeleteSecret", {{"SecretId", "typed"}, {"ForceDeleteWithoutRecovery", "yes"}}),
               json::type_error);
  EXPECT_THROW(Call("DeleteSecret", {{"SecretId", "typed"}, {"RecoveryWindowInDays", "7"}}),
               json::type_error);
  EXPECT_THROW(Call("ListSecrets", {{"MaxResults", "10"}}), json::type_error);
  EXPECT_THROW(Call("ListSecrets", {{"Filters", {{{"Key", "name"}, {"Values", "x"}}}}}),
               json::type_error);
  EXPECT_THROW(
      Call("PutSecretValue",
           {{"SecretId", "typed"}, {"SecretString", "x"}, {"VersionStages", "AWSCURRENT"}}),
      json::type_error);
  EXPECT_THROW(Call("UntagResource", {{"SecretId", "typed"}, {"TagKeys", "env"}}),
               json::type_error);
  EXPECT_THROW(Call("GetRandomPassword", {{"PasswordLength", "12"}}), json::type_error);
}

TEST_F(SecretsManagerHandlersTest, EveryPerSecretOperationAuthorizesOnTheSecretArn) {
  std::string arn = CreateArn("guarded", {{"ClientRequestToken", kV1}});
  struct Case {
    const char* op;
    json in;
  };
  std::vector<Case> cases = {
      {"GetSecretValue", {{"SecretId", "guarded"}}},
      {"PutSecretValue", {{"SecretId", "guarded"}, {"SecretString", "x"}}},
      {"UpdateSecret", {{"SecretId", "guarded"}, {"Description", "d"}}},
      {"DescribeSecret", {{"SecretId", "guarded"}}},
      {"TagResource", {{"SecretId", "guarded"}, {"Tags", {{{"Key", "a"}, {"Value", "b"}}}}}},
      {"UntagResource", {{"SecretId", "guarded"}, {"TagKeys", {"a"}}}},
      {"ListSecretVersionIds", {{"SecretId", "guarded"}}},
      {"UpdateSecretVersionStage",
       {{"SecretId", "guarded"}, {"VersionStage", "X"}, {"MoveToVersionId", kV1}}},
      {"DeleteSecret", {{"SecretId", "guarded"}}},
      {"RestoreSecret", {{"SecretId", "guarded"}}},
  };
  for (const Case& c : cases) {
    std::string action = std::string("secretsmanager:") + c.op;
    denied_ = {{action, arn}};
    auto out = Call(c.op, c.in);
    ASSERT_FALSE(out.ok()) << c.op;
    EXPECT_EQ(out.error().kind, ErrorKind::AccessDenied) << c.op;
    denied_.clear();
    checks_.clear();
    Ok(c.op, c.in);
    EXPECT_TRUE(Checked(action, arn)) << c.op;
  }
  // By full ARN too.
  checks_.clear();
  Ok("DescribeSecret", {{"SecretId", arn}});
  EXPECT_TRUE(Checked("secretsmanager:DescribeSecret", arn));
}

// A missing secret is authorized on the name as an ARN without a suffix: a caller limited to
// "NAME-??????" learns nothing about whether it exists.
TEST_F(SecretsManagerHandlersTest, MissingSecretAuthorizesOnTheUnsuffixedArn) {
  std::string arn = std::string(kArnPrefix) + "ghost";
  denied_ = {{"secretsmanager:GetSecretValue", arn}};
  auto out = Call("GetSecretValue", {{"SecretId", "ghost"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind, ErrorKind::AccessDenied);
  denied_.clear();
  EXPECT_EQ(Code("GetSecretValue", {{"SecretId", "ghost"}}), "ResourceNotFoundException");
}

TEST_F(SecretsManagerHandlersTest, KmsDecryptCheckedOnlyForCustomerKeys) {
  CreateArn("default-key");
  CreateArn("customer-key", {{"KmsKeyId", "alias/app"}});
  checks_.clear();
  Ok("GetSecretValue", {{"SecretId", "default-key"}});
  for (const auto& [action, resource] : checks_) {
    EXPECT_NE(action, "kms:Decrypt");
  }
  Ok("GetSecretValue", {{"SecretId", "customer-key"}});
  EXPECT_TRUE(Checked("kms:Decrypt", FakeSecretCipher::kAppKeyArn));
  denied_ = {{"kms:Decrypt", FakeSecretCipher::kAppKeyArn}};
  auto out = Call("GetSecretValue", {{"SecretId", "customer-key"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind, ErrorKind::AccessDenied);
}

TEST_F(SecretsManagerHandlersTest, PutSecretValueShape) {
  CreateArn("put", {{"ClientRequestToken", kV1}});
  json put = Ok("PutSecretValue",
                {{"SecretId", "put"}, {"SecretString", "two"}, {"ClientRequestToken", kV2}});
  EXPECT_EQ(put["VersionId"], kV2);
  EXPECT_EQ(put["VersionStages"], json::array({"AWSCURRENT"}));
  EXPECT_EQ(put["Name"], "put");
  EXPECT_EQ(Code("PutSecretValue",
                 {{"SecretId", "put"}, {"SecretString", "other"}, {"ClientRequestToken", kV2}}),
            "ResourceExistsException");
}

TEST_F(SecretsManagerHandlersTest, DescribeSecretShape) {
  std::string arn = CreateArn("desc", {{"ClientRequestToken", kV1},
                                       {"Description", "hello"},
                                       {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}});
  json d = Ok("DescribeSecret", {{"SecretId", "desc"}});
  EXPECT_EQ(d["ARN"], arn);
  EXPECT_EQ(d["Name"], "desc");
  EXPECT_EQ(d["Description"], "hello");
  EXPECT_EQ(d["RotationEnabled"], false);
  EXPECT_FALSE(d.contains("KmsKeyId"));  // aws/secretsmanager is not named
  EXPECT_FALSE(d.contains("LastAccessedDate"));
  EXPECT_FALSE(d.contains("DeletedDate"));
  EXPECT_TRUE(d["LastChangedDate"].is_number());
  EXPECT_TRUE(d["CreatedDate"].is_number());
  EXPECT_EQ(d["Tags"], json::parse(R"([{"Key":"k","Value":"v"}])"));
  EXPECT_EQ(d["VersionIdsToStages"], json({{kV1, {"AWSCURRENT"}}}));

  clock_.Advance(3600'000);
  Ok("GetSecretValue", {{"SecretId", "desc"}});
  d = Ok("DescribeSecret", {{"SecretId", "desc"}});
  double day = d["LastAccessedDate"].get<double>();
  EXPECT_EQ(static_cast<int64_t>(day) % 86400, 0);

  json del = Ok("DeleteSecret", {{"SecretId", "desc"}, {"RecoveryWindowInDays", 7}});
  EXPECT_EQ(del["ARN"], arn);
  EXPECT_DOUBLE_EQ(del["DeletionDate"].get<double>(),
                   (clock_.NowMillis() + 7 * 86'400'000LL) / 1000.0);
  d = Ok("DescribeSecret", {{"SecretId", "desc"}});
  EXPECT_DOUBLE_EQ(d["DeletedDate"].get<double>(), clock_.NowMillis() / 1000.0);

  CreateArn("cust", {{"KmsKeyId", "alias/app"}});
  EXPECT_EQ(Ok("DescribeSecret", {{"SecretId", "cust"}})["KmsKeyId"], "alias/app");
}

TEST_F(SecretsManagerHandlersTest, DeletedSecretErrors) {
  CreateArn("gone");
  Ok("DeleteSecret", {{"SecretId", "gone"}});
  auto out = Call("GetSecretValue", {{"SecretId", "gone"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().aws_code, "InvalidRequestException");
  EXPECT_EQ(out.error().message,
            "You can't perform this operation on the secret because it was marked for deletion.");
  EXPECT_EQ(Code("DeleteSecret", {{"SecretId", "gone"},
                                  {"RecoveryWindowInDays", 7},
                                  {"ForceDeleteWithoutRecovery", true}}),
            "InvalidParameterException");
  json restored = Ok("RestoreSecret", {{"SecretId", "gone"}});
  EXPECT_EQ(restored["Name"], "gone");
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "gone"}})["SecretString"], "v");
  Ok("DeleteSecret", {{"SecretId", "gone"}, {"ForceDeleteWithoutRecovery", true}});
  EXPECT_EQ(Code("DescribeSecret", {{"SecretId", "gone"}}), "ResourceNotFoundException");
}

TEST_F(SecretsManagerHandlersTest, ListSecretsShapeAndPaging) {
  CreateArn("list/a", {{"ClientRequestToken", kV1}});
  clock_.Advance(1);
  CreateArn("list/b");
  clock_.Advance(1);
  CreateArn("other");
  json page = Ok("ListSecrets",
                 {{"MaxResults", 1}, {"Filters", {{{"Key", "name"}, {"Values", {"list/"}}}}}});
  ASSERT_EQ(page["SecretList"].size(), 1u);
  json first = page["SecretList"][0];
  EXPECT_EQ(first["Name"], "list/a");
  EXPECT_EQ(first["SecretVersionsToStages"], json({{kV1, {"AWSCURRENT"}}}));
  EXPECT_FALSE(first.contains("VersionIdsToStages"));
  ASSERT_TRUE(page.contains("NextToken"));
  page = Ok("ListSecrets", {{"MaxResults", 1},
                            {"NextToken", page["NextToken"]},
                            {"Filters", {{{"Key", "name"}, {"Values", {"list/"}}}}}});
  ASSERT_EQ(page["SecretList"].size(), 1u);
  EXPECT_EQ(page["SecretList"][0]["Name"], "list/b");
  EXPECT_FALSE(page.contains("NextToken"));

  Ok("DeleteSecret", {{"SecretId", "other"}});
  EXPECT_EQ(Ok("ListSecrets", json::object())["SecretList"].size(), 2u);
  json all = Ok("ListSecrets", {{"IncludePlannedDeletion", true}, {"SortOrder", "desc"}});
  ASSERT_EQ(all["SecretList"].size(), 3u);
  EXPECT_EQ(all["SecretList"][0]["Name"], "other");
  EXPECT_TRUE(all["SecretList"][0].contains("DeletedDate"));
  EXPECT_EQ(Code("ListSecrets", {{"Filters", {{{"Key", "colour"}, {"Values", {"x"}}}}}}),
            "ValidationException");
  EXPECT_EQ(Code("ListSecrets", {{"NextToken", "nonsense"}}), "InvalidNextTokenException");
}

TEST_F(SecretsManagerHandlersTest, ListSecretVersionIdsShape) {
  CreateArn("versions", {{"ClientRequestToken", kV1}});
  Ok("PutSecretValue",
     {{"SecretId", "versions"}, {"SecretString", "2"}, {"ClientRequestToken", kV2}});
  json out = Ok("ListSecretVersionIds", {{"SecretId", "versions"}});
  EXPECT_EQ(out["Name"], "versions");
  ASSERT_EQ(out["Versions"].size(), 2u);
  EXPECT_EQ(out["Versions"][0]["VersionId"], kV1);
  EXPECT_EQ(out["Versions"][0]["VersionStages"], json::array({"AWSPREVIOUS"}));
  EXPECT_EQ(out["Versions"][0]["KmsKeyIds"], json::array({"DefaultEncryptionKey"}));
  EXPECT_TRUE(out["Versions"][1]["CreatedDate"].is_number());
}

TEST_F(SecretsManagerHandlersTest, UpdateSecretAndVersionStageShapes) {
  CreateArn("upd", {{"ClientRequestToken", kV1}});
  json updated = Ok("UpdateSecret", {{"SecretId", "upd"}, {"Description", "new"}});
  EXPECT_EQ(updated["Name"], "upd");
  EXPECT_FALSE(updated.contains("VersionId"));
  updated =
      Ok("UpdateSecret", {{"SecretId", "upd"}, {"SecretString", "2"}, {"ClientRequestToken", kV2}});
  EXPECT_EQ(updated["VersionId"], kV2);
  json moved = Ok("UpdateSecretVersionStage", {{"SecretId", "upd"},
                                               {"VersionStage", "AWSCURRENT"},
                                               {"RemoveFromVersionId", kV2},
                                               {"MoveToVersionId", kV1}});
  EXPECT_EQ(moved["Name"], "upd");
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "upd"}})["VersionId"], kV1);
}

TEST_F(SecretsManagerHandlersTest, TagAndUntagShapes) {
  CreateArn("tagged");
  EXPECT_EQ(Ok("TagResource", {{"SecretId", "tagged"}, {"Tags", {{{"Key", "a"}, {"Value", "1"}}}}}),
            json::object());
  EXPECT_EQ(Ok("UntagResource", {{"SecretId", "tagged"}, {"TagKeys", {"a"}}}), json::object());
  EXPECT_FALSE(Ok("DescribeSecret", {{"SecretId", "tagged"}}).contains("Tags"));
}

TEST_F(SecretsManagerHandlersTest, GetRandomPasswordShape) {
  json out = Ok("GetRandomPassword", {{"PasswordLength", 20}, {"ExcludePunctuation", true}});
  ASSERT_TRUE(out["RandomPassword"].is_string());
  EXPECT_EQ(out["RandomPassword"].get<std::string>().size(), 20u);
  EXPECT_EQ(Code("GetRandomPassword", {{"PasswordLength", 5000}}), "ValidationException");
}

// --- the ECS valueFrom parser, every form ---

TEST(ParseValueFromTest, WholeSecretFullAndPartialArn) {
  auto full = secretsmanager::ParseValueFrom(std::string(kArnPrefix) + "db-AbCdEf");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->secret_arn, std::string(kArnPrefix) + "db-AbCdEf");
  EXPECT_EQ(full->json_key, "");
  EXPECT_EQ(full->version_stage, "");
  EXPECT_EQ(full->version_id, "");
  auto partial = secretsmanager::ParseValueFrom(std::string(kArnPrefix) + "prod/db");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->secret_arn, std::string(kArnPrefix) + "prod/db");
}

TEST(ParseValueFromTest, TrailingFieldsInEveryCombination) {
  const std::string arn = std::string(kArnPrefix) + "db-AbCdEf";
  struct Case {
    std::string suffix, key, stage, id;
  };
  std::vector<Case> cases = {
      {":::", "", "", ""},
      {":password::", "password", "", ""},
      {"::AWSPREVIOUS:", "", "AWSPREVIOUS", ""},
      {std::string(":::") + kV1, "", "", kV1},
      {":password:AWSPREVIOUS:", "password", "AWSPREVIOUS", ""},
      {std::string(":password::") + kV1, "password", "", kV1},
      {std::string("::AWSCURRENT:") + kV1, "", "AWSCURRENT", kV1},
      {std::string(":password:AWSCURRENT:") + kV1, "password", "AWSCURRENT", kV1},
  };
  for (const Case& c : cases) {
    auto ref = secretsmanager::ParseValueFrom(arn + c.suffix);
    ASSERT_TRUE(ref.ok()) << c.suffix;
    EXPECT_EQ(ref->secret_arn, arn) << c.suffix;
    EXPECT_EQ(ref->json_key, c.key) << c.suffix;
    EXPECT_EQ(ref->version_stage, c.stage) << c.suffix;
    EXPECT_EQ(ref->version_id, c.id) << c.suffix;
  }
}

TEST(ParseValueFromTest, RejectsOtherShapes) {
  const std::string arn = std::string(kArnPrefix) + "db";
  for (const std::string& bad : {
           std::string("db"),   // a bare name
           arn + ":password",   // 8 fields
           arn + ":password:",  // 9 fields
           arn + ":a:b:c:d",    // 11 fields
           std::string("arn:aws:ssm:us-east-1:123456789012:parameter/db"),
           std::string("arn:aws:secretsmanager:us-east-1:123456789012:other:db"),
           std::string(kArnPrefix),                                        // no name
           std::string("arn:aws:secretsmanager::123456789012:secret:db"),  // no region
           std::string("arn:aws:secretsmanager:us-east-1::secret:db"),     // no account
           std::string(""),
       }) {
    auto ref = secretsmanager::ParseValueFrom(bad);
    ASSERT_FALSE(ref.ok()) << bad;
    EXPECT_EQ(ref.error().aws_code, "InvalidParameterException") << bad;
  }
}

}  // namespace
}  // namespace berth::api
