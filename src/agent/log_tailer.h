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
#include <string>

#include "agent/log_sink.h"
#include "agent/task_spec.h"
#include "core/clock.h"

namespace berth::agent {

class LogTailer {
 public:
  LogTailer(std::string container_dir, AwsLogsTarget target, ContainerLogSink& sink,
            const core::Clock& clock);
  // Reads what was appended since the last call and forwards whole lines; with `final`, also
  // the unterminated rest. Returns false when the sink refused (the lines are retried later).
  bool Poll(bool final);

 private:
  struct File {
    std::string path;
    int64_t offset = -1;  // -1: not read from FILE.offset yet
  };
  bool PollFile(File& file, bool final);

  std::string dir_;
  File stdout_;
  File stderr_;
  AwsLogsTarget target_;
  ContainerLogSink& sink_;
  const core::Clock& clock_;
};

}  // namespace berth::agent
