#include "elb/proxy/upstream_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "elb/proxy/connection.h"

namespace berth::elb::proxy {

UpstreamConn::UpstreamConn(Loop& loop, std::shared_ptr<Backend> backend)
    : loop_(loop), backend_(std::move(backend)) {}

UpstreamConn* UpstreamConn::Connect(Loop& loop, std::shared_ptr<Backend> backend, int* err) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(backend->port);
  if (inet_pton(AF_INET, backend->ip.c_str(), &addr.sin_addr) != 1) {
    *err = EINVAL;
    return nullptr;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno != EINPROGRESS) {
    *err = errno;
    ::close(fd);
    return nullptr;
  }
  auto* c = new UpstreamConn(loop, std::move(backend));
  c->fd = fd;
  c->state = rc == 0 ? State::Active : State::Connecting;
  c->can_write = rc == 0;
  if (!loop.Register(fd, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    *err = errno;
    ::close(fd);
    delete c;
    return nullptr;
  }
  loop.pool().all().PushBack(c);
  return c;
}

bool UpstreamConn::FinishConnect(int* err) {
  *err = 0;
  if (state != State::Connecting) {
    return state == State::Active;
  }
  if (!can_write && !peer_closed) {
    return false;
  }
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
    so_error = errno;
  }
  if (so_error != 0) {
    *err = so_error;
    return false;
  }
  if (!can_write) {
    return false;
  }
  state = State::Active;
  return true;
}

void UpstreamConn::OnEvents(uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    can_read = true;
  }
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
    can_write = true;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    peer_closed = true;
  }
  if (state == State::Idle) {
    // Readable while idle: the target closed it (or sent bytes nobody asked for).
    if (can_read) {
      Close();
    }
    return;
  }
  if (client != nullptr) {
    client->OnUpstreamEvents();
  }
}

void UpstreamConn::OnTimer() {
  // Only pooled connections have their own deadline (the pool's idle timeout).
  if (state == State::Idle) {
    Close();
  }
}

void UpstreamConn::Close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (state == State::Idle) {
    loop_.pool().RemoveIdle(this);
  }
  ListNode::Unlink();
  ::close(fd);
  fd = -1;
  loop_.buffers().Release(in);
  loop_.buffers().Release(out);
  client = nullptr;
  loop_.Retire(this);
}

UpstreamConn* UpstreamPool::TakeIdle(const Backend* backend) {
  auto it = idle_.find(backend);
  if (it == idle_.end() || it->second.empty()) {
    return nullptr;
  }
  UpstreamConn* c = it->second.back();
  it->second.pop_back();
  c->state = UpstreamConn::State::Active;
  c->reused = true;
  loop_.SetDeadline(c, 0);
  return c;
}

void UpstreamPool::PutIdle(UpstreamConn* c) {
  std::vector<UpstreamConn*>& list = idle_[c->backend().get()];
  // A connection we have not read to the end (can_read still set) may hold a FIN or junk.
  if (list.size() >= kMaxIdlePerBackend || c->peer_closed || c->can_read || !c->in.empty()) {
    c->Close();
    return;
  }
  c->client = nullptr;
  c->state = UpstreamConn::State::Idle;
  c->reused = false;
  loop_.buffers().Release(c->in);
  loop_.buffers().Release(c->out);
  c->pool_pos = static_cast<uint32_t>(list.size());
  list.push_back(c);
  loop_.SetDeadline(c, loop_.now_ms() + kIdleTimeoutMs);
}

void UpstreamPool::RemoveIdle(UpstreamConn* c) {
  auto it = idle_.find(c->backend().get());
  if (it == idle_.end()) {
    return;
  }
  std::vector<UpstreamConn*>& list = it->second;
  uint32_t pos = c->pool_pos;
  if (pos < list.size() && list[pos] == c) {
    list[pos] = list.back();
    list[pos]->pool_pos = pos;
    list.pop_back();
  }
  if (list.empty()) {
    idle_.erase(it);
  }
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [b, list] : idle_) {
    n += list.size();
  }
  return n;
}

}  // namespace berth::elb::proxy
