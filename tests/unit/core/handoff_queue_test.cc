#include "core/handoff_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace berth::core {
namespace {

TEST(HandoffQueueTest, DeliversEveryItemInOrderThenEndsOnClose) {
  HandoffQueue<std::vector<int>> q;
  std::thread producer([&q] {
    for (int i = 0; i < 1000; ++i) {
      q.Push(std::vector<int>{i, i + 1});
    }
    q.Close();
  });
  int expected = 0;
  while (std::optional<std::vector<int>> item = q.Pop()) {
    ASSERT_EQ(item->size(), 2u);
    EXPECT_EQ((*item)[0], expected);
    ++expected;
  }
  producer.join();
  EXPECT_EQ(expected, 1000);
  EXPECT_FALSE(q.Pop().has_value());  // stays closed
}

TEST(HandoffQueueTest, ItemsPushedBeforeCloseAreStillDrained) {
  HandoffQueue<int> q;
  q.Push(1);
  q.Push(2);
  q.Close();
  EXPECT_EQ(q.Pop(), 1);
  EXPECT_EQ(q.Pop(), 2);
  EXPECT_EQ(q.Pop(), std::nullopt);
}

}  // namespace
}  // namespace berth::core
