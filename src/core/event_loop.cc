#include "core/event_loop.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace berth::core {

void RunEventLoop(boost::asio::io_context& io, std::chrono::microseconds spin) {
  if (spin.count() <= 0) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  // A sleep plus the handler it woke for, shorter than this, means work in quick succession.
  const auto quick = 4 * spin;
  while (!io.stopped()) {
    const auto slept_from = Clock::now();
    if (io.run_one() == 0) {
      return;  // out of work: run_one() has stopped the context, as run() would
    }
    if (Clock::now() - slept_from >= quick) {
      continue;
    }
    auto spin_until = Clock::now() + spin;
    while (!io.stopped()) {
      if (io.poll() > 0) {
        spin_until = Clock::now() + spin;
        continue;
      }
      if (Clock::now() >= spin_until) {
        break;
      }
#if defined(__x86_64__)
      _mm_pause();
#endif
    }
  }
}

}  // namespace berth::core
