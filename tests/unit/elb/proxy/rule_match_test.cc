#include "elb/proxy/rule_match.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace berth::elb::proxy {
namespace {

TEST(RuleMatchTest, Wildcards) {
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("*", "anything", false));
  EXPECT_TRUE(WildcardMatch("/img/*", "/img/a/b.png", false));
  EXPECT_FALSE(WildcardMatch("/img/*", "/image", false));
  EXPECT_TRUE(WildcardMatch("/a?c", "/abc", false));
  EXPECT_FALSE(WildcardMatch("/a?c", "/ac", false));
  EXPECT_TRUE(WildcardMatch("*.example.com", "www.example.com", false));
  EXPECT_FALSE(WildcardMatch("*.example.com", "example.com", false));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYbZc", false));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY", false));
  EXPECT_TRUE(WildcardMatch("**x", "abx", false));
  EXPECT_FALSE(WildcardMatch("/API", "/api", false));
  EXPECT_TRUE(WildcardMatch("/API", "/api", true));
  // Pathological backtracking stays fast.
  std::string text(2000, 'a');
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*a*b", text, false));
}

TEST(RuleMatchTest, StripPort) {
  EXPECT_EQ(StripPort("a.example.com:8080"), "a.example.com");
  EXPECT_EQ(StripPort("a.example.com"), "a.example.com");
  EXPECT_EQ(StripPort("[::1]:80"), "[::1]");
  EXPECT_EQ(StripPort("[::1]"), "[::1]");
}

TEST(RuleMatchTest, Cidr) {
  IpAddress ip;
  ASSERT_TRUE(ParseIp("10.1.2.3", &ip));
  EXPECT_TRUE(CidrContains("10.0.0.0/8", ip));
  EXPECT_TRUE(CidrContains("10.1.2.3/32", ip));
  EXPECT_TRUE(CidrContains("10.1.2.3", ip));
  EXPECT_TRUE(CidrContains("0.0.0.0/0", ip));
  EXPECT_FALSE(CidrContains("10.1.2.4/32", ip));
  EXPECT_FALSE(CidrContains("192.168.0.0/16", ip));
  EXPECT_TRUE(CidrContains("10.1.2.0/23", ip));
  EXPECT_FALSE(CidrContains("10.0.0.0/33", ip));
  EXPECT_FALSE(CidrContains("garbage", ip));
  EXPECT_FALSE(CidrContains("2001:db8::/32", ip));
  IpAddress v6;
  ASSERT_TRUE(ParseIp("2001:db8::1", &v6));
  EXPECT_TRUE(CidrContains("2001:db8::/32", v6));
  EXPECT_FALSE(CidrContains("2001:db9::/32", v6));
  IpAddress mapped;
  ASSERT_TRUE(ParseIp("::ffff:10.1.2.3", &mapped));
  EXPECT_TRUE(CidrContains("10.0.0.0/8", mapped));
}

TEST(RuleMatchTest, PercentDecode) {
  char out[64];
  EXPECT_EQ(std::string(out, PercentDecode("a%20b%2Fc%zz%4", out, sizeof(out))), "a b/c%zz%4");
}

struct Req {
  std::unique_ptr<RequestHead> head = std::make_unique<RequestHead>();
  std::string text;
  RequestView view;
};

std::unique_ptr<Req> MakeReq(std::string text, const char* source = "192.0.2.10") {
  auto r = std::make_unique<Req>();
  r->text = std::move(text);
  EXPECT_EQ(ParseRequestHead(r->text, r->head.get()), ParseError::None) << r->text;
  r->view.host = r->head->host;
  r->view.path = r->head->path;
  r->view.query = r->head->query;
  r->view.method = r->head->method;
  r->view.headers = std::span<const HeaderField>(r->head->headers.data(), r->head->header_count);
  ParseIp(source, &r->view.source);
  return r;
}

Condition C(ConditionField f, std::vector<std::string> v, std::string header = "") {
  Condition c;
  c.field = f;
  c.values = std::move(v);
  c.header_name = std::move(header);
  return c;
}

TEST(RuleMatchTest, HostHeaderCaseInsensitivePortStripped) {
  auto r = MakeReq("GET / HTTP/1.1\r\nHost: API.Example.COM:8443\r\n\r\n");
  EXPECT_TRUE(MatchCondition(C(ConditionField::HostHeader, {"api.example.com"}), r->view));
  EXPECT_TRUE(MatchCondition(C(ConditionField::HostHeader, {"*.example.com"}), r->view));
  EXPECT_TRUE(MatchCondition(C(ConditionField::HostHeader, {"x.org", "ap?.example.com"}),
                             r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::HostHeader, {"example.com"}), r->view));
}

TEST(RuleMatchTest, PathPatternCaseSensitiveWithoutQuery) {
  auto r = MakeReq("GET /Images/cat.png?size=big HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(MatchCondition(C(ConditionField::PathPattern, {"/Images/*"}), r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::PathPattern, {"/images/*"}), r->view));
  EXPECT_TRUE(MatchCondition(C(ConditionField::PathPattern, {"*.png"}), r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::PathPattern, {"*big"}), r->view));
}

TEST(RuleMatchTest, HttpHeader) {
  auto r = MakeReq("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (iPhone)\r\n"
                   "X-Env: a\r\nX-Env: Beta\r\n\r\n");
  EXPECT_TRUE(MatchCondition(C(ConditionField::HttpHeader, {"*iphone*"}, "user-agent"), r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::HttpHeader, {"*android*"}, "User-Agent"),
                              r->view));
  // Any occurrence of the header may match.
  EXPECT_TRUE(MatchCondition(C(ConditionField::HttpHeader, {"beta"}, "x-env"), r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::HttpHeader, {"*"}, "x-missing"), r->view));
}

TEST(RuleMatchTest, QueryString) {
  auto r = MakeReq("GET /?Version=V1&flag&name=J%C3%BCrgen%20X HTTP/1.1\r\nHost: a\r\n\r\n");
  auto q = [](std::string k, std::string v) {
    Condition c;
    c.field = ConditionField::QueryString;
    c.pairs.push_back(QueryPair{std::move(k), std::move(v)});
    return c;
  };
  EXPECT_TRUE(MatchCondition(q("version", "v1"), r->view));
  EXPECT_TRUE(MatchCondition(q("", "V?"), r->view));  // any key
  EXPECT_TRUE(MatchCondition(q("name", "J\xC3\xBCrgen x"), r->view));
  EXPECT_TRUE(MatchCondition(q("flag", ""), r->view));
  EXPECT_FALSE(MatchCondition(q("version", "v2"), r->view));
  EXPECT_FALSE(MatchCondition(q("missing", "*"), r->view));
}

TEST(RuleMatchTest, MethodAndSourceIp) {
  auto r = MakeReq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "10.9.8.7");
  EXPECT_TRUE(MatchCondition(C(ConditionField::HttpRequestMethod, {"GET", "POST"}), r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::HttpRequestMethod, {"post"}), r->view));
  EXPECT_TRUE(MatchCondition(C(ConditionField::SourceIp, {"192.168.0.0/16", "10.0.0.0/8"}),
                             r->view));
  EXPECT_FALSE(MatchCondition(C(ConditionField::SourceIp, {"10.9.8.0/30"}), r->view));
}

TEST(RuleMatchTest, AllConditionsMustMatchFirstRuleWins) {
  auto r = MakeReq("GET /api/v1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  ListenerRoute route;
  RuleRoute r1;
  r1.priority = 1;
  r1.conditions = {C(ConditionField::HostHeader, {"api.example.com"}),
                   C(ConditionField::PathPattern, {"/admin/*"})};
  RuleRoute r2;
  r2.priority = 2;
  r2.conditions = {C(ConditionField::HostHeader, {"api.example.com"}),
                   C(ConditionField::PathPattern, {"/api/*"})};
  RuleRoute r3;
  r3.priority = 3;
  r3.conditions = {C(ConditionField::PathPattern, {"/api/*"})};
  RuleRoute dflt;  // no conditions: matches everything
  dflt.priority = 0;
  route.rules = {r1, r2, r3, dflt};
  EXPECT_EQ(FindRule(route, r->view), 1);
  auto other = MakeReq("GET /x HTTP/1.1\r\nHost: b\r\n\r\n");
  EXPECT_EQ(FindRule(route, other->view), 3);
  route.rules.pop_back();
  EXPECT_EQ(FindRule(route, other->view), -1);
}

}  // namespace
}  // namespace berth::elb::proxy
