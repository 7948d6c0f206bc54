#pragma once
// Connections to targets and the per-loop keep-alive pool.
//
// An UpstreamConn is Connecting, Active (carrying one client's exchange; its events go to that
// ClientConn) or Idle (in the pool). An idle connection that becomes readable was closed by
// the target (or sent junk): it is closed at once, so reuse rarely meets a dead socket; the
// client side retries an idempotent request once when it does (see connection.h).
//
// Lifecycle:
//   Connect() --> Connecting --connected--> Active <--TakeIdle-- Idle
//                     |                       |  --PutIdle-->    |
//                     +---- error/timeout ----+--> closed <------+ (readable, idle timeout,
//                                                                    pool full, CloseTo)

#include <memory>
#include <unordered_map>
#include <vector>

#include "elb/proxy/buffer.h"
#include "elb/proxy/event_loop.h"
#include "elb/routing_table.h"

namespace berth::elb::proxy {

class ClientConn;

class UpstreamConn final : public Handler, public ListNode {
 public:
  enum class State : uint8_t { Connecting, Active, Idle };

  // Starts a non-blocking connect to `backend`. Returns null with *err set (an errno value)
  // when it fails at once (ECONNREFUSED can come back synchronously on loopback).
  static UpstreamConn* Connect(Loop& loop, std::shared_ptr<Backend> backend, int* err);

  void OnEvents(uint32_t events) override;
  void OnTimer() override;

  // Connecting: reads the connect result. True: now Active. False with *err: failed;
  // *err == 0 means not finished yet.
  bool FinishConnect(int* err);
  // Closes the socket, frees buffers, leaves the pool, retires. The client link is dropped
  // without a callback.
  void Close();

  Loop& loop() { return loop_; }
  const std::shared_ptr<Backend>& backend() const { return backend_; }

  int fd = -1;
  State state = State::Connecting;
  ClientConn* client = nullptr;
  IoBuf in;   // bytes from the target
  IoBuf out;  // the request head to send (kept until the first response byte, for a retry)
  bool can_read = false;
  bool can_write = false;
  bool peer_closed = false;  // EPOLLRDHUP/HUP seen: read to EOF, never pool it
  bool reused = false;       // taken from the pool for the current exchange
  uint32_t pool_pos = 0;

 private:
  UpstreamConn(Loop& loop, std::shared_ptr<Backend> backend);
  Loop& loop_;
  std::shared_ptr<Backend> backend_;
};

class UpstreamPool {
 public:
  static constexpr size_t kMaxIdlePerBackend = 256;
  static constexpr int64_t kIdleTimeoutMs = 30000;

  explicit UpstreamPool(Loop& loop) : loop_(loop) {}
  ~UpstreamPool() = default;

  // The most recently pooled connection to `backend` (now Active, reused = true), or null.
  UpstreamConn* TakeIdle(const Backend* backend);
  // Pools an Active connection with nothing buffered; closes it instead if the pool is full.
  void PutIdle(UpstreamConn* c);
  void RemoveIdle(UpstreamConn* c);
  // Every upstream connection of this loop.
  ListNode& all() { return all_; }
  size_t idle_count() const;

 private:
  Loop& loop_;
  std::unordered_map<const Backend*, std::vector<UpstreamConn*>> idle_;
  ListNode all_;
};

}  // namespace berth::elb::proxy
