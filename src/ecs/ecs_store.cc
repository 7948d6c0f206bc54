#include "ecs/ecs_store.h"

#include "ecs/ecs_json.h"

namespace berth::ecs {

using nlohmann::json;

// The stored form of a service (every field by its C++ name; missing fields keep defaults).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Tag, key, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServiceLoadBalancer, target_group_arn,
                                                container_name, container_port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DeploymentConfiguration, maximum_percent,
                                                minimum_healthy_percent, circuit_breaker_enable,
                                                circuit_breaker_rollback)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Deployment, id, status, task_definition_arn,
                                                desired_count, failed_tasks, rollout_state,
                                                rollout_state_reason, created_ms, updated_ms,
                                                load_balancers)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServiceTask, task_id, deployment_id, registered,
                                                became_healthy, stopping, draining,
                                                running_since_ms, host_ports)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServiceEvent, id, created_ms, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Service, arn, name, cluster_arn, status,
                                                desired_count, launch_type, task_definition_arn,
                                                load_balancers, deployment_configuration,
                                                health_check_grace_period_seconds,
                                                enable_execute_command, propagate_tags,
                                                enable_ecs_managed_tags, scheduling_strategy,
                                                network_configuration, tags, created_ms,
                                                created_by, deployments, tasks, events,
                                                consecutive_failures, next_start_ms,
                                                last_completed_task_definition_arn, steady)

namespace {

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "ecs: clusters, task definitions, tasks", R"sql(
CREATE TABLE IF NOT EXISTS ecs_clusters (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ecs_task_definitions (
  family TEXT NOT NULL,
  revision INTEGER NOT NULL,
  status TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  deregistered_ms INTEGER,
  document TEXT NOT NULL,
  tags TEXT NOT NULL,
  PRIMARY KEY (family, revision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ecs_tasks (
  id TEXT PRIMARY KEY,
  cluster_arn TEXT NOT NULL,
  family TEXT NOT NULL,
  started_by TEXT NOT NULL,
  grp TEXT NOT NULL,
  desired_status TEXT NOT NULL,
  last_status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ecs_tasks_by_cluster ON ecs_tasks (cluster_arn, created_ms);
CREATE INDEX IF NOT EXISTS ecs_tasks_active ON ecs_tasks (last_status) WHERE last_status != 'STOPPED';
)sql"},
      {2, "ecs: services", R"sql(
CREATE TABLE IF NOT EXISTS ecs_services (
  arn TEXT PRIMARY KEY,
  cluster_arn TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  doc TEXT NOT NULL
);
)sql"},
  };
  return kMigrations;
}

Result<json> ParseStored(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return InternalError("corrupt JSON document in the ecs store");
  }
  return doc;
}

Result<TaskDefinition> ReadTaskDefinition(store::Stmt& s, const std::string& region_account) {
  TaskDefinition td;
  td.family = s.ColumnText(0);
  td.revision = static_cast<int>(s.ColumnInt(1));
  td.status = s.ColumnText(2);
  td.registered_ms = s.ColumnInt(3);
  if (!s.ColumnIsNull(4)) {
    td.deregistered_ms = s.ColumnInt(4);
  }
  BERTH_TRY(td.document, ParseStored(s.ColumnText(5)));
  BERTH_TRY(json tags, ParseStored(s.ColumnText(6)));
  auto parsed = TagsFromJson(tags);
  if (parsed.ok()) {
    td.tags = std::move(parsed).value();
  }
  td.arn = td.document.value("berthArn", std::string());
  td.document.erase("berthArn");
  return td;
}

// Reads every row of a statement whose first column is a task document.
Result<std::vector<Task>> ReadTasks(store::Stmt& s) {
  std::vector<Task> out;
  for (;;) {
    BERTH_TRY(bool row, s.Step());
    if (!row) {
      break;
    }
    BERTH_TRY(json doc, ParseStored(s.ColumnText(0)));
    BERTH_TRY(Task t, TaskFromJson(doc));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

Status EcsStore::Migrate() { return store::ApplyMigrations(db_, "ecs", Migrations()); }

Status EcsStore::PutCluster(const Cluster& c) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("INSERT INTO ecs_clusters(name, doc, created_ms) VALUES(?1, ?2, ?3) "
                        "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc"));
  return s.Bind(1, c.name).Bind(2, ToJson(c).dump()).Bind(3, c.created_ms).Run();
}

Result<std::optional<Cluster>> EcsStore::GetCluster(const std::string& name) {
  BERTH_TRY(store::Stmt s, db_.Prepare("SELECT doc, created_ms FROM ecs_clusters WHERE name = ?1"));
  s.Bind(1, name);
  BERTH_TRY(bool row, s.Step());
  if (!row) {
    return std::optional<Cluster>();
  }
  BERTH_TRY(json doc, ParseStored(s.ColumnText(0)));
  BERTH_TRY(Cluster c, ClusterFromJson(doc));
  c.created_ms = s.ColumnInt(1);
  return std::optional<Cluster>(std::move(c));
}

Result<std::vector<Cluster>> EcsStore::AllClusters() {
  BERTH_TRY(store::Stmt s, db_.Prepare("SELECT doc, created_ms FROM ecs_clusters ORDER BY name"));
  std::vector<Cluster> out;
  for (;;) {
    BERTH_TRY(bool row, s.Step());
    if (!row) {
      break;
    }
    BERTH_TRY(json doc, ParseStored(s.ColumnText(0)));
    BERTH_TRY(Cluster c, ClusterFromJson(doc));
    c.created_ms = s.ColumnInt(1);
    out.push_back(std::move(c));
  }
  return out;
}

Status EcsStore::InsertTaskDefinition(const TaskDefinition& td) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("INSERT INTO ecs_task_definitions(family, revision, status, registered_ms,"
                        " deregistered_ms, document, tags) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  json doc = td.document;
  doc["berthArn"] = td.arn;
  s.Bind(1, td.family).Bind(2, static_cast<int64_t>(td.revision)).Bind(3, td.status);
  s.Bind(4, td.registered_ms).Bind(6, doc.dump()).Bind(7, TagsToJson(td.tags).dump());
  if (td.deregistered_ms) {
    s.Bind(5, *td.deregistered_ms);
  }
  return s.Run();
}

Status EcsStore::UpdateTaskDefinition(const TaskDefinition& td) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("UPDATE ecs_task_definitions SET status = ?3, deregistered_ms = ?4, "
                        "tags = ?5 WHERE family = ?1 AND revision = ?2"));
  s.Bind(1, td.family).Bind(2, static_cast<int64_t>(td.revision)).Bind(3, td.status);
  if (td.deregistered_ms) {
    s.Bind(4, *td.deregistered_ms);
  }
  s.Bind(5, TagsToJson(td.tags).dump());
  return s.Run();
}

static const char* kTdColumns =
    "SELECT family, revision, status, registered_ms, deregistered_ms, document, tags "
    "FROM ecs_task_definitions ";

Result<std::optional<TaskDefinition>> EcsStore::GetTaskDefinition(const std::string& family,
                                                                  int revision) {
  BERTH_TRY(store::Stmt s, db_.Prepare(std::string(kTdColumns) +
                                       "WHERE family = ?1 AND revision = ?2"));
  s.Bind(1, family).Bind(2, static_cast<int64_t>(revision));
  BERTH_TRY(bool row, s.Step());
  if (!row) {
    return std::optional<TaskDefinition>();
  }
  BERTH_TRY(TaskDefinition td, ReadTaskDefinition(s, ""));
  return std::optional<TaskDefinition>(std::move(td));
}

Result<int> EcsStore::LatestRevision(const std::string& family, bool active_only) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare(active_only ? "SELECT MAX(revision) FROM ecs_task_definitions WHERE "
                                      "family = ?1 AND status = 'ACTIVE'"
                                    : "SELECT MAX(revision) FROM ecs_task_definitions WHERE "
                                      "family = ?1"));
  s.Bind(1, family);
  BERTH_TRY(bool row, s.Step());
  return row && !s.ColumnIsNull(0) ? static_cast<int>(s.ColumnInt(0)) : 0;
}

Result<std::vector<TaskDefinition>> EcsStore::ListTaskDefinitions(const std::string& prefix,
                                                                  const std::string& status,
                                                                  bool descending, int64_t offset,
                                                                  int limit) {
  std::string sql = std::string(kTdColumns) +
                    "WHERE (?1 = '' OR family = ?1) AND (?2 = '' OR status = ?2) ORDER BY family " +
                    (descending ? "DESC, revision DESC" : "ASC, revision ASC") +
                    " LIMIT ?3 OFFSET ?4";
  BERTH_TRY(store::Stmt s, db_.Prepare(sql));
  s.Bind(1, prefix).Bind(2, status).Bind(3, static_cast<int64_t>(limit)).Bind(4, offset);
  std::vector<TaskDefinition> out;
  for (;;) {
    BERTH_TRY(bool row, s.Step());
    if (!row) {
      break;
    }
    BERTH_TRY(TaskDefinition td, ReadTaskDefinition(s, ""));
    out.push_back(std::move(td));
  }
  return out;
}

Result<std::vector<std::string>> EcsStore::ListFamilies(const std::string& prefix,
                                                        const std::string& status, int64_t offset,
                                                        int limit) {
  // A family is ACTIVE while it has an ACTIVE revision, INACTIVE when all are INACTIVE.
  BERTH_TRY(store::Stmt s,
            db_.Prepare("SELECT family, MAX(status = 'ACTIVE') AS active FROM ecs_task_definitions "
                        "WHERE substr(family, 1, length(?1)) = ?1 GROUP BY family "
                        "HAVING ?2 = 'ALL' OR (?2 = 'ACTIVE' AND active = 1) OR "
                        "(?2 = 'INACTIVE' AND active = 0) ORDER BY family LIMIT ?3 OFFSET ?4"));
  s.Bind(1, prefix).Bind(2, status).Bind(3, static_cast<int64_t>(limit)).Bind(4, offset);
  std::vector<std::string> out;
  for (;;) {
    BERTH_TRY(bool row, s.Step());
    if (!row) {
      break;
    }
    out.push_back(s.ColumnText(0));
  }
  return out;
}

Status EcsStore::PutTask(const Task& t) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("INSERT INTO ecs_tasks(id, cluster_arn, family, started_by, grp, "
                        "desired_status, last_status, created_ms, doc) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET "
                        "desired_status = excluded.desired_status, last_status = "
                        "excluded.last_status, doc = excluded.doc"));
  s.Bind(1, t.id).Bind(2, t.cluster_arn).Bind(3, t.family).Bind(4, t.started_by).Bind(5, t.group);
  s.Bind(6, t.desired_status).Bind(7, t.last_status).Bind(8, t.created_ms);
  s.Bind(9, ToJson(t, Audience::Store).dump());
  return s.Run();
}

Result<std::optional<Task>> EcsStore::GetTask(const std::string& id) {
  BERTH_TRY(store::Stmt s, db_.Prepare("SELECT doc FROM ecs_tasks WHERE id = ?1"));
  s.Bind(1, id);
  BERTH_TRY(bool row, s.Step());
  if (!row) {
    return std::optional<Task>();
  }
  BERTH_TRY(json doc, ParseStored(s.ColumnText(0)));
  BERTH_TRY(Task t, TaskFromJson(doc));
  return std::optional<Task>(std::move(t));
}

Result<std::vector<Task>> EcsStore::ListTasks(const TaskFilter& f, int64_t offset, int limit) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("SELECT doc FROM ecs_tasks WHERE (?1 = '' OR cluster_arn = ?1) AND "
                        "(?2 = '' OR family = ?2) AND (?3 = '' OR started_by = ?3) AND "
                        "(?4 = '' OR desired_status = ?4) AND (?5 = '' OR grp = ?5) "
                        "ORDER BY created_ms, id LIMIT ?6 OFFSET ?7"));
  s.Bind(1, f.cluster_arn).Bind(2, f.family).Bind(3, f.started_by).Bind(4, f.desired_status);
  s.Bind(5, f.group).Bind(6, static_cast<int64_t>(limit)).Bind(7, offset);
  return ReadTasks(s);
}

Result<std::vector<Task>> EcsStore::ActiveTasks() {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("SELECT doc FROM ecs_tasks WHERE last_status != 'STOPPED' ORDER BY created_ms"));
  return ReadTasks(s);
}

Status EcsStore::PutService(const Service& s) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO ecs_services (arn, cluster_arn, name, status, doc) "
                                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE SET "
                                   "status = excluded.status, doc = excluded.doc"));
  stmt.Bind(1, s.arn).Bind(2, s.cluster_arn).Bind(3, s.name).Bind(4, s.status)
      .Bind(5, json(s).dump());
  return stmt.Run();
}

Result<std::vector<Service>> EcsStore::AllServices() {
  BERTH_TRY(auto stmt, db_.Prepare("SELECT doc FROM ecs_services"));
  std::vector<Service> out;
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    BERTH_TRY(json doc, ParseStored(stmt.ColumnText(0)));
    try {
      out.push_back(doc.get<Service>());
    } catch (const json::exception& e) {
      return InternalError(std::string("unreadable service in the ecs store: ") + e.what());
    }
  }
  return out;
}

}  // namespace berth::ecs
