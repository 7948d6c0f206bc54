// Pure helpers of the proxy: head rewriting, stickiness tokens, ALB responses, access log lines.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "elb/proxy/access_log.h"
#include "elb/proxy/alb_responses.h"
#include "elb/proxy/head_rewrite.h"
#include "elb/proxy/sticky.h"

namespace berth::elb::proxy {
namespace {

std::string Forward(const std::string& raw, ForwardContext ctx = {}) {
  auto h = std::make_unique<RequestHead>();
  EXPECT_EQ(ParseRequestHead(raw, h.get()), ParseError::None);
  if (ctx.client_ip.empty()) ctx.client_ip = "192.0.2.1";
  if (ctx.proto.empty()) ctx.proto = "http";
  if (ctx.port.empty()) ctx.port = "80";
  if (ctx.new_trace_id.empty()) ctx.new_trace_id = "Root=1-00000000-000000000000000000000000";
  std::string out;
  BuildUpstreamRequestHead(raw, *h, ctx, &out);
  return out;
}

TEST(ProxyHeadRewriteTest, AddsForwardedHeadersAndDropsHopByHop) {
  std::string out = Forward(
      "GET /x?y HTTP/1.1\r\nHost: a.example.com\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: 5\r\nX-Secret: 1\r\nTE: trailers\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-Port: 1\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(out,
            "GET /x?y HTTP/1.1\r\nHost: a.example.com\r\nAccept: */*\r\n"
            "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\n"
            "X-Amzn-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\r\n");
}

TEST(ProxyHeadRewriteTest, AppendsToExistingForwardedForAndKeepsTrace) {
  std::string out = Forward(
      "GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nHost: a\r\n"
      "X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\n"
      "x-forwarded-for: 10.0.0.3\r\n\r\n");
  EXPECT_NE(out.find("X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.1\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\n"),
            std::string::npos);
  EXPECT_EQ(out.find("Root=1-00000000"), std::string::npos);
  EXPECT_EQ(out.find("x-forwarded-for"), std::string::npos);
}

TEST(ProxyHeadRewriteTest, Http10AbsoluteFormChunkedUpgrade) {
  ForwardContext ctx;
  ctx.default_host = "10.0.0.9:80";
  std::string out = Forward("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", ctx);
  EXPECT_EQ(out.rfind("GET /a HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(out.find("Host: 10.0.0.9:80\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Connection"), std::string::npos);

  out = Forward("GET http://b.example/p?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n");
  EXPECT_EQ(out.rfind("GET /p?q=1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(out.find("Host: b.example\r\n"), std::string::npos);
  EXPECT_EQ(out.find("ignored"), std::string::npos);

  out = Forward("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
                "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);

  ctx = {};
  ctx.upgrade = true;
  out = Forward("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                ctx);
  EXPECT_NE(out.find("Upgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: Upgrade\r\n"), std::string::npos);
}

TEST(ProxyHeadRewriteTest, ResponseHead) {
  std::string raw = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                    "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 3\r\n\r\n";
  auto r = std::make_unique<ResponseHead>();
  ASSERT_EQ(ParseResponseHead(raw, r.get()), ParseError::None);
  ResponseContext ctx;
  ctx.extra = "Set-Cookie: AWSALB=X\r\n";
  std::string out;
  BuildClientResponseHead(raw, *r, ctx, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            "Set-Cookie: AWSALB=X\r\n\r\n");
  ctx.dechunk = true;
  ctx.close = true;
  ctx.extra = {};
  out.clear();
  BuildClientResponseHead(raw, *r, ctx, &out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
}

TEST(ProxyStickyTest, TokenRoundTrip) {
  char tok[kStickyTokenLen];
  ASSERT_TRUE(EncodeStickyToken("arn:tg/a", "127.0.0.1", 8080, tok));
  std::string t(tok, kStickyTokenLen);
  EXPECT_EQ(t.substr(0, 12), "7F0000011F90");
  uint32_t ip = 0;
  uint16_t port = 0;
  ASSERT_TRUE(DecodeStickyToken(t, "arn:tg/a", &ip, &port));
  EXPECT_EQ(ip, 0x7F000001u);
  EXPECT_EQ(port, 8080);
  EXPECT_TRUE(SameTarget("127.0.0.1", 8080, ip, port));
  EXPECT_FALSE(SameTarget("127.0.0.2", 8080, ip, port));
  EXPECT_FALSE(DecodeStickyToken(t, "arn:tg/b", &ip, &port));  // other group
  t[3] = t[3] == '0' ? '1' : '0';
  EXPECT_FALSE(DecodeStickyToken(t, "arn:tg/a", &ip, &port));  // tampered
  EXPECT_FALSE(DecodeStickyToken("short", "arn:tg/a", &ip, &port));
  EXPECT_FALSE(EncodeStickyToken("arn", "::1", 80, tok));
}

TEST(ProxyStickyTest, FindCookie) {
  auto h = std::make_unique<RequestHead>();
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; AWSALBCORS=C;AWSALB=\"B\"\r\n"
                    "Cookie: z=9\r\n\r\n";
  ASSERT_EQ(ParseRequestHead(raw, h.get()), ParseError::None);
  std::span<const HeaderField> hs(h->headers.data(), h->header_count);
  EXPECT_EQ(FindCookie(hs, "AWSALB"), "B");
  EXPECT_EQ(FindCookie(hs, "AWSALBCORS"), "C");
  EXPECT_EQ(FindCookie(hs, "z"), "9");
  EXPECT_EQ(FindCookie(hs, "awsalb"), "");
}

TEST(ProxyAlbResponseTest, ErrorPageIsAlbShaped) {
  std::string out;
  AppendErrorResponse(&out, 502, "Sun, 06 Nov 1994 08:49:37 GMT", false, false);
  const std::string body =
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
      "Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
  EXPECT_EQ(out, "HTTP/1.1 502 Bad Gateway\r\nServer: awselb/2.0\r\n"
                 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/html\r\n"
                 "Content-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: keep-alive\r\n\r\n" + body);
  char date[kHttpDateLen];
  FormatHttpDate(784111777, date);
  EXPECT_EQ(std::string(date, kHttpDateLen), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(ProxyAlbResponseTest, RedirectLocation) {
  RedirectInput in;
  in.protocol = "http";
  in.host = "www.example.com";
  in.port = 80;
  in.path = "/a/b";
  in.query = "x=1";
  Action a;
  a.kind = ActionKind::Redirect;
  EXPECT_EQ(BuildRedirectLocation(a, in), "http://www.example.com:80/a/b?x=1");
  a.redirect_protocol = "HTTPS";
  a.redirect_port = "443";
  EXPECT_EQ(BuildRedirectLocation(a, in), "https://www.example.com:443/a/b?x=1");
  a.redirect_host = "new.#{host}";
  a.redirect_path = "/new/#{path}";
  a.redirect_query = "#{query}&y=2";
  EXPECT_EQ(BuildRedirectLocation(a, in), "https://new.www.example.com:443/new/a/b?x=1&y=2");
  in.query = "";
  a.redirect_query = "";
  EXPECT_EQ(BuildRedirectLocation(a, in), "https://new.www.example.com:443/new/a/b");
}

TEST(ProxyAccessLogTest, LineHasAlbFields) {
  AccessLogEntry e;
  e.type = "http";
  e.time_us = 1530569180186641;  // 2018-07-02T22:06:20.186641Z
  e.elb = "app/my-lb/50dc6c495c0c9188";
  e.client_ip = "192.168.131.39";
  e.client_port = 2817;
  e.target_ip = "10.0.0.1";
  e.target_port = 80;
  e.request_processing_time = 0.0;
  e.target_processing_time = 0.001;
  e.response_processing_time = 0.0;
  e.elb_status = 200;
  e.target_status = 200;
  e.received_bytes = 34;
  e.sent_bytes = 366;
  e.method = "GET";
  e.scheme = "http";
  e.host = "www.example.com";
  e.port = 80;
  e.target = "/";
  e.version = "HTTP/1.1";
  e.user_agent = "curl/7.46.0";
  e.target_group_arn = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/tg/1";
  e.trace_id = "Root=1-58337262-36d228ad5d99923122bbe354";
  e.matched_rule_priority = 0;
  e.request_creation_us = 1530569180185000;
  e.actions_executed = "forward";
  std::string line;
  AppendAccessLogLine(e, &line);
  EXPECT_EQ(line,
            "http 2018-07-02T22:06:20.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 "
            "10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET http://www.example.com:80/ "
            "HTTP/1.1\" \"curl/7.46.0\" - - "
            "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/tg/1 "
            "\"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 "
            "2018-07-02T22:06:20.185000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" "
            "\"-\"\n");
}

}  // namespace
}  // namespace berth::elb::proxy
