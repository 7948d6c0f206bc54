#pragma once
// The ELBv2 resources as berth keeps them: load balancers, target groups (with their registered
// targets), listeners and rules. Field names follow the API so the wire mapping stays obvious.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::elb {

using Tags = std::vector<std::pair<std::string, std::string>>;
using Attributes = std::map<std::string, std::string>;

struct AvailabilityZone {
  std::string zone_name;
  std::string subnet_id;
};

struct LoadBalancer {
  std::string arn;   // arn:aws:elasticloadbalancing:R:A:loadbalancer/app/NAME/ID
  std::string name;
  std::string id;    // 16 hex
  std::string dns_name;
  std::string scheme = "internet-facing";
  std::string type = "application";
  std::string ip_address_type = "ipv4";
  std::string vpc_id;
  std::string state = "active";
  std::vector<AvailabilityZone> zones;
  std::vector<std::string> security_groups;
  int64_t created_ms = 0;
  Attributes attributes;
  Tags tags;
};

struct Matcher {
  std::string http_code = "200";  // "200", "200,202", "200-399"
};

struct HealthCheck {
  bool enabled = true;
  std::string protocol = "HTTP";
  std::string port = "traffic-port";
  std::string path = "/";
  int interval_seconds = 30;
  int timeout_seconds = 5;
  int healthy_threshold = 5;
  int unhealthy_threshold = 2;
  Matcher matcher;
};

struct Target {
  std::string id;  // an IPv4 address (target type ip) or an instance id (instance)
  int port = 0;
  std::string availability_zone;
};

struct TargetGroup {
  std::string arn;  // arn:aws:elasticloadbalancing:R:A:targetgroup/NAME/ID
  std::string name;
  std::string protocol = "HTTP";
  std::string protocol_version = "HTTP1";
  int port = 80;
  std::string vpc_id;
  std::string target_type = "instance";
  std::string ip_address_type = "ipv4";
  HealthCheck health_check;
  Attributes attributes;
  std::vector<Target> targets;  // registered (draining ones are tracked by the health state)
  int64_t created_ms = 0;
  Tags tags;
};

struct TargetGroupTuple {
  std::string target_group_arn;
  std::optional<int> weight;
};

struct RuleAction {
  std::string type;  // forward | fixed-response | redirect
  std::optional<int> order;
  std::string target_group_arn;  // forward, short form
  // forward config
  std::vector<TargetGroupTuple> forward_groups;
  std::optional<bool> stickiness_enabled;
  std::optional<int> stickiness_duration;
  // fixed-response
  std::string fixed_status_code;  // "200".."599" as the API spells it
  std::string fixed_content_type;
  std::optional<std::string> fixed_body;
  // redirect
  std::string redirect_protocol = "#{protocol}";
  std::string redirect_port = "#{port}";
  std::string redirect_host = "#{host}";
  std::string redirect_path = "/#{path}";
  std::string redirect_query = "#{query}";
  std::string redirect_status_code;  // HTTP_301 | HTTP_302
};

struct QueryStringPair {
  std::string key;
  std::string value;
};

struct RuleCondition {
  std::string field;  // host-header, path-pattern, http-header, query-string,
                      // http-request-method, source-ip
  std::vector<std::string> values;  // host-header / path-pattern / method / source-ip / header
  std::string http_header_name;
  std::vector<QueryStringPair> query_pairs;
  bool legacy_values = false;  // given as the top-level Values list rather than a *Config
};

struct Certificate {
  std::string certificate_arn;
  bool is_default = false;
};

struct Listener {
  std::string arn;  // arn:…:listener/app/LBNAME/LBID/ID
  std::string load_balancer_arn;
  std::string protocol = "HTTP";
  int port = 80;
  int bound_port = 0;  // the real socket's port (after --lb-port-map)
  std::string ssl_policy;
  std::vector<Certificate> certificates;
  std::vector<RuleAction> default_actions;
  Tags tags;
};

struct Rule {
  std::string arn;  // arn:…:listener-rule/app/LBNAME/LBID/LISTENERID/ID
  std::string listener_arn;
  int priority = 0;  // 1..50000; the default rule has 0 and is_default
  bool is_default = false;
  std::vector<RuleCondition> conditions;
  std::vector<RuleAction> actions;
  Tags tags;
};

// What DescribeTargetHealth reports for one target.
struct TargetHealthDescription {
  Target target;
  std::string health_check_port;
  std::string state;   // initial | healthy | unhealthy | unused | draining | unavailable
  std::string reason;  // Elb.InitialHealthChecking, Target.ResponseCodeMismatch, …
  std::string description;
};

}  // namespace berth::elb
