#pragma once
// ECS domain types (AWS vocabulary). Task lifecycle, as berth runs it:
//
//   PROVISIONING --agent accepts--> PENDING --all containers started--> RUNNING
//        |                            |                                    |
//        +----------------------------+---- stop requested / essential ----+
//                                     v      container exited
//                               DEPROVISIONING --all containers exited--> STOPPED
//
// desiredStatus is RUNNING until a stop is requested (StopTask) or decided (essential exit),
// then STOPPED. A task never leaves STOPPED.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::ecs {

struct Tag {
  std::string key;
  std::string value;
};

struct Cluster {
  std::string arn;
  std::string name;
  std::string status = "ACTIVE";  // ACTIVE | INACTIVE (deleted)
  std::vector<Tag> tags;
  int64_t created_ms = 0;
  // Filled in by the service when described; not stored.
  int running_tasks = 0;
  int pending_tasks = 0;
  int active_services = 0;
};

// A registered revision. `document` holds the request's task-definition fields as registered
// (containerDefinitions, cpu, memory, networkMode, ...), so every field the user set is returned
// even where berth does not act on it yet. It is user content, stored and returned as is.
struct TaskDefinition {
  std::string arn;
  std::string family;
  int revision = 0;
  std::string status = "ACTIVE";  // ACTIVE | INACTIVE
  int64_t registered_ms = 0;
  std::optional<int64_t> deregistered_ms;
  nlohmann::json document;
  std::vector<Tag> tags;
};

struct NetworkBinding {
  std::string bind_ip = "127.0.0.1";
  int container_port = 0;
  int host_port = 0;
  std::string protocol = "tcp";
};

struct ContainerState {
  std::string name;
  std::string container_arn;
  std::string image;
  std::string last_status = "PENDING";  // PENDING | RUNNING | STOPPED
  std::optional<int> exit_code;
  std::string reason;
  std::string health_status = "UNKNOWN";  // HEALTHY | UNHEALTHY | UNKNOWN
  std::vector<NetworkBinding> network_bindings;
  std::string driver_state;  // opaque, for re-attaching after a restart
  bool essential = true;
  std::string cpu;
  std::string memory;
};

struct ContainerOverride {
  std::string name;
  std::optional<std::vector<std::string>> command;
  std::vector<std::pair<std::string, std::string>> environment;
  std::optional<int> cpu;
  std::optional<int> memory;
};

struct TaskOverride {
  std::vector<ContainerOverride> container_overrides;
  std::optional<std::string> cpu;
  std::optional<std::string> memory;
};

struct Task {
  std::string arn;
  std::string id;
  std::string cluster_arn;
  std::string task_definition_arn;
  std::string family;
  int revision = 0;
  std::string started_by;
  std::string group;
  std::string launch_type = "FARGATE";
  std::string last_status = "PROVISIONING";
  std::string desired_status = "RUNNING";
  std::string cpu;
  std::string memory;
  std::string health_status = "UNKNOWN";
  std::string stop_code;
  std::string stopped_reason;
  int64_t created_ms = 0;
  std::optional<int64_t> pull_started_ms;
  std::optional<int64_t> pull_stopped_ms;
  std::optional<int64_t> started_ms;
  std::optional<int64_t> stopping_ms;
  std::optional<int64_t> execution_stopped_ms;
  std::optional<int64_t> stopped_ms;
  std::vector<ContainerState> containers;
  TaskOverride overrides;
  std::vector<Tag> tags;
  int64_t version = 1;

  bool IsStopped() const { return last_status == "STOPPED"; }
};

// One entry of a `failures[]` list.
struct Failure {
  std::string arn;
  std::string reason;
  std::string detail;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // empty: last page
  std::string last_name;   // for name-keyed paging: the last item's key
};

}  // namespace berth::ecs
