// ECS services on the wire (awsJson1.1): CreateService, UpdateService, DescribeServices,
// ListServices, ListServicesByNamespace, DeleteService.
#include "api/handlers/ecs_service_handlers.h"

#include "ecs/ecs_errors.h"
#include "ecs/ecs_json.h"
#include "ecs/service_scheduler.h"

namespace berth::api {

using nlohmann::json;

namespace {

Result<std::vector<ecs::ServiceLoadBalancer>> LoadBalancersFrom(const json& in) {
  std::vector<ecs::ServiceLoadBalancer> out;
  for (const json& lb : in.value("loadBalancers", json::array())) {
    ecs::ServiceLoadBalancer l;
    l.target_group_arn = lb.value("targetGroupArn", "");
    l.container_name = lb.value("containerName", "");
    l.container_port = lb.value("containerPort", 0);
    if (l.target_group_arn.empty()) {
      return ecs::errors::InvalidParameter(
          "berth supports load balancers by targetGroupArn (Application Load Balancers) only.");
    }
    if (l.container_name.empty() || l.container_port == 0) {
      return ecs::errors::InvalidParameter(
          "containerName and containerPort are required for a load balancer.");
    }
    out.push_back(std::move(l));
  }
  if (out.size() > 5) {
    return ecs::errors::InvalidParameter("A service can have at most 5 load balancers.");
  }
  return out;
}

ecs::DeploymentConfiguration ConfigFrom(const json& c, ecs::DeploymentConfiguration base) {
  base.maximum_percent = c.value("maximumPercent", base.maximum_percent);
  base.minimum_healthy_percent = c.value("minimumHealthyPercent", base.minimum_healthy_percent);
  if (c.contains("deploymentCircuitBreaker")) {
    const json& cb = c["deploymentCircuitBreaker"];
    base.circuit_breaker_enable = cb.value("enable", false);
    base.circuit_breaker_rollback = cb.value("rollback", false);
  }
  return base;
}

json LoadBalancersJson(const std::vector<ecs::ServiceLoadBalancer>& lbs) {
  json out = json::array();
  for (const ecs::ServiceLoadBalancer& l : lbs) {
    out.push_back({{"targetGroupArn", l.target_group_arn},
                   {"containerName", l.container_name},
                   {"containerPort", l.container_port}});
  }
  return out;
}

json ServiceJson(const ecs::DescribedService& d, bool with_tags) {
  const ecs::Service& s = d.service;
  const ecs::DeploymentConfiguration& c = s.deployment_configuration;
  json deployments = json::array();
  for (const ecs::Deployment& dep : s.deployments) {
    auto counts = d.deployment_counts.find(dep.id);
    ecs::ServiceCounts n = counts == d.deployment_counts.end() ? ecs::ServiceCounts{} : counts->second;
    json j = {{"id", dep.id},
              {"status", dep.status},
              {"taskDefinition", dep.task_definition_arn},
              {"desiredCount", dep.desired_count},
              {"pendingCount", n.pending},
              {"runningCount", n.running},
              {"failedTasks", dep.failed_tasks},
              {"createdAt", ecs::EpochSeconds(dep.created_ms)},
              {"updatedAt", ecs::EpochSeconds(dep.updated_ms)},
              {"launchType", s.launch_type},
              {"platformVersion", "1.4.0"},
              {"platformFamily", "Linux"},
              {"rolloutState", dep.rollout_state},
              {"rolloutStateReason", dep.rollout_state_reason}};
    if (!s.network_configuration.empty()) {
      j["networkConfiguration"] = json::parse(s.network_configuration, nullptr, false);
    }
    deployments.push_back(std::move(j));
  }
  json events = json::array();
  for (const ecs::ServiceEvent& e : s.events) {
    events.push_back({{"id", e.id}, {"createdAt", ecs::EpochSeconds(e.created_ms)},
                      {"message", e.message}});
  }
  json out = {{"serviceArn", s.arn},
              {"serviceName", s.name},
              {"clusterArn", s.cluster_arn},
              {"loadBalancers", LoadBalancersJson(s.load_balancers)},
              {"serviceRegistries", json::array()},
              {"status", s.status},
              {"desiredCount", s.desired_count},
              {"runningCount", d.counts.running},
              {"pendingCount", d.counts.pending},
              {"launchType", s.launch_type},
              {"platformVersion", "LATEST"},
              {"platformFamily", "Linux"},
              {"taskDefinition", s.task_definition_arn},
              {"deploymentConfiguration",
               {{"deploymentCircuitBreaker",
                 {{"enable", c.circuit_breaker_enable}, {"rollback", c.circuit_breaker_rollback}}},
                {"maximumPercent", c.maximum_percent},
                {"minimumHealthyPercent", c.minimum_healthy_percent}}},
              {"deployments", deployments},
              {"events", events},
              {"createdAt", ecs::EpochSeconds(s.created_ms)},
              {"placementConstraints", json::array()},
              {"placementStrategy", json::array()},
              {"healthCheckGracePeriodSeconds", s.health_check_grace_period_seconds},
              {"schedulingStrategy", s.scheduling_strategy},
              {"deploymentController", {{"type", "ECS"}}},
              {"createdBy", s.created_by},
              {"enableECSManagedTags", s.enable_ecs_managed_tags},
              {"propagateTags", s.propagate_tags},
              {"enableExecuteCommand", s.enable_execute_command}};
  if (!s.network_configuration.empty()) {
    out["networkConfiguration"] = json::parse(s.network_configuration, nullptr, false);
  }
  if (with_tags) {
    out["tags"] = ecs::TagsToJson(s.tags);
  }
  return out;
}

bool IncludesTags(const json& in) {
  for (const json& v : in.value("include", json::array())) {
    if (v == "TAGS") {
      return true;
    }
  }
  return false;
}

}  // namespace

void AddEcsServiceOperations(JsonService& svc, ecs::ServiceScheduler& scheduler) {
  auto& ops = svc.operations;
  ops["CreateService"] = [&scheduler](const ApiContext&, const json& in) -> Result<JsonReply> {
    ecs::CreateServiceRequest req;
    req.cluster = in.value("cluster", "");
    req.service_name = in.value("serviceName", "");
    req.task_definition = in.value("taskDefinition", "");
    req.desired_count = in.value("desiredCount", 0);
    req.launch_type = in.value("launchType", "");
    BERTH_TRY(req.load_balancers, LoadBalancersFrom(in));
    if (in.contains("deploymentConfiguration")) {
      req.deployment_configuration = ConfigFrom(in["deploymentConfiguration"], {});
    }
    req.health_check_grace_period_seconds = in.value("healthCheckGracePeriodSeconds", 0);
    req.enable_execute_command = in.value("enableExecuteCommand", false);
    req.propagate_tags = in.value("propagateTags", "");
    req.enable_ecs_managed_tags = in.value("enableECSManagedTags", false);
    req.scheduling_strategy = in.value("schedulingStrategy", "");
    if (in.contains("networkConfiguration")) {
      req.network_configuration = in["networkConfiguration"].dump();
    }
    BERTH_TRY(req.tags, ecs::TagsFromJson(in.value("tags", json::array())));
    BERTH_TRY(auto d, scheduler.CreateService(req));
    return json{{"service", ServiceJson(d, false)}};
  };
  ops["UpdateService"] = [&scheduler](const ApiContext&, const json& in) -> Result<JsonReply> {
    ecs::UpdateServiceRequest req;
    req.cluster = in.value("cluster", "");
    req.service = in.value("service", "");
    if (in.contains("taskDefinition")) req.task_definition = in["taskDefinition"].get<std::string>();
    if (in.contains("desiredCount")) req.desired_count = in["desiredCount"].get<int>();
    req.force_new_deployment = in.value("forceNewDeployment", false);
    if (in.contains("loadBalancers")) {
      BERTH_TRY(auto lbs, LoadBalancersFrom(in));
      req.load_balancers = std::move(lbs);
    }
    if (in.contains("healthCheckGracePeriodSeconds")) {
      req.health_check_grace_period_seconds = in["healthCheckGracePeriodSeconds"].get<int>();
    }
    if (in.contains("enableExecuteCommand")) {
      req.enable_execute_command = in["enableExecuteCommand"].get<bool>();
    }
    if (in.contains("deploymentConfiguration")) {
      // Fields left out keep their current values.
      BERTH_TRY(auto current, scheduler.DescribeServices(req.cluster, {req.service}));
      if (current.first.empty()) {
        return MakeError(ErrorKind::NotFound, "ServiceNotFoundException", "Service not found.");
      }
      req.deployment_configuration = ConfigFrom(
          in["deploymentConfiguration"], current.first[0].service.deployment_configuration);
    }
    BERTH_TRY(auto d, scheduler.UpdateService(req));
    return json{{"service", ServiceJson(d, false)}};
  };
  ops["DeleteService"] = [&scheduler](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto d, scheduler.DeleteService(in.value("cluster", ""), in.value("service", ""),
                                              in.value("force", false)));
    return json{{"service", ServiceJson(d, false)}};
  };
  ops["DescribeServices"] = [&scheduler](const ApiContext&, const json& in) -> Result<JsonReply> {
    std::vector<std::string> names = in.value("services", std::vector<std::string>{});
    BERTH_TRY(auto found, scheduler.DescribeServices(in.value("cluster", ""), names));
    json services = json::array();
    for (const auto& d : found.first) {
      services.push_back(ServiceJson(d, IncludesTags(in)));
    }
    json failures = json::array();
    for (const ecs::Failure& f : found.second) {
      failures.push_back({{"arn", f.arn}, {"reason", f.reason}});
    }
    return json{{"services", services}, {"failures", failures}};
  };
  ops["ListServices"] = [&scheduler](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto page, scheduler.ListServices(in.value("cluster", ""), in.value("launchType", ""),
                                                in.value("nextToken", ""),
                                                in.value("maxResults", 10)));
    json out = {{"serviceArns", page.items}};
    if (!page.next_token.empty()) {
      out["nextToken"] = page.next_token;
    }
    return out;
  };
  // berth has no Cloud Map namespaces: no service belongs to one.
  ops["ListServicesByNamespace"] = [](const ApiContext&, const json& in) -> Result<JsonReply> {
    if (in.value("namespace", "").empty()) {
      return ecs::errors::InvalidParameter("namespace can not be blank.");
    }
    return MakeError(ErrorKind::NotFound, "NamespaceNotFoundException",
                     "The specified namespace wasn't found.");
  };
}

}  // namespace berth::api
