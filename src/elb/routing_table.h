#pragma once
// RoutingTable: the load balancer as the data plane sees it. The control plane (ElbService)
// builds an immutable snapshot from its store and publishes it to the proxy through DataPlane;
// the proxy's event loops pick the newest snapshot up without locks on the request path.
//
// Backend objects are shared between successive snapshots (same target → same object): the
// proxy counts in-flight requests there, and the control plane reads that count to finish a
// deregistration early, as ALB does when a draining target has nothing in flight.
//
// Which targets receive requests is decided by the control plane (healthy targets only; a
// draining target is left out of `routable` at once) and changes by publishing a new table.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace berth::elb {

struct Backend {
  Backend(std::string ip_in, uint16_t port_in) : ip(std::move(ip_in)), port(port_in) {}
  const std::string ip;  // IPv4 dotted quad, e.g. "127.0.0.1"
  const uint16_t port;
  std::atomic<int64_t> in_flight{0};        // requests sent to this backend, not yet answered
  std::atomic<uint64_t> requests_total{0};  // for metrics and tests
};

// Counters per target group, shared between snapshots (metrics read them later).
struct TargetGroupStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> target_2xx{0}, target_3xx{0}, target_4xx{0}, target_5xx{0};
  std::atomic<uint64_t> elb_502{0}, elb_503{0}, elb_504{0};
  std::atomic<uint64_t> target_response_micros_total{0};  // sum over answered requests
};

enum class Algorithm : uint8_t { RoundRobin, LeastOutstandingRequests };

struct TargetGroupRoute {
  std::string arn;
  std::vector<std::shared_ptr<Backend>> routable;  // healthy, not draining; may be empty (→ 503)
  Algorithm algorithm = Algorithm::RoundRobin;
  bool stickiness = false;            // lb_cookie: AWSALB cookie names the backend
  uint32_t stickiness_seconds = 86400;
  std::shared_ptr<TargetGroupStats> stats;
};

// One value list of a rule condition. Values may contain '*' and '?' wildcards (ALB semantics:
// host-header case-insensitive, path-pattern case-sensitive, http-header values
// case-insensitive, query-string keys/values case-insensitive).
enum class ConditionField : uint8_t {
  HostHeader, PathPattern, HttpHeader, QueryString, HttpRequestMethod, SourceIp
};

struct QueryPair {
  std::string key;  // empty: any key
  std::string value;
};

struct Condition {
  ConditionField field = ConditionField::PathPattern;
  std::string header_name;          // HttpHeader only
  std::vector<std::string> values;  // any one matching is enough (QueryString uses `pairs`)
  std::vector<QueryPair> pairs;     // QueryString only
};

struct WeightedTargetGroup {
  std::shared_ptr<const TargetGroupRoute> group;
  uint32_t weight = 1;  // 0..999
};

enum class ActionKind : uint8_t { Forward, FixedResponse, Redirect };

struct Action {
  ActionKind kind = ActionKind::Forward;
  // Forward
  std::vector<WeightedTargetGroup> forward;
  bool group_stickiness = false;  // TargetGroupStickinessConfig: stay on the chosen group
  uint32_t group_stickiness_seconds = 0;
  // FixedResponse
  int status_code = 200;
  std::string content_type;  // text/plain, text/css, text/html, application/javascript, application/json
  std::string body;
  // Redirect: each field may use #{protocol} #{host} #{port} #{path} #{query}; empty = keep
  std::string redirect_protocol, redirect_host, redirect_port, redirect_path, redirect_query;
  int redirect_status = 301;  // HTTP_301 or HTTP_302
};

// All conditions must match (an empty list matches everything: the default rule).
struct RuleRoute {
  int priority = 0;  // lower first; the default rule comes last
  std::vector<Condition> conditions;
  Action action;
};

struct ListenerRoute {
  std::string id;                // the listener ARN
  std::vector<RuleRoute> rules;  // already sorted by priority, default rule last
  uint32_t idle_timeout_seconds = 60;  // the load balancer's idle_timeout.timeout_seconds
  std::string access_log_path;   // empty: no access log; else ALB's format, one line per request
  std::string load_balancer_id;  // "app/NAME/ID", the access log's elb field
};

struct RoutingTable {
  uint64_t version = 0;
  std::vector<ListenerRoute> listeners;
  const ListenerRoute* Find(const std::string& id) const {
    for (const ListenerRoute& l : listeners) {
      if (l.id == id) {
        return &l;
      }
    }
    return nullptr;
  }
};

struct TlsMaterial {
  std::string certificate_pem;  // leaf first, then the chain
  std::string private_key_pem;
};

// The port the control plane drives the data plane through (implemented by proxy::Proxy).
// Called from the control thread only.
class DataPlane {
 public:
  virtual ~DataPlane() = default;
  // Binds address:port now (so a port in use is reported to the API caller) and starts
  // accepting; requests are routed by the ListenerRoute with the same id in the newest table.
  // port 0 binds any free port. Returns the bound port. `tls` null: plain HTTP.
  virtual Result<uint16_t> OpenListener(const std::string& id, const std::string& address,
                                        uint16_t port, const TlsMaterial* tls) = 0;
  // Stops accepting and closes the listener's client connections.
  virtual void CloseListener(const std::string& id) = 0;
  virtual void Publish(std::shared_ptr<const RoutingTable> table) = 0;
  // Closes every connection to `backend` now (deregistration delay expired); requests still in
  // flight on them are answered 502 to their clients.
  virtual void CloseConnectionsTo(const std::shared_ptr<Backend>& backend) = 0;
};

}  // namespace berth::elb
