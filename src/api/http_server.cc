#include "api/http_server.h"

#include <fcntl.h>

#include "core/asio.h"
#include "core/log.h"

namespace berth::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr uint32_t kHeaderLimit = 64 * 1024;
constexpr uint64_t kLargeBody = 64 * 1024;
constexpr uint64_t kBodyPadding = 64;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer::Handler& handler,
          const HttpServer::TooLargeHandler& too_large, uint64_t body_limit)
      : stream_(std::move(socket)),
        handler_(handler),
        too_large_(too_large),
        body_limit_(body_limit) {}

  void Start() {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    ::fcntl(stream_.socket().native_handle(), F_SETFD, FD_CLOEXEC);
    ReadNext();
  }

 private:
  void ReadNext() {
    parser_.emplace();
    parser_->body_limit(body_limit_);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  // Beast reads into free space of the buffer (at least 512 bytes, at most 64 KiB a call), and
  // the body parser empties it as it goes: a 1 MiB PutLogEvents body arrived in ~2,000 reads of
  // 512 bytes. A large body gets room for 64 KiB reads; small requests keep a small buffer.
  void OnHeader(beast::error_code ec) {
    if (ec) {
      OnRead(ec);
      return;
    }
    if (auto length = parser_->content_length(); length && *length <= body_limit_) {
      if (*length > kLargeBody) {
        buffer_.reserve(kLargeBody);
      }
      // Spare bytes after the body let a JSON decoder that reads in 64-byte blocks (simdjson)
      // parse it in place instead of copying it first (see HttpRequest::body).
      parser_->get().body().reserve(*length + kBodyPadding);
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  static HttpRequest ToRequest(http::request<http::string_body>& msg) {
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    return req;
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // Refused from its Content-Length, before the body is read; the connection closes since
      // the unread body would otherwise be taken for the next request.
      HttpRequest head = ToRequest(parser_->get());
      head.body.clear();
      Send(too_large_(head), /*keep_alive=*/false);
      return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        // Malformed HTTP: answer 400 and close, as a front end would.
        HttpResponse bad;
        bad.status = 400;
        bad.headers.emplace_back("Content-Type", "text/plain");
        bad.body = "Bad Request\n";
        Send(std::move(bad), false);
        return;
      }
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto& msg = parser_->get();
    bool keep_alive = msg.keep_alive();
    HttpRequest req = ToRequest(msg);
    handler_(req, [self = shared_from_this(), keep_alive](HttpResponse res) {
      self->Send(std::move(res), keep_alive);
    });
  }

  void Send(HttpResponse res, bool keep_alive) {
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(11);
    msg->result(static_cast<unsigned>(res.status));
    for (const auto& [k, v] : res.headers) {
      msg->set(k, v);
    }
    msg->set(http::field::server, "berth");
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive);
    msg->prepare_payload();
    http::async_write(stream_, *msg,
                      [self = shared_from_this(), msg, keep_alive](beast::error_code ec, size_t) {
                        if (ec) {
                          return;
                        }
                        if (!keep_alive) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->ReadNext();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpServer::Handler& handler_;
  const HttpServer::TooLargeHandler& too_large_;
  uint64_t body_limit_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(asio::io_context& io, Handler h, TooLargeHandler t, uint64_t limit)
      : io(io), acceptor(io), handler(std::move(h)), too_large(std::move(t)), body_limit(limit) {}

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        return;
      }
      if (!ec) {
        std::make_shared<Session>(std::move(socket), handler, too_large, body_limit)->Start();
      }
      Accept();
    });
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  Handler handler;
  TooLargeHandler too_large;
  uint64_t body_limit;
};

HttpServer::HttpServer(asio::io_context& io, Handler handler, TooLargeHandler too_large,
                       uint64_t body_limit)
    : impl_(std::make_unique<Impl>(io, std::move(handler), std::move(too_large), body_limit)) {}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::Listen(const std::string& host, int port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return MakeError(ErrorKind::InvalidArgument, "InvalidListenAddress",
                     "invalid listen address: " + host);
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) {
    // SOCK_CLOEXEC is not set by Asio: without it every task would inherit the listener.
    ::fcntl(a.native_handle(), F_SETFD, FD_CLOEXEC);
    a.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    a.bind(endpoint, ec);
  }
  if (!ec) {
    a.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return MakeError(ErrorKind::Unavailable, "ListenFailed",
                     "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  impl_->Accept();
  return static_cast<int>(a.local_endpoint().port());
}

void HttpServer::Close() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace berth::api
