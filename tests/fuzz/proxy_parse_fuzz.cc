// libFuzzer target for the proxy's request path without sockets: head delimiting (fed in
// pieces), request-head parsing, rule matching, the forwarded-head rewrite (whose output must
// parse again with the same framing), response-head parsing and chunked framing.
//   scripts/fuzz.sh [seconds]

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "elb/proxy/head_rewrite.h"
#include "elb/proxy/http_parse.h"
#include "elb/proxy/rule_match.h"
#include "elb/proxy/sticky.h"

using namespace berth::elb;
using namespace berth::elb::proxy;

namespace {

const ListenerRoute& Rules() {
  static const ListenerRoute route = [] {
    ListenerRoute r;
    auto cond = [](ConditionField f, std::vector<std::string> v, std::string h = "") {
      Condition c;
      c.field = f;
      c.values = std::move(v);
      c.header_name = std::move(h);
      return c;
    };
    RuleRoute a;
    a.conditions = {cond(ConditionField::HostHeader, {"*.example.com", "a?c"}),
                    cond(ConditionField::PathPattern, {"/api/*", "*.png"})};
    RuleRoute b;
    b.conditions = {cond(ConditionField::HttpHeader, {"*mobile*", "x*y*z"}, "user-agent"),
                    cond(ConditionField::HttpRequestMethod, {"GET", "POST"}),
                    cond(ConditionField::SourceIp, {"10.0.0.0/8", "2001:db8::/32", "bad/99"})};
    RuleRoute c;
    Condition q;
    q.field = ConditionField::QueryString;
    q.pairs = {QueryPair{"", "*a*"}, QueryPair{"k?y", "v"}};
    c.conditions = {q};
    r.rules = {a, b, c, RuleRoute{}};
    return r;
  }();
  return route;
}

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  size_t piece = 1 + data[0] % 61;
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);

  // Delimiting in pieces finds the same end as in one go.
  size_t scan_once = 0;
  size_t once = FindHeadEnd(input.data(), input.size(), &scan_once);
  size_t scan = 0;
  size_t incremental = 0;
  size_t avail = 0;
  while (true) {
    avail = std::min(avail + piece, input.size());
    incremental = FindHeadEnd(input.data(), avail, &scan);
    if (incremental != 0 || avail == input.size()) {
      break;
    }
  }
  Check(once == incremental);

  static auto* head = new RequestHead();
  static auto* again = new RequestHead();
  static auto* rsp = new ResponseHead();
  if (once > 0) {
    std::string_view raw(input.data(), once);
    if (ParseRequestHead(raw, head) == ParseError::None) {
      for (size_t i = 0; i < head->header_count; ++i) {
        const HeaderField& f = head->headers[i];
        Check(f.begin < f.end && f.end <= once);
      }
      RequestView view;
      view.host = head->host;
      view.path = head->path;
      view.query = head->query;
      view.method = head->method;
      view.headers = std::span<const HeaderField>(head->headers.data(), head->header_count);
      ParseIp("10.1.2.3", &view.source);
      Check(FindRule(Rules(), view) >= 0);  // the last rule matches everything
      std::span<const HeaderField> headers(head->headers.data(), head->header_count);
      uint32_t ip;
      uint16_t port;
      DecodeStickyToken(FindCookie(headers, "AWSALB"), "arn", &ip, &port);

      ForwardContext ctx;
      ctx.client_ip = "10.1.2.3";
      ctx.proto = "http";
      ctx.port = "80";
      ctx.new_trace_id = "Root=1-00000000-000000000000000000000000";
      ctx.default_host = "127.0.0.1:80";
      ctx.upgrade = head->connection.upgrade && head->has_upgrade;
      std::string out;
      BuildUpstreamRequestHead(raw, *head, ctx, &out);
      bool chunked = head->chunked;
      bool has_cl = head->has_content_length;
      uint64_t cl = head->content_length;
      ParseError e = ParseRequestHead(out, again);
      if (e == ParseError::TooManyHeaders) {
        return 0;  // the added X-Forwarded-* lines pushed a full head over the limit
      }
      Check(e == ParseError::None);
      Check(again->chunked == chunked);
      Check(chunked || (again->has_content_length == has_cl && again->content_length == cl));
      Check(again->version_minor == 1);
    }
    if (ParseResponseHead(raw, rsp) == ParseError::None) {
      ResponseContext ctx;
      ctx.close = data[0] & 1;
      ctx.dechunk = data[0] & 2;
      std::string out;
      BuildClientResponseHead(raw, *rsp, ctx, &out);
      // The proxy's own Connection line may push a full head past berth's header limit, which
      // bounds only what berth reads from targets; the client is not held to it.
      ParseError e = ParseResponseHead(out, rsp);
      Check(e == ParseError::None || e == ParseError::TooManyHeaders);
    }
  }

  // Chunked framing over what follows the head: in pieces (de-chunking in place) and in one go
  // must agree on where the message ends and on the data.
  std::string body = input.substr(once);
  ChunkedDecoder whole;
  std::string copy = body;
  char* out = copy.data();
  size_t used_whole = whole.Feed(copy.data(), copy.size(), &out);
  std::string data_whole(copy.data(), static_cast<size_t>(out - copy.data()));

  ChunkedDecoder parts;
  std::string buf = body;
  std::string data_parts;
  size_t pos = 0;
  while (pos < buf.size() && !parts.done() && !parts.failed()) {
    size_t n = std::min(piece, buf.size() - pos);
    char* start = buf.data() + pos;
    char* o = start;
    size_t used = parts.Feed(start, n, &o);
    data_parts.append(start, static_cast<size_t>(o - start));
    pos += used;
    if (used < n) {
      break;
    }
  }
  Check(parts.done() == whole.done() && parts.failed() == whole.failed());
  if (whole.done()) {
    Check(pos == used_whole);
    Check(data_parts == data_whole);
  }
  return 0;
}
