#pragma once
// Rewrites of raw message heads between the client and the target. Header lines that stay are
// copied byte for byte (runs of kept lines in one copy); only the request line and the added
// lines are generated. Pure functions: the caller parses the head first (http_parse.h).

#include <string>
#include <string_view>

#include "elb/proxy/http_parse.h"

namespace berth::elb::proxy {

struct ForwardContext {
  std::string_view client_ip;     // appended to X-Forwarded-For
  std::string_view proto;         // X-Forwarded-Proto: "http" or "https"
  std::string_view port;          // X-Forwarded-Port: the listener's port
  std::string_view new_trace_id;  // X-Amzn-Trace-Id when the request has none
  std::string_view default_host;  // Host for a request without one (HTTP/1.0)
  bool upgrade = false;           // a protocol upgrade: keep Upgrade, send Connection: Upgrade
};

// Appends the request head to send to the target. ALB behaviour copied:
//  - HTTP/1.1 to the target whatever the client spoke; absolute-form targets become
//    origin-form with the authority as Host;
//  - hop-by-hop headers are dropped (Connection and the headers it names, Keep-Alive,
//    Proxy-Connection, TE, Trailer, Upgrade unless upgrading), and Content-Length when the body
//    is chunked;
//  - X-Forwarded-For gets the client address appended to the client's list (several
//    X-Forwarded-For lines are merged); X-Forwarded-Proto and X-Forwarded-Port are replaced;
//  - X-Amzn-Trace-Id is kept if present, else `new_trace_id` is added.
void BuildUpstreamRequestHead(std::string_view raw, const RequestHead& h,
                              const ForwardContext& ctx, std::string* out);

struct ResponseContext {
  bool close = false;              // the client connection closes after this response
  bool keep_alive_http10 = false;  // tell an HTTP/1.0 client the connection stays open
  bool dechunk = false;            // the chunked body is sent de-chunked (HTTP/1.0 client)
  bool upgrade = false;            // 101 Switching Protocols: keep Upgrade
  std::string_view extra;          // extra header lines, each ending in CRLF (Set-Cookie)
};

// Appends the response head to send to the client: the target's head without hop-by-hop
// headers, plus the proxy's own Connection header and `extra`.
void BuildClientResponseHead(std::string_view raw, const ResponseHead& h,
                             const ResponseContext& ctx, std::string* out);

}  // namespace berth::elb::proxy
