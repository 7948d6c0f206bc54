#include "agent/log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "agent/shim/shim_protocol.h"
#include "core/log.h"

namespace berth::agent {

namespace {

constexpr size_t kMaxEventBytes = 256 * 1024 - 26;
constexpr size_t kMaxReadPerPoll = 8 << 20;

int64_t ReadOffset(const std::string& path) {
  std::ifstream in(path);
  int64_t offset = 0;
  in >> offset;
  return offset;
}

void WriteOffset(const std::string& path, int64_t offset) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << offset << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

LogTailer::LogTailer(std::string container_dir, AwsLogsTarget target, ContainerLogSink& sink,
                     const core::Clock& clock)
    : dir_(std::move(container_dir)),
      stdout_{dir_ + "/" + shim::kStdoutFile},
      stderr_{dir_ + "/" + shim::kStderrFile},
      target_(std::move(target)),
      sink_(sink),
      clock_(clock) {}

bool LogTailer::Poll(bool final) {
  bool ok = PollFile(stdout_, final);
  return PollFile(stderr_, final) && ok;
}

bool LogTailer::PollFile(File& file, bool final) {
  const std::string offset_path = file.path + ".offset";
  if (file.offset < 0) {
    file.offset = ReadOffset(offset_path);
  }
  // Called ten times a second per file: a stat is all an idle container costs.
  struct stat st;
  if (::stat(file.path.c_str(), &st) != 0 || st.st_size <= file.offset) {
    return true;
  }
  int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  const int64_t offset = file.offset;
  size_t want = std::min<size_t>(kMaxReadPerPoll, static_cast<size_t>(st.st_size - offset));
  std::string data(want, '\0');
  ssize_t n = ::pread(fd, data.data(), data.size(), offset);
  ::close(fd);
  if (n <= 0) {
    return true;
  }
  data.resize(static_cast<size_t>(n));
  const int64_t now = clock_.NowMillis();
  std::vector<LogLine> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) {
      // An unterminated tail: wait for its newline unless the container is gone, or the
      // piece is already as long as an event may be.
      if (!final && data.size() - pos < kMaxEventBytes && want < kMaxReadPerPoll) {
        break;
      }
      nl = data.size();
    }
    std::string_view line(data.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    // Empty lines are dropped (CloudWatch rejects empty messages; Docker's driver skips them).
    for (size_t i = 0; i < line.size(); i += kMaxEventBytes) {
      lines.push_back({now, std::string(line.substr(i, kMaxEventBytes))});
    }
    pos = std::min(data.size(), nl + 1);
  }
  if (pos == 0) {
    return true;
  }
  if (!lines.empty()) {
    Status s = sink_.Append(target_.group, target_.stream, target_.create_group, std::move(lines));
    if (!s.ok()) {
      spdlog::warn("awslogs {}/{}: {}", target_.group, target_.stream, s.error().message);
      return false;
    }
  }
  file.offset = offset + static_cast<int64_t>(pos);
  WriteOffset(offset_path, file.offset);
  return true;
}

}  // namespace berth::agent
