#pragma once
// SequentialIds: predictable ids (0…01, 0…02, …) for tests that assert on ARNs.

#include <fmt/format.h>

#include "core/id.h"

namespace berth::testing {

class SequentialIds final : public core::IdSource {
 public:
  std::string NewTaskId() override { return fmt::format("{:032x}", ++n_); }
  std::string NewUuid() override { return fmt::format("00000000-0000-4000-8000-{:012x}", ++n_); }
  std::string RandomString(size_t n, bool) override { return std::string(n, 'A'); }

 private:
  int n_ = 0;
};

}  // namespace berth::testing
