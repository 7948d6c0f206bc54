#pragma once
// ALB access log lines and the thread that writes them.
//
// A line is ALB's space-separated format (fields in this order):
//   type time elb client:port target:port request_processing_time target_processing_time
//   response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//   "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//   "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//   "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//   "classification" "classification_reason"
// Event loops format lines into their own buffer and hand full buffers (or, at the latest,
// each second's) to one AccessLogWriter thread, which appends them to the files; the request
// path never touches a file.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace berth::elb::proxy {

struct AccessLogEntry {
  std::string_view type = "http";  // http, https, ws, wss
  int64_t time_us = 0;             // wall clock when the response was completed
  std::string_view elb;            // "app/NAME/ID"
  std::string_view client_ip;
  uint16_t client_port = 0;
  std::string_view target_ip;      // empty: "-"
  uint16_t target_port = 0;
  double request_processing_time = -1;  // seconds; -1 as ALB when it does not apply
  double target_processing_time = -1;
  double response_processing_time = -1;
  int elb_status = 0;
  int target_status = 0;  // 0: "-"
  uint64_t received_bytes = 0;
  uint64_t sent_bytes = 0;
  // "request": METHOD scheme://host:port/path?query HTTP/1.x
  std::string_view method;
  std::string_view scheme;  // http / https
  std::string_view host;    // without port
  uint16_t port = 0;
  std::string_view target;  // path and query
  std::string_view version; // "HTTP/1.1"
  std::string_view user_agent;
  std::string_view ssl_cipher;
  std::string_view ssl_protocol;
  std::string_view target_group_arn;
  std::string_view trace_id;
  std::string_view domain_name;
  int matched_rule_priority = -1;
  int64_t request_creation_us = 0;  // wall clock
  std::string_view actions_executed;
  std::string_view redirect_url;
  std::string_view error_reason;
};

// Appends one line (with its trailing newline).
void AppendAccessLogLine(const AccessLogEntry& e, std::string* out);

// Appends text to files from its own thread. Thread-safe.
class AccessLogWriter {
 public:
  AccessLogWriter();
  ~AccessLogWriter();  // writes what was submitted, then stops
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Queues `data` to be appended to `path` (created with its directory if missing). Files that
  // cannot be written are skipped with one warning.
  void Submit(std::string path, std::string data);
  // Blocks until everything submitted so far is written (tests).
  void Sync();

 private:
  void Run();

  std::mutex mu_;  // guards queue_, stop_, pending_
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  size_t pending_ = 0;  // submitted, not yet written
  bool stop_ = false;
  std::unordered_map<std::string, int> fds_;  // writer thread only
  std::thread thread_;
};

}  // namespace berth::elb::proxy
