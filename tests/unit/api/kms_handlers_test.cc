#include "api/handlers/kms_handlers.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "fakes/fake_clock.h"
#include "fakes/sequential_ids.h"
#include "kms/kms_service.h"

namespace berth::api {
namespace {

using nlohmann::json;

class KmsHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    kms::KmsConfig config;
    config.region = "us-east-1";
    config.account_id = "123456789012";
    auto master =
        kms::MasterKey::FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    svc_ = std::make_unique<kms::KmsService>(*db_, clock_, ids_, std::move(master).value(), config);
    ASSERT_TRUE(svc_->Open().ok());
    handlers_ = MakeKmsHandlers(*svc_);
    ctx_.region = "us-east-1";
    ctx_.account_id = "123456789012";
    ctx_.service = "kms";
  }

  Result<JsonReply> Call(const std::string& op, const json& in) {
    auto it = handlers_.operations.find(op);
    EXPECT_NE(it, handlers_.operations.end()) << op;
    return it->second(ctx_, in);
  }
  json Ok(const std::string& op, const json& in) {
    auto r = Call(op, in);
    EXPECT_TRUE(r.ok()) << op << ": " << r.error().aws_code << ": " << r.error().message;
    return r.ok() ? r->value : json();
  }
  void ExpectError(const std::string& op, const json& in, const std::string& code,
                   const std::string& message = "*") {
    auto r = Call(op, in);
    ASSERT_FALSE(r.ok()) << op << " should fail with " << code;
    EXPECT_EQ(r.error().aws_code, code) << r.error().message;
    if (message != "*") {
      EXPECT_EQ(r.error().message, message);
    }
  }
  std::string NewKeyId() { return Ok("CreateKey", json::object())["KeyMetadata"]["KeyId"]; }

  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<kms::KmsService> svc_;
  JsonService handlers_;
  ApiContext ctx_;
};

TEST_F(KmsHandlersTest, ServiceIdentity) {
  EXPECT_EQ(handlers_.signing_name, "kms");
  EXPECT_EQ(handlers_.target_prefixes, std::vector<std::string>{"TrentService"});
  for (const char* op : {"CreateKey",
                         "DescribeKey",
                         "ListKeys",
                         "UpdateKeyDescription",
                         "EnableKey",
                         "DisableKey",
                         "ScheduleKeyDeletion",
                         "CancelKeyDeletion",
                         "CreateAlias",
                         "UpdateAlias",
                         "DeleteAlias",
                         "ListAliases",
                         "Encrypt",
                         "Decrypt",
                         "GenerateDataKey",
                         "GenerateDataKeyWithoutPlaintext",
                         "ReEncrypt",
                         "TagResource",
                         "UntagResource",
                         "ListResourceTags",
                         "GetKeyPolicy",
                         "PutKeyPolicy",
                         "ListKeyPolicies",
                         "EnableKeyRotation",
                         "DisableKeyRotation",
                         "GetKeyRotationStatus"}) {
    EXPECT_TRUE(handlers_.operations.count(op)) << op;
  }
}

TEST_F(KmsHandlersTest, CreateKey_KeyMetadataShape) {
  json out = Ok("CreateKey", {{"Description", "d"},
                              {"KeyUsage", "ENCRYPT_DECRYPT"},
                              {"KeySpec", "SYMMETRIC_DEFAULT"},
                              {"Tags", {{{"TagKey", "team"}, {"TagValue", "core"}}}},
                              {"Policy", R"({"Version":"2012-10-17","Statement":[]})"},
                              {"BypassPolicyLockoutSafetyCheck", true}});
  const json& m = out["KeyMetadata"];
  const std::string id = m["KeyId"];
  EXPECT_EQ(m["AWSAccountId"], "123456789012");
  EXPECT_EQ(m["Arn"], "arn:aws:kms:us-east-1:123456789012:key/" + id);
  ASSERT_TRUE(m["CreationDate"].is_number_float());
  EXPECT_DOUBLE_EQ(m["CreationDate"].get<double>(), clock_.NowMillis() / 1000.0);
  EXPECT_EQ(m["Enabled"], true);
  EXPECT_EQ(m["Description"], "d");
  EXPECT_EQ(m["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(m["KeyState"], "Enabled");
  EXPECT_EQ(m["Origin"], "AWS_KMS");
  EXPECT_EQ(m["KeyManager"], "CUSTOMER");
  EXPECT_EQ(m["KeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m["EncryptionAlgorithms"], json::array({"SYMMETRIC_DEFAULT"}));
  EXPECT_EQ(m["MultiRegion"], false);
  EXPECT_FALSE(m.contains("DeletionDate"));

  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}}), out);
  json tags = Ok("ListResourceTags", {{"KeyId", id}});
  EXPECT_EQ(tags["Tags"], json::parse(R"([{"TagKey":"team","TagValue":"core"}])"));
  EXPECT_EQ(tags["Truncated"], false);
  EXPECT_EQ(Ok("GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}})["Policy"],
            R"({"Version":"2012-10-17","Statement":[]})");
}

TEST_F(KmsHandlersTest, CreateKey_UnsupportedSpec) {
  ExpectError("CreateKey", {{"KeySpec", "RSA_2048"}, {"KeyUsage", "SIGN_VERIFY"}},
              "UnsupportedOperationException");
  ExpectError("CreateKey", {{"MultiRegion", true}}, "UnsupportedOperationException");
}

TEST_F(KmsHandlersTest, EncryptDecrypt_Base64OnTheWire) {
  std::string id = NewKeyId();
  json enc = Ok("Encrypt", {{"KeyId", id},
                            {"Plaintext", core::Base64Encode("hello")},
                            {"EncryptionContext", {{"k", "v"}}},
                            {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}});
  EXPECT_EQ(enc["KeyId"], "arn:aws:kms:us-east-1:123456789012:key/" + id);
  EXPECT_EQ(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  ASSERT_TRUE(core::Base64Decode(enc["CiphertextBlob"].get<std::string>()).has_value());

  json dec = Ok("Decrypt",
                {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", {{"k", "v"}}}});
  EXPECT_EQ(*core::Base64Decode(dec["Plaintext"].get<std::string>()), "hello");
  EXPECT_EQ(dec["KeyId"], enc["KeyId"]);
  EXPECT_EQ(dec["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");

  ExpectError("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}, "InvalidCiphertextException",
              "");
  std::string other = NewKeyId();
  ExpectError("Decrypt",
              {{"CiphertextBlob", enc["CiphertextBlob"]},
               {"EncryptionContext", {{"k", "v"}}},
               {"KeyId", other}},
              "IncorrectKeyException");
}

TEST_F(KmsHandlersTest, MissingRequiredMembers_AsKmsWordsThem) {
  ExpectError("DescribeKey", json::object(), "ValidationException",
              "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
              "Member must not be null");
  ExpectError("Encrypt", json::object(), "ValidationException",
              "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: "
              "Member must not be null; Value null at 'plaintext' failed to satisfy constraint: "
              "Member must not be null");
  ExpectError("Decrypt", json::object(), "ValidationException",
              "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
              "constraint: Member must not be null");
  ExpectError("CreateAlias", {{"AliasName", "alias/x"}}, "ValidationException",
              "1 validation error detected: Value null at 'targetKeyId' failed to satisfy "
              "constraint: Member must not be null");
  std::string id = NewKeyId();
  ExpectError("TagResource", {{"KeyId", id}, {"Tags", {{{"TagKey", "k"}}}}}, "ValidationException",
              "1 validation error detected: Value null at 'tags.1.member.tagValue' failed to "
              "satisfy constraint: Member must not be null");
  ExpectError("UntagResource", {{"KeyId", id}}, "ValidationException");
  ExpectError("PutKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}}, "ValidationException");
  ExpectError("ReEncrypt", {{"CiphertextBlob", core::Base64Encode("x")}}, "ValidationException");
  // A JSON null is an absent member.
  ExpectError("DescribeKey", {{"KeyId", nullptr}}, "ValidationException");
}

TEST_F(KmsHandlersTest, WrongTypesThrowForTheFrontDoor) {
  std::string id = NewKeyId();
  EXPECT_THROW(Call("DescribeKey", {{"KeyId", 5}}), json::type_error);
  EXPECT_THROW(Call("Encrypt", {{"KeyId", id}, {"Plaintext", 42}}), json::type_error);
  EXPECT_THROW(Call("Encrypt", {{"KeyId", id},
                                {"Plaintext", core::Base64Encode("x")},
                                {"EncryptionContext", {{"k", 1}}}}),
               json::type_error);
  EXPECT_THROW(Call("ListKeys", {{"Limit", "5"}}), json::type_error);
  EXPECT_THROW(Call("ListKeys", {{"Limit", 1.5}}), json::type_error);
  EXPECT_THROW(Call("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", true}}),
               json::type_error);
  EXPECT_THROW(Call("TagResource", {{"KeyId", id}, {"Tags", "k=v"}}), json::type_error);
  EXPECT_THROW(Call("TagResource", {{"KeyId", id}, {"Tags", {"k"}}}), json::type_error);
  EXPECT_THROW(Call("UntagResource", {{"KeyId", id}, {"TagKeys", {1, 2}}}), json::type_error);
  EXPECT_THROW(Call("CreateKey", {{"MultiRegion", "no"}}), json::type_error);
}

TEST_F(KmsHandlersTest, BadBase64IsASerializationError) {
  std::string id = NewKeyId();
  ExpectError("Encrypt", {{"KeyId", id}, {"Plaintext", "not base64!"}}, "SerializationException");
  ExpectError("Decrypt", {{"CiphertextBlob", "@@@@"}}, "SerializationException");
  ExpectError("Decrypt", {{"CiphertextBlob", ""}}, "ValidationException",
              "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy "
              "constraint: Member must have length greater than or equal to 1");
  ExpectError("Encrypt", {{"KeyId", id}, {"Plaintext", ""}}, "ValidationException");
}

TEST_F(KmsHandlersTest, EncryptionAlgorithmChecks) {
  std::string id = NewKeyId();
  json in = {{"KeyId", id}, {"Plaintext", core::Base64Encode("x")}};
  in["EncryptionAlgorithm"] = "RSAES_OAEP_SHA_1";
  ExpectError("Encrypt", in, "InvalidKeyUsageException",
              "Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.");
  in["EncryptionAlgorithm"] = "ROT13";
  ExpectError("Encrypt", in, "ValidationException");
}

TEST_F(KmsHandlersTest, DataKeys) {
  std::string id = NewKeyId();
  json dk = Ok("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  EXPECT_EQ(core::Base64Decode(dk["Plaintext"].get<std::string>())->size(), 32u);
  json dec = Ok("Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}});
  EXPECT_EQ(dec["Plaintext"], dk["Plaintext"]);

  json hidden = Ok("GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"NumberOfBytes", 16}});
  EXPECT_FALSE(hidden.contains("Plaintext"));
  EXPECT_EQ(hidden["KeyId"], dk["KeyId"]);
  EXPECT_EQ(
      core::Base64Decode(Ok("Decrypt", {{"CiphertextBlob", hidden["CiphertextBlob"]}})["Plaintext"]
                             .get<std::string>())
          ->size(),
      16u);

  ExpectError("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_512"}}, "ValidationException");
  ExpectError("GenerateDataKey", {{"KeyId", id}}, "ValidationException");
}

TEST_F(KmsHandlersTest, ReEncrypt) {
  std::string a = NewKeyId();
  std::string b = NewKeyId();
  json enc = Ok("Encrypt", {{"KeyId", a}, {"Plaintext", core::Base64Encode("move me")}});
  json re = Ok("ReEncrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                             {"DestinationKeyId", b},
                             {"DestinationEncryptionContext", {{"to", "b"}}}});
  EXPECT_EQ(re["SourceKeyId"], enc["KeyId"]);
  EXPECT_EQ(re["KeyId"], "arn:aws:kms:us-east-1:123456789012:key/" + b);
  EXPECT_EQ(re["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(re["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  json dec = Ok("Decrypt",
                {{"CiphertextBlob", re["CiphertextBlob"]}, {"EncryptionContext", {{"to", "b"}}}});
  EXPECT_EQ(*core::Base64Decode(dec["Plaintext"].get<std::string>()), "move me");
}

TEST_F(KmsHandlersTest, ListKeysAndAliasesPaging) {
  std::string a = NewKeyId();
  std::string b = NewKeyId();
  json first = Ok("ListKeys", {{"Limit", 1}});
  ASSERT_EQ(first["Keys"].size(), 1u);
  EXPECT_EQ(first["Keys"][0]["KeyId"], a);
  EXPECT_EQ(first["Keys"][0]["KeyArn"], "arn:aws:kms:us-east-1:123456789012:key/" + a);
  EXPECT_EQ(first["Truncated"], true);
  json second = Ok("ListKeys", {{"Limit", 1}, {"Marker", first["NextMarker"]}});
  EXPECT_EQ(second["Keys"][0]["KeyId"], b);
  EXPECT_EQ(second["Truncated"], false);
  EXPECT_FALSE(second.contains("NextMarker"));

  Ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", a}});
  json aliases = Ok("ListAliases", json::object());
  ASSERT_EQ(aliases["Aliases"].size(), 2u);
  const json& app = aliases["Aliases"][0];
  EXPECT_EQ(app["AliasName"], "alias/app");
  EXPECT_EQ(app["AliasArn"], "arn:aws:kms:us-east-1:123456789012:alias/app");
  EXPECT_EQ(app["TargetKeyId"], a);
  EXPECT_TRUE(app["CreationDate"].is_number());
  EXPECT_TRUE(app["LastUpdatedDate"].is_number());
  const json& ssm = aliases["Aliases"][1];
  EXPECT_EQ(ssm["AliasName"], "alias/aws/ssm");
  EXPECT_FALSE(ssm.contains("TargetKeyId"));
  EXPECT_FALSE(ssm.contains("CreationDate"));
  EXPECT_EQ(aliases["Truncated"], false);

  json of_a = Ok("ListAliases", {{"KeyId", a}});
  ASSERT_EQ(of_a["Aliases"].size(), 1u);
  EXPECT_TRUE(Ok("ListAliases", {{"KeyId", b}})["Aliases"].empty());
}

TEST_F(KmsHandlersTest, KeyLifecycleOnTheWire) {
  std::string id = NewKeyId();
  const std::string arn = "arn:aws:kms:us-east-1:123456789012:key/" + id;
  Ok("DisableKey", {{"KeyId", id}});
  ExpectError("Encrypt", {{"KeyId", id}, {"Plaintext", core::Base64Encode("x")}},
              "DisabledException", arn + " is disabled.");
  Ok("EnableKey", {{"KeyId", id}});

  json scheduled = Ok("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  EXPECT_EQ(scheduled["KeyId"], arn);
  EXPECT_EQ(scheduled["KeyState"], "PendingDeletion");
  EXPECT_EQ(scheduled["PendingWindowInDays"], 7);
  EXPECT_DOUBLE_EQ(scheduled["DeletionDate"].get<double>(),
                   (clock_.NowMillis() + 7 * 86'400'000LL) / 1000.0);
  json described = Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"];
  EXPECT_EQ(described["KeyState"], "PendingDeletion");
  EXPECT_EQ(described["Enabled"], false);
  EXPECT_EQ(described["DeletionDate"], scheduled["DeletionDate"]);
  EXPECT_EQ(described["PendingDeletionWindowInDays"], 7);
  ExpectError("Encrypt", {{"KeyId", id}, {"Plaintext", core::Base64Encode("x")}},
              "KMSInvalidStateException", arn + " is pending deletion.");

  EXPECT_EQ(Ok("CancelKeyDeletion", {{"KeyId", id}}), json({{"KeyId", arn}}));
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["KeyState"], "Disabled");

  Ok("EnableKey", {{"KeyId", id}});
  Ok("EnableKeyRotation", {{"KeyId", id}});
  EXPECT_EQ(Ok("GetKeyRotationStatus", {{"KeyId", id}}), json({{"KeyRotationEnabled", true}}));
  Ok("DisableKeyRotation", {{"KeyId", id}});
  EXPECT_EQ(Ok("GetKeyRotationStatus", {{"KeyId", id}}), json({{"KeyRotationEnabled", false}}));
  EXPECT_EQ(Ok("ListKeyPolicies", {{"KeyId", id}}),
            json({{"PolicyNames", {"default"}}, {"Truncated", false}}));
  Ok("UpdateKeyDescription", {{"KeyId", id}, {"Description", "renamed"}});
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["Description"], "renamed");
  Ok("UntagResource", {{"KeyId", id}, {"TagKeys", {"absent"}}});
  Ok("CreateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", id}});
  std::string other = NewKeyId();
  Ok("UpdateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", other}});
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", "alias/x"}})["KeyMetadata"]["KeyId"], other);
  Ok("DeleteAlias", {{"AliasName", "alias/x"}});
  ExpectError("DescribeKey", {{"KeyId", "alias/x"}}, "NotFoundException");
}

}  // namespace
}  // namespace berth::api
