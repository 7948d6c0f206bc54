#include "api/protocol/protocol.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "api/protocol/cbor.h"

namespace berth::api {

namespace {
bool StartsWithCaseless(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}
}  // namespace

ProtocolRequest DetectProtocol(const HttpRequest& req) {
  ProtocolRequest out;
  std::string_view target = req.Header("X-Amz-Target");
  std::string_view content_type = req.Header("Content-Type");
  if (!target.empty()) {
    out.protocol = content_type.find("1.0") != std::string_view::npos ? Protocol::AwsJson10
                                                                      : Protocol::AwsJson11;
    size_t dot = target.rfind('.');
    if (dot != std::string_view::npos) {
      out.target_prefix = std::string(target.substr(0, dot));
      out.operation = std::string(target.substr(dot + 1));
    } else {
      out.operation = std::string(target);
    }
    return out;
  }
  if (req.Header("smithy-protocol") == "rpc-v2-cbor") {
    out.protocol = Protocol::RpcV2Cbor;
    // /service/<ServiceName>/operation/<OperationName>
    std::string_view path = req.Path();
    constexpr std::string_view kService = "/service/";
    size_t op = path.find("/operation/");
    if (path.substr(0, kService.size()) == kService && op != std::string_view::npos) {
      out.target_prefix = std::string(path.substr(kService.size(), op - kService.size()));
      out.operation = std::string(path.substr(op + 11));
    }
    return out;
  }
  if (StartsWithCaseless(content_type, "application/x-www-form-urlencoded") ||
      (req.method == "GET" && req.Query().find("Action=") != std::string_view::npos)) {
    out.protocol = Protocol::Query;
    auto form = ParseForm(req.method == "GET" ? req.Query() : std::string_view(req.body));
    out.operation = form["Action"];
    return out;
  }
  return out;
}

int HttpStatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument:
    case ErrorKind::NotFound:
    case ErrorKind::AlreadyExists:
    case ErrorKind::Conflict:
    case ErrorKind::LimitExceeded:
    case ErrorKind::Throttled:
      return 400;
    case ErrorKind::AccessDenied:
    case ErrorKind::Unauthenticated:
      return 403;
    case ErrorKind::PayloadTooLarge:
      return 413;
    case ErrorKind::Unavailable:
      return 503;
    case ErrorKind::Internal:
      return 500;
  }
  return 500;
}

HttpResponse RenderError(Protocol protocol, const Error& error, const std::string& request_id,
                         const ErrorStyle& style) {
  HttpResponse res;
  res.status = HttpStatusFor(error.kind);
  bool internal = error.kind == ErrorKind::Internal;
  std::string code = internal ? "InternalFailure" : error.aws_code;
  std::string message =
      internal ? "The request processing has failed because of an unknown error, exception or "
                 "failure."
               : error.message;
  res.headers.emplace_back("x-amzn-RequestId", request_id);
  switch (protocol) {
    case Protocol::Query: {
      const char* type = res.status >= 500 ? "Receiver" : "Sender";
      res.headers.emplace_back("Content-Type", "text/xml");
      res.body = "<ErrorResponse xmlns=\"http://webservices.amazon.com/AWSFault/2005-15-09\">"
                 "<Error><Type>" + std::string(type) + "</Type><Code>" + XmlEscape(code) +
                 "</Code><Message>" + XmlEscape(message) + "</Message></Error><RequestId>" +
                 XmlEscape(request_id) + "</RequestId></ErrorResponse>";
      break;
    }
    case Protocol::RpcV2Cbor: {
      res.headers.emplace_back("Content-Type", "application/cbor");
      res.headers.emplace_back("smithy-protocol", "rpc-v2-cbor");
      res.body = cbor::Encode(nlohmann::json{{"__type", code}, {"message", message}});
      break;
    }
    default: {
      res.headers.emplace_back("Content-Type", protocol == Protocol::AwsJson10
                                                   ? "application/x-amz-json-1.0"
                                                   : "application/x-amz-json-1.1");
      res.headers.emplace_back("x-amzn-ErrorType", code);
      res.body = nlohmann::json{{"__type", code}, {style.message_key, message}}.dump();
      break;
    }
  }
  return res;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(std::string_view form) {
  std::map<std::string, std::string> out;
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    form = amp == std::string_view::npos ? std::string_view() : form.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true);
    out[std::move(key)] = std::move(value);
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace berth::api
