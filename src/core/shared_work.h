#pragma once
// SharedWork: items [0, count) that any number of threads take one at a time, each running
// the ones it takes. The hot paths that split a request's work between the calling thread and a
// helper (clustering and compressing a log block, unescaping a PutLogEvents batch) use it
// instead of fixed halves: a thread the scheduler stalls holds nothing up, the others take the
// rest. And the caller does not wait for a helper that has not started: Wait() returns once
// every item taken has been run, and a helper job that starts later finds nothing to take.
//
//   auto work = std::make_shared<core::SharedWork>(clusters.size());
//   helper->Submit([work, &block] { work->Run([&](size_t i) { Encode(block, i); }); });
//   core::SharedWork::WaitOnExit wait(*work);   // also on an exception
//   work->Run([&](size_t i) { Encode(block, i); });
//
// A job that may start after the caller has returned must hold the SharedWork by shared_ptr;
// its `body` is only called for an item it takes, which can only happen before Wait returns, so
// the body may refer to the caller's locals.

#include <atomic>
#include <cstddef>
#include <thread>

namespace berth::core {

class SharedWork {
 public:
  explicit SharedWork(size_t count) : count_(count) {}
  SharedWork(const SharedWork&) = delete;
  SharedWork& operator=(const SharedWork&) = delete;

  // Runs body(i) for each item i this thread takes, until none is left (or Stop).
  template <typename Body>
  void Run(Body&& body) {
    while (true) {
      // Counted before taking, so that Wait cannot miss an item being taken.
      in_flight_.fetch_add(1);
      const size_t i = next_.fetch_add(1);
      if (i >= count_) {
        in_flight_.fetch_sub(1);
        return;
      }
      body(i);
      in_flight_.fetch_sub(1);  // releases what body wrote to whoever waits
    }
  }

  // Waits until no thread is running an item. After this thread's Run has returned (no item is
  // left to take), that means every item has been run.
  void Wait() const {
    while (in_flight_.load() != 0) {
      std::this_thread::yield();  // another thread finishing one item
    }
  }

  // Lets no thread take another item, then waits for the items being run.
  void Stop() {
    next_.store(count_);
    Wait();
  }

  size_t count() const { return count_; }

  // Stops the work when it leaves scope (the normal path has already waited; on an exception
  // no thread is left running the caller's items).
  class WaitOnExit {
   public:
    explicit WaitOnExit(SharedWork& work) : work_(work) {}
    ~WaitOnExit() { work_.Stop(); }
    WaitOnExit(const WaitOnExit&) = delete;
    WaitOnExit& operator=(const WaitOnExit&) = delete;

   private:
    SharedWork& work_;
  };

 private:
  const size_t count_;
  std::atomic<size_t> next_{0};
  std::atomic<int> in_flight_{0};
};

}  // namespace berth::core
