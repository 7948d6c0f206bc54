#pragma once
// WorkerThread: one long-lived thread that runs submitted jobs in order. For work that must
// overlap with the event loop's own (decoding a large request body while the loop verifies its
// signature) and that keeps per-thread state warm (simdjson's thread_local parser buffers),
// which a thread per job would allocate again each time.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace berth::core {

class WorkerThread {
 public:
  WorkerThread();
  // Runs the jobs already submitted, then joins.
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Waits until the jobs submitted so far have run.
  void Drain() { Submit([] {}).wait(); }

  // Runs `job` on the worker; the future holds its result (or its exception).
  template <typename F>
  auto Submit(F job) -> std::future<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(job));
    std::future<R> result = task->get_future();
    Post([task] { (*task)(); });
    return result;
  }

 private:
  void Post(std::function<void()> job);
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// Waits for a submitted job when the scope ends, however it ends (an early return, an
// exception): for a job that reads the caller's locals. A future already taken (get()) is not
// waited for again.
template <typename T>
class JoinOnExit {
 public:
  explicit JoinOnExit(std::future<T>& job) : job_(job) {}
  ~JoinOnExit() {
    if (job_.valid()) {
      job_.wait();
    }
  }
  JoinOnExit(const JoinOnExit&) = delete;
  JoinOnExit& operator=(const JoinOnExit&) = delete;

 private:
  std::future<T>& job_;
};

}  // namespace berth::core
