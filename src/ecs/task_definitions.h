#pragma once
// Task definitions: validating a RegisterTaskDefinition document, and turning a registered
// revision plus RunTask overrides into the agent's TaskSpec.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/task_spec.h"
#include "core/result.h"
#include "ecs/ecs_types.h"

namespace berth::ecs {

// Checks a RegisterTaskDefinition request (everything but `tags`) and returns the document to
// store: the request's fields with ECS's defaults filled in (essential, protocol, ...).
// Errors are ClientException / InvalidParameterException with ECS's wording.
Result<nlohmann::json> NormalizeTaskDefinition(const nlohmann::json& request);

// Parses "family", "family:revision" or a task-definition ARN.
struct TaskDefinitionRef {
  std::string family;
  int revision = 0;  // 0: the latest ACTIVE revision
};
Result<TaskDefinitionRef> ParseTaskDefinitionRef(const std::string& text);

// The container and task settings the agent needs. `base_env` comes first; the container's
// environment and then the overrides' environment replace variables of the same name.
agent::TaskSpec BuildTaskSpec(const TaskDefinition& td, const TaskOverride& overrides,
                              const std::string& task_id, const std::string& task_dir,
                              const std::vector<std::pair<std::string, std::string>>& base_env);

}  // namespace berth::ecs
