#pragma once
// ElbService: the ELBv2 control plane (facade). Keeps load balancers, target groups, listeners
// and rules in memory with write-through to ElbStore; runs the health checks (through the
// HealthProber port) and the deregistration drains from Tick(); and publishes an immutable
// RoutingTable to the data plane (DataPlane port) after every change that affects routing.
// Single-threaded: every call comes from the control loop.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "elb/elb_store.h"
#include "elb/elb_types.h"
#include "elb/health_prober.h"
#include "elb/routing_table.h"
#include "elb/target_health.h"

namespace berth::elb {

struct ElbConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string bind_address = "127.0.0.1";  // where listener sockets bind (LB_BIND_ADDRESS)
  std::map<int, int> port_map;             // listener port -> bound port (e.g. 80 -> 8080)
  std::string access_log_dir;              // access_logs.s3.bucket/prefix live under it
  // Multiplies health check intervals and timeouts (tests and demos run at 0.1: the API keeps
  // AWS's limits, 5 s minimum interval, while checks happen every 0.5 s).
  double health_check_time_scale = 1.0;
};

// Resolves an ACM certificate ARN to PEM material for an HTTPS listener.
using CertificateResolver = std::function<Result<TlsMaterial>(const std::string& arn)>;

struct HealthCheckPatch {
  std::optional<bool> enabled;
  std::optional<std::string> protocol, port, path, matcher;
  std::optional<int> interval_seconds, timeout_seconds, healthy_threshold, unhealthy_threshold;
};

struct ListenerPatch {
  std::string arn;
  std::optional<int> port;
  std::optional<std::string> protocol, ssl_policy;
  std::optional<std::vector<Certificate>> certificates;
  std::optional<std::vector<RuleAction>> default_actions;
};

class ElbService {
 public:
  ElbService(store::Db& db, core::Clock& clock, core::IdSource& ids, ElbConfig config,
             DataPlane& data_plane, HealthProber& prober);
  ~ElbService();
  // Loads the store, reopens every listener's socket and publishes the routes.
  Status Open();
  void SetCertificateResolver(CertificateResolver resolver) { certificates_ = std::move(resolver); }

  // Load balancers
  Result<LoadBalancer> CreateLoadBalancer(LoadBalancer draft, const std::vector<std::string>& subnets);
  Result<std::vector<LoadBalancer>> DescribeLoadBalancers(const std::vector<std::string>& arns,
                                                          const std::vector<std::string>& names) const;
  Status DeleteLoadBalancer(const std::string& arn);
  Result<Attributes> ModifyLoadBalancerAttributes(const std::string& arn, const Attributes& changes);
  Result<Attributes> DescribeLoadBalancerAttributes(const std::string& arn) const;

  // Target groups and targets
  Result<TargetGroup> CreateTargetGroup(TargetGroup draft);
  Result<TargetGroup> ModifyTargetGroup(const std::string& arn, const HealthCheckPatch& patch);
  Result<std::vector<TargetGroup>> DescribeTargetGroups(const std::string& load_balancer_arn,
                                                        const std::vector<std::string>& arns,
                                                        const std::vector<std::string>& names) const;
  Status DeleteTargetGroup(const std::string& arn);
  Result<Attributes> ModifyTargetGroupAttributes(const std::string& arn, const Attributes& changes);
  Result<Attributes> DescribeTargetGroupAttributes(const std::string& arn) const;
  Status RegisterTargets(const std::string& arn, std::vector<Target> targets);
  Status DeregisterTargets(const std::string& arn, const std::vector<Target>& targets);
  Result<std::vector<TargetHealthDescription>> DescribeTargetHealth(
      const std::string& arn, const std::vector<Target>& targets) const;
  // Load balancers whose HTTPS listeners serve the certificate (ACM's InUseBy).
  std::vector<std::string> LoadBalancersUsingCertificate(const std::string& certificate_arn) const;
  // The load balancers whose listeners or rules forward to the group.
  std::vector<std::string> LoadBalancerArnsOf(const std::string& target_group_arn) const;

  // Listeners and rules
  Result<Listener> CreateListener(Listener draft);
  Result<Listener> ModifyListener(const ListenerPatch& patch);
  Status DeleteListener(const std::string& arn);
  Result<std::vector<Listener>> DescribeListeners(const std::string& load_balancer_arn,
                                                  const std::vector<std::string>& arns) const;
  Result<Rule> CreateRule(Rule draft);
  Result<Rule> ModifyRule(const std::string& arn,
                          const std::optional<std::vector<RuleCondition>>& conditions,
                          const std::optional<std::vector<RuleAction>>& actions);
  Result<std::vector<Rule>> SetRulePriorities(const std::vector<std::pair<std::string, int>>& priorities);
  Status DeleteRule(const std::string& arn);
  Result<std::vector<Rule>> DescribeRules(const std::string& listener_arn,
                                          const std::vector<std::string>& arns) const;

  // Tags on any of the four resource kinds
  Status AddTags(const std::vector<std::string>& arns, const Tags& tags);
  Status RemoveTags(const std::vector<std::string>& arns, const std::vector<std::string>& keys);
  Result<std::vector<std::pair<std::string, Tags>>> DescribeTags(
      const std::vector<std::string>& arns) const;

  // Starts due health checks and completes finished drains. Called by the server's timer
  // (every 100 ms) on the control loop.
  void Tick();

 private:
  struct TargetRuntime;
  struct GroupRuntime;

  Status ValidateActions(const std::vector<RuleAction>& actions, bool allow_empty) const;
  Status ValidateConditions(const std::vector<RuleCondition>& conditions) const;
  Status PutAndPublish();
  void Publish();
  bool InUse(const std::string& target_group_arn) const;
  GroupRuntime& RuntimeOf(const std::string& target_group_arn);
  void SyncRuntime(const std::string& target_group_arn);
  void StartProbe(const std::string& tg_arn, const std::string& key);
  void OnProbe(const std::string& tg_arn, const std::string& key, uint64_t generation,
               ProbeResult result);
  Result<uint16_t> OpenSocket(const Listener& listener);
  int BoundPortFor(int port) const;
  Tags* TagsOf(const std::string& arn);
  // The not-found error of the first ARN that names no taggable resource.
  Status CheckTaggable(const std::vector<std::string>& arns) const;
  const Tags* TagsOf(const std::string& arn) const;
  std::string NewHexId();

  store::Db& db_;
  ElbStore store_;
  core::Clock& clock_;
  core::IdSource& ids_;
  ElbConfig config_;
  DataPlane& data_plane_;
  HealthProber& prober_;
  CertificateResolver certificates_;

  std::map<std::string, LoadBalancer> load_balancers_;  // by ARN
  std::map<std::string, TargetGroup> target_groups_;
  std::map<std::string, Listener> listeners_;
  std::map<std::string, Rule> rules_;
  std::map<std::string, std::unique_ptr<GroupRuntime>> runtime_;  // by target group ARN
  uint64_t table_version_ = 0;
  uint64_t generation_ = 0;  // tells stale probe results from current ones
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::elb
