#pragma once
// Listener rule evaluation with ALB's condition semantics. Pure functions, no I/O.
//
//   host-header        case-insensitive wildcards; the port is stripped from Host first
//   path-pattern       case-sensitive wildcards, against the path without the query string
//   http-header        header name case-insensitive; values case-insensitive wildcards;
//                      any occurrence of the header may match
//   query-string       key/value pairs, case-insensitive wildcards, percent-decoded; an empty
//                      key matches any key
//   http-request-method  exact, case-sensitive (ALB methods are uppercase)
//   source-ip          CIDR blocks ("10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or
//                      /128) against the client's address (not X-Forwarded-For)
// Within a condition any value may match; every condition of a rule must match; the first rule
// (in table order) that matches wins.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "elb/proxy/http_parse.h"
#include "elb/routing_table.h"

namespace berth::elb::proxy {

// An IPv4 or IPv6 address; IPv4 is kept as its IPv4-mapped IPv6 form.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = true;
};
// Parses dotted-quad or IPv6 text. False on anything else.
bool ParseIp(std::string_view text, IpAddress* out);
// True if `ip` is inside `cidr` ("a.b.c.d/n", "v6/n" or a bare address). False if malformed.
bool CidrContains(std::string_view cidr, const IpAddress& ip);

// `*` matches any run of characters (also empty), `?` exactly one.
inline bool WildcardMatch(std::string_view pattern, std::string_view text, bool case_insensitive) {
  return core::WildcardMatch(pattern, text, case_insensitive);
}

// Host without a port: "a.example.com:8080" -> "a.example.com", "[::1]:80" -> "[::1]".
std::string_view StripPort(std::string_view host);

// What a rule can look at in a request.
struct RequestView {
  std::string_view host;    // raw Host (port allowed)
  std::string_view path;    // without query
  std::string_view query;   // without '?'
  std::string_view method;
  std::span<const HeaderField> headers;
  IpAddress source;
};

bool MatchCondition(const Condition& c, const RequestView& r);
bool MatchRule(const RuleRoute& rule, const RequestView& r);
// Index of the first matching rule, or -1.
int FindRule(const ListenerRoute& route, const RequestView& r);

// Decodes %XX escapes into out (at most out_cap bytes; longer input is cut). Returns the length.
// A malformed escape is kept literally.
size_t PercentDecode(std::string_view in, char* out, size_t out_cap);

}  // namespace berth::elb::proxy
