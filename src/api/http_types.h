#pragma once
// The HTTP request/response values that cross from the network layer into the API pipeline.
// Kept free of Beast so the pipeline (and its tests) do not pay for Asio headers.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::api {

struct HttpRequest {
  std::string method;
  std::string target;  // raw request-target: path plus "?query", percent-encoded as received
  std::vector<std::pair<std::string, std::string>> headers;
  // HttpServer leaves at least 64 bytes of capacity after the body (simdjson's padding), so a
  // decoder may read past its end without copying it.
  std::string body;

  // First header with this name (case-insensitive), or empty.
  std::string_view Header(std::string_view name) const;
  std::string_view Path() const;
  std::string_view Query() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

}  // namespace berth::api
