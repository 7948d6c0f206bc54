#pragma once
// What the agent needs to run one task: the containers, already resolved from the ECS task
// definition and overrides (the agent knows nothing of ECS documents).

#include <optional>
#include <string>
#include <vector>

namespace berth::agent {

struct HealthCheckSpec {
  std::vector<std::string> argv;  // CMD form, or {"/bin/sh", "-c", cmd} for CMD-SHELL
  int interval_seconds = 30;
  int timeout_seconds = 5;
  int retries = 3;
  int start_period_seconds = 0;
};

enum class DependencyCondition { Start, Complete, Success, Healthy };

struct ContainerDependency {
  std::string container_name;
  DependencyCondition condition = DependencyCondition::Start;
};

struct PortMappingSpec {
  int container_port = 0;
  int host_port = 0;  // 0: the agent picks a free port
  std::string protocol = "tcp";
};

// Where the awslogs log driver sends a container's output.
struct AwsLogsTarget {
  std::string group;
  std::string stream;  // PREFIX/CONTAINER/TASK_ID, as ECS names it
  bool create_group = false;
  // awslogs-multiline-pattern (a regular expression) or awslogs-datetime-format (strftime-style,
  // which wins when both are set): a line matching it starts a new event; other lines are
  // appended to the event before them. Empty: one event per line.
  std::string multiline_pattern;
  std::string datetime_format;
};

struct ContainerSpec {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> environment;
  std::string working_directory;
  bool essential = true;
  int stop_timeout_seconds = 30;
  std::vector<ContainerDependency> depends_on;
  std::optional<HealthCheckSpec> health_check;
  std::vector<PortMappingSpec> port_mappings;
  std::optional<AwsLogsTarget> awslogs;
};

struct TaskSpec {
  std::string task_id;
  std::string dir;  // the task's state directory; containers live in dir/<container name>
  std::vector<ContainerSpec> containers;
};

}  // namespace berth::agent
