#pragma once
// TargetHealth: one target's health as ALB reports it, driven by probe results and the target
// group's thresholds. Pure logic (no I/O), so every transition is unit-tested.
//
//   initial ──healthy_threshold passes──► healthy ──unhealthy_threshold fails──► unhealthy
//      └────unhealthy_threshold fails──► unhealthy ──healthy_threshold passes──► healthy

#include <string>
#include <vector>

#include "core/result.h"
#include "elb/elb_types.h"

namespace berth::elb {

enum class HealthState { Initial, Healthy, Unhealthy };

struct ProbeResult {
  enum class Kind { Passed, CodeMismatch, Timeout, Failed };
  Kind kind = Kind::Failed;
  int status_code = 0;  // when an HTTP status came back
};

// The matcher's success codes: "200", "200,202", "200-399" (HTTP: 200..499).
class StatusMatcher {
 public:
  StatusMatcher() = default;  // "200"
  static Result<StatusMatcher> Parse(const std::string& spec);
  bool Matches(int code) const;

 private:
  std::vector<std::pair<int, int>> ranges_{{200, 200}};
};

class TargetHealth {
 public:
  void Record(const ProbeResult& result, const HealthCheck& check);
  HealthState state() const { return state_; }
  // ALB's wire words for the state, reason code and description.
  const char* StateName() const;
  std::string Reason() const;
  std::string Description() const;

 private:
  HealthState state_ = HealthState::Initial;
  int passes_ = 0;
  int failures_ = 0;
  ProbeResult last_failure_;  // what the reason and description tell
};

}  // namespace berth::elb
