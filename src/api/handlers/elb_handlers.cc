// ELBv2 (query protocol, API 2015-12-01): flattened parameters in, XML results out, over
// elb::ElbService.
#include <charconv>

#include "api/handlers/handlers.h"
#include "api/protocol/query_tree.h"
#include "core/time_util.h"
#include "elb/elb_errors.h"
#include "elb/elb_service.h"

namespace berth::api {

namespace {

using nlohmann::json;
namespace errors = elb::errors;

Result<int> IntParam(const json& node, const char* name, int fallback) {
  std::string text = QueryString(node, name);
  if (text.empty()) {
    return fallback;
  }
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return errors::Validation("Value '" + text + "' at '" + name + "' must be an integer");
  }
  return v;
}

Result<std::optional<int>> OptionalInt(const json& node, const char* name) {
  if (QueryString(node, name).empty()) {
    return std::optional<int>();
  }
  BERTH_TRY(int v, IntParam(node, name, 0));
  return std::optional<int>(v);
}

std::optional<std::string> OptionalString(const json& node, const char* name) {
  if (!node.is_object() || !node.contains(name) || !node[name].is_string()) {
    return std::nullopt;
  }
  return node[name].get<std::string>();
}

Result<std::optional<bool>> OptionalBool(const json& node, const char* name) {
  auto text = OptionalString(node, name);
  if (!text) {
    return std::optional<bool>();
  }
  if (*text != "true" && *text != "false") {
    return errors::Validation("Value '" + *text + "' at '" + name + "' must be true or false");
  }
  return std::optional<bool>(*text == "true");
}

elb::Tags ParseTags(const json& node) {
  elb::Tags tags;
  for (const json& t : QueryList(node, "Tags")) {
    tags.emplace_back(QueryString(t, "Key"), QueryString(t, "Value"));
  }
  return tags;
}

elb::Attributes ParseAttributes(const json& node) {
  elb::Attributes attrs;
  for (const json& a : QueryList(node, "Attributes")) {
    attrs[QueryString(a, "Key")] = QueryString(a, "Value");
  }
  return attrs;
}

Result<std::vector<elb::Target>> ParseTargets(const json& node) {
  std::vector<elb::Target> out;
  for (const json& t : QueryList(node, "Targets")) {
    elb::Target target;
    target.id = QueryString(t, "Id");
    if (target.id.empty()) {
      return errors::Validation("A target ID must be specified");
    }
    BERTH_TRY(target.port, IntParam(t, "Port", 0));
    target.availability_zone = QueryString(t, "AvailabilityZone");
    out.push_back(std::move(target));
  }
  return out;
}

Result<std::vector<elb::RuleAction>> ParseActions(const json& node, const char* name) {
  std::vector<elb::RuleAction> out;
  for (const json& a : QueryList(node, name)) {
    elb::RuleAction action;
    action.type = QueryString(a, "Type");
    BERTH_TRY(action.order, OptionalInt(a, "Order"));
    action.target_group_arn = QueryString(a, "TargetGroupArn");
    if (a.contains("ForwardConfig")) {
      const json& fc = a["ForwardConfig"];
      for (const json& g : QueryList(fc, "TargetGroups")) {
        elb::TargetGroupTuple tuple;
        tuple.target_group_arn = QueryString(g, "TargetGroupArn");
        BERTH_TRY(tuple.weight, OptionalInt(g, "Weight"));
        action.forward_groups.push_back(std::move(tuple));
      }
      if (fc.is_object() && fc.contains("TargetGroupStickinessConfig")) {
        const json& sc = fc["TargetGroupStickinessConfig"];
        BERTH_TRY(action.stickiness_enabled, OptionalBool(sc, "Enabled"));
        BERTH_TRY(action.stickiness_duration, OptionalInt(sc, "DurationSeconds"));
      }
    }
    if (a.contains("FixedResponseConfig")) {
      const json& fr = a["FixedResponseConfig"];
      action.fixed_status_code = QueryString(fr, "StatusCode");
      action.fixed_content_type = QueryString(fr, "ContentType");
      action.fixed_body = OptionalString(fr, "MessageBody");
    } else if (action.type == "fixed-response") {
      return errors::Validation("A fixed response config must be specified for a fixed-response "
                                "action");
    }
    if (a.contains("RedirectConfig")) {
      const json& rc = a["RedirectConfig"];
      auto keep = [&](const char* field, std::string* into) {
        if (auto v = OptionalString(rc, field)) {
          *into = *v;
        }
      };
      keep("Protocol", &action.redirect_protocol);
      keep("Port", &action.redirect_port);
      keep("Host", &action.redirect_host);
      keep("Path", &action.redirect_path);
      keep("Query", &action.redirect_query);
      action.redirect_status_code = QueryString(rc, "StatusCode");
    } else if (action.type == "redirect") {
      return errors::Validation("A redirect config must be specified for a redirect action");
    }
    out.push_back(std::move(action));
  }
  return out;
}

std::vector<elb::RuleCondition> ParseConditions(const json& node) {
  std::vector<elb::RuleCondition> out;
  static const std::pair<const char*, const char*> kConfigs[] = {
      {"host-header", "HostHeaderConfig"},
      {"path-pattern", "PathPatternConfig"},
      {"http-header", "HttpHeaderConfig"},
      {"http-request-method", "HttpRequestMethodConfig"},
      {"source-ip", "SourceIpConfig"},
  };
  for (const json& c : QueryList(node, "Conditions")) {
    elb::RuleCondition cond;
    cond.field = QueryString(c, "Field");
    cond.values = QueryStrings(c, "Values");
    cond.legacy_values = !cond.values.empty();
    for (auto [field, config] : kConfigs) {
      if (cond.field == field && c.contains(config)) {
        for (std::string& v : QueryStrings(c[config], "Values")) {
          cond.values.push_back(std::move(v));
        }
        if (cond.field == "http-header") {
          cond.http_header_name = QueryString(c[config], "HttpHeaderName");
        }
      }
    }
    if (c.contains("QueryStringConfig")) {
      for (const json& p : QueryList(c["QueryStringConfig"], "Values")) {
        cond.query_pairs.push_back({QueryString(p, "Key"), QueryString(p, "Value")});
      }
    }
    out.push_back(std::move(cond));
  }
  return out;
}

// ---------------------------------------------------------------- rendering

void RenderTags(XmlOut& x, const elb::Tags& tags) {
  x.Open("Tags");
  for (const auto& [k, v] : tags) {
    x.Open("member").Leaf("Key", k).Leaf("Value", v).Close("member");
  }
  x.Close("Tags");
}

void RenderAttributes(XmlOut& x, const elb::Attributes& attrs) {
  x.Open("Attributes");
  for (const auto& [k, v] : attrs) {
    x.Open("member").Leaf("Key", k).Leaf("Value", v).Close("member");
  }
  x.Close("Attributes");
}

void RenderLoadBalancer(XmlOut& x, const elb::LoadBalancer& lb) {
  x.Open("member")
      .Leaf("LoadBalancerArn", lb.arn)
      .Leaf("DNSName", lb.dns_name)
      .Leaf("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K")
      .Leaf("CreatedTime", core::FormatIso8601(lb.created_ms))
      .Leaf("LoadBalancerName", lb.name)
      .Leaf("Scheme", lb.scheme)
      .Leaf("VpcId", lb.vpc_id)
      .Open("State")
      .Leaf("Code", lb.state)
      .Close("State")
      .Leaf("Type", lb.type)
      .Open("AvailabilityZones");
  for (const elb::AvailabilityZone& z : lb.zones) {
    x.Open("member").Leaf("ZoneName", z.zone_name).Leaf("SubnetId", z.subnet_id).Close("member");
  }
  x.Close("AvailabilityZones").Open("SecurityGroups");
  for (const std::string& g : lb.security_groups) {
    x.Leaf("member", g);
  }
  x.Close("SecurityGroups").Leaf("IpAddressType", lb.ip_address_type).Close("member");
}

void RenderTargetGroup(XmlOut& x, const elb::TargetGroup& tg,
                       const std::vector<std::string>& lb_arns) {
  const elb::HealthCheck& hc = tg.health_check;
  x.Open("member")
      .Leaf("TargetGroupArn", tg.arn)
      .Leaf("TargetGroupName", tg.name)
      .Leaf("Protocol", tg.protocol)
      .Leaf("Port", tg.port)
      .Leaf("VpcId", tg.vpc_id)
      .Leaf("HealthCheckProtocol", hc.protocol)
      .Leaf("HealthCheckPort", hc.port)
      .Bool("HealthCheckEnabled", hc.enabled)
      .Leaf("HealthCheckIntervalSeconds", hc.interval_seconds)
      .Leaf("HealthCheckTimeoutSeconds", hc.timeout_seconds)
      .Leaf("HealthyThresholdCount", hc.healthy_threshold)
      .Leaf("UnhealthyThresholdCount", hc.unhealthy_threshold)
      .Leaf("HealthCheckPath", hc.path)
      .Open("Matcher")
      .Leaf("HttpCode", hc.matcher.http_code)
      .Close("Matcher")
      .Open("LoadBalancerArns");
  for (const std::string& arn : lb_arns) {
    x.Leaf("member", arn);
  }
  x.Close("LoadBalancerArns")
      .Leaf("TargetType", tg.target_type)
      .Leaf("ProtocolVersion", tg.protocol_version)
      .Leaf("IpAddressType", tg.ip_address_type)
      .Close("member");
}

void RenderActions(XmlOut& x, const char* name, const std::vector<elb::RuleAction>& actions) {
  x.Open(name);
  int order = 1;
  for (const elb::RuleAction& a : actions) {
    x.Open("member").Leaf("Type", a.type);
    if (a.type == "forward") {
      std::vector<elb::TargetGroupTuple> groups = a.forward_groups;
      if (groups.empty()) {
        groups.push_back({a.target_group_arn, 1});
      }
      if (groups.size() == 1) {
        x.Leaf("TargetGroupArn", groups[0].target_group_arn);
      }
      x.Open("ForwardConfig").Open("TargetGroups");
      for (const elb::TargetGroupTuple& g : groups) {
        x.Open("member")
            .Leaf("TargetGroupArn", g.target_group_arn)
            .Leaf("Weight", g.weight.value_or(1))
            .Close("member");
      }
      x.Close("TargetGroups")
          .Open("TargetGroupStickinessConfig")
          .Bool("Enabled", a.stickiness_enabled.value_or(false));
      if (a.stickiness_duration) {
        x.Leaf("DurationSeconds", *a.stickiness_duration);
      }
      x.Close("TargetGroupStickinessConfig").Close("ForwardConfig");
    } else if (a.type == "fixed-response") {
      x.Open("FixedResponseConfig");
      if (a.fixed_body) {
        x.Leaf("MessageBody", *a.fixed_body);
      }
      x.Leaf("StatusCode", a.fixed_status_code);
      if (!a.fixed_content_type.empty()) {
        x.Leaf("ContentType", a.fixed_content_type);
      }
      x.Close("FixedResponseConfig");
    } else if (a.type == "redirect") {
      x.Open("RedirectConfig")
          .Leaf("Protocol", a.redirect_protocol)
          .Leaf("Port", a.redirect_port)
          .Leaf("Host", a.redirect_host)
          .Leaf("Path", a.redirect_path)
          .Leaf("Query", a.redirect_query)
          .Leaf("StatusCode", a.redirect_status_code)
          .Close("RedirectConfig");
    }
    x.Leaf("Order", a.order.value_or(order++)).Close("member");
  }
  x.Close(name);
}

void RenderListener(XmlOut& x, const elb::Listener& l) {
  x.Open("member")
      .Leaf("ListenerArn", l.arn)
      .Leaf("LoadBalancerArn", l.load_balancer_arn)
      .Leaf("Port", l.port)
      .Leaf("Protocol", l.protocol);
  if (!l.certificates.empty()) {
    x.Open("Certificates");
    for (const elb::Certificate& c : l.certificates) {
      x.Open("member").Leaf("CertificateArn", c.certificate_arn).Close("member");
    }
    x.Close("Certificates");
  }
  if (!l.ssl_policy.empty()) {
    x.Leaf("SslPolicy", l.ssl_policy);
  }
  RenderActions(x, "DefaultActions", l.default_actions);
  x.Close("member");
}

void RenderValues(XmlOut& x, const std::vector<std::string>& values) {
  x.Open("Values");
  for (const std::string& v : values) {
    x.Leaf("member", v);
  }
  x.Close("Values");
}

void RenderRule(XmlOut& x, const elb::Rule& r) {
  x.Open("member")
      .Leaf("RuleArn", r.arn)
      .Leaf("Priority", r.is_default ? std::string("default") : std::to_string(r.priority))
      .Open("Conditions");
  static const std::pair<const char*, const char*> kConfigs[] = {
      {"host-header", "HostHeaderConfig"},
      {"path-pattern", "PathPatternConfig"},
      {"http-request-method", "HttpRequestMethodConfig"},
      {"source-ip", "SourceIpConfig"},
  };
  for (const elb::RuleCondition& c : r.conditions) {
    x.Open("member").Leaf("Field", c.field);
    if (c.legacy_values) {
      RenderValues(x, c.values);
    }
    for (auto [field, config] : kConfigs) {
      if (c.field == field) {
        x.Open(config);
        RenderValues(x, c.values);
        x.Close(config);
      }
    }
    if (c.field == "http-header") {
      x.Open("HttpHeaderConfig").Leaf("HttpHeaderName", c.http_header_name);
      RenderValues(x, c.values);
      x.Close("HttpHeaderConfig");
    }
    if (c.field == "query-string") {
      x.Open("QueryStringConfig").Open("Values");
      for (const elb::QueryStringPair& p : c.query_pairs) {
        x.Open("member");
        if (!p.key.empty()) {
          x.Leaf("Key", p.key);
        }
        x.Leaf("Value", p.value).Close("member");
      }
      x.Close("Values").Close("QueryStringConfig");
    }
    x.Close("member");
  }
  x.Close("Conditions");
  RenderActions(x, "Actions", r.actions);
  x.Bool("IsDefault", r.is_default).Close("member");
}

// Marker/PageSize paging over a full result: the marker is the index of the next item.
template <typename T>
Result<std::pair<std::vector<T>, std::string>> Page(std::vector<T> all, const json& in) {
  BERTH_TRY(int size, IntParam(in, "PageSize", 400));
  if (size < 1 || size > 400) {
    return errors::Validation("Page size must be between 1 and 400");
  }
  size_t start = 0;
  std::string marker = QueryString(in, "Marker");
  if (!marker.empty()) {
    auto [p, ec] = std::from_chars(marker.data(), marker.data() + marker.size(), start);
    if (ec != std::errc() || p != marker.data() + marker.size() || start > all.size()) {
      return errors::Validation("The marker '" + marker + "' is not valid");
    }
  }
  size_t end = std::min(all.size(), start + static_cast<size_t>(size));
  std::vector<T> page(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(start)),
                      std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
  return std::make_pair(std::move(page), end < all.size() ? std::to_string(end) : std::string());
}

using Handler = std::function<Result<std::string>(elb::ElbService&, const json&)>;

}  // namespace

QueryService MakeElbHandlers(elb::ElbService& svc) {
  QueryService q;
  q.signing_name = "elasticloadbalancing";
  q.xml_namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
  auto add = [&](const char* name, Handler h) {
    q.operations[name] = [&svc, h = std::move(h)](const ApiContext&,
                                                   const QueryParams& params) {
      return h(svc, QueryTree(params));
    };
  };

  add("CreateLoadBalancer", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::LoadBalancer draft;
    draft.name = QueryString(in, "Name");
    if (auto v = OptionalString(in, "Scheme")) draft.scheme = *v;
    if (auto v = OptionalString(in, "Type")) draft.type = *v;
    if (auto v = OptionalString(in, "IpAddressType")) draft.ip_address_type = *v;
    draft.security_groups = QueryStrings(in, "SecurityGroups");
    draft.tags = ParseTags(in);
    std::vector<std::string> subnets = QueryStrings(in, "Subnets");
    for (const json& m : QueryList(in, "SubnetMappings")) {
      subnets.push_back(QueryString(m, "SubnetId"));
    }
    BERTH_TRY(auto lb, s.CreateLoadBalancer(std::move(draft), subnets));
    XmlOut x;
    x.Open("LoadBalancers");
    RenderLoadBalancer(x, lb);
    x.Close("LoadBalancers");
    return x.Take();
  });
  add("DescribeLoadBalancers", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto all, s.DescribeLoadBalancers(QueryStrings(in, "LoadBalancerArns"),
                                                QueryStrings(in, "Names")));
    BERTH_TRY(auto page, Page(std::move(all), in));
    XmlOut x;
    x.Open("LoadBalancers");
    for (const elb::LoadBalancer& lb : page.first) {
      RenderLoadBalancer(x, lb);
    }
    x.Close("LoadBalancers");
    if (!page.second.empty()) {
      x.Leaf("NextMarker", page.second);
    }
    return x.Take();
  });
  add("DeleteLoadBalancer", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteLoadBalancer(QueryString(in, "LoadBalancerArn")));
    return std::string();
  });
  add("ModifyLoadBalancerAttributes", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto attrs, s.ModifyLoadBalancerAttributes(QueryString(in, "LoadBalancerArn"),
                                                         ParseAttributes(in)));
    XmlOut x;
    RenderAttributes(x, attrs);
    return x.Take();
  });
  add("DescribeLoadBalancerAttributes", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto attrs, s.DescribeLoadBalancerAttributes(QueryString(in, "LoadBalancerArn")));
    XmlOut x;
    RenderAttributes(x, attrs);
    return x.Take();
  });

  add("CreateTargetGroup", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::TargetGroup draft;
    draft.name = QueryString(in, "Name");
    if (auto v = OptionalString(in, "Protocol")) draft.protocol = *v;
    if (auto v = OptionalString(in, "ProtocolVersion")) draft.protocol_version = *v;
    BERTH_TRY(draft.port, IntParam(in, "Port", 0));
    draft.vpc_id = QueryString(in, "VpcId");
    if (auto v = OptionalString(in, "TargetType")) draft.target_type = *v;
    if (auto v = OptionalString(in, "IpAddressType")) draft.ip_address_type = *v;
    elb::HealthCheck& hc = draft.health_check;
    BERTH_TRY(auto enabled, OptionalBool(in, "HealthCheckEnabled"));
    hc.enabled = enabled.value_or(true);
    if (auto v = OptionalString(in, "HealthCheckProtocol")) hc.protocol = *v;
    if (auto v = OptionalString(in, "HealthCheckPort")) hc.port = *v;
    if (auto v = OptionalString(in, "HealthCheckPath")) hc.path = *v;
    BERTH_TRY(hc.interval_seconds, IntParam(in, "HealthCheckIntervalSeconds", 30));
    BERTH_TRY(hc.timeout_seconds, IntParam(in, "HealthCheckTimeoutSeconds", 5));
    BERTH_TRY(hc.healthy_threshold, IntParam(in, "HealthyThresholdCount", 5));
    BERTH_TRY(hc.unhealthy_threshold, IntParam(in, "UnhealthyThresholdCount", 2));
    if (in.contains("Matcher")) {
      hc.matcher.http_code = QueryString(in["Matcher"], "HttpCode");
    }
    draft.tags = ParseTags(in);
    BERTH_TRY(auto tg, s.CreateTargetGroup(std::move(draft)));
    XmlOut x;
    x.Open("TargetGroups");
    RenderTargetGroup(x, tg, s.LoadBalancerArnsOf(tg.arn));
    x.Close("TargetGroups");
    return x.Take();
  });
  add("ModifyTargetGroup", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::HealthCheckPatch patch;
    BERTH_TRY(patch.enabled, OptionalBool(in, "HealthCheckEnabled"));
    patch.protocol = OptionalString(in, "HealthCheckProtocol");
    patch.port = OptionalString(in, "HealthCheckPort");
    patch.path = OptionalString(in, "HealthCheckPath");
    if (in.contains("Matcher")) {
      patch.matcher = QueryString(in["Matcher"], "HttpCode");
    }
    BERTH_TRY(patch.interval_seconds, OptionalInt(in, "HealthCheckIntervalSeconds"));
    BERTH_TRY(patch.timeout_seconds, OptionalInt(in, "HealthCheckTimeoutSeconds"));
    BERTH_TRY(patch.healthy_threshold, OptionalInt(in, "HealthyThresholdCount"));
    BERTH_TRY(patch.unhealthy_threshold, OptionalInt(in, "UnhealthyThresholdCount"));
    BERTH_TRY(auto tg, s.ModifyTargetGroup(QueryString(in, "TargetGroupArn"), patch));
    XmlOut x;
    x.Open("TargetGroups");
    RenderTargetGroup(x, tg, s.LoadBalancerArnsOf(tg.arn));
    x.Close("TargetGroups");
    return x.Take();
  });
  add("DescribeTargetGroups", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto all, s.DescribeTargetGroups(QueryString(in, "LoadBalancerArn"),
                                               QueryStrings(in, "TargetGroupArns"),
                                               QueryStrings(in, "Names")));
    BERTH_TRY(auto page, Page(std::move(all), in));
    XmlOut x;
    x.Open("TargetGroups");
    for (const elb::TargetGroup& tg : page.first) {
      RenderTargetGroup(x, tg, s.LoadBalancerArnsOf(tg.arn));
    }
    x.Close("TargetGroups");
    if (!page.second.empty()) {
      x.Leaf("NextMarker", page.second);
    }
    return x.Take();
  });
  add("DeleteTargetGroup", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteTargetGroup(QueryString(in, "TargetGroupArn")));
    return std::string();
  });
  add("ModifyTargetGroupAttributes", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto attrs, s.ModifyTargetGroupAttributes(QueryString(in, "TargetGroupArn"),
                                                        ParseAttributes(in)));
    XmlOut x;
    RenderAttributes(x, attrs);
    return x.Take();
  });
  add("DescribeTargetGroupAttributes", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto attrs, s.DescribeTargetGroupAttributes(QueryString(in, "TargetGroupArn")));
    XmlOut x;
    RenderAttributes(x, attrs);
    return x.Take();
  });
  add("RegisterTargets", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto targets, ParseTargets(in));
    BERTH_RETURN_IF_ERROR(s.RegisterTargets(QueryString(in, "TargetGroupArn"), std::move(targets)));
    return std::string();
  });
  add("DeregisterTargets", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto targets, ParseTargets(in));
    BERTH_RETURN_IF_ERROR(s.DeregisterTargets(QueryString(in, "TargetGroupArn"), targets));
    return std::string();
  });
  add("DescribeTargetHealth", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto targets, ParseTargets(in));
    BERTH_TRY(auto all, s.DescribeTargetHealth(QueryString(in, "TargetGroupArn"), targets));
    XmlOut x;
    x.Open("TargetHealthDescriptions");
    for (const elb::TargetHealthDescription& d : all) {
      x.Open("member")
          .Open("Target")
          .Leaf("Id", d.target.id)
          .Leaf("Port", d.target.port);
      if (!d.target.availability_zone.empty()) {
        x.Leaf("AvailabilityZone", d.target.availability_zone);
      }
      x.Close("Target").Leaf("HealthCheckPort", d.health_check_port).Open("TargetHealth")
          .Leaf("State", d.state);
      if (!d.reason.empty()) {
        x.Leaf("Reason", d.reason).Leaf("Description", d.description);
      }
      x.Close("TargetHealth").Close("member");
    }
    x.Close("TargetHealthDescriptions");
    return x.Take();
  });

  auto parse_certificates = [](const json& in) {
    std::vector<elb::Certificate> out;
    for (const json& c : QueryList(in, "Certificates")) {
      out.push_back({QueryString(c, "CertificateArn"), false});
    }
    return out;
  };
  add("CreateListener", [parse_certificates](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::Listener draft;
    draft.load_balancer_arn = QueryString(in, "LoadBalancerArn");
    if (auto v = OptionalString(in, "Protocol")) draft.protocol = *v;
    BERTH_TRY(draft.port, IntParam(in, "Port", 0));
    draft.ssl_policy = QueryString(in, "SslPolicy");
    draft.certificates = parse_certificates(in);
    BERTH_TRY(draft.default_actions, ParseActions(in, "DefaultActions"));
    draft.tags = ParseTags(in);
    BERTH_TRY(auto listener, s.CreateListener(std::move(draft)));
    XmlOut x;
    x.Open("Listeners");
    RenderListener(x, listener);
    x.Close("Listeners");
    return x.Take();
  });
  add("ModifyListener", [parse_certificates](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::ListenerPatch patch;
    patch.arn = QueryString(in, "ListenerArn");
    BERTH_TRY(patch.port, OptionalInt(in, "Port"));
    patch.protocol = OptionalString(in, "Protocol");
    patch.ssl_policy = OptionalString(in, "SslPolicy");
    if (in.contains("Certificates")) {
      patch.certificates = parse_certificates(in);
    }
    if (in.contains("DefaultActions")) {
      BERTH_TRY(auto actions, ParseActions(in, "DefaultActions"));
      patch.default_actions = std::move(actions);
    }
    BERTH_TRY(auto listener, s.ModifyListener(patch));
    XmlOut x;
    x.Open("Listeners");
    RenderListener(x, listener);
    x.Close("Listeners");
    return x.Take();
  });
  add("DeleteListener", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteListener(QueryString(in, "ListenerArn")));
    return std::string();
  });
  add("DescribeListeners", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto all, s.DescribeListeners(QueryString(in, "LoadBalancerArn"),
                                            QueryStrings(in, "ListenerArns")));
    BERTH_TRY(auto page, Page(std::move(all), in));
    XmlOut x;
    x.Open("Listeners");
    for (const elb::Listener& l : page.first) {
      RenderListener(x, l);
    }
    x.Close("Listeners");
    if (!page.second.empty()) {
      x.Leaf("NextMarker", page.second);
    }
    return x.Take();
  });

  auto render_rules = [](const std::vector<elb::Rule>& rules, const std::string& marker) {
    XmlOut x;
    x.Open("Rules");
    for (const elb::Rule& r : rules) {
      RenderRule(x, r);
    }
    x.Close("Rules");
    if (!marker.empty()) {
      x.Leaf("NextMarker", marker);
    }
    return x.Take();
  };
  add("CreateRule", [render_rules](elb::ElbService& s, const json& in) -> Result<std::string> {
    elb::Rule draft;
    draft.listener_arn = QueryString(in, "ListenerArn");
    BERTH_TRY(draft.priority, IntParam(in, "Priority", 0));
    draft.conditions = ParseConditions(in);
    BERTH_TRY(draft.actions, ParseActions(in, "Actions"));
    draft.tags = ParseTags(in);
    BERTH_TRY(auto rule, s.CreateRule(std::move(draft)));
    return render_rules({rule}, "");
  });
  add("ModifyRule", [render_rules](elb::ElbService& s, const json& in) -> Result<std::string> {
    std::optional<std::vector<elb::RuleCondition>> conditions;
    std::optional<std::vector<elb::RuleAction>> actions;
    if (in.contains("Conditions")) {
      conditions = ParseConditions(in);
    }
    if (in.contains("Actions")) {
      BERTH_TRY(auto parsed, ParseActions(in, "Actions"));
      actions = std::move(parsed);
    }
    BERTH_TRY(auto rule, s.ModifyRule(QueryString(in, "RuleArn"), conditions, actions));
    return render_rules({rule}, "");
  });
  add("SetRulePriorities", [render_rules](elb::ElbService& s, const json& in) -> Result<std::string> {
    std::vector<std::pair<std::string, int>> priorities;
    for (const json& p : QueryList(in, "RulePriorities")) {
      BERTH_TRY(int priority, IntParam(p, "Priority", 0));
      priorities.emplace_back(QueryString(p, "RuleArn"), priority);
    }
    BERTH_TRY(auto rules, s.SetRulePriorities(priorities));
    return render_rules(rules, "");
  });
  add("DeleteRule", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteRule(QueryString(in, "RuleArn")));
    return std::string();
  });
  add("DescribeRules", [render_rules](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto all, s.DescribeRules(QueryString(in, "ListenerArn"),
                                        QueryStrings(in, "RuleArns")));
    BERTH_TRY(auto page, Page(std::move(all), in));
    return render_rules(page.first, page.second);
  });

  add("AddTags", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.AddTags(QueryStrings(in, "ResourceArns"), ParseTags(in)));
    return std::string();
  });
  add("RemoveTags", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(
        s.RemoveTags(QueryStrings(in, "ResourceArns"), QueryStrings(in, "TagKeys")));
    return std::string();
  });
  add("DescribeTags", [](elb::ElbService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto all, s.DescribeTags(QueryStrings(in, "ResourceArns")));
    XmlOut x;
    x.Open("TagDescriptions");
    for (const auto& [arn, tags] : all) {
      x.Open("member").Leaf("ResourceArn", arn);
      RenderTags(x, tags);
      x.Close("member");
    }
    x.Close("TagDescriptions");
    return x.Take();
  });
  // IAM resources: every load balancer, target group, listener or rule ARN the call names
  // (single or listed); creations and account-wide listings on "*".
  q.resources = [](const std::string&, const QueryParams& params) -> std::vector<std::string> {
    std::vector<std::string> out;
    for (const auto& [key, value] : params) {
      bool single = key == "LoadBalancerArn" || key == "TargetGroupArn" || key == "ListenerArn" ||
                    key == "RuleArn";
      bool listed = key.starts_with("ResourceArns.member.") ||
                    key.starts_with("LoadBalancerArns.member.") ||
                    key.starts_with("TargetGroupArns.member.") ||
                    key.starts_with("ListenerArns.member.") || key.starts_with("RuleArns.member.") ||
                    (key.starts_with("RulePriorities.member.") && key.ends_with(".RuleArn"));
      if ((single || listed) && value.starts_with("arn:")) {
        out.push_back(value);
      }
    }
    return out.empty() ? std::vector<std::string>{"*"} : out;
  };
  return q;
}

}  // namespace berth::api
