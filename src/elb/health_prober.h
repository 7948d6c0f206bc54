#pragma once
// HealthProber: sends one health check request to a target and reports what came back.
// A port, so the control plane's logic is tested with a fake; the real one (HttpHealthProber)
// speaks HTTP/1.1 over Asio on the control loop.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "elb/target_health.h"

namespace boost::asio {
class io_context;
}

namespace berth::elb {

struct ProbeRequest {
  std::string ip;
  uint16_t port = 0;
  std::string path = "/";
  uint32_t timeout_ms = 5000;
  StatusMatcher matcher;
};

class HealthProber {
 public:
  virtual ~HealthProber() = default;
  // Calls `done` exactly once, later, on the control loop.
  virtual void Probe(const ProbeRequest& request, std::function<void(ProbeResult)> done) = 0;
};

std::unique_ptr<HealthProber> MakeHttpHealthProber(boost::asio::io_context& io);

}  // namespace berth::elb
