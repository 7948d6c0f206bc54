#include "elb/proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "core/log.h"

namespace berth::elb::proxy {

namespace {

void AppendNum(std::string* out, uint64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(v));
  out->append(buf, static_cast<size_t>(n));
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  out->append(buf, static_cast<size_t>(n));
}

void AppendSeconds(std::string* out, double s) {
  if (s < 0) {
    out->append("-1");
    return;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%.3f", s);
  out->append(buf, static_cast<size_t>(n));
}

// 2018-07-02T22:23:00.186641Z
void AppendIsoTime(std::string* out, int64_t us) {
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, static_cast<int>(us % 1000000));
  out->append(buf, static_cast<size_t>(n));
}

// Quoted fields: quotes, backslashes and control bytes are escaped so a line stays parseable.
void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", u);
      out->append(buf, 4);
    } else {
      out->push_back(c);
    }
  }
}

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  if (s.empty()) {
    out->push_back('-');
  } else {
    AppendEscaped(out, s);
  }
  out->push_back('"');
}

void AppendOrDash(std::string* out, std::string_view s) {
  if (s.empty()) {
    out->push_back('-');
  } else {
    AppendEscaped(out, s);
  }
}

}  // namespace

void AppendAccessLogLine(const AccessLogEntry& e, std::string* out) {
  out->append(e.type);
  out->push_back(' ');
  AppendIsoTime(out, e.time_us);
  out->push_back(' ');
  AppendOrDash(out, e.elb);
  out->push_back(' ');
  out->append(e.client_ip);
  out->push_back(':');
  AppendNum(out, e.client_port);
  out->push_back(' ');
  if (e.target_ip.empty()) {
    out->push_back('-');
  } else {
    out->append(e.target_ip);
    out->push_back(':');
    AppendNum(out, e.target_port);
  }
  out->push_back(' ');
  AppendSeconds(out, e.request_processing_time);
  out->push_back(' ');
  AppendSeconds(out, e.target_processing_time);
  out->push_back(' ');
  AppendSeconds(out, e.response_processing_time);
  out->push_back(' ');
  AppendInt(out, e.elb_status);
  out->push_back(' ');
  if (e.target_status == 0) {
    out->push_back('-');
  } else {
    AppendInt(out, e.target_status);
  }
  out->push_back(' ');
  AppendNum(out, e.received_bytes);
  out->push_back(' ');
  AppendNum(out, e.sent_bytes);
  out->append(" \"");
  if (e.method.empty()) {
    out->append("- - - ");  // ALB's value for a request it could not parse
  } else {
    AppendEscaped(out, e.method);
    out->push_back(' ');
    out->append(e.scheme);
    out->append("://");
    AppendEscaped(out, e.host);
    out->push_back(':');
    AppendNum(out, e.port);
    AppendEscaped(out, e.target);
    out->push_back(' ');
    out->append(e.version);
  }
  out->append("\" ");
  AppendQuoted(out, e.user_agent);
  out->push_back(' ');
  AppendOrDash(out, e.ssl_cipher);
  out->push_back(' ');
  AppendOrDash(out, e.ssl_protocol);
  out->push_back(' ');
  AppendOrDash(out, e.target_group_arn);
  out->push_back(' ');
  AppendQuoted(out, e.trace_id);
  out->push_back(' ');
  AppendQuoted(out, e.domain_name);
  out->append(" \"-\" ");  // chosen_cert_arn
  AppendInt(out, e.matched_rule_priority);
  out->push_back(' ');
  AppendIsoTime(out, e.request_creation_us);
  out->push_back(' ');
  AppendQuoted(out, e.actions_executed);
  out->push_back(' ');
  AppendQuoted(out, e.redirect_url);
  out->push_back(' ');
  AppendQuoted(out, e.error_reason);
  out->append(" \"");
  if (e.target_ip.empty()) {
    out->push_back('-');
  } else {
    out->append(e.target_ip);
    out->push_back(':');
    AppendNum(out, e.target_port);
  }
  out->append("\" \"");
  if (e.target_status == 0) {
    out->push_back('-');
  } else {
    AppendInt(out, e.target_status);
  }
  out->append("\" \"-\" \"-\"\n");  // classification, classification_reason
}

AccessLogWriter::AccessLogWriter() : thread_([this] { Run(); }) {}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& [path, fd] : fds_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void AccessLogWriter::Submit(std::string path, std::string data) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(path), std::move(data));
    ++pending_;
  }
  cv_.notify_one();
}

void AccessLogWriter::Sync() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return pending_ == 0; });
}

void AccessLogWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stop_ and nothing left
    }
    auto [path, data] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    auto it = fds_.find(path);
    if (it == fds_.end()) {
      std::error_code ec;
      std::filesystem::path p(path);
      if (p.has_parent_path()) {
        std::filesystem::create_directories(p.parent_path(), ec);
      }
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        spdlog::warn("elb proxy: cannot open access log {}: {}", path, std::strerror(errno));
      }
      it = fds_.emplace(path, fd).first;
    }
    if (it->second >= 0) {
      const char* p = data.data();
      size_t left = data.size();
      while (left > 0) {
        ssize_t n = ::write(it->second, p, left);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0) {
          break;
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
    }
    lock.lock();
    if (--pending_ == 0) {
      idle_cv_.notify_all();
    }
  }
}

}  // namespace berth::elb::proxy
