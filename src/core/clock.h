#pragma once
// Clock: every piece of berth that reads the time does it through this interface, so tests can
// use a FakeClock (tests/fakes/fake_clock.h) and never sleep.

#include <chrono>
#include <cstdint>

namespace berth::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC) in milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  double NowSeconds() const { return static_cast<double>(NowMillis()) / 1000.0; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace berth::core
