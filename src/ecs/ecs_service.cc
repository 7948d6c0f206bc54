#include "ecs/ecs_service.h"

#include <algorithm>
#include <set>

#include "core/arn.h"
#include "core/log.h"
#include "ecs/ecs_errors.h"
#include "ecs/ecs_json.h"
#include "ecs/task_definitions.h"

namespace berth::ecs {

using nlohmann::json;

namespace {

// Paging tokens are opaque to clients; berth's are offsets into a stable ordering.
Result<int64_t> ParseToken(const std::string& token) {
  if (token.empty()) {
    return int64_t{0};
  }
  if (token.size() > 12 || token.rfind("b", 0) != 0 ||
      token.find_first_not_of("0123456789", 1) != std::string::npos || token.size() < 2) {
    return errors::InvalidParameter("Invalid nextToken.");
  }
  return static_cast<int64_t>(std::stoll(token.substr(1)));
}
std::string MakeToken(int64_t offset) { return "b" + std::to_string(offset); }

Status CheckMaxResults(int max_results) {
  if (max_results < 1 || max_results > 100) {
    return errors::InvalidParameter("maxResults must be between 1 and 100.");
  }
  return OkStatus();
}

// The last path segment of an ECS ARN, or the text itself when it is a plain name.
std::string NameFromRef(const std::string& ref) {
  if (auto arn = core::ParseArn(ref)) {
    return arn->resource.substr(arn->resource.rfind('/') + 1);
  }
  return ref;
}

std::string StopCodeName(agent::StopCode code) {
  switch (code) {
    case agent::StopCode::TaskFailedToStart:
      return "TaskFailedToStart";
    case agent::StopCode::EssentialContainerExited:
      return "EssentialContainerExited";
    case agent::StopCode::UserInitiated:
      return "UserInitiated";
  }
  return "";
}

// ECS's task health: UNHEALTHY if an essential container is, HEALTHY when every essential
// container with a health check is, UNKNOWN otherwise.
std::string TaskHealth(const Task& t, const std::set<std::string>& checked) {
  bool any_checked = false;
  for (const ContainerState& c : t.containers) {
    if (!c.essential || !checked.count(c.name)) {
      continue;
    }
    any_checked = true;
    if (c.health_status == "UNHEALTHY") {
      return "UNHEALTHY";
    }
    if (c.health_status != "HEALTHY") {
      return "UNKNOWN";
    }
  }
  return any_checked ? "HEALTHY" : "UNKNOWN";
}

}  // namespace

EcsService::EcsService(store::Db& db, core::Clock& clock, core::IdSource& ids, EcsConfig config)
    : db_(db), store_(db), clock_(clock), ids_(ids), config_(std::move(config)) {}

EcsService::~EcsService() = default;

Status EcsService::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(std::vector<Cluster> clusters, store_.AllClusters());
  for (Cluster& c : clusters) {
    clusters_[c.name] = std::move(c);
  }
  BERTH_TRY(std::vector<Task> active, store_.ActiveTasks());
  for (Task& t : active) {
    tasks_[t.id] = std::move(t);
  }
  return OkStatus();
}

// ---- the in-memory view -------------------------------------------------------------------
// Reads are served from memory; every change is written through to the store first, so the
// store stays the truth a restart rebuilds from.

Result<std::optional<Cluster>> EcsService::LoadCluster(const std::string& name) {
  auto it = clusters_.find(name);
  if (it == clusters_.end()) {
    return std::optional<Cluster>();
  }
  return std::optional<Cluster>(it->second);
}

Status EcsService::SaveCluster(const Cluster& c) {
  BERTH_RETURN_IF_ERROR(store_.PutCluster(c));
  clusters_[c.name] = c;
  return OkStatus();
}

Result<std::optional<Task>> EcsService::LoadTask(const std::string& id) {
  if (auto it = tasks_.find(id); it != tasks_.end()) {
    return std::optional<Task>(it->second);
  }
  BERTH_TRY(std::optional<Task> t, store_.GetTask(id));
  if (t) {
    EvictStoppedTasksIfFull();
    tasks_[id] = *t;
  }
  return t;
}

Status EcsService::SaveTask(const Task& t) {
  BERTH_RETURN_IF_ERROR(store_.PutTask(t));
  EvictStoppedTasksIfFull();
  tasks_[t.id] = t;
  return OkStatus();
}

void EcsService::EvictStoppedTasksIfFull() {
  // Every task that is not STOPPED must stay cached (cluster counts are computed from the
  // cache); STOPPED ones are only there to answer DescribeTasks quickly.
  constexpr size_t kMaxCachedTasks = 20000;
  if (tasks_.size() < kMaxCachedTasks) {
    return;
  }
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    it = it->second.IsStopped() ? tasks_.erase(it) : std::next(it);
  }
}

Result<std::map<std::string, int>> EcsService::CountActiveTasks(const std::string& cluster_arn) {
  std::map<std::string, int> counts;
  for (const auto& [id, t] : tasks_) {
    if (!t.IsStopped() && t.cluster_arn == cluster_arn) {
      ++counts[t.last_status];
    }
  }
  return counts;
}

std::string EcsService::ClusterArn(const std::string& name) const {
  return "arn:aws:ecs:" + config_.region + ":" + config_.account_id + ":cluster/" + name;
}

// ---- clusters ----------------------------------------------------------------------------

Result<Cluster> EcsService::CreateCluster(const std::string& name_in, const std::vector<Tag>& tags) {
  std::string name = name_in.empty() ? "default" : name_in;
  static const auto valid = [](const std::string& n) {
    return n.size() <= 255 && std::all_of(n.begin(), n.end(), [](char ch) {
             return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
           });
  };
  if (!valid(name)) {
    return errors::InvalidParameter(
        "Cluster name can only contain letters, numbers, hyphens and underscores, up to 255.");
  }
  BERTH_TRY(std::optional<Cluster> existing, LoadCluster(name));
  Cluster c;
  if (existing && existing->status == "ACTIVE") {
    return *existing;  // CreateCluster is idempotent for an active cluster
  }
  c.name = name;
  c.arn = ClusterArn(name);
  c.created_ms = clock_.NowMillis();
  c.tags = tags;
  BERTH_RETURN_IF_ERROR(SaveCluster(c));
  return c;
}

Result<Cluster> EcsService::RequireCluster(const std::string& name_or_arn) {
  std::string name = name_or_arn.empty() ? "default" : NameFromRef(name_or_arn);
  BERTH_TRY(std::optional<Cluster> c, LoadCluster(name));
  if (!c || c->status != "ACTIVE") {
    return errors::ClusterNotFound();
  }
  return *c;
}

Result<std::pair<std::vector<Cluster>, std::vector<Failure>>> EcsService::DescribeClusters(
    const std::vector<std::string>& refs_in) {
  std::vector<std::string> refs = refs_in.empty() ? std::vector<std::string>{"default"} : refs_in;
  if (refs.size() > 100) {
    return errors::InvalidParameter("Clusters cannot have more than 100 elements");
  }
  std::pair<std::vector<Cluster>, std::vector<Failure>> out;
  for (const std::string& ref : refs) {
    std::string name = NameFromRef(ref);
    BERTH_TRY(std::optional<Cluster> c, LoadCluster(name));
    if (!c) {
      out.second.push_back({ClusterArn(name), "MISSING", ""});
      continue;
    }
    BERTH_TRY(auto counts, CountActiveTasks(c->arn));
    c->running_tasks = counts["RUNNING"];
    c->pending_tasks = counts["PROVISIONING"] + counts["PENDING"];
    c->active_services = active_services_ ? active_services_(c->arn) : 0;
    out.first.push_back(std::move(*c));
  }
  return out;
}

Result<Page<std::string>> EcsService::ListClusters(const std::string& next_token, int max_results) {
  BERTH_RETURN_IF_ERROR(CheckMaxResults(max_results));
  std::string after;
  if (!next_token.empty()) {
    // The token is the last name returned; names are validated, so no escaping is needed.
    if (next_token.rfind("c", 0) != 0) {
      return errors::InvalidParameter("Invalid nextToken.");
    }
    after = next_token.substr(1);
  }
  Page<std::string> page;
  for (auto it = clusters_.upper_bound(after); it != clusters_.end(); ++it) {
    if (it->second.status != "ACTIVE") {
      continue;
    }
    if (static_cast<int>(page.items.size()) == max_results) {
      page.next_token = "c" + page.last_name;
      break;
    }
    page.items.push_back(it->second.arn);
    page.last_name = it->first;
  }
  return page;
}

Result<Cluster> EcsService::DeleteCluster(const std::string& name_or_arn) {
  BERTH_TRY(Cluster c, RequireCluster(name_or_arn));
  if (active_services_ && active_services_(c.arn) > 0) {
    return errors::ClusterContainsServices();
  }
  BERTH_TRY(auto counts, CountActiveTasks(c.arn));
  int active = 0;
  for (const auto& [status, n] : counts) {
    active += n;
  }
  if (active > 0) {
    return errors::ClusterContainsTasks();
  }
  c.status = "INACTIVE";
  BERTH_RETURN_IF_ERROR(SaveCluster(c));
  return c;
}

// ---- task definitions --------------------------------------------------------------------

Result<TaskDefinition> EcsService::RegisterTaskDefinition(const json& request,
                                                          const std::vector<Tag>& tags) {
  BERTH_TRY(json doc, NormalizeTaskDefinition(request));
  TaskDefinition td;
  td.family = doc["family"];
  BERTH_TRY(int latest, store_.LatestRevision(td.family, false));
  td.revision = latest + 1;
  td.arn = "arn:aws:ecs:" + config_.region + ":" + config_.account_id + ":task-definition/" +
           td.family + ":" + std::to_string(td.revision);
  td.registered_ms = clock_.NowMillis();
  td.document = std::move(doc);
  td.tags = tags;
  BERTH_RETURN_IF_ERROR(store_.InsertTaskDefinition(td));
  return td;
}

Result<TaskDefinition> EcsService::ResolveTaskDefinition(const std::string& ref_text) {
  BERTH_TRY(TaskDefinitionRef ref, ParseTaskDefinitionRef(ref_text));
  int revision = ref.revision;
  if (revision == 0) {
    BERTH_TRY(revision, store_.LatestRevision(ref.family, true));
  }
  BERTH_TRY(std::optional<TaskDefinition> td, store_.GetTaskDefinition(ref.family, revision));
  if (!td) {
    return errors::TaskDefinitionNotFound();
  }
  return *td;
}

Result<TaskDefinition> EcsService::DescribeTaskDefinition(const std::string& ref) {
  return ResolveTaskDefinition(ref);
}

Result<TaskDefinition> EcsService::DeregisterTaskDefinition(const std::string& ref_text) {
  BERTH_TRY(TaskDefinitionRef ref, ParseTaskDefinitionRef(ref_text));
  if (ref.revision == 0) {
    return errors::InvalidParameter("Invalid revision number. Number: " + ref.family);
  }
  BERTH_TRY(std::optional<TaskDefinition> td, store_.GetTaskDefinition(ref.family, ref.revision));
  if (!td) {
    return errors::Client("The specified task definition does not exist.");
  }
  if (td->status == "ACTIVE") {
    td->status = "INACTIVE";
    td->deregistered_ms = clock_.NowMillis();
    BERTH_RETURN_IF_ERROR(store_.UpdateTaskDefinition(*td));
  }
  return *td;
}

Result<Page<std::string>> EcsService::ListTaskDefinitions(const std::string& family,
                                                          const std::string& status,
                                                          bool descending,
                                                          const std::string& next_token,
                                                          int max_results) {
  BERTH_RETURN_IF_ERROR(CheckMaxResults(max_results));
  BERTH_TRY(int64_t offset, ParseToken(next_token));
  BERTH_TRY(std::vector<TaskDefinition> tds,
            store_.ListTaskDefinitions(family, status.empty() ? "ACTIVE" : status, descending,
                                       offset, max_results + 1));
  Page<std::string> page;
  for (int i = 0; i < static_cast<int>(tds.size()) && i < max_results; ++i) {
    page.items.push_back(tds[i].arn);
  }
  if (static_cast<int>(tds.size()) > max_results) {
    page.next_token = MakeToken(offset + max_results);
  }
  return page;
}

Result<Page<std::string>> EcsService::ListTaskDefinitionFamilies(const std::string& prefix,
                                                                 const std::string& status,
                                                                 const std::string& next_token,
                                                                 int max_results) {
  BERTH_RETURN_IF_ERROR(CheckMaxResults(max_results));
  BERTH_TRY(int64_t offset, ParseToken(next_token));
  BERTH_TRY(std::vector<std::string> families,
            store_.ListFamilies(prefix, status.empty() ? "ACTIVE" : status, offset,
                                max_results + 1));
  Page<std::string> page;
  if (static_cast<int>(families.size()) > max_results) {
    families.resize(max_results);
    page.next_token = MakeToken(offset + max_results);
  }
  page.items = std::move(families);
  return page;
}

// ---- tasks -------------------------------------------------------------------------------

Result<RunTaskResult> EcsService::RunTask(const RunTaskRequest& req) {
  BERTH_TRY(Cluster cluster, RequireCluster(req.cluster));
  if (req.count < 1 || req.count > 10) {
    return errors::InvalidParameter("count must be between 1 and 10.");
  }
  if (req.task_definition.empty()) {
    return errors::InvalidParameter("TaskDefinition can not be blank.");
  }
  BERTH_TRY(TaskDefinition td, ResolveTaskDefinition(req.task_definition));
  if (td.status != "ACTIVE") {
    return errors::Client("TaskDefinition is inactive");
  }
  std::set<std::string> names;
  for (const json& c : td.document["containerDefinitions"]) {
    names.insert(c["name"].get<std::string>());
  }
  for (const ContainerOverride& o : req.overrides.container_overrides) {
    if (!names.count(o.name)) {
      return errors::InvalidParameter("Override for container named " + o.name +
                                      " is not a container in the TaskDefinition.");
    }
  }
  if (req.started_by.size() > 128) {
    return errors::InvalidParameter("startedBy may not be longer than 128 characters.");
  }
  if (!agent_) {
    return MakeError(ErrorKind::Unavailable, "ServerException", "The agent is not running.");
  }
  RunTaskResult result;
  std::vector<Task> created;
  int64_t now = clock_.NowMillis();
  for (int i = 0; i < req.count; ++i) {
    Task t;
    t.id = ids_.NewTaskId();
    t.arn = "arn:aws:ecs:" + config_.region + ":" + config_.account_id + ":task/" + cluster.name +
            "/" + t.id;
    t.cluster_arn = cluster.arn;
    t.task_definition_arn = td.arn;
    t.family = td.family;
    t.revision = td.revision;
    t.started_by = req.started_by;
    t.group = req.group.empty() ? "family:" + td.family : req.group;
    t.launch_type = req.launch_type.empty() ? "FARGATE" : req.launch_type;
    t.cpu = req.overrides.cpu.value_or(td.document.value("cpu", ""));
    t.memory = req.overrides.memory.value_or(td.document.value("memory", ""));
    t.created_ms = now;
    t.overrides = req.overrides;
    t.tags = req.tags;
    for (const json& cd : td.document["containerDefinitions"]) {
      ContainerState c;
      c.name = cd["name"];
      c.image = cd.value("image", "");
      c.essential = cd.value("essential", true);
      c.container_arn = "arn:aws:ecs:" + config_.region + ":" + config_.account_id +
                        ":container/" + cluster.name + "/" + t.id + "/" + ids_.NewUuid();
      if (cd.contains("cpu") && cd["cpu"].is_number_integer()) {
        c.cpu = std::to_string(cd["cpu"].get<int>());
      }
      if (cd.contains("memory") && cd["memory"].is_number_integer()) {
        c.memory = std::to_string(cd["memory"].get<int>());
      }
      t.containers.push_back(std::move(c));
    }
    created.push_back(t);
  }
  {
    store::Transaction txn(db_);
    for (const Task& t : created) {
      BERTH_RETURN_IF_ERROR(SaveTask(t));
    }
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  for (const Task& t : created) {
    after_commit_([this, t, td] { StartOnAgent(t, td); });
  }
  result.tasks = std::move(created);
  return result;
}

void EcsService::StartOnAgent(const Task& task, const TaskDefinition& td) {
  UpdateTask(task.id, [&](Task& t) {
    int64_t now = clock_.NowMillis();
    t.last_status = "PENDING";
    t.pull_started_ms = now;
    t.pull_stopped_ms = now;
  });
  agent::TaskSpec spec = BuildTaskSpec(td, task.overrides, task.id,
                                       config_.tasks_dir + "/" + task.id, config_.base_environment);
  if (environment_ != nullptr) {
    auto extra = environment_->EnvironmentFor(task, td);
    if (!extra.ok()) {
      OnTaskStopping(task.id, agent::StopCode::TaskFailedToStart, extra.error().message);
      OnTaskStopped(task.id);
      return;
    }
    for (agent::ContainerSpec& c : spec.containers) {
      auto it = extra->find(c.name);
      if (it != extra->end()) {
        c.environment.insert(c.environment.end(), it->second.begin(), it->second.end());
      }
    }
  }
  agent_->RunTask(std::move(spec));
}

Result<std::optional<Task>> EcsService::FindTask(const std::string& cluster_arn,
                                                 const std::string& ref) {
  std::string id = NameFromRef(ref);
  BERTH_TRY(std::optional<Task> t, LoadTask(id));
  if (t && t->cluster_arn != cluster_arn) {
    return std::optional<Task>();
  }
  return t;
}

Result<Task> EcsService::StopTask(const std::string& cluster_ref, const std::string& task_ref,
                                  const std::string& reason) {
  BERTH_TRY(Cluster cluster, RequireCluster(cluster_ref));
  if (task_ref.empty()) {
    return errors::InvalidParameter("Task can not be blank.");
  }
  if (reason.size() > 1024) {
    return errors::InvalidParameter("Reason may not be longer than 1024 characters.");
  }
  BERTH_TRY(std::optional<Task> task, FindTask(cluster.arn, task_ref));
  if (!task) {
    return errors::InvalidParameter("The referenced task was not found.");
  }
  if (task->desired_status != "STOPPED") {
    std::string why = reason.empty() ? "Task stopped by user" : reason;
    UpdateTask(task->id, [&](Task& t) {
      t.desired_status = "STOPPED";
      t.stop_code = "UserInitiated";
      t.stopped_reason = why;
      t.stopping_ms = clock_.NowMillis();
    });
    if (agent_) {
      after_commit_([this, id = task->id, why] {
        agent_->StopTask(id, agent::StopCode::UserInitiated, why);
      });
    }
    BERTH_TRY(task, LoadTask(task->id));
  }
  return *task;
}

Result<std::pair<std::vector<Task>, std::vector<Failure>>> EcsService::DescribeTasks(
    const std::string& cluster_ref, const std::vector<std::string>& refs) {
  BERTH_TRY(Cluster cluster, RequireCluster(cluster_ref));
  if (refs.empty()) {
    return errors::InvalidParameter("Tasks cannot be empty.");
  }
  if (refs.size() > 100) {
    return errors::InvalidParameter("Tasks cannot have more than 100 elements");
  }
  std::pair<std::vector<Task>, std::vector<Failure>> out;
  for (const std::string& ref : refs) {
    BERTH_TRY(std::optional<Task> t, FindTask(cluster.arn, ref));
    if (!t) {
      std::string arn = core::ParseArn(ref) ? ref
                                            : "arn:aws:ecs:" + config_.region + ":" +
                                                  config_.account_id + ":task/" + ref;
      out.second.push_back({arn, "MISSING", ""});
      continue;
    }
    out.first.push_back(std::move(*t));
  }
  return out;
}

Result<Page<std::string>> EcsService::ListTasks(const ListTasksRequest& req) {
  BERTH_TRY(Cluster cluster, RequireCluster(req.cluster));
  BERTH_RETURN_IF_ERROR(CheckMaxResults(req.max_results));
  BERTH_TRY(int64_t offset, ParseToken(req.next_token));
  TaskFilter f;
  f.cluster_arn = cluster.arn;
  f.family = req.family;
  f.started_by = req.started_by;
  f.desired_status = req.desired_status.empty() ? "RUNNING" : req.desired_status;
  if (f.desired_status != "RUNNING" && f.desired_status != "PENDING" &&
      f.desired_status != "STOPPED") {
    return errors::InvalidParameter("desiredStatus must be RUNNING, PENDING or STOPPED.");
  }
  if (!req.service_name.empty()) {
    f.group = "service:" + NameFromRef(req.service_name);
  }
  BERTH_TRY(std::vector<Task> tasks, store_.ListTasks(f, offset, req.max_results + 1));
  Page<std::string> page;
  for (int i = 0; i < static_cast<int>(tasks.size()) && i < req.max_results; ++i) {
    page.items.push_back(tasks[i].arn);
  }
  if (static_cast<int>(tasks.size()) > req.max_results) {
    page.next_token = MakeToken(offset + req.max_results);
  }
  return page;
}

// ---- tags --------------------------------------------------------------------------------


Status EcsService::EditResourceTags(const std::string& arn_text, bool save,
                                    const std::function<void(std::vector<Tag>&)>& edit) {
  auto arn = core::ParseArn(arn_text);
  if (!arn || arn->service != "ecs") {
    return errors::InvalidParameter("The ARN provided is invalid.");
  }
  auto check = [](const std::vector<Tag>& tags) -> Status {
    if (tags.size() > 50) {
      return errors::InvalidParameter("A resource can have at most 50 tags.");
    }
    return OkStatus();
  };
  const std::string& res = arn->resource;
  if (res.rfind("cluster/", 0) == 0) {
    BERTH_TRY(Cluster c, RequireCluster(res.substr(8)));
    edit(c.tags);
    BERTH_RETURN_IF_ERROR(check(c.tags));
    return save ? SaveCluster(c) : OkStatus();
  }
  if (res.rfind("task-definition/", 0) == 0) {
    BERTH_TRY(TaskDefinition td, ResolveTaskDefinition(arn_text));
    edit(td.tags);
    BERTH_RETURN_IF_ERROR(check(td.tags));
    return save ? store_.UpdateTaskDefinition(td) : OkStatus();
  }
  if (res.rfind("task/", 0) == 0) {
    BERTH_TRY(std::optional<Task> t, LoadTask(NameFromRef(arn_text)));
    if (!t) {
      return errors::ResourceNotFound("The specified task is not found.");
    }
    edit(t->tags);
    BERTH_RETURN_IF_ERROR(check(t->tags));
    if (save) {
      UpdateTask(t->id, [&](Task& task) { task.tags = t->tags; });
    }
    return OkStatus();
  }
  return errors::InvalidParameter("The ARN provided is invalid.");
}

Status EcsService::TagResource(const std::string& arn, const std::vector<Tag>& tags) {
  return EditResourceTags(arn, true, [&](std::vector<Tag>& into) {
    for (const Tag& t : tags) {
      auto it = std::find_if(into.begin(), into.end(), [&](const Tag& x) { return x.key == t.key; });
      if (it != into.end()) {
        it->value = t.value;
      } else {
        into.push_back(t);
      }
    }
  });
}

Status EcsService::UntagResource(const std::string& arn, const std::vector<std::string>& keys) {
  return EditResourceTags(arn, true, [&](std::vector<Tag>& tags) {
    tags.erase(std::remove_if(tags.begin(), tags.end(),
                              [&](const Tag& t) {
                                return std::find(keys.begin(), keys.end(), t.key) != keys.end();
                              }),
               tags.end());
  });
}

Result<std::vector<Tag>> EcsService::ListTagsForResource(const std::string& arn) {
  std::vector<Tag> out;
  BERTH_RETURN_IF_ERROR(EditResourceTags(arn, false, [&](std::vector<Tag>& tags) { out = tags; }));
  return out;
}

// ---- agent status ------------------------------------------------------------------------

template <typename F>
void EcsService::UpdateTask(const std::string& task_id, F mutate) {
  auto loaded = LoadTask(task_id);
  if (!loaded.ok() || !loaded.value()) {
    spdlog::error("task {}: cannot load for update: {}", task_id,
                  loaded.ok() ? "not found" : loaded.error().message);
    return;
  }
  Task& t = **loaded;
  mutate(t);
  ++t.version;
  Status saved = SaveTask(t);
  if (!saved.ok()) {
    spdlog::error("task {}: cannot save: {}", task_id, saved.error().message);
  }
}

namespace {
ContainerState* FindContainer(Task& t, const std::string& name) {
  for (ContainerState& c : t.containers) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}
}  // namespace

void EcsService::OnContainerStarted(const std::string& task_id, const std::string& container,
                                    const std::string& driver_state,
                                    const std::vector<agent::PortBinding>& bindings) {
  UpdateTask(task_id, [&](Task& t) {
    if (ContainerState* c = FindContainer(t, container)) {
      c->last_status = "RUNNING";
      c->driver_state = driver_state;
      c->network_bindings.clear();
      for (const agent::PortBinding& b : bindings) {
        c->network_bindings.push_back({b.bind_ip, b.container_port, b.host_port, b.protocol});
      }
    }
  });
}

void EcsService::OnContainerExited(const std::string& task_id, const std::string& container,
                                   std::optional<int> exit_code, const std::string& reason) {
  UpdateTask(task_id, [&](Task& t) {
    if (ContainerState* c = FindContainer(t, container)) {
      c->last_status = "STOPPED";
      c->exit_code = exit_code;
      c->reason = reason;
    }
  });
}

void EcsService::OnContainerHealth(const std::string& task_id, const std::string& container,
                                   agent::ContainerHealth health) {
  auto td_checked = [&](const Task& t) {
    std::set<std::string> checked;
    auto td = store_.GetTaskDefinition(t.family, t.revision);
    if (td.ok() && *td) {
      for (const json& c : (*td)->document["containerDefinitions"]) {
        if (c.contains("healthCheck")) {
          checked.insert(c["name"].get<std::string>());
        }
      }
    }
    return checked;
  };
  UpdateTask(task_id, [&](Task& t) {
    if (ContainerState* c = FindContainer(t, container)) {
      c->health_status = health == agent::ContainerHealth::Healthy     ? "HEALTHY"
                         : health == agent::ContainerHealth::Unhealthy ? "UNHEALTHY"
                                                                       : "UNKNOWN";
    }
    t.health_status = TaskHealth(t, td_checked(t));
  });
}

void EcsService::OnTaskRunning(const std::string& task_id) {
  UpdateTask(task_id, [&](Task& t) {
    if (t.last_status == "PENDING" || t.last_status == "PROVISIONING") {
      t.last_status = "RUNNING";
      t.started_ms = clock_.NowMillis();
    }
  });
}

void EcsService::OnTaskStopping(const std::string& task_id, agent::StopCode code,
                                const std::string& reason) {
  UpdateTask(task_id, [&](Task& t) {
    if (t.desired_status != "STOPPED") {
      t.desired_status = "STOPPED";
      t.stop_code = StopCodeName(code);
      t.stopped_reason = reason;
      t.stopping_ms = clock_.NowMillis();
    }
    t.last_status = "DEPROVISIONING";
  });
}

void EcsService::OnTaskStopped(const std::string& task_id) {
  if (environment_ != nullptr) {
    environment_->Forget(task_id);
  }
  UpdateTask(task_id, [&](Task& t) {
    int64_t now = clock_.NowMillis();
    t.last_status = "STOPPED";
    t.desired_status = "STOPPED";
    t.execution_stopped_ms = now;
    t.stopped_ms = now;
    if (!t.stopping_ms) {
      t.stopping_ms = now;
    }
    for (ContainerState& c : t.containers) {
      c.last_status = "STOPPED";
    }
  });
}

// ---- recovery ----------------------------------------------------------------------------

void EcsService::AttachAgent(agent::Agent& agent) {
  agent_ = &agent;
  RecoverTasks();
}

void EcsService::RecoverTasks() {
  auto active = store_.ActiveTasks();
  if (!active.ok()) {
    spdlog::error("cannot list tasks to recover: {}", active.error().message);
    return;
  }
  for (const Task& t : *active) {
    auto td = store_.GetTaskDefinition(t.family, t.revision);
    if (!td.ok() || !*td) {
      spdlog::error("task {}: its task definition is gone; marking it STOPPED", t.id);
      OnTaskStopped(t.id);
      continue;
    }
    agent::TaskSpec spec = BuildTaskSpec(**td, t.overrides, t.id, config_.tasks_dir + "/" + t.id,
                                         config_.base_environment);
    if (t.last_status == "PROVISIONING") {
      if (t.desired_status == "STOPPED") {
        OnTaskStopped(t.id);
      } else {
        StartOnAgent(t, **td);
      }
      continue;
    }
    std::map<std::string, agent::ContainerRecord> records;
    for (const ContainerState& c : t.containers) {
      records[c.name] = {c.driver_state, c.last_status == "STOPPED", c.exit_code};
    }
    bool stopping = t.desired_status == "STOPPED";
    agent::StopCode code = t.stop_code == "TaskFailedToStart" ? agent::StopCode::TaskFailedToStart
                           : t.stop_code == "EssentialContainerExited"
                               ? agent::StopCode::EssentialContainerExited
                               : agent::StopCode::UserInitiated;
    spdlog::info("task {}: re-attaching ({})", t.id, t.last_status);
    agent_->RecoverTask(std::move(spec), records, stopping, code, t.stopped_reason);
  }
}

}  // namespace berth::ecs
