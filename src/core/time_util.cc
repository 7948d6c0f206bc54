#include "core/time_util.h"

#include <cstdio>
#include <ctime>

namespace berth::core {

namespace {
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<int64_t> ToEpoch(int year, int mon, int day, int hour, int min, int sec) {
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}
}  // namespace

std::optional<int64_t> ParseAmzDate(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !Digits(s, 0, 4, &y) ||
      !Digits(s, 4, 2, &mo) || !Digits(s, 6, 2, &d) || !Digits(s, 9, 2, &h) ||
      !Digits(s, 11, 2, &mi) || !Digits(s, 13, 2, &se)) {
    return std::nullopt;
  }
  return ToEpoch(y, mo, d, h, mi, se);
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string FormatIso8601(int64_t epoch_millis) {
  std::time_t t = static_cast<std::time_t>(epoch_millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(epoch_millis % 1000));
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':' || !Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &mo) ||
      !Digits(s, 8, 2, &d) || !Digits(s, 11, 2, &h) || !Digits(s, 14, 2, &mi) ||
      !Digits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  int offset_seconds = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  auto epoch = ToEpoch(y, mo, d, h, mi, se);
  if (!epoch) {
    return std::nullopt;
  }
  return (*epoch - offset_seconds) * 1000 + millis;
}

}  // namespace berth::core
