#pragma once
// Helpers for the proxy's end-to-end tests: a tiny HTTP backend on blocking sockets (one thread
// per connection) and a blocking HTTP client, both on 127.0.0.1 with receive timeouts, so a
// broken proxy fails a test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "elb/routing_table.h"

namespace berth::elb::proxy::testing {

inline void SetTimeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

inline std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

// A connected blocking socket with a read buffer.
class Stream {
 public:
  explicit Stream(int fd) : fd_(fd) { SetTimeouts(fd_, 3000); }
  ~Stream() { Close(); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  static std::unique_ptr<Stream> Connect(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      return nullptr;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return std::make_unique<Stream>(fd);
  }

  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  bool Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool Fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // A line without CRLF; false if the stream ended first.
  bool ReadLine(std::string* line) {
    while (true) {
      size_t p = buf_.find("\r\n");
      if (p != std::string::npos) {
        *line = buf_.substr(0, p);
        buf_.erase(0, p + 2);
        return true;
      }
      if (!Fill()) return false;
    }
  }

  bool ReadExactly(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

  // Everything until EOF.
  std::string ReadToEof() {
    while (Fill()) {
    }
    std::string s;
    s.swap(buf_);
    return s;
  }

  // True if the peer closed the connection (within the timeout) with nothing more to read.
  bool WaitClosed(int ms = 3000) {
    if (!buf_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  std::string& buffer() { return buf_; }

 private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

struct Message {
  std::string start_line;  // request line or status line
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string raw_head;
  bool chunked = false;
  int status = 0;

  std::string Get(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  int Count(const std::string& name) const {
    int c = 0;
    for (const auto& [n, v] : headers) c += n == name;
    return c;
  }
  bool Has(const std::string& name) const { return Count(name) > 0; }
};

// Reads a head; false if the stream ended or timed out.
inline bool ReadHead(Stream& s, Message* m) {
  std::string line;
  do {
    if (!s.ReadLine(&line)) return false;
  } while (line.empty() && m->start_line.empty());
  m->start_line = line;
  m->raw_head = line + "\r\n";
  if (line.rfind("HTTP/", 0) == 0 && line.size() >= 12) {
    m->status = std::stoi(line.substr(9, 3));
  }
  while (true) {
    if (!s.ReadLine(&line)) return false;
    m->raw_head += line + "\r\n";
    if (line.empty()) break;
    size_t c = line.find(':');
    std::string v = line.substr(c + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    m->headers.emplace_back(Lower(line.substr(0, c)), v);
  }
  return true;
}

// Reads a body framed by Content-Length / chunked, or (if `until_eof_ok`) to EOF.
inline bool ReadBody(Stream& s, Message* m, bool no_body, bool until_eof_ok) {
  if (no_body) return true;
  std::string te = Lower(m->Get("transfer-encoding"));
  if (te.find("chunked") != std::string::npos) {
    m->chunked = true;
    std::string line;
    while (true) {
      if (!s.ReadLine(&line)) return false;
      size_t size = std::stoul(line, nullptr, 16);
      if (size == 0) {
        while (true) {  // trailers
          if (!s.ReadLine(&line)) return false;
          if (line.empty()) return true;
        }
      }
      if (!s.ReadExactly(size, &m->body)) return false;
      if (!s.ReadLine(&line)) return false;
    }
  }
  if (m->Has("content-length")) {
    return s.ReadExactly(std::stoul(m->Get("content-length")), &m->body);
  }
  if (until_eof_ok) {
    m->body = s.ReadToEof();
    return true;
  }
  return true;
}

// A request as a client: send it and read the response.
inline bool ReadResponse(Stream& s, Message* m, bool head_request = false) {
  if (!ReadHead(s, m)) return false;
  bool no_body = head_request || m->status == 204 || m->status == 304 ||
                 (m->status >= 100 && m->status < 200);
  return ReadBody(s, m, no_body, true);
}

// The test backend. Every accepted connection gets its own thread running `handler`; the
// default handler answers each request with 200 and a body holding the request head.
class TestBackend {
 public:
  using Handler = std::function<void(Stream&, TestBackend&)>;

  explicit TestBackend(std::string name = "b1", Handler handler = nullptr)
      : name_(std::move(name)), handler_(handler ? std::move(handler) : DefaultHandler()) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 128);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    backend_ = std::make_shared<Backend>("127.0.0.1", port_);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestBackend() { Stop(); }

  void Stop() {
    if (stopped_.exchange(true)) return;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
  }

  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  std::shared_ptr<Backend> backend() const { return backend_; }
  int accepted() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }
  void CountRequest() { ++requests_; }

  std::vector<Message> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  void Record(const Message& m) {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(m);
  }

  // Reads one request (head and body); false when the connection ended.
  bool ReadRequest(Stream& s, Message* m) {
    if (!ReadHead(s, m)) return false;
    if (!ReadBody(s, m, false, false)) return false;
    Record(*m);
    CountRequest();
    return true;
  }

  static std::string Response(const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
  }

  static Handler DefaultHandler() {
    return [](Stream& s, TestBackend& self) {
      while (true) {
        Message m;
        if (!self.ReadRequest(s, &m)) return;
        std::string body = self.name() + "\n" + m.raw_head + m.body;
        if (!s.Send(Response(body, "X-Backend: " + self.name() + "\r\n"))) return;
      }
    };
  }

 private:
  void AcceptLoop() {
    while (true) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stopped_.load()) return;
        if (errno == EINTR) continue;
        return;
      }
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      conn_fds_.push_back(c);
      workers_.emplace_back([this, c] {
        {
          Stream s(c);
          handler_(s, *this);
          // Forget the descriptor before ~Stream closes it, so Stop never touches a number
          // that was reused by someone else.
          std::lock_guard<std::mutex> lock(mu_);
          conn_fds_.erase(std::find(conn_fds_.begin(), conn_fds_.end(), c));
        }
      });
    }
  }

  std::string name_;
  Handler handler_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::shared_ptr<Backend> backend_;
  std::thread acceptor_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::mutex mu_;  // guards workers_, conn_fds_, received_
  std::vector<std::thread> workers_;
  std::vector<int> conn_fds_;
  std::vector<Message> received_;
};

// Routing table builders.
inline std::shared_ptr<TargetGroupRoute> Group(std::string arn,
                                               std::vector<std::shared_ptr<Backend>> targets) {
  auto g = std::make_shared<TargetGroupRoute>();
  g->arn = std::move(arn);
  g->routable = std::move(targets);
  g->stats = std::make_shared<TargetGroupStats>();
  return g;
}

inline RuleRoute ForwardRule(int priority, std::shared_ptr<const TargetGroupRoute> g,
                             std::vector<Condition> conditions = {}) {
  RuleRoute r;
  r.priority = priority;
  r.conditions = std::move(conditions);
  r.action.kind = ActionKind::Forward;
  r.action.forward.push_back(WeightedTargetGroup{std::move(g), 1});
  return r;
}

inline Condition Cond(ConditionField f, std::vector<std::string> values,
                      std::string header = "") {
  Condition c;
  c.field = f;
  c.values = std::move(values);
  c.header_name = std::move(header);
  return c;
}

inline std::shared_ptr<RoutingTable> Table(const std::string& listener_id,
                                           std::vector<RuleRoute> rules,
                                           uint32_t idle_seconds = 60) {
  auto t = std::make_shared<RoutingTable>();
  t->version = 1;
  ListenerRoute l;
  l.id = listener_id;
  l.rules = std::move(rules);
  l.idle_timeout_seconds = idle_seconds;
  l.load_balancer_id = "app/test-lb/0123456789abcdef";
  t->listeners.push_back(std::move(l));
  return t;
}

// Polls `cond` until it holds or `ms` pass.
inline bool Eventually(const std::function<bool()>& cond, int ms = 2000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

}  // namespace berth::elb::proxy::testing
