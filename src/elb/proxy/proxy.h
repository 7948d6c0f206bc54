#pragma once
// Proxy: the load balancer's data plane — an ALB-like HTTP/1.1 reverse proxy.
//
// N worker threads, each an event loop (epoll) that accepts on every listener, parses heads
// in place, routes by the newest RoutingTable and forwards raw bytes to targets over per-loop
// keep-alive pools. See README.md in this folder for the design and the ALB behaviours copied.
//
// Threading: the constructor starts the workers; every DataPlane method must be called from
// one thread (the control thread), never from a proxy worker. Publish returns at once (workers
// pick the table up on their next event); OpenListener, CloseListener and CloseConnectionsTo
// return after every worker has done its part.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "elb/routing_table.h"

namespace berth::elb::proxy {

struct ProxyOptions {
  int threads = 0;                       // event loops; 0 = std::thread::hardware_concurrency()
  uint32_t upstream_timeout_ms = 60000;  // no response head from the target in time -> 504
  uint32_t connect_timeout_ms = 10000;   // cannot connect in time -> 504 (refused -> 502)
  size_t max_header_bytes = 65536;       // a larger request head -> 400 (as ALB)
};

class Proxy final : public elb::DataPlane {
 public:
  explicit Proxy(ProxyOptions options);  // starts the threads
  ~Proxy() override;                     // stops them, closes every socket
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds now; errors (ErrorKind::Conflict, "InvalidConfigurationRequest") carry the reason,
  // e.g. "127.0.0.1:80: address already in use". An id already open is an error too.
  // TLS material that does not load is ErrorKind::InvalidArgument ("CertificateNotFound").
  Result<uint16_t> OpenListener(const std::string& id, const std::string& address,
                                uint16_t port, const TlsMaterial* tls) override;
  // Unknown ids are ignored.
  void CloseListener(const std::string& id) override;
  void Publish(std::shared_ptr<const RoutingTable> table) override;
  // Pooled connections to `backend` close; requests in flight on it get 502 if their client
  // has not received a response byte yet, else their client connection is closed.
  void CloseConnectionsTo(const std::shared_ptr<Backend>& backend) override;

  // Number of event loops running.
  int threads() const;
  // Blocks until access log lines handed to the writer so far are on disk (tests). Lines are
  // handed over within a second of their request, or at once by this call.
  void FlushAccessLogs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::elb::proxy
