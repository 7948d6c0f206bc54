#pragma once
// LogTailer: the awslogs log driver's reader. It follows a container's stdout and stderr files
// (written by berth-shim), cuts them into lines and hands them to the ContainerLogSink.
//
// Each file's read offset is kept beside it (FILE.offset) and advanced only after the sink took
// the lines, so a restart of berth server resumes where it stopped: nothing is lost; a crash
// between the two can repeat the last batch (at-least-once, like the Docker driver's retries).
// Lines over 256 KiB - 26 bytes are split, as CloudWatch requires. A last line without a newline
// is held until the container exits.

#include <cstdint>
#include <memory>
#include <string>

#include "agent/log_sink.h"
#include "agent/task_spec.h"
#include "core/clock.h"

namespace berth::agent {

class LogTailer {
 public:
  // Checks the target's multiline settings; the error text is Docker's for a bad pattern.
  static Status Validate(const AwsLogsTarget& target);
  // The regular expression Docker's awslogs driver makes of an awslogs-datetime-format.
  static std::string DatetimeFormatToRegex(const std::string& format);

  // REQUIRES: Validate(target) succeeded.
  LogTailer(std::string container_dir, AwsLogsTarget target, ContainerLogSink& sink,
            const core::Clock& clock);
  ~LogTailer();
  // Reads what was appended since the last call and forwards whole lines; with `final`, also
  // the unterminated rest. Returns false when the sink refused (the lines are retried later).
  bool Poll(bool final);

 private:
  struct File {
    std::string path;
    int64_t offset = -1;  // -1: not read from FILE.offset yet
    // A multi-line event still open at the end of what was read: where it starts, and since
    // when it has been waiting (it is sent after kMultilineFlushMs without a follow-up).
    int64_t pending_start = -1;
    int64_t pending_since_ms = 0;
  };
  bool PollFile(File& file, bool final);

  std::string dir_;
  File stdout_;
  File stderr_;
  AwsLogsTarget target_;
  ContainerLogSink& sink_;
  const core::Clock& clock_;
  struct Matcher;
  std::unique_ptr<Matcher> starts_event_;  // null: one event per line
};

}  // namespace berth::agent
