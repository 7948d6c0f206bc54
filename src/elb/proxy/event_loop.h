#pragma once
// Loop: one proxy worker thread — an edge-triggered epoll set, a timer heap, a task queue, and
// everything a worker owns (buffers, parse scratch, the upstream pool, its listeners' accept
// state). Connections never move between loops, so nothing on the request path takes a lock.
//
// Handlers (connections, listeners) are registered with the epoll set and get OnEvents; each
// has one deadline (OnTimer). A closed handler is retired: deleted after the current batch of
// events, so events already fetched for it are skipped safely.

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "elb/proxy/access_log.h"
#include "elb/proxy/buffer.h"
#include "elb/proxy/http_parse.h"
#include "elb/proxy/proxy.h"
#include "elb/routing_table.h"

namespace berth::elb::proxy {

class UpstreamPool;
class ListenerLocal;
struct ListenerSocket;

// State shared by all loops of one Proxy.
struct ProxyShared {
  ProxyOptions options;
  std::mutex table_mu;  // guards table
  std::shared_ptr<const RoutingTable> table;
  std::atomic<uint64_t> table_version{0};
  AccessLogWriter access_log;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void OnEvents(uint32_t events) = 0;
  virtual void OnTimer() = 0;
  bool closed() const { return closed_; }

 protected:
  friend class Loop;
  bool closed_ = false;
  int64_t deadline_ms_ = 0;  // 0: no deadline
  int64_t queued_ms_ = INT64_MAX;  // earliest entry of this handler in the timer heap
  uint32_t slot_ = UINT32_MAX;     // timer slot, allocated on first use
};

// Intrusive doubly linked list node (the head is a ListNode too).
struct ListNode {
  ListNode* prev = this;
  ListNode* next = this;
  void Unlink() {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }
  void PushBack(ListNode* n) {
    n->prev = prev;
    n->next = this;
    prev->next = n;
    prev = n;
  }
  bool Empty() const { return next == this; }
};

class Loop {
 public:
  Loop(ProxyShared& shared, int index);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void Start();
  // Stops the thread and closes every connection it owns. Thread-safe; joins.
  void Stop();
  // Runs fn on the loop thread (FIFO). Thread-safe.
  void Post(std::function<void()> fn);
  // Wakes the loop so it picks up a new routing table soon.
  void Wake();

  // ---- loop thread only ----
  bool Register(int fd, Handler* h, uint32_t events);
  void Unregister(int fd);
  void SetDeadline(Handler* h, int64_t when_ms);
  // `h` is closed (fd closed, unlinked): delete it after the current batch.
  void Retire(Handler* h);

  int64_t now_ms() const { return now_us_ / 1000; }
  int64_t now_us() const { return now_us_; }   // monotonic
  int64_t wall_us() const { return wall_us_; }  // realtime
  std::string_view HttpDate();

  ProxyShared& shared() { return shared_; }
  const ProxyOptions& options() const { return shared_.options; }
  BufferPool& buffers() { return buffers_; }
  std::string& scratch() { return scratch_; }
  RequestHead& request_head() { return *request_head_; }
  ResponseHead& response_head() { return *response_head_; }
  UpstreamPool& pool() { return *pool_; }
  const std::shared_ptr<const RoutingTable>& table() const { return table_; }
  // Changes whenever the loop takes a newer table.
  uint64_t table_epoch() const { return seen_version_; }
  uint64_t Random();
  // A new X-Amzn-Trace-Id root: "Root=1-<8 hex epoch secs>-<24 hex random>" (35+5 chars).
  void NewTraceId(char* out /* 40 bytes */);
  // Appends an access log line's text to the buffer for `path`.
  std::string& AccessLogBuffer(const std::string& path);

  // Hands buffered access log lines to the writer now.
  void FlushAccessLogsNow() { FlushAccessLogs(true); }

  void AddListener(std::shared_ptr<ListenerSocket> socket);
  void RemoveListener(const std::string& id);
  void CloseConnectionsTo(const Backend* backend);

 private:
  void Run();
  void Tick();
  void RunTimers();
  void RunTasks();
  void FreeRetired();
  void FlushAccessLogs(bool force);
  void CloseEverything();
  void RefreshTable();

  struct TimerEntry {
    int64_t when;
    uint32_t slot;
    uint32_t gen;
    bool operator>(const TimerEntry& o) const { return when > o.when; }
  };

  ProxyShared& shared_;
  int index_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex task_mu_;  // guards tasks_
  std::vector<std::function<void()>> tasks_;
  std::vector<std::function<void()>> running_tasks_;

  int64_t now_us_ = 0;
  int64_t wall_us_ = 0;
  int64_t date_sec_ = -1;
  char date_[32] = {};

  std::vector<TimerEntry> heap_;  // min-heap on `when`
  std::vector<Handler*> slots_;
  std::vector<uint32_t> slot_gen_;
  std::vector<uint32_t> free_slots_;
  std::vector<Handler*> retired_;

  BufferPool buffers_;
  std::string scratch_;
  std::unique_ptr<RequestHead> request_head_;
  std::unique_ptr<ResponseHead> response_head_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unordered_map<std::string, ListenerLocal*> listeners_;

  uint64_t seen_version_ = UINT64_MAX;
  std::shared_ptr<const RoutingTable> table_;

  uint64_t rng_[2] = {0, 0};
  std::vector<std::pair<std::string, std::string>> logs_;  // path -> pending lines
  int64_t next_log_flush_ms_ = 0;
};

}  // namespace berth::elb::proxy
