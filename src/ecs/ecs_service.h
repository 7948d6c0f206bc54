#pragma once
// EcsService: the ECS control plane (clusters, task definitions, tasks) and the agent's status
// sink. Typed requests in, Result out; no HTTP here. Runs on the control thread.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/task_status.h"
#include "core/clock.h"
#include "core/id.h"
#include "ecs/ecs_store.h"
#include "ecs/ecs_types.h"
#include "ecs/task_environment.h"

namespace berth::ecs {

struct EcsConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string tasks_dir;  // DATA_DIR/tasks: one directory per task
  // Environment every container starts with (PATH, HOME, AWS_REGION, ...).
  std::vector<std::pair<std::string, std::string>> base_environment;
};

struct RunTaskRequest {
  std::string cluster;  // name or ARN; empty: "default"
  std::string task_definition;
  int count = 1;
  std::string started_by;
  std::string group;
  std::string launch_type;
  TaskOverride overrides;
  std::vector<Tag> tags;
};

struct RunTaskResult {
  std::vector<Task> tasks;
  std::vector<Failure> failures;
};

struct ListTasksRequest {
  std::string cluster;
  std::string family;
  std::string started_by;
  std::string service_name;
  std::string desired_status;  // RUNNING (default) | PENDING | STOPPED
  std::string next_token;
  int max_results = 100;
};

class EcsService final : public agent::TaskStatusSink {
 public:
  EcsService(store::Db& db, core::Clock& clock, core::IdSource& ids, EcsConfig config);
  ~EcsService() override;

  // Creates the tables; must succeed before any other call.
  Status Open();
  // Hands the agent over and re-attaches to every task the store says is not STOPPED.
  void AttachAgent(agent::Agent& agent);

  Result<Cluster> CreateCluster(const std::string& name, const std::vector<Tag>& tags);
  // Unknown names come back as failures with reason MISSING, as ECS does.
  Result<std::pair<std::vector<Cluster>, std::vector<Failure>>> DescribeClusters(
      const std::vector<std::string>& names_or_arns);
  Result<Page<std::string>> ListClusters(const std::string& next_token, int max_results);
  Result<Cluster> DeleteCluster(const std::string& name_or_arn);

  Result<TaskDefinition> RegisterTaskDefinition(const nlohmann::json& request,
                                                const std::vector<Tag>& tags);
  Result<TaskDefinition> DescribeTaskDefinition(const std::string& ref);
  Result<TaskDefinition> DeregisterTaskDefinition(const std::string& ref);
  Result<Page<std::string>> ListTaskDefinitions(const std::string& family, const std::string& status,
                                                bool descending, const std::string& next_token,
                                                int max_results);
  Result<Page<std::string>> ListTaskDefinitionFamilies(const std::string& prefix,
                                                       const std::string& status,
                                                       const std::string& next_token,
                                                       int max_results);

  Result<RunTaskResult> RunTask(const RunTaskRequest& request);
  Result<Task> StopTask(const std::string& cluster, const std::string& task,
                        const std::string& reason);
  Result<std::pair<std::vector<Task>, std::vector<Failure>>> DescribeTasks(
      const std::string& cluster, const std::vector<std::string>& tasks);
  Result<Page<std::string>> ListTasks(const ListTasksRequest& request);

  Status TagResource(const std::string& arn, const std::vector<Tag>& tags);
  Status UntagResource(const std::string& arn, const std::vector<std::string>& keys);
  Result<std::vector<Tag>> ListTagsForResource(const std::string& arn);

  // agent::TaskStatusSink
  void OnContainerStarted(const std::string& task_id, const std::string& container,
                          const std::string& driver_state,
                          const std::vector<agent::PortBinding>& bindings) override;
  void OnContainerExited(const std::string& task_id, const std::string& container,
                         std::optional<int> exit_code, const std::string& reason) override;
  void OnContainerHealth(const std::string& task_id, const std::string& container,
                         agent::ContainerHealth health) override;
  void OnTaskRunning(const std::string& task_id) override;
  void OnTaskStopping(const std::string& task_id, agent::StopCode code,
                      const std::string& reason) override;
  void OnTaskStopped(const std::string& task_id) override;

  const EcsConfig& config() const { return config_; }

  // For the service scheduler (which lives beside this facade and drives tasks through it).
  Result<Cluster> GetCluster(const std::string& name_or_arn) { return RequireCluster(name_or_arn); }
  // A task by id, from memory or the store; nullopt when unknown.
  Result<std::optional<Task>> PeekTask(const std::string& id) { return LoadTask(id); }
  // Secrets and task-role credentials for containers at start (none when unset).
  void SetTaskEnvironmentProvider(TaskEnvironmentProvider* provider) { environment_ = provider; }
  // How many ACTIVE/DRAINING services a cluster has (DescribeClusters, DeleteCluster).
  void SetActiveServiceCounter(std::function<int(const std::string& cluster_arn)> counter) {
    active_services_ = std::move(counter);
  }
  // How side effects outside the store (starting and stopping containers) wait for the
  // current store batch to commit, so that no container runs for a task the store never
  // recorded. Default: run at once (no batching).
  using AfterCommit = std::function<void(std::function<void()>)>;
  void SetAfterCommit(AfterCommit after_commit) { after_commit_ = std::move(after_commit); }

  // The environment every container starts with; known only once the endpoint is bound.
  void SetBaseEnvironment(std::vector<std::pair<std::string, std::string>> env) {
    config_.base_environment = std::move(env);
  }

 private:
  std::string ClusterArn(const std::string& name) const;
  Result<Cluster> RequireCluster(const std::string& name_or_arn);
  Result<TaskDefinition> ResolveTaskDefinition(const std::string& ref);
  // Loads a task (by id or ARN) that belongs to `cluster_arn`.
  Result<std::optional<Task>> FindTask(const std::string& cluster_arn, const std::string& ref);
  // Applies `mutate` to a stored task and saves it (version+1); logs and drops store errors,
  // which only an I/O failure can cause on this path.
  template <typename F>
  void UpdateTask(const std::string& task_id, F mutate);
  void StartOnAgent(const Task& task, const TaskDefinition& td);
  void RecoverTasks();
  Result<std::optional<Cluster>> LoadCluster(const std::string& name);
  Status SaveCluster(const Cluster& cluster);
  Result<std::optional<Task>> LoadTask(const std::string& id);
  Status SaveTask(const Task& task);
  void EvictStoppedTasksIfFull();
  // Applies `edit` to the tags of the cluster, task definition or task named by `arn_text`,
  // checks ECS's 50-tag limit, and saves the result when `save`.
  Status EditResourceTags(const std::string& arn_text, bool save,
                          const std::function<void(std::vector<Tag>&)>& edit);
  Result<std::map<std::string, int>> CountActiveTasks(const std::string& cluster_arn);

  store::Db& db_;
  EcsStore store_;
  core::Clock& clock_;
  core::IdSource& ids_;
  EcsConfig config_;
  agent::Agent* agent_ = nullptr;
  AfterCommit after_commit_ = [](std::function<void()> f) { f(); };
  std::function<int(const std::string&)> active_services_;
  TaskEnvironmentProvider* environment_ = nullptr;
  // Every cluster, by name; every task that is not STOPPED plus recently read stopped ones.
  std::map<std::string, Cluster> clusters_;
  std::unordered_map<std::string, Task> tasks_;
};

}  // namespace berth::ecs
