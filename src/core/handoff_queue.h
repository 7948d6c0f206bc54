#pragma once
// HandoffQueue: hands items from one producer thread to one consumer thread, in order, until the
// producer closes it. For a pipeline of two stages where the consumer works on item N while the
// producer makes item N+1 (FilterLogEvents: one thread scans and matches, the other renders).
//
//   HandoffQueue<Batch> q;
//   producer:  q.Push(std::move(batch)); ... q.Close();
//   consumer:  while (std::optional<Batch> b = q.Pop()) { ... }
//
// Unbounded: the producer's side is bounded by its own work (one page of results).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace berth::core {

template <typename T>
class HandoffQueue {
 public:
  void Push(T item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(item));
    }
    ready_.notify_one();
  }
  // No more items; Pop drains what is queued, then returns nullopt.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    ready_.notify_one();
  }
  // The next item, waiting for one; nullopt once closed and drained.
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) {
      return std::nullopt;
    }
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace berth::core
