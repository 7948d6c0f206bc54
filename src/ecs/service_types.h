#pragma once
// ECS services as berth keeps them: the service, its deployments (PRIMARY first), the tasks the
// scheduler started for it and its events. Stored as one document per service, so a restart
// mid-deployment continues from exactly where the scheduler was.
//
// Deployment rollout:  IN_PROGRESS ──primary healthy at desiredCount, old tasks gone──► COMPLETED
//                          └──failed tasks ≥ threshold (circuit breaker)──► FAILED (→ rollback)

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ecs/ecs_types.h"

namespace berth::ecs {

struct ServiceLoadBalancer {
  std::string target_group_arn;
  std::string container_name;
  int container_port = 0;
};

struct DeploymentConfiguration {
  int maximum_percent = 200;
  int minimum_healthy_percent = 100;
  bool circuit_breaker_enable = false;
  bool circuit_breaker_rollback = false;
};

struct Deployment {
  std::string id;  // ecs-svc/NNNNNNNNNNNNNNNNNNN
  std::string status = "PRIMARY";  // PRIMARY | ACTIVE | INACTIVE
  std::string task_definition_arn;
  int desired_count = 0;
  int failed_tasks = 0;
  std::string rollout_state = "IN_PROGRESS";  // IN_PROGRESS | COMPLETED | FAILED
  std::string rollout_state_reason;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::vector<ServiceLoadBalancer> load_balancers;
};

// One task the scheduler started, and where it is in its life as the scheduler sees it.
struct ServiceTask {
  std::string task_id;
  std::string deployment_id;
  bool registered = false;      // its targets are in the target groups
  bool became_healthy = false;  // was healthy once (a later stop is not a start failure)
  bool stopping = false;        // the scheduler decided to stop it
  bool draining = false;        // deregistered, waiting for the drain before StopTask
  int64_t running_since_ms = 0;
  std::vector<int> host_ports;  // per load balancer entry, once RUNNING
};

struct ServiceEvent {
  std::string id;
  int64_t created_ms = 0;
  std::string message;
};

struct Service {
  std::string arn;  // arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME
  std::string name;
  std::string cluster_arn;
  std::string status = "ACTIVE";  // ACTIVE | DRAINING | INACTIVE
  int desired_count = 0;
  std::string launch_type = "FARGATE";
  std::string task_definition_arn;
  std::vector<ServiceLoadBalancer> load_balancers;
  DeploymentConfiguration deployment_configuration;
  int health_check_grace_period_seconds = 0;
  bool enable_execute_command = false;
  std::string propagate_tags = "NONE";
  bool enable_ecs_managed_tags = false;
  std::string scheduling_strategy = "REPLICA";
  std::string network_configuration;  // JSON text as given (accepted, not acted on)
  std::vector<Tag> tags;
  int64_t created_ms = 0;
  std::string created_by;
  std::vector<Deployment> deployments;  // PRIMARY first
  std::vector<ServiceTask> tasks;
  std::vector<ServiceEvent> events;  // newest first, at most 100
  // Back-off after tasks keep failing to start.
  int consecutive_failures = 0;
  int64_t next_start_ms = 0;
  // The last deployment that completed: what a circuit-breaker rollback goes back to.
  std::string last_completed_task_definition_arn;
  bool steady = false;  // the "has reached a steady state" event was recorded for this state
};

// Filled in when a service is described (not stored).
struct ServiceCounts {
  int running = 0;
  int pending = 0;
};

}  // namespace berth::ecs
