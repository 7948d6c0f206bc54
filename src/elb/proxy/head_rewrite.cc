#include "elb/proxy/head_rewrite.h"

namespace berth::elb::proxy {

namespace {

// Hop-by-hop headers of RFC 7230 §6.1 (plus the legacy ones every proxy drops).
bool IsHopByHop(std::string_view n, bool upgrade) {
  switch (n.size()) {
    case 2:
      return IEquals(n, "te");
    case 7:
      return IEquals(n, "trailer") || (!upgrade && IEquals(n, "upgrade"));
    case 10:
      return IEquals(n, "connection") || IEquals(n, "keep-alive");
    case 16:
      return IEquals(n, "proxy-connection");
    default:
      return false;
  }
}

// Headers named by a Connection header are hop-by-hop too.
template <typename Head>
bool NamedByConnection(const Head& h, std::string_view name) {
  if (!h.connection.other_tokens) {
    return false;
  }
  for (size_t i = 0; i < h.header_count; ++i) {
    const HeaderField& f = h.headers[i];
    if (f.name.size() == 10 && IEquals(f.name, "connection") && HasToken(f.value, name)) {
      return true;
    }
  }
  return false;
}

// Copies the kept header lines: runs of consecutive kept lines are appended in one go.
class RunCopier {
 public:
  RunCopier(std::string_view raw, std::string* out, uint32_t first) : raw_(raw), out_(out),
      run_(first) {}
  void Drop(const HeaderField& f) {
    if (f.begin > run_) {
      out_->append(raw_.data() + run_, f.begin - run_);
    }
    run_ = f.end;
  }
  void Finish(uint32_t headers_end) {
    if (headers_end > run_) {
      out_->append(raw_.data() + run_, headers_end - run_);
    }
  }

 private:
  std::string_view raw_;
  std::string* out_;
  uint32_t run_;
};

// Where the header lines start (after the start line) and end (before the blank line).
uint32_t StartLineEnd(std::string_view raw) {
  size_t lf = raw.find('\n');
  return static_cast<uint32_t>(lf + 1);
}

}  // namespace

void BuildUpstreamRequestHead(std::string_view raw, const RequestHead& h,
                              const ForwardContext& ctx, std::string* out) {
  out->append(h.method);
  out->push_back(' ');
  if (h.absolute_form) {
    out->append(h.path);
    if (!h.query.empty()) {
      out->push_back('?');
      out->append(h.query);
    }
  } else {
    out->append(h.target);
  }
  out->append(" HTTP/1.1\r\n");

  uint32_t first = StartLineEnd(raw);
  uint32_t headers_end = static_cast<uint32_t>(raw.size()) - 2;  // before the blank CRLF
  RunCopier copy(raw, out, first);
  bool have_host = false;
  bool have_trace = false;
  // X-Forwarded-For values of the client, merged in order (views into raw).
  std::string_view xff[8];
  size_t xff_count = 0;
  bool xff_overflow = false;
  for (size_t i = 0; i < h.header_count; ++i) {
    const HeaderField& f = h.headers[i];
    std::string_view n = f.name;
    bool drop = IsHopByHop(n, ctx.upgrade);
    if (!drop) {
      // Headers the proxy relies on (framing, Host, trace) cannot be made hop-by-hop by
      // naming them in Connection.
      bool protect = false;
      switch (n.size()) {
        case 4:
          if (IEquals(n, "host")) {
            have_host = true;
            drop = h.absolute_form;
            protect = true;
          }
          break;
        case 14:
          if (IEquals(n, "content-length")) {
            drop = h.chunked;
            protect = true;
          }
          break;
        case 15:
          if (IEquals(n, "x-forwarded-for")) {
            drop = true;
            if (!f.value.empty()) {
              if (xff_count < 8) {
                xff[xff_count++] = f.value;
              } else {
                xff_overflow = true;
              }
            }
          } else if (IEquals(n, "x-amzn-trace-id")) {
            have_trace = true;
            protect = true;
          }
          break;
        case 16:
          drop = IEquals(n, "x-forwarded-port");
          break;
        case 17:
          drop = IEquals(n, "x-forwarded-proto");
          protect = IEquals(n, "transfer-encoding");
          break;
        default:
          break;
      }
      if (!drop && !protect) {
        drop = NamedByConnection(h, n);
      }
    }
    if (drop) {
      copy.Drop(f);
    }
  }
  copy.Finish(headers_end);

  if (h.absolute_form) {
    out->append("Host: ");
    out->append(h.host);
    out->append("\r\n");
  } else if (!have_host && !ctx.default_host.empty()) {
    out->append("Host: ");
    out->append(ctx.default_host);
    out->append("\r\n");
  }
  out->append("X-Forwarded-For: ");
  for (size_t i = 0; i < xff_count; ++i) {
    out->append(xff[i]);
    out->append(", ");
  }
  if (xff_overflow) {
    // More than 8 lines: rare enough to take the slow way for the rest.
    size_t seen = 0;
    for (size_t i = 0; i < h.header_count; ++i) {
      const HeaderField& f = h.headers[i];
      if (f.name.size() == 15 && IEquals(f.name, "x-forwarded-for") && !f.value.empty()) {
        if (++seen > 8) {
          out->append(f.value);
          out->append(", ");
        }
      }
    }
  }
  out->append(ctx.client_ip);
  out->append("\r\nX-Forwarded-Proto: ");
  out->append(ctx.proto);
  out->append("\r\nX-Forwarded-Port: ");
  out->append(ctx.port);
  out->append("\r\n");
  if (!have_trace) {
    out->append("X-Amzn-Trace-Id: ");
    out->append(ctx.new_trace_id);
    out->append("\r\n");
  }
  if (ctx.upgrade) {
    out->append("Connection: Upgrade\r\n");
  }
  out->append("\r\n");
}

void BuildClientResponseHead(std::string_view raw, const ResponseHead& h,
                             const ResponseContext& ctx, std::string* out) {
  uint32_t first = StartLineEnd(raw);
  // The proxy speaks HTTP/1.1 to its client whatever the target spoke.
  out->append("HTTP/1.1");
  out->append(raw.data() + 8, first - 8);
  uint32_t headers_end = static_cast<uint32_t>(raw.size()) - 2;
  RunCopier copy(raw, out, first);
  for (size_t i = 0; i < h.header_count; ++i) {
    const HeaderField& f = h.headers[i];
    std::string_view n = f.name;
    bool drop = IsHopByHop(n, ctx.upgrade);
    if (!drop) {
      if (n.size() == 17 && IEquals(n, "transfer-encoding")) {
        drop = ctx.dechunk;
      } else if (n.size() == 14 && IEquals(n, "content-length")) {
        // With chunked framing Content-Length is meaningless; never pass both.
        drop = h.chunked || ctx.dechunk;
      } else {
        drop = NamedByConnection(h, n);
      }
    }
    if (drop) {
      copy.Drop(f);
    }
  }
  copy.Finish(headers_end);
  out->append(ctx.extra);
  if (ctx.upgrade) {
    out->append("Connection: Upgrade\r\n");
  } else if (ctx.close) {
    out->append("Connection: close\r\n");
  } else if (ctx.keep_alive_http10) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
}

}  // namespace berth::elb::proxy
