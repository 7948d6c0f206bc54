#include "elb/elb_service.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/hex.h"
#include "core/log.h"
#include "elb/elb_errors.h"
#include "store/db.h"

namespace berth::elb {

namespace {

const Attributes& DefaultLoadBalancerAttributes() {
  static const Attributes kDefaults = {
      {"access_logs.s3.enabled", "false"},
      {"access_logs.s3.bucket", ""},
      {"access_logs.s3.prefix", ""},
      {"idle_timeout.timeout_seconds", "60"},
      {"deletion_protection.enabled", "false"},
      {"routing.http2.enabled", "true"},
      {"routing.http.drop_invalid_header_fields.enabled", "false"},
      {"routing.http.desync_mitigation_mode", "defensive"},
      {"routing.http.preserve_host_header.enabled", "false"},
      {"routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"},
      {"routing.http.xff_client_port.enabled", "false"},
      {"routing.http.xff_header_processing.mode", "append"},
      {"waf.fail_open.enabled", "false"},
      {"client_keep_alive.seconds", "3600"},
  };
  return kDefaults;
}

const Attributes& DefaultTargetGroupAttributes() {
  static const Attributes kDefaults = {
      {"deregistration_delay.timeout_seconds", "300"},
      {"stickiness.enabled", "false"},
      {"stickiness.type", "lb_cookie"},
      {"stickiness.lb_cookie.duration_seconds", "86400"},
      {"stickiness.app_cookie.cookie_name", ""},
      {"stickiness.app_cookie.duration_seconds", "86400"},
      {"load_balancing.algorithm.type", "round_robin"},
      {"load_balancing.algorithm.anomaly_mitigation", "off"},
      {"load_balancing.cross_zone.enabled", "use_load_balancer_configuration"},
      {"slow_start.duration_seconds", "0"},
  };
  return kDefaults;
}

bool ParseInt(const std::string& text, int* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

int IntAttribute(const Attributes& attrs, const std::string& key, int fallback) {
  auto it = attrs.find(key);
  int v = 0;
  return it != attrs.end() && ParseInt(it->second, &v) ? v : fallback;
}

bool BoolAttribute(const Attributes& attrs, const std::string& key) {
  auto it = attrs.find(key);
  return it != attrs.end() && it->second == "true";
}

std::string AttributeOr(const Attributes& attrs, const std::string& key) {
  auto it = attrs.find(key);
  return it == attrs.end() ? "" : it->second;
}

Status CheckIntRange(const std::string& key, const std::string& value, int lo, int hi) {
  int v = 0;
  if (!ParseInt(value, &v) || v < lo || v > hi) {
    return errors::Validation("The value of '" + key + "' must be an integer between " +
                              std::to_string(lo) + " and " + std::to_string(hi));
  }
  return OkStatus();
}

Status CheckBool(const std::string& key, const std::string& value) {
  if (value != "true" && value != "false") {
    return errors::Validation("The value of '" + key + "' must be 'true' or 'false'");
  }
  return OkStatus();
}

Status ValidateLoadBalancerAttribute(const std::string& key, const std::string& value) {
  if (!DefaultLoadBalancerAttributes().count(key)) {
    return errors::Validation("Load balancer attribute key '" + key + "' is not recognized");
  }
  if (key == "idle_timeout.timeout_seconds") {
    return CheckIntRange(key, value, 1, 4000);
  }
  if (key == "client_keep_alive.seconds") {
    return CheckIntRange(key, value, 60, 604800);
  }
  if (key.ends_with(".enabled")) {
    return CheckBool(key, value);
  }
  return OkStatus();
}

Status ValidateTargetGroupAttribute(const std::string& key, const std::string& value) {
  if (!DefaultTargetGroupAttributes().count(key)) {
    return errors::Validation("Target group attribute key '" + key + "' is not recognized");
  }
  if (key == "deregistration_delay.timeout_seconds") {
    return CheckIntRange(key, value, 0, 3600);
  }
  if (key == "stickiness.lb_cookie.duration_seconds" ||
      key == "stickiness.app_cookie.duration_seconds") {
    return CheckIntRange(key, value, 1, 604800);
  }
  if (key == "slow_start.duration_seconds") {
    return CheckIntRange(key, value, 0, 900);
  }
  if (key == "stickiness.type" && value != "lb_cookie" && value != "app_cookie" &&
      value != "source_ip") {
    return errors::Validation("The value of 'stickiness.type' must be 'lb_cookie' or "
                              "'app_cookie'");
  }
  if (key == "load_balancing.algorithm.type" && value != "round_robin" &&
      value != "least_outstanding_requests" && value != "weighted_random") {
    return errors::Validation("The value of 'load_balancing.algorithm.type' must be one of "
                              "'round_robin', 'least_outstanding_requests', 'weighted_random'");
  }
  if (key.ends_with(".enabled") && key != "load_balancing.cross_zone.enabled") {
    return CheckBool(key, value);
  }
  return OkStatus();
}

// ALB's naming rule for load balancers and target groups.
Status ValidateName(const std::string& what, const std::string& name) {
  if (name.empty()) {
    return errors::Validation(what + " name cannot be empty");
  }
  if (name.size() > 32) {
    return errors::Validation(what + " name '" + name + "' cannot be longer than '32' characters");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return errors::Validation(what + " name '" + name +
                                "' can only contain characters that are alphanumeric characters "
                                "or hyphens(-)");
    }
  }
  if (name.front() == '-' || name.back() == '-') {
    return errors::Validation(what + " name '" + name + "' cannot begin or end with a hyphen(-)");
  }
  return OkStatus();
}

bool IsIpv4(const std::string& text) {
  int parts = 0;
  size_t i = 0;
  while (i <= text.size()) {
    size_t dot = text.find('.', i);
    std::string part = text.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    int v = 0;
    if (part.empty() || part.size() > 3 || !ParseInt(part, &v) || v > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string::npos) {
      break;
    }
    i = dot + 1;
  }
  return parts == 4;
}

Status ValidateHealthCheck(const HealthCheck& hc) {
  if (hc.interval_seconds < 5 || hc.interval_seconds > 300) {
    return errors::Validation("Health check interval must be between 5 and 300 seconds");
  }
  if (hc.timeout_seconds < 2 || hc.timeout_seconds > 120) {
    return errors::Validation("Health check timeout must be between 2 and 120 seconds");
  }
  if (hc.timeout_seconds >= hc.interval_seconds) {
    return errors::Validation("Health check interval must be greater than the timeout.");
  }
  if (hc.healthy_threshold < 2 || hc.healthy_threshold > 10) {
    return errors::Validation("Healthy threshold count must be between 2 and 10");
  }
  if (hc.unhealthy_threshold < 2 || hc.unhealthy_threshold > 10) {
    return errors::Validation("Unhealthy threshold count must be between 2 and 10");
  }
  if (hc.path.empty() || hc.path.front() != '/' || hc.path.size() > 1024) {
    return errors::Validation("Health check path must begin with a '/' character and be at most "
                              "1024 characters long");
  }
  if (hc.protocol != "HTTP" && hc.protocol != "HTTPS") {
    return errors::Validation("Health check protocol '" + hc.protocol +
                              "' must be one of 'HTTP', 'HTTPS'");
  }
  int port = 0;
  if (hc.port != "traffic-port" && (!ParseInt(hc.port, &port) || port < 1 || port > 65535)) {
    return errors::Validation("Health check port '" + hc.port +
                              "' must be 'traffic-port' or a number between 1 and 65535");
  }
  if (auto m = StatusMatcher::Parse(hc.matcher.http_code); !m.ok()) {
    return m.error();
  }
  return OkStatus();
}

std::string Key(const Target& t) { return t.id + ":" + std::to_string(t.port); }

// Where a target's requests go: its IP, or this host for an instance id (berth is the one
// "instance" every task runs on).
std::string AddressOf(const TargetGroup& tg, const Target& t) {
  return tg.target_type == "ip" ? t.id : "127.0.0.1";
}

std::vector<std::string> ForwardedGroups(const std::vector<RuleAction>& actions) {
  std::vector<std::string> out;
  for (const RuleAction& a : actions) {
    if (a.type != "forward") {
      continue;
    }
    if (!a.target_group_arn.empty()) {
      out.push_back(a.target_group_arn);
    }
    for (const TargetGroupTuple& t : a.forward_groups) {
      out.push_back(t.target_group_arn);
    }
  }
  return out;
}

ConditionField FieldOf(const std::string& name) {
  if (name == "host-header") return ConditionField::HostHeader;
  if (name == "http-header") return ConditionField::HttpHeader;
  if (name == "query-string") return ConditionField::QueryString;
  if (name == "http-request-method") return ConditionField::HttpRequestMethod;
  if (name == "source-ip") return ConditionField::SourceIp;
  return ConditionField::PathPattern;
}

// Where a listener really listens (after --lb-port-map), as a tag users can read with
// describe-tags: the ELBv2 shapes have no field for it.
constexpr const char* kAddressTag = "berth:address";

void SetAddressTag(Listener& l, const std::string& bind_address) {
  std::string value = bind_address + ":" + std::to_string(l.bound_port);
  for (auto& [k, v] : l.tags) {
    if (k == kAddressTag) {
      v = value;
      return;
    }
  }
  l.tags.emplace_back(kAddressTag, value);
}

}  // namespace

struct ElbService::TargetRuntime {
  Target target;
  std::string address;
  std::shared_ptr<Backend> backend;
  TargetHealth health;
  int64_t next_probe_ms = 0;
  bool probing = false;
  bool draining = false;
  int64_t drain_deadline_ms = 0;
};

struct ElbService::GroupRuntime {
  std::map<std::string, TargetRuntime> targets;  // by "id:port"
  std::shared_ptr<TargetGroupStats> stats = std::make_shared<TargetGroupStats>();
};

ElbService::ElbService(store::Db& db, core::Clock& clock, core::IdSource& ids, ElbConfig config,
                       DataPlane& data_plane, HealthProber& prober)
    : db_(db),
      store_(db),
      clock_(clock),
      ids_(ids),
      config_(std::move(config)),
      data_plane_(data_plane),
      prober_(prober) {}

ElbService::~ElbService() { *alive_ = false; }

std::string ElbService::NewHexId() { return ids_.NewTaskId().substr(16); }

int ElbService::BoundPortFor(int port) const {
  auto it = config_.port_map.find(port);
  return it == config_.port_map.end() ? port : it->second;
}

Status ElbService::Open() {
  BERTH_RETURN_IF_ERROR(store_.Migrate());
  BERTH_TRY(auto lbs, store_.LoadBalancers());
  for (LoadBalancer& lb : lbs) {
    load_balancers_[lb.arn] = std::move(lb);
  }
  BERTH_TRY(auto tgs, store_.TargetGroups());
  for (TargetGroup& tg : tgs) {
    target_groups_[tg.arn] = std::move(tg);
  }
  BERTH_TRY(auto listeners, store_.Listeners());
  for (Listener& l : listeners) {
    listeners_[l.arn] = std::move(l);
  }
  BERTH_TRY(auto rules, store_.Rules());
  for (Rule& r : rules) {
    rules_[r.arn] = std::move(r);
  }
  for (auto& [arn, listener] : listeners_) {
    auto bound = OpenSocket(listener);
    if (!bound.ok()) {
      spdlog::error("listener {} (port {}) cannot bind: {}", arn, listener.port,
                    bound.error().message);
      continue;
    }
    if (*bound != listener.bound_port) {  // the port map changed since it was created
      listener.bound_port = *bound;
      SetAddressTag(listener, config_.bind_address);
      BERTH_RETURN_IF_ERROR(store_.Put(listener));
    }
    spdlog::info("listener {}:{} bound on {}:{}", listener.protocol, listener.port,
                 config_.bind_address, *bound);
  }
  for (const auto& [arn, tg] : target_groups_) {
    SyncRuntime(arn);
  }
  Publish();
  return OkStatus();
}

Result<uint16_t> ElbService::OpenSocket(const Listener& listener) {
  const TlsMaterial* tls = nullptr;
  TlsMaterial material;
  if (listener.protocol == "HTTPS") {
    if (!certificates_ || listener.certificates.empty()) {
      return errors::CertificateNotFound(
          listener.certificates.empty() ? "" : listener.certificates[0].certificate_arn);
    }
    BERTH_TRY(material, certificates_(listener.certificates[0].certificate_arn));
    tls = &material;
  }
  return data_plane_.OpenListener(listener.arn, config_.bind_address,
                                  static_cast<uint16_t>(BoundPortFor(listener.port)), tls);
}

// ---------------------------------------------------------------- load balancers

Result<LoadBalancer> ElbService::CreateLoadBalancer(LoadBalancer draft,
                                                    const std::vector<std::string>& subnets) {
  BERTH_RETURN_IF_ERROR(ValidateName("Load balancer", draft.name));
  if (draft.name.starts_with("internal-")) {
    return errors::Validation("Load balancer name '" + draft.name +
                              "' cannot begin with 'internal-'");
  }
  if (draft.type != "application") {
    return errors::Validation("berth serves load balancers of type 'application' only, not '" +
                              draft.type + "'");
  }
  if (draft.scheme != "internet-facing" && draft.scheme != "internal") {
    return errors::Validation("Scheme '" + draft.scheme +
                              "' must be one of 'internet-facing', 'internal'");
  }
  for (const auto& [arn, lb] : load_balancers_) {
    if (lb.name == draft.name) {
      if (lb.scheme == draft.scheme && lb.type == draft.type) {
        return lb;  // ELBv2 CreateLoadBalancer is idempotent for the same settings
      }
      return errors::DuplicateLoadBalancerName(draft.name);
    }
  }
  static const char* kZones = "abcdef";
  for (size_t i = 0; i < subnets.size(); ++i) {
    draft.zones.push_back({config_.region + kZones[i % 6], subnets[i]});
  }
  draft.id = NewHexId();
  draft.arn = "arn:aws:elasticloadbalancing:" + config_.region + ":" + config_.account_id +
              ":loadbalancer/app/" + draft.name + "/" + draft.id;
  std::string number = std::to_string(1000000000ULL + std::stoull(draft.id.substr(0, 8), nullptr, 16) % 8999999999ULL);
  draft.dns_name = (draft.scheme == "internal" ? "internal-" : "") + draft.name + "-" + number +
                   "." + config_.region + ".elb.localhost";
  if (draft.vpc_id.empty()) {
    draft.vpc_id = "vpc-berth";
  }
  draft.state = "active";
  draft.created_ms = clock_.NowMillis();
  draft.attributes = DefaultLoadBalancerAttributes();
  BERTH_RETURN_IF_ERROR(store_.Put(draft));
  load_balancers_[draft.arn] = draft;
  return draft;
}

Result<std::vector<LoadBalancer>> ElbService::DescribeLoadBalancers(
    const std::vector<std::string>& arns, const std::vector<std::string>& names) const {
  std::vector<LoadBalancer> out;
  if (!arns.empty()) {
    for (const std::string& arn : arns) {
      auto it = load_balancers_.find(arn);
      if (it == load_balancers_.end()) {
        return errors::LoadBalancerNotFound();
      }
      out.push_back(it->second);
    }
    return out;
  }
  if (!names.empty()) {
    for (const std::string& name : names) {
      auto it = std::find_if(load_balancers_.begin(), load_balancers_.end(),
                             [&](const auto& kv) { return kv.second.name == name; });
      if (it == load_balancers_.end()) {
        return MakeError(ErrorKind::NotFound, "LoadBalancerNotFound",
                         "Load balancers '[" + name + "]' not found");
      }
      out.push_back(it->second);
    }
    return out;
  }
  for (const auto& [arn, lb] : load_balancers_) {
    out.push_back(lb);
  }
  std::sort(out.begin(), out.end(),
            [](const LoadBalancer& a, const LoadBalancer& b) { return a.created_ms < b.created_ms; });
  return out;
}

Status ElbService::DeleteLoadBalancer(const std::string& arn) {
  auto it = load_balancers_.find(arn);
  if (it == load_balancers_.end()) {
    return OkStatus();  // ELBv2: deleting a load balancer that is gone succeeds
  }
  if (BoolAttribute(it->second.attributes, "deletion_protection.enabled")) {
    return errors::OperationNotPermitted("Load balancer '" + arn +
                                         "' cannot be deleted because deletion protection is "
                                         "enabled");
  }
  std::vector<std::string> doomed;
  for (const auto& [larn, l] : listeners_) {
    if (l.load_balancer_arn == arn) {
      doomed.push_back(larn);
    }
  }
  store::Transaction txn(db_);
  for (const std::string& larn : doomed) {
    for (auto r = rules_.begin(); r != rules_.end();) {
      if (r->second.listener_arn == larn) {
        BERTH_RETURN_IF_ERROR(store_.Delete(r->first));
        r = rules_.erase(r);
      } else {
        ++r;
      }
    }
    BERTH_RETURN_IF_ERROR(store_.Delete(larn));
  }
  BERTH_RETURN_IF_ERROR(store_.Delete(arn));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  for (const std::string& larn : doomed) {
    listeners_.erase(larn);
    data_plane_.CloseListener(larn);
  }
  load_balancers_.erase(it);
  for (const auto& [tg_arn, tg] : target_groups_) {
    SyncRuntime(tg_arn);
  }
  Publish();
  return OkStatus();
}

Result<Attributes> ElbService::ModifyLoadBalancerAttributes(const std::string& arn,
                                                           const Attributes& changes) {
  auto it = load_balancers_.find(arn);
  if (it == load_balancers_.end()) {
    return errors::LoadBalancerNotFound();
  }
  for (const auto& [k, v] : changes) {
    BERTH_RETURN_IF_ERROR(ValidateLoadBalancerAttribute(k, v));
  }
  LoadBalancer updated = it->second;
  for (const auto& [k, v] : changes) {
    updated.attributes[k] = v;
  }
  if (BoolAttribute(updated.attributes, "access_logs.s3.enabled") &&
      AttributeOr(updated.attributes, "access_logs.s3.bucket").empty()) {
    return errors::Validation("The value of 'access_logs.s3.bucket' cannot be empty when access "
                              "logs are enabled");
  }
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  it->second = std::move(updated);
  Publish();
  return it->second.attributes;
}

Result<Attributes> ElbService::DescribeLoadBalancerAttributes(const std::string& arn) const {
  auto it = load_balancers_.find(arn);
  if (it == load_balancers_.end()) {
    return errors::LoadBalancerNotFound();
  }
  return it->second.attributes;
}

// ---------------------------------------------------------------- target groups

Result<TargetGroup> ElbService::CreateTargetGroup(TargetGroup draft) {
  BERTH_RETURN_IF_ERROR(ValidateName("Target group", draft.name));
  if (draft.target_type != "ip" && draft.target_type != "instance") {
    return errors::Validation("berth serves target groups of target type 'ip' and 'instance', "
                              "not '" + draft.target_type + "'");
  }
  if (draft.protocol != "HTTP" && draft.protocol != "HTTPS") {
    return errors::Validation("Protocol '" + draft.protocol +
                              "' must be one of 'HTTP', 'HTTPS' for an application target group");
  }
  if (draft.port < 1 || draft.port > 65535) {
    return errors::Validation("A port must be specified and between 1 and 65535");
  }
  if (draft.vpc_id.empty()) {
    return errors::Validation("A VPC ID must be specified");
  }
  BERTH_RETURN_IF_ERROR(ValidateHealthCheck(draft.health_check));
  for (const auto& [arn, tg] : target_groups_) {
    if (tg.name == draft.name) {
      if (tg.port == draft.port && tg.protocol == draft.protocol &&
          tg.target_type == draft.target_type && tg.vpc_id == draft.vpc_id) {
        return tg;  // idempotent for the same settings
      }
      return errors::DuplicateTargetGroupName(draft.name);
    }
  }
  draft.arn = "arn:aws:elasticloadbalancing:" + config_.region + ":" + config_.account_id +
              ":targetgroup/" + draft.name + "/" + NewHexId();
  draft.created_ms = clock_.NowMillis();
  draft.attributes = DefaultTargetGroupAttributes();
  draft.targets.clear();
  BERTH_RETURN_IF_ERROR(store_.Put(draft));
  target_groups_[draft.arn] = draft;
  SyncRuntime(draft.arn);
  return draft;
}

Result<TargetGroup> ElbService::ModifyTargetGroup(const std::string& arn,
                                                  const HealthCheckPatch& patch) {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  TargetGroup updated = it->second;
  HealthCheck& hc = updated.health_check;
  if (patch.enabled) hc.enabled = *patch.enabled;
  if (patch.protocol) hc.protocol = *patch.protocol;
  if (patch.port) hc.port = *patch.port;
  if (patch.path) hc.path = *patch.path;
  if (patch.matcher) hc.matcher.http_code = *patch.matcher;
  if (patch.interval_seconds) hc.interval_seconds = *patch.interval_seconds;
  if (patch.timeout_seconds) hc.timeout_seconds = *patch.timeout_seconds;
  if (patch.healthy_threshold) hc.healthy_threshold = *patch.healthy_threshold;
  if (patch.unhealthy_threshold) hc.unhealthy_threshold = *patch.unhealthy_threshold;
  BERTH_RETURN_IF_ERROR(ValidateHealthCheck(hc));
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  it->second = std::move(updated);
  SyncRuntime(arn);
  Publish();
  return it->second;
}

Result<std::vector<TargetGroup>> ElbService::DescribeTargetGroups(
    const std::string& load_balancer_arn, const std::vector<std::string>& arns,
    const std::vector<std::string>& names) const {
  std::vector<TargetGroup> out;
  if (!arns.empty()) {
    for (const std::string& arn : arns) {
      auto it = target_groups_.find(arn);
      if (it == target_groups_.end()) {
        return errors::TargetGroupNotFound();
      }
      out.push_back(it->second);
    }
    return out;
  }
  if (!names.empty()) {
    for (const std::string& name : names) {
      auto it = std::find_if(target_groups_.begin(), target_groups_.end(),
                             [&](const auto& kv) { return kv.second.name == name; });
      if (it == target_groups_.end()) {
        return MakeError(ErrorKind::NotFound, "TargetGroupNotFound",
                         "Target groups '[" + name + "]' not found");
      }
      out.push_back(it->second);
    }
    return out;
  }
  if (!load_balancer_arn.empty() && !load_balancers_.count(load_balancer_arn)) {
    return errors::LoadBalancerNotFound();
  }
  for (const auto& [arn, tg] : target_groups_) {
    if (!load_balancer_arn.empty()) {
      auto lbs = LoadBalancerArnsOf(arn);
      if (std::find(lbs.begin(), lbs.end(), load_balancer_arn) == lbs.end()) {
        continue;
      }
    }
    out.push_back(tg);
  }
  std::sort(out.begin(), out.end(),
            [](const TargetGroup& a, const TargetGroup& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::vector<std::string> ElbService::LoadBalancerArnsOf(const std::string& target_group_arn) const {
  std::set<std::string> lbs;
  auto uses = [&](const std::vector<RuleAction>& actions) {
    for (const std::string& g : ForwardedGroups(actions)) {
      if (g == target_group_arn) {
        return true;
      }
    }
    return false;
  };
  for (const auto& [arn, l] : listeners_) {
    if (uses(l.default_actions)) {
      lbs.insert(l.load_balancer_arn);
    }
  }
  for (const auto& [arn, r] : rules_) {
    auto l = listeners_.find(r.listener_arn);
    if (l != listeners_.end() && uses(r.actions)) {
      lbs.insert(l->second.load_balancer_arn);
    }
  }
  return {lbs.begin(), lbs.end()};
}

std::vector<std::string> ElbService::LoadBalancersUsingCertificate(
    const std::string& certificate_arn) const {
  std::vector<std::string> out;
  for (const auto& [arn, l] : listeners_) {
    for (const Certificate& c : l.certificates) {
      if (c.certificate_arn == certificate_arn) {
        out.push_back(l.load_balancer_arn);
        break;
      }
    }
  }
  return out;
}

bool ElbService::InUse(const std::string& target_group_arn) const {
  return !LoadBalancerArnsOf(target_group_arn).empty();
}

Status ElbService::DeleteTargetGroup(const std::string& arn) {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return OkStatus();  // as ELBv2: deleting a missing group succeeds
  }
  if (InUse(arn)) {
    return errors::ResourceInUse("Target group '" + arn +
                                 "' is currently in use by a listener or a rule");
  }
  BERTH_RETURN_IF_ERROR(store_.Delete(arn));
  target_groups_.erase(it);
  runtime_.erase(arn);
  return OkStatus();
}

Result<Attributes> ElbService::ModifyTargetGroupAttributes(const std::string& arn,
                                                          const Attributes& changes) {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  for (const auto& [k, v] : changes) {
    BERTH_RETURN_IF_ERROR(ValidateTargetGroupAttribute(k, v));
  }
  TargetGroup updated = it->second;
  for (const auto& [k, v] : changes) {
    updated.attributes[k] = v;
  }
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  it->second = std::move(updated);
  Publish();
  return it->second.attributes;
}

Result<Attributes> ElbService::DescribeTargetGroupAttributes(const std::string& arn) const {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  return it->second.attributes;
}

Status ElbService::RegisterTargets(const std::string& arn, std::vector<Target> targets) {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  if (targets.empty()) {
    return errors::Validation("Targets cannot be empty");
  }
  TargetGroup updated = it->second;
  for (Target& t : targets) {
    if (t.port == 0) {
      t.port = updated.port;
    }
    if (t.port < 1 || t.port > 65535) {
      return errors::InvalidTarget("The port '" + std::to_string(t.port) + "' of target '" +
                                   t.id + "' must be between 1 and 65535");
    }
    if (updated.target_type == "ip" && !IsIpv4(t.id)) {
      return errors::InvalidTarget("The IP address '" + t.id + "' is not a valid IPv4 address");
    }
    if (updated.target_type == "instance" && !t.id.starts_with("i-")) {
      return errors::InvalidTarget("The following targets are not valid instances: '" + t.id +
                                   "'");
    }
    if (t.availability_zone.empty()) {
      t.availability_zone = config_.region + "a";
    }
    bool known = std::any_of(updated.targets.begin(), updated.targets.end(),
                             [&](const Target& x) { return Key(x) == Key(t); });
    if (!known) {
      updated.targets.push_back(t);
    }
  }
  if (updated.targets.size() > 1000) {
    return MakeError(ErrorKind::LimitExceeded, "TooManyTargets",
                     "You've reached the limit on the number of targets per target group");
  }
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  it->second = std::move(updated);
  SyncRuntime(arn);
  Publish();
  return OkStatus();
}

Status ElbService::DeregisterTargets(const std::string& arn, const std::vector<Target>& targets) {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  TargetGroup updated = it->second;
  std::vector<std::string> missing;
  for (Target t : targets) {
    if (t.port == 0) {
      t.port = updated.port;
    }
    auto pos = std::find_if(updated.targets.begin(), updated.targets.end(),
                            [&](const Target& x) { return Key(x) == Key(t); });
    if (pos == updated.targets.end()) {
      missing.push_back(t.id);
      continue;
    }
    updated.targets.erase(pos);
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) {
      list += (list.empty() ? "'" : ", '") + m + "'";
    }
    return errors::InvalidTarget("The following targets are not registered in target group '" +
                                 arn + "': " + list);
  }
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  it->second = std::move(updated);
  // The targets leave the routes now; their in-flight requests drain in Tick().
  GroupRuntime& rt = RuntimeOf(arn);
  int delay = IntAttribute(it->second.attributes, "deregistration_delay.timeout_seconds", 300);
  for (Target t : targets) {
    if (t.port == 0) {
      t.port = it->second.port;
    }
    auto r = rt.targets.find(Key(t));
    if (r != rt.targets.end() && !r->second.draining) {
      r->second.draining = true;
      r->second.drain_deadline_ms = clock_.NowMillis() + int64_t{delay} * 1000;
    }
  }
  Publish();
  return OkStatus();
}

Result<std::vector<TargetHealthDescription>> ElbService::DescribeTargetHealth(
    const std::string& arn, const std::vector<Target>& targets) const {
  auto it = target_groups_.find(arn);
  if (it == target_groups_.end()) {
    return errors::TargetGroupNotFound();
  }
  const TargetGroup& tg = it->second;
  auto rt = runtime_.find(arn);
  bool in_use = InUse(arn);
  auto describe = [&](const Target& t) {
    TargetHealthDescription d;
    d.target = t;
    d.health_check_port =
        tg.health_check.port == "traffic-port" ? std::to_string(t.port) : tg.health_check.port;
    const TargetRuntime* r = nullptr;
    if (rt != runtime_.end()) {
      auto f = rt->second->targets.find(Key(t));
      if (f != rt->second->targets.end()) {
        r = &f->second;
        d.target = r->target;
      }
    }
    if (r == nullptr) {
      d.state = "unused";
      d.reason = "Target.NotRegistered";
      d.description = "Target is not registered to the target group";
    } else if (r->draining) {
      d.state = "draining";
      d.reason = "Target.DeregistrationInProgress";
      d.description = "Target deregistration is in progress";
    } else if (!in_use) {
      d.state = "unused";
      d.reason = "Target.NotInUse";
      d.description = "Target group is not configured to receive traffic from the load balancer";
    } else if (!tg.health_check.enabled) {
      d.state = "unavailable";
      d.reason = "Target.HealthCheckDisabled";
      d.description = "Health checks disabled";
    } else {
      d.state = r->health.StateName();
      d.reason = r->health.Reason();
      d.description = r->health.Description();
    }
    return d;
  };
  std::vector<TargetHealthDescription> out;
  if (!targets.empty()) {
    for (Target t : targets) {
      if (t.port == 0) {
        t.port = tg.port;
      }
      out.push_back(describe(t));
    }
    return out;
  }
  if (rt != runtime_.end()) {
    for (const auto& [key, r] : rt->second->targets) {
      out.push_back(describe(r.target));
    }
  }
  return out;
}

ElbService::GroupRuntime& ElbService::RuntimeOf(const std::string& target_group_arn) {
  auto& slot = runtime_[target_group_arn];
  if (!slot) {
    slot = std::make_unique<GroupRuntime>();
  }
  return *slot;
}

// Brings the group's runtime targets in line with its registered targets: new ones start in
// `initial` with a probe due now; draining ones stay until their drain ends.
void ElbService::SyncRuntime(const std::string& target_group_arn) {
  auto tg = target_groups_.find(target_group_arn);
  if (tg == target_groups_.end()) {
    return;
  }
  GroupRuntime& rt = RuntimeOf(target_group_arn);
  std::set<std::string> registered;
  for (const Target& t : tg->second.targets) {
    std::string key = Key(t);
    registered.insert(key);
    auto [pos, inserted] = rt.targets.try_emplace(key);
    TargetRuntime& r = pos->second;
    if (inserted || r.draining) {
      r = TargetRuntime{};
      r.target = t;
      r.address = AddressOf(tg->second, t);
      r.backend = std::make_shared<Backend>(r.address, static_cast<uint16_t>(t.port));
      r.next_probe_ms = 0;
    }
  }
  for (auto it = rt.targets.begin(); it != rt.targets.end();) {
    if (!registered.count(it->first) && !it->second.draining) {
      it = rt.targets.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------- listeners and rules

Status ElbService::ValidateActions(const std::vector<RuleAction>& actions, bool allow_empty) const {
  if (actions.empty()) {
    return allow_empty ? OkStatus() : errors::Validation("At least one action must be specified");
  }
  int terminal = 0;
  for (const RuleAction& a : actions) {
    if (a.type == "forward") {
      ++terminal;
      std::vector<std::string> groups = ForwardedGroups({a});
      if (groups.empty()) {
        return errors::Validation("A target group ARN must be specified for a forward action");
      }
      if (!a.target_group_arn.empty() && !a.forward_groups.empty() &&
          (a.forward_groups.size() != 1 ||
           a.forward_groups[0].target_group_arn != a.target_group_arn)) {
        return errors::Validation("You cannot specify both a target group ARN and a forward "
                                  "config with a different target group");
      }
      for (const std::string& g : groups) {
        if (!target_groups_.count(g)) {
          return errors::TargetGroupNotFound();
        }
      }
      for (const TargetGroupTuple& t : a.forward_groups) {
        if (t.weight && (*t.weight < 0 || *t.weight > 999)) {
          return errors::Validation("Target group weight must be between 0 and 999");
        }
      }
    } else if (a.type == "fixed-response") {
      ++terminal;
      int code = 0;
      if (!ParseInt(a.fixed_status_code, &code) || code < 200 || code > 599 ||
          (code >= 300 && code < 400)) {
        return errors::Validation("Fixed response status code must be 2XX, 4XX or 5XX");
      }
      static const std::set<std::string> kTypes = {"", "text/plain", "text/css", "text/html",
                                                   "application/javascript",
                                                   "application/json"};
      if (!kTypes.count(a.fixed_content_type)) {
        return errors::Validation("Fixed response content type '" + a.fixed_content_type +
                                  "' is not valid");
      }
      if (a.fixed_body && a.fixed_body->size() > 1024) {
        return errors::Validation("Fixed response message body cannot be longer than 1024 "
                                  "characters");
      }
    } else if (a.type == "redirect") {
      ++terminal;
      if (a.redirect_status_code != "HTTP_301" && a.redirect_status_code != "HTTP_302") {
        return errors::Validation("Redirect status code must be one of 'HTTP_301', 'HTTP_302'");
      }
    } else {
      return errors::Validation("Action type '" + a.type +
                                "' must be one of 'forward', 'fixed-response', 'redirect'");
    }
  }
  if (terminal != 1) {
    return errors::Validation("Exactly one terminal action (forward, fixed-response or "
                              "redirect) must be specified");
  }
  return OkStatus();
}

Status ElbService::ValidateConditions(const std::vector<RuleCondition>& conditions) const {
  if (conditions.empty()) {
    return errors::Validation("A rule must have at least one condition");
  }
  static const std::set<std::string> kFields = {"host-header", "path-pattern", "http-header",
                                                "query-string", "http-request-method",
                                                "source-ip"};
  for (const RuleCondition& c : conditions) {
    if (!kFields.count(c.field)) {
      return errors::Validation("Condition field '" + c.field + "' must be one of "
                                "[host-header, path-pattern, http-header, query-string, "
                                "http-request-method, source-ip]");
    }
    if (c.field == "query-string" ? c.query_pairs.empty() : c.values.empty()) {
      return errors::Validation("A condition must have at least one value");
    }
    if (c.field == "http-header" && c.http_header_name.empty()) {
      return errors::Validation("An HTTP header name must be specified for an http-header "
                                "condition");
    }
    for (const std::string& v : c.values) {
      if (v.size() > 128) {
        return errors::Validation("Condition value '" + v +
                                  "' cannot be longer than 128 characters");
      }
    }
  }
  return OkStatus();
}

Result<Listener> ElbService::CreateListener(Listener draft) {
  auto lb = load_balancers_.find(draft.load_balancer_arn);
  if (lb == load_balancers_.end()) {
    return errors::LoadBalancerNotFound();
  }
  if (draft.protocol != "HTTP" && draft.protocol != "HTTPS") {
    return errors::Validation("Listener protocol '" + draft.protocol +
                              "' must be one of 'HTTP', 'HTTPS' for an application load balancer");
  }
  if (draft.port < 1 || draft.port > 65535) {
    return errors::Validation("Listener port must be between 1 and 65535");
  }
  if (draft.protocol == "HTTPS" && draft.certificates.empty()) {
    return errors::Validation("A certificate must be specified for HTTPS listeners");
  }
  if (draft.protocol == "HTTPS" && draft.ssl_policy.empty()) {
    draft.ssl_policy = "ELBSecurityPolicy-2016-08";
  }
  BERTH_RETURN_IF_ERROR(ValidateActions(draft.default_actions, false));
  for (const auto& [arn, l] : listeners_) {
    if (l.load_balancer_arn == draft.load_balancer_arn && l.port == draft.port) {
      return errors::DuplicateListener(draft.load_balancer_arn);
    }
  }
  std::string id = NewHexId();
  draft.arn = "arn:aws:elasticloadbalancing:" + config_.region + ":" + config_.account_id +
              ":listener/app/" + lb->second.name + "/" + lb->second.id + "/" + id;
  if (!draft.certificates.empty()) {
    draft.certificates[0].is_default = true;
  }
  BERTH_TRY(uint16_t bound, OpenSocket(draft));
  draft.bound_port = bound;
  SetAddressTag(draft, config_.bind_address);
  Rule rule;
  rule.arn = "arn:aws:elasticloadbalancing:" + config_.region + ":" + config_.account_id +
             ":listener-rule/app/" + lb->second.name + "/" + lb->second.id + "/" + id + "/" +
             NewHexId();
  rule.listener_arn = draft.arn;
  rule.is_default = true;
  rule.actions = draft.default_actions;
  store::Transaction txn(db_);
  Status put = store_.Put(draft);
  if (put.ok()) {
    put = store_.Put(rule);
  }
  if (put.ok()) {
    put = txn.Commit();
  }
  if (!put.ok()) {
    data_plane_.CloseListener(draft.arn);
    return put.error();
  }
  listeners_[draft.arn] = draft;
  rules_[rule.arn] = rule;
  for (const std::string& g : ForwardedGroups(draft.default_actions)) {
    SyncRuntime(g);
  }
  Publish();
  spdlog::info("listener {}:{} of {} bound on {}:{}", draft.protocol, draft.port,
               lb->second.name, config_.bind_address, bound);
  return draft;
}

Result<Listener> ElbService::ModifyListener(const ListenerPatch& patch) {
  auto it = listeners_.find(patch.arn);
  if (it == listeners_.end()) {
    return errors::ListenerNotFound();
  }
  Listener updated = it->second;
  if (patch.port) updated.port = *patch.port;
  if (patch.protocol) updated.protocol = *patch.protocol;
  if (patch.ssl_policy) updated.ssl_policy = *patch.ssl_policy;
  if (patch.certificates) updated.certificates = *patch.certificates;
  if (patch.default_actions) {
    BERTH_RETURN_IF_ERROR(ValidateActions(*patch.default_actions, false));
    updated.default_actions = *patch.default_actions;
  }
  if (updated.protocol != "HTTP" && updated.protocol != "HTTPS") {
    return errors::Validation("Listener protocol '" + updated.protocol +
                              "' must be one of 'HTTP', 'HTTPS' for an application load balancer");
  }
  if (updated.protocol == "HTTPS" && updated.certificates.empty()) {
    return errors::Validation("A certificate must be specified for HTTPS listeners");
  }
  if (updated.protocol == "HTTP") {
    updated.certificates.clear();
    updated.ssl_policy.clear();
  }
  for (const auto& [arn, l] : listeners_) {
    if (arn != updated.arn && l.load_balancer_arn == updated.load_balancer_arn &&
        l.port == updated.port) {
      return errors::DuplicateListener(updated.load_balancer_arn);
    }
  }
  bool rebind = updated.port != it->second.port || updated.protocol != it->second.protocol ||
                (updated.protocol == "HTTPS" &&
                 updated.certificates[0].certificate_arn !=
                     (it->second.certificates.empty() ? ""
                                                       : it->second.certificates[0].certificate_arn));
  if (rebind) {
    data_plane_.CloseListener(updated.arn);
    auto bound = OpenSocket(updated);
    if (!bound.ok()) {
      (void)OpenSocket(it->second);  // keep serving on the old socket
      return bound.error();
    }
    updated.bound_port = *bound;
    SetAddressTag(updated, config_.bind_address);
  }
  Rule* default_rule = nullptr;
  for (auto& [arn, r] : rules_) {
    if (r.listener_arn == updated.arn && r.is_default) {
      default_rule = &r;
    }
  }
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  if (default_rule != nullptr) {
    Rule rule = *default_rule;
    rule.actions = updated.default_actions;
    BERTH_RETURN_IF_ERROR(store_.Put(rule));
    BERTH_RETURN_IF_ERROR(txn.Commit());
    *default_rule = std::move(rule);
  } else {
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  it->second = std::move(updated);
  for (const auto& [arn, tg] : target_groups_) {
    SyncRuntime(arn);
  }
  Publish();
  return it->second;
}

Status ElbService::DeleteListener(const std::string& arn) {
  auto it = listeners_.find(arn);
  if (it == listeners_.end()) {
    return errors::ListenerNotFound();
  }
  store::Transaction txn(db_);
  std::vector<std::string> doomed;
  for (const auto& [rarn, r] : rules_) {
    if (r.listener_arn == arn) {
      doomed.push_back(rarn);
      BERTH_RETURN_IF_ERROR(store_.Delete(rarn));
    }
  }
  BERTH_RETURN_IF_ERROR(store_.Delete(arn));
  BERTH_RETURN_IF_ERROR(txn.Commit());
  for (const std::string& r : doomed) {
    rules_.erase(r);
  }
  listeners_.erase(it);
  data_plane_.CloseListener(arn);
  Publish();
  return OkStatus();
}

Result<std::vector<Listener>> ElbService::DescribeListeners(
    const std::string& load_balancer_arn, const std::vector<std::string>& arns) const {
  std::vector<Listener> out;
  if (!arns.empty()) {
    for (const std::string& arn : arns) {
      auto it = listeners_.find(arn);
      if (it == listeners_.end()) {
        return errors::ListenerNotFound();
      }
      out.push_back(it->second);
    }
    return out;
  }
  if (load_balancer_arn.empty()) {
    return errors::Validation("You must specify either listener ARNs or a load balancer ARN");
  }
  if (!load_balancers_.count(load_balancer_arn)) {
    return errors::LoadBalancerNotFound();
  }
  for (const auto& [arn, l] : listeners_) {
    if (l.load_balancer_arn == load_balancer_arn) {
      out.push_back(l);
    }
  }
  std::sort(out.begin(), out.end(), [](const Listener& a, const Listener& b) { return a.port < b.port; });
  return out;
}

Result<Rule> ElbService::CreateRule(Rule draft) {
  auto l = listeners_.find(draft.listener_arn);
  if (l == listeners_.end()) {
    return errors::ListenerNotFound();
  }
  if (draft.priority < 1 || draft.priority > 50000) {
    return errors::Validation("Priority must be between 1 and 50000");
  }
  BERTH_RETURN_IF_ERROR(ValidateConditions(draft.conditions));
  BERTH_RETURN_IF_ERROR(ValidateActions(draft.actions, false));
  for (const auto& [arn, r] : rules_) {
    if (r.listener_arn == draft.listener_arn && !r.is_default && r.priority == draft.priority) {
      return errors::PriorityInUse(draft.priority);
    }
  }
  // listener ARN ...:listener/app/NAME/LBID/LID → rule ...:listener-rule/app/NAME/LBID/LID/RID
  std::string listener_arn = draft.listener_arn;
  size_t pos = listener_arn.find(":listener/");
  draft.arn = listener_arn.substr(0, pos) + ":listener-rule/" +
              listener_arn.substr(pos + std::string(":listener/").size()) + "/" + NewHexId();
  draft.is_default = false;
  BERTH_RETURN_IF_ERROR(store_.Put(draft));
  rules_[draft.arn] = draft;
  for (const std::string& g : ForwardedGroups(draft.actions)) {
    SyncRuntime(g);
  }
  Publish();
  return draft;
}

Result<Rule> ElbService::ModifyRule(const std::string& arn,
                                    const std::optional<std::vector<RuleCondition>>& conditions,
                                    const std::optional<std::vector<RuleAction>>& actions) {
  auto it = rules_.find(arn);
  if (it == rules_.end()) {
    return errors::RuleNotFound();
  }
  Rule updated = it->second;
  if (conditions) {
    if (updated.is_default) {
      return errors::OperationNotPermitted("Conditions cannot be set on a default rule");
    }
    BERTH_RETURN_IF_ERROR(ValidateConditions(*conditions));
    updated.conditions = *conditions;
  }
  if (actions) {
    BERTH_RETURN_IF_ERROR(ValidateActions(*actions, false));
    updated.actions = *actions;
  }
  store::Transaction txn(db_);
  BERTH_RETURN_IF_ERROR(store_.Put(updated));
  if (updated.is_default) {
    Listener listener = listeners_.at(updated.listener_arn);
    listener.default_actions = updated.actions;
    BERTH_RETURN_IF_ERROR(store_.Put(listener));
    BERTH_RETURN_IF_ERROR(txn.Commit());
    listeners_[listener.arn] = std::move(listener);
  } else {
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  it->second = std::move(updated);
  for (const auto& [tg_arn, tg] : target_groups_) {
    SyncRuntime(tg_arn);
  }
  Publish();
  return it->second;
}

Result<std::vector<Rule>> ElbService::SetRulePriorities(
    const std::vector<std::pair<std::string, int>>& priorities) {
  std::map<std::string, int> wanted;
  for (const auto& [arn, p] : priorities) {
    auto it = rules_.find(arn);
    if (it == rules_.end()) {
      return errors::RuleNotFound();
    }
    if (it->second.is_default) {
      return errors::OperationNotPermitted("Default rule priority cannot be modified");
    }
    if (p < 1 || p > 50000) {
      return errors::Validation("Priority must be between 1 and 50000");
    }
    wanted[arn] = p;
  }
  // The priorities after the change must be unique per listener.
  std::map<std::pair<std::string, int>, std::string> taken;
  for (const auto& [arn, r] : rules_) {
    if (r.is_default) {
      continue;
    }
    int p = wanted.count(arn) ? wanted[arn] : r.priority;
    auto [pos, inserted] = taken.emplace(std::make_pair(r.listener_arn, p), arn);
    if (!inserted) {
      return errors::PriorityInUse(p);
    }
  }
  store::Transaction txn(db_);
  std::vector<Rule> out;
  for (const auto& [arn, p] : wanted) {
    Rule r = rules_.at(arn);
    r.priority = p;
    BERTH_RETURN_IF_ERROR(store_.Put(r));
    out.push_back(r);
  }
  BERTH_RETURN_IF_ERROR(txn.Commit());
  for (Rule& r : out) {
    rules_[r.arn] = r;
  }
  Publish();
  return out;
}

Status ElbService::DeleteRule(const std::string& arn) {
  auto it = rules_.find(arn);
  if (it == rules_.end()) {
    return errors::RuleNotFound();
  }
  if (it->second.is_default) {
    return errors::OperationNotPermitted("Default rule cannot be deleted");
  }
  BERTH_RETURN_IF_ERROR(store_.Delete(arn));
  rules_.erase(it);
  Publish();
  return OkStatus();
}

Result<std::vector<Rule>> ElbService::DescribeRules(const std::string& listener_arn,
                                                    const std::vector<std::string>& arns) const {
  std::vector<Rule> out;
  if (!arns.empty()) {
    for (const std::string& arn : arns) {
      auto it = rules_.find(arn);
      if (it == rules_.end()) {
        return errors::RuleNotFound();
      }
      out.push_back(it->second);
    }
    return out;
  }
  if (listener_arn.empty()) {
    return errors::Validation("You must specify either rule ARNs or a listener ARN");
  }
  if (!listeners_.count(listener_arn)) {
    return errors::ListenerNotFound();
  }
  for (const auto& [arn, r] : rules_) {
    if (r.listener_arn == listener_arn) {
      out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const Rule& a, const Rule& b) {
    return std::make_pair(a.is_default, a.priority) < std::make_pair(b.is_default, b.priority);
  });
  return out;
}

// ---------------------------------------------------------------- tags

// The not-found error of the resource kind an ARN names.
static Error NotFoundFor(const std::string& arn) {
  if (arn.find(":targetgroup/") != std::string::npos) return errors::TargetGroupNotFound();
  if (arn.find(":listener-rule/") != std::string::npos) return errors::RuleNotFound();
  if (arn.find(":listener/") != std::string::npos) return errors::ListenerNotFound();
  return errors::LoadBalancerNotFound();
}

Tags* ElbService::TagsOf(const std::string& arn) {
  if (auto it = load_balancers_.find(arn); it != load_balancers_.end()) return &it->second.tags;
  if (auto it = target_groups_.find(arn); it != target_groups_.end()) return &it->second.tags;
  if (auto it = listeners_.find(arn); it != listeners_.end()) return &it->second.tags;
  if (auto it = rules_.find(arn); it != rules_.end()) return &it->second.tags;
  return nullptr;
}

const Tags* ElbService::TagsOf(const std::string& arn) const {
  return const_cast<ElbService*>(this)->TagsOf(arn);
}

Status ElbService::CheckTaggable(const std::vector<std::string>& arns) const {
  for (const std::string& arn : arns) {
    if (TagsOf(arn) == nullptr) {
      return NotFoundFor(arn);
    }
  }
  return OkStatus();
}

Status ElbService::AddTags(const std::vector<std::string>& arns, const Tags& tags) {
  std::set<std::string> seen;
  for (const auto& [k, v] : tags) {
    if (!seen.insert(k).second) {
      return errors::DuplicateTagKeys(k);
    }
  }
  // Every ARN is checked before any resource changes: a call fails as a whole.
  BERTH_RETURN_IF_ERROR(CheckTaggable(arns));
  std::vector<std::pair<Tags*, Tags>> updates;
  for (const std::string& arn : arns) {
    Tags* current = TagsOf(arn);
    Tags merged = *current;
    for (const auto& [k, v] : tags) {
      auto pos = std::find_if(merged.begin(), merged.end(), [&](const auto& p) { return p.first == k; });
      if (pos != merged.end()) {
        pos->second = v;
      } else {
        merged.emplace_back(k, v);
      }
    }
    if (merged.size() > 50) {
      return MakeError(ErrorKind::LimitExceeded, "TooManyTags",
                       "You've reached the limit on the number of tags for this resource");
    }
    updates.emplace_back(current, std::move(merged));
  }
  for (auto& [current, merged] : updates) {
    *current = std::move(merged);
  }
  return PutAndPublish();
}

Status ElbService::RemoveTags(const std::vector<std::string>& arns,
                              const std::vector<std::string>& keys) {
  BERTH_RETURN_IF_ERROR(CheckTaggable(arns));
  for (const std::string& arn : arns) {
    Tags* current = TagsOf(arn);
    std::erase_if(*current, [&](const auto& p) {
      return std::find(keys.begin(), keys.end(), p.first) != keys.end();
    });
  }
  return PutAndPublish();
}

Result<std::vector<std::pair<std::string, Tags>>> ElbService::DescribeTags(
    const std::vector<std::string>& arns) const {
  std::vector<std::pair<std::string, Tags>> out;
  for (const std::string& arn : arns) {
    const Tags* tags = TagsOf(arn);
    if (tags == nullptr) {
      return NotFoundFor(arn);
    }
    out.emplace_back(arn, *tags);
  }
  return out;
}

// Tags changed in memory: write every resource back (tag edits are rare and resources few).
Status ElbService::PutAndPublish() {
  store::Transaction txn(db_);
  for (const auto& [arn, lb] : load_balancers_) BERTH_RETURN_IF_ERROR(store_.Put(lb));
  for (const auto& [arn, tg] : target_groups_) BERTH_RETURN_IF_ERROR(store_.Put(tg));
  for (const auto& [arn, l] : listeners_) BERTH_RETURN_IF_ERROR(store_.Put(l));
  for (const auto& [arn, r] : rules_) BERTH_RETURN_IF_ERROR(store_.Put(r));
  return txn.Commit();
}

// ---------------------------------------------------------------- health and routes

void ElbService::Tick() {
  int64_t now = clock_.NowMillis();
  bool changed = false;
  for (auto& [tg_arn, rt] : runtime_) {
    auto tg = target_groups_.find(tg_arn);
    bool checks = tg != target_groups_.end() && tg->second.health_check.enabled && InUse(tg_arn);
    for (auto it = rt->targets.begin(); it != rt->targets.end();) {
      TargetRuntime& r = it->second;
      if (r.draining) {
        bool idle = r.backend->in_flight.load(std::memory_order_relaxed) == 0;
        if (idle || now >= r.drain_deadline_ms) {
          if (!idle) {
            data_plane_.CloseConnectionsTo(r.backend);
          }
          it = rt->targets.erase(it);
          changed = true;
          continue;
        }
      } else if (checks && !r.probing && now >= r.next_probe_ms) {
        StartProbe(tg_arn, it->first);
      }
      ++it;
    }
  }
  if (changed) {
    Publish();
  }
}

void ElbService::StartProbe(const std::string& tg_arn, const std::string& key) {
  const TargetGroup& tg = target_groups_.at(tg_arn);
  TargetRuntime& r = runtime_.at(tg_arn)->targets.at(key);
  const HealthCheck& hc = tg.health_check;
  ProbeRequest req;
  req.ip = r.address;
  int port = r.target.port;
  if (hc.port != "traffic-port") {
    ParseInt(hc.port, &port);
  }
  req.port = static_cast<uint16_t>(port);
  req.path = hc.path;
  req.timeout_ms = static_cast<uint32_t>(hc.timeout_seconds * 1000 * config_.health_check_time_scale);
  if (auto m = StatusMatcher::Parse(hc.matcher.http_code); m.ok()) {
    req.matcher = *m;
  }
  r.probing = true;
  uint64_t generation = ++generation_;
  r.next_probe_ms = generation;  // remembered until the result comes back (see OnProbe)
  prober_.Probe(req, [this, alive = alive_, tg_arn, key, generation](ProbeResult result) {
    if (*alive) {
      OnProbe(tg_arn, key, generation, result);
    }
  });
}

void ElbService::OnProbe(const std::string& tg_arn, const std::string& key, uint64_t generation,
                         ProbeResult result) {
  auto rt = runtime_.find(tg_arn);
  auto tg = target_groups_.find(tg_arn);
  if (rt == runtime_.end() || tg == target_groups_.end()) {
    return;
  }
  auto it = rt->second->targets.find(key);
  if (it == rt->second->targets.end() || !it->second.probing ||
      it->second.next_probe_ms != static_cast<int64_t>(generation)) {
    return;  // the target was re-registered or removed meanwhile
  }
  TargetRuntime& r = it->second;
  r.probing = false;
  const HealthCheck& hc = tg->second.health_check;
  r.next_probe_ms = clock_.NowMillis() +
                    static_cast<int64_t>(hc.interval_seconds * 1000 * config_.health_check_time_scale);
  HealthState before = r.health.state();
  r.health.Record(result, hc);
  if (r.health.state() != before) {
    spdlog::info("target {} in {}: {} -> {} {}", key, tg->second.name,
                 before == HealthState::Healthy ? "healthy"
                 : before == HealthState::Initial ? "initial" : "unhealthy",
                 r.health.StateName(), r.health.Description());
    Publish();
  }
}

void ElbService::Publish() {
  auto table = std::make_shared<RoutingTable>();
  table->version = ++table_version_;
  std::map<std::string, std::shared_ptr<const TargetGroupRoute>> groups;
  auto group_route = [&](const std::string& tg_arn) -> std::shared_ptr<const TargetGroupRoute> {
    if (auto it = groups.find(tg_arn); it != groups.end()) {
      return it->second;
    }
    auto route = std::make_shared<TargetGroupRoute>();
    route->arn = tg_arn;
    const TargetGroup& tg = target_groups_.at(tg_arn);
    GroupRuntime& rt = RuntimeOf(tg_arn);
    route->stats = rt.stats;
    route->algorithm = AttributeOr(tg.attributes, "load_balancing.algorithm.type") ==
                               "least_outstanding_requests"
                           ? Algorithm::LeastOutstandingRequests
                           : Algorithm::RoundRobin;
    route->stickiness = BoolAttribute(tg.attributes, "stickiness.enabled") &&
                        AttributeOr(tg.attributes, "stickiness.type") == "lb_cookie";
    route->stickiness_seconds = static_cast<uint32_t>(
        IntAttribute(tg.attributes, "stickiness.lb_cookie.duration_seconds", 86400));
    for (const auto& [key, r] : rt.targets) {
      bool routable = !r.draining && (!tg.health_check.enabled ||
                                      r.health.state() == HealthState::Healthy);
      if (routable) {
        route->routable.push_back(r.backend);
      }
    }
    groups[tg_arn] = route;
    return route;
  };
  auto to_action = [&](const std::vector<RuleAction>& actions) {
    elb::Action out;
    for (const RuleAction& a : actions) {
      if (a.type == "forward") {
        out.kind = ActionKind::Forward;
        if (!a.forward_groups.empty()) {
          for (const TargetGroupTuple& t : a.forward_groups) {
            if (target_groups_.count(t.target_group_arn)) {
              out.forward.push_back({group_route(t.target_group_arn),
                                     static_cast<uint32_t>(t.weight.value_or(1))});
            }
          }
        } else if (target_groups_.count(a.target_group_arn)) {
          out.forward.push_back({group_route(a.target_group_arn), 1});
        }
        out.group_stickiness = a.stickiness_enabled.value_or(false);
        out.group_stickiness_seconds = static_cast<uint32_t>(a.stickiness_duration.value_or(0));
      } else if (a.type == "fixed-response") {
        out.kind = ActionKind::FixedResponse;
        ParseInt(a.fixed_status_code, &out.status_code);
        out.content_type = a.fixed_content_type;
        out.body = a.fixed_body.value_or("");
      } else if (a.type == "redirect") {
        out.kind = ActionKind::Redirect;
        out.redirect_protocol = a.redirect_protocol;
        out.redirect_host = a.redirect_host;
        out.redirect_port = a.redirect_port;
        out.redirect_path = a.redirect_path;
        out.redirect_query = a.redirect_query;
        out.redirect_status = a.redirect_status_code == "HTTP_302" ? 302 : 301;
      }
    }
    return out;
  };
  for (const auto& [larn, l] : listeners_) {
    ListenerRoute route;
    route.id = larn;
    const LoadBalancer* lb = nullptr;
    if (auto it = load_balancers_.find(l.load_balancer_arn); it != load_balancers_.end()) {
      lb = &it->second;
    }
    if (lb != nullptr) {
      route.idle_timeout_seconds = static_cast<uint32_t>(
          IntAttribute(lb->attributes, "idle_timeout.timeout_seconds", 60));
      route.load_balancer_id = "app/" + lb->name + "/" + lb->id;
      if (BoolAttribute(lb->attributes, "access_logs.s3.enabled") &&
          !config_.access_log_dir.empty()) {
        std::string prefix = AttributeOr(lb->attributes, "access_logs.s3.prefix");
        route.access_log_path = config_.access_log_dir + "/" +
                                AttributeOr(lb->attributes, "access_logs.s3.bucket") + "/" +
                                (prefix.empty() ? "" : prefix + "/") + lb->name + ".log";
      }
    }
    std::vector<const Rule*> ordered;
    for (const auto& [rarn, r] : rules_) {
      if (r.listener_arn == larn) {
        ordered.push_back(&r);
      }
    }
    std::sort(ordered.begin(), ordered.end(), [](const Rule* a, const Rule* b) {
      return std::make_pair(a->is_default, a->priority) < std::make_pair(b->is_default, b->priority);
    });
    for (const Rule* r : ordered) {
      RuleRoute rr;
      rr.priority = r->is_default ? 0x7fffffff : r->priority;
      for (const RuleCondition& c : r->conditions) {
        Condition cond;
        cond.field = FieldOf(c.field);
        cond.header_name = c.http_header_name;
        cond.values = c.values;
        for (const QueryStringPair& p : c.query_pairs) {
          cond.pairs.push_back({p.key, p.value});
        }
        rr.conditions.push_back(std::move(cond));
      }
      rr.action = to_action(r->actions);
      route.rules.push_back(std::move(rr));
    }
    table->listeners.push_back(std::move(route));
  }
  data_plane_.Publish(std::move(table));
}

}  // namespace berth::elb
