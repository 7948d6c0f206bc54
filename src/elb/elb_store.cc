#include "elb/elb_store.h"

#include <optional>

#include <nlohmann/json.hpp>

namespace nlohmann {
// std::optional as "absent or the value" (nlohmann 3.11.2 has no built-in mapping).
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& v) {
    if (v) {
      j = *v;
    } else {
      j = nullptr;
    }
  }
  static void from_json(const json& j, std::optional<T>& v) {
    if (j.is_null()) {
      v.reset();
    } else {
      v = j.get<T>();
    }
  }
};
}  // namespace nlohmann

namespace berth::elb {

// The stored form of each resource: every field, by its C++ name; missing fields keep their
// defaults, so adding a field needs no migration.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AvailabilityZone, zone_name, subnet_id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LoadBalancer, arn, name, id, dns_name, scheme,
                                                type, ip_address_type, vpc_id, state, zones,
                                                security_groups, created_ms, attributes, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Matcher, http_code)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HealthCheck, enabled, protocol, port, path,
                                                interval_seconds, timeout_seconds,
                                                healthy_threshold, unhealthy_threshold, matcher)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Target, id, port, availability_zone)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TargetGroup, arn, name, protocol,
                                                protocol_version, port, vpc_id, target_type,
                                                ip_address_type, health_check, attributes,
                                                targets, created_ms, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TargetGroupTuple, target_group_arn, weight)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RuleAction, type, order, target_group_arn,
                                                forward_groups, stickiness_enabled,
                                                stickiness_duration, fixed_status_code,
                                                fixed_content_type, fixed_body, redirect_protocol,
                                                redirect_port, redirect_host, redirect_path,
                                                redirect_query, redirect_status_code)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(QueryStringPair, key, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RuleCondition, field, values, http_header_name,
                                                query_pairs, legacy_values)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Certificate, certificate_arn, is_default)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Listener, arn, load_balancer_arn, protocol, port,
                                                bound_port, ssl_policy, certificates,
                                                default_actions, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Rule, arn, listener_arn, priority, is_default,
                                                conditions, actions, tags)

namespace {

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "elb: load balancers, target groups, listeners, rules", R"sql(
CREATE TABLE IF NOT EXISTS elb_resources (
  arn TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS elb_resources_by_kind ON elb_resources (kind, created_ms);
)sql"},
  };
  return kMigrations;
}

template <typename T>
Result<std::vector<T>> Decode(Result<std::vector<std::string>> docs) {
  BERTH_TRY(auto texts, std::move(docs));
  std::vector<T> out;
  out.reserve(texts.size());
  for (const std::string& text : texts) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      return InternalError("corrupt JSON document in the elb store");
    }
    try {
      out.push_back(j.get<T>());
    } catch (const nlohmann::json::exception& e) {
      return InternalError(std::string("unreadable document in the elb store: ") + e.what());
    }
  }
  return out;
}

}  // namespace

Status ElbStore::Migrate() { return store::ApplyMigrations(db_, "elb", Migrations()); }

Status ElbStore::PutDoc(const std::string& arn, const char* kind, int64_t created_ms,
                        const std::string& doc) {
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO elb_resources (arn, kind, created_ms, doc) "
                                   "VALUES (?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE SET "
                                   "doc = excluded.doc"));
  stmt.Bind(1, arn).Bind(2, kind).Bind(3, created_ms).Bind(4, doc);
  return stmt.Run();
}

Status ElbStore::Put(const LoadBalancer& lb) {
  return PutDoc(lb.arn, "lb", lb.created_ms, nlohmann::json(lb).dump());
}
Status ElbStore::Put(const TargetGroup& tg) {
  return PutDoc(tg.arn, "tg", tg.created_ms, nlohmann::json(tg).dump());
}
Status ElbStore::Put(const Listener& listener) {
  return PutDoc(listener.arn, "listener", 0, nlohmann::json(listener).dump());
}
Status ElbStore::Put(const Rule& rule) {
  return PutDoc(rule.arn, "rule", 0, nlohmann::json(rule).dump());
}

Status ElbStore::Delete(const std::string& arn) {
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM elb_resources WHERE arn = ?"));
  stmt.Bind(1, arn);
  return stmt.Run();
}

Result<std::vector<std::string>> ElbStore::Docs(const char* kind) {
  BERTH_TRY(auto stmt,
            db_.Prepare("SELECT doc FROM elb_resources WHERE kind = ? ORDER BY created_ms, rowid"));
  stmt.Bind(1, kind);
  std::vector<std::string> out;
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    out.push_back(stmt.ColumnText(0));
  }
  return out;
}

Result<std::vector<LoadBalancer>> ElbStore::LoadBalancers() {
  return Decode<LoadBalancer>(Docs("lb"));
}
Result<std::vector<TargetGroup>> ElbStore::TargetGroups() {
  return Decode<TargetGroup>(Docs("tg"));
}
Result<std::vector<Listener>> ElbStore::Listeners() { return Decode<Listener>(Docs("listener")); }
Result<std::vector<Rule>> ElbStore::Rules() { return Decode<Rule>(Docs("rule")); }

}  // namespace berth::elb
