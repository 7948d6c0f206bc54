#include "agent/log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <fstream>

#include "agent/shim/shim_protocol.h"
#include "core/log.h"

namespace berth::agent {

namespace {

constexpr size_t kMaxEventBytes = 256 * 1024 - 26;
constexpr size_t kMaxReadPerPoll = 8 << 20;
// How long an open multi-line event waits for more lines before it is sent anyway (Docker's
// driver flushes its buffer on a timer too).
constexpr int64_t kMultilineFlushMs = 1000;

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

struct LogTailer::Matcher {
  std::regex re;
};

std::string LogTailer::DatetimeFormatToRegex(const std::string& format) {
  // Docker's table (daemon/logger/awslogs): each directive becomes the pattern of its field.
  static const std::map<char, std::string> kDirectives = {
      {'a', "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"},
      {'A', "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"},
      {'b', "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"},
      {'B', "(?:January|February|March|April|May|June|July|August|September|October|November|"
            "December)"},
      {'d', "(?:0[1-9]|[12][0-9]|3[01])"},
      {'f', "[0-9]{1,9}"},
      {'H', "(?:[01][0-9]|2[0-3])"},
      {'I', "(?:0[0-9]|1[0-2])"},
      {'j', "(?:0[0-9][1-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])"},
      {'L', "\\.[0-9]{3}"},
      {'m', "(?:0[1-9]|1[0-2])"},
      {'M', "[0-5][0-9]"},
      {'p', "[AP]M"},
      {'S', "[0-5][0-9]"},
      {'U', "(?:0[0-9]|[1-4][0-9]|5[0-3])"},
      {'w', "[0-6]"},
      {'W', "(?:0[0-9]|[1-4][0-9]|5[0-3])"},
      {'y', "[0-9]{2}"},
      {'Y', "[0-9]{4}"},
      {'z', "[+-][0-9]{4}"},
      {'Z', "[A-Z]{1,4}T"},
      {'%', "%"},
  };
  std::string out = "^";
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '%' && i + 1 < format.size()) {
      auto it = kDirectives.find(format[++i]);
      if (it != kDirectives.end()) {
        out += it->second;
        continue;
      }
      c = format[i];
    }
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

Status LogTailer::Validate(const AwsLogsTarget& target) {
  if (target.datetime_format.empty() && target.multiline_pattern.empty()) {
    return OkStatus();
  }
  try {
    std::regex(target.datetime_format.empty() ? target.multiline_pattern
                                              : DatetimeFormatToRegex(target.datetime_format));
  } catch (const std::regex_error& e) {
    return MakeError(ErrorKind::InvalidArgument, "CannotStartContainerError",
                     std::string("failed to initialize logging driver: awslogs could not parse "
                                 "multiline pattern key: ") + e.what());
  }
  return OkStatus();
}

LogTailer::LogTailer(std::string container_dir, AwsLogsTarget target, ContainerLogSink& sink,
                     const core::Clock& clock)
    : dir_(std::move(container_dir)),
      stdout_{dir_ + "/" + shim::kStdoutFile},
      stderr_{dir_ + "/" + shim::kStderrFile},
      target_(std::move(target)),
      sink_(sink),
      clock_(clock) {
  if (!target_.datetime_format.empty() || !target_.multiline_pattern.empty()) {
    starts_event_ = std::make_unique<Matcher>(Matcher{std::regex(
        target_.datetime_format.empty() ? target_.multiline_pattern
                                        : DatetimeFormatToRegex(target_.datetime_format))});
  }
}

LogTailer::~LogTailer() = default;

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
  // Complete lines (and, when the container is gone, the unterminated rest), with where each
  // starts in `data`.
  std::vector<std::pair<size_t, std::string_view>> raw_lines;
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
    raw_lines.emplace_back(pos, line);
    pos = std::min(data.size(), nl + 1);
  }
  // Group lines into events: one per line, or multi-line events opened by a matching line.
  std::vector<std::pair<size_t, std::string>> events;
  for (const auto& [start, line] : raw_lines) {
    bool opens = !starts_event_ || events.empty() ||
                 std::regex_search(line.begin(), line.end(), starts_event_->re);
    if (opens) {
      events.emplace_back(start, std::string(line));
    } else {
      events.back().second.append("\n").append(line);
    }
  }
  if (starts_event_ && !final && !events.empty()) {
    // The last event may still grow: hold it (and its bytes) back for a while.
    int64_t start = offset + static_cast<int64_t>(events.back().first);
    if (file.pending_start != start) {
      file.pending_start = start;
      file.pending_since_ms = now;
    }
    if (now - file.pending_since_ms < kMultilineFlushMs) {
      pos = events.back().first;
      events.pop_back();
    }
  }
  std::vector<LogLine> lines;
  for (const auto& [start, text] : events) {
    // Empty events are dropped (CloudWatch rejects empty messages; Docker's driver skips them).
    for (size_t i = 0; i < text.size(); i += kMaxEventBytes) {
      lines.push_back({now, text.substr(i, kMaxEventBytes)});
    }
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
