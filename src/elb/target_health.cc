#include "elb/target_health.h"

#include <charconv>

#include "elb/elb_errors.h"

namespace berth::elb {

namespace {

bool ParseCode(std::string_view text, int* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

Result<StatusMatcher> StatusMatcher::Parse(const std::string& spec) {
  StatusMatcher m;
  m.ranges_.clear();
  auto invalid = [&] {
    return errors::Validation("Health check matcher HTTP code '" + spec +
                              "' must be a value between 200 and 499");
  };
  std::string_view rest = spec;
  if (rest.empty()) {
    return invalid();
  }
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    int lo = 0;
    int hi = 0;
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!ParseCode(item, &lo)) {
        return invalid();
      }
      hi = lo;
    } else if (!ParseCode(item.substr(0, dash), &lo) || !ParseCode(item.substr(dash + 1), &hi) ||
               hi < lo) {
      return invalid();
    }
    if (lo < 200 || hi > 499) {
      return invalid();
    }
    m.ranges_.emplace_back(lo, hi);
  }
  return m;
}

bool StatusMatcher::Matches(int code) const {
  for (auto [lo, hi] : ranges_) {
    if (code >= lo && code <= hi) {
      return true;
    }
  }
  return false;
}

void TargetHealth::Record(const ProbeResult& result, const HealthCheck& check) {
  if (result.kind == ProbeResult::Kind::Passed) {
    failures_ = 0;
    ++passes_;
    if (state_ != HealthState::Healthy && passes_ >= check.healthy_threshold) {
      state_ = HealthState::Healthy;
    }
  } else {
    last_failure_ = result;
    passes_ = 0;
    ++failures_;
    if (state_ != HealthState::Unhealthy && failures_ >= check.unhealthy_threshold) {
      state_ = HealthState::Unhealthy;
    }
  }
}

const char* TargetHealth::StateName() const {
  switch (state_) {
    case HealthState::Initial:
      return "initial";
    case HealthState::Healthy:
      return "healthy";
    case HealthState::Unhealthy:
      return "unhealthy";
  }
  return "unavailable";
}

std::string TargetHealth::Reason() const {
  switch (state_) {
    case HealthState::Initial:
      return "Elb.InitialHealthChecking";
    case HealthState::Healthy:
      return "";
    case HealthState::Unhealthy:
      break;
  }
  switch (last_failure_.kind) {
    case ProbeResult::Kind::CodeMismatch:
      return "Target.ResponseCodeMismatch";
    case ProbeResult::Kind::Timeout:
      return "Target.Timeout";
    default:
      return "Target.FailedHealthChecks";
  }
}

std::string TargetHealth::Description() const {
  switch (state_) {
    case HealthState::Initial:
      return "Initial health checks in progress";
    case HealthState::Healthy:
      return "";
    case HealthState::Unhealthy:
      break;
  }
  switch (last_failure_.kind) {
    case ProbeResult::Kind::CodeMismatch:
      return "Health checks failed with these codes: [" + std::to_string(last_failure_.status_code) + "]";
    case ProbeResult::Kind::Timeout:
      return "Request timed out";
    default:
      return "Health checks failed";
  }
}

}  // namespace berth::elb
