// End-to-end tests of the proxy: a real Proxy on 127.0.0.1 port 0 in front of blocking test
// backends (proxy_test_util.h). Every wait is bounded.

#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "elb/proxy/proxy.h"
#include "unit/elb/proxy/proxy_test_util.h"

namespace berth::elb::proxy {
namespace {

using testing::Cond;
using testing::Eventually;
using testing::ForwardRule;
using testing::Group;
using testing::Message;
using testing::ReadResponse;
using testing::Stream;
using testing::Table;
using testing::TestBackend;

constexpr char kListener[] =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/lb/1/1";

class ProxyE2ETest : public ::testing::Test {
 protected:
  void StartProxy(ProxyOptions opt = {}) {
    if (opt.threads == 0) opt.threads = 1;
    proxy_ = std::make_unique<Proxy>(opt);
    auto port = proxy_->OpenListener(kListener, "127.0.0.1", 0, nullptr);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }
  void TearDown() override { proxy_.reset(); }

  std::unique_ptr<Stream> Connect() {
    auto s = Stream::Connect(port_);
    EXPECT_NE(s, nullptr);
    return s;
  }

  // One request on a fresh connection.
  Message Get(const std::string& path, const std::string& extra_headers = "",
              const std::string& host = "example.com") {
    auto s = Connect();
    s->Send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra_headers + "\r\n");
    Message m;
    EXPECT_TRUE(ReadResponse(*s, &m));
    return m;
  }

  std::unique_ptr<Proxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(ProxyE2ETest, ForwardsWithForwardedHeaders) {
  TestBackend b("b1");
  auto g = Group("arn:tg/one", {b.backend()});
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));

  Message m = Get("/hello?x=1", "X-Forwarded-For: 203.0.113.9\r\n");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Get("x-backend"), "b1");
  auto got = b.received();
  ASSERT_EQ(got.size(), 1u);
  const Message& req = got[0];
  EXPECT_EQ(req.start_line, "GET /hello?x=1 HTTP/1.1");
  EXPECT_EQ(req.Get("host"), "example.com");
  EXPECT_EQ(req.Get("x-forwarded-for"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(req.Get("x-forwarded-proto"), "http");
  EXPECT_EQ(req.Get("x-forwarded-port"), std::to_string(port_));
  std::string trace = req.Get("x-amzn-trace-id");
  ASSERT_EQ(trace.size(), 40u) << trace;
  EXPECT_EQ(trace.substr(0, 7), "Root=1-");
  EXPECT_EQ(trace[15], '-');

  // A client's own trace id is kept.
  Get("/", "X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678\r\n");
  got = b.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].Get("x-amzn-trace-id"), "Root=1-67891233-abcdef012345678912345678");

  EXPECT_EQ(g->stats->requests.load(), 2u);
  EXPECT_EQ(g->stats->target_2xx.load(), 2u);
  EXPECT_EQ(b.backend()->requests_total.load(), 2u);
  EXPECT_TRUE(Eventually([&] { return b.backend()->in_flight.load() == 0; }));
}

TEST_F(ProxyE2ETest, KeepAliveBothSidesAndPipelining) {
  TestBackend b("b1");
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  for (int i = 0; i < 3; ++i) {
    s->Send("GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n");
    Message m;
    ASSERT_TRUE(ReadResponse(*s, &m));
    EXPECT_EQ(m.status, 200);
    EXPECT_FALSE(m.Has("connection"));
  }
  // A second client reuses the pooled upstream connection.
  Message m = Get("/other");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(b.accepted(), 1);

  // Three pipelined requests in one write, answered in order.
  s->Send("GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n"
          "GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n");
  for (int i = 1; i <= 3; ++i) {
    Message r;
    ASSERT_TRUE(ReadResponse(*s, &r));
    EXPECT_NE(r.body.find("GET /p" + std::to_string(i) + " "), std::string::npos) << r.body;
  }
}

TEST_F(ProxyE2ETest, ChunkedRequestAndResponsePassThrough) {
  TestBackend b("b1", [](Stream& s, TestBackend& self) {
    Message m;
    while (self.ReadRequest(s, &m)) {
      std::string body = m.body;
      std::string rsp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      rsp += "3\r\nyou\r\n";
      char size[16];
      std::snprintf(size, sizeof(size), "%zx", body.size());
      rsp += std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
      if (!s.Send(rsp)) return;
      m = Message{};
    }
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  s->Send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  s->Send("6\r\n world\r\n0\r\n\r\n");
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  EXPECT_TRUE(m.chunked);
  EXPECT_EQ(m.body, "youhello world");
  auto got = b.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].chunked);
  EXPECT_EQ(got[0].body, "hello world");

  // HTTP/1.0 client: the chunked response is de-chunked and the connection closes.
  auto s10 = Connect();
  s10->Send("POST /10 HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\nab");
  Message r;
  ASSERT_TRUE(testing::ReadHead(*s10, &r));
  EXPECT_FALSE(r.Has("transfer-encoding"));
  EXPECT_EQ(r.Get("connection"), "close");
  EXPECT_EQ(s10->ReadToEof(), "youab");
}

TEST_F(ProxyE2ETest, LargeBodiesStreamBothWays) {
  const size_t kSize = 3 * 1024 * 1024 + 17;
  TestBackend b("b1", [kSize](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    std::string body(kSize, 'r');
    s.Send(TestBackend::Response(body + std::to_string(m.body.size())));
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  std::string upload(kSize, 'u');
  std::thread writer([&] {
    s->Send("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kSize) +
            "\r\n\r\n" + upload);
  });
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  writer.join();
  EXPECT_EQ(m.body.size(), kSize + std::to_string(kSize).size());
  EXPECT_EQ(m.body.substr(kSize), std::to_string(kSize));
}

TEST_F(ProxyE2ETest, NoTargets503) {
  auto g = Group("arn:tg/empty", {});
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  Message m = Get("/");
  EXPECT_EQ(m.status, 503);
  EXPECT_EQ(m.Get("server"), "awselb/2.0");
  EXPECT_EQ(m.Get("content-type"), "text/html");
  EXPECT_NE(m.body.find("<center><h1>503 Service Temporarily Unavailable</h1></center>"),
            std::string::npos);
  EXPECT_EQ(g->stats->elb_503.load(), 1u);
}

TEST_F(ProxyE2ETest, RefusedConnection502) {
  uint16_t dead_port;
  {
    TestBackend tmp;
    dead_port = tmp.port();
  }  // closed: nothing listens there now
  auto dead = std::make_shared<Backend>("127.0.0.1", dead_port);
  auto g = Group("arn:tg", {dead});
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  Message m = Get("/");
  EXPECT_EQ(m.status, 502);
  EXPECT_EQ(m.body,
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
            "Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n");
  EXPECT_EQ(g->stats->elb_502.load(), 1u);
  EXPECT_EQ(dead->in_flight.load(), 0);
}

TEST_F(ProxyE2ETest, UpstreamTimeout504) {
  TestBackend b("slow", [](Stream& s, TestBackend& self) {
    Message m;
    self.ReadRequest(s, &m);
    s.WaitClosed(3000);  // never answers
  });
  auto g = Group("arn:tg", {b.backend()});
  ProxyOptions opt;
  opt.upstream_timeout_ms = 150;
  StartProxy(opt);
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  auto start = std::chrono::steady_clock::now();
  Message m = Get("/");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(m.status, 504);
  EXPECT_GE(ms, 140);
  EXPECT_LT(ms, 1500);
  EXPECT_EQ(g->stats->elb_504.load(), 1u);
  EXPECT_EQ(b.backend()->in_flight.load(), 0);
}

TEST_F(ProxyE2ETest, FixedResponseAndRedirect) {
  RuleRoute fixed;
  fixed.priority = 1;
  fixed.conditions = {Cond(ConditionField::PathPattern, {"/fixed"})};
  fixed.action.kind = ActionKind::FixedResponse;
  fixed.action.status_code = 418;
  fixed.action.content_type = "application/json";
  fixed.action.body = "{\"ok\":false}";
  RuleRoute redirect;
  redirect.priority = 2;
  redirect.conditions = {Cond(ConditionField::PathPattern, {"/old/*"})};
  redirect.action.kind = ActionKind::Redirect;
  redirect.action.redirect_protocol = "HTTPS";
  redirect.action.redirect_port = "443";
  redirect.action.redirect_path = "/new/#{path}";
  redirect.action.redirect_status = 302;
  StartProxy();
  proxy_->Publish(Table(kListener, {fixed, redirect}));

  auto s = Connect();
  s->Send("GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  EXPECT_EQ(m.status, 418);
  EXPECT_EQ(m.Get("content-type"), "application/json");
  EXPECT_EQ(m.Get("server"), "awselb/2.0");
  EXPECT_EQ(m.body, "{\"ok\":false}");
  // Same connection: a POST with its body already here keeps the connection usable.
  s->Send("POST /fixed HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
          "GET /old/page?x=1 HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n");
  Message m2;
  ASSERT_TRUE(ReadResponse(*s, &m2));
  EXPECT_EQ(m2.status, 418);
  Message r;
  ASSERT_TRUE(ReadResponse(*s, &r));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.Get("location"), "https://www.example.com:443/new/old/page?x=1");
  EXPECT_NE(r.body.find("302 Found"), std::string::npos);
}

TEST_F(ProxyE2ETest, HostHeaderRouting) {
  TestBackend api("api");
  TestBackend web("web");
  StartProxy();
  proxy_->Publish(Table(
      kListener,
      {ForwardRule(1, Group("arn:tg/api", {api.backend()}),
                   {Cond(ConditionField::HostHeader, {"api.example.com"})}),
       ForwardRule(2, Group("arn:tg/web", {web.backend()}),
                   {Cond(ConditionField::HttpHeader, {"*mobile*"}, "User-Agent")}),
       ForwardRule(0, Group("arn:tg/default", {web.backend()}))}));
  EXPECT_EQ(Get("/", "", "API.example.com:80").Get("x-backend"), "api");
  EXPECT_EQ(Get("/", "", "www.example.com").Get("x-backend"), "web");
  EXPECT_EQ(Get("/", "User-Agent: a Mobile phone\r\n", "x").Get("x-backend"), "web");
  EXPECT_EQ(api.requests(), 1);
  EXPECT_EQ(web.requests(), 2);
}

TEST_F(ProxyE2ETest, RoundRobinAndWeights) {
  TestBackend b1("b1");
  TestBackend b2("b2");
  StartProxy();
  proxy_->Publish(
      Table(kListener, {ForwardRule(0, Group("arn:tg", {b1.backend(), b2.backend()}))}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Get("/").status, 200);
  }
  EXPECT_EQ(b1.requests(), 3);
  EXPECT_EQ(b2.requests(), 3);

  // Weighted forward: a group with weight 0 gets nothing.
  RuleRoute r = ForwardRule(0, Group("arn:tg/1", {b1.backend()}));
  r.action.forward.push_back({Group("arn:tg/2", {b2.backend()}), 0});
  proxy_->Publish(Table(kListener, {r}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Get("/").Get("x-backend"), "b1");
  }
}

TEST_F(ProxyE2ETest, StickinessCookie) {
  TestBackend b1("b1");
  TestBackend b2("b2");
  auto g = Group("arn:tg/sticky", {b1.backend(), b2.backend()});
  g->stickiness = true;
  g->stickiness_seconds = 120;
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  Message first = Get("/");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(first.Count("set-cookie"), 2);
  std::string awsalb, cors;
  for (const auto& [n, v] : first.headers) {
    if (n == "set-cookie" && v.rfind("AWSALB=", 0) == 0) awsalb = v;
    if (n == "set-cookie" && v.rfind("AWSALBCORS=", 0) == 0) cors = v;
  }
  ASSERT_FALSE(awsalb.empty());
  EXPECT_NE(awsalb.find("; Expires="), std::string::npos);
  EXPECT_NE(awsalb.find("; Path=/"), std::string::npos);
  EXPECT_NE(cors.find("SameSite=None; Secure"), std::string::npos);
  std::string token = awsalb.substr(7, awsalb.find(';') - 7);
  std::string chosen = first.Get("x-backend");
  for (int i = 0; i < 5; ++i) {
    Message m = Get("/", "Cookie: other=1; AWSALB=" + token + "\r\n");
    EXPECT_EQ(m.Get("x-backend"), chosen);
  }
  // A token for a target that is not routable any more is ignored.
  auto other = chosen == "b1" ? b2.backend() : b1.backend();
  auto g2 = Group("arn:tg/sticky", {other});
  g2->stickiness = true;
  proxy_->Publish(Table(kListener, {ForwardRule(0, g2)}));
  Message m = Get("/", "Cookie: AWSALB=" + token + "\r\n");
  EXPECT_NE(m.Get("x-backend"), chosen);
  EXPECT_EQ(m.status, 200);
}

TEST_F(ProxyE2ETest, LeastOutstandingRequestsAvoidsBusyTarget) {
  std::atomic<bool> release{false};
  std::atomic<bool> holding{false};
  TestBackend busy("busy", [&](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    holding = true;
    Eventually([&] { return release.load(); }, 3000);
    s.Send(TestBackend::Response("late"));
  });
  TestBackend idle("idle");
  auto g = Group("arn:tg/lor", {busy.backend(), idle.backend()});
  g->algorithm = Algorithm::LeastOutstandingRequests;
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  // Keep sending until one request sits on the busy target.
  std::unique_ptr<Stream> held;
  for (int i = 0; i < 4 && !holding.load(); ++i) {
    auto s = Connect();
    s->Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    // Either the busy target holds it, or the idle one answers.
    Eventually([&] {
      pollfd p{s->fd(), POLLIN, 0};
      return holding.load() || ::poll(&p, 1, 0) > 0;
    });
    if (holding.load()) {
      held = std::move(s);
      break;
    }
    Message m;
    ASSERT_TRUE(ReadResponse(*s, &m));
  }
  ASSERT_TRUE(holding.load());
  int before = idle.requests();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Get("/").Get("x-backend"), "idle");
  }
  EXPECT_EQ(idle.requests(), before + 4);
  release = true;
  Message m;
  ASSERT_TRUE(ReadResponse(*held, &m));
  EXPECT_EQ(m.body, "late");
}

TEST_F(ProxyE2ETest, TargetGroupStickiness) {
  TestBackend b1("b1");
  TestBackend b2("b2");
  RuleRoute r = ForwardRule(0, Group("arn:tg/one", {b1.backend()}));
  r.action.forward.push_back({Group("arn:tg/two", {b2.backend()}), 1});
  r.action.group_stickiness = true;
  r.action.group_stickiness_seconds = 300;
  StartProxy();
  proxy_->Publish(Table(kListener, {r}));
  Message first = Get("/");
  std::string tg;
  for (const auto& [n, v] : first.headers) {
    if (n == "set-cookie" && v.rfind("AWSALBTG=", 0) == 0) tg = v.substr(9, v.find(';') - 9);
  }
  ASSERT_EQ(tg.size(), 16u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Get("/", "Cookie: AWSALBTG=" + tg + "\r\n").Get("x-backend"),
              first.Get("x-backend"));
  }
}

TEST_F(ProxyE2ETest, CloseConnectionsToAnswers502) {
  std::atomic<bool> got{false};
  TestBackend b("held", [&](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    got = true;
    s.WaitClosed(3000);
  });
  auto g = Group("arn:tg", {b.backend()});
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, g)}));
  auto s = Connect();
  s->Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(Eventually([&] { return got.load(); }));
  EXPECT_EQ(b.backend()->in_flight.load(), 1);
  proxy_->CloseConnectionsTo(b.backend());
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  EXPECT_EQ(m.status, 502);
  EXPECT_EQ(b.backend()->in_flight.load(), 0);
  // The client connection is still usable.
  auto empty = Group("arn:tg", {});
  proxy_->Publish(Table(kListener, {ForwardRule(0, empty)}));
  s->Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m2;
  ASSERT_TRUE(ReadResponse(*s, &m2));
  EXPECT_EQ(m2.status, 503);
}

TEST_F(ProxyE2ETest, PooledConnectionClosedByTargetIsRetried) {
  // The target answers one request per connection but keeps it looking reusable, then closes.
  TestBackend b("b1", [](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    s.Send(TestBackend::Response("once"));
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  for (int i = 0; i < 5; ++i) {
    Message m = Get("/");
    EXPECT_EQ(m.status, 200) << i;
    EXPECT_EQ(m.body, "once");
  }
  EXPECT_EQ(b.requests(), 5);
}

TEST_F(ProxyE2ETest, TargetClosesMidResponse) {
  TestBackend b("b1", [](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    if (m.start_line.find("/head") != std::string::npos) {
      s.Send("HTTP/1.1 200 OK\r\nContent-Len");  // dies inside the head
      return;
    }
    s.Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  s->Send("GET /body HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m;
  ASSERT_TRUE(testing::ReadHead(*s, &m));
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(s->ReadToEof(), "partial");  // then the connection closes

  Message m2 = Get("/head");
  EXPECT_EQ(m2.status, 502);
}

TEST_F(ProxyE2ETest, MalformedAndOversizedRequests400) {
  ProxyOptions opt;
  opt.max_header_bytes = 1024;
  StartProxy(opt);
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {}))}));
  auto s = Connect();
  s->Send("GARBAGE\r\n\r\n");
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  EXPECT_EQ(m.status, 400);
  EXPECT_EQ(m.Get("connection"), "close");
  EXPECT_TRUE(s->WaitClosed());

  auto s2 = Connect();
  s2->Send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n");
  Message m2;
  ASSERT_TRUE(ReadResponse(*s2, &m2));
  EXPECT_EQ(m2.status, 400);

  // A head that never ends, beyond the limit.
  auto s3 = Connect();
  s3->Send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'x'));
  Message m3;
  ASSERT_TRUE(ReadResponse(*s3, &m3));
  EXPECT_EQ(m3.status, 400);
}

TEST_F(ProxyE2ETest, IncompleteHeadTimesOut) {
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {}))}, /*idle_seconds=*/1));
  auto s = Connect();
  s->Send("GET / HTTP/1.1\r\nHost: a\r\n");  // never finished (slowloris)
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s->WaitClosed(2500));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(ms, 800);
}

TEST_F(ProxyE2ETest, WebSocketUpgradeSplicesBytes) {
  TestBackend b("ws", [](Stream& s, TestBackend& self) {
    Message m;
    if (!self.ReadRequest(s, &m)) return;
    s.Send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: x\r\n\r\nhello-from-server");
    std::string in;
    while (s.Fill()) {
      in = s.buffer();
      if (in.find("ping") != std::string::npos) {
        s.Send("pong");
        s.buffer().clear();
      }
    }
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  s->Send("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n");
  Message m;
  ASSERT_TRUE(testing::ReadHead(*s, &m));
  EXPECT_EQ(m.status, 101);
  EXPECT_EQ(m.Get("upgrade"), "websocket");
  EXPECT_EQ(testing::Lower(m.Get("connection")), "upgrade");
  std::string got;
  ASSERT_TRUE(s->ReadExactly(17, &got));
  EXPECT_EQ(got, "hello-from-server");
  for (int i = 0; i < 3; ++i) {
    s->Send("ping");
    std::string pong;
    ASSERT_TRUE(s->ReadExactly(4, &pong));
    EXPECT_EQ(pong, "pong");
  }
  auto req = b.received();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].Get("upgrade"), "websocket");
  EXPECT_EQ(req[0].Get("connection"), "Upgrade");
  s->Close();
  EXPECT_TRUE(Eventually([&] { return b.backend()->in_flight.load() == 0; }));
}

TEST_F(ProxyE2ETest, ExpectContinueIsRelayed) {
  TestBackend b("b1", [](Stream& s, TestBackend& self) {
    Message m;
    if (!testing::ReadHead(s, &m)) return;
    s.Send("HTTP/1.1 100 Continue\r\n\r\n");
    testing::ReadBody(s, &m, false, false);
    self.Record(m);
    s.Send(TestBackend::Response("got " + m.body));
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  s->Send("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  Message interim;
  ASSERT_TRUE(testing::ReadHead(*s, &interim));
  EXPECT_EQ(interim.status, 100);
  s->Send("data");
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m));
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, "got data");
}

TEST_F(ProxyE2ETest, HeadAndNoContentResponses) {
  TestBackend b("b1", [](Stream& s, TestBackend& self) {
    Message m;
    while (self.ReadRequest(s, &m)) {
      if (m.start_line.rfind("HEAD", 0) == 0) {
        s.Send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      } else {
        s.Send("HTTP/1.1 204 No Content\r\n\r\n");
      }
      m = Message{};
    }
  });
  StartProxy();
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  auto s = Connect();
  s->Send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m;
  ASSERT_TRUE(ReadResponse(*s, &m, /*head_request=*/true));
  EXPECT_EQ(m.Get("content-length"), "1000");
  s->Send("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m2;
  ASSERT_TRUE(ReadResponse(*s, &m2));
  EXPECT_EQ(m2.status, 204);
  EXPECT_EQ(b.accepted(), 1);
}

TEST_F(ProxyE2ETest, AccessLogAndCloseListener) {
  TestBackend b("b1");
  auto path = std::filesystem::temp_directory_path() /
              ("berth-proxy-log-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  StartProxy();
  auto table = Table(kListener, {ForwardRule(0, Group("arn:tg/log", {b.backend()}))});
  table->listeners[0].access_log_path = path.string();
  proxy_->Publish(table);
  EXPECT_EQ(Get("/logged?q=1", "User-Agent: tester/1.0\r\n").status, 200);
  proxy_->FlushAccessLogs();
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.rfind("http ", 0), 0u) << line;
  EXPECT_NE(line.find(" app/test-lb/0123456789abcdef 127.0.0.1:"), std::string::npos) << line;
  EXPECT_NE(line.find(" 200 200 "), std::string::npos) << line;
  EXPECT_NE(line.find("\"GET http://example.com:" + std::to_string(port_) +
                      "/logged?q=1 HTTP/1.1\" \"tester/1.0\""),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" arn:tg/log \"Root=1-"), std::string::npos) << line;
  EXPECT_NE(line.find("\"forward\""), std::string::npos) << line;
  std::filesystem::remove(path);

  // Closing the listener closes its idle client connections and stops accepting.
  auto idle = Connect();
  idle->Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Message m;
  ASSERT_TRUE(ReadResponse(*idle, &m));
  proxy_->CloseListener(kListener);
  EXPECT_TRUE(idle->WaitClosed());
  EXPECT_EQ(Stream::Connect(port_), nullptr);
}

TEST_F(ProxyE2ETest, OpenListenerReportsAddressInUse) {
  StartProxy();
  auto again = proxy_->OpenListener("other", "127.0.0.1", port_, nullptr);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("in use"), std::string::npos) << again.error().message;
  auto dup = proxy_->OpenListener(kListener, "127.0.0.1", 0, nullptr);
  EXPECT_FALSE(dup.ok());
}

TEST_F(ProxyE2ETest, ManyIdleConnectionsAndMultipleLoops) {
  TestBackend b("b1");
  ProxyOptions opt;
  opt.threads = 2;
  StartProxy(opt);
  proxy_->Publish(Table(kListener, {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  std::vector<std::unique_ptr<Stream>> conns;
  for (int i = 0; i < 200; ++i) {
    conns.push_back(Connect());
  }
  for (int i = 0; i < 200; i += 20) {
    conns[i]->Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    Message m;
    ASSERT_TRUE(ReadResponse(*conns[i], &m));
    EXPECT_EQ(m.status, 200);
  }
}

}  // namespace
}  // namespace berth::elb::proxy
