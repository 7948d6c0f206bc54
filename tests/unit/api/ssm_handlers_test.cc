#include "api/handlers/ssm_handlers.h"

#include <gtest/gtest.h>

#include <set>

#include "core/base64.h"
#include "fakes/fake_clock.h"
#include "fakes/json_service_harness.h"
#include "fakes/fake_secure_string_cipher.h"
#include "ssm/ssm_service.h"

namespace berth::api {
namespace {

using nlohmann::json;
using testing::FakeSecureStringCipher;

constexpr char kArnPrefix[] = "arn:aws:ssm:us-east-1:123456789012:parameter";

class SsmHandlersTest : public ::testing::Test, protected testing::JsonServiceHarness {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    ssm::SsmConfig config;
    config.account_id = "123456789012";
    svc_ = std::make_unique<ssm::SsmService>(*db_, clock_, cipher_, config);
    ASSERT_TRUE(svc_->Open().ok());
    Bind(MakeSsmHandlers(*svc_), "ssm");
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_{1'780'000'000'500};
  FakeSecureStringCipher cipher_;
  std::unique_ptr<ssm::SsmService> svc_;
};

TEST_F(SsmHandlersTest, ServiceIdentity) {
  EXPECT_EQ(service_.signing_name, "ssm");
  EXPECT_EQ(service_.target_prefixes, std::vector<std::string>{"AmazonSSM"});
  for (const char* op : {"PutParameter", "GetParameter", "GetParameters", "GetParametersByPath",
                         "DeleteParameter", "DeleteParameters", "DescribeParameters",
                         "GetParameterHistory", "LabelParameterVersion", "UnlabelParameterVersion",
                         "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"}) {
    EXPECT_EQ(service_.operations.count(op), 1u) << op;
  }
}

TEST_F(SsmHandlersTest, PutAndGetWireShapes) {
  EXPECT_EQ(Ok("PutParameter", {{"Name", "/app/x"}, {"Value", "v1"}, {"Type", "String"}}),
            (json{{"Version", 1}, {"Tier", "Standard"}}));
  json got = Ok("GetParameter", {{"Name", "/app/x"}});
  json p = got.at("Parameter");
  EXPECT_EQ(p.at("Name"), "/app/x");
  EXPECT_EQ(p.at("Type"), "String");
  EXPECT_EQ(p.at("Value"), "v1");
  EXPECT_EQ(p.at("Version"), 1);
  EXPECT_EQ(p.at("ARN"), std::string(kArnPrefix) + "/app/x");
  EXPECT_EQ(p.at("DataType"), "text");
  ASSERT_TRUE(p.at("LastModifiedDate").is_number_float());
  EXPECT_DOUBLE_EQ(p.at("LastModifiedDate").get<double>(), 1780000000.5);
  EXPECT_FALSE(p.contains("Selector"));
  EXPECT_TRUE(Checked("ssm:PutParameter", std::string(kArnPrefix) + "/app/x"));
  EXPECT_TRUE(Checked("ssm:GetParameter", std::string(kArnPrefix) + "/app/x"));

  Ok("PutParameter", {{"Name", "/app/x"}, {"Value", "v2"}, {"Overwrite", true}});
  json v1 = Ok("GetParameter", {{"Name", "/app/x:1"}}).at("Parameter");
  EXPECT_EQ(v1.at("Value"), "v1");
  EXPECT_EQ(v1.at("Selector"), ":1");
  EXPECT_EQ(v1.at("Name"), "/app/x");
}

TEST_F(SsmHandlersTest, OneLevelNamesHaveASingleSlashInTheirArn) {
  Ok("PutParameter", {{"Name", "db"}, {"Value", "v"}, {"Type", "String"}});
  EXPECT_EQ(Ok("GetParameter", {{"Name", "db"}}).at("Parameter").at("ARN"),
            std::string(kArnPrefix) + "/db");
  EXPECT_TRUE(Checked("ssm:GetParameter", std::string(kArnPrefix) + "/db"));
}

TEST_F(SsmHandlersTest, SecureStringValueIsBase64CiphertextUnlessDecrypted) {
  Ok("PutParameter", {{"Name", "/app/pw"}, {"Value", "hunter2"}, {"Type", "SecureString"}});
  json sealed = Ok("GetParameter", {{"Name", "/app/pw"}}).at("Parameter");
  EXPECT_EQ(sealed.at("Type"), "SecureString");
  auto blob = core::Base64Decode(sealed.at("Value").get<std::string>());
  ASSERT_TRUE(blob.has_value());
  EXPECT_TRUE(blob->starts_with(FakeSecureStringCipher::kMarker));
  EXPECT_FALSE(Checked("kms:Decrypt", FakeSecureStringCipher::kDefaultKeyArn));

  json open = Ok("GetParameter", {{"Name", "/app/pw"}, {"WithDecryption", true}}).at("Parameter");
  EXPECT_EQ(open.at("Value"), "hunter2");
  EXPECT_TRUE(Checked("kms:Decrypt", FakeSecureStringCipher::kDefaultKeyArn));
}

TEST_F(SsmHandlersTest, KmsDecryptDeniedIsAccessDenied) {
  Ok("PutParameter", {{"Name", "/app/pw"}, {"Value", "hunter2"}, {"Type", "SecureString"}});
  denied_.insert({"kms:Decrypt", FakeSecureStringCipher::kDefaultKeyArn});
  EXPECT_EQ(Code("GetParameter", {{"Name", "/app/pw"}, {"WithDecryption", true}}),
            "AccessDeniedException");
  EXPECT_EQ(Code("GetParametersByPath", {{"Path", "/app"}, {"WithDecryption", true}}),
            "AccessDeniedException");
  EXPECT_EQ(Code("GetParameterHistory", {{"Name", "/app/pw"}, {"WithDecryption", true}}),
            "AccessDeniedException");
  EXPECT_EQ(cipher_.decrypts, 0);
  EXPECT_EQ(Code("GetParameter", {{"Name", "/app/pw"}}), "OK");
}

TEST_F(SsmHandlersTest, ParameterPathPoliciesApply) {
  Ok("PutParameter", {{"Name", "/app/a"}, {"Value", "a"}, {"Type", "String"}});
  Ok("PutParameter", {{"Name", "/secret/b"}, {"Value", "b"}, {"Type", "String"}});
  std::string secret_arn = std::string(kArnPrefix) + "/secret/b";
  for (const char* op :
       {"ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter",
        "ssm:DeleteParameters", "ssm:GetParameterHistory", "ssm:LabelParameterVersion"}) {
    denied_.insert({op, secret_arn});
  }
  denied_.insert({"ssm:GetParametersByPath", std::string(kArnPrefix) + "/secret"});
  EXPECT_EQ(Code("GetParameter", {{"Name", "/secret/b"}}), "AccessDeniedException");
  EXPECT_EQ(Code("GetParameter", {{"Name", "/app/a"}}), "OK");
  // One refused name refuses the whole GetParameters call.
  EXPECT_EQ(Code("GetParameters", {{"Names", {"/app/a", "/secret/b"}}}), "AccessDeniedException");
  EXPECT_EQ(Code("GetParameters", {{"Names", {"/app/a"}}}), "OK");
  EXPECT_EQ(Code("GetParametersByPath", {{"Path", "/secret"}}), "AccessDeniedException");
  EXPECT_EQ(Code("GetParametersByPath", {{"Path", "/secret/"}}), "AccessDeniedException");
  EXPECT_EQ(Code("GetParametersByPath", {{"Path", "/app"}}), "OK");
  EXPECT_TRUE(Checked("ssm:GetParametersByPath", std::string(kArnPrefix) + "/app"));
  EXPECT_EQ(Code("PutParameter", {{"Name", "/secret/b"}, {"Value", "x"}, {"Overwrite", true}}),
            "AccessDeniedException");
  EXPECT_EQ(Code("GetParameterHistory", {{"Name", "/secret/b"}}), "AccessDeniedException");
  EXPECT_EQ(Code("LabelParameterVersion", {{"Name", "/secret/b"}, {"Labels", {"x"}}}),
            "AccessDeniedException");
  EXPECT_EQ(Code("DeleteParameter", {{"Name", "/secret/b"}}), "AccessDeniedException");
  EXPECT_EQ(Code("DeleteParameters", {{"Names", {"/app/a", "/secret/b"}}}),
            "AccessDeniedException");
  // Nothing refused changed anything.
  EXPECT_EQ(svc_->GetParameter("/secret/b", {})->value, "b");
  EXPECT_EQ(svc_->GetParameter("/secret/b", {})->version, 1);
  EXPECT_TRUE(svc_->GetParameter("/app/a", {}).ok());
}

TEST_F(SsmHandlersTest, WrongJsonTypesThrowTypeError) {
  EXPECT_THROW(Call("GetParameter", {{"Name", 5}}), json::type_error);
  EXPECT_THROW(Call("GetParameter", {{"Name", "x"}, {"WithDecryption", "yes"}}), json::type_error);
  EXPECT_THROW(Call("GetParameters", {{"Names", "x"}}), json::type_error);
  EXPECT_THROW(Call("PutParameter", {{"Name", "x"}, {"Value", "v"}, {"Overwrite", "true"}}),
               json::type_error);
  EXPECT_THROW(Call("PutParameter", {{"Name", "x"}, {"Value", 3}}), json::type_error);
  EXPECT_THROW(Call("GetParametersByPath", {{"Path", "/"}, {"MaxResults", "10"}}),
               json::type_error);
  EXPECT_THROW(Call("GetParametersByPath", {{"Path", "/"}, {"ParameterFilters", "Type"}}),
               json::type_error);
  EXPECT_THROW(
      Call("LabelParameterVersion", {{"Name", "x"}, {"Labels", {"a"}}, {"ParameterVersion", "1"}}),
      json::type_error);
}

TEST_F(SsmHandlersTest, MissingAndInvalidMembers) {
  auto out = Call("GetParameter", json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().aws_code, "ValidationException");
  EXPECT_EQ(out.error().message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
            "Member must not be null");
  EXPECT_EQ(Code("PutParameter", {{"Name", "x"}}), "ValidationException");
  auto type = Call("PutParameter", {{"Name", "x"}, {"Value", "v"}, {"Type", "str"}});
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.error().message,
            "1 validation error detected: Value 'str' at 'type' failed to satisfy constraint: "
            "Member must satisfy enum value set: [SecureString, StringList, String]");
  EXPECT_EQ(
      Code("PutParameter", {{"Name", "x"}, {"Value", "v"}, {"Type", "String"}, {"Tier", "Gold"}}),
      "ValidationException");
  EXPECT_EQ(Code("PutParameter",
                 {{"Name", "x"}, {"Value", "v"}, {"Type", "SecureString"}, {"KeyId", "bad key"}}),
            "ValidationException");
  EXPECT_EQ(Code("UnlabelParameterVersion", {{"Name", "x"}, {"Labels", {"a"}}}),
            "ValidationException");
  EXPECT_EQ(Code("GetParameter", {{"Name", "nope"}}), "ParameterNotFound");
}

TEST_F(SsmHandlersTest, GetParametersWireShape) {
  Ok("PutParameter", {{"Name", "a"}, {"Value", "1"}, {"Type", "String"}});
  json out = Ok("GetParameters", {{"Names", {"a", "missing"}}});
  ASSERT_EQ(out.at("Parameters").size(), 1u);
  EXPECT_EQ(out.at("Parameters")[0].at("Value"), "1");
  EXPECT_EQ(out.at("InvalidParameters"), (json{"missing"}));
  EXPECT_EQ(Code("GetParameters", {{"Names", json::array()}}), "ValidationException");
}

TEST_F(SsmHandlersTest, GetParametersByPathPagesAndFilters) {
  for (const char* n : {"/p/a", "/p/b", "/p/c"}) {
    Ok("PutParameter", {{"Name", n}, {"Value", "v"}, {"Type", "String"}});
  }
  Ok("PutParameter", {{"Name", "/p/s"}, {"Value", "v"}, {"Type", "SecureString"}});
  json first = Ok("GetParametersByPath", {{"Path", "/p"}, {"MaxResults", 2}});
  EXPECT_EQ(first.at("Parameters").size(), 2u);
  ASSERT_TRUE(first.contains("NextToken"));
  json second = Ok("GetParametersByPath",
                   {{"Path", "/p"}, {"MaxResults", 2}, {"NextToken", first.at("NextToken")}});
  EXPECT_EQ(second.at("Parameters").size(), 2u);
  EXPECT_FALSE(second.contains("NextToken"));
  json filtered = Ok("GetParametersByPath",
                     {{"Path", "/p"},
                      {"ParameterFilters",
                       {{{"Key", "Type"}, {"Option", "Equals"}, {"Values", {"SecureString"}}}}}});
  ASSERT_EQ(filtered.at("Parameters").size(), 1u);
  EXPECT_EQ(filtered.at("Parameters")[0].at("Name"), "/p/s");
  EXPECT_EQ(Code("GetParametersByPath",
                 {{"Path", "/p"}, {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"x"}}}}}}),
            "InvalidFilterKey");
  EXPECT_EQ(Code("GetParametersByPath", {{"Path", "/p"}, {"NextToken", "!!"}}), "InvalidNextToken");
}

TEST_F(SsmHandlersTest, DescribeParametersWireShape) {
  Ok("PutParameter", {{"Name", "/d/plain"},
                      {"Value", "v"},
                      {"Type", "String"},
                      {"Description", "plain one"},
                      {"AllowedPattern", "^v$"}});
  Ok("PutParameter",
     {{"Name", "/d/secure"},
      {"Value", "v"},
      {"Type", "SecureString"},
      {"KeyId", "alias/app"},
      {"Tier", "Advanced"},
      {"Policies",
       R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"30","Unit":"Days"}}])"}});
  json out = Ok("DescribeParameters", json::object());
  ASSERT_EQ(out.at("Parameters").size(), 2u);
  EXPECT_FALSE(out.contains("NextToken"));
  json plain = out.at("Parameters")[0];
  EXPECT_EQ(plain.at("Name"), "/d/plain");
  EXPECT_EQ(plain.at("ARN"), std::string(kArnPrefix) + "/d/plain");
  EXPECT_EQ(plain.at("Type"), "String");
  EXPECT_EQ(plain.at("Description"), "plain one");
  EXPECT_EQ(plain.at("AllowedPattern"), "^v$");
  EXPECT_EQ(plain.at("Version"), 1);
  EXPECT_EQ(plain.at("Tier"), "Standard");
  EXPECT_EQ(plain.at("DataType"), "text");
  EXPECT_EQ(plain.at("LastModifiedUser"), "arn:aws:iam::123456789012:root");
  EXPECT_TRUE(plain.at("LastModifiedDate").is_number());
  EXPECT_EQ(plain.at("Policies"), json::array());
  EXPECT_FALSE(plain.contains("KeyId"));
  EXPECT_FALSE(plain.contains("Value"));
  json secure = out.at("Parameters")[1];
  EXPECT_EQ(secure.at("KeyId"), "alias/app");
  EXPECT_EQ(secure.at("Tier"), "Advanced");
  ASSERT_EQ(secure.at("Policies").size(), 1u);
  EXPECT_EQ(secure.at("Policies")[0].at("PolicyType"), "NoChangeNotification");
  EXPECT_EQ(secure.at("Policies")[0].at("PolicyStatus"), "Pending");
  EXPECT_FALSE(secure.contains("Description"));

  json filtered =
      Ok("DescribeParameters", {{"Filters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}});
  ASSERT_EQ(filtered.at("Parameters").size(), 1u);
  EXPECT_EQ(Code("DescribeParameters", {{"MaxResults", 51}}), "ValidationException");
  EXPECT_EQ(Code("PutParameter", {{"Name", "/d/bad"},
                                  {"Value", "v"},
                                  {"Type", "String"},
                                  {"Tier", "Advanced"},
                                  {"Policies", R"([{"Type":"SelfDestruct"}])"}}),
            "InvalidPolicyTypeException");
}

TEST_F(SsmHandlersTest, HistoryAndLabelsWireShapes) {
  Ok("PutParameter", {{"Name", "h"}, {"Value", "1"}, {"Type", "String"}});
  Ok("PutParameter", {{"Name", "h"}, {"Value", "2"}, {"Overwrite", true}});
  EXPECT_EQ(Ok("LabelParameterVersion",
               {{"Name", "h"}, {"ParameterVersion", 1}, {"Labels", {"prod", "9bad"}}}),
            (json{{"InvalidLabels", {"9bad"}}, {"ParameterVersion", 1}}));
  EXPECT_EQ(Ok("LabelParameterVersion", {{"Name", "h"}, {"Labels", {"latest"}}}),
            (json{{"InvalidLabels", json::array()}, {"ParameterVersion", 2}}));
  json history = Ok("GetParameterHistory", {{"Name", "h"}});
  ASSERT_EQ(history.at("Parameters").size(), 2u);
  json v1 = history.at("Parameters")[0];
  EXPECT_EQ(v1.at("Name"), "h");
  EXPECT_EQ(v1.at("Value"), "1");
  EXPECT_EQ(v1.at("Version"), 1);
  EXPECT_EQ(v1.at("Labels"), (json{"prod"}));
  EXPECT_EQ(v1.at("Tier"), "Standard");
  EXPECT_EQ(v1.at("Policies"), json::array());
  EXPECT_EQ(history.at("Parameters")[1].at("Labels"), (json{"latest"}));
  json paged = Ok("GetParameterHistory", {{"Name", "h"}, {"MaxResults", 1}});
  EXPECT_EQ(paged.at("Parameters").size(), 1u);
  EXPECT_TRUE(paged.contains("NextToken"));
  EXPECT_EQ(Ok("UnlabelParameterVersion",
               {{"Name", "h"}, {"ParameterVersion", 1}, {"Labels", {"prod", "nope"}}}),
            (json{{"RemovedLabels", {"prod"}}, {"InvalidLabels", {"nope"}}}));
}

TEST_F(SsmHandlersTest, DeleteWireShapes) {
  Ok("PutParameter", {{"Name", "a"}, {"Value", "1"}, {"Type", "String"}});
  Ok("PutParameter", {{"Name", "b"}, {"Value", "1"}, {"Type", "String"}});
  EXPECT_EQ(Ok("DeleteParameter", {{"Name", "a"}}), json::object());
  EXPECT_EQ(Code("DeleteParameter", {{"Name", "a"}}), "ParameterNotFound");
  EXPECT_EQ(Ok("DeleteParameters", {{"Names", {"a", "b"}}}),
            (json{{"DeletedParameters", {"b"}}, {"InvalidParameters", {"a"}}}));
}

TEST_F(SsmHandlersTest, TagWireShapes) {
  Ok("PutParameter", {{"Name", "/t/x"},
                      {"Value", "1"},
                      {"Type", "String"},
                      {"Tags", {{{"Key", "team"}, {"Value", "core"}}}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t/x"}}),
            (json{{"TagList", {{{"Key", "team"}, {"Value", "core"}}}}}));
  EXPECT_EQ(Ok("AddTagsToResource", {{"ResourceType", "Parameter"},
                                     {"ResourceId", "/t/x"},
                                     {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}}),
            json::object());
  EXPECT_EQ(Ok("RemoveTagsFromResource",
               {{"ResourceType", "Parameter"}, {"ResourceId", "/t/x"}, {"TagKeys", {"team"}}}),
            json::object());
  EXPECT_EQ(Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t/x"}}),
            (json{{"TagList", {{{"Key", "env"}, {"Value", "prod"}}}}}));
  EXPECT_TRUE(Checked("ssm:AddTagsToResource", std::string(kArnPrefix) + "/t/x"));
  EXPECT_EQ(Code("ListTagsForResource", {{"ResourceType", "foo"}, {"ResourceId", "bar"}}),
            "InvalidResourceType");
  EXPECT_EQ(Code("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "bar"}}),
            "InvalidResourceId");
  EXPECT_EQ(Code("PutParameter", {{"Name", "/t/y"},
                                  {"Value", "1"},
                                  {"Type", "String"},
                                  {"Overwrite", true},
                                  {"Tags", {{{"Key", "a"}, {"Value", "b"}}}}}),
            "ValidationException");
}

}  // namespace
}  // namespace berth::api
