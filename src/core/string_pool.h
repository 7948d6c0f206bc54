#pragma once
// StringPool: large byte buffers handed back and forth between threads without giving their
// memory back to the allocator. A fresh megabyte-sized std::string costs a page fault every
// 4 KiB on first touch (~12 us each on the reference VM), and glibc returns freed large blocks
// to the kernel; a pool keeps a few buffers' pages mapped across requests.
//
//   std::string frames = pool.Take();   // empty, with the capacity of a returned buffer
//   ...
//   pool.Give(std::move(frames));

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace berth::core {

class StringPool {
 public:
  explicit StringPool(size_t max_kept = 4) : max_kept_(max_kept) {}

  // An empty string: a pooled buffer's capacity, or none. Thread-safe.
  std::string Take() {
    std::lock_guard lock(mu_);
    if (kept_.empty()) {
      return {};
    }
    std::string s = std::move(kept_.back());
    kept_.pop_back();
    return s;
  }

  // Keeps `s`'s buffer for a later Take (dropped when the pool is full). Thread-safe.
  void Give(std::string s) {
    s.clear();
    std::lock_guard lock(mu_);
    if (kept_.size() < max_kept_) {
      kept_.push_back(std::move(s));
    }
  }

 private:
  const size_t max_kept_;
  std::mutex mu_;
  std::vector<std::string> kept_;
};

}  // namespace berth::core
