#include "elb/proxy/alb_responses.h"

#include <cstdio>
#include <ctime>

namespace berth::elb::proxy {

namespace {

void AppendHead(std::string* out, int status, std::string_view content_type, size_t length,
                std::string_view date, bool close, std::string_view location) {
  char num[24];
  out->append("HTTP/1.1 ");
  out->append(std::to_string(status));
  out->push_back(' ');
  out->append(ReasonPhrase(status));
  out->append("\r\nServer: awselb/2.0\r\nDate: ");
  out->append(date);
  out->append("\r\n");
  if (!content_type.empty()) {
    out->append("Content-Type: ");
    out->append(content_type);
    out->append("\r\n");
  }
  int n = std::snprintf(num, sizeof(num), "%zu", length);
  out->append("Content-Length: ");
  out->append(num, static_cast<size_t>(n));
  out->append("\r\n");
  if (!location.empty()) {
    out->append("Location: ");
    out->append(location);
    out->append("\r\n");
  }
  out->append(close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
}

std::string HtmlPage(int status) {
  std::string title = std::to_string(status) + " " + std::string(ReasonPhrase(status));
  return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
         "</h1></center>\r\n</body>\r\n</html>\r\n";
}

// Replaces each #{name} in `tmpl` by its value.
std::string Expand(std::string_view tmpl, const RedirectInput& in, std::string_view port) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '#' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      size_t close = tmpl.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view key = tmpl.substr(i + 2, close - i - 2);
        bool known = true;
        if (key == "protocol") {
          out.append(in.protocol);
        } else if (key == "host") {
          out.append(in.host);
        } else if (key == "port") {
          out.append(port);
        } else if (key == "path") {
          std::string_view p = in.path;
          if (!p.empty() && p.front() == '/') {
            p.remove_prefix(1);
          }
          out.append(p);
        } else if (key == "query") {
          out.append(in.query);
        } else {
          known = false;
        }
        if (known) {
          i = close + 1;
          continue;
        }
      }
    }
    out.push_back(tmpl[i++]);
  }
  return out;
}

}  // namespace

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 460: return "Client Closed Request";
    case 463: return "Bad Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Temporarily Unavailable";
    case 504: return "Gateway Time-out";
    case 505: return "HTTP Version Not Supported";
    default:
      break;
  }
  if (status >= 200 && status < 300) return "OK";
  if (status >= 300 && status < 400) return "Redirect";
  if (status >= 400 && status < 500) return "Client Error";
  return "Server Error";
}

void FormatHttpDate(int64_t unix_seconds, char* out) {
  static const char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  for (size_t i = 0; i < kHttpDateLen; ++i) {
    out[i] = buf[i];
  }
}

void AppendErrorResponse(std::string* out, int status, std::string_view date, bool close,
                         bool head_only) {
  std::string body = HtmlPage(status);
  AppendHead(out, status, "text/html", body.size(), date, close, {});
  if (!head_only) {
    out->append(body);
  }
}

void AppendFixedResponse(std::string* out, int status, std::string_view content_type,
                         std::string_view body, std::string_view date, bool close,
                         bool head_only) {
  AppendHead(out, status, content_type.empty() ? std::string_view("text/plain") : content_type,
             body.size(), date, close, {});
  if (!head_only) {
    out->append(body);
  }
}

void AppendRedirectResponse(std::string* out, int status, std::string_view location,
                            std::string_view date, bool close, bool head_only) {
  std::string body = HtmlPage(status);
  AppendHead(out, status, "text/html", body.size(), date, close, location);
  if (!head_only) {
    out->append(body);
  }
}

std::string BuildRedirectLocation(const Action& a, const RedirectInput& in) {
  std::string port = std::to_string(in.port);
  auto field = [](const std::string& v, std::string_view dflt) {
    return v.empty() ? dflt : std::string_view(v);
  };
  std::string protocol = Expand(field(a.redirect_protocol, "#{protocol}"), in, port);
  for (char& c : protocol) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  std::string host = Expand(field(a.redirect_host, "#{host}"), in, port);
  std::string rport = Expand(field(a.redirect_port, "#{port}"), in, port);
  std::string path = Expand(field(a.redirect_path, "/#{path}"), in, port);
  std::string query = Expand(field(a.redirect_query, "#{query}"), in, port);
  if (path.empty() || path.front() != '/') {
    path.insert(path.begin(), '/');
  }
  std::string loc = protocol + "://" + host;
  if (!rport.empty()) {
    loc += ":" + rport;
  }
  loc += path;
  if (!query.empty()) {
    loc += "?" + query;
  }
  return loc;
}

}  // namespace berth::elb::proxy
