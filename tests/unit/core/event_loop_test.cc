#include "core/event_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::core {
namespace {

// Whatever the spin, the loop runs every handler (posted ones, ones posted by handlers, timers)
// in order and returns once the context has no work left, as io_context::run() does.
TEST(EventLoopTest, RunsEveryHandlerAndReturnsWhenOutOfWork) {
  for (int spin_us : {0, 50}) {
    boost::asio::io_context io;
    std::vector<int> ran;
    boost::asio::steady_timer timer(io, std::chrono::milliseconds(5));
    timer.async_wait([&](const boost::system::error_code&) {
      ran.push_back(3);
      boost::asio::post(io, [&] { ran.push_back(4); });
    });
    boost::asio::post(io, [&] {
      ran.push_back(1);
      boost::asio::post(io, [&] { ran.push_back(2); });
    });
    RunEventLoop(io, std::chrono::microseconds(spin_us));
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 4})) << spin_us;
    EXPECT_TRUE(io.stopped());
  }
}

TEST(EventLoopTest, StopFromAHandlerEndsTheLoopWithWorkLeft) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);  // never runs out of work by itself
  int ran = 0;
  for (int i = 0; i < 3; ++i) {
    boost::asio::post(io, [&] {
      if (++ran == 2) {
        io.stop();
      }
    });
  }
  RunEventLoop(io, std::chrono::microseconds(50));
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace berth::core
