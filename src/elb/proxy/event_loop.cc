#include "elb/proxy/event_loop.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/id.h"
#include "core/log.h"
#include "elb/proxy/alb_responses.h"
#include "elb/proxy/connection.h"
#include "elb/proxy/listener.h"
#include "elb/proxy/upstream_pool.h"

namespace berth::elb::proxy {

namespace {

constexpr int kMaxEvents = 256;
constexpr size_t kLogFlushBytes = 256 * 1024;

// The wake-up eventfd's handler: the loop recognises it by address.
class WakeHandler final : public Handler {
 public:
  void OnEvents(uint32_t) override {}
  void OnTimer() override {}
};
WakeHandler kWakeMarker;

int64_t ClockUs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

Loop::Loop(ProxyShared& shared, int index)
    : shared_(shared),
      index_(index),
      request_head_(std::make_unique<RequestHead>()),
      response_head_(std::make_unique<ResponseHead>()) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  BERTH_ASSERT(epfd_ >= 0 && wakefd_ >= 0, "epoll/eventfd creation failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &kWakeMarker;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  pool_ = std::make_unique<UpstreamPool>(*this);
  scratch_.reserve(16 * 1024);
  core::FillRandom(rng_, sizeof(rng_));
  rng_[0] |= 1;
  now_us_ = ClockUs(CLOCK_MONOTONIC);
  wall_us_ = ClockUs(CLOCK_REALTIME);
}

Loop::~Loop() {
  Stop();
  ::close(epfd_);
  ::close(wakefd_);
}

void Loop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Loop::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  stop_.store(true, std::memory_order_release);
  Wake();
  thread_.join();
}

void Loop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    tasks_.push_back(std::move(fn));
  }
  Wake();
}

void Loop::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wakefd_, &one, sizeof(one));
  (void)n;  // EAGAIN only when the counter is huge: the loop is awake anyway
}

bool Loop::Register(int fd, Handler* h, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Loop::Unregister(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void Loop::SetDeadline(Handler* h, int64_t when_ms) {
  h->deadline_ms_ = when_ms;
  if (when_ms == 0 || when_ms >= h->queued_ms_) {
    return;  // an earlier heap entry will fire first and re-check
  }
  if (h->slot_ == UINT32_MAX) {
    if (free_slots_.empty()) {
      h->slot_ = static_cast<uint32_t>(slots_.size());
      slots_.push_back(h);
      slot_gen_.push_back(0);
    } else {
      h->slot_ = free_slots_.back();
      free_slots_.pop_back();
      slots_[h->slot_] = h;
    }
  }
  heap_.push_back(TimerEntry{when_ms, h->slot_, slot_gen_[h->slot_]});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
  h->queued_ms_ = when_ms;
}

void Loop::Retire(Handler* h) {
  if (h->slot_ != UINT32_MAX) {
    ++slot_gen_[h->slot_];  // stale heap entries no longer match
    slots_[h->slot_] = nullptr;
    free_slots_.push_back(h->slot_);
    h->slot_ = UINT32_MAX;
  }
  retired_.push_back(h);
}

void Loop::FreeRetired() {
  // Deleting a handler can retire others (a client closing its upstream): loop until empty.
  while (!retired_.empty()) {
    std::vector<Handler*> batch;
    batch.swap(retired_);
    for (Handler* h : batch) {
      delete h;
    }
  }
}

std::string_view Loop::HttpDate() {
  int64_t sec = wall_us_ / 1000000;
  if (sec != date_sec_) {
    FormatHttpDate(sec, date_);
    date_sec_ = sec;
  }
  return std::string_view(date_, kHttpDateLen);
}

uint64_t Loop::Random() {
  // xorshift128+: fast and good enough for load balancing and trace ids.
  uint64_t s1 = rng_[0];
  const uint64_t s0 = rng_[1];
  rng_[0] = s0;
  s1 ^= s1 << 23;
  rng_[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return rng_[1] + s0;
}

void Loop::NewTraceId(char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::memcpy(out, "Root=1-", 7);
  uint32_t secs = static_cast<uint32_t>(wall_us_ / 1000000);
  for (int i = 0; i < 8; ++i) {
    out[7 + i] = kHex[(secs >> (28 - 4 * i)) & 0xf];
  }
  out[15] = '-';
  uint64_t a = Random();
  uint64_t b = Random();
  for (int i = 0; i < 16; ++i) {
    out[16 + i] = kHex[(a >> (60 - 4 * i)) & 0xf];
  }
  for (int i = 0; i < 8; ++i) {
    out[32 + i] = kHex[(b >> (60 - 4 * i)) & 0xf];
  }
}

std::string& Loop::AccessLogBuffer(const std::string& path) {
  for (auto& [p, data] : logs_) {
    if (p == path) {
      return data;
    }
  }
  logs_.emplace_back(path, std::string());
  logs_.back().second.reserve(64 * 1024);
  return logs_.back().second;
}

void Loop::FlushAccessLogs(bool force) {
  if (logs_.empty()) {
    return;
  }
  bool due = force || now_ms() >= next_log_flush_ms_;
  for (auto& [path, data] : logs_) {
    if (!data.empty() && (due || data.size() >= kLogFlushBytes)) {
      shared_.access_log.Submit(path, std::move(data));
      data = std::string();
      data.reserve(64 * 1024);
    }
  }
  if (due) {
    next_log_flush_ms_ = now_ms() + 1000;
  }
}

void Loop::RefreshTable() {
  uint64_t v = shared_.table_version.load(std::memory_order_acquire);
  if (v == seen_version_) {
    return;
  }
  std::lock_guard<std::mutex> lock(shared_.table_mu);
  table_ = shared_.table;
  seen_version_ = shared_.table_version.load(std::memory_order_relaxed);
}

void Loop::RunTasks() {
  uint64_t drained;
  while (::read(wakefd_, &drained, sizeof(drained)) > 0) {
  }
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    running_tasks_.swap(tasks_);
  }
  for (auto& fn : running_tasks_) {
    fn();
  }
  running_tasks_.clear();
}

void Loop::RunTimers() {
  int64_t now = now_ms();
  while (!heap_.empty() && heap_.front().when <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
    TimerEntry e = heap_.back();
    heap_.pop_back();
    if (e.slot >= slots_.size() || slot_gen_[e.slot] != e.gen) {
      continue;
    }
    Handler* h = slots_[e.slot];
    if (h == nullptr || h->closed_) {
      continue;
    }
    if (h->queued_ms_ == e.when) {
      h->queued_ms_ = INT64_MAX;
    }
    if (h->deadline_ms_ != 0 && h->deadline_ms_ <= now) {
      h->deadline_ms_ = 0;
      h->OnTimer();
    } else if (h->deadline_ms_ != 0) {
      SetDeadline(h, h->deadline_ms_);
    }
  }
}

void Loop::Tick() {
  int timeout = 1000;
  if (!heap_.empty()) {
    int64_t wait = heap_.front().when - now_ms();
    timeout = wait <= 0 ? 0 : static_cast<int>(std::min<int64_t>(wait, 1000));
  }
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_, events, kMaxEvents, timeout);
  now_us_ = ClockUs(CLOCK_MONOTONIC);
  wall_us_ = ClockUs(CLOCK_REALTIME);
  RefreshTable();
  for (int i = 0; i < n; ++i) {
    void* ptr = events[i].data.ptr;
    if (ptr == &kWakeMarker) {
      RunTasks();
      continue;
    }
    Handler* h = static_cast<Handler*>(ptr);
    if (!h->closed_) {
      h->OnEvents(events[i].events);
    }
  }
  RunTimers();
  FlushAccessLogs(false);
  FreeRetired();
}

void Loop::Run() {
  // Writes to a closed socket must fail with EPIPE, not kill the process (OpenSSL writes with
  // plain write()). A blocked SIGPIPE raised by this thread's write stays pending, harmlessly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  char name[16];
  std::snprintf(name, sizeof(name), "elb-proxy-%d", index_);
  pthread_setname_np(pthread_self(), name);

  while (!stop_.load(std::memory_order_acquire)) {
    Tick();
  }
  RunTasks();
  CloseEverything();
  FlushAccessLogs(true);
  FreeRetired();
}

void Loop::AddListener(std::shared_ptr<ListenerSocket> socket) {
  std::string id = socket->id;
  auto* local = new ListenerLocal(*this, std::move(socket));
  if (!local->Start()) {
    spdlog::error("elb proxy: cannot watch listener {}", id);
    delete local;
    return;
  }
  listeners_[id] = local;
}

void Loop::RemoveListener(const std::string& id) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) {
    return;
  }
  ListenerLocal* local = it->second;
  listeners_.erase(it);
  local->Stop();  // retired handlers are freed after the current batch of events
}

void Loop::CloseConnectionsTo(const Backend* backend) {
  std::vector<UpstreamConn*> hit;
  for (ListNode* n = pool_->all().next; n != &pool_->all(); n = n->next) {
    auto* c = static_cast<UpstreamConn*>(n);
    if (c->backend().get() == backend && !c->closed()) {
      hit.push_back(c);
    }
  }
  for (UpstreamConn* c : hit) {
    if (c->closed()) {
      continue;
    }
    if (c->client != nullptr) {
      c->client->OnUpstreamKilled();  // closes c, answers or closes the client
    }
    if (!c->closed()) {
      c->Close();
    }
  }
}

void Loop::CloseEverything() {
  std::vector<std::string> ids;
  for (auto& [id, local] : listeners_) {
    ids.push_back(id);
  }
  for (const std::string& id : ids) {
    RemoveListener(id);
  }
  std::vector<UpstreamConn*> ups;
  for (ListNode* n = pool_->all().next; n != &pool_->all(); n = n->next) {
    ups.push_back(static_cast<UpstreamConn*>(n));
  }
  for (UpstreamConn* c : ups) {
    if (!c->closed()) {
      c->Close();
    }
  }
  FreeRetired();
}

}  // namespace berth::elb::proxy
