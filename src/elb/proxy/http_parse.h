#pragma once
// HTTP/1.x message heads and chunked framing for the proxy, over the proxy's own buffers.
//
// The proxy forwards raw header bytes, so parsing only finds what it needs to route and frame a
// message: the request line, each header line's byte range, and the framing/connection headers.
// Nothing here allocates; results are views into the caller's buffer (valid while it is).
//
// Strictness (a proxy must agree with the backend on where a message ends, or requests can be
// smuggled): CRLF line endings only, no obs-fold, header names must be tokens, no whitespace
// before the colon, one Host, Content-Length all digits (repeats must agree), Transfer-Encoding
// on a request must end in `chunked` and wins over Content-Length (which is then dropped).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/text.h"

namespace berth::elb::proxy {

inline constexpr size_t kMaxHeaders = 128;

struct HeaderField {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
  uint32_t begin = 0;      // the whole line (name through CRLF) is head[begin, end)
  uint32_t end = 0;
};

enum class ParseError : uint8_t {
  None,
  BadRequestLine,
  BadVersion,
  BadHeader,
  TooManyHeaders,
  BadContentLength,
  BadTransferEncoding,
  MissingHost,
  DuplicateHost,
  BadStatusLine,
};
const char* ParseErrorName(ParseError e);

// Which well-known headers a head carries, found in the same pass as the rest.
struct ConnectionInfo {
  bool close = false;       // Connection: close
  bool keep_alive = false;  // Connection: keep-alive
  bool upgrade = false;     // Connection: upgrade
  bool other_tokens = false;  // Connection names other headers (they are hop-by-hop too)
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // as sent (origin-form, absolute-form, or "*")
  std::string_view path;    // target without query (absolute-form: the path part, "/" if none)
  std::string_view query;   // after '?', without it; empty if none
  std::string_view host;    // Host header, or the authority of an absolute-form target
  uint8_t version_minor = 1;
  uint32_t head_len = 0;  // bytes including the blank line
  size_t header_count = 0;
  std::array<HeaderField, kMaxHeaders> headers;

  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  ConnectionInfo connection;
  bool has_upgrade = false;       // an Upgrade header is present
  bool expect_continue = false;   // Expect: 100-continue
  bool absolute_form = false;

  // First header with this name (case-insensitive), or null.
  const HeaderField* Find(std::string_view name) const;
  // True for GET, HEAD, OPTIONS, PUT, DELETE, TRACE (RFC 7231 §4.2.2).
  bool Idempotent() const;
  bool IsHead() const { return method == "HEAD"; }
};

struct ResponseHead {
  int status = 0;
  uint8_t version_minor = 1;
  uint32_t head_len = 0;
  size_t header_count = 0;
  std::array<HeaderField, kMaxHeaders> headers;
  bool chunked = false;           // Transfer-Encoding ends in chunked
  bool other_encoding = false;    // Transfer-Encoding present but not ending in chunked
  bool has_content_length = false;
  uint64_t content_length = 0;
  ConnectionInfo connection;

  const HeaderField* Find(std::string_view name) const;
};

// Looks for the end of a head in data[0, size). `*scan` keeps the search position between calls
// (start it at 0 for a new head). Returns the head length including the blank line, or 0 if the
// blank line has not arrived yet. A bare-LF blank line also ends the head (the parser then
// rejects it), so a client that sends LF-only lines gets a 400 rather than a timeout.
size_t FindHeadEnd(const char* data, size_t size, size_t* scan);

// Parses a complete request head (as delimited by FindHeadEnd). On error `out` is partly filled.
ParseError ParseRequestHead(std::string_view head, RequestHead* out);
// Parses a complete response head.
ParseError ParseResponseHead(std::string_view head, ResponseHead* out);

// ASCII case-insensitive equality.
inline bool IEquals(std::string_view a, std::string_view b) { return core::EqualsIgnoreCase(a, b); }
// True if the comma-separated list contains `token` (case-insensitive, whitespace ignored).
bool HasToken(std::string_view list, std::string_view token);

// Incremental chunked-body framing (RFC 7230 §4.1). Feed consumes chunk framing and data up to
// the end of the message (last chunk, trailers, final CRLF) and never beyond, so what follows
// is the next message. With `data_out` set, only chunk data is kept: it is moved down to
// *data_out (which never passes the read position) and *data_out advances — that is how a
// chunked response is de-chunked in place for an HTTP/1.0 client.
class ChunkedDecoder {
 public:
  void Reset() { *this = ChunkedDecoder(); }
  size_t Feed(char* data, size_t size, char** data_out);
  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Error; }

 private:
  enum class State : uint8_t {
    Size, Ext, SizeLf, Data, DataCr, DataLf, TrailerStart, Trailer, TrailerLf, LastLf, Done, Error
  };
  State state_ = State::Size;
  uint8_t digits_ = 0;
  uint64_t remaining_ = 0;
};

}  // namespace berth::elb::proxy
