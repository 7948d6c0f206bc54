#pragma once
// ClientConn: one client connection and the exchange (request + response) it is carrying.
//
//            +----------------------------- next request (keep-alive) ---------------+
//            v                                                                        |
//   accept -> ReadHead --head--> Exchange --response done--------------------------------+
//              |  ^                 |  \--101 Switching Protocols--> Tunnel --EOF--> closed
//              |  | pipelined       |   \--client must close--> Linger --EOF/1 s--> closed
//         idle/header timeout,      +-- forward: stream request body to the target while the
//         EOF, oversized head (400)     response streams back; or local: an ELB response
//                                       (400/502/503/504, fixed-response, redirect)
//
// Buffers: `in_` holds the request head at [0, head_len) for the whole exchange (access log,
// retry) and the body/pipelined bytes after it; `out_` holds bytes the proxy generated for the
// client (rewritten response head, ELB responses); response bytes are sent straight from the
// upstream connection's buffer. Both are pool blocks taken when needed and returned when empty,
// so an idle keep-alive connection owns no buffer.
//
// Failures while forwarding (see Fail): nothing of the final response sent yet -> an ELB error
// response (502 refused/reset/bad response, 504 timeout); otherwise the client connection is
// closed. A pooled connection that dies before any response byte is retried once on a fresh
// connection when the request is idempotent and has no body.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "elb/proxy/buffer.h"
#include "elb/proxy/event_loop.h"
#include "elb/proxy/http_parse.h"
#include "elb/proxy/rule_match.h"
#include "elb/proxy/sticky.h"

typedef struct ssl_st SSL;

namespace berth::elb::proxy {

class ListenerLocal;
class UpstreamConn;

class ClientConn final : public Handler, public ListNode {
 public:
  ClientConn(Loop& loop, ListenerLocal& listener, int fd, const sockaddr_storage& peer);
  ~ClientConn() override;

  // Registers the socket (and sets up TLS). False: the connection was closed.
  bool Start();

  void OnEvents(uint32_t events) override;
  void OnTimer() override;

  // Events of the upstream connection carrying this client's exchange.
  void OnUpstreamEvents();
  // The upstream connection is being closed from outside (CloseConnectionsTo).
  void OnUpstreamKilled();
  // Closes the client connection (and its upstream) now.
  void Close();

 private:
  enum class State : uint8_t { ReadHead, Exchange, Tunnel, Linger };
  enum class Body : uint8_t { None, Length, Chunked, UntilEof };

  // A byte range in in_ (the request head), stable while the head is kept.
  struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
  };

  struct Exchange {
    bool active = false;
    bool local = false;          // the response is generated here (out_ only)
    uint32_t head_len = 0;
    // Request side: in_[b, req_fwd) is framed body not yet sent; req_fwd is where framing is.
    uint32_t req_fwd = 0;
    Body req_kind = Body::None;
    uint64_t req_remaining = 0;
    ChunkedDecoder req_chunks;
    bool req_framed = false;     // the request body's end has been found
    bool req_done = false;       // ...and everything up to it was sent (or discarded)
    int64_t req_done_ms = 0;
    bool http10 = false;
    bool is_head = false;
    bool retry_ok = false;       // idempotent, no body
    bool upgrade = false;
    bool client_close = false;
    uint8_t retries = 0;
    // Response side: up_->in[b, rsp_fwd) is framed and not yet sent to the client.
    bool rsp_any = false;        // a byte came from the target
    bool rsp_head_done = false;  // the final response head was put in out_
    bool rsp_framed = false;     // the response's end has been found
    bool switching = false;      // 101: become a tunnel once the head is out
    bool dechunk = false;
    bool up_reusable = false;
    bool truncated = false;
    Body rsp_kind = Body::None;
    uint64_t rsp_remaining = 0;
    ChunkedDecoder rsp_chunks;
    uint32_t rsp_fwd = 0;
    size_t rsp_scan = 0;
    // Routing and accounting.
    int rule_index = -1;
    int rule_priority = -1;
    const char* action_name = "-";
    const TargetGroupRoute* group = nullptr;
    TargetGroupStats* stats = nullptr;
    Backend* backend = nullptr;
    bool in_flight_counted = false;  // backend->in_flight holds this exchange
    bool sticky_cookie = false;
    bool group_cookie = false;
    uint32_t group_cookie_seconds = 0;
    int64_t connect_start_ms = 0;
    bool tunnel = false;
    bool up_eof = false;
    bool client_eof = false;
    char sticky_token[kStickyTokenLen] = {};
    int target_status = 0;
    int elb_status = 0;
    const char* error_reason = nullptr;
    int64_t t_start_us = 0;
    int64_t wall_start_us = 0;
    int64_t t_sent_us = 0;
    int64_t t_rsp_us = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_bytes = 0;
    Span method, target, host, user_agent, trace_id, version;
    char new_trace[40] = {};
    bool logged = false;
  };

  void SetState(State s) {
    state_ = s;
    ++epoch_;
  }
  void Drive();
  void UpdateDeadline();

  // ReadHead
  void StepReadHead();
  void BeginExchange(uint32_t head_len);
  void Route(const RequestHead& h);
  void StartForward(const RequestHead& h, const Action& action);
  const TargetGroupRoute* PickGroup(const RequestHead& h, const Action& action,
                                    size_t* group_index);
  int PickBackend(const RequestHead& h, const TargetGroupRoute& g, size_t group_index);
  bool AttachUpstream(std::shared_ptr<Backend> backend, bool fresh_only);

  // Exchange
  void StepExchange();
  void StepLocal();
  void PrepareLocal();   // skips a fully buffered request body; else the connection will close
  void QueueLocal(std::string_view bytes, int status);
  void QueueElbResponse(int status);  // ALB error page as the answer
  void PumpRequest();
  bool FrameRequestBody();  // false: malformed chunked body
  void PumpResponse();
  bool ProcessResponseHead();  // false: need more bytes or failed
  void FrameResponseBody();
  bool FlushClient();           // true: everything queued for the client is written
  void FinishExchange();
  void UpstreamBroken(bool clean_eof);
  void Fail(int status, const char* reason);
  void Abort(const char* reason);
  void EnterTunnel();
  void StepTunnel();
  void StepLinger();
  void BeginLinger();

  // Accounting.
  void ReleaseBackend();
  void CountElbError(int status);
  void LogExchange();
  void ReleaseUpstream(bool reusable);

  // Client socket I/O (plain or TLS): > 0 bytes, 0 EOF, kIoAgain, kIoError.
  long ReadClient(char* data, size_t size);
  long WriteClient(const char* a, size_t an, const char* b, size_t bn);

  std::string_view View(Span s) const { return std::string_view(in_.p + s.off, s.len); }
  Span SpanOf(std::string_view v) const;

  Loop& loop_;
  ListenerLocal& listener_;
  int fd_;
  SSL* ssl_ = nullptr;
  State state_ = State::ReadHead;
  uint32_t epoch_ = 0;
  bool can_read_ = false;
  bool can_write_ = false;
  bool peer_closed_ = false;
  bool tls_read_wants_write_ = false;
  bool tls_write_wants_read_ = false;
  bool in_drive_ = false;
  IpAddress peer_addr_;
  char peer_ip_[46] = {};
  uint8_t peer_ip_len_ = 0;
  uint16_t peer_port_ = 0;
  IoBuf in_;
  IoBuf out_;
  size_t scan_ = 0;
  int64_t last_active_ms_ = 0;
  int64_t head_start_ms_ = 0;
  int64_t linger_start_ms_ = 0;
  UpstreamConn* up_ = nullptr;
  std::shared_ptr<const RoutingTable> table_;
  const ListenerRoute* route_ = nullptr;
  std::string redirect_url_;
  Exchange x_;
};

}  // namespace berth::elb::proxy
