#pragma once
// The agent's port for the awslogs log driver: where container output lines go. The server
// plugs in an adapter over the logs service, so the agent never includes a logs header.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace berth::agent {

struct LogLine {
  int64_t timestamp_ms = 0;  // when the line was read, as the awslogs driver stamps it
  std::string message;
};

class ContainerLogSink {
 public:
  virtual ~ContainerLogSink() = default;
  // Checked before a container starts: fails (with CloudWatch's error) when the group is missing
  // and may not be created.
  virtual Status CheckGroup(const std::string& group, bool create_group) = 0;
  // Stores lines in group/stream, creating the stream (and the group when allowed).
  virtual Status Append(const std::string& group, const std::string& stream, bool create_group,
                        std::vector<LogLine> lines) = 0;
};

}  // namespace berth::agent
