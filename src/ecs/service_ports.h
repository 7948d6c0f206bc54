#pragma once
// What the service scheduler needs from outside ECS, as ports the server implements:
// the load balancer's target groups, and a place to keep every service event (a log group).

#include <string>

#include "core/result.h"

namespace berth::ecs {

class TargetRegistry {
 public:
  virtual ~TargetRegistry() = default;
  virtual bool TargetGroupExists(const std::string& target_group_arn) const = 0;
  // The task's container at 127.0.0.1:host_port, registered in or deregistered from the group.
  virtual Status Register(const std::string& target_group_arn, int host_port) = 0;
  virtual Status Deregister(const std::string& target_group_arn, int host_port) = 0;
  // ELB's state word: initial | healthy | unhealthy | draining | unused | unavailable;
  // "unused" once a deregistered target's drain is over.
  virtual std::string State(const std::string& target_group_arn, int host_port) const = 0;
};

class ServiceEventSink {
 public:
  virtual ~ServiceEventSink() = default;
  virtual void Record(const std::string& cluster, const std::string& service,
                      int64_t timestamp_ms, const std::string& message) = 0;
};

}  // namespace berth::ecs
