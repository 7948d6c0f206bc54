#pragma once
// EcsStore: the only code that touches the ecs_* tables.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ecs/ecs_types.h"
#include "ecs/service_types.h"
#include "store/db.h"

namespace berth::ecs {

// Filters for ListTasks; empty strings mean "any".
struct TaskFilter {
  std::string cluster_arn;
  std::string family;
  std::string started_by;
  std::string desired_status;
  std::string group;
};

class EcsStore {
 public:
  explicit EcsStore(store::Db& db) : db_(db) {}
  // Creates or upgrades the ecs tables.
  Status Migrate();

  Status PutCluster(const Cluster& cluster);
  Result<std::optional<Cluster>> GetCluster(const std::string& name);
  // Every cluster, ACTIVE or INACTIVE.
  Result<std::vector<Cluster>> AllClusters();

  // Inserts a new revision; fails if (family, revision) exists.
  Status InsertTaskDefinition(const TaskDefinition& td);
  Status UpdateTaskDefinition(const TaskDefinition& td);
  Result<std::optional<TaskDefinition>> GetTaskDefinition(const std::string& family, int revision);
  // The highest revision of a family (any status), 0 if none.
  Result<int> LatestRevision(const std::string& family, bool active_only);
  // ARNs ordered by family then revision (descending when `descending`), keyed for paging by
  // (family, revision) strictly after/before the cursor.
  Result<std::vector<TaskDefinition>> ListTaskDefinitions(const std::string& family_prefix,
                                                          const std::string& status,
                                                          bool descending, int64_t offset,
                                                          int limit);
  Result<std::vector<std::string>> ListFamilies(const std::string& family_prefix,
                                                const std::string& status, int64_t offset,
                                                int limit);

  Status PutTask(const Task& task);
  Result<std::optional<Task>> GetTask(const std::string& id);
  Result<std::vector<Task>> ListTasks(const TaskFilter& filter, int64_t offset, int limit);
  // Tasks whose lastStatus is not STOPPED (for recovery).
  Result<std::vector<Task>> ActiveTasks();

  // Services: one document each (deployments, tracked tasks and events included).
  Status PutService(const Service& service);
  Result<std::vector<Service>> AllServices();

 private:
  store::Db& db_;
};

}  // namespace berth::ecs
