#pragma once
// TaskEnvironmentProvider: what a task's containers get from outside ECS at start — the values
// of the task definition's `secrets` (fetched with the execution role's permissions) and the
// task role's credentials endpoint. A port, implemented in src/server over IAM, SSM and Secrets
// Manager. The values go into the containers' environment only: never into the store, the
// task document or a log.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "ecs/ecs_types.h"

namespace berth::ecs {

// Extra environment per container name.
using ContainerEnvironment = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

class TaskEnvironmentProvider {
 public:
  virtual ~TaskEnvironmentProvider() = default;
  // An error's message becomes the task's stoppedReason (ECS's "ResourceInitializationError:
  // unable to pull secrets …" style: names the secret and the denied action, never a value).
  virtual Result<ContainerEnvironment> EnvironmentFor(const Task& task,
                                                      const TaskDefinition& td) = 0;
  // The task has stopped: its credentials endpoint closes.
  virtual void Forget(const std::string& task_id) = 0;
};

}  // namespace berth::ecs
