#pragma once
// Listeners. A ListenerSocket is the bound, listening socket of one listener, shared by all
// loops (each registers it with EPOLLEXCLUSIVE, so an incoming connection wakes one loop).
// A ListenerLocal is one loop's view of it: the accept handler, the client connections it
// accepted, and the loop's cached route for the listener (refreshed when the table changes)
// with its round-robin counters.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "elb/proxy/event_loop.h"
#include "elb/routing_table.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace berth::elb::proxy {

struct ListenerSocket {
  ListenerSocket() = default;
  ~ListenerSocket();
  ListenerSocket(const ListenerSocket&) = delete;
  ListenerSocket& operator=(const ListenerSocket&) = delete;

  std::string id;
  std::string address;
  int fd = -1;
  uint16_t port = 0;
  std::string port_text;   // decimal, for X-Forwarded-Port
  SSL_CTX* tls = nullptr;  // null: plain HTTP
};

// Binds and listens (non-blocking). Errors say why (address in use, bad address, bad TLS).
Result<std::shared_ptr<ListenerSocket>> BindListener(const std::string& id,
                                                     const std::string& address, uint16_t port,
                                                     const TlsMaterial* tls);

class ListenerLocal final : public Handler {
 public:
  ListenerLocal(Loop& loop, std::shared_ptr<ListenerSocket> socket);
  ~ListenerLocal() override = default;

  bool Start();
  // Stops accepting on this loop and closes the connections it accepted; retires itself.
  void Stop();

  void OnEvents(uint32_t events) override;
  void OnTimer() override;

  const ListenerSocket& socket() const { return *socket_; }
  ListNode& clients() { return clients_; }
  // The listener's route in the loop's current table (cached until the loop takes a newer
  // table), or null if the table lacks it.
  const ListenerRoute* Route();
  // Round-robin counter for forward group `group` of rule `rule` (of the current route).
  uint32_t NextCounter(size_t rule, size_t group);

 private:
  Loop& loop_;
  std::shared_ptr<ListenerSocket> socket_;
  ListNode clients_;
  bool registered_ = false;
  uint64_t seen_epoch_ = UINT64_MAX;
  const ListenerRoute* route_ = nullptr;
  std::vector<uint32_t> rule_base_;
  std::vector<uint32_t> counters_;
};

}  // namespace berth::elb::proxy
