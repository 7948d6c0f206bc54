#pragma once
// Responses the load balancer writes itself, in ALB's shape: error pages (400, 502, 503, 504,
// ...), fixed-response and redirect actions. ALB sends `Server: awselb/2.0`, a Date, and for
// errors and redirects a small HTML page:
//   <html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n
//   <center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n

#include <cstdint>
#include <string>
#include <string_view>

#include "elb/routing_table.h"

namespace berth::elb::proxy {

std::string_view ReasonPhrase(int status);

// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (exactly 29 characters).
inline constexpr size_t kHttpDateLen = 29;
void FormatHttpDate(int64_t unix_seconds, char* out);

// Appends a whole response. `close` adds `Connection: close` (else `keep-alive`);
// `head_only` leaves the body out (the answer to a HEAD request) but keeps its length.
void AppendErrorResponse(std::string* out, int status, std::string_view date, bool close,
                         bool head_only);
void AppendFixedResponse(std::string* out, int status, std::string_view content_type,
                         std::string_view body, std::string_view date, bool close,
                         bool head_only);
void AppendRedirectResponse(std::string* out, int status, std::string_view location,
                            std::string_view date, bool close, bool head_only);

// The request components a redirect can reuse.
struct RedirectInput {
  std::string_view protocol;  // "http" or "https"
  std::string_view host;      // Host without its port
  uint16_t port = 80;         // the listener's port
  std::string_view path;      // with its leading '/'
  std::string_view query;     // without '?'
};

// The Location of a redirect action. Each field may use #{protocol}, #{host}, #{port}, #{path}
// (the original path without its leading '/', as ALB defines it) and #{query}; an empty field
// keeps the original component (protocol #{protocol}, host #{host}, port #{port},
// path /#{path}, query #{query}). The protocol is written in lower case; the port is always
// written, as ALB does ("https://example.com:443/a?b=c").
std::string BuildRedirectLocation(const Action& action, const RedirectInput& in);

}  // namespace berth::elb::proxy
