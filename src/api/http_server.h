#pragma once
// HttpServer: HTTP/1.1 keep-alive server on Boost.Beast for the AWS API endpoint.
//
// Every request is handed to `handler` on the io_context thread; bodies over `body_limit`
// get a 413 before they are read whole. TCP_NODELAY is set and each response goes out in one
// write (headers and body together), which botocore needs to avoid Nagle/delayed-ACK stalls.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "core/result.h"

namespace boost::asio {
class io_context;
}

namespace berth::api {

class HttpServer {
 public:
  // Answers a request by calling `respond` once, now or later (the server may hold replies
  // until a batch of writes is committed). The session reads nothing more until then.
  using Respond = std::function<void(HttpResponse)>;
  using Handler = std::function<void(HttpRequest&, Respond)>;
  // A 413 is answered by the server itself; `too_large` renders its body (protocol-aware).
  using TooLargeHandler = std::function<HttpResponse(const HttpRequest& head)>;

  HttpServer(boost::asio::io_context& io, Handler handler, TooLargeHandler too_large,
             uint64_t body_limit);
  ~HttpServer();

  // Binds and listens on host:port (port 0: any free port). Returns the bound port.
  Result<int> Listen(const std::string& host, int port);
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
