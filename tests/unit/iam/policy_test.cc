#include "iam/policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Counts heap allocations made while `g_count_allocations` is set on this thread, so that
// EvaluationAllocatesNothing can hold evaluation to its "no allocation in the common case"
// contract. Replacing the global operator new is allowed once per program; it only counts.
namespace {
thread_local bool g_count_allocations = false;
thread_local size_t g_allocations = 0;
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (g_count_allocations) {
    ++g_allocations;
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace berth::iam {
namespace {

Policy MustParse(std::string_view doc, PolicyKind kind = PolicyKind::Identity,
                 ParseOptions options = {}) {
  auto p = Policy::Parse(doc, kind, std::move(options));
  if (!p.ok()) {
    ADD_FAILURE() << "parse failed: " << p.error().message << "\n" << doc;
    std::abort();
  }
  return std::move(p).value();
}

std::string ParseError(std::string_view doc, PolicyKind kind = PolicyKind::Identity) {
  auto p = Policy::Parse(doc, kind);
  if (p.ok()) {
    return "<parsed>";
  }
  EXPECT_EQ(p.error().aws_code, "MalformedPolicyDocument");
  EXPECT_EQ(p.error().kind, ErrorKind::InvalidArgument);
  return p.error().message;
}

Outcome Eval(const Policy& policy, std::string_view action, std::string_view resource,
             const Context& context = {}) {
  Request r;
  r.action = action;
  r.resource = resource;
  r.context = &context;
  return policy.Evaluate(r).outcome;
}

// A policy allowing everything when `condition` (a JSON object) holds.
Policy AllowIf(std::string_view condition) {
  return MustParse(std::string(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",)"
                               R"("Action":"*","Resource":"*","Condition":)") +
                   std::string(condition) + "}}");
}

bool Holds(const Policy& policy, const Context& context) {
  return Eval(policy, "ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/x",
              context) == Outcome::Allow;
}

Context Ctx(std::initializer_list<std::pair<std::string, std::vector<std::string>>> values) {
  Context c;
  for (const auto& [k, v] : values) {
    SetContextValue(c, k, v);
  }
  return c;
}

constexpr char kKptboard[] = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadParams", "Effect": "Allow", "Action": "ssm:GetParameters",
     "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-*"},
    {"Sid": "DecryptParams", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}
  ]
})";

// ---- parsing --------------------------------------------------------------------------------

TEST(PolicyParseTest, StatementAsObjectOrArrayAndMetadata) {
  Policy one = MustParse(
      R"({"Version":"2012-10-17","Id":"P1","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}})");
  EXPECT_EQ(one.statement_count(), 1u);
  EXPECT_EQ(one.version(), "2012-10-17");
  EXPECT_EQ(one.id(), "P1");
  EXPECT_EQ(one.kind(), PolicyKind::Identity);
  Policy two = MustParse(kKptboard, PolicyKind::Identity, ParseOptions{"arn:aws:iam::1:policy/k"});
  EXPECT_EQ(two.statement_count(), 2u);
  EXPECT_EQ(two.name(), "arn:aws:iam::1:policy/k");
}

TEST(PolicyParseTest, VersionMayBeMissingOr2008ButNothingElse) {
  Policy none = MustParse(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})");
  EXPECT_EQ(none.version(), "");
  MustParse(
      R"({"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})");
  EXPECT_EQ(ParseError(R"({"Version":"2012-10-18","Statement":[]})"),
            "The policy must contain a valid version string");
  EXPECT_EQ(ParseError(R"({"Version":20121017,"Statement":[]})"),
            "The policy must contain a valid version string");
}

TEST(PolicyParseTest, SyntaxErrors) {
  for (
      const char* doc : {
          "",
          "not json",
          "[]",
          R"({"Version":"2012-10-17","Statement":[)",
          R"({"Statement":"Allow everything"})",
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}]})",
          R"({"Statement":[],"Bogus":true})",
          R"({"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]})",
          R"({"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]})",
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]})",
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}]})",
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}]})",
      }) {
    EXPECT_EQ(ParseError(doc), "Syntax errors in policy.") << doc;
  }
}

TEST(PolicyParseTest, RequiredFieldsWithAwsMessages) {
  EXPECT_EQ(ParseError(R"({"Version":"2012-10-17"})"), "Missing required field Statement");
  EXPECT_EQ(ParseError(R"({"Statement":[{"Action":"*","Resource":"*"}]})"),
            "Missing required field Effect");
  EXPECT_EQ(ParseError(R"({"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]})"),
            "Invalid effect: allow");
  EXPECT_EQ(ParseError(R"({"Statement":[{"Effect":"Allow","Resource":"*"}]})"),
            "Policy statement must contain actions.");
  EXPECT_EQ(ParseError(R"({"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]})"),
            "Policy statement must contain actions.");
  EXPECT_EQ(ParseError(R"({"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]})"),
            "Policy statement must contain resources.");
}

TEST(PolicyParseTest, IdentityPolicyMustNotNamePrincipal) {
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]})"),
      "Policy document should not specify a principal.");
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]})"),
      "Policy document should not specify a principal.");
}

TEST(PolicyParseTest, ResourcePolicyNeedsPrincipalButNotResource) {
  EXPECT_EQ(ParseError(R"({"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]})",
                       PolicyKind::Resource),
            "Missing required field Principal");
  Policy trust = MustParse(
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]})",
      PolicyKind::Resource);
  EXPECT_EQ(trust.statement_count(), 1u);
}

TEST(PolicyParseTest, ActionsNeedAVendorAndOneColon) {
  EXPECT_EQ(
      ParseError(R"({"Statement":[{"Effect":"Allow","Action":"GetParameter","Resource":"*"}]})"),
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Allow","Action":"ssm:Get:Parameter","Resource":"*"}]})"),
      "Actions/Condition can contain only one colon.");
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}]})"),
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
}

TEST(PolicyParseTest, ResourcesMustBeArnsOrStar) {
  EXPECT_EQ(
      ParseError(R"({"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"my-bucket"}]})"),
      "Resource my-bucket must be in ARN format or \"*\".");
  EXPECT_EQ(
      ParseError(R"({"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}]})"),
      "Resource arn:aws:s3 must be in ARN format or \"*\".");
  MustParse(
      R"({"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*","arn:aws:*"]}]})");
}

TEST(PolicyParseTest, SidsAreAlphanumericAndUnique) {
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Sid":"allow-ssm","Effect":"Allow","Action":"*","Resource":"*"}]})"),
      "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
      "regular expression [0-9A-Za-z]*");
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]})"),
      "Statement IDs (SID) in a single policy must be unique.");
  // KMS-style key policies use free-text Sids.
  ParseOptions kms;
  kms.alphanumeric_sids = false;
  MustParse(
      R"({"Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]})",
      PolicyKind::Resource, kms);
}

TEST(PolicyParseTest, ConditionOperatorsMustBeKnown) {
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}]})"),
      "Invalid Condition type : StringEqualz.");
  EXPECT_EQ(
      ParseError(
          R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}]})"),
      "Invalid Condition type : NullIfExists.");
  // Every documented operator, with IfExists and set qualifiers, parses.
  MustParse(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
    "StringEquals":{"a:k":"v"},"StringNotEquals":{"a:k":"v"},"StringEqualsIgnoreCase":{"a:k":"v"},
    "StringNotEqualsIgnoreCase":{"a:k":"v"},"StringLike":{"a:k":"v*"},"StringNotLike":{"a:k":"v"},
    "ArnEquals":{"a:k":"arn:aws:s3:::b"},"ArnLike":{"a:k":"arn:*"},"ArnNotEquals":{"a:k":"x"},
    "ArnNotLike":{"a:k":"x"},"Bool":{"a:k":true},"BinaryEquals":{"a:k":"QmluYXJ5"},
    "NumericEquals":{"a:k":1},"NumericNotEquals":{"a:k":1},"NumericLessThan":{"a:k":1},
    "NumericLessThanEquals":{"a:k":1},"NumericGreaterThan":{"a:k":1},"NumericGreaterThanEquals":{"a:k":1},
    "DateEquals":{"a:k":"2026-01-01"},"DateNotEquals":{"a:k":"2026-01-01"},"DateLessThan":{"a:k":"2026-01-01"},
    "DateLessThanEquals":{"a:k":"2026-01-01"},"DateGreaterThan":{"a:k":"2026-01-01"},
    "DateGreaterThanEquals":{"a:k":"2026-01-01"},"IpAddress":{"a:k":"10.0.0.0/8"},
    "NotIpAddress":{"a:k":"10.0.0.0/8"},"Null":{"a:k":"true"},"StringEqualsIfExists":{"a:k":"v"},
    "ForAnyValue:StringLike":{"a:k":"v"},"ForAllValues:StringEqualsIfExists":{"a:k":"v"}}}]})");
}

TEST(PolicyParseTest, InvalidPrincipals) {
  auto doc = [](const char* principal) {
    return std::string(R"({"Statement":[{"Effect":"Allow","Principal":)") + principal +
           R"(,"Action":"sts:AssumeRole"}]})";
  };
  // AWS refuses wildcards inside a principal ARN.
  EXPECT_EQ(ParseError(doc(R"({"AWS":"arn:aws:iam::123456789012:user/*"})"), PolicyKind::Resource),
            R"(Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*")");
  EXPECT_EQ(ParseError(doc(R"({"AWS":"alice"})"), PolicyKind::Resource),
            R"(Invalid principal in policy: "AWS":"alice")");
  EXPECT_EQ(ParseError(doc(R"({"Robot":"x"})"), PolicyKind::Resource),
            R"(Invalid principal in policy: "Robot":"x")");
  EXPECT_EQ(ParseError(doc(R"("someone")"), PolicyKind::Resource),
            R"(Invalid principal in policy: "someone")");
  MustParse(
      doc(R"({"AWS":["123456789012","arn:aws:iam::123456789012:role/ci","*"],"Service":["ecs-tasks.amazonaws.com"],"Federated":"cognito-identity.amazonaws.com"})"),
      PolicyKind::Resource);
}

// ---- wildcard, action and resource matching ------------------------------------------------

TEST(WildcardMatchTest, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("*", "anything:at/all"));
  EXPECT_TRUE(WildcardMatch("ssm:Get*", "ssm:GetParameters"));
  EXPECT_TRUE(WildcardMatch("s3:*Object", "s3:GetObject"));
  EXPECT_FALSE(WildcardMatch("s3:*Object", "s3:GetObjectAcl"));
  EXPECT_TRUE(WildcardMatch("a?c", "abc"));
  EXPECT_FALSE(WildcardMatch("a?c", "ac"));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXbYbZc"));  // needs the backtracking point
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXbYbZ"));
  EXPECT_FALSE(WildcardMatch("abc", "ABC"));
  EXPECT_TRUE(WildcardMatch("abc", "ABC", true));
}

TEST(WildcardMatchTest, PathologicalPatternStaysFast) {
  std::string text(20000, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*a*a*a*b", text));
  EXPECT_TRUE(WildcardMatch("*a*a*a*a*a*a*a*a*", text));
  // Same through a compiled Resource pattern (pieces + variables).
  Policy p = MustParse(
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::*a*a*a*a*a*a*${aws:username}*b"}})");
  EXPECT_EQ(Eval(p, "s3:GetObject", "arn:aws:s3:::" + text, Ctx({{"aws:username", {"a"}}})),
            Outcome::ImplicitDeny);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(PolicyMatchTest, KptboardParameters) {
  Policy p = MustParse(kKptboard);
  EXPECT_EQ(Eval(p, "ssm:GetParameters",
                 "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-production-db"),
            Outcome::Allow);
  EXPECT_EQ(Eval(p, "ssm:GetParameters", "arn:aws:ssm:us-east-1:123456789012:parameter/other"),
            Outcome::ImplicitDeny);
  EXPECT_EQ(Eval(p, "ssm:PutParameter",
                 "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-production-db"),
            Outcome::ImplicitDeny);
  EXPECT_EQ(Eval(p, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/1234"), Outcome::Allow);
  // Another region is another resource.
  EXPECT_EQ(Eval(p, "ssm:GetParameters",
                 "arn:aws:ssm:eu-west-1:123456789012:parameter/kptboard-production-db"),
            Outcome::ImplicitDeny);
}

TEST(PolicyMatchTest, ActionsAreCaseInsensitive) {
  Policy p = MustParse(
      R"({"Statement":{"Effect":"Allow","Action":["SSM:get*","s3:*Object"],"Resource":"*"}})");
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*"), Outcome::Allow);
  EXPECT_EQ(Eval(p, "ssm:GETPARAMETERSBYPATH", "*"), Outcome::Allow);
  EXPECT_EQ(Eval(p, "s3:PutObject", "*"), Outcome::Allow);
  EXPECT_EQ(Eval(p, "s3:PutObjectAcl", "*"), Outcome::ImplicitDeny);
  EXPECT_EQ(Eval(p, "ssm:PutParameter", "*"), Outcome::ImplicitDeny);
}

TEST(PolicyMatchTest, ResourcesAreCaseSensitiveAndWildcardsSpanSegments) {
  Policy p = MustParse(
      R"({"Statement":{"Effect":"Allow","Action":"ssm:*","Resource":"arn:aws:ssm:*:*:parameter/app/production/*"}})");
  EXPECT_EQ(Eval(p, "ssm:GetParameter",
                 "arn:aws:ssm:us-east-1:123456789012:parameter/app/production/db/password"),
            Outcome::Allow);
  EXPECT_EQ(
      Eval(p, "ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/app/Production/db"),
      Outcome::ImplicitDeny);
  EXPECT_EQ(
      Eval(p, "ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/app/staging/db"),
      Outcome::ImplicitDeny);
  Policy q = MustParse(
      R"({"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:us-east-1:12345678901?:log-group:/ecs/*"}})");
  EXPECT_EQ(Eval(q, "logs:PutLogEvents",
                 "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:x"),
            Outcome::Allow);
}

TEST(PolicyMatchTest, NotActionAllowsEverythingElse) {
  Policy p = MustParse(R"({"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}})");
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*"), Outcome::Allow);
  EXPECT_EQ(Eval(p, "iam:CreateUser", "*"), Outcome::ImplicitDeny);
}

TEST(PolicyMatchTest, DenyWithNotResource) {
  Policy p = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ssm:*","Resource":"*"},
    {"Sid":"DenyOutsideProduction","Effect":"Deny","Action":"ssm:*",
     "NotResource":["arn:aws:ssm:*:*:parameter/app/production/*"]}]})");
  Request r;
  r.action = "ssm:GetParameter";
  r.resource = "arn:aws:ssm:us-east-1:123456789012:parameter/app/production/db";
  EXPECT_EQ(p.Evaluate(r).outcome, Outcome::Allow);
  r.resource = "arn:aws:ssm:us-east-1:123456789012:parameter/app/staging/db";
  PolicyEvaluation e = p.Evaluate(r);
  EXPECT_EQ(e.outcome, Outcome::ExplicitDeny);
  EXPECT_EQ(e.sid, "DenyOutsideProduction");
  // Actions outside the Deny's scope keep the Allow.
  r.action = "kms:Decrypt";
  EXPECT_EQ(p.Evaluate(r).outcome, Outcome::ImplicitDeny);
}

// ---- conditions -------------------------------------------------------------------------------

TEST(ConditionTest, StringEqualsAndNegationWithMissingKey) {
  Policy eq = AllowIf(R"({"StringEquals":{"aws:username":["alice","bob"]}})");
  EXPECT_TRUE(Holds(eq, Ctx({{"aws:username", {"bob"}}})));
  EXPECT_FALSE(Holds(eq, Ctx({{"aws:username", {"Bob"}}})));
  EXPECT_FALSE(Holds(eq, {}));  // missing key: a positive operator does not match
  // Negated operators: NOR over the values, and true when the key is missing (as AWS).
  Policy ne = AllowIf(R"({"StringNotEquals":{"aws:username":["alice","bob"]}})");
  EXPECT_FALSE(Holds(ne, Ctx({{"aws:username", {"alice"}}})));
  EXPECT_TRUE(Holds(ne, Ctx({{"aws:username", {"carol"}}})));
  EXPECT_TRUE(Holds(ne, {}));
}

TEST(ConditionTest, StringIgnoreCaseVariants) {
  Policy eq = AllowIf(R"({"StringEqualsIgnoreCase":{"aws:username":"JohnDoe"}})");
  EXPECT_TRUE(Holds(eq, Ctx({{"aws:username", {"johndoe"}}})));
  Policy ne = AllowIf(R"({"StringNotEqualsIgnoreCase":{"aws:username":"JohnDoe"}})");
  EXPECT_FALSE(Holds(ne, Ctx({{"aws:username", {"JOHNDOE"}}})));
  EXPECT_TRUE(Holds(ne, Ctx({{"aws:username", {"jane"}}})));
}

TEST(ConditionTest, StringLikeWithUsernameVariable) {
  // AWS's example: list only the user's home prefix.
  Policy p = MustParse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket",
    "Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}}]})");
  auto list = [&](const Context& c) {
    return Eval(p, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", c);
  };
  EXPECT_EQ(list(Ctx({{"aws:username", {"alice"}}, {"s3:prefix", {"home/alice/docs"}}})),
            Outcome::Allow);
  EXPECT_EQ(list(Ctx({{"aws:username", {"alice"}}, {"s3:prefix", {"home/bob/docs"}}})),
            Outcome::ImplicitDeny);
  EXPECT_EQ(list(Ctx({{"aws:username", {"alice"}}, {"s3:prefix", {""}}})), Outcome::Allow);
  // Without aws:username (a role session) the variable does not resolve: that value fails.
  EXPECT_EQ(list(Ctx({{"s3:prefix", {"home/alice/docs"}}})), Outcome::ImplicitDeny);
  // StringNotLike: the missing key makes a negated operator hold.
  Policy not_like = AllowIf(R"({"StringNotLike":{"s3:prefix":"private/*"}})");
  EXPECT_TRUE(Holds(not_like, Ctx({{"s3:prefix", {"public/a"}}})));
  EXPECT_FALSE(Holds(not_like, Ctx({{"s3:prefix", {"private/a"}}})));
  EXPECT_TRUE(Holds(not_like, {}));
}

TEST(PolicyVariableTest, ResourceVariablesOnlyIn2012Version) {
  std::string body =
      R"("Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}})";
  Policy v2012 = MustParse(R"({"Version":"2012-10-17",)" + body);
  Context alice = Ctx({{"aws:username", {"alice"}}});
  EXPECT_EQ(Eval(v2012, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/a.txt", alice),
            Outcome::Allow);
  EXPECT_EQ(Eval(v2012, "s3:GetObject", "arn:aws:s3:::bucket/home/bob/a.txt", alice),
            Outcome::ImplicitDeny);
  EXPECT_EQ(Eval(v2012, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/a.txt", {}),
            Outcome::ImplicitDeny);
  // The variable's value is literal: a '*' in it is no wildcard.
  EXPECT_EQ(Eval(v2012, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/a.txt",
                 Ctx({{"aws:username", {"*"}}})),
            Outcome::ImplicitDeny);
  // Without Version 2012-10-17 "${aws:username}" is plain text.
  Policy v2008 = MustParse(R"({"Version":"2008-10-17",)" + body);
  EXPECT_EQ(Eval(v2008, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/a.txt", alice),
            Outcome::ImplicitDeny);
  EXPECT_EQ(Eval(v2008, "s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/a", alice),
            Outcome::Allow);
}

TEST(PolicyVariableTest, EscapesDefaultsAndMultivaluedKeys) {
  Policy literal_star = AllowIf(R"({"StringLike":{"a:k":"${*}*"}})");
  EXPECT_TRUE(Holds(literal_star, Ctx({{"a:k", {"*foo"}}})));
  EXPECT_FALSE(Holds(literal_star, Ctx({{"a:k", {"foo"}}})));
  Policy specials = AllowIf(R"({"StringEquals":{"a:k":"${$}{x}${?}"}})");
  EXPECT_TRUE(Holds(specials, Ctx({{"a:k", {"${x}?"}}})));
  EXPECT_FALSE(Holds(specials, Ctx({{"a:k", {"${x}y"}}})));
  Policy with_default =
      AllowIf(R"({"StringEquals":{"a:team":"${aws:PrincipalTag/team, 'company-wide'}"}})");
  EXPECT_TRUE(Holds(with_default, Ctx({{"a:team", {"company-wide"}}})));
  EXPECT_TRUE(
      Holds(with_default, Ctx({{"a:team", {"blue"}}, {"aws:PrincipalTag/Team", {"blue"}}})));
  // A multivalued key cannot be a variable.
  Policy multi = AllowIf(R"({"StringEquals":{"a:k":"${aws:TagKeys}"}})");
  EXPECT_FALSE(Holds(multi, Ctx({{"a:k", {"x"}}, {"aws:tagkeys", {"x", "y"}}})));
}

TEST(ConditionTest, BoolSecureTransportDeny) {
  Policy p = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"},
    {"Sid":"DenyInsecureTransport","Effect":"Deny","Action":"*","Resource":"*",
     "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})");
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*", Ctx({{"aws:SecureTransport", {"false"}}})),
            Outcome::ExplicitDeny);
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*", Ctx({{"aws:SecureTransport", {"true"}}})),
            Outcome::Allow);
  // Bool on a missing key is false, so the Deny does not apply (AWS recommends BoolIfExists).
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*"), Outcome::Allow);
  Policy json_bool = AllowIf(R"({"Bool":{"aws:MultiFactorAuthPresent":true}})");
  EXPECT_TRUE(Holds(json_bool, Ctx({{"aws:MultiFactorAuthPresent", {"TRUE"}}})));
  EXPECT_FALSE(Holds(json_bool, Ctx({{"aws:MultiFactorAuthPresent", {"false"}}})));
}

TEST(ConditionTest, IfExistsHoldsWhenKeyIsMissing) {
  Policy p = AllowIf(R"({"StringEqualsIfExists":{"ec2:InstanceType":["t3.micro","t3.small"]}})");
  EXPECT_TRUE(Holds(p, {}));
  EXPECT_TRUE(Holds(p, Ctx({{"ec2:InstanceType", {"t3.small"}}})));
  EXPECT_FALSE(Holds(p, Ctx({{"ec2:InstanceType", {"m5.large"}}})));
  Policy deny_no_mfa = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"*","Resource":"*"},
    {"Effect":"Deny","Action":"*","Resource":"*",
     "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]})");
  EXPECT_EQ(Eval(deny_no_mfa, "ssm:GetParameter", "*"), Outcome::ExplicitDeny);
  EXPECT_EQ(
      Eval(deny_no_mfa, "ssm:GetParameter", "*", Ctx({{"aws:MultiFactorAuthPresent", {"true"}}})),
      Outcome::Allow);
}

TEST(ConditionTest, NumericOperators) {
  Policy le = AllowIf(R"({"NumericLessThanEquals":{"s3:max-keys":"10"}})");
  EXPECT_TRUE(Holds(le, Ctx({{"s3:max-keys", {"10"}}})));
  EXPECT_TRUE(Holds(le, Ctx({{"s3:max-keys", {"2.5"}}})));
  EXPECT_FALSE(Holds(le, Ctx({{"s3:max-keys", {"11"}}})));
  EXPECT_FALSE(Holds(le, Ctx({{"s3:max-keys", {"ten"}}})));
  EXPECT_FALSE(Holds(le, {}));
  Policy gt = AllowIf(R"({"NumericGreaterThan":{"a:n":1.5}})");  // a JSON number
  EXPECT_TRUE(Holds(gt, Ctx({{"a:n", {"2"}}})));
  EXPECT_FALSE(Holds(gt, Ctx({{"a:n", {"1.5"}}})));
  Policy ne = AllowIf(R"({"NumericNotEquals":{"a:n":[1,2]}})");
  EXPECT_TRUE(Holds(ne, Ctx({{"a:n", {"3"}}})));
  EXPECT_FALSE(Holds(ne, Ctx({{"a:n", {"2"}}})));
  EXPECT_TRUE(Holds(ne, {}));
  Policy eq = AllowIf(
      R"({"NumericEquals":{"a:n":"7"},"NumericGreaterThanEquals":{"a:m":"7"},"NumericLessThan":{"a:o":"0"}})");
  EXPECT_TRUE(Holds(eq, Ctx({{"a:n", {"7.0"}}, {"a:m", {"7"}}, {"a:o", {"-1"}}})));
  EXPECT_FALSE(Holds(eq, Ctx({{"a:n", {"7.0"}}, {"a:m", {"6"}}, {"a:o", {"-1"}}})));
}

TEST(ConditionTest, DateOperatorsWithIsoAndEpoch) {
  // 1767225600 is 2026-01-01T00:00:00Z.
  Policy after = AllowIf(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}})");
  EXPECT_TRUE(Holds(after, Ctx({{"aws:CurrentTime", {"2026-06-01T12:00:00Z"}}})));
  EXPECT_FALSE(Holds(after, Ctx({{"aws:CurrentTime", {"2025-12-31T23:59:59Z"}}})));
  EXPECT_FALSE(Holds(after, Ctx({{"aws:CurrentTime", {"2026-01-01T00:00:00Z"}}})));
  EXPECT_FALSE(Holds(after, {}));
  Policy before = AllowIf(R"({"DateLessThan":{"aws:EpochTime":"1767225600"}})");
  EXPECT_TRUE(Holds(before, Ctx({{"aws:EpochTime", {"1767225599"}}})));
  EXPECT_FALSE(Holds(before, Ctx({{"aws:EpochTime", {"1767225600"}}})));
  // Policy and request may use different forms; W3C date-only and minute forms parse.
  Policy eq = AllowIf(R"({"DateEquals":{"a:d":["2026-01-01","2026-02-01T10:30Z"]}})");
  EXPECT_TRUE(Holds(eq, Ctx({{"a:d", {"1767225600"}}})));
  EXPECT_TRUE(Holds(eq, Ctx({{"a:d", {"2026-02-01T12:30:00+02:00"}}})));
  EXPECT_FALSE(Holds(eq, Ctx({{"a:d", {"2026-01-02"}}})));
  Policy window = AllowIf(R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},
                             "DateLessThanEquals":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}})");
  EXPECT_TRUE(Holds(window, Ctx({{"aws:CurrentTime", {"2026-01-01T00:00:00Z"}}})));
  EXPECT_FALSE(Holds(window, Ctx({{"aws:CurrentTime", {"2027-01-01T00:00:00Z"}}})));
  Policy ne = AllowIf(R"({"DateNotEquals":{"a:d":"2026-01-01"}})");
  EXPECT_TRUE(Holds(ne, Ctx({{"a:d", {"2026-01-02"}}})));
}

TEST(ConditionTest, IpAddressAndNotIpAddress) {
  Policy in = AllowIf(
      R"({"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64","10.1.2.3"]}})");
  EXPECT_TRUE(Holds(in, Ctx({{"aws:SourceIp", {"203.0.113.45"}}})));
  EXPECT_FALSE(Holds(in, Ctx({{"aws:SourceIp", {"198.51.100.1"}}})));
  EXPECT_TRUE(Holds(in, Ctx({{"aws:SourceIp", {"2001:db8:1234:5678::1"}}})));
  EXPECT_FALSE(Holds(in, Ctx({{"aws:SourceIp", {"2001:db8:1234:5679::1"}}})));
  EXPECT_TRUE(Holds(in, Ctx({{"aws:SourceIp", {"10.1.2.3"}}})));
  EXPECT_FALSE(Holds(in, Ctx({{"aws:SourceIp", {"10.1.2.4"}}})));
  EXPECT_FALSE(Holds(in, Ctx({{"aws:SourceIp", {"not-an-ip"}}})));
  // AWS's example: deny requests from outside the office ranges.
  Policy p = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"*","Resource":"*"},
    {"Sid":"OfficeOnly","Effect":"Deny","Action":"*","Resource":"*",
     "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/25"]}}}]})");
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*", Ctx({{"aws:SourceIp", {"203.0.113.127"}}})),
            Outcome::Allow);
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*", Ctx({{"aws:SourceIp", {"203.0.113.128"}}})),
            Outcome::ExplicitDeny);
  EXPECT_EQ(Eval(p, "ssm:GetParameter", "*"), Outcome::ExplicitDeny);
}

TEST(ConditionTest, ArnOperatorsMatchEachComponent) {
  Policy like = AllowIf(R"({"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:123456789012:task/*"}})");
  EXPECT_TRUE(Holds(
      like, Ctx({{"aws:SourceArn", {"arn:aws:ecs:us-east-1:123456789012:task/default/abc"}}})));
  EXPECT_FALSE(Holds(
      like, Ctx({{"aws:SourceArn", {"arn:aws:ecs:us-east-1:210987654321:task/default/abc"}}})));
  // '*' in the region component does not swallow the account component's colon.
  EXPECT_FALSE(
      Holds(like, Ctx({{"aws:SourceArn", {"arn:aws:ecs:us-east-1:x:123456789012:task/default"}}})));
  EXPECT_FALSE(Holds(like, Ctx({{"aws:SourceArn", {"not-an-arn"}}})));
  Policy eq = AllowIf(
      R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/${aws:username}"}})");
  EXPECT_TRUE(Holds(eq, Ctx({{"aws:username", {"alice"}},
                             {"aws:PrincipalArn", {"arn:aws:iam::123456789012:user/alice"}}})));
  EXPECT_FALSE(Holds(eq, Ctx({{"aws:username", {"alice"}},
                              {"aws:PrincipalArn", {"arn:aws:iam::123456789012:user/bob"}}})));
  Policy not_like = AllowIf(R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:alerts"}})");
  EXPECT_TRUE(Holds(not_like, {}));
  EXPECT_FALSE(Holds(not_like, Ctx({{"aws:SourceArn", {"arn:aws:sns:us-east-1:1:alerts"}}})));
  Policy arn_ne = AllowIf(R"({"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:1:alerts"}})");
  EXPECT_TRUE(Holds(arn_ne, Ctx({{"aws:SourceArn", {"arn:aws:sns:us-east-1:1:other"}}})));
}

TEST(ConditionTest, NullTestsPresence) {
  Policy absent = AllowIf(R"({"Null":{"aws:TokenIssueTime":"true"}})");
  EXPECT_TRUE(Holds(absent, {}));
  EXPECT_FALSE(Holds(absent, Ctx({{"aws:TokenIssueTime", {"2026-01-01T00:00:00Z"}}})));
  Policy present = AllowIf(R"({"Null":{"aws:TokenIssueTime":false}})");
  EXPECT_FALSE(Holds(present, {}));
  EXPECT_TRUE(Holds(present, Ctx({{"aws:TokenIssueTime", {"2026-01-01T00:00:00Z"}}})));
  // A key present with no values counts as absent.
  EXPECT_TRUE(Holds(absent, Ctx({{"aws:TokenIssueTime", {}}})));
}

TEST(ConditionTest, ForAllValuesIncludingEmptySet) {
  Policy p =
      AllowIf(R"({"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}})");
  EXPECT_TRUE(Holds(p, Ctx({{"aws:TagKeys", {"environment"}}})));
  EXPECT_TRUE(Holds(p, Ctx({{"aws:TagKeys", {"environment", "cost-center"}}})));
  EXPECT_FALSE(Holds(p, Ctx({{"aws:TagKeys", {"environment", "owner"}}})));
  // AWS: ForAllValues also returns true when the key is missing or its set is empty.
  EXPECT_TRUE(Holds(p, Ctx({{"aws:TagKeys", {}}})));
  EXPECT_TRUE(Holds(p, {}));
}

TEST(ConditionTest, ForAnyValueAndNegatedSetOperators) {
  Policy any = AllowIf(R"({"ForAnyValue:StringLike":{"aws:TagKeys":["env*"]}})");
  EXPECT_TRUE(Holds(any, Ctx({{"aws:TagKeys", {"owner", "environment"}}})));
  EXPECT_FALSE(Holds(any, Ctx({{"aws:TagKeys", {"owner"}}})));
  EXPECT_FALSE(Holds(any, Ctx({{"aws:TagKeys", {}}})));
  EXPECT_FALSE(Holds(any, {}));
  // Negation applies per request value.
  Policy all_not = AllowIf(R"({"ForAllValues:StringNotLike":{"aws:TagKeys":["aws:*"]}})");
  EXPECT_TRUE(Holds(all_not, Ctx({{"aws:TagKeys", {"a", "b"}}})));
  EXPECT_FALSE(Holds(all_not, Ctx({{"aws:TagKeys", {"a", "aws:cloudformation:stack"}}})));
  Policy any_not = AllowIf(R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}})");
  EXPECT_TRUE(Holds(any_not, Ctx({{"aws:TagKeys", {"a", "c"}}})));
  EXPECT_FALSE(Holds(any_not, Ctx({{"aws:TagKeys", {"a", "b"}}})));
  Policy any_if_exists = AllowIf(R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}})");
  EXPECT_TRUE(Holds(any_if_exists, {}));
}

TEST(ConditionTest, KeysAndOperatorsAreAndedValuesOred) {
  Policy p =
      AllowIf(R"({"StringEquals":{"aws:username":["alice","bob"],"aws:PrincipalTag/team":"blue"},
                        "Bool":{"aws:SecureTransport":"true"}})");
  Context ok = Ctx({{"aws:username", {"bob"}},
                    {"aws:PrincipalTag/Team", {"blue"}},
                    {"aws:SecureTransport", {"true"}}});
  EXPECT_TRUE(Holds(p, ok));
  Context wrong_team = ok;
  wrong_team["aws:principaltag/team"] = {"red"};
  EXPECT_FALSE(Holds(p, wrong_team));
  Context insecure = ok;
  insecure["aws:securetransport"] = {"false"};
  EXPECT_FALSE(Holds(p, insecure));
}

TEST(ConditionTest, KeysAreCaseInsensitiveIncludingKmsEncryptionContext) {
  Policy p = AllowIf(
      R"({"StringEquals":{"AWS:UserName":"alice","kms:EncryptionContext:Department":"IT"}})");
  Context c;
  SetContextValue(c, "aws:username", {"alice"});
  SetContextValue(c, "KMS:EncryptionContext:department", {"IT"});
  EXPECT_TRUE(Holds(p, c));
  EXPECT_EQ(c.count("kms:encryptioncontext:department"), 1u);
  SetContextValue(c, "kms:EncryptionContext:Department", {"it"});
  EXPECT_FALSE(Holds(p, c));  // values stay case-sensitive for StringEquals
}

TEST(ConditionTest, BinaryEqualsComparesBase64Text) {
  Policy p = AllowIf(R"({"BinaryEquals":{"a:blob":"QmluYXJ5VmFsdWU="}})");
  EXPECT_TRUE(Holds(p, Ctx({{"a:blob", {"QmluYXJ5VmFsdWU="}}})));
  EXPECT_FALSE(Holds(p, Ctx({{"a:blob", {"qmluyxj5vmfsdwu="}}})));
}

// ---- Decide, messages, trust policies --------------------------------------------------------

TEST(DecideTest, ExplicitDenyAnywhereWinsAndNamesTheStatement) {
  Policy allow = MustParse(kKptboard);
  ParseOptions named;
  named.name = "arn:aws:iam::123456789012:policy/Guardrails";
  Policy guard = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Sid":"NoProductionDb","Effect":"Deny","Action":"ssm:GetParameter*",
     "Resource":"arn:aws:ssm:*:*:parameter/kptboard-production-*"}]})",
                           PolicyKind::Identity, named);
  const Policy* ids[] = {&allow, &guard};
  PolicySet set;
  set.identity = ids;
  Request r;
  r.action = "ssm:GetParameters";
  r.resource = "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-production-db";
  Decision d = Decide(set, r);
  EXPECT_EQ(d.outcome, Outcome::ExplicitDeny);
  EXPECT_EQ(d.policy_type, PolicyType::Identity);
  EXPECT_EQ(d.sid, "NoProductionDb");
  EXPECT_EQ(d.policy_name, "arn:aws:iam::123456789012:policy/Guardrails");
  r.resource = "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-staging-db";
  EXPECT_TRUE(Decide(set, r).allowed());
  r.action = "ssm:DeleteParameter";
  d = Decide(set, r);
  EXPECT_EQ(d.outcome, Outcome::ImplicitDeny);
  EXPECT_EQ(d.sid, "");
  EXPECT_EQ(Decide(PolicySet{}, r).outcome, Outcome::ImplicitDeny);
}

TEST(DecideTest, SessionPolicyLimitsIdentityPermissions) {
  Policy identity =
      MustParse(R"({"Statement":{"Effect":"Allow","Action":["ssm:*","kms:*"],"Resource":"*"}})");
  Policy session =
      MustParse(R"({"Statement":{"Effect":"Allow","Action":"ssm:Get*","Resource":"*"}})");
  const Policy* ids[] = {&identity};
  PolicySet set{ids, nullptr, &session};
  Request r;
  r.action = "ssm:GetParameter";
  r.resource = "*";
  EXPECT_TRUE(Decide(set, r).allowed());
  r.action = "kms:Decrypt";
  Decision d = Decide(set, r);
  EXPECT_EQ(d.outcome, Outcome::ImplicitDeny);
  EXPECT_EQ(d.policy_type, PolicyType::Session);
  // The session policy alone grants nothing.
  PolicySet only_session{{}, nullptr, &session};
  r.action = "ssm:GetParameter";
  d = Decide(only_session, r);
  EXPECT_EQ(d.outcome, Outcome::ImplicitDeny);
  EXPECT_EQ(d.policy_type, PolicyType::Identity);
}

TEST(DecideTest, ResourcePolicyGrantsOrDeniesByPrincipal) {
  Policy key_policy = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Sid":"AppDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},
     "Action":"kms:Decrypt","Resource":"*"},
    {"Sid":"NoDeleteForUsers","Effect":"Deny","Principal":{"AWS":"123456789012"},
     "Action":"kms:ScheduleKeyDeletion","Resource":"*"}]})",
                                PolicyKind::Resource);
  Caller session;
  session.arn = "arn:aws:sts::123456789012:assumed-role/app/task-1";
  session.role_arn = "arn:aws:iam::123456789012:role/app";
  PolicySet set;
  set.resource = &key_policy;
  Request r;
  r.action = "kms:Decrypt";
  r.resource = "arn:aws:kms:us-east-1:123456789012:key/k1";
  r.caller = &session;
  EXPECT_TRUE(Decide(set, r).allowed());  // no identity policy needed in the same account
  Caller other;
  other.arn = "arn:aws:iam::123456789012:user/bob";
  r.caller = &other;
  EXPECT_EQ(Decide(set, r).outcome, Outcome::ImplicitDeny);
  r.action = "kms:ScheduleKeyDeletion";
  Decision d = Decide(set, r);
  EXPECT_EQ(d.outcome, Outcome::ExplicitDeny);
  EXPECT_EQ(d.policy_type, PolicyType::Resource);
  EXPECT_EQ(d.sid, "NoDeleteForUsers");
}

TEST(DenialMessageTest, AwsWording) {
  Decision implicit;
  EXPECT_EQ(DenialMessage("arn:aws:iam::123456789012:user/bob", "ssm:GetParameters",
                          "arn:aws:ssm:us-east-1:123456789012:parameter/other", implicit),
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
            "ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/other "
            "because no identity-based policy allows the ssm:GetParameters action");
  Decision explicit_deny;
  explicit_deny.outcome = Outcome::ExplicitDeny;
  EXPECT_EQ(
      DenialMessage("arn:aws:iam::123456789012:user/bob", "ecs:ListClusters", "", explicit_deny),
      "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
      "ecs:ListClusters with an explicit deny in an identity-based policy");
  explicit_deny.policy_name = "arn:aws:iam::123456789012:policy/Guardrails";
  explicit_deny.policy_type = PolicyType::Resource;
  EXPECT_EQ(
      DenialMessage("arn:aws:iam::123456789012:user/bob", "kms:Decrypt", "arn:k", explicit_deny),
      "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
      "kms:Decrypt on resource: arn:k with an explicit deny in a resource-based policy: "
      "arn:aws:iam::123456789012:policy/Guardrails");
  Decision session;
  session.policy_type = PolicyType::Session;
  EXPECT_EQ(DenialMessage("arn:aws:sts::1:assumed-role/r/s", "kms:Decrypt", "arn:k", session),
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: kms:Decrypt on "
            "resource: arn:k because no session policy allows the kms:Decrypt action");
}

TEST(TrustPolicyTest, EcsTasksServiceWithConfusedDeputyConditions) {
  Policy trust = MustParse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole",
    "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:123456789012:*"},
                 "StringEquals":{"aws:SourceAccount":"123456789012"}}}]})",
                           PolicyKind::Resource);
  Caller ecs;
  ecs.service = "ecs-tasks.amazonaws.com";
  Context ctx = Ctx({{"aws:SourceArn", {"arn:aws:ecs:us-east-1:123456789012:task/default/abc"}},
                     {"aws:SourceAccount", {"123456789012"}}});
  EXPECT_TRUE(AllowsAssumeRole(trust, ecs, ctx));
  EXPECT_FALSE(AllowsAssumeRole(trust, ecs));  // conditions need the context
  EXPECT_FALSE(AllowsAssumeRole(trust, ecs, ctx, "sts:TagSession"));
  Caller lambda;
  lambda.service = "lambda.amazonaws.com";
  EXPECT_FALSE(AllowsAssumeRole(trust, lambda, ctx));
}

TEST(TrustPolicyTest, AwsPrincipalsAccountsRolesAndDeny) {
  Policy trust = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::444455556666:role/ci"]},
     "Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"Unique1234"}}},
    {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/mallory"},"Action":"sts:*"}]})",
                           PolicyKind::Resource);
  Context ext = Ctx({{"sts:ExternalId", {"Unique1234"}}});
  Caller alice;
  alice.arn = "arn:aws:iam::111122223333:user/alice";  // any principal of the trusted account
  EXPECT_TRUE(AllowsAssumeRole(trust, alice, ext));
  EXPECT_FALSE(AllowsAssumeRole(trust, alice, Ctx({{"sts:ExternalId", {"wrong"}}})));
  Caller mallory;
  mallory.arn = "arn:aws:iam::111122223333:user/mallory";
  EXPECT_FALSE(AllowsAssumeRole(trust, mallory, ext));
  Caller ci_session;  // role chaining: the trusted role's sessions match its ARN
  ci_session.arn = "arn:aws:sts::444455556666:assumed-role/ci/build-42";
  ci_session.role_arn = "arn:aws:iam::444455556666:role/ci";
  EXPECT_TRUE(AllowsAssumeRole(trust, ci_session, ext));
  Caller stranger;
  stranger.arn = "arn:aws:iam::999999999999:user/eve";
  EXPECT_FALSE(AllowsAssumeRole(trust, stranger, ext));
}

TEST(TrustPolicyTest, EveryoneFederatedAndNotPrincipal) {
  Policy anyone =
      MustParse(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}})",
                PolicyKind::Resource);
  EXPECT_TRUE(AllowsAssumeRole(anyone, Caller{}));
  Policy web = MustParse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
    "Principal":{"Federated":"cognito-identity.amazonaws.com"},
    "Action":"sts:AssumeRoleWithWebIdentity"}})",
                         PolicyKind::Resource);
  Caller fed;
  fed.federated = "cognito-identity.amazonaws.com";
  EXPECT_TRUE(AllowsAssumeRole(web, fed, {}, "sts:AssumeRoleWithWebIdentity"));
  EXPECT_FALSE(AllowsAssumeRole(web, fed));  // sts:AssumeRole is not granted
  Policy all_but = MustParse(R"({"Statement":{"Effect":"Allow",
    "NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"}})",
                             PolicyKind::Resource);
  Caller bob;
  bob.arn = "arn:aws:iam::123456789012:user/bob";
  Caller carol;
  carol.arn = "arn:aws:iam::123456789012:user/carol";
  EXPECT_FALSE(AllowsAssumeRole(all_but, bob));
  EXPECT_TRUE(AllowsAssumeRole(all_but, carol));
}

TEST(PolicyPerformanceTest, EvaluationAllocatesNothing) {
  Policy kpt = MustParse(kKptboard);
  Policy rich = MustParse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":["s3:Get*","s3:List*"],
     "Resource":"arn:aws:s3:::bucket/home/${aws:username}/*",
     "Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"},
                  "Bool":{"aws:SecureTransport":"true"},
                  "IpAddress":{"aws:SourceIp":"10.0.0.0/8"},
                  "NumericLessThan":{"s3:max-keys":"100"},
                  "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
                  "ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"},
                  "ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}},
    {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})");
  Context ctx = Ctx({{"aws:username", {"alice"}},
                     {"s3:prefix", {"home/alice/x"}},
                     {"aws:SecureTransport", {"true"}},
                     {"aws:SourceIp", {"10.2.3.4"}},
                     {"s3:max-keys", {"50"}},
                     {"aws:CurrentTime", {"2026-05-01T00:00:00Z"}},
                     {"aws:PrincipalArn", {"arn:aws:iam::123456789012:user/alice"}},
                     {"aws:TagKeys", {"a"}}});
  const Policy* ids[] = {&kpt, &rich};
  PolicySet set;
  set.identity = ids;
  Request r;
  r.action = "s3:GetObject";
  r.resource = "arn:aws:s3:::bucket/home/alice/file.txt";
  r.context = &ctx;
  g_allocations = 0;
  g_count_allocations = true;
  Decision d = Decide(set, r);
  r.action = "ssm:GetParameters";
  r.resource = "arn:aws:ssm:us-east-1:123456789012:parameter/kptboard-production-db";
  Decision d2 = Decide(set, r);
  g_count_allocations = false;
  EXPECT_TRUE(d.allowed());
  EXPECT_TRUE(d2.allowed());
  EXPECT_EQ(g_allocations, 0u);
  // Control: a denial copies its Sid and policy name, which the counter sees.
  ParseOptions named;
  named.name = "arn:aws:iam::123456789012:policy/a-rather-long-policy-name";
  Policy deny = MustParse(
      R"({"Statement":{"Sid":"ALongStatementIdentifier","Effect":"Deny","Action":"*","Resource":"*"}})",
      PolicyKind::Identity, named);
  const Policy* deny_ids[] = {&deny};
  g_allocations = 0;
  g_count_allocations = true;
  Decision denied = Decide(PolicySet{deny_ids, nullptr, nullptr}, r);
  g_count_allocations = false;
  EXPECT_EQ(denied.sid, "ALongStatementIdentifier");
  EXPECT_GT(g_allocations, 0u);
}

}  // namespace
}  // namespace berth::iam
