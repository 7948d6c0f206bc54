#pragma once
// ALB stickiness cookies.
//
// lb_cookie (target stickiness): the AWSALB cookie (and AWSALBCORS, the same value for
// cross-origin requests) names the target. berth's token is 20 uppercase hex digits: the
// target's IPv4 address (8) and port (4), then an 8-digit FNV-1a hash of the target group ARN,
// address and port — "7F0000011F90" + "9C3B1E07" for 127.0.0.1:8080. The hash ties a token to
// its target group; a token that does not decode, or names a target that is not routable any
// more, is ignored and a target is picked normally. Tokens are deterministic, so they survive
// a restart of berth.
//
// Target group stickiness (forward to several groups): the AWSALBTG cookie (and AWSALBTGCORS)
// holds 16 hex digits of the FNV-1a-64 hash of the group ARN.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "elb/proxy/http_parse.h"

namespace berth::elb::proxy {

inline constexpr size_t kStickyTokenLen = 20;
inline constexpr size_t kGroupTokenLen = 16;

// Writes the token into out[0, 20). False if `ip` is not a dotted quad.
bool EncodeStickyToken(std::string_view group_arn, std::string_view ip, uint16_t port,
                       char* out);
// Decodes a token made for `group_arn`. False if it is malformed or for another group.
bool DecodeStickyToken(std::string_view token, std::string_view group_arn, uint32_t* ip,
                       uint16_t* port);
// True if `ip` (dotted quad) and `port` are what the decoded token names.
bool SameTarget(std::string_view ip, uint16_t port, uint32_t token_ip, uint16_t token_port);

// Writes the group token into out[0, 16).
void EncodeGroupToken(std::string_view group_arn, char* out);

// The value of cookie `name` in the request's Cookie headers (case-sensitive name), or empty.
std::string_view FindCookie(std::span<const HeaderField> headers, std::string_view name);

}  // namespace berth::elb::proxy
