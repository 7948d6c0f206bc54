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
#include "iam/iam_types.h"

namespace berth::api {

struct ApiContext {
  std::string request_id;
  std::string access_key_id;
  std::string region;
  std::string account_id;
  std::string service;  // the SigV4 signing name
  Protocol protocol = Protocol::Unknown;
  // Who signed the request (kind Root for the root key).
  iam::Principal principal;
  // Checks the caller's IAM permissions for one more action on one resource, for operations
  // whose resources are only known inside the handler (e.g. kms:Decrypt on the key that
  // protects an SSM SecureString). Returns AccessDenied with AWS's message when not allowed.
  // Always allows for the root key (and when no IAM is wired, as in unit tests).
  std::function<Status(std::string_view action, std::string_view resource)> authorize =
      [](std::string_view, std::string_view) { return OkStatus(); };
  // False while `authorize` allows everything: a hot handler need not work out the ARNs it
  // would check (ten parameter ARNs per GetParameters for the root key).
  bool checks_permissions = false;
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
// The rest of an operation whose body is decoded: runs on the loop thread after the signature
// and IAM checks (and returns the decoding error, if decoding failed).
using DecodedOperation = std::function<Result<JsonReply>(const ApiContext&)>;
// An operation that decodes its own JSON body (bulk data such as PutLogEvents, where a fast
// parser matters). Used for the awsJson protocols; rpc-v2-cbor requests still go through the
// JsonOperation of the same name. `body` is HttpRequest::body (with its spare capacity, see
// there). Decoding must be pure and thread-safe: for a large body the front door decodes on a
// worker thread while the loop thread verifies the signature (hashing a 1 MiB body costs about
// what decoding it does), and drops the result when the request is refused.
using RawJsonOperation = std::function<DecodedOperation(const std::string& body)>;
using QueryParams = std::map<std::string, std::string>;
using QueryOperation = std::function<Result<std::string>(const ApiContext&, const QueryParams&)>;

// The resources an operation acts on, for IAM's check of ACTION on each (ARNs, or "*" for
// actions without resource-level permissions). An empty list means the operation's handler
// checks its resources itself through ApiContext::authorize. Unset: {"*"}.
using JsonResources =
    std::function<std::vector<std::string>(const std::string& operation, const nlohmann::json& input)>;

struct JsonService {
  std::string signing_name;                  // "ecs"
  std::string iam_prefix;                    // IAM action prefix when not the signing name
  JsonResources resources;
  std::vector<std::string> target_prefixes;  // "AmazonEC2ContainerServiceV20141113"
  std::string cbor_service_name;             // rpc-v2-cbor path name, empty if not spoken
  ErrorStyle error_style;
  std::map<std::string, JsonOperation> operations;
  std::map<std::string, RawJsonOperation> raw_operations;  // preferred for awsJson when present
};

using QueryResources =
    std::function<std::vector<std::string>(const std::string& operation,
                                           const std::map<std::string, std::string>& params)>;

struct QueryService {
  std::string signing_name;  // "sts"
  std::string iam_prefix;    // IAM action prefix when not the signing name
  QueryResources resources;  // as JsonService::resources
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
  // The JSON service that answers X-Amz-Target prefix `target_prefix`, known before the
  // signature (which names the signing name) is checked.
  const JsonService* FindJsonByTarget(std::string_view target_prefix) const {
    for (const auto& [name, service] : json_) {
      for (const std::string& p : service.target_prefixes) {
        if (p == target_prefix) {
          return &service;
        }
      }
    }
    return nullptr;
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
