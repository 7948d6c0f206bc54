// ECS wire mapping: JSON request members -> typed requests -> JSON responses.
// A member of the wrong JSON type throws nlohmann's type_error inside `value()`/`get()`; the
// front door turns that into SerializationException, as ECS's own deserializer answers.

#include "api/handlers/handlers.h"

#include <memory>
#include <unordered_map>

#include "ecs/ecs_errors.h"
#include "ecs/ecs_json.h"
#include "ecs/ecs_service.h"

namespace berth::api {

using nlohmann::json;

namespace {

std::string Str(const json& in, const char* key) { return in.value(key, std::string()); }

Result<std::string> Required(const json& in, const char* key) {
  std::string v = Str(in, key);
  if (v.empty()) {
    return ecs::errors::InvalidParameter(std::string(key) + " can not be blank.");
  }
  return v;
}

std::vector<std::string> StrList(const json& in, const char* key) {
  return in.value(key, std::vector<std::string>{});
}

json FailuresToJson(const std::vector<ecs::Failure>& failures) {
  json out = json::array();
  for (const ecs::Failure& f : failures) {
    json j = {{"arn", f.arn}, {"reason", f.reason}};
    if (!f.detail.empty()) {
      j["detail"] = f.detail;
    }
    out.push_back(j);
  }
  return out;
}

json PageJson(const char* key, const ecs::Page<std::string>& page) {
  json out = {{key, page.items}};
  if (!page.next_token.empty()) {
    out["nextToken"] = page.next_token;
  }
  return out;
}

Result<ecs::TaskOverride> OverridesFrom(const json& in) {
  ecs::TaskOverride o;
  if (!in.contains("overrides")) {
    return o;
  }
  const json& ov = in.at("overrides");
  if (!ov.is_object()) {
    return ecs::errors::InvalidParameter("overrides must be a structure.");
  }
  for (const json& c : ov.value("containerOverrides", json::array())) {
    ecs::ContainerOverride co;
    co.name = c.value("name", std::string());
    if (c.contains("command")) {
      co.command = c.at("command").get<std::vector<std::string>>();
    }
    for (const json& kv : c.value("environment", json::array())) {
      co.environment.emplace_back(kv.value("name", std::string()), kv.value("value", std::string()));
    }
    if (c.contains("cpu")) {
      co.cpu = c.at("cpu").get<int>();
    }
    if (c.contains("memory")) {
      co.memory = c.at("memory").get<int>();
    }
    o.container_overrides.push_back(std::move(co));
  }
  if (ov.contains("cpu")) {
    o.cpu = ov.at("cpu").get<std::string>();
  }
  if (ov.contains("memory")) {
    o.memory = ov.at("memory").get<std::string>();
  }
  return o;
}

json TaskJson(const ecs::Task& t) { return ecs::ToJson(t, ecs::Audience::Wire); }

// DescribeTasks answers up to 100 tasks a call and callers poll it; each task's JSON text is
// kept until the task changes (every change bumps Task::version), so a reply is mostly
// concatenation. Rendered without tags, the default reply shape.
class RenderedTasks {
 public:
  const std::string& Get(const ecs::Task& t) {
    Entry& e = by_arn_[t.arn];
    if (e.version != t.version || e.text.empty()) {
      json j = TaskJson(t);
      j.erase("tags");
      e.text = j.dump(-1, ' ', false, json::error_handler_t::replace);
      e.version = t.version;
    }
    return e.text;
  }
  void Trim() {
    if (by_arn_.size() > kMaxEntries) {
      by_arn_.clear();
    }
  }

 private:
  static constexpr size_t kMaxEntries = 20000;
  struct Entry {
    int64_t version = -1;
    std::string text;
  };
  std::unordered_map<std::string, Entry> by_arn_;
};

}  // namespace

JsonService MakeEcsHandlers(ecs::EcsService& ecs) {
  JsonService s;
  s.signing_name = "ecs";
  s.target_prefixes = {"AmazonEC2ContainerServiceV20141113"};
  auto& ops = s.operations;

  ops["CreateCluster"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto tags, ecs::TagsFromJson(in.value("tags", json::array())));
    BERTH_TRY(ecs::Cluster c, ecs.CreateCluster(Str(in, "clusterName"), tags));
    return json{{"cluster", ecs::ToJson(c)}};
  };
  ops["DescribeClusters"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto described, ecs.DescribeClusters(StrList(in, "clusters")));
    json clusters = json::array();
    bool with_tags = false;
    for (const std::string& inc : StrList(in, "include")) {
      with_tags = with_tags || inc == "TAGS";
    }
    for (const ecs::Cluster& c : described.first) {
      json j = ecs::ToJson(c);
      if (!with_tags) {
        j.erase("tags");
      }
      clusters.push_back(std::move(j));
    }
    return json{{"clusters", clusters}, {"failures", FailuresToJson(described.second)}};
  };
  ops["ListClusters"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto page, ecs.ListClusters(Str(in, "nextToken"), in.value("maxResults", 100)));
    return PageJson("clusterArns", page);
  };
  ops["DeleteCluster"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "cluster"));
    BERTH_TRY(ecs::Cluster c, ecs.DeleteCluster(name));
    return json{{"cluster", ecs::ToJson(c)}};
  };

  ops["RegisterTaskDefinition"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto tags, ecs::TagsFromJson(in.value("tags", json::array())));
    BERTH_TRY(ecs::TaskDefinition td, ecs.RegisterTaskDefinition(in, tags));
    return json{{"taskDefinition", ecs::ToJson(td)}, {"tags", ecs::TagsToJson(td.tags)}};
  };
  ops["DescribeTaskDefinition"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string ref, Required(in, "taskDefinition"));
    BERTH_TRY(ecs::TaskDefinition td, ecs.DescribeTaskDefinition(ref));
    json out = {{"taskDefinition", ecs::ToJson(td)}};
    for (const std::string& inc : StrList(in, "include")) {
      if (inc == "TAGS") {
        out["tags"] = ecs::TagsToJson(td.tags);
      }
    }
    return out;
  };
  ops["DeregisterTaskDefinition"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string ref, Required(in, "taskDefinition"));
    BERTH_TRY(ecs::TaskDefinition td, ecs.DeregisterTaskDefinition(ref));
    return json{{"taskDefinition", ecs::ToJson(td)}};
  };
  ops["ListTaskDefinitions"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    std::string sort = in.value("sort", std::string("ASC"));
    if (sort != "ASC" && sort != "DESC") {
      return ecs::errors::InvalidParameter("sort must be ASC or DESC.");
    }
    BERTH_TRY(auto page, ecs.ListTaskDefinitions(Str(in, "familyPrefix"), Str(in, "status"),
                                                 sort == "DESC", Str(in, "nextToken"),
                                                 in.value("maxResults", 100)));
    return PageJson("taskDefinitionArns", page);
  };
  ops["ListTaskDefinitionFamilies"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto page, ecs.ListTaskDefinitionFamilies(Str(in, "familyPrefix"),
                                                        Str(in, "status"), Str(in, "nextToken"),
                                                        in.value("maxResults", 100)));
    return PageJson("families", page);
  };

  ops["RunTask"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    ecs::RunTaskRequest req;
    req.cluster = Str(in, "cluster");
    BERTH_TRY(req.task_definition, Required(in, "taskDefinition"));
    req.count = in.value("count", 1);
    req.started_by = Str(in, "startedBy");
    req.group = Str(in, "group");
    req.launch_type = Str(in, "launchType");
    BERTH_TRY(req.overrides, OverridesFrom(in));
    BERTH_TRY(req.tags, ecs::TagsFromJson(in.value("tags", json::array())));
    BERTH_TRY(ecs::RunTaskResult r, ecs.RunTask(req));
    json tasks = json::array();
    for (const ecs::Task& t : r.tasks) {
      tasks.push_back(TaskJson(t));
    }
    return json{{"tasks", tasks}, {"failures", FailuresToJson(r.failures)}};
  };
  ops["StopTask"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string task, Required(in, "task"));
    BERTH_TRY(ecs::Task t, ecs.StopTask(Str(in, "cluster"), task, Str(in, "reason")));
    return json{{"task", TaskJson(t)}};
  };
  auto rendered = std::make_shared<RenderedTasks>();
  ops["DescribeTasks"] = [&ecs, rendered](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto described, ecs.DescribeTasks(Str(in, "cluster"), StrList(in, "tasks")));
    bool with_tags = false;
    for (const std::string& inc : StrList(in, "include")) {
      with_tags = with_tags || inc == "TAGS";
    }
    if (!with_tags) {
      rendered->Trim();
      std::string out = "{\"tasks\":[";
      for (size_t i = 0; i < described.first.size(); ++i) {
        out += i ? "," : "";
        out += rendered->Get(described.first[i]);
      }
      out += "],\"failures\":" + FailuresToJson(described.second).dump() + "}";
      return JsonReply::Raw(std::move(out));
    }
    json tasks = json::array();
    for (const ecs::Task& t : described.first) {
      json j = TaskJson(t);
      if (!with_tags) {
        j.erase("tags");
      }
      tasks.push_back(std::move(j));
    }
    return json{{"tasks", tasks}, {"failures", FailuresToJson(described.second)}};
  };
  ops["ListTasks"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    ecs::ListTasksRequest req;
    req.cluster = Str(in, "cluster");
    req.family = Str(in, "family");
    req.started_by = Str(in, "startedBy");
    req.service_name = Str(in, "serviceName");
    req.desired_status = Str(in, "desiredStatus");
    req.next_token = Str(in, "nextToken");
    req.max_results = in.value("maxResults", 100);
    BERTH_TRY(auto page, ecs.ListTasks(req));
    return PageJson("taskArns", page);
  };

  ops["TagResource"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_TRY(auto tags, ecs::TagsFromJson(in.value("tags", json::array())));
    BERTH_RETURN_IF_ERROR(ecs.TagResource(arn, tags));
    return json::object();
  };
  ops["UntagResource"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_RETURN_IF_ERROR(ecs.UntagResource(arn, StrList(in, "tagKeys")));
    return json::object();
  };
  ops["ListTagsForResource"] = [&ecs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_TRY(auto tags, ecs.ListTagsForResource(arn));
    return json{{"tags", ecs::TagsToJson(tags)}};
  };
  // IAM resources as ECS checks them: the cluster, task, task definition or service ARN the
  // call names; registration and listing calls on "*".
  s.resources = [&ecs](const std::string& op, const json& in) -> std::vector<std::string> {
    const std::string prefix =
        "arn:aws:ecs:" + ecs.config().region + ":" + ecs.config().account_id + ":";
    auto last = [](const std::string& ref) {
      size_t slash = ref.rfind('/');
      return slash == std::string::npos ? ref : ref.substr(slash + 1);
    };
    auto str = [&](const char* key) {
      return in.contains(key) && in[key].is_string() ? in[key].get<std::string>() : std::string();
    };
    std::string cluster = str("cluster").empty() ? "default" : last(str("cluster"));
    auto list = [&](const char* key, const std::string& kind) {
      std::vector<std::string> out;
      if (in.contains(key) && in[key].is_array()) {
        for (const json& v : in[key]) {
          if (v.is_string()) {
            std::string ref = v.get<std::string>();
            out.push_back(ref.starts_with("arn:") ? ref : prefix + kind + ref);
          }
        }
      }
      return out.empty() ? std::vector<std::string>{"*"} : out;
    };
    if (op == "CreateCluster") return {prefix + "cluster/" + str("clusterName")};
    if (op == "DeleteCluster") return {prefix + "cluster/" + cluster};
    if (op == "DescribeClusters") return list("clusters", "cluster/");
    if (op == "DescribeTasks") return list("tasks", "task/" + cluster + "/");
    if (op == "StopTask") {
      std::string task = str("task");
      return {task.starts_with("arn:") ? task : prefix + "task/" + cluster + "/" + task};
    }
    if (op == "RunTask" || op == "DescribeTaskDefinition" || op == "DeregisterTaskDefinition") {
      auto td = ecs.DescribeTaskDefinition(str("taskDefinition"));
      return {td.ok() ? td->arn : "*"};
    }
    if (op == "CreateService") return {prefix + "service/" + cluster + "/" + str("serviceName")};
    if (op == "UpdateService" || op == "DeleteService") {
      return {prefix + "service/" + cluster + "/" + last(str("service"))};
    }
    if (op == "DescribeServices") return list("services", "service/" + cluster + "/");
    if (op == "TagResource" || op == "UntagResource" || op == "ListTagsForResource") {
      return {str("resourceArn").empty() ? "*" : str("resourceArn")};
    }
    return {"*"};
  };
  return s;
}

}  // namespace berth::api
