// HttpHealthProber: "GET PATH HTTP/1.1" with ALB's user agent, reads the status line, closes.
#include <array>
#include <charconv>
#include <chrono>

#include "core/asio.h"
#include "elb/health_prober.h"

namespace berth::elb {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class ProbeSession : public std::enable_shared_from_this<ProbeSession> {
 public:
  ProbeSession(asio::io_context& io, ProbeRequest request, std::function<void(ProbeResult)> done)
      : socket_(io), timer_(io), request_(std::move(request)), done_(std::move(done)) {}

  void Start() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address_v4(request_.ip, ec);
    if (ec) {
      Finish({ProbeResult::Kind::Failed, 0});
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(request_.timeout_ms));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->Finish({ProbeResult::Kind::Timeout, 0});
      }
    });
    socket_.async_connect(tcp::endpoint(address, request_.port),
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec) {
                              self->Finish({ProbeResult::Kind::Failed, 0});
                            } else {
                              self->Send();
                            }
                          });
  }

 private:
  void Send() {
    out_ = "GET " + request_.path + " HTTP/1.1\r\nHost: " + request_.ip + ":" +
           std::to_string(request_.port) +
           "\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (ec) {
                          self->Finish({ProbeResult::Kind::Failed, 0});
                        } else {
                          self->Read();
                        }
                      });
  }

  void Read() {
    socket_.async_read_some(
        asio::buffer(buf_.data() + used_, buf_.size() - used_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          self->used_ += n;
          std::string_view got(self->buf_.data(), self->used_);
          size_t eol = got.find("\r\n");
          if (eol == std::string_view::npos) {
            if (ec || self->used_ == self->buf_.size()) {
              self->Finish({ProbeResult::Kind::Failed, 0});
            } else {
              self->Read();
            }
            return;
          }
          // "HTTP/1.1 200 OK"
          int code = 0;
          size_t sp = got.find(' ');
          if (sp == std::string_view::npos || sp + 4 > eol ||
              std::from_chars(got.data() + sp + 1, got.data() + sp + 4, code).ec != std::errc()) {
            self->Finish({ProbeResult::Kind::Failed, 0});
            return;
          }
          bool ok = self->request_.matcher.Matches(code);
          self->Finish({ok ? ProbeResult::Kind::Passed : ProbeResult::Kind::CodeMismatch, code});
        });
  }

  void Finish(ProbeResult result) {
    if (finished_) {
      return;
    }
    finished_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    auto done = std::move(done_);
    done(result);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  ProbeRequest request_;
  std::function<void(ProbeResult)> done_;
  std::string out_;
  std::array<char, 1024> buf_{};
  size_t used_ = 0;
  bool finished_ = false;
};

class HttpHealthProber final : public HealthProber {
 public:
  explicit HttpHealthProber(asio::io_context& io) : io_(io) {}
  void Probe(const ProbeRequest& request, std::function<void(ProbeResult)> done) override {
    std::make_shared<ProbeSession>(io_, request, std::move(done))->Start();
  }

 private:
  asio::io_context& io_;
};

}  // namespace

std::unique_ptr<HealthProber> MakeHttpHealthProber(asio::io_context& io) {
  return std::make_unique<HttpHealthProber>(io);
}

}  // namespace berth::elb
