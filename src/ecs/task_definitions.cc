#include "ecs/task_definitions.h"

#include <set>

#include "core/arn.h"
#include "ecs/ecs_errors.h"

namespace berth::ecs {

using nlohmann::json;

namespace {

// ECS names (families, containers, clusters): 1-255 of letters, digits, '-' and '_'.
bool IsEcsName(const std::string& n) {
  if (n.empty() || n.size() > 255) {
    return false;
  }
  for (char ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') {
      return false;
    }
  }
  return true;
}

bool IsStringList(const json& v) {
  if (!v.is_array()) {
    return false;
  }
  for (const json& e : v) {
    if (!e.is_string()) {
      return false;
    }
  }
  return true;
}

Status CheckKeyValueList(const json& v, const std::string& what) {
  if (!v.is_array()) {
    return errors::Client(what + " must be a list of name/value pairs.");
  }
  for (const json& kv : v) {
    if (!kv.is_object() || (kv.contains("name") && !kv["name"].is_string()) ||
        (kv.contains("value") && !kv["value"].is_string())) {
      return errors::Client(what + " entries must have string name and value.");
    }
  }
  return OkStatus();
}

Status CheckContainer(json& c, std::set<std::string>& names, const std::string& network_mode) {
  if (!c.is_object()) {
    return errors::Client("Container definitions must be objects.");
  }
  if (!c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty()) {
    return errors::Client("Container.name should not be null or empty.");
  }
  std::string name = c["name"];
  if (!IsEcsName(name)) {
    return errors::Client("Container name may only contain letters, numbers, hyphens and "
                          "underscores, up to 255 characters: " + name);
  }
  if (!names.insert(name).second) {
    return errors::Client("Duplicate container name found: " + name);
  }
  if (!c.contains("image") || !c["image"].is_string() || c["image"].get<std::string>().empty()) {
    return errors::Client("Container.image should not be null or empty.");
  }
  for (const char* list : {"command", "entryPoint"}) {
    if (c.contains(list) && !IsStringList(c[list])) {
      return errors::Client(std::string("Container.") + list + " must be a list of strings.");
    }
  }
  if (c.contains("environment")) {
    BERTH_RETURN_IF_ERROR(CheckKeyValueList(c["environment"], "Container.environment"));
  }
  for (const char* num : {"cpu", "memory", "memoryReservation", "stopTimeout", "startTimeout"}) {
    if (c.contains(num) && !c[num].is_number_integer()) {
      return errors::Client(std::string("Container.") + num + " must be an integer.");
    }
  }
  if (c.contains("essential") && !c["essential"].is_boolean()) {
    return errors::Client("Container.essential must be a boolean.");
  }
  c.emplace("essential", true);
  c.emplace("cpu", 0);
  for (const char* list : {"portMappings", "environment", "mountPoints", "volumesFrom"}) {
    c.emplace(list, json::array());
  }
  if (!c["portMappings"].is_array()) {
    return errors::Client("Container.portMappings must be a list.");
  }
  for (json& pm : c["portMappings"]) {
    if (!pm.is_object() || !pm.contains("containerPort") || !pm["containerPort"].is_number_integer()) {
      return errors::Client("Container.portMappings entries need an integer containerPort.");
    }
    int port = pm["containerPort"];
    if (port < 1 || port > 65535) {
      return errors::InvalidParameter("Invalid containerPort: " + std::to_string(port));
    }
    if (pm.contains("hostPort") && !pm["hostPort"].is_number_integer()) {
      return errors::Client("Container.portMappings.hostPort must be an integer.");
    }
    if (network_mode == "awsvpc") {
      if (pm.contains("hostPort") && pm["hostPort"] != pm["containerPort"]) {
        return errors::Client("When networkMode=awsvpc, the host ports and container ports in "
                              "port mappings must match.");
      }
      pm["hostPort"] = port;
    }
    pm.emplace("protocol", "tcp");
  }
  if (c.contains("healthCheck")) {
    const json& hc = c["healthCheck"];
    if (!hc.is_object() || !hc.contains("command") || !IsStringList(hc["command"]) ||
        hc["command"].empty()) {
      return errors::Client("Container.healthCheck.command should not be null or empty.");
    }
    std::string kind = hc["command"][0];
    if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE") {
      return errors::Client("Container.healthCheck.command must start with CMD, CMD-SHELL or NONE.");
    }
    for (const char* num : {"interval", "timeout", "retries", "startPeriod"}) {
      if (hc.contains(num) && !hc[num].is_number_integer()) {
        return errors::Client(std::string("Container.healthCheck.") + num +
                              " must be an integer.");
      }
    }
    json& h = c["healthCheck"];
    h.emplace("interval", 30);
    h.emplace("timeout", 5);
    h.emplace("retries", 3);
    int interval = h["interval"], timeout = h["timeout"], retries = h["retries"];
    if (interval < 5 || interval > 300 || timeout < 2 || timeout > 60 || retries < 1 ||
        retries > 10) {
      return errors::Client("Container.healthCheck: interval must be 5-300, timeout 2-60 and "
                            "retries 1-10.");
    }
  }
  return OkStatus();
}

}  // namespace

Result<json> NormalizeTaskDefinition(const json& request) {
  if (!request.is_object()) {
    return errors::Client("The request body must be a JSON object.");
  }
  json doc = request;
  doc.erase("tags");
  if (!doc.contains("family") || !doc["family"].is_string() ||
      doc["family"].get<std::string>().empty()) {
    return errors::Client("Family should not be null or empty.");
  }
  if (!IsEcsName(doc["family"].get<std::string>())) {
    return errors::Client("Family contains invalid characters: only letters (uppercase and "
                          "lowercase), numbers, hyphens, and underscores are allowed, up to 255.");
  }
  if (!doc.contains("containerDefinitions") || !doc["containerDefinitions"].is_array() ||
      doc["containerDefinitions"].empty()) {
    return errors::Client("Container list cannot be empty.");
  }
  for (const char* s : {"cpu", "memory", "networkMode", "taskRoleArn", "executionRoleArn"}) {
    if (doc.contains(s) && !doc[s].is_string()) {
      return errors::Client(std::string(s) + " must be a string.");
    }
  }
  std::string network_mode = doc.value("networkMode", std::string("awsvpc"));
  static const std::set<std::string> kModes = {"awsvpc", "bridge", "host", "none"};
  if (!kModes.count(network_mode)) {
    return errors::InvalidParameter("Invalid networkMode: " + network_mode);
  }
  std::set<std::string> names;
  for (json& c : doc["containerDefinitions"]) {
    BERTH_RETURN_IF_ERROR(CheckContainer(c, names, network_mode));
    // ECS needs a memory size somewhere: the task's, or each container's hard or soft limit.
    if (!doc.contains("memory") && !c.contains("memory") && !c.contains("memoryReservation")) {
      return errors::Client("Invalid setting for container '" + c["name"].get<std::string>() +
                            "'. At least one of 'memory' or 'memoryReservation' must be "
                            "specified.");
    }
  }
  for (const json& c : doc["containerDefinitions"]) {
    if (!c.contains("dependsOn")) {
      continue;
    }
    if (!c["dependsOn"].is_array()) {
      return errors::Client("Container.dependsOn must be a list.");
    }
    static const std::set<std::string> kConditions = {"START", "COMPLETE", "SUCCESS", "HEALTHY"};
    for (const json& d : c["dependsOn"]) {
      if (!d.is_object() || !d.contains("containerName") || !d["containerName"].is_string() ||
          !d.contains("condition") || !d["condition"].is_string()) {
        return errors::Client("Container.dependsOn entries need containerName and condition.");
      }
      if (!names.count(d["containerName"].get<std::string>())) {
        return errors::Client("Container " + c["name"].get<std::string>() + " depends on " +
                              d["containerName"].get<std::string>() +
                              ", which is not defined in the task definition.");
      }
      if (!kConditions.count(d["condition"].get<std::string>())) {
        return errors::InvalidParameter("Invalid dependsOn condition: " +
                                        d["condition"].get<std::string>());
      }
    }
  }
  doc["networkMode"] = network_mode;
  doc.emplace("volumes", json::array());
  doc.emplace("placementConstraints", json::array());
  doc.emplace("requiresAttributes", json::array());
  doc["compatibilities"] = json::array({"EC2", "FARGATE"});
  return doc;
}

Result<TaskDefinitionRef> ParseTaskDefinitionRef(const std::string& text) {
  std::string rest = text;
  if (auto arn = core::ParseArn(text)) {
    if (arn->service != "ecs" || arn->resource.rfind("task-definition/", 0) != 0) {
      return errors::Client("Invalid revision number. Number: " + text);
    }
    rest = arn->resource.substr(16);
  }
  TaskDefinitionRef ref;
  size_t colon = rest.find(':');
  ref.family = rest.substr(0, colon);
  if (ref.family.empty()) {
    return errors::Client("Unable to describe task definition.");
  }
  if (colon != std::string::npos) {
    std::string rev = rest.substr(colon + 1);
    if (rev.empty() || rev.size() > 9 || rev.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(rev) < 1) {
      return errors::Client("Invalid revision number. Number: " + rev);
    }
    ref.revision = std::stoi(rev);
  }
  return ref;
}

namespace {

void SetEnv(std::vector<std::pair<std::string, std::string>>& env, const std::string& name,
            const std::string& value) {
  for (auto& kv : env) {
    if (kv.first == name) {
      kv.second = value;
      return;
    }
  }
  env.emplace_back(name, value);
}

agent::DependencyCondition ConditionOf(const std::string& s) {
  if (s == "COMPLETE") return agent::DependencyCondition::Complete;
  if (s == "SUCCESS") return agent::DependencyCondition::Success;
  if (s == "HEALTHY") return agent::DependencyCondition::Healthy;
  return agent::DependencyCondition::Start;
}

}  // namespace

agent::TaskSpec BuildTaskSpec(const TaskDefinition& td, const TaskOverride& overrides,
                              const std::string& task_id, const std::string& task_dir,
                              const std::vector<std::pair<std::string, std::string>>& base_env) {
  agent::TaskSpec spec;
  spec.task_id = task_id;
  spec.dir = task_dir;
  for (const json& c : td.document["containerDefinitions"]) {
    agent::ContainerSpec cs;
    cs.name = c["name"];
    const ContainerOverride* ov = nullptr;
    for (const ContainerOverride& o : overrides.container_overrides) {
      if (o.name == cs.name) {
        ov = &o;
      }
    }
    // Docker's rule: ENTRYPOINT + CMD; an override replaces CMD only.
    std::vector<std::string> command = c.value("command", std::vector<std::string>{});
    if (ov != nullptr && ov->command) {
      command = *ov->command;
    }
    cs.argv = c.value("entryPoint", std::vector<std::string>{});
    cs.argv.insert(cs.argv.end(), command.begin(), command.end());
    cs.environment = base_env;
    for (const json& kv : c.value("environment", json::array())) {
      SetEnv(cs.environment, kv.value("name", ""), kv.value("value", ""));
    }
    if (ov != nullptr) {
      for (const auto& [name, value] : ov->environment) {
        SetEnv(cs.environment, name, value);
      }
    }
    cs.working_directory = c.value("workingDirectory", "");
    cs.essential = c.value("essential", true);
    cs.stop_timeout_seconds = c.value("stopTimeout", 30);
    for (const json& d : c.value("dependsOn", json::array())) {
      cs.depends_on.push_back({d["containerName"], ConditionOf(d["condition"])});
    }
    if (c.contains("healthCheck") && c["healthCheck"]["command"][0] != "NONE") {
      const json& hc = c["healthCheck"];
      agent::HealthCheckSpec h;
      std::vector<std::string> cmd = hc["command"];
      if (cmd[0] == "CMD-SHELL") {
        std::string joined;
        for (size_t i = 1; i < cmd.size(); ++i) {
          joined += (i > 1 ? " " : "") + cmd[i];
        }
        h.argv = {"/bin/sh", "-c", joined};
      } else {
        h.argv.assign(cmd.begin() + 1, cmd.end());
      }
      h.interval_seconds = hc.value("interval", 30);
      h.timeout_seconds = hc.value("timeout", 5);
      h.retries = hc.value("retries", 3);
      h.start_period_seconds = hc.value("startPeriod", 0);
      cs.health_check = h;
    }
    // The awslogs driver: stream PREFIX/CONTAINER/TASK_ID as ECS names it (without a prefix,
    // which only EC2 allows and where Docker names the stream after the container id, berth
    // uses CONTAINER/TASK_ID).
    if (c.contains("logConfiguration") && c["logConfiguration"].value("logDriver", "") == "awslogs") {
      const json options = c["logConfiguration"].value("options", json::object());
      agent::AwsLogsTarget target;
      target.group = options.value("awslogs-group", "");
      std::string prefix = options.value("awslogs-stream-prefix", "");
      target.stream = (prefix.empty() ? "" : prefix + "/") + cs.name + "/" + task_id;
      target.create_group = options.value("awslogs-create-group", "") == "true";
      target.multiline_pattern = options.value("awslogs-multiline-pattern", "");
      target.datetime_format = options.value("awslogs-datetime-format", "");
      if (!target.group.empty()) {
        cs.awslogs = target;
      }
    }
    for (const json& pm : c.value("portMappings", json::array())) {
      agent::PortMappingSpec p;
      p.container_port = pm["containerPort"];
      p.protocol = pm.value("protocol", "tcp");
      // The process driver shares the host's ports: it always picks a free one (hostPort 0).
      cs.port_mappings.push_back(p);
    }
    spec.containers.push_back(std::move(cs));
  }
  return spec;
}

}  // namespace berth::ecs
