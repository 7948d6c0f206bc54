#include "ecs/service_scheduler.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/log.h"
#include "ecs/ecs_errors.h"

namespace berth::ecs {

namespace {

constexpr size_t kEventsKept = 100;

std::string NameFromRef(const std::string& ref) {
  size_t slash = ref.rfind('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

std::string ShortId(const std::string& task_id) { return task_id; }

Error ServiceNotFound() {
  return MakeError(ErrorKind::NotFound, "ServiceNotFoundException", "Service not found.");
}

Error ServiceNotActive() {
  return MakeError(ErrorKind::Conflict, "ServiceNotActiveException", "Service was not ACTIVE.");
}

// ECS's circuit-breaker threshold: half the desired count, at least 3, at most 200.
int FailureThreshold(int desired) {
  return std::clamp(static_cast<int>(std::ceil(desired * 0.5)), 3, 200);
}

Status ValidateDeploymentConfiguration(const DeploymentConfiguration& c) {
  if (c.minimum_healthy_percent < 0 || c.minimum_healthy_percent > 100) {
    return errors::InvalidParameter("minimumHealthyPercent must be between 0 and 100.");
  }
  if (c.maximum_percent < 100) {
    return errors::InvalidParameter("maximumPercent must be at least 100.");
  }
  return OkStatus();
}

}  // namespace

ServiceScheduler::ServiceScheduler(EcsService& ecs, store::Db& db, core::Clock& clock,
                                   core::IdSource& ids, TargetRegistry* targets,
                                   ServiceEventSink* events)
    : ecs_(ecs), db_(db), clock_(clock), ids_(ids), targets_(targets), events_(events) {}

Status ServiceScheduler::Open() {
  EcsStore store(db_);
  BERTH_TRY(auto all, store.AllServices());
  for (Service& s : all) {
    services_[s.arn] = std::move(s);
  }
  ecs_.SetActiveServiceCounter([this](const std::string& cluster_arn) {
    return ActiveServices(cluster_arn);
  });
  return OkStatus();
}

int ServiceScheduler::ActiveServices(const std::string& cluster_arn) const {
  int n = 0;
  for (const auto& [arn, s] : services_) {
    n += s.cluster_arn == cluster_arn && s.status != "INACTIVE";
  }
  return n;
}

std::string ServiceScheduler::ClusterName(const std::string& cluster_arn) const {
  return NameFromRef(cluster_arn);
}

Status ServiceScheduler::Save(const Service& s) {
  EcsStore store(db_);
  return store.PutService(s);
}

void ServiceScheduler::Event(Service& s, const std::string& message) {
  ServiceEvent e{ids_.NewUuid(), clock_.NowMillis(), message};
  s.events.insert(s.events.begin(), e);
  if (s.events.size() > kEventsKept) {
    s.events.resize(kEventsKept);
  }
  if (events_ != nullptr) {
    events_->Record(ClusterName(s.cluster_arn), s.name, e.created_ms, message);
  }
}

Result<Service*> ServiceScheduler::Find(const std::string& cluster, const std::string& service) {
  BERTH_TRY(Cluster c, ecs_.GetCluster(cluster.empty() ? "default" : cluster));
  std::string name = NameFromRef(service);
  for (auto& [arn, s] : services_) {
    if (s.cluster_arn == c.arn && s.name == name) {
      return &s;
    }
  }
  return ServiceNotFound();
}

Status ServiceScheduler::Validate(const std::string& task_definition_arn,
                                  const std::vector<ServiceLoadBalancer>& load_balancers) {
  BERTH_TRY(TaskDefinition td, ecs_.DescribeTaskDefinition(task_definition_arn));
  for (const ServiceLoadBalancer& lb : load_balancers) {
    if (targets_ == nullptr || !targets_->TargetGroupExists(lb.target_group_arn)) {
      return errors::InvalidParameter("Unable to find target group " + lb.target_group_arn + ".");
    }
    bool found = false;
    for (const auto& cd : td.document["containerDefinitions"]) {
      if (cd.value("name", "") != lb.container_name) {
        continue;
      }
      for (const auto& pm : cd.value("portMappings", nlohmann::json::array())) {
        found = found || pm.value("containerPort", 0) == lb.container_port;
      }
      if (!found) {
        return errors::InvalidParameter("The container " + lb.container_name +
                                        " does not have a container port " +
                                        std::to_string(lb.container_port) + " defined.");
      }
    }
    if (!found) {
      return errors::InvalidParameter("The container " + lb.container_name +
                                      " does not exist in the task definition.");
    }
  }
  return OkStatus();
}

Deployment ServiceScheduler::NewDeployment(const Service& s,
                                           const std::string& task_definition_arn) {
  Deployment d;
  // 19 decimal digits, as ECS's deployment ids; taken from the id source's random hex.
  std::string hex = ids_.NewTaskId();
  std::string digits;
  for (auto it = hex.rbegin(); it != hex.rend() && digits.size() < 19; ++it) {
    int v = std::isdigit(static_cast<unsigned char>(*it)) ? *it - '0' : *it - 'a' + 10;
    digits.insert(digits.begin(), static_cast<char>('0' + v % 10));
  }
  if (digits[0] == '0') {
    digits[0] = '1';
  }
  d.id = "ecs-svc/" + digits;
  d.status = "PRIMARY";
  d.task_definition_arn = task_definition_arn;
  d.desired_count = s.desired_count;
  d.rollout_state = "IN_PROGRESS";
  d.rollout_state_reason = "ECS deployment " + d.id + " in progress.";
  d.created_ms = d.updated_ms = clock_.NowMillis();
  d.load_balancers = s.load_balancers;
  return d;
}

// ---------------------------------------------------------------- API

Result<DescribedService> ServiceScheduler::CreateService(const CreateServiceRequest& req) {
  BERTH_TRY(Cluster cluster, ecs_.GetCluster(req.cluster.empty() ? "default" : req.cluster));
  if (req.service_name.empty() || req.service_name.size() > 255 ||
      !std::all_of(req.service_name.begin(), req.service_name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return errors::InvalidParameter("Service name must be 1-255 letters, numbers, hyphens and "
                                    "underscores.");
  }
  if (req.desired_count < 0) {
    return errors::InvalidParameter("desiredCount can not be negative.");
  }
  if (!req.scheduling_strategy.empty() && req.scheduling_strategy != "REPLICA") {
    return errors::InvalidParameter("berth runs services with the REPLICA scheduling strategy "
                                    "only.");
  }
  DeploymentConfiguration config = req.deployment_configuration.value_or(DeploymentConfiguration{});
  BERTH_RETURN_IF_ERROR(ValidateDeploymentConfiguration(config));
  if (req.task_definition.empty()) {
    return errors::InvalidParameter("TaskDefinition can not be blank.");
  }
  BERTH_TRY(TaskDefinition td, ecs_.DescribeTaskDefinition(req.task_definition));
  if (td.status != "ACTIVE") {
    return errors::Client("TaskDefinition is inactive");
  }
  BERTH_RETURN_IF_ERROR(Validate(td.arn, req.load_balancers));
  std::string arn = "arn:aws:ecs:" + ecs_.config().region + ":" + ecs_.config().account_id +
                    ":service/" + cluster.name + "/" + req.service_name;
  if (auto it = services_.find(arn); it != services_.end() && it->second.status != "INACTIVE") {
    return errors::InvalidParameter("Creation of service was not idempotent.");
  }
  Service s;
  s.arn = arn;
  s.name = req.service_name;
  s.cluster_arn = cluster.arn;
  s.desired_count = req.desired_count;
  s.launch_type = req.launch_type.empty() ? "FARGATE" : req.launch_type;
  s.task_definition_arn = td.arn;
  s.load_balancers = req.load_balancers;
  s.deployment_configuration = config;
  s.health_check_grace_period_seconds = req.health_check_grace_period_seconds;
  s.enable_execute_command = req.enable_execute_command;
  s.propagate_tags = req.propagate_tags.empty() ? "NONE" : req.propagate_tags;
  s.enable_ecs_managed_tags = req.enable_ecs_managed_tags;
  s.network_configuration = req.network_configuration;
  s.tags = req.tags;
  s.created_ms = clock_.NowMillis();
  s.created_by = "arn:aws:iam::" + ecs_.config().account_id + ":root";
  s.deployments.push_back(NewDeployment(s, td.arn));
  BERTH_RETURN_IF_ERROR(Save(s));
  services_[arn] = s;
  return Describe(services_[arn]);
}

Result<DescribedService> ServiceScheduler::UpdateService(const UpdateServiceRequest& req) {
  BERTH_TRY(Service * found, Find(req.cluster, req.service));
  if (found->status != "ACTIVE") {
    return ServiceNotActive();
  }
  Service s = *found;
  if (req.desired_count) {
    if (*req.desired_count < 0) {
      return errors::InvalidParameter("desiredCount can not be negative.");
    }
    s.desired_count = *req.desired_count;
  }
  if (req.deployment_configuration) {
    BERTH_RETURN_IF_ERROR(ValidateDeploymentConfiguration(*req.deployment_configuration));
    s.deployment_configuration = *req.deployment_configuration;
  }
  if (req.health_check_grace_period_seconds) {
    s.health_check_grace_period_seconds = *req.health_check_grace_period_seconds;
  }
  if (req.enable_execute_command) {
    s.enable_execute_command = *req.enable_execute_command;
  }
  bool redeploy = req.force_new_deployment;
  if (req.task_definition) {
    BERTH_TRY(TaskDefinition td, ecs_.DescribeTaskDefinition(*req.task_definition));
    if (td.status != "ACTIVE") {
      return errors::Client("TaskDefinition is inactive");
    }
    redeploy = redeploy || td.arn != s.task_definition_arn;
    s.task_definition_arn = td.arn;
  }
  if (req.load_balancers) {
    s.load_balancers = *req.load_balancers;
    redeploy = true;
  }
  BERTH_RETURN_IF_ERROR(Validate(s.task_definition_arn, s.load_balancers));
  if (redeploy) {
    for (Deployment& d : s.deployments) {
      d.status = "ACTIVE";
    }
    s.deployments.insert(s.deployments.begin(), NewDeployment(s, s.task_definition_arn));
    s.consecutive_failures = 0;
    s.next_start_ms = 0;
  }
  s.deployments[0].desired_count = s.desired_count;
  s.deployments[0].updated_ms = clock_.NowMillis();
  s.steady = false;
  BERTH_RETURN_IF_ERROR(Save(s));
  *found = std::move(s);
  return Describe(*found);
}

Result<DescribedService> ServiceScheduler::DeleteService(const std::string& cluster,
                                                         const std::string& service, bool force) {
  BERTH_TRY(Service * found, Find(cluster, service));
  if (found->status == "INACTIVE") {
    return ServiceNotActive();
  }
  if (found->desired_count > 0 && !force) {
    return errors::InvalidParameter("The service cannot be stopped while it is scaled above 0.");
  }
  Service s = *found;
  s.status = "DRAINING";
  s.desired_count = 0;
  for (Deployment& d : s.deployments) {
    d.desired_count = 0;
  }
  BERTH_RETURN_IF_ERROR(Save(s));
  *found = std::move(s);
  return Describe(*found);
}

Result<std::pair<std::vector<DescribedService>, std::vector<Failure>>>
ServiceScheduler::DescribeServices(const std::string& cluster,
                                   const std::vector<std::string>& services) {
  BERTH_TRY(Cluster c, ecs_.GetCluster(cluster.empty() ? "default" : cluster));
  if (services.empty() || services.size() > 10) {
    return errors::InvalidParameter("services must contain between 1 and 10 items.");
  }
  std::pair<std::vector<DescribedService>, std::vector<Failure>> out;
  for (const std::string& ref : services) {
    auto found = Find(c.arn, ref);
    if (!found.ok()) {
      out.second.push_back({"arn:aws:ecs:" + ecs_.config().region + ":" +
                                ecs_.config().account_id + ":service/" + c.name + "/" +
                                NameFromRef(ref),
                            "MISSING", ""});
      continue;
    }
    out.first.push_back(Describe(**found));
  }
  return out;
}

Result<Page<std::string>> ServiceScheduler::ListServices(const std::string& cluster,
                                                         const std::string& launch_type,
                                                         const std::string& next_token,
                                                         int max_results) {
  BERTH_TRY(Cluster c, ecs_.GetCluster(cluster.empty() ? "default" : cluster));
  if (max_results < 1 || max_results > 100) {
    return errors::InvalidParameter("maxResults must be between 1 and 100.");
  }
  Page<std::string> page;
  bool started = next_token.empty();
  for (const auto& [arn, s] : services_) {
    if (s.cluster_arn != c.arn || s.status == "INACTIVE" ||
        (!launch_type.empty() && s.launch_type != launch_type)) {
      continue;
    }
    if (!started) {
      started = arn > next_token;
      if (!started) {
        continue;
      }
    }
    if (static_cast<int>(page.items.size()) == max_results) {
      page.next_token = page.items.back();
      break;
    }
    page.items.push_back(arn);
  }
  return page;
}

DescribedService ServiceScheduler::Describe(const Service& s) {
  DescribedService out;
  out.service = s;
  for (const ServiceTask& t : s.tasks) {
    auto task = ecs_.PeekTask(t.task_id);
    if (!task.ok() || !*task) {
      continue;
    }
    ServiceCounts& d = out.deployment_counts[t.deployment_id];
    const std::string& st = (*task)->last_status;
    if (st == "RUNNING") {
      ++out.counts.running;
      ++d.running;
    } else if (st == "PROVISIONING" || st == "PENDING" || st == "ACTIVATING") {
      ++out.counts.pending;
      ++d.pending;
    }
  }
  return out;
}

// ---------------------------------------------------------------- the scheduler

// The load balancers a task was registered with: its deployment's (an UpdateService with new
// loadBalancers starts a new deployment), or the service's when the deployment is gone.
const std::vector<ServiceLoadBalancer>& ServiceScheduler::LoadBalancersOf(const Service& s,
                                                                         const ServiceTask& t) {
  for (const Deployment& d : s.deployments) {
    if (d.id == t.deployment_id) {
      return d.load_balancers;
    }
  }
  return s.load_balancers;
}

bool ServiceScheduler::IsHealthy(const Service& s, const ServiceTask& t, const Task& task) const {
  if (task.last_status != "RUNNING" || t.stopping || task.health_status == "UNHEALTHY") {
    return false;
  }
  const std::vector<ServiceLoadBalancer>& lbs = LoadBalancersOf(s, t);
  if (!lbs.empty()) {
    if (!t.registered || targets_ == nullptr) {
      return false;
    }
    for (size_t i = 0; i < lbs.size() && i < t.host_ports.size(); ++i) {
      if (targets_->State(lbs[i].target_group_arn, t.host_ports[i]) != "healthy") {
        return false;
      }
    }
    return true;
  }
  // Without a load balancer: RUNNING, and HEALTHY when a container defines a health check.
  bool checks = std::any_of(task.containers.begin(), task.containers.end(),
                            [](const ContainerState& c) { return c.health_status != "UNKNOWN"; });
  return !checks || task.health_status == "HEALTHY";
}

void ServiceScheduler::BeginStop(Service& s, ServiceTask& t, const std::string& reason) {
  t.stopping = true;
  s.steady = false;
  const std::vector<ServiceLoadBalancer>& lbs = LoadBalancersOf(s, t);
  if (t.registered && targets_ != nullptr && !lbs.empty()) {
    t.draining = true;
    Event(s, "(service " + s.name + ") has begun draining connections on 1 tasks.");
    for (size_t i = 0; i < lbs.size() && i < t.host_ports.size(); ++i) {
      (void)targets_->Deregister(lbs[i].target_group_arn, t.host_ports[i]);
      Event(s, "(service " + s.name + ") deregistered 1 targets in (target-group " +
                   lbs[i].target_group_arn + ")");
    }
    return;
  }
  (void)ecs_.StopTask(s.cluster_arn, t.task_id, reason);
  Event(s, "(service " + s.name + ") has stopped 1 running tasks: (task " + ShortId(t.task_id) +
               ").");
}

// Counts a task that failed to start (or to become healthy) against its deployment, for the
// circuit breaker, and backs off further starts after repeated failures.
void ServiceScheduler::CountFailure(Service& s, const std::string& deployment_id,
                                    const std::string& why, int64_t now) {
  for (Deployment& dep : s.deployments) {
    if (dep.id == deployment_id) {
      ++dep.failed_tasks;
      dep.updated_ms = now;
    }
  }
  ++s.consecutive_failures;
  Event(s, "(service " + s.name + ") " + why);
  if (s.consecutive_failures >= 3) {
    int64_t delay =
        std::min<int64_t>(int64_t{1000} << std::min(s.consecutive_failures - 3, 8), 300'000);
    s.next_start_ms = now + delay;
    Event(s, "(service " + s.name + ") is unable to consistently start tasks successfully.");
  }
}

bool ServiceScheduler::ObserveTasks(Service& s, int64_t now) {
  bool changed = false;
  for (auto it = s.tasks.begin(); it != s.tasks.end();) {
    ServiceTask& t = *it;
    auto peeked = ecs_.PeekTask(t.task_id);
    if (!peeked.ok()) {
      ++it;  // a store error: look again next time
      continue;
    }
    const std::vector<ServiceLoadBalancer>& lbs = LoadBalancersOf(s, t);
    if (!*peeked || (*peeked)->IsStopped()) {
      if (t.registered && targets_ != nullptr && !t.draining) {
        for (size_t i = 0; i < lbs.size() && i < t.host_ports.size(); ++i) {
          (void)targets_->Deregister(lbs[i].target_group_arn, t.host_ports[i]);
        }
      }
      // A task that ended on its own before it was ever healthy failed to start.
      if (!t.became_healthy && !t.stopping) {
        CountFailure(s, t.deployment_id,
                     "task " + t.task_id + " stopped before it became healthy: " +
                         (*peeked ? (*peeked)->stopped_reason : std::string("the task is gone")),
                     now);
      }
      s.steady = false;
      it = s.tasks.erase(it);
      changed = true;
      continue;
    }
    const Task& task = **peeked;
    if (task.last_status == "RUNNING" && t.running_since_ms == 0) {
      t.running_since_ms = now;
      t.host_ports.clear();
      for (const ServiceLoadBalancer& lb : lbs) {
        int port = 0;
        for (const ContainerState& c : task.containers) {
          if (c.name != lb.container_name) {
            continue;
          }
          for (const NetworkBinding& b : c.network_bindings) {
            if (b.container_port == lb.container_port) {
              port = b.host_port;
            }
          }
        }
        t.host_ports.push_back(port);
      }
      changed = true;
    }
    if (task.last_status == "RUNNING" && !t.registered && !t.stopping && !lbs.empty() &&
        targets_ != nullptr) {
      for (size_t i = 0; i < lbs.size(); ++i) {
        if (t.host_ports[i] == 0) {
          continue;
        }
        if (Status st = targets_->Register(lbs[i].target_group_arn, t.host_ports[i]); st.ok()) {
          Event(s, "(service " + s.name + ") registered 1 targets in (target-group " +
                       lbs[i].target_group_arn + ")");
        } else {
          spdlog::warn("service {}: cannot register task {}: {}", s.name, t.task_id,
                       st.error().message);
        }
      }
      t.registered = true;
      changed = true;
    }
    bool healthy = IsHealthy(s, t, task);
    if (healthy && !t.became_healthy) {
      t.became_healthy = true;
      s.consecutive_failures = 0;
      s.next_start_ms = 0;
      changed = true;
    }
    bool past_grace = t.running_since_ms != 0 &&
                      now - t.running_since_ms >= int64_t{s.health_check_grace_period_seconds} * 1000;
    if (!t.stopping && past_grace) {
      std::string failed_group;
      if (t.registered && targets_ != nullptr) {
        for (size_t i = 0; i < lbs.size() && i < t.host_ports.size(); ++i) {
          if (targets_->State(lbs[i].target_group_arn, t.host_ports[i]) == "unhealthy") {
            failed_group = lbs[i].target_group_arn;
          }
        }
      }
      if (!failed_group.empty()) {
        Event(s, "(service " + s.name + ") (task " + t.task_id +
                     ") failed ELB health checks in (target-group " + failed_group + ")");
        if (!t.became_healthy) {
          CountFailure(s, t.deployment_id, "task " + t.task_id + " never passed health checks",
                       now);
        }
        BeginStop(s, t, "Task failed ELB health checks in (target-group " + failed_group + ")");
        changed = true;
      } else if (task.health_status == "UNHEALTHY") {
        Event(s, "(service " + s.name + ") (task " + t.task_id +
                     ") failed container health checks.");
        if (!t.became_healthy) {
          CountFailure(s, t.deployment_id, "task " + t.task_id + " never passed health checks",
                       now);
        }
        BeginStop(s, t, "Task failed container health checks");
        changed = true;
      }
    }
    ++it;
  }
  return changed;
}

bool ServiceScheduler::StartTasks(Service& s, int64_t now) {
  if (s.status != "ACTIVE" || s.deployments.empty()) {
    return false;
  }
  Deployment& primary = s.deployments[0];
  if (primary.rollout_state == "FAILED" || now < s.next_start_ms) {
    return false;
  }
  int desired = primary.desired_count;
  // maximumPercent caps every task that still runs, including those draining or stopping.
  int live = static_cast<int>(s.tasks.size());
  int primary_live = 0;
  for (const ServiceTask& t : s.tasks) {
    primary_live += !t.stopping && t.deployment_id == primary.id;
  }
  int max_total = desired * s.deployment_configuration.maximum_percent / 100;
  int n = std::min(desired - primary_live, max_total - live);
  if (n <= 0) {
    return false;
  }
  RunTaskRequest req;
  req.cluster = s.cluster_arn;
  req.task_definition = primary.task_definition_arn;
  req.count = std::min(n, 10);
  req.started_by = primary.id;
  req.group = "service:" + s.name;
  req.launch_type = s.launch_type;
  if (s.propagate_tags == "SERVICE") {
    req.tags = s.tags;
  }
  auto started = ecs_.RunTask(req);
  if (!started.ok()) {
    Event(s, "(service " + s.name + ") was unable to place a task. Reason: " +
                 started.error().message);
    s.next_start_ms = now + 5000;
    return true;
  }
  std::string ids;
  for (const Task& t : started->tasks) {
    ServiceTask st;
    st.task_id = t.id;
    st.deployment_id = primary.id;
    s.tasks.push_back(st);
    ids += " (task " + t.id + ")";
  }
  s.steady = false;
  Event(s, "(service " + s.name + ") has started " + std::to_string(started->tasks.size()) +
               " tasks:" + ids + ".");
  return true;
}

bool ServiceScheduler::StopSurplus(Service& s) {
  if (s.deployments.empty()) {
    return false;
  }
  const Deployment& primary = s.deployments[0];
  bool draining_service = s.status != "ACTIVE";
  int desired = draining_service ? 0 : primary.desired_count;
  int min_healthy = static_cast<int>(
      std::ceil(desired * s.deployment_configuration.minimum_healthy_percent / 100.0));
  struct Candidate {
    ServiceTask* task;
    bool healthy;
    bool primary;
  };
  std::vector<Candidate> live;
  int healthy_live = 0;
  int primary_live = 0;
  for (ServiceTask& t : s.tasks) {
    if (t.stopping) {
      continue;
    }
    auto task = ecs_.PeekTask(t.task_id);
    bool healthy = task.ok() && *task && IsHealthy(s, t, **task);
    live.push_back({&t, healthy, t.deployment_id == primary.id});
    healthy_live += healthy;
    primary_live += t.deployment_id == primary.id;
  }
  // Stop order: tasks of old deployments before the primary's surplus, unhealthy before
  // healthy (stopping those costs no capacity).
  std::vector<Candidate> victims;
  for (const Candidate& c : live) {
    if (!c.primary || draining_service) {
      victims.push_back(c);
    }
  }
  int surplus = draining_service ? 0 : primary_live - desired;
  for (auto it = live.rbegin(); it != live.rend() && surplus > 0; ++it) {
    if (it->primary) {
      victims.push_back(*it);
      --surplus;
    }
  }
  std::stable_sort(victims.begin(), victims.end(),
                   [](const Candidate& a, const Candidate& b) { return !a.healthy && b.healthy; });
  bool changed = false;
  for (const Candidate& c : victims) {
    if (c.healthy && !draining_service) {
      if (healthy_live - 1 < min_healthy) {
        continue;
      }
      --healthy_live;
    }
    std::string reason = draining_service
                             ? "Service " + s.name + " is being deleted"
                             : "Scaling activity initiated by (deployment " + primary.id + ")";
    BeginStop(s, *c.task, reason);
    changed = true;
  }
  return changed;
}

bool ServiceScheduler::FinishDrains(Service& s) {
  bool changed = false;
  for (ServiceTask& t : s.tasks) {
    if (!t.draining) {
      continue;
    }
    const std::vector<ServiceLoadBalancer>& lbs = LoadBalancersOf(s, t);
    bool drained = true;
    for (size_t i = 0; i < lbs.size() && i < t.host_ports.size(); ++i) {
      std::string state = targets_ != nullptr ? targets_->State(lbs[i].target_group_arn, t.host_ports[i]) : "";
      drained = drained && state != "draining";
    }
    if (!drained) {
      continue;
    }
    t.draining = false;
    t.registered = false;
    (void)ecs_.StopTask(s.cluster_arn, t.task_id,
                        "Scaling activity initiated by (deployment " + t.deployment_id + ")");
    Event(s, "(service " + s.name + ") has stopped 1 running tasks: (task " + t.task_id + ").");
    changed = true;
  }
  return changed;
}

bool ServiceScheduler::UpdateRollout(Service& s) {
  if (s.deployments.empty()) {
    return false;
  }
  bool changed = false;
  int64_t now = clock_.NowMillis();
  // Old deployments with no task left are over.
  for (auto it = s.deployments.begin() + 1; it != s.deployments.end();) {
    bool has_tasks = std::any_of(s.tasks.begin(), s.tasks.end(), [&](const ServiceTask& t) {
      return t.deployment_id == it->id;
    });
    if (!has_tasks) {
      it = s.deployments.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  Deployment& primary = s.deployments[0];
  const DeploymentConfiguration& cfg = s.deployment_configuration;
  if (primary.rollout_state == "IN_PROGRESS" && cfg.circuit_breaker_enable &&
      primary.failed_tasks >= FailureThreshold(primary.desired_count)) {
    primary.rollout_state = "FAILED";
    primary.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.";
    primary.updated_ms = now;
    Event(s, "(service " + s.name + ") (deployment " + primary.id +
                 ") deployment failed: tasks failed to start.");
    changed = true;
    std::string previous = s.last_completed_task_definition_arn;
    if (cfg.circuit_breaker_rollback && !previous.empty() &&
        previous != primary.task_definition_arn) {
      primary.status = "ACTIVE";
      s.task_definition_arn = previous;
      // The previous deployment, when its tasks still run (minimumHealthyPercent kept them),
      // becomes PRIMARY again: no healthy task is replaced. Otherwise a new deployment of the
      // previous task definition starts.
      auto kept = std::find_if(s.deployments.begin() + 1, s.deployments.end(),
                               [&](const Deployment& d) { return d.task_definition_arn == previous; });
      Deployment rollback;
      if (kept != s.deployments.end()) {
        rollback = *kept;
        s.deployments.erase(kept);
        rollback.status = "PRIMARY";
        rollback.desired_count = s.desired_count;
        rollback.updated_ms = now;
      } else {
        rollback = NewDeployment(s, previous);
      }
      s.deployments.insert(s.deployments.begin(), rollback);
      s.consecutive_failures = 0;
      s.next_start_ms = 0;
      s.steady = false;
      Event(s, "(service " + s.name + ") rolling back to deployment " + rollback.id + ".");
    }
    return true;
  }
  Deployment& current = s.deployments[0];
  int primary_healthy = 0;
  bool others = false;
  for (const ServiceTask& t : s.tasks) {
    if (t.deployment_id != current.id) {
      others = true;
      continue;
    }
    auto task = ecs_.PeekTask(t.task_id);
    primary_healthy += task.ok() && *task && IsHealthy(s, t, **task);
  }
  int primary_live = static_cast<int>(std::count_if(s.tasks.begin(), s.tasks.end(), [&](const ServiceTask& t) {
    return t.deployment_id == current.id && !t.stopping;
  }));
  bool settled = !others && primary_healthy == current.desired_count &&
                 primary_live == current.desired_count && s.deployments.size() == 1;
  if (current.rollout_state == "IN_PROGRESS" && settled && s.status == "ACTIVE") {
    current.rollout_state = "COMPLETED";
    current.rollout_state_reason = "ECS deployment " + current.id + " completed.";
    current.updated_ms = now;
    s.last_completed_task_definition_arn = current.task_definition_arn;
    Event(s, "(service " + s.name + ") (deployment " + current.id + ") deployment completed.");
    changed = true;
  }
  if (settled && !s.steady && s.status == "ACTIVE" && current.rollout_state != "IN_PROGRESS") {
    s.steady = true;
    Event(s, "(service " + s.name + ") has reached a steady state.");
    changed = true;
  }
  return changed;
}

void ServiceScheduler::Reconcile() {
  int64_t now = clock_.NowMillis();
  for (auto& [arn, s] : services_) {
    if (s.status == "INACTIVE") {
      continue;
    }
    bool changed = ObserveTasks(s, now);
    changed |= StopSurplus(s);
    changed |= FinishDrains(s);
    changed |= StartTasks(s, now);
    changed |= UpdateRollout(s);
    if (s.status == "DRAINING" && s.tasks.empty()) {
      s.status = "INACTIVE";
      changed = true;
    }
    if (changed) {
      if (Status st = Save(s); !st.ok()) {
        spdlog::error("service {}: cannot save: {}", s.name, st.error().message);
      }
    }
  }
}

}  // namespace berth::ecs
