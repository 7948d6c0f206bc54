#include "elb/proxy/http_parse.h"

#include <cstring>

namespace berth::elb::proxy {

namespace {

// RFC 7230 tchar.
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kToken = MakeTokenTable();

// Field-value bytes: VCHAR, SP, HTAB and obs-text; no other control characters.
constexpr std::array<bool, 256> MakeValueTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}
constexpr std::array<bool, 256> kValue = MakeValueTable();

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Content-Length: 1*DIGIT; a comma list of identical values is accepted (RFC 7230 §3.3.2).
bool ParseContentLengthValue(std::string_view v, uint64_t* out) {
  bool have = false;
  uint64_t first = 0;
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = TrimOws(v.substr(0, comma));
    if (item.empty() || item.size() > 18) {
      return false;
    }
    uint64_t n = 0;
    for (char c : item) {
      if (c < '0' || c > '9') {
        return false;
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (have && n != first) {
      return false;
    }
    have = true;
    first = n;
    if (comma == std::string_view::npos) {
      break;
    }
    v.remove_prefix(comma + 1);
  }
  *out = first;
  return true;
}

// The last transfer coding of a (possibly combined) Transfer-Encoding value. Sets *chunked_early
// if `chunked` appears before the end (never valid).
std::string_view LastCoding(std::string_view v, bool* chunked_early) {
  std::string_view last;
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = TrimOws(v.substr(0, comma));
    size_t semi = item.find(';');
    item = TrimOws(item.substr(0, semi));
    if (!item.empty()) {
      if (!last.empty() && IEquals(last, "chunked")) {
        *chunked_early = true;
      }
      last = item;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    v.remove_prefix(comma + 1);
  }
  return last;
}

void NoteConnection(std::string_view v, ConnectionInfo* c) {
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = TrimOws(v.substr(0, comma));
    if (IEquals(item, "close")) {
      c->close = true;
    } else if (IEquals(item, "keep-alive")) {
      c->keep_alive = true;
    } else if (IEquals(item, "upgrade")) {
      c->upgrade = true;
    } else if (!item.empty()) {
      c->other_tokens = true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    v.remove_prefix(comma + 1);
  }
}

// Reads one CRLF-terminated line starting at *pos. Returns false if the line has a bare CR or
// bare LF (or runs off the end, which FindHeadEnd rules out for whole heads).
bool NextLine(std::string_view head, size_t* pos, std::string_view* line) {
  const char* base = head.data() + *pos;
  size_t left = head.size() - *pos;
  const void* lf = std::memchr(base, '\n', left);
  if (lf == nullptr) {
    return false;
  }
  size_t len = static_cast<size_t>(static_cast<const char*>(lf) - base);
  if (len == 0 || base[len - 1] != '\r') {
    return false;
  }
  *line = std::string_view(base, len - 1);
  *pos += len + 1;
  return true;
}

// Parses "HTTP/1.x" into the minor version.
bool ParseVersion(std::string_view v, uint8_t* minor) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') {
    return false;
  }
  *minor = v[7] == '0' ? 0 : 1;
  return true;
}

// Header lines after the start line. `on_header(field)` returns a ParseError for semantic
// checks of known headers.
template <typename OnHeader>
ParseError ParseHeaderLines(std::string_view head, size_t pos,
                            std::array<HeaderField, kMaxHeaders>& headers, size_t* count,
                            OnHeader&& on_header) {
  *count = 0;
  while (true) {
    size_t begin = pos;
    std::string_view line;
    if (!NextLine(head, &pos, &line)) {
      return ParseError::BadHeader;
    }
    if (line.empty()) {
      return pos == head.size() ? ParseError::None : ParseError::BadHeader;
    }
    if (*count == kMaxHeaders) {
      return ParseError::TooManyHeaders;
    }
    size_t i = 0;
    while (i < line.size() && kToken[static_cast<unsigned char>(line[i])]) {
      ++i;
    }
    // No obs-fold, no empty name, no whitespace before the colon.
    if (i == 0 || i == line.size() || line[i] != ':') {
      return ParseError::BadHeader;
    }
    std::string_view name = line.substr(0, i);
    std::string_view value = line.substr(i + 1);
    for (char c : value) {
      if (!kValue[static_cast<unsigned char>(c)]) {
        return ParseError::BadHeader;
      }
    }
    value = TrimOws(value);
    HeaderField& f = headers[(*count)++];
    f.name = name;
    f.value = value;
    f.begin = static_cast<uint32_t>(begin);
    f.end = static_cast<uint32_t>(pos);
    ParseError e = on_header(f);
    if (e != ParseError::None) {
      return e;
    }
  }
}

const HeaderField* FindIn(const std::array<HeaderField, kMaxHeaders>& headers, size_t count,
                          std::string_view name) {
  for (size_t i = 0; i < count; ++i) {
    if (IEquals(headers[i].name, name)) {
      return &headers[i];
    }
  }
  return nullptr;
}

}  // namespace

const char* ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::None: return "none";
    case ParseError::BadRequestLine: return "bad request line";
    case ParseError::BadVersion: return "bad version";
    case ParseError::BadHeader: return "bad header";
    case ParseError::TooManyHeaders: return "too many headers";
    case ParseError::BadContentLength: return "bad content-length";
    case ParseError::BadTransferEncoding: return "bad transfer-encoding";
    case ParseError::MissingHost: return "missing host";
    case ParseError::DuplicateHost: return "duplicate host";
    case ParseError::BadStatusLine: return "bad status line";
  }
  return "?";
}



bool HasToken(std::string_view list, std::string_view token) {
  while (true) {
    size_t comma = list.find(',');
    if (IEquals(TrimOws(list.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    list.remove_prefix(comma + 1);
  }
}

size_t FindHeadEnd(const char* data, size_t size, size_t* scan) {
  size_t i = *scan;
  while (i < size) {
    const void* lf = std::memchr(data + i, '\n', size - i);
    if (lf == nullptr) {
      *scan = size;
      return 0;
    }
    i = static_cast<size_t>(static_cast<const char*>(lf) - data);
    // Need up to two more bytes to decide: "\n\n" or "\n\r\n".
    if (i + 1 >= size) {
      *scan = i;
      return 0;
    }
    if (data[i + 1] == '\n') {
      return i + 2;
    }
    if (data[i + 1] == '\r') {
      if (i + 2 >= size) {
        *scan = i;
        return 0;
      }
      if (data[i + 2] == '\n') {
        return i + 3;
      }
    }
    ++i;
  }
  *scan = i;
  return 0;
}

bool RequestHead::Idempotent() const {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

const HeaderField* RequestHead::Find(std::string_view name) const {
  return FindIn(headers, header_count, name);
}

const HeaderField* ResponseHead::Find(std::string_view name) const {
  return FindIn(headers, header_count, name);
}

ParseError ParseRequestHead(std::string_view head, RequestHead* out) {
  RequestHead& r = *out;
  r.head_len = static_cast<uint32_t>(head.size());
  r.header_count = 0;
  r.chunked = r.has_content_length = r.has_upgrade = r.expect_continue = r.absolute_form = false;
  r.content_length = 0;
  r.connection = ConnectionInfo{};
  r.host = {};
  r.query = {};

  size_t pos = 0;
  std::string_view line;
  if (!NextLine(head, &pos, &line)) {
    return ParseError::BadRequestLine;
  }
  // method SP request-target SP HTTP-version
  size_t sp1 = 0;
  while (sp1 < line.size() && kToken[static_cast<unsigned char>(line[sp1])]) {
    ++sp1;
  }
  if (sp1 == 0 || sp1 >= line.size() || line[sp1] != ' ') {
    return ParseError::BadRequestLine;
  }
  r.method = line.substr(0, sp1);
  size_t t0 = sp1 + 1;
  size_t sp2 = t0;
  while (sp2 < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[sp2]);
    if (c == ' ') {
      break;
    }
    if (c < 0x21 || c == 0x7f) {
      return ParseError::BadRequestLine;
    }
    ++sp2;
  }
  if (sp2 == t0 || sp2 >= line.size()) {
    return ParseError::BadRequestLine;
  }
  r.target = line.substr(t0, sp2 - t0);
  if (!ParseVersion(line.substr(sp2 + 1), &r.version_minor)) {
    return line.substr(sp2 + 1).substr(0, 5) == "HTTP/" ? ParseError::BadVersion
                                                         : ParseError::BadRequestLine;
  }

  std::string_view t = r.target;
  if (t[0] == '/') {
    size_t q = t.find('?');
    r.path = t.substr(0, q);
    if (q != std::string_view::npos) {
      r.query = t.substr(q + 1);
    }
  } else if (t == "*") {
    if (r.method != "OPTIONS") {
      return ParseError::BadRequestLine;
    }
    r.path = t;
  } else {
    size_t scheme_len = 0;
    if (t.size() > 7 && IEquals(t.substr(0, 7), "http://")) {
      scheme_len = 7;
    } else if (t.size() > 8 && IEquals(t.substr(0, 8), "https://")) {
      scheme_len = 8;
    } else {
      return ParseError::BadRequestLine;  // authority-form (CONNECT) is not proxied
    }
    std::string_view rest = t.substr(scheme_len);
    size_t slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
      return ParseError::BadRequestLine;
    }
    r.host = authority;
    r.absolute_form = true;
    std::string_view pq = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    size_t q = pq.find('?');
    r.path = pq.substr(0, q);
    if (q != std::string_view::npos) {
      r.query = pq.substr(q + 1);
    }
    if (r.path.empty()) {
      r.path = "/";
    }
  }

  bool have_host = false;
  bool have_te = false;
  bool chunked_early = false;
  std::string_view last_coding;
  ParseError e = ParseHeaderLines(
      head, pos, r.headers, &r.header_count, [&](const HeaderField& f) -> ParseError {
        std::string_view n = f.name;
        switch (n.size()) {
          case 4:
            if (IEquals(n, "host")) {
              if (have_host) {
                return ParseError::DuplicateHost;
              }
              have_host = true;
              if (!r.absolute_form) {
                r.host = f.value;
              }
            }
            break;
          case 6:
            if (IEquals(n, "expect") && IEquals(f.value, "100-continue")) {
              r.expect_continue = true;
            }
            break;
          case 7:
            if (IEquals(n, "upgrade")) {
              r.has_upgrade = true;
            }
            break;
          case 10:
            if (IEquals(n, "connection")) {
              NoteConnection(f.value, &r.connection);
            }
            break;
          case 14:
            if (IEquals(n, "content-length")) {
              uint64_t v = 0;
              if (!ParseContentLengthValue(f.value, &v) ||
                  (r.has_content_length && v != r.content_length)) {
                return ParseError::BadContentLength;
              }
              r.has_content_length = true;
              r.content_length = v;
            }
            break;
          case 17:
            if (IEquals(n, "transfer-encoding")) {
              have_te = true;
              std::string_view c = LastCoding(f.value, &chunked_early);
              if (!c.empty()) {
                if (!last_coding.empty() && IEquals(last_coding, "chunked")) {
                  chunked_early = true;
                }
                last_coding = c;
              }
            }
            break;
          default:
            break;
        }
        return ParseError::None;
      });
  if (e != ParseError::None) {
    return e;
  }
  if (have_te) {
    // HTTP/1.0 has no chunked coding; a coding other than a final chunked leaves the body
    // length unknowable (RFC 7230 §3.3.3: respond 400 and close).
    if (r.version_minor == 0 || chunked_early || !IEquals(last_coding, "chunked")) {
      return ParseError::BadTransferEncoding;
    }
    r.chunked = true;
  }
  if (!have_host && r.version_minor == 1 && !r.absolute_form) {
    return ParseError::MissingHost;
  }
  return ParseError::None;
}

ParseError ParseResponseHead(std::string_view head, ResponseHead* out) {
  ResponseHead& r = *out;
  r.head_len = static_cast<uint32_t>(head.size());
  r.header_count = 0;
  r.chunked = r.other_encoding = r.has_content_length = false;
  r.content_length = 0;
  r.connection = ConnectionInfo{};

  size_t pos = 0;
  std::string_view line;
  if (!NextLine(head, &pos, &line)) {
    return ParseError::BadStatusLine;
  }
  // HTTP-version SP status-code SP reason-phrase (the reason may be empty, SP optional then).
  if (line.size() < 12 || !ParseVersion(line.substr(0, 8), &r.version_minor) || line[8] != ' ') {
    return ParseError::BadStatusLine;
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      return ParseError::BadStatusLine;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || (line.size() > 12 && line[12] != ' ')) {
    return ParseError::BadStatusLine;
  }
  for (size_t i = 12; i < line.size(); ++i) {
    if (!kValue[static_cast<unsigned char>(line[i])]) {
      return ParseError::BadStatusLine;
    }
  }
  r.status = status;

  bool have_te = false;
  bool chunked_early = false;
  std::string_view last_coding;
  ParseError e = ParseHeaderLines(
      head, pos, r.headers, &r.header_count, [&](const HeaderField& f) -> ParseError {
        std::string_view n = f.name;
        if (n.size() == 10 && IEquals(n, "connection")) {
          NoteConnection(f.value, &r.connection);
        } else if (n.size() == 14 && IEquals(n, "content-length")) {
          uint64_t v = 0;
          if (!ParseContentLengthValue(f.value, &v) ||
              (r.has_content_length && v != r.content_length)) {
            return ParseError::BadContentLength;
          }
          r.has_content_length = true;
          r.content_length = v;
        } else if (n.size() == 17 && IEquals(n, "transfer-encoding")) {
          have_te = true;
          std::string_view c = LastCoding(f.value, &chunked_early);
          if (!c.empty()) {
            if (!last_coding.empty() && IEquals(last_coding, "chunked")) {
              chunked_early = true;
            }
            last_coding = c;
          }
        }
        return ParseError::None;
      });
  if (e != ParseError::None) {
    return e;
  }
  if (have_te) {
    if (chunked_early) {
      return ParseError::BadTransferEncoding;
    }
    if (IEquals(last_coding, "chunked")) {
      r.chunked = true;
    } else {
      r.other_encoding = true;  // body runs to the end of the connection
    }
  }
  return ParseError::None;
}

size_t ChunkedDecoder::Feed(char* data, size_t size, char** data_out) {
  size_t i = 0;
  while (i < size) {
    char c = data[i];
    switch (state_) {
      case State::Size: {
        int d;
        if (c >= '0' && c <= '9') {
          d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
          d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          d = c - 'A' + 10;
        } else {
          d = -1;
        }
        if (d >= 0) {
          if (digits_ == 15) {
            state_ = State::Error;  // over 2^60 bytes: not a real chunk
            return i;
          }
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
          ++digits_;
          ++i;
          break;
        }
        if (digits_ == 0) {
          state_ = State::Error;
          return i;
        }
        if (c == '\r') {
          state_ = State::SizeLf;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::Ext;
        } else {
          state_ = State::Error;
          return i;
        }
        ++i;
        break;
      }
      case State::Ext:
        // chunk-ext is ignored but must not hide a line break.
        if (c == '\r') {
          state_ = State::SizeLf;
        } else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) {
          state_ = State::Error;
          return i;
        }
        ++i;
        break;
      case State::SizeLf:
        if (c != '\n') {
          state_ = State::Error;
          return i;
        }
        ++i;
        digits_ = 0;
        state_ = remaining_ == 0 ? State::TrailerStart : State::Data;
        break;
      case State::Data: {
        size_t n = size - i;
        if (n > remaining_) {
          n = static_cast<size_t>(remaining_);
        }
        if (data_out != nullptr) {
          if (*data_out != data + i) {
            std::memmove(*data_out, data + i, n);
          }
          *data_out += n;
        }
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::DataCr;
        }
        break;
      }
      case State::DataCr:
        if (c != '\r') {
          state_ = State::Error;
          return i;
        }
        ++i;
        state_ = State::DataLf;
        break;
      case State::DataLf:
        if (c != '\n') {
          state_ = State::Error;
          return i;
        }
        ++i;
        state_ = State::Size;
        break;
      case State::TrailerStart:
        if (c == '\r') {
          state_ = State::LastLf;
        } else if (c == '\n') {
          state_ = State::Error;
          return i;
        } else {
          state_ = State::Trailer;
        }
        ++i;
        break;
      case State::Trailer:
        if (c == '\r') {
          state_ = State::TrailerLf;
        } else if (c == '\n') {
          state_ = State::Error;
          return i;
        }
        ++i;
        break;
      case State::TrailerLf:
        if (c != '\n') {
          state_ = State::Error;
          return i;
        }
        ++i;
        state_ = State::TrailerStart;
        break;
      case State::LastLf:
        if (c != '\n') {
          state_ = State::Error;
          return i;
        }
        ++i;
        state_ = State::Done;
        return i;
      case State::Done:
      case State::Error:
        return i;
    }
  }
  return i;
}

}  // namespace berth::elb::proxy
