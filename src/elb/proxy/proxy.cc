#include "elb/proxy/proxy.h"

#include <latch>
#include <thread>
#include <unordered_map>
#include <vector>

#include "elb/proxy/event_loop.h"
#include "elb/proxy/listener.h"

namespace berth::elb::proxy {

struct Proxy::Impl {
  explicit Impl(ProxyOptions options) { shared.options = options; }

  // Runs fn on every loop and waits until all have run it.
  void RunOnAll(const std::function<void(Loop&)>& fn) {
    std::latch done(static_cast<std::ptrdiff_t>(loops.size()));
    for (auto& loop : loops) {
      Loop* l = loop.get();
      l->Post([l, &fn, &done] {
        fn(*l);
        done.count_down();
      });
    }
    done.wait();
  }

  ProxyShared shared;
  std::vector<std::unique_ptr<Loop>> loops;
  // Control thread only.
  std::unordered_map<std::string, std::shared_ptr<ListenerSocket>> listeners;
};

Proxy::Proxy(ProxyOptions options) : impl_(std::make_unique<Impl>(options)) {
  int n = options.threads;
  if (n <= 0) {
    n = static_cast<int>(std::thread::hardware_concurrency());
  }
  if (n <= 0) {
    n = 1;
  }
  impl_->shared.options.threads = n;
  if (impl_->shared.options.max_header_bytes < 256) {
    impl_->shared.options.max_header_bytes = 256;
  }
  for (int i = 0; i < n; ++i) {
    impl_->loops.push_back(std::make_unique<Loop>(impl_->shared, i));
  }
  for (auto& loop : impl_->loops) {
    loop->Start();
  }
}

Proxy::~Proxy() {
  for (auto& loop : impl_->loops) {
    loop->Stop();
  }
  impl_->loops.clear();
  impl_->listeners.clear();
}

int Proxy::threads() const { return static_cast<int>(impl_->loops.size()); }

Result<uint16_t> Proxy::OpenListener(const std::string& id, const std::string& address,
                                     uint16_t port, const TlsMaterial* tls) {
  if (impl_->listeners.count(id) != 0) {
    return MakeError(ErrorKind::Conflict, "InvalidConfigurationRequest",
                     "listener " + id + " is already open");
  }
  auto bound = BindListener(id, address, port, tls);
  if (!bound.ok()) {
    return std::move(bound).take_error();
  }
  std::shared_ptr<ListenerSocket> socket = *bound;
  impl_->listeners[id] = socket;
  impl_->RunOnAll([&socket](Loop& loop) { loop.AddListener(socket); });
  return socket->port;
}

void Proxy::CloseListener(const std::string& id) {
  auto it = impl_->listeners.find(id);
  if (it == impl_->listeners.end()) {
    return;
  }
  impl_->RunOnAll([&id](Loop& loop) { loop.RemoveListener(id); });
  impl_->listeners.erase(it);  // the socket closes when the last loop lets go of it
}

void Proxy::Publish(std::shared_ptr<const RoutingTable> table) {
  {
    std::lock_guard<std::mutex> lock(impl_->shared.table_mu);
    impl_->shared.table = std::move(table);
    impl_->shared.table_version.fetch_add(1, std::memory_order_release);
  }
  for (auto& loop : impl_->loops) {
    loop->Wake();
  }
}

void Proxy::CloseConnectionsTo(const std::shared_ptr<Backend>& backend) {
  if (backend == nullptr) {
    return;
  }
  const Backend* b = backend.get();
  impl_->RunOnAll([b](Loop& loop) { loop.CloseConnectionsTo(b); });
}

void Proxy::FlushAccessLogs() {
  impl_->RunOnAll([](Loop& loop) { loop.FlushAccessLogsNow(); });
  impl_->shared.access_log.Sync();
}

}  // namespace berth::elb::proxy
