#pragma once
// IoBuf and BufferPool: the proxy's byte buffers. An IoBuf is a plain window [b, e) over a block
// of `cap` bytes; blocks of the standard size come from a per-loop free list, so a keep-alive
// request costs no allocation, and an idle connection holds no block at all (it takes one when
// bytes arrive and gives it back when everything was consumed).
//
// Not thread-safe: one BufferPool per event loop; an IoBuf lives on the loop that filled it.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/assert.h"

namespace berth::elb::proxy {

struct IoBuf {
  char* p = nullptr;
  uint32_t cap = 0;
  uint32_t b = 0;  // first unconsumed byte
  uint32_t e = 0;  // one past the last filled byte

  bool has_block() const { return p != nullptr; }
  uint32_t size() const { return e - b; }
  bool empty() const { return e == b; }
  char* rd() const { return p + b; }
  char* wr() const { return p + e; }
  uint32_t space() const { return cap - e; }
};

class BufferPool {
 public:
  static constexpr uint32_t kBlockSize = 16 * 1024;

  explicit BufferPool(size_t max_free = 512) : max_free_(max_free) {}
  ~BufferPool() {
    for (char* p : free_) {
      std::free(p);
    }
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Gives `buf` a standard block if it has none. Its window is reset to empty.
  void Acquire(IoBuf& buf) {
    if (buf.p != nullptr) {
      return;
    }
    if (!free_.empty()) {
      buf.p = free_.back();
      free_.pop_back();
    } else {
      buf.p = static_cast<char*>(std::malloc(kBlockSize));
      BERTH_ASSERT(buf.p != nullptr, "out of memory");
    }
    buf.cap = kBlockSize;
    buf.b = buf.e = 0;
  }

  // Returns the block (standard blocks to the free list, bigger ones to the heap).
  void Release(IoBuf& buf) {
    if (buf.p == nullptr) {
      return;
    }
    if (buf.cap == kBlockSize && free_.size() < max_free_) {
      free_.push_back(buf.p);
    } else {
      std::free(buf.p);
    }
    buf = IoBuf{};
  }

  // Makes room for at least `want` more bytes after e: first by moving [b, e) down to `floor`
  // (bytes before `floor` are kept in place), then by growing the block up to `max_cap`.
  // Returns false when even `max_cap` bytes cannot hold it.
  bool Reserve(IoBuf& buf, uint32_t want, uint32_t floor, uint32_t max_cap) {
    Acquire(buf);
    if (buf.space() >= want) {
      return true;
    }
    if (buf.b > floor) {
      uint32_t n = buf.size();
      std::memmove(buf.p + floor, buf.p + buf.b, n);
      buf.b = floor;
      buf.e = floor + n;
      if (buf.space() >= want) {
        return true;
      }
    }
    uint64_t need = static_cast<uint64_t>(buf.e) + want;
    if (need > max_cap) {
      return false;
    }
    uint32_t new_cap = buf.cap;
    while (new_cap < need) {
      new_cap *= 2;
    }
    if (new_cap > max_cap) {
      new_cap = max_cap;
    }
    char* q = static_cast<char*>(std::malloc(new_cap));
    BERTH_ASSERT(q != nullptr, "out of memory");
    std::memcpy(q, buf.p, buf.e);
    if (buf.cap == kBlockSize && free_.size() < max_free_) {
      free_.push_back(buf.p);
    } else {
      std::free(buf.p);
    }
    buf.p = q;
    buf.cap = new_cap;
    return true;
  }

  // Appends bytes, growing the block as needed (used for generated output).
  void Append(IoBuf& buf, const char* data, size_t n) {
    if (n == 0) {
      return;
    }
    bool ok = Reserve(buf, static_cast<uint32_t>(n), 0, 1u << 30);
    BERTH_ASSERT(ok, "output larger than 1 GiB");
    std::memcpy(buf.wr(), data, n);
    buf.e += static_cast<uint32_t>(n);
  }

  size_t free_blocks() const { return free_.size(); }

 private:
  std::vector<char*> free_;
  size_t max_free_;
};

}  // namespace berth::elb::proxy
