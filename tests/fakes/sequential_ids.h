#pragma once
// SequentialIds: predictable ids (0…01, 0…02, …) for tests that assert on ARNs.

#include <fmt/format.h>

#include "core/id.h"

namespace berth::testing {

class SequentialIds final : public core::IdSource {
 public:
  std::string NewTaskId() override { return fmt::format("{:032x}", ++n_); }
  std::string NewUuid() override { return fmt::format("00000000-0000-4000-8000-{:012x}", ++n_); }
  // 'A's ending in a counter, so successive strings differ (access key ids must).
  std::string RandomString(size_t n, bool) override {
    std::string s(n, 'A');
    std::string counter = std::to_string(++n_);
    s.replace(n > counter.size() ? n - counter.size() : 0, std::min(n, counter.size()),
              counter.substr(counter.size() > n ? counter.size() - n : 0));
    return s;
  }

 private:
  int n_ = 0;
};

}  // namespace berth::testing
