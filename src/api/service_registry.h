#pragma once
// ServiceRegistry: which AWS services berth answers and the operations each one has.
// Services are wired in explicitly by src/server (no init-time registration).
//
// JSON-shaped operations serve awsJson1.0/1.1 and rpc-v2-cbor alike (CBOR decodes to the same
// JSON values); query operations take the flat form parameters and return the XML inside
// <OperationResult>.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/protocol/protocol.h"
#include "core/result.h"

namespace berth::api {

struct ApiContext {
  std::string request_id;
  std::string access_key_id;
  std::string region;
  std::string account_id;
  std::string service;  // the SigV4 signing name
  Protocol protocol = Protocol::Unknown;
};

// What a JSON-shaped operation answers: a JSON value, or a document already serialized as JSON
// text (for large replies assembled from cached fragments; the CBOR protocol re-encodes it).
struct JsonReply {
  JsonReply(nlohmann::json v) : value(std::move(v)) {}  // NOLINT: implicit by design
  static JsonReply Raw(std::string text) {
    JsonReply r(nullptr);
    r.raw = std::move(text);
    return r;
  }
  nlohmann::json value;
  std::string raw;  // non-empty: the reply's JSON text, and `value` is unused
};

using JsonOperation = std::function<Result<JsonReply>(const ApiContext&, const nlohmann::json&)>;
// An operation that decodes its own JSON body (bulk data such as PutLogEvents, where a fast
// parser matters). Used for the awsJson protocols; rpc-v2-cbor requests still go through the
// JsonOperation of the same name.
using RawJsonOperation = std::function<Result<JsonReply>(const ApiContext&, std::string_view)>;
using QueryParams = std::map<std::string, std::string>;
using QueryOperation = std::function<Result<std::string>(const ApiContext&, const QueryParams&)>;

struct JsonService {
  std::string signing_name;                  // "ecs"
  std::vector<std::string> target_prefixes;  // "AmazonEC2ContainerServiceV20141113"
  std::string cbor_service_name;             // rpc-v2-cbor path name, empty if not spoken
  ErrorStyle error_style;
  std::map<std::string, JsonOperation> operations;
  std::map<std::string, RawJsonOperation> raw_operations;  // preferred for awsJson when present
};

struct QueryService {
  std::string signing_name;  // "sts"
  std::string xml_namespace;  // "https://sts.amazonaws.com/doc/2011-06-15/"
  std::map<std::string, QueryOperation> operations;
};

class ServiceRegistry {
 public:
  void Add(JsonService service) { json_[service.signing_name] = std::move(service); }
  void Add(QueryService service) { query_[service.signing_name] = std::move(service); }
  const JsonService* FindJson(const std::string& signing_name) const {
    auto it = json_.find(signing_name);
    return it == json_.end() ? nullptr : &it->second;
  }
  const QueryService* FindQuery(const std::string& signing_name) const {
    auto it = query_.find(signing_name);
    return it == query_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, JsonService> json_;
  std::map<std::string, QueryService> query_;
};

}  // namespace berth::api
