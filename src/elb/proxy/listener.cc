#include "elb/proxy/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "elb/proxy/connection.h"
#include "elb/proxy/tls.h"

namespace berth::elb::proxy {

namespace {

constexpr int kAcceptBatch = 64;
constexpr int64_t kAcceptPauseMs = 100;

Error BindError(const std::string& where, int err) {
  return MakeError(ErrorKind::Conflict, "InvalidConfigurationRequest",
                   where + ": " + std::strerror(err));
}

}  // namespace

ListenerSocket::~ListenerSocket() {
  if (fd >= 0) {
    ::close(fd);
  }
  if (tls != nullptr) {
    SSL_CTX_free(tls);
  }
}

Result<std::shared_ptr<ListenerSocket>> BindListener(const std::string& id,
                                                     const std::string& address, uint16_t port,
                                                     const TlsMaterial* tls) {
  std::string host = address.empty() ? "0.0.0.0" : address;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                      std::to_string(port);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return MakeError(ErrorKind::InvalidArgument, "ValidationError",
                     "listener address is not an IP address: " + address);
  }

  auto sock = std::make_shared<ListenerSocket>();
  sock->id = id;
  sock->address = host;
  sock->fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock->fd < 0) {
    return BindError(where, errno);
  }
  int one = 1;
  setsockopt(sock->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(sock->fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return BindError(where, errno);
  }
  if (::listen(sock->fd, SOMAXCONN) != 0) {
    return BindError(where, errno);
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(sock->fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  sock->port = ntohs(bound.ss_family == AF_INET
                         ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                         : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  sock->port_text = std::to_string(sock->port);
  if (tls != nullptr) {
    Result<SSL_CTX*> ctx = MakeServerContext(*tls);
    if (!ctx.ok()) {
      return ctx.error();
    }
    sock->tls = *ctx;
  }
  return sock;
}

ListenerLocal::ListenerLocal(Loop& loop, std::shared_ptr<ListenerSocket> socket)
    : loop_(loop), socket_(std::move(socket)) {}

bool ListenerLocal::Start() {
  registered_ = loop_.Register(socket_->fd, this, EPOLLIN | EPOLLEXCLUSIVE);
  return registered_;
}

void ListenerLocal::Stop() {
  if (registered_) {
    loop_.Unregister(socket_->fd);
    registered_ = false;
  }
  while (!clients_.Empty()) {
    auto* c = static_cast<ClientConn*>(clients_.next);
    c->Close();  // unlinks itself
  }
  closed_ = true;
  loop_.Retire(this);
}

void ListenerLocal::OnEvents(uint32_t) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(socket_->fd, reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      }
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
        continue;
      }
      // Out of descriptors or memory: stop watching this socket for a moment, or the
      // level-triggered listener would spin.
      spdlog::warn("elb proxy: accept on {} failed: {}", socket_->id, std::strerror(errno));
      if (registered_) {
        loop_.Unregister(socket_->fd);
        registered_ = false;
      }
      loop_.SetDeadline(this, loop_.now_ms() + kAcceptPauseMs);
      return;
    }
    auto* c = new ClientConn(loop_, *this, fd, peer);
    clients_.PushBack(c);
    c->Start();
  }
}

void ListenerLocal::OnTimer() {
  if (!registered_) {
    registered_ = loop_.Register(socket_->fd, this, EPOLLIN | EPOLLEXCLUSIVE);
    if (!registered_) {
      loop_.SetDeadline(this, loop_.now_ms() + kAcceptPauseMs);
    }
  }
}

const ListenerRoute* ListenerLocal::Route() {
  uint64_t epoch = loop_.table_epoch();
  if (epoch == seen_epoch_) {
    return route_;
  }
  seen_epoch_ = epoch;
  const RoutingTable* table = loop_.table().get();
  route_ = table != nullptr ? table->Find(socket_->id) : nullptr;
  rule_base_.clear();
  counters_.clear();
  if (route_ != nullptr) {
    for (const RuleRoute& r : route_->rules) {
      rule_base_.push_back(static_cast<uint32_t>(counters_.size()));
      for (size_t g = 0; g < r.action.forward.size(); ++g) {
        // Start each loop somewhere else, so loops do not all pick the same first target.
        counters_.push_back(static_cast<uint32_t>(loop_.Random()));
      }
    }
  }
  return route_;
}

uint32_t ListenerLocal::NextCounter(size_t rule, size_t group) {
  uint32_t& c = counters_[rule_base_[rule] + group];
  return c++;
}

}  // namespace berth::elb::proxy
