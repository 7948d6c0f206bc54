#pragma once
// The four AWS wire protocols berth speaks, how a request tells which one it uses, and how each
// one renders an error so that botocore's parsers read the right code and message.
//
//   awsJson1.0 / 1.1  POST, X-Amz-Target: Prefix.Operation, JSON body      (ECS, Logs, SSM, KMS…)
//   query             POST form body (or GET) with Action=…&Version=…, XML out (ELBv2, IAM, STS)
//   rpc-v2-cbor       POST /service/<Name>/operation/<Op>, smithy-protocol header, CBOR body
//                                                                         (CloudWatch, botocore ≥1.36)

#include <map>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "core/result.h"

namespace berth::api {

enum class Protocol { AwsJson10, AwsJson11, Query, RpcV2Cbor, Unknown };

struct ProtocolRequest {
  Protocol protocol = Protocol::Unknown;
  std::string target_prefix;  // JSON: the part of X-Amz-Target before '.'; CBOR: service name
  std::string operation;      // JSON/CBOR: from the target or path; query: the Action parameter
};

// Tells the protocol from headers, path and (for query) the form body. Never fails: requests
// that match nothing are Protocol::Unknown (answered as JSON errors).
ProtocolRequest DetectProtocol(const HttpRequest& req);

// How a service words its errors on the JSON protocols: most say "message", a few "Message".
struct ErrorStyle {
  const char* message_key = "message";
};

// Renders `error` in the protocol's envelope with the right HTTP status. Internal errors never
// show their message; the request id lets an operator find it in berth's log.
HttpResponse RenderError(Protocol protocol, const Error& error, const std::string& request_id,
                         const ErrorStyle& style = {});

// HTTP status for an error kind.
int HttpStatusFor(ErrorKind kind);

// Decodes an application/x-www-form-urlencoded body (or query string) into name -> value.
// Repeated names keep the last value. Malformed percent escapes are kept literally.
std::map<std::string, std::string> ParseForm(std::string_view form);
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Escapes text for XML element content and attribute values.
std::string XmlEscape(std::string_view text);

}  // namespace berth::api
