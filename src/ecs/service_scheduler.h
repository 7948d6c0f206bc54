#pragma once
// ServiceScheduler: ECS services. The API half (CreateService, UpdateService, DescribeServices,
// ListServices, DeleteService) edits the service documents; Reconcile(), called a few times a
// second on the control loop, drives every service toward its PRIMARY deployment:
//   - keeps desiredCount tasks, replacing tasks that stop (with back-off after repeated failures);
//   - rolls within minimumHealthyPercent / maximumPercent: starts new tasks, registers them in
//     their target groups, waits until healthy (after healthCheckGracePeriodSeconds), then
//     deregisters old tasks, waits for the drain, and stops them;
//   - trips the circuit breaker (ECS's threshold rule) and rolls back when asked;
//   - records ECS's event messages, also into the log group /berth/ecs/services/CLUSTER/NAME.
// Tasks are started and stopped through EcsService, so they are ordinary tasks with
// startedBy = the deployment id and group = service:NAME.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "ecs/ecs_service.h"
#include "ecs/service_ports.h"
#include "ecs/service_types.h"

namespace berth::ecs {

struct CreateServiceRequest {
  std::string cluster;
  std::string service_name;
  std::string task_definition;
  int desired_count = 0;
  std::string launch_type;
  std::vector<ServiceLoadBalancer> load_balancers;
  std::optional<DeploymentConfiguration> deployment_configuration;
  int health_check_grace_period_seconds = 0;
  bool enable_execute_command = false;
  std::string propagate_tags;
  bool enable_ecs_managed_tags = false;
  std::string scheduling_strategy;
  std::string network_configuration;
  std::vector<Tag> tags;
};

struct UpdateServiceRequest {
  std::string cluster;
  std::string service;
  std::optional<std::string> task_definition;
  std::optional<int> desired_count;
  bool force_new_deployment = false;
  std::optional<DeploymentConfiguration> deployment_configuration;
  std::optional<std::vector<ServiceLoadBalancer>> load_balancers;
  std::optional<int> health_check_grace_period_seconds;
  std::optional<bool> enable_execute_command;
};

struct DescribedService {
  Service service;
  ServiceCounts counts;
  std::map<std::string, ServiceCounts> deployment_counts;  // by deployment id
};

class ServiceScheduler {
 public:
  ServiceScheduler(EcsService& ecs, store::Db& db, core::Clock& clock, core::IdSource& ids,
                   TargetRegistry* targets, ServiceEventSink* events);
  Status Open();

  Result<DescribedService> CreateService(const CreateServiceRequest& request);
  Result<DescribedService> UpdateService(const UpdateServiceRequest& request);
  Result<DescribedService> DeleteService(const std::string& cluster, const std::string& service,
                                         bool force);
  // Unknown names come back as failures with reason MISSING.
  Result<std::pair<std::vector<DescribedService>, std::vector<Failure>>> DescribeServices(
      const std::string& cluster, const std::vector<std::string>& services);
  Result<Page<std::string>> ListServices(const std::string& cluster, const std::string& launch_type,
                                         const std::string& next_token, int max_results);
  int ActiveServices(const std::string& cluster_arn) const;

  // One pass over every service. Call a few times a second.
  void Reconcile();

 private:
  Result<Service*> Find(const std::string& cluster, const std::string& service);
  DescribedService Describe(const Service& s);
  Status Validate(const std::string& task_definition_arn,
                  const std::vector<ServiceLoadBalancer>& load_balancers);
  Deployment NewDeployment(const Service& s, const std::string& task_definition_arn);
  void Event(Service& s, const std::string& message);
  Status Save(const Service& s);
  // Reconcile steps; each returns true when it changed the service.
  bool ObserveTasks(Service& s, int64_t now);
  bool StartTasks(Service& s, int64_t now);
  bool StopSurplus(Service& s);
  bool FinishDrains(Service& s);
  bool UpdateRollout(Service& s);
  void BeginStop(Service& s, ServiceTask& t, const std::string& reason);
  void CountFailure(Service& s, const std::string& deployment_id, const std::string& why,
                    int64_t now);
  bool IsHealthy(const Service& s, const ServiceTask& t, const Task& task) const;
  static const std::vector<ServiceLoadBalancer>& LoadBalancersOf(const Service& s,
                                                                 const ServiceTask& t);
  std::string ClusterName(const std::string& cluster_arn) const;

  EcsService& ecs_;
  store::Db& db_;
  core::Clock& clock_;
  core::IdSource& ids_;
  TargetRegistry* targets_;
  ServiceEventSink* events_;
  std::map<std::string, Service> services_;  // by ARN
};

}  // namespace berth::ecs
