#pragma once
// FakeClock: time that moves only when a test says so.

#include "core/clock.h"

namespace berth::testing {

class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'780'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_; }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  int64_t now_ms_;
};

}  // namespace berth::testing
