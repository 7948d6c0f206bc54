#include "agent/log_tailer.h"

#include <fcntl.h>
#include <unistd.h>

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
    : dir_(std::move(container_dir)), target_(std::move(target)), sink_(sink), clock_(clock) {}

bool LogTailer::Poll(bool final) {
  bool ok = PollFile(shim::kStdoutFile, final);
  return PollFile(shim::kStderrFile, final) && ok;
}

bool LogTailer::PollFile(const std::string& name, bool final) {
  const std::string path = dir_ + "/" + name;
  const std::string offset_path = path + ".offset";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;  // not created yet
  }
  int64_t offset = ReadOffset(offset_path);
  std::string data(kMaxReadPerPoll, '\0');
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
      if (!final && data.size() - pos < kMaxEventBytes && static_cast<size_t>(n) < kMaxReadPerPoll) {
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
  WriteOffset(offset_path, offset + static_cast<int64_t>(pos));
  return true;
}

}  // namespace berth::agent
