#pragma once
// The one mapping between ECS domain types and their JSON documents (ECS's wire shapes).
// The store keeps tasks and clusters in this form too, so there is a single mapping to keep
// right; `Audience::Store` adds berth's private fields (driver state) that never go on the wire.

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "ecs/ecs_types.h"

namespace berth::ecs {

enum class Audience { Wire, Store };

nlohmann::json ToJson(const Task& task, Audience audience);
Result<Task> TaskFromJson(const nlohmann::json& doc);

nlohmann::json ToJson(const Cluster& cluster);
Result<Cluster> ClusterFromJson(const nlohmann::json& doc);

// The full TaskDefinition shape: the registered document plus arn, revision, status, times.
nlohmann::json ToJson(const TaskDefinition& td);

nlohmann::json TagsToJson(const std::vector<Tag>& tags);
// Reads [{key, value}]; InvalidParameterException on a wrong shape.
Result<std::vector<Tag>> TagsFromJson(const nlohmann::json& tags);

// ECS's JSON timestamps are epoch seconds with a fraction.
inline double EpochSeconds(int64_t millis) { return static_cast<double>(millis) / 1000.0; }

}  // namespace berth::ecs
