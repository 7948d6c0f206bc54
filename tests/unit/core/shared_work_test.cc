#include "core/shared_work.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "core/worker_thread.h"

namespace berth::core {

// Two threads share the items: each is run exactly once, whoever takes it.
TEST(SharedWorkTest, EveryItemRunsOnceAcrossThreads) {
  for (int round = 0; round < 50; ++round) {
    SharedWork work(1000);
    std::vector<std::atomic<int>> runs(1000);
    std::atomic<int> by_other{0};
    std::thread other([&] {
      work.Run([&](size_t i) {
        runs[i].fetch_add(1);
        by_other.fetch_add(1);
      });
    });
    work.Run([&](size_t i) { runs[i].fetch_add(1); });
    work.Wait();
    for (size_t i = 0; i < runs.size(); ++i) {
      ASSERT_EQ(runs[i].load(), 1) << i;
    }
    other.join();
    EXPECT_LE(by_other.load(), 1000);
  }
}

// A helper job that starts only after the caller has run every item and returned takes
// nothing: its body, which refers to the caller's (gone) locals, is never called.
TEST(SharedWorkTest, ALateHelperFindsNothingToTake) {
  WorkerThread helper;
  std::atomic<bool> body_called_late{false};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto work = std::make_shared<SharedWork>(8);
  // The helper is busy until the caller is done, as the log store's helper can be.
  (void)helper.Submit([released] { released.wait(); });
  std::future<void> late = helper.Submit([work, &body_called_late] {
    work->Run([&](size_t) { body_called_late.store(true); });
  });
  int own = 0;
  {
    SharedWork::WaitOnExit wait(*work);
    work->Run([&](size_t) { ++own; });
    work->Wait();
  }
  EXPECT_EQ(own, 8);
  release.set_value();
  late.get();
  EXPECT_FALSE(body_called_late.load());
}

// Stop lets no one take another item and waits for the items being run.
TEST(SharedWorkTest, StopEndsTheWork) {
  SharedWork work(100);
  std::atomic<int> ran{0};
  std::atomic<bool> in_item{false};
  std::thread other([&] {
    work.Run([&](size_t) {
      in_item.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ran.fetch_add(1);
    });
  });
  while (!in_item.load()) {
    std::this_thread::yield();
  }
  work.Stop();
  const int at_stop = ran.load();  // every item taken has finished
  other.join();
  EXPECT_EQ(ran.load(), at_stop);
  EXPECT_LT(at_stop, 100);
  int after = 0;
  work.Run([&](size_t) { ++after; });
  EXPECT_EQ(after, 0);
}

}  // namespace berth::core
