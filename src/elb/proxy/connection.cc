#include "elb/proxy/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "elb/proxy/access_log.h"
#include "elb/proxy/alb_responses.h"
#include "elb/proxy/head_rewrite.h"
#include "elb/proxy/listener.h"
#include "elb/proxy/tls.h"
#include "elb/proxy/upstream_pool.h"

namespace berth::elb::proxy {

namespace {

constexpr int64_t kHeaderTimeoutMs = 60000;  // a head must complete within this (slowloris)
constexpr int64_t kLingerMs = 1000;          // drain unread input this long before closing
constexpr int64_t kDefaultIdleMs = 60000;

// Error reasons written to the access log.
constexpr const char* kReasonRefused = "TargetConnectionRefused";
constexpr const char* kReasonConnectError = "TargetConnectionError";
constexpr const char* kReasonConnectTimeout = "TargetConnectTimeout";
constexpr const char* kReasonResponseTimeout = "TargetResponseTimeout";
constexpr const char* kReasonTargetClosed = "TargetClosedConnection";
constexpr const char* kReasonTargetReset = "TargetResetConnection";
constexpr const char* kReasonBadResponse = "TargetMalformedResponse";
constexpr const char* kReasonDeregistered = "TargetDeregistered";
constexpr const char* kReasonClientClosed = "ClientClosedConnection";
constexpr const char* kReasonNoTargets = "NoHealthyTargets";
constexpr const char* kReasonNoRule = "NoMatchingRule";
constexpr const char* kReasonBadBody = "MalformedRequestBody";

uint32_t ClientBufferLimit(size_t max_header) {
  size_t limit = std::max<size_t>(BufferPool::kBlockSize, max_header + 1024);
  return static_cast<uint32_t>(std::min<size_t>(limit, 1u << 30));
}

}  // namespace

ClientConn::ClientConn(Loop& loop, ListenerLocal& listener, int fd, const sockaddr_storage& peer)
    : loop_(loop), listener_(listener), fd_(fd) {
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &a->sin_addr, peer_ip_, sizeof(peer_ip_));
    peer_port_ = ntohs(a->sin_port);
  } else if (peer.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], peer_ip_, sizeof(peer_ip_));
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, peer_ip_, sizeof(peer_ip_));
    }
    peer_port_ = ntohs(a->sin6_port);
  }
  peer_ip_len_ = static_cast<uint8_t>(std::strlen(peer_ip_));
  ParseIp(std::string_view(peer_ip_, peer_ip_len_), &peer_addr_);
}

ClientConn::~ClientConn() = default;

bool ClientConn::Start() {
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (listener_.socket().tls != nullptr) {
    ssl_ = SSL_new(listener_.socket().tls);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
      Close();
      return false;
    }
    SSL_set_accept_state(ssl_);
  }
  if (!loop_.Register(fd_, this, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    Close();
    return false;
  }
  last_active_ms_ = loop_.now_ms();
  UpdateDeadline();
  return true;
}

void ClientConn::OnEvents(uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    can_read_ = true;
  }
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
    can_write_ = true;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    peer_closed_ = true;
  }
  // A TLS record layer may need the other direction to make progress.
  if (tls_read_wants_write_ && (events & EPOLLOUT)) {
    can_read_ = true;
  }
  if (tls_write_wants_read_ && (events & EPOLLIN)) {
    can_write_ = true;
  }
  Drive();
}

void ClientConn::OnUpstreamEvents() { Drive(); }

void ClientConn::Drive() {
  if (in_drive_) {
    return;
  }
  in_drive_ = true;
  // Each step runs until it blocks on I/O or changes state; a state change runs the next.
  while (!closed_) {
    uint32_t epoch = epoch_;
    switch (state_) {
      case State::ReadHead:
        StepReadHead();
        break;
      case State::Exchange:
        StepExchange();
        break;
      case State::Tunnel:
        StepTunnel();
        break;
      case State::Linger:
        StepLinger();
        break;
    }
    if (epoch == epoch_) {
      break;
    }
  }
  in_drive_ = false;
  if (!closed_) {
    UpdateDeadline();
  }
}

void ClientConn::UpdateDeadline() {
  const ListenerRoute* route = listener_.Route();
  int64_t idle = route != nullptr && route->idle_timeout_seconds > 0
                     ? static_cast<int64_t>(route->idle_timeout_seconds) * 1000
                     : kDefaultIdleMs;
  const ProxyOptions& opt = loop_.options();
  int64_t d = 0;
  switch (state_) {
    case State::ReadHead:
      d = in_.empty() ? last_active_ms_ + idle
                      : head_start_ms_ + std::min(kHeaderTimeoutMs, idle);
      break;
    case State::Exchange:
      if (x_.local || up_ == nullptr) {
        d = last_active_ms_ + idle;
      } else if (up_->state == UpstreamConn::State::Connecting) {
        d = x_.connect_start_ms + opt.connect_timeout_ms;
      } else if (!x_.rsp_head_done && x_.req_done) {
        d = x_.req_done_ms + opt.upstream_timeout_ms;
      } else {
        d = last_active_ms_ + idle;
      }
      break;
    case State::Tunnel:
      d = last_active_ms_ + idle;
      break;
    case State::Linger:
      d = linger_start_ms_ + kLingerMs;
      break;
  }
  loop_.SetDeadline(this, d);
}

void ClientConn::OnTimer() {
  switch (state_) {
    case State::ReadHead:
      Close();  // idle keep-alive connection, or a head that never completed
      return;
    case State::Exchange:
      if (x_.local || up_ == nullptr) {
        Close();
        return;
      }
      if (up_->state == UpstreamConn::State::Connecting) {
        Fail(504, kReasonConnectTimeout);
      } else if (!x_.rsp_head_done && x_.req_done) {
        Fail(504, kReasonResponseTimeout);
      } else {
        Close();  // nothing moved for the idle timeout while streaming
        return;
      }
      break;
    case State::Tunnel:
    case State::Linger:
      Close();
      return;
  }
  Drive();
}

ClientConn::Span ClientConn::SpanOf(std::string_view v) const {
  if (v.empty()) {
    return Span{};
  }
  return Span{static_cast<uint32_t>(v.data() - in_.p), static_cast<uint32_t>(v.size())};
}

// ---------------------------------------------------------------------------------------------
// Reading a request head

void ClientConn::StepReadHead() {
  const size_t max_head = loop_.options().max_header_bytes;
  const uint32_t limit = ClientBufferLimit(max_head);
  for (;;) {
    if (!in_.empty()) {
      if (scan_ == 0) {
        // Empty lines before a request line are ignored (RFC 7230 §3.5).
        while (!in_.empty() && (in_.p[in_.b] == '\r' || in_.p[in_.b] == '\n')) {
          ++in_.b;
        }
      }
      if (!in_.empty()) {
        size_t len = FindHeadEnd(in_.rd(), in_.size(), &scan_);
        if (len > 0) {
          BeginExchange(static_cast<uint32_t>(len));
          return;
        }
        if (in_.size() > max_head) {
          BeginExchange(0);  // oversized head: answered 400
          return;
        }
      } else {
        in_.b = in_.e = 0;
        scan_ = 0;
      }
    }
    if (!can_read_) {
      if (in_.has_block() && in_.empty()) {
        loop_.buffers().Release(in_);
      }
      return;
    }
    if (!loop_.buffers().Reserve(in_, 1, 0, limit)) {
      BeginExchange(0);
      return;
    }
    uint32_t space = in_.space();
    long n = ReadClient(in_.wr(), space);
    if (n > 0) {
      if (in_.empty()) {
        head_start_ms_ = loop_.now_ms();
        scan_ = 0;
      }
      in_.e += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      // A short read drained the socket: the next bytes bring a new edge.
      if (ssl_ == nullptr && static_cast<uint32_t>(n) < space && !peer_closed_) {
        can_read_ = false;
      }
      continue;
    }
    if (n == kIoAgain) {
      can_read_ = false;
      continue;
    }
    Close();  // EOF or error between requests
    return;
  }
}

void ClientConn::BeginExchange(uint32_t head_len) {
  if (in_.b != 0) {
    uint32_t n = in_.size();
    std::memmove(in_.p, in_.rd(), n);
    in_.b = 0;
    in_.e = n;
  }
  x_ = Exchange{};
  redirect_url_.clear();
  x_.active = true;
  x_.t_start_us = loop_.now_us();
  x_.wall_start_us = loop_.wall_us();
  scan_ = 0;
  SetState(State::Exchange);

  RequestHead& h = loop_.request_head();
  ParseError pe = ParseError::BadHeader;  // head_len == 0: the head is too large
  if (head_len > 0 && head_len <= loop_.options().max_header_bytes) {
    pe = ParseRequestHead(std::string_view(in_.p, head_len), &h);
  }
  if (head_len == 0 || pe != ParseError::None) {
    // Everything buffered is junk: nothing after it can be framed.
    x_.head_len = 0;
    x_.req_fwd = in_.e;
    in_.b = in_.e;
    x_.rx_bytes = in_.e;
    x_.req_framed = x_.req_done = true;
    x_.client_close = true;
    x_.error_reason = ParseErrorName(pe);
    QueueElbResponse(400);
    return;
  }
  x_.head_len = head_len;
  x_.req_fwd = head_len;
  in_.b = head_len;
  x_.rx_bytes = head_len;
  x_.method = SpanOf(h.method);
  x_.target = SpanOf(h.target);
  x_.host = SpanOf(StripPort(h.host));
  if (const HeaderField* ua = h.Find("user-agent")) {
    x_.user_agent = SpanOf(ua->value);
  }
  if (const HeaderField* t = h.Find("x-amzn-trace-id")) {
    x_.trace_id = SpanOf(t->value);
  }
  x_.http10 = h.version_minor == 0;
  x_.is_head = h.IsHead();
  x_.client_close = x_.http10 ? !(h.connection.keep_alive && !h.connection.close)
                              : h.connection.close;
  x_.upgrade = !x_.http10 && h.connection.upgrade && h.has_upgrade;
  if (h.chunked) {
    x_.req_kind = Body::Chunked;
  } else if (h.has_content_length && h.content_length > 0) {
    x_.req_kind = Body::Length;
    x_.req_remaining = h.content_length;
  } else {
    x_.req_kind = Body::None;
    x_.req_framed = true;
  }
  x_.retry_ok = h.Idempotent() && x_.req_kind == Body::None;
  Route(h);
}

void ClientConn::Route(const RequestHead& h) {
  if (table_.get() != loop_.table().get()) {
    table_ = loop_.table();  // keeps every route/group pointer of this exchange alive
  }
  route_ = listener_.Route();
  if (route_ == nullptr) {
    x_.error_reason = kReasonNoRule;
    QueueElbResponse(503);
    return;
  }
  RequestView view;
  view.host = h.host;
  view.path = h.path;
  view.query = h.query;
  view.method = h.method;
  view.headers = std::span<const HeaderField>(h.headers.data(), h.header_count);
  view.source = peer_addr_;
  int idx = FindRule(*route_, view);
  if (idx < 0) {
    x_.error_reason = kReasonNoRule;
    QueueElbResponse(503);
    return;
  }
  const RuleRoute& rule = route_->rules[static_cast<size_t>(idx)];
  x_.rule_index = idx;
  x_.rule_priority = rule.priority;
  const Action& a = rule.action;
  switch (a.kind) {
    case ActionKind::FixedResponse: {
      x_.action_name = "fixed-response";
      PrepareLocal();
      std::string& s = loop_.scratch();
      s.clear();
      AppendFixedResponse(&s, a.status_code, a.content_type, a.body, loop_.HttpDate(),
                          x_.client_close, x_.is_head);
      QueueLocal(s, a.status_code);
      return;
    }
    case ActionKind::Redirect: {
      x_.action_name = "redirect";
      RedirectInput in;
      in.protocol = ssl_ != nullptr ? "https" : "http";
      in.host = StripPort(h.host);
      in.port = listener_.socket().port;
      in.path = h.path;
      in.query = h.query;
      redirect_url_ = BuildRedirectLocation(a, in);
      PrepareLocal();
      std::string& s = loop_.scratch();
      s.clear();
      int status = a.redirect_status == 302 ? 302 : 301;
      AppendRedirectResponse(&s, status, redirect_url_, loop_.HttpDate(), x_.client_close,
                             x_.is_head);
      QueueLocal(s, status);
      return;
    }
    case ActionKind::Forward:
      x_.action_name = "forward";
      StartForward(h, a);
      return;
  }
}

const TargetGroupRoute* ClientConn::PickGroup(const RequestHead& h, const Action& a,
                                              size_t* group_index) {
  const auto& fw = a.forward;
  if (fw.empty()) {
    return nullptr;
  }
  if (fw.size() == 1) {
    *group_index = 0;
    return fw[0].group.get();
  }
  std::span<const HeaderField> headers(h.headers.data(), h.header_count);
  if (a.group_stickiness) {
    x_.group_cookie = true;
    x_.group_cookie_seconds = a.group_stickiness_seconds;
    std::string_view tok = FindCookie(headers, "AWSALBTG");
    if (tok.empty()) {
      tok = FindCookie(headers, "AWSALBTGCORS");
    }
    if (tok.size() == kGroupTokenLen) {
      char want[kGroupTokenLen];
      for (size_t i = 0; i < fw.size(); ++i) {
        if (fw[i].weight == 0 || fw[i].group == nullptr) {
          continue;
        }
        EncodeGroupToken(fw[i].group->arn, want);
        if (tok == std::string_view(want, kGroupTokenLen)) {
          *group_index = i;
          return fw[i].group.get();
        }
      }
    }
  }
  uint64_t total = 0;
  for (const WeightedTargetGroup& w : fw) {
    if (w.group != nullptr) {
      total += w.weight;
    }
  }
  if (total == 0) {
    return nullptr;
  }
  uint64_t r = loop_.Random() % total;
  for (size_t i = 0; i < fw.size(); ++i) {
    if (fw[i].group == nullptr) {
      continue;
    }
    if (r < fw[i].weight) {
      *group_index = i;
      return fw[i].group.get();
    }
    r -= fw[i].weight;
  }
  return nullptr;
}

int ClientConn::PickBackend(const RequestHead& h, const TargetGroupRoute& g,
                            size_t group_index) {
  const auto& targets = g.routable;
  size_t n = targets.size();
  if (n == 0) {
    return -1;
  }
  if (g.stickiness) {
    std::span<const HeaderField> headers(h.headers.data(), h.header_count);
    std::string_view tok = FindCookie(headers, "AWSALB");
    if (tok.empty()) {
      tok = FindCookie(headers, "AWSALBCORS");
    }
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!tok.empty() && DecodeStickyToken(tok, g.arn, &ip, &port)) {
      for (size_t i = 0; i < n; ++i) {
        if (targets[i] != nullptr && SameTarget(targets[i]->ip, targets[i]->port, ip, port)) {
          return static_cast<int>(i);
        }
      }
    }
  }
  uint32_t c = listener_.NextCounter(static_cast<size_t>(x_.rule_index), group_index);
  if (n == 1) {
    return targets[0] != nullptr ? 0 : -1;
  }
  if (g.algorithm == Algorithm::LeastOutstandingRequests) {
    // Fewest in flight; ties go round-robin (the scan starts at the counter).
    size_t best = n;
    int64_t best_v = INT64_MAX;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (c + k) % n;
      if (targets[i] == nullptr) {
        continue;
      }
      int64_t v = targets[i]->in_flight.load(std::memory_order_relaxed);
      if (v < best_v) {
        best_v = v;
        best = i;
      }
    }
    return best == n ? -1 : static_cast<int>(best);
  }
  for (size_t k = 0; k < n; ++k) {
    size_t i = (c + k) % n;
    if (targets[i] != nullptr) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void ClientConn::StartForward(const RequestHead& h, const Action& a) {
  size_t gi = 0;
  const TargetGroupRoute* g = PickGroup(h, a, &gi);
  if (g == nullptr) {
    x_.error_reason = kReasonNoTargets;
    QueueElbResponse(503);
    return;
  }
  x_.group = g;
  x_.stats = g->stats.get();
  if (x_.stats != nullptr) {
    x_.stats->requests.fetch_add(1, std::memory_order_relaxed);
  }
  int bi = PickBackend(h, *g, gi);
  if (bi < 0) {
    x_.error_reason = kReasonNoTargets;
    CountElbError(503);
    QueueElbResponse(503);
    return;
  }
  const std::shared_ptr<Backend>& b = g->routable[static_cast<size_t>(bi)];
  x_.backend = b.get();
  x_.in_flight_counted = true;
  b->in_flight.fetch_add(1, std::memory_order_relaxed);
  b->requests_total.fetch_add(1, std::memory_order_relaxed);
  if (g->stickiness) {
    x_.sticky_cookie = EncodeStickyToken(g->arn, b->ip, b->port, x_.sticky_token);
  }

  ForwardContext ctx;
  ctx.client_ip = std::string_view(peer_ip_, peer_ip_len_);
  ctx.proto = ssl_ != nullptr ? "https" : "http";
  ctx.port = listener_.socket().port_text;
  ctx.upgrade = x_.upgrade;
  if (x_.trace_id.len == 0) {
    loop_.NewTraceId(x_.new_trace);
    ctx.new_trace_id = std::string_view(x_.new_trace, sizeof(x_.new_trace));
  }
  std::string default_host;
  if (h.host.empty()) {
    default_host = listener_.socket().address + ":" + listener_.socket().port_text;
    ctx.default_host = default_host;
  }
  std::string& s = loop_.scratch();
  s.clear();
  BuildUpstreamRequestHead(std::string_view(in_.p, x_.head_len), h, ctx, &s);
  if (!AttachUpstream(b, false)) {
    return;
  }
  loop_.buffers().Append(up_->out, s.data(), s.size());
}

bool ClientConn::AttachUpstream(std::shared_ptr<Backend> backend, bool fresh_only) {
  UpstreamConn* u = fresh_only ? nullptr : loop_.pool().TakeIdle(backend.get());
  if (u == nullptr) {
    int err = 0;
    u = UpstreamConn::Connect(loop_, std::move(backend), &err);
    if (u == nullptr) {
      Fail(502, err == ECONNREFUSED ? kReasonRefused : kReasonConnectError);
      return false;
    }
    x_.connect_start_ms = loop_.now_ms();
  }
  u->client = this;
  up_ = u;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Local (ELB-generated) responses

void ClientConn::PrepareLocal() {
  // A body already buffered in full is skipped, so the connection can stay open; one that is
  // still on its way would have to be read and thrown away: close instead.
  if (!x_.req_framed && !FrameRequestBody()) {
    x_.client_close = true;
  }
  if (!x_.req_framed) {
    x_.client_close = true;
  }
  in_.b = x_.req_fwd;
  x_.req_done = true;
}

void ClientConn::QueueLocal(std::string_view bytes, int status) {
  x_.local = true;
  x_.elb_status = status;
  loop_.buffers().Append(out_, bytes.data(), bytes.size());
  ++epoch_;
}

void ClientConn::QueueElbResponse(int status) {
  PrepareLocal();
  std::string& s = loop_.scratch();
  s.clear();
  AppendErrorResponse(&s, status, loop_.HttpDate(), x_.client_close || status == 400,
                      x_.is_head);
  if (status == 400) {
    x_.client_close = true;  // ALB closes after a malformed request
  }
  QueueLocal(s, status);
}

void ClientConn::StepLocal() {
  if (!FlushClient()) {
    return;
  }
  FinishExchange();
}

// ---------------------------------------------------------------------------------------------
// Forwarding

void ClientConn::StepExchange() {
  if (x_.local) {
    StepLocal();
    return;
  }
  if (up_ == nullptr) {
    return;
  }
  if (up_->state == UpstreamConn::State::Connecting) {
    int err = 0;
    if (!up_->FinishConnect(&err)) {
      if (err != 0) {
        Fail(502, err == ECONNREFUSED ? kReasonRefused : kReasonConnectError);
      }
      return;
    }
  }
  uint32_t epoch = epoch_;
  PumpRequest();
  if (closed_ || epoch != epoch_) {
    return;
  }
  PumpResponse();
}

bool ClientConn::FrameRequestBody() {
  uint32_t avail = in_.e - x_.req_fwd;
  switch (x_.req_kind) {
    case Body::None:
    case Body::UntilEof:
      x_.req_framed = true;
      return true;
    case Body::Length: {
      uint64_t n = std::min<uint64_t>(avail, x_.req_remaining);
      x_.req_fwd += static_cast<uint32_t>(n);
      x_.req_remaining -= n;
      x_.rx_bytes += n;
      if (x_.req_remaining == 0) {
        x_.req_framed = true;
      }
      return true;
    }
    case Body::Chunked: {
      if (avail == 0) {
        return true;
      }
      size_t n = x_.req_chunks.Feed(in_.p + x_.req_fwd, avail, nullptr);
      x_.req_fwd += static_cast<uint32_t>(n);
      x_.rx_bytes += n;
      if (x_.req_chunks.failed()) {
        return false;
      }
      if (x_.req_chunks.done()) {
        x_.req_framed = true;
      }
      return true;
    }
  }
  return true;
}

void ClientConn::PumpRequest() {
  const uint32_t limit = ClientBufferLimit(loop_.options().max_header_bytes);
  for (;;) {
    if (!x_.req_framed && !FrameRequestBody()) {
      x_.client_close = true;
      Fail(400, kReasonBadBody);
      return;
    }
    uint32_t head = up_->out.size();
    uint32_t body = x_.req_fwd - in_.b;
    if (head + body > 0) {
      if (!up_->can_write) {
        return;
      }
      iovec iov[2];
      int cnt = 0;
      if (head > 0) {
        iov[cnt++] = iovec{up_->out.rd(), head};
      }
      if (body > 0) {
        iov[cnt++] = iovec{in_.rd(), body};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(cnt);
      ssize_t n = ::sendmsg(up_->fd, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          up_->can_write = false;
          return;
        }
        UpstreamBroken(false);
        return;
      }
      uint32_t from_head = std::min<uint32_t>(static_cast<uint32_t>(n), head);
      up_->out.b += from_head;
      in_.b += static_cast<uint32_t>(n) - from_head;
      last_active_ms_ = loop_.now_ms();
      if (x_.t_sent_us == 0 && up_->out.empty()) {
        x_.t_sent_us = loop_.now_us();
      }
      if (static_cast<uint32_t>(n) < head + body) {
        up_->can_write = false;
        return;
      }
    }
    if (x_.req_framed) {
      if (!x_.req_done) {
        x_.req_done = true;
        x_.req_done_ms = loop_.now_ms();
      }
      return;
    }
    // More body to come from the client. Everything read so far was sent: reuse the space
    // after the head.
    if (in_.b == in_.e) {
      in_.b = in_.e = x_.req_fwd = x_.head_len;
    }
    if (!can_read_) {
      return;
    }
    if (!loop_.buffers().Reserve(in_, 1, x_.head_len, limit)) {
      return;  // cannot happen: the buffer was emptied down to the head
    }
    uint32_t space = in_.space();
    long n = ReadClient(in_.wr(), space);
    if (n > 0) {
      in_.e += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      if (ssl_ == nullptr && static_cast<uint32_t>(n) < space && !peer_closed_) {
        can_read_ = false;
      }
      continue;
    }
    if (n == kIoAgain) {
      can_read_ = false;
      return;
    }
    Abort(kReasonClientClosed);
    return;
  }
}

void ClientConn::PumpResponse() {
  const size_t max_head = loop_.options().max_header_bytes;
  const uint32_t head_limit = ClientBufferLimit(max_head);
  for (;;) {
    if (!x_.rsp_head_done && !up_->in.empty()) {
      uint32_t epoch = epoch_;
      bool progress = ProcessResponseHead();
      if (closed_ || epoch != epoch_) {
        return;
      }
      if (progress) {
        continue;
      }
    }
    if (x_.rsp_head_done && !x_.rsp_framed) {
      FrameResponseBody();
    }
    if (!FlushClient()) {
      return;
    }
    if (x_.rsp_head_done && x_.rsp_framed) {
      if (x_.switching) {
        EnterTunnel();
      } else {
        FinishExchange();
      }
      return;
    }
    if (!up_->can_read) {
      return;
    }
    IoBuf& in = up_->in;
    uint32_t old_b = in.b;
    if (!loop_.buffers().Reserve(in, 1, 0, x_.rsp_head_done ? BufferPool::kBlockSize
                                                              : head_limit)) {
      if (!x_.rsp_head_done) {
        Fail(502, kReasonBadResponse);  // response head larger than the limit
        return;
      }
      return;  // cannot happen: the body is sent before more is read
    }
    if (in.b != old_b && x_.rsp_head_done) {
      x_.rsp_fwd -= old_b - in.b;
    }
    uint32_t space = in.space();
    ssize_t n = ::read(up_->fd, in.wr(), space);
    if (n > 0) {
      in.e += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      if (!x_.rsp_any) {
        x_.rsp_any = true;
        if (up_->out.empty()) {
          loop_.buffers().Release(up_->out);  // no retry from here on
        }
      }
      if (static_cast<uint32_t>(n) < space && !up_->peer_closed) {
        up_->can_read = false;
      }
      continue;
    }
    if (n == 0) {
      up_->can_read = false;
      if (x_.rsp_head_done && x_.rsp_kind == Body::UntilEof) {
        x_.rsp_framed = true;  // the end of the connection ends this body
        x_.up_reusable = false;
        continue;
      }
      UpstreamBroken(true);
      return;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      up_->can_read = false;
      return;
    }
    UpstreamBroken(false);
    return;
  }
}

bool ClientConn::ProcessResponseHead() {
  const size_t max_head = loop_.options().max_header_bytes;
  IoBuf& in = up_->in;
  size_t len = FindHeadEnd(in.rd(), in.size(), &x_.rsp_scan);
  if (len == 0) {
    if (in.size() > max_head) {
      Fail(502, kReasonBadResponse);
    }
    return false;
  }
  ResponseHead& r = loop_.response_head();
  if (len > max_head ||
      ParseResponseHead(std::string_view(in.rd(), len), &r) != ParseError::None) {
    Fail(502, kReasonBadResponse);
    return false;
  }
  x_.rsp_scan = 0;
  if (r.status < 200 && r.status != 101) {
    // Interim response (100 Continue, 103 Early Hints): relayed as is, except to HTTP/1.0
    // clients, which do not know them. The final response follows.
    if (!x_.http10) {
      loop_.buffers().Append(out_, in.rd(), len);
    }
    in.b += static_cast<uint32_t>(len);
    return true;
  }
  if (r.status == 101 && !x_.upgrade) {
    Fail(502, kReasonBadResponse);
    return false;
  }
  x_.target_status = r.status;
  x_.t_rsp_us = loop_.now_us();
  if (x_.stats != nullptr) {
    switch (r.status / 100) {
      case 2: x_.stats->target_2xx.fetch_add(1, std::memory_order_relaxed); break;
      case 3: x_.stats->target_3xx.fetch_add(1, std::memory_order_relaxed); break;
      case 4: x_.stats->target_4xx.fetch_add(1, std::memory_order_relaxed); break;
      case 5: x_.stats->target_5xx.fetch_add(1, std::memory_order_relaxed); break;
      default: break;
    }
    int64_t sent = x_.t_sent_us != 0 ? x_.t_sent_us : x_.t_start_us;
    x_.stats->target_response_micros_total.fetch_add(
        static_cast<uint64_t>(std::max<int64_t>(0, x_.t_rsp_us - sent)),
        std::memory_order_relaxed);
  }

  if (r.status == 101) {
    x_.switching = true;
    x_.rsp_kind = Body::None;
  } else if (x_.is_head || r.status == 204 || r.status == 304) {
    x_.rsp_kind = Body::None;
  } else if (r.chunked) {
    x_.rsp_kind = Body::Chunked;
    x_.dechunk = x_.http10;
  } else if (r.has_content_length && !r.other_encoding) {
    x_.rsp_kind = Body::Length;
    x_.rsp_remaining = r.content_length;
  } else {
    x_.rsp_kind = Body::UntilEof;
  }
  x_.up_reusable = !x_.switching && x_.rsp_kind != Body::UntilEof && !r.connection.close &&
                   (r.version_minor == 1 || r.connection.keep_alive);
  if (x_.rsp_kind == Body::UntilEof || x_.dechunk) {
    x_.client_close = true;  // only the end of the connection can end this body for the client
  }

  // Stickiness cookies go on every response from a sticky group.
  char extra[768];
  size_t en = 0;
  auto add = [&](std::string_view s) {
    std::memcpy(extra + en, s.data(), s.size());
    en += s.size();
  };
  char date[kHttpDateLen];
  int64_t now_s = loop_.wall_us() / 1000000;
  if (x_.sticky_cookie && x_.group != nullptr) {
    uint32_t secs = x_.group->stickiness_seconds > 0 ? x_.group->stickiness_seconds : 86400;
    FormatHttpDate(now_s + secs, date);
    std::string_view tok(x_.sticky_token, kStickyTokenLen);
    std::string_view d(date, kHttpDateLen);
    add("Set-Cookie: AWSALB=");
    add(tok);
    add("; Expires=");
    add(d);
    add("; Path=/\r\nSet-Cookie: AWSALBCORS=");
    add(tok);
    add("; Expires=");
    add(d);
    add("; Path=/; SameSite=None; Secure\r\n");
  }
  if (x_.group_cookie && x_.group != nullptr) {
    char gt[kGroupTokenLen];
    EncodeGroupToken(x_.group->arn, gt);
    uint32_t secs = x_.group_cookie_seconds > 0 ? x_.group_cookie_seconds : 3600;
    FormatHttpDate(now_s + secs, date);
    std::string_view tok(gt, kGroupTokenLen);
    std::string_view d(date, kHttpDateLen);
    add("Set-Cookie: AWSALBTG=");
    add(tok);
    add("; Expires=");
    add(d);
    add("; Path=/\r\nSet-Cookie: AWSALBTGCORS=");
    add(tok);
    add("; Expires=");
    add(d);
    add("; Path=/; SameSite=None; Secure\r\n");
  }
  ResponseContext ctx;
  ctx.close = x_.client_close;
  ctx.keep_alive_http10 = x_.http10 && !x_.client_close;
  ctx.dechunk = x_.dechunk;
  ctx.upgrade = x_.switching;
  ctx.extra = std::string_view(extra, en);
  std::string& s = loop_.scratch();
  s.clear();
  BuildClientResponseHead(std::string_view(in.rd(), len), r, ctx, &s);
  loop_.buffers().Append(out_, s.data(), s.size());
  in.b += static_cast<uint32_t>(len);
  x_.rsp_fwd = in.b;
  x_.rsp_head_done = true;
  if (x_.rsp_kind == Body::None || (x_.rsp_kind == Body::Length && x_.rsp_remaining == 0)) {
    x_.rsp_framed = true;
  }
  return true;
}

void ClientConn::FrameResponseBody() {
  IoBuf& in = up_->in;
  uint32_t avail = in.e - x_.rsp_fwd;
  switch (x_.rsp_kind) {
    case Body::None:
      x_.rsp_framed = true;
      break;
    case Body::Length: {
      uint64_t n = std::min<uint64_t>(avail, x_.rsp_remaining);
      x_.rsp_fwd += static_cast<uint32_t>(n);
      x_.rsp_remaining -= n;
      if (x_.rsp_remaining == 0) {
        x_.rsp_framed = true;
      }
      break;
    }
    case Body::Chunked: {
      if (avail == 0) {
        break;
      }
      if (x_.dechunk) {
        // Only chunk data goes to an HTTP/1.0 client: compact it in place.
        char* data_end = in.p + x_.rsp_fwd;
        size_t n = x_.rsp_chunks.Feed(in.p + x_.rsp_fwd, avail, &data_end);
        if (n < avail) {
          x_.up_reusable = false;  // bytes after the end of the response
        }
        in.e = static_cast<uint32_t>(data_end - in.p);
        x_.rsp_fwd = in.e;
      } else {
        size_t n = x_.rsp_chunks.Feed(in.p + x_.rsp_fwd, avail, nullptr);
        x_.rsp_fwd += static_cast<uint32_t>(n);
      }
      if (x_.rsp_chunks.failed()) {
        // Bad framing from the target: what was relayed stays relayed; the client sees the
        // connection close before a proper end.
        x_.error_reason = kReasonBadResponse;
        x_.truncated = true;
        x_.up_reusable = false;
        x_.client_close = true;
        x_.rsp_framed = true;
        in.e = x_.rsp_fwd;
      } else if (x_.rsp_chunks.done()) {
        x_.rsp_framed = true;
      }
      break;
    }
    case Body::UntilEof:
      x_.rsp_fwd = in.e;
      break;
  }
  if (x_.rsp_framed && x_.rsp_fwd < in.e) {
    x_.up_reusable = false;  // the target sent more than the response: do not trust it again
    in.e = x_.rsp_fwd;
  }
}

bool ClientConn::FlushClient() {
  for (;;) {
    uint32_t a = out_.size();
    bool relay = up_ != nullptr && x_.rsp_head_done && !x_.local;
    uint32_t b = relay ? x_.rsp_fwd - up_->in.b : 0;
    if (a + b == 0) {
      break;
    }
    if (!can_write_) {
      return false;
    }
    long n = WriteClient(out_.rd(), a, relay ? up_->in.rd() : nullptr, b);
    if (n == kIoAgain) {
      can_write_ = false;
      return false;
    }
    if (n < 0) {
      x_.error_reason = kReasonClientClosed;
      Close();
      return false;
    }
    uint32_t from_out = std::min<uint32_t>(static_cast<uint32_t>(n), a);
    out_.b += from_out;
    if (relay) {
      up_->in.b += static_cast<uint32_t>(n) - from_out;
    }
    x_.tx_bytes += static_cast<uint64_t>(n);
    last_active_ms_ = loop_.now_ms();
    if (static_cast<uint32_t>(n) < a + b) {
      can_write_ = false;
      return false;
    }
  }
  if (out_.has_block()) {
    loop_.buffers().Release(out_);
  }
  if (up_ != nullptr && x_.rsp_head_done && !x_.local && up_->in.empty()) {
    up_->in.b = up_->in.e = 0;
    x_.rsp_fwd = 0;
  }
  return true;
}

void ClientConn::FinishExchange() {
  if (!x_.req_done) {
    // The response ended before the request did: the rest of the request cannot be told
    // apart from a next one, and the target has not read it either.
    x_.client_close = true;
    x_.up_reusable = false;
  }
  ReleaseBackend();
  LogExchange();
  if (up_ != nullptr) {
    ReleaseUpstream(x_.up_reusable && !x_.truncated);
  }
  x_.active = false;
  if (x_.client_close) {
    BeginLinger();
    return;
  }
  uint32_t rest = in_.e - x_.req_fwd;
  if (rest > 0) {
    std::memmove(in_.p, in_.p + x_.req_fwd, rest);
    in_.b = 0;
    in_.e = rest;
    head_start_ms_ = loop_.now_ms();
  } else {
    loop_.buffers().Release(in_);
  }
  scan_ = 0;
  last_active_ms_ = loop_.now_ms();
  SetState(State::ReadHead);
}

void ClientConn::ReleaseUpstream(bool reusable) {
  UpstreamConn* u = up_;
  up_ = nullptr;
  if (reusable && u->out.empty() && u->in.empty()) {
    u->client = nullptr;
    loop_.pool().PutIdle(u);
  } else {
    u->Close();
  }
}

void ClientConn::UpstreamBroken(bool clean_eof) {
  if (!x_.rsp_any) {
    if (x_.retry_ok && up_->reused && x_.retries == 0) {
      // A pooled connection the target had closed: replay the head on a fresh connection.
      IoBuf head = up_->out;
      up_->out = IoBuf{};
      head.b = 0;
      std::shared_ptr<Backend> backend = up_->backend();
      UpstreamConn* old = up_;
      up_ = nullptr;
      old->Close();
      ++x_.retries;
      x_.rsp_scan = 0;
      x_.t_sent_us = 0;
      if (!AttachUpstream(std::move(backend), /*fresh_only=*/true)) {
        loop_.buffers().Release(head);
        return;
      }
      loop_.buffers().Release(up_->out);
      up_->out = head;
      ++epoch_;
      return;
    }
    Fail(502, clean_eof ? kReasonTargetClosed : kReasonTargetReset);
    return;
  }
  if (!x_.rsp_head_done) {
    Fail(502, kReasonBadResponse);
    return;
  }
  // The target went away in the middle of the body: relay what came, then close the client.
  x_.error_reason = clean_eof ? kReasonTargetClosed : kReasonTargetReset;
  x_.truncated = true;
  x_.up_reusable = false;
  x_.client_close = true;
  x_.rsp_framed = true;
  ++epoch_;
}

void ClientConn::Fail(int status, const char* reason) {
  x_.error_reason = reason;
  CountElbError(status);
  ReleaseBackend();
  if (up_ != nullptr) {
    ReleaseUpstream(false);
  }
  if (x_.rsp_head_done) {
    Close();  // part of the response is out: the client can only see the connection end
    return;
  }
  x_.rsp_framed = false;
  QueueElbResponse(status);
}

void ClientConn::Abort(const char* reason) {
  x_.error_reason = reason;
  if (x_.elb_status == 0 && x_.target_status == 0) {
    x_.elb_status = 460;  // ALB's code for a client that closed before the response
  }
  Close();
}

void ClientConn::OnUpstreamKilled() {
  if (state_ == State::Exchange && up_ != nullptr && !x_.local) {
    x_.retry_ok = false;
    Fail(502, kReasonDeregistered);
    if (!closed_) {
      Drive();
    }
    return;
  }
  Close();
}

void ClientConn::ReleaseBackend() {
  if (x_.in_flight_counted) {
    x_.in_flight_counted = false;
    x_.backend->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
}

void ClientConn::CountElbError(int status) {
  if (x_.stats == nullptr) {
    return;
  }
  switch (status) {
    case 502: x_.stats->elb_502.fetch_add(1, std::memory_order_relaxed); break;
    case 503: x_.stats->elb_503.fetch_add(1, std::memory_order_relaxed); break;
    case 504: x_.stats->elb_504.fetch_add(1, std::memory_order_relaxed); break;
    default: break;
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket / Upgrade tunnel, lingering close, close

void ClientConn::EnterTunnel() {
  ReleaseBackend();
  LogExchange();
  x_.active = false;
  x_.tunnel = true;
  // Bytes the client sent after the upgrade request are the tunnel's first bytes.
  in_.b = x_.req_fwd;
  if (up_->in.empty()) {
    up_->in.b = up_->in.e = 0;
  }
  SetState(State::Tunnel);
}

void ClientConn::StepTunnel() {
  // Target -> client.
  for (;;) {
    uint32_t a = out_.size();
    uint32_t b = up_->in.size();
    if (a + b > 0) {
      if (!can_write_) {
        break;
      }
      long n = WriteClient(out_.rd(), a, up_->in.rd(), b);
      if (n == kIoAgain) {
        can_write_ = false;
        break;
      }
      if (n < 0) {
        Close();
        return;
      }
      uint32_t from_out = std::min<uint32_t>(static_cast<uint32_t>(n), a);
      out_.b += from_out;
      up_->in.b += static_cast<uint32_t>(n) - from_out;
      last_active_ms_ = loop_.now_ms();
      if (static_cast<uint32_t>(n) < a + b) {
        can_write_ = false;
        break;
      }
      continue;
    }
    loop_.buffers().Release(out_);
    if (x_.up_eof || !up_->can_read) {
      break;
    }
    loop_.buffers().Acquire(up_->in);
    up_->in.b = up_->in.e = 0;
    ssize_t n = ::read(up_->fd, up_->in.wr(), up_->in.space());
    if (n > 0) {
      up_->in.e += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      up_->can_read = false;
      loop_.buffers().Release(up_->in);
      break;
    }
    x_.up_eof = true;
    break;
  }
  // Client -> target.
  for (;;) {
    uint32_t b = in_.size();
    if (b > 0) {
      if (!up_->can_write) {
        break;
      }
      ssize_t n = ::send(up_->fd, in_.rd(), b, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        up_->can_write = false;
        break;
      }
      if (n < 0) {
        Close();
        return;
      }
      in_.b += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      if (static_cast<uint32_t>(n) < b) {
        up_->can_write = false;
        break;
      }
      continue;
    }
    if (x_.client_eof || !can_read_) {
      break;
    }
    loop_.buffers().Acquire(in_);
    in_.b = in_.e = 0;
    long n = ReadClient(in_.wr(), in_.space());
    if (n > 0) {
      in_.e += static_cast<uint32_t>(n);
      last_active_ms_ = loop_.now_ms();
      continue;
    }
    if (n == kIoAgain) {
      can_read_ = false;
      loop_.buffers().Release(in_);
      break;
    }
    x_.client_eof = true;
    break;
  }
  // Either side ending (once what it sent was passed on) ends the tunnel.
  if ((x_.up_eof && out_.empty() && up_->in.empty()) || (x_.client_eof && in_.empty())) {
    Close();
  }
}

void ClientConn::BeginLinger() {
  SetState(State::Linger);
  linger_start_ms_ = loop_.now_ms();
  loop_.buffers().Release(in_);
  loop_.buffers().Release(out_);
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);  // close_notify, best effort
  }
  // Half-close, then read what the client still sends until it closes too: closing with
  // unread input would reset the connection and could destroy the response in flight.
  ::shutdown(fd_, SHUT_WR);
}

void ClientConn::StepLinger() {
  char sink[4096];
  for (;;) {
    if (!can_read_) {
      return;
    }
    ssize_t n = ::read(fd_, sink, sizeof(sink));
    if (n > 0) {
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      can_read_ = false;
      return;
    }
    Close();
    return;
  }
}

void ClientConn::Close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (x_.active) {
    ReleaseBackend();
    if (x_.error_reason == nullptr && !x_.local) {
      x_.error_reason = kReasonClientClosed;
    }
    LogExchange();
    x_.active = false;
  }
  if (up_ != nullptr) {
    UpstreamConn* u = up_;
    up_ = nullptr;
    u->Close();
  }
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  ::close(fd_);
  fd_ = -1;
  loop_.buffers().Release(in_);
  loop_.buffers().Release(out_);
  ListNode::Unlink();
  table_.reset();
  loop_.Retire(this);
}

// ---------------------------------------------------------------------------------------------
// Access log

void ClientConn::LogExchange() {
  if (x_.logged) {
    return;
  }
  x_.logged = true;
  const ListenerRoute* r = route_ != nullptr ? route_ : listener_.Route();
  if (r == nullptr || r->access_log_path.empty() || !in_.has_block()) {
    return;
  }
  AccessLogEntry e;
  bool tls = ssl_ != nullptr;
  e.type = x_.tunnel || x_.switching ? (tls ? "wss" : "ws") : (tls ? "https" : "http");
  e.time_us = loop_.wall_us();
  e.elb = r->load_balancer_id;
  e.client_ip = std::string_view(peer_ip_, peer_ip_len_);
  e.client_port = peer_port_;
  if (x_.backend != nullptr) {
    e.target_ip = x_.backend->ip;
    e.target_port = x_.backend->port;
  }
  int64_t now = loop_.now_us();
  if (x_.t_sent_us != 0) {
    e.request_processing_time = static_cast<double>(x_.t_sent_us - x_.t_start_us) / 1e6;
    if (x_.t_rsp_us != 0) {
      e.target_processing_time = static_cast<double>(x_.t_rsp_us - x_.t_sent_us) / 1e6;
      e.response_processing_time = static_cast<double>(now - x_.t_rsp_us) / 1e6;
    }
  }
  e.elb_status = x_.elb_status != 0 ? x_.elb_status : x_.target_status;
  e.target_status = x_.target_status;
  e.received_bytes = x_.rx_bytes;
  e.sent_bytes = x_.tx_bytes;
  if (x_.method.len > 0) {
    e.method = View(x_.method);
    e.scheme = tls ? "https" : "http";
    e.host = View(x_.host);
    e.port = listener_.socket().port;
    e.target = View(x_.target);
    e.version = x_.http10 ? "HTTP/1.0" : "HTTP/1.1";
  }
  e.user_agent = View(x_.user_agent);
  if (tls) {
    e.ssl_cipher = SSL_get_cipher_name(ssl_);
    e.ssl_protocol = SSL_get_version(ssl_);
    const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    if (sni != nullptr) {
      e.domain_name = sni;
    }
  }
  if (x_.group != nullptr) {
    e.target_group_arn = x_.group->arn;
  }
  e.trace_id = x_.trace_id.len > 0 ? View(x_.trace_id)
               : x_.new_trace[0] != 0 ? std::string_view(x_.new_trace, sizeof(x_.new_trace))
                                      : std::string_view();
  e.matched_rule_priority = x_.rule_priority;
  e.request_creation_us = x_.wall_start_us;
  e.actions_executed = x_.action_name;
  e.redirect_url = redirect_url_;
  if (x_.error_reason != nullptr) {
    e.error_reason = x_.error_reason;
  }
  AppendAccessLogLine(e, &loop_.AccessLogBuffer(r->access_log_path));
}

// ---------------------------------------------------------------------------------------------
// Client socket I/O

long ClientConn::ReadClient(char* data, size_t size) {
  if (ssl_ != nullptr) {
    bool want_write = false;
    long n = TlsRead(ssl_, data, size, &want_write);
    tls_read_wants_write_ = want_write;
    if (want_write) {
      can_write_ = false;
    }
    return n;
  }
  for (;;) {
    ssize_t n = ::read(fd_, data, size);
    if (n >= 0) {
      return n;
    }
    if (errno == EINTR) {
      continue;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? kIoAgain : kIoError;
  }
}

long ClientConn::WriteClient(const char* a, size_t an, const char* b, size_t bn) {
  if (ssl_ != nullptr) {
    long total = 0;
    bool want_read = false;
    if (an > 0) {
      long n = TlsWrite(ssl_, a, an, &want_read);
      tls_write_wants_read_ = want_read;
      if (n < 0) {
        return n;
      }
      total += n;
      if (static_cast<size_t>(n) < an) {
        return total;
      }
    }
    if (bn > 0) {
      long n = TlsWrite(ssl_, b, bn, &want_read);
      tls_write_wants_read_ = want_read;
      if (n < 0) {
        return total > 0 ? total : n;
      }
      total += n;
    }
    return total;
  }
  iovec iov[2];
  int cnt = 0;
  if (an > 0) {
    iov[cnt++] = iovec{const_cast<char*>(a), an};
  }
  if (bn > 0) {
    iov[cnt++] = iovec{const_cast<char*>(b), bn};
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(cnt);
  for (;;) {
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      return n;
    }
    if (errno == EINTR) {
      continue;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? kIoAgain : kIoError;
  }
}

}  // namespace berth::elb::proxy
