#pragma once
// CloudWatch Logs domain types (AWS vocabulary).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::logs {

struct LogGroup {
  int64_t id = 0;  // berth's own key; names the group's segment directory
  std::string name;
  std::string arn;  // arn:aws:logs:REGION:ACCOUNT:log-group:NAME (DescribeLogGroups adds ":*")
  int64_t created_ms = 0;
  std::optional<int> retention_days;
  std::string kms_key_id;
  std::map<std::string, std::string> tags;
  int64_t stored_bytes = 0;
};

struct LogStream {
  int64_t id = 0;  // unique within berth; stored in each event record
  int64_t group_id = 0;
  std::string name;
  int64_t created_ms = 0;
  std::optional<int64_t> first_event_ms;
  std::optional<int64_t> last_event_ms;
  std::optional<int64_t> last_ingestion_ms;
  int64_t stored_bytes = 0;
};

// One stored event.
struct LogEvent {
  int64_t stream_id = 0;
  int64_t timestamp_ms = 0;
  int64_t ingestion_ms = 0;
  std::string message;
};

}  // namespace berth::logs
