#include "iam/iam_service.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/sequential_ids.h"

namespace berth::iam {
namespace {

constexpr const char* kAllowLogs =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]})";

class IamServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  void Reopen() {
    iam_ = std::make_unique<IamService>(*db_, clock_, ids_, "123456789012");
    ASSERT_TRUE(iam_->Open().ok());
  }
  std::string TrustFor(const std::string& arn) {
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
           arn + R"("},"Action":"sts:AssumeRole"}]})";
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  std::unique_ptr<IamService> iam_;
};

TEST_F(IamServiceTest, UserKeysAuthenticateAndPoliciesAuthorize) {
  auto user = iam_->CreateUser("alice", "/dev/", {});
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->arn, "arn:aws:iam::123456789012:user/dev/alice");
  auto key = iam_->CreateAccessKey("alice");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(iam_->SecretFor(key->id, ""), key->secret);
  EXPECT_EQ(iam_->SecretFor(key->id, "a-token"), std::nullopt);
  auto who = iam_->PrincipalFor(key->id, "");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->arn, user->arn);
  EXPECT_FALSE(iam_->Authorize(*who, "logs:PutLogEvents", "*", {}).allowed());
  ASSERT_TRUE(iam_->PutInlinePolicy(EntityKind::User, "alice", "logs", kAllowLogs).ok());
  EXPECT_TRUE(iam_->Authorize(*who, "logs:PutLogEvents", "*", {}).allowed());
  EXPECT_EQ(iam_->DeleteUser("alice").error().aws_code, "DeleteConflict");
  // Everything survives a restart.
  Reopen();
  EXPECT_EQ(iam_->SecretFor(key->id, ""), key->secret);
  EXPECT_TRUE(iam_->Authorize(*who, "logs:PutLogEvents", "*", {}).allowed());
  ASSERT_TRUE(iam_->UpdateAccessKey("alice", key->id, "Inactive").ok());
  EXPECT_EQ(iam_->SecretFor(key->id, ""), std::nullopt);
  EXPECT_TRUE(iam_->CreateAccessKey("alice").ok());  // the second of two
  EXPECT_EQ(iam_->CreateAccessKey("alice").error().aws_code, "LimitExceeded");
}

TEST_F(IamServiceTest, SessionsExpireAndCarryTheRolesPolicies) {
  auto user = iam_->CreateUser("bob", "/", {});
  ASSERT_TRUE(iam_->CreateRole("app", "/", TrustFor(user->arn), "", 3600, {}).ok());
  ASSERT_TRUE(iam_->PutInlinePolicy(EntityKind::Role, "app", "logs", kAllowLogs).ok());
  Principal bob = *iam_->PrincipalFor(iam_->CreateAccessKey("bob")->id, "");
  // Trust allows bob, but his own policies do not allow sts:AssumeRole yet.
  EXPECT_EQ(iam_->AssumeRole(bob, "arn:aws:iam::123456789012:role/app", "s1", 900).error().aws_code,
            "AccessDenied");
  ASSERT_TRUE(iam_->PutInlinePolicy(EntityKind::User, "bob", "assume",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]})").ok());
  auto session = iam_->AssumeRole(bob, "arn:aws:iam::123456789012:role/app", "s1", 900);
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(iam_->SecretFor(session->access_key_id, session->token), session->secret);
  EXPECT_EQ(iam_->SecretFor(session->access_key_id, "other"), std::nullopt);
  auto p = iam_->PrincipalFor(session->access_key_id, session->token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->arn, "arn:aws:sts::123456789012:assumed-role/app/s1");
  EXPECT_TRUE(iam_->Authorize(*p, "logs:CreateLogGroup", "*", {}).allowed());
  EXPECT_FALSE(iam_->Authorize(*p, "ecs:RunTask", "*", {}).allowed());
  EXPECT_EQ(iam_->AssumeRole(bob, "arn:aws:iam::123456789012:role/app", "s1", 7200).error().aws_code,
            "ValidationError");  // above the role's MaxSessionDuration
  clock_.Advance(901'000);
  EXPECT_EQ(iam_->PrincipalFor(session->access_key_id, session->token).error().aws_code,
            "ExpiredTokenException");
}

TEST_F(IamServiceTest, ManagedPoliciesAttachDetachAndRefuseDeletionWhileAttached) {
  ASSERT_TRUE(iam_->CreateUser("carol", "/", {}).ok());
  auto p = iam_->CreatePolicy("logs", "/", kAllowLogs, "", {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(iam_->CreatePolicy("logs", "/", kAllowLogs, "", {}).error().aws_code,
            "EntityAlreadyExists");
  ASSERT_TRUE(iam_->AttachPolicy(EntityKind::User, "carol", p->arn).ok());
  EXPECT_EQ(iam_->AttachmentCount(p->arn), 1);
  EXPECT_EQ(iam_->DeletePolicy(p->arn).error().aws_code, "DeleteConflict");
  Principal carol = *iam_->PrincipalFor(iam_->CreateAccessKey("carol")->id, "");
  EXPECT_TRUE(iam_->Authorize(carol, "logs:GetLogEvents", "*", {}).allowed());
  ASSERT_TRUE(iam_->DetachPolicy(EntityKind::User, "carol", p->arn).ok());
  EXPECT_FALSE(iam_->Authorize(carol, "logs:GetLogEvents", "*", {}).allowed());
  EXPECT_TRUE(iam_->AttachPolicy(EntityKind::User, "carol",
                                 "arn:aws:iam::aws:policy/AdministratorAccess").ok());
  EXPECT_TRUE(iam_->Authorize(carol, "ecs:RunTask", "*", {}).allowed());
  EXPECT_EQ(iam_->AttachPolicy(EntityKind::User, "carol", "arn:aws:iam::aws:policy/Nope").error().aws_code,
            "NoSuchEntity");
  EXPECT_EQ(iam_->PutInlinePolicy(EntityKind::User, "carol", "bad", "{").error().aws_code,
            "MalformedPolicyDocument");
  EXPECT_EQ(iam_->CreateUser("bad name", "/", {}).error().aws_code, "ValidationError");
}

}  // namespace
}  // namespace berth::iam
