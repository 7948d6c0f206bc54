#include "elb/proxy/http_parse.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace berth::elb::proxy {
namespace {

// Results are views into the text: it is kept here until the next call.
ParseError Parse(std::string head, RequestHead* h) {
  static std::string kept;
  kept = std::move(head);
  return ParseRequestHead(kept, h);
}

TEST(HttpParseTest, FindHeadEndIncremental) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
  size_t scan = 0;
  for (size_t n = 0; n < 27; ++n) {
    EXPECT_EQ(FindHeadEnd(s.data(), n, &scan), 0u) << n;
  }
  EXPECT_EQ(FindHeadEnd(s.data(), s.size(), &scan), 27u);
  size_t scan2 = 0;
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\n\nx", 17, &scan2), 16u);  // bare LF ends it too
}

TEST(HttpParseTest, SimpleGet) {
  auto h = std::make_unique<RequestHead>();
  std::string s = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n";
  ASSERT_EQ(Parse(s, h.get()), ParseError::None);
  EXPECT_EQ(h->method, "GET");
  EXPECT_EQ(h->target, "/a/b?x=1&y=2");
  EXPECT_EQ(h->path, "/a/b");
  EXPECT_EQ(h->query, "x=1&y=2");
  EXPECT_EQ(h->host, "example.com:8080");
  EXPECT_EQ(h->version_minor, 1);
  ASSERT_EQ(h->header_count, 2u);
  EXPECT_EQ(h->headers[1].name, "User-Agent");
  EXPECT_EQ(h->headers[1].value, "t");
  EXPECT_EQ(s.substr(h->headers[0].begin, h->headers[0].end - h->headers[0].begin),
            "Host: example.com:8080\r\n");
  EXPECT_TRUE(h->Idempotent());
  EXPECT_FALSE(h->chunked);
  EXPECT_FALSE(h->has_content_length);
}

TEST(HttpParseTest, FramingAndConnectionHeaders) {
  auto h = std::make_unique<RequestHead>();
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nConnection: close\r\n"
                  "Expect: 100-continue\r\n\r\n",
                  h.get()),
            ParseError::None);
  EXPECT_TRUE(h->has_content_length);
  EXPECT_EQ(h->content_length, 12u);
  EXPECT_TRUE(h->connection.close);
  EXPECT_TRUE(h->expect_continue);
  EXPECT_FALSE(h->Idempotent());

  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
                  "Content-Length: 5\r\n\r\n",
                  h.get()),
            ParseError::None);
  EXPECT_TRUE(h->chunked);  // wins over Content-Length

  ASSERT_EQ(Parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                  "Upgrade: websocket\r\n\r\n",
                  h.get()),
            ParseError::None);
  EXPECT_TRUE(h->connection.upgrade);
  EXPECT_TRUE(h->connection.keep_alive);
  EXPECT_TRUE(h->has_upgrade);
}

TEST(HttpParseTest, Http10AndAbsoluteForm) {
  auto h = std::make_unique<RequestHead>();
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", h.get()), ParseError::None);  // Host optional
  EXPECT_EQ(h->version_minor, 0);
  // The results are views: keep the text alive while they are read.
  const std::string absolute =
      "GET http://Example.com:81/p/q?z HTTP/1.1\r\nHost: other\r\n\r\n";
  ASSERT_EQ(Parse(absolute, h.get()), ParseError::None);
  EXPECT_TRUE(h->absolute_form);
  EXPECT_EQ(h->host, "Example.com:81");
  EXPECT_EQ(h->path, "/p/q");
  EXPECT_EQ(h->query, "z");
  const std::string star = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(Parse(star, h.get()), ParseError::None);
  EXPECT_EQ(h->path, "*");
}

TEST(HttpParseTest, RejectsMalformedRequests) {
  auto h = std::make_unique<RequestHead>();
  const char* bad[] = {
      "GET / HTTP/1.1\r\n\r\n",                                     // no Host
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",               // two Hosts
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",                          // version
      "GET /\r\nHost: a\r\n\r\n",                                   // HTTP/0.9
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",                         // double space
      "GET / HTTP/1.1\nHost: a\n\n",                                // bare LF
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                         // space before colon
      "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",               // obs-fold
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",               // bare CR
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",   // bad length
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",   // not chunked last
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",      // 1.0 has no chunked
      "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",                  // authority-form
      "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
      ": x\r\n\r\n",
  };
  for (const char* b : bad) {
    EXPECT_NE(Parse(b, h.get()), ParseError::None) << b;
  }
}

TEST(HttpParseTest, TooManyHeaders) {
  auto h = std::make_unique<RequestHead>();
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < kMaxHeaders; ++i) {
    s += "X-" + std::to_string(i) + ": v\r\n";
  }
  s += "\r\n";
  EXPECT_EQ(Parse(s, h.get()), ParseError::TooManyHeaders);
}

TEST(HttpParseTest, ResponseHeads) {
  auto r = std::make_unique<ResponseHead>();
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", r.get()),
            ParseError::None);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->has_content_length);
  ASSERT_EQ(ParseResponseHead("HTTP/1.0 204\r\nConnection: keep-alive\r\n\r\n", r.get()),
            ParseError::None);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->version_minor, 0);
  EXPECT_TRUE(r->connection.keep_alive);
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", r.get()),
            ParseError::None);
  EXPECT_TRUE(r->chunked);
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", r.get()),
            ParseError::None);
  EXPECT_TRUE(r->other_encoding);
  EXPECT_NE(ParseResponseHead("HTTP/1.1 2000 OK\r\n\r\n", r.get()), ParseError::None);
  EXPECT_NE(ParseResponseHead("HTTP/1.1 099 x\r\n\r\n", r.get()), ParseError::None);
  EXPECT_NE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", r.get()),
            ParseError::None);
  EXPECT_NE(ParseResponseHead("ICY 200 OK\r\n\r\n", r.get()), ParseError::None);
}

TEST(HttpParseTest, TokensAndCase) {
  EXPECT_TRUE(IEquals("Content-Length", "content-length"));
  EXPECT_FALSE(IEquals("Content-Length", "content-lengt"));
  EXPECT_TRUE(HasToken("keep-alive , Upgrade", "upgrade"));
  EXPECT_FALSE(HasToken("keep-alive", "upgrade"));
}

std::string FeedAll(const std::string& in, size_t piece, bool dechunk, ChunkedDecoder* d,
                    size_t* consumed) {
  std::string buf = in;
  std::string data;
  size_t pos = 0;
  while (pos < buf.size() && !d->done() && !d->failed()) {
    size_t n = std::min(piece, buf.size() - pos);
    char* start = buf.data() + pos;
    char* out = start;
    size_t used = d->Feed(start, n, dechunk ? &out : nullptr);
    if (dechunk) {
      data.append(start, static_cast<size_t>(out - start));
    }
    pos += used;
    if (used < n) break;
  }
  *consumed = pos;
  return data;
}

TEST(HttpParseTest, ChunkedDecoderAnyPieceSize) {
  const std::string msg = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                          "Trailer: x\r\n\r\nNEXT";
  for (size_t piece = 1; piece <= msg.size(); ++piece) {
    ChunkedDecoder d;
    size_t consumed = 0;
    std::string data = FeedAll(msg, piece, true, &d, &consumed);
    ASSERT_TRUE(d.done()) << piece;
    EXPECT_EQ(consumed, msg.size() - 4) << piece;  // stops before the next message
    EXPECT_EQ(data, "Wikipedia in\r\n\r\nchunks.") << piece;
  }
}

TEST(HttpParseTest, ChunkedDecoderRejectsBadFraming) {
  const char* bad[] = {"x\r\n", "4\r\nWikiX\r\n", "4\nWiki\r\n", "\r\n", "4\r\nWiki\r\r",
                       "0\r\nT: x\n\r\n", "fffffffffffffffff\r\n"};
  for (const char* b : bad) {
    ChunkedDecoder d;
    size_t consumed = 0;
    FeedAll(b, 100, false, &d, &consumed);
    EXPECT_TRUE(d.failed()) << b;
  }
}

}  // namespace
}  // namespace berth::elb::proxy
