#pragma once
// The agent's port upwards: what it reports about running tasks. `ecs` implements it, so the
// agent never includes an ecs header (STYLE.md §3).

#include <optional>
#include <string>
#include <vector>

namespace berth::agent {

enum class ContainerHealth { Unknown, Healthy, Unhealthy };

enum class StopCode { TaskFailedToStart, EssentialContainerExited, UserInitiated };

struct PortBinding {
  int container_port = 0;
  int host_port = 0;
  std::string bind_ip = "127.0.0.1";
  std::string protocol = "tcp";
};

class TaskStatusSink {
 public:
  virtual ~TaskStatusSink() = default;
  // A container's command is running; `driver_state` is the blob to persist for recovery.
  virtual void OnContainerStarted(const std::string& task_id, const std::string& container,
                                  const std::string& driver_state,
                                  const std::vector<PortBinding>& bindings) = 0;
  virtual void OnContainerExited(const std::string& task_id, const std::string& container,
                                 std::optional<int> exit_code, const std::string& reason) = 0;
  virtual void OnContainerHealth(const std::string& task_id, const std::string& container,
                                 ContainerHealth health) = 0;
  // Every container has started (or, for containers others wait on, completed).
  virtual void OnTaskRunning(const std::string& task_id) = 0;
  // The agent begins stopping the task (first container signalled, or an essential one exited).
  virtual void OnTaskStopping(const std::string& task_id, StopCode code,
                              const std::string& reason) = 0;
  // Every container has exited; the task's resources are released.
  virtual void OnTaskStopped(const std::string& task_id) = 0;
};

}  // namespace berth::agent
