#include "ecs/ecs_json.h"

#include <cmath>

#include "ecs/ecs_errors.h"

namespace berth::ecs {

using nlohmann::json;

namespace {

void PutTime(json& doc, const char* key, const std::optional<int64_t>& ms) {
  if (ms) {
    doc[key] = EpochSeconds(*ms);
  }
}
std::optional<int64_t> GetTime(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(it->get<double>() * 1000.0));
}
std::string GetString(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}
void PutNonEmpty(json& doc, const char* key, const std::string& value) {
  if (!value.empty()) {
    doc[key] = value;
  }
}

json EnvToJson(const std::vector<std::pair<std::string, std::string>>& env) {
  json out = json::array();
  for (const auto& [name, value] : env) {
    out.push_back({{"name", name}, {"value", value}});
  }
  return out;
}

json OverridesToJson(const TaskOverride& o) {
  json doc = {{"containerOverrides", json::array()}, {"inferenceAcceleratorOverrides", json::array()}};
  for (const ContainerOverride& co : o.container_overrides) {
    json c = {{"name", co.name}};
    if (co.command) {
      c["command"] = *co.command;
    }
    if (!co.environment.empty()) {
      c["environment"] = EnvToJson(co.environment);
    }
    if (co.cpu) {
      c["cpu"] = *co.cpu;
    }
    if (co.memory) {
      c["memory"] = *co.memory;
    }
    doc["containerOverrides"].push_back(c);
  }
  if (o.cpu) {
    doc["cpu"] = *o.cpu;
  }
  if (o.memory) {
    doc["memory"] = *o.memory;
  }
  return doc;
}

TaskOverride OverridesFromJson(const json& doc) {
  TaskOverride o;
  if (!doc.is_object()) {
    return o;
  }
  if (auto it = doc.find("containerOverrides"); it != doc.end() && it->is_array()) {
    for (const json& c : *it) {
      ContainerOverride co;
      co.name = GetString(c, "name");
      if (c.contains("command") && c["command"].is_array()) {
        co.command = c["command"].get<std::vector<std::string>>();
      }
      if (c.contains("environment") && c["environment"].is_array()) {
        for (const json& kv : c["environment"]) {
          co.environment.emplace_back(GetString(kv, "name"), GetString(kv, "value"));
        }
      }
      if (c.contains("cpu") && c["cpu"].is_number_integer()) {
        co.cpu = c["cpu"].get<int>();
      }
      if (c.contains("memory") && c["memory"].is_number_integer()) {
        co.memory = c["memory"].get<int>();
      }
      o.container_overrides.push_back(std::move(co));
    }
  }
  if (doc.contains("cpu") && doc["cpu"].is_string()) {
    o.cpu = doc["cpu"].get<std::string>();
  }
  if (doc.contains("memory") && doc["memory"].is_string()) {
    o.memory = doc["memory"].get<std::string>();
  }
  return o;
}

}  // namespace

json TagsToJson(const std::vector<Tag>& tags) {
  json out = json::array();
  for (const Tag& t : tags) {
    out.push_back({{"key", t.key}, {"value", t.value}});
  }
  return out;
}

Result<std::vector<Tag>> TagsFromJson(const json& tags) {
  std::vector<Tag> out;
  if (tags.is_null()) {
    return out;
  }
  if (!tags.is_array()) {
    return errors::InvalidParameter("tags must be a list of {key, value}");
  }
  for (const json& t : tags) {
    if (!t.is_object() || !t.contains("key") || !t["key"].is_string() ||
        (t.contains("value") && !t["value"].is_string())) {
      return errors::InvalidParameter("Each tag must have a string key and value.");
    }
    std::string key = t["key"].get<std::string>();
    if (key.empty() || key.size() > 128) {
      return errors::InvalidParameter("Tag keys must be between 1 and 128 characters.");
    }
    out.push_back({key, GetString(t, "value")});
  }
  return out;
}

json ToJson(const Task& t, Audience audience) {
  json doc = {
      {"taskArn", t.arn},
      {"clusterArn", t.cluster_arn},
      {"taskDefinitionArn", t.task_definition_arn},
      {"lastStatus", t.last_status},
      {"desiredStatus", t.desired_status},
      {"launchType", t.launch_type},
      {"createdAt", EpochSeconds(t.created_ms)},
      {"version", t.version},
      {"healthStatus", t.health_status},
      {"connectivity", "CONNECTED"},
      {"availabilityZone", "local"},
      {"platformVersion", "1.4.0"},
      {"platformFamily", "Linux"},
      {"enableExecuteCommand", false},
      {"attachments", json::array()},
      {"attributes", json::array()},
      {"overrides", OverridesToJson(t.overrides)},
      {"tags", TagsToJson(t.tags)},
      {"containers", json::array()},
  };
  PutNonEmpty(doc, "startedBy", t.started_by);
  PutNonEmpty(doc, "group", t.group);
  PutNonEmpty(doc, "cpu", t.cpu);
  PutNonEmpty(doc, "memory", t.memory);
  PutNonEmpty(doc, "stopCode", t.stop_code);
  PutNonEmpty(doc, "stoppedReason", t.stopped_reason);
  PutTime(doc, "pullStartedAt", t.pull_started_ms);
  PutTime(doc, "pullStoppedAt", t.pull_stopped_ms);
  PutTime(doc, "startedAt", t.started_ms);
  PutTime(doc, "connectivityAt", t.pull_started_ms);
  PutTime(doc, "stoppingAt", t.stopping_ms);
  PutTime(doc, "executionStoppedAt", t.execution_stopped_ms);
  PutTime(doc, "stoppedAt", t.stopped_ms);
  for (const ContainerState& c : t.containers) {
    json cj = {
        {"containerArn", c.container_arn},
        {"taskArn", t.arn},
        {"name", c.name},
        {"image", c.image},
        {"lastStatus", c.last_status},
        {"healthStatus", c.health_status},
        {"networkBindings", json::array()},
        {"networkInterfaces", json::array()},
    };
    if (c.exit_code) {
      cj["exitCode"] = *c.exit_code;
    }
    PutNonEmpty(cj, "reason", c.reason);
    PutNonEmpty(cj, "cpu", c.cpu);
    PutNonEmpty(cj, "memory", c.memory);
    for (const NetworkBinding& b : c.network_bindings) {
      cj["networkBindings"].push_back({{"bindIP", b.bind_ip},
                                       {"containerPort", b.container_port},
                                       {"hostPort", b.host_port},
                                       {"protocol", b.protocol}});
    }
    if (audience == Audience::Store) {
      cj["berthDriverState"] = c.driver_state;
      cj["berthEssential"] = c.essential;
    }
    doc["containers"].push_back(std::move(cj));
  }
  if (audience == Audience::Store) {
    doc["berthFamily"] = t.family;
    doc["berthRevision"] = t.revision;
  }
  return doc;
}

Result<Task> TaskFromJson(const json& doc) {
  if (!doc.is_object()) {
    return InternalError("stored task is not an object");
  }
  Task t;
  t.arn = GetString(doc, "taskArn");
  t.id = t.arn.substr(t.arn.rfind('/') + 1);
  t.cluster_arn = GetString(doc, "clusterArn");
  t.task_definition_arn = GetString(doc, "taskDefinitionArn");
  t.family = GetString(doc, "berthFamily");
  t.revision = doc.value("berthRevision", 0);
  t.started_by = GetString(doc, "startedBy");
  t.group = GetString(doc, "group");
  t.launch_type = GetString(doc, "launchType");
  t.last_status = GetString(doc, "lastStatus");
  t.desired_status = GetString(doc, "desiredStatus");
  t.cpu = GetString(doc, "cpu");
  t.memory = GetString(doc, "memory");
  t.health_status = GetString(doc, "healthStatus");
  t.stop_code = GetString(doc, "stopCode");
  t.stopped_reason = GetString(doc, "stoppedReason");
  t.created_ms = GetTime(doc, "createdAt").value_or(0);
  t.pull_started_ms = GetTime(doc, "pullStartedAt");
  t.pull_stopped_ms = GetTime(doc, "pullStoppedAt");
  t.started_ms = GetTime(doc, "startedAt");
  t.stopping_ms = GetTime(doc, "stoppingAt");
  t.execution_stopped_ms = GetTime(doc, "executionStoppedAt");
  t.stopped_ms = GetTime(doc, "stoppedAt");
  t.version = doc.value("version", 1);
  t.overrides = OverridesFromJson(doc.value("overrides", json::object()));
  auto tags = TagsFromJson(doc.value("tags", json::array()));
  if (tags.ok()) {
    t.tags = std::move(tags).value();
  }
  for (const json& cj : doc.value("containers", json::array())) {
    ContainerState c;
    c.name = GetString(cj, "name");
    c.container_arn = GetString(cj, "containerArn");
    c.image = GetString(cj, "image");
    c.last_status = GetString(cj, "lastStatus");
    if (cj.contains("exitCode") && cj["exitCode"].is_number_integer()) {
      c.exit_code = cj["exitCode"].get<int>();
    }
    c.reason = GetString(cj, "reason");
    c.health_status = GetString(cj, "healthStatus");
    c.cpu = GetString(cj, "cpu");
    c.memory = GetString(cj, "memory");
    c.driver_state = GetString(cj, "berthDriverState");
    c.essential = cj.value("berthEssential", true);
    for (const json& b : cj.value("networkBindings", json::array())) {
      c.network_bindings.push_back({GetString(b, "bindIP"), b.value("containerPort", 0),
                                    b.value("hostPort", 0), GetString(b, "protocol")});
    }
    t.containers.push_back(std::move(c));
  }
  return t;
}

json ToJson(const Cluster& c) {
  return {
      {"clusterArn", c.arn},
      {"clusterName", c.name},
      {"status", c.status},
      {"registeredContainerInstancesCount", 0},
      {"runningTasksCount", c.running_tasks},
      {"pendingTasksCount", c.pending_tasks},
      {"activeServicesCount", c.active_services},
      {"statistics", json::array()},
      {"tags", TagsToJson(c.tags)},
      {"settings", json::array({{{"name", "containerInsights"}, {"value", "disabled"}}})},
      {"capacityProviders", json::array()},
      {"defaultCapacityProviderStrategy", json::array()},
  };
}

Result<Cluster> ClusterFromJson(const json& doc) {
  if (!doc.is_object()) {
    return InternalError("stored cluster is not an object");
  }
  Cluster c;
  c.arn = GetString(doc, "clusterArn");
  c.name = GetString(doc, "clusterName");
  c.status = GetString(doc, "status");
  auto tags = TagsFromJson(doc.value("tags", json::array()));
  if (tags.ok()) {
    c.tags = std::move(tags).value();
  }
  return c;
}

json ToJson(const TaskDefinition& td) {
  json doc = td.document;
  doc["taskDefinitionArn"] = td.arn;
  doc["family"] = td.family;
  doc["revision"] = td.revision;
  doc["status"] = td.status;
  doc["registeredAt"] = EpochSeconds(td.registered_ms);
  if (td.deregistered_ms) {
    doc["deregisteredAt"] = EpochSeconds(*td.deregistered_ms);
  }
  return doc;
}

}  // namespace berth::ecs
