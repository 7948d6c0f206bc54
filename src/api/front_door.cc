#include "api/front_door.h"

#include <chrono>

#include "api/protocol/cbor.h"
#include "core/log.h"

namespace berth::api {

using nlohmann::json;

namespace {

HttpResponse JsonOk(Protocol protocol, JsonReply& reply, const std::string& request_id) {
  HttpResponse res;
  res.headers.emplace_back("x-amzn-RequestId", request_id);
  if (protocol == Protocol::RpcV2Cbor) {
    res.headers.emplace_back("Content-Type", "application/cbor");
    res.headers.emplace_back("smithy-protocol", "rpc-v2-cbor");
    res.body = cbor::Encode(reply.raw.empty() ? reply.value : json::parse(reply.raw));
  } else {
    res.headers.emplace_back("Content-Type", protocol == Protocol::AwsJson10
                                                 ? "application/x-amz-json-1.0"
                                                 : "application/x-amz-json-1.1");
    res.body = reply.raw.empty()
                   ? reply.value.dump(-1, ' ', false, json::error_handler_t::replace)
                   : std::move(reply.raw);
  }
  return res;
}

Error UnknownOperation(const std::string& op) {
  return MakeError(ErrorKind::InvalidArgument, "UnknownOperationException",
                   op.empty() ? "The operation is missing." : "Unknown operation " + op + ".");
}

}  // namespace

Error AuthErrorFor(Protocol protocol, Error error) {
  bool query = protocol == Protocol::Query;
  if (error.aws_code == "MissingAuthenticationToken") {
    error.aws_code = query ? "MissingAuthenticationToken" : "MissingAuthenticationTokenException";
  } else if (error.aws_code == "UnrecognizedClientException" && query) {
    error.aws_code = "InvalidClientTokenId";
  } else if (error.aws_code == "InvalidSignatureException" && query) {
    error.aws_code = "SignatureDoesNotMatch";
  } else if (error.aws_code == "IncompleteSignature" && !query) {
    error.aws_code = "IncompleteSignatureException";
  }
  return error;
}

FrontDoor::FrontDoor(const ServiceRegistry& services, SigV4Verifier& verifier, core::Clock& clock,
                     core::IdSource& ids, std::string region, std::string account_id)
    : services_(services),
      verifier_(verifier),
      clock_(clock),
      ids_(ids),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {}

HttpResponse FrontDoor::TooLarge(const HttpRequest& head) {
  ProtocolRequest pr = DetectProtocol(head);
  return RenderError(pr.protocol,
                     MakeError(ErrorKind::PayloadTooLarge, "RequestEntityTooLarge",
                               "Request body exceeds the maximum allowed size."),
                     ids_.NewUuid());
}

std::future<DecodedOperation> FrontDoor::DecodeEarly(const ProtocolRequest& pr,
                                                     const HttpRequest& req) {
  // Below this, handing the body to another thread costs more than the overlap saves.
  constexpr size_t kEarlyDecodeBytes = 128 * 1024;
  if (req.body.size() < kEarlyDecodeBytes ||
      (pr.protocol != Protocol::AwsJson10 && pr.protocol != Protocol::AwsJson11)) {
    return {};
  }
  const JsonService* service = services_.FindJsonByTarget(pr.target_prefix);
  if (service == nullptr) {
    return {};
  }
  auto raw = service->raw_operations.find(pr.operation);
  if (raw == service->raw_operations.end()) {
    return {};
  }
  const std::string* body = &req.body;
  const RawJsonOperation* decode = &raw->second;
  return decoder_.Submit([decode, body] { return (*decode)(*body); });
}

HttpResponse FrontDoor::Handle(HttpRequest& req) {
  auto started = std::chrono::steady_clock::now();
  ApiContext ctx;
  ctx.request_id = ids_.NewUuid();
  ctx.region = region_;
  ctx.account_id = account_id_;
  ProtocolRequest pr = DetectProtocol(req);
  ctx.protocol = pr.protocol;
  std::future<DecodedOperation> early = DecodeEarly(pr, req);
  // The decoder reads req.body: whatever path this call returns by, wait for it first.
  core::JoinOnExit join_early(early);

  HttpRequestView view;
  view.method = req.method;
  view.target = req.target;
  view.body = req.body;
  view.headers.reserve(req.headers.size());
  for (const auto& [k, v] : req.headers) {
    view.headers.emplace_back(k, v);
  }
  auto identity = verifier_.Verify(view, clock_.NowMillis() / 1000);
  if (!identity.ok()) {
    return RenderError(pr.protocol, AuthErrorFor(pr.protocol, identity.error()), ctx.request_id);
  }
  ctx.access_key_id = identity->access_key_id;
  ctx.service = identity->service;
  if (authorizer_ != nullptr &&
      (identity->access_key_id != root_access_key_id_ || !identity->session_token.empty())) {
    auto principal = authorizer_->PrincipalFor(identity->access_key_id, identity->session_token);
    if (!principal.ok()) {
      Error e = principal.error();
      if (pr.protocol == Protocol::Query) {
        e.aws_code = e.aws_code == "ExpiredTokenException" ? "ExpiredToken" : "InvalidClientTokenId";
      }
      return RenderError(pr.protocol, e, ctx.request_id);
    }
    ctx.principal = std::move(principal).value();
    ctx.authorize = [this, &ctx](std::string_view action, std::string_view resource) {
      return authorizer_->Authorize(ctx.principal, action, resource);
    };
    ctx.checks_permissions = true;
  }

  HttpResponse res;
  try {
    res = pr.protocol == Protocol::Query ? HandleQuery(pr, ctx, req)
                                         : HandleJson(pr, ctx, req, early);
  } catch (const json::exception& e) {
    // A value of the wrong type reached a handler: the request is malformed, as AWS's own
    // deserializer would say.
    res = RenderError(pr.protocol,
                      MakeError(ErrorKind::InvalidArgument, "SerializationException",
                                std::string("Malformed request: ") + e.what()),
                      ctx.request_id);
  } catch (const std::exception& e) {
    spdlog::error("request {} {}.{}: unexpected exception: {}", ctx.request_id, ctx.service,
                  pr.operation, e.what());
    res = RenderError(pr.protocol, InternalError(e.what()), ctx.request_id);
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
  spdlog::debug("{} {}.{} -> {} ({} us)", ctx.request_id, ctx.service, pr.operation, res.status,
                micros);
  return res;
}

HttpResponse FrontDoor::HandleJson(const ProtocolRequest& pr, ApiContext& ctx, HttpRequest& req,
                                   std::future<DecodedOperation>& early) {
  const JsonService* service = services_.FindJson(ctx.service);
  if (service == nullptr) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "UnknownOperationException",
                                 "berth does not serve the service '" + ctx.service + "' yet."),
                       ctx.request_id);
  }
  if (pr.protocol == Protocol::Unknown) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "UnknownOperationException",
                                 "The request names no operation (X-Amz-Target is missing)."),
                       ctx.request_id, service->error_style);
  }
  bool prefix_ok = false;
  if (pr.protocol == Protocol::RpcV2Cbor) {
    prefix_ok = !service->cbor_service_name.empty() && pr.target_prefix == service->cbor_service_name;
  } else {
    for (const std::string& p : service->target_prefixes) {
      prefix_ok = prefix_ok || p == pr.target_prefix;
    }
  }
  auto op = service->operations.find(pr.operation);
  if (!prefix_ok || op == service->operations.end()) {
    return RenderError(pr.protocol, UnknownOperation(pr.operation), ctx.request_id,
                       service->error_style);
  }
  if (pr.protocol != Protocol::RpcV2Cbor) {
    if (auto raw = service->raw_operations.find(pr.operation); raw != service->raw_operations.end()) {
      // Bulk operations decode their own body: authorized on "*" before it is read.
      if (Status s = Authorize(ctx, service->iam_prefix, pr.operation, {"*"}); !s.ok()) {
        return RenderError(pr.protocol, s.error(), ctx.request_id, service->error_style);
      }
      DecodedOperation run = early.valid() ? early.get() : raw->second(req.body);
      Result<JsonReply> out = run(ctx);
      if (!out.ok()) {
        return RenderError(pr.protocol, out.error(), ctx.request_id, service->error_style);
      }
      return JsonOk(pr.protocol, *out, ctx.request_id);
    }
  }
  json input;
  if (pr.protocol == Protocol::RpcV2Cbor) {
    if (req.body.empty()) {
      input = json::object();
    } else {
      auto decoded = cbor::Decode(req.body);
      if (!decoded.ok()) {
        return RenderError(pr.protocol, decoded.error(), ctx.request_id, service->error_style);
      }
      input = std::move(decoded).value();
    }
  } else {
    input = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (input.is_discarded()) {
      return RenderError(pr.protocol,
                         MakeError(ErrorKind::InvalidArgument, "SerializationException",
                                   "The request body is not valid JSON."),
                         ctx.request_id, service->error_style);
    }
  }
  if (!input.is_object()) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "SerializationException",
                                 "The request body must be a structure (an object)."),
                       ctx.request_id, service->error_style);
  }
  if (NeedsAuthorization(ctx)) {  // (resources are only worked out for non-root callers)
    if (Status s = Authorize(ctx, service->iam_prefix, pr.operation,
                             service->resources ? service->resources(pr.operation, input)
                                                : std::vector<std::string>{"*"});
        !s.ok()) {
      return RenderError(pr.protocol, s.error(), ctx.request_id, service->error_style);
    }
  }
  Result<JsonReply> out = op->second(ctx, input);
  if (!out.ok()) {
    if (out.error().kind == ErrorKind::Internal) {
      spdlog::error("request {} {}.{}: {}", ctx.request_id, ctx.service, pr.operation,
                    out.error().message);
    }
    return RenderError(pr.protocol, out.error(), ctx.request_id, service->error_style);
  }
  return JsonOk(pr.protocol, *out, ctx.request_id);
}

HttpResponse FrontDoor::HandleQuery(const ProtocolRequest& pr, ApiContext& ctx, HttpRequest& req) {
  const QueryService* service = services_.FindQuery(ctx.service);
  if (service == nullptr) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "InvalidAction",
                                 "berth does not serve the service '" + ctx.service + "' yet."),
                       ctx.request_id);
  }
  QueryParams params = ParseForm(req.method == "GET" ? req.Query() : std::string_view(req.body));
  if (pr.operation.empty()) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "MissingAction",
                                 "The request must contain the parameter Action."),
                       ctx.request_id);
  }
  auto op = service->operations.find(pr.operation);
  if (op == service->operations.end()) {
    return RenderError(pr.protocol,
                       MakeError(ErrorKind::InvalidArgument, "InvalidAction",
                                 "Could not find operation " + pr.operation + " for version " +
                                     params["Version"]),
                       ctx.request_id);
  }
  if (NeedsAuthorization(ctx)) {
    if (Status s = Authorize(ctx, service->iam_prefix, pr.operation,
                             service->resources ? service->resources(pr.operation, params)
                                                : std::vector<std::string>{"*"});
        !s.ok()) {
      Error e = s.error();
      e.aws_code = "AccessDenied";
      return RenderError(pr.protocol, e, ctx.request_id);
    }
  }
  Result<std::string> inner = op->second(ctx, params);
  if (!inner.ok()) {
    if (inner.error().kind == ErrorKind::Internal) {
      spdlog::error("request {} {}.{}: {}", ctx.request_id, ctx.service, pr.operation,
                    inner.error().message);
    }
    return RenderError(pr.protocol, inner.error(), ctx.request_id);
  }
  HttpResponse res;
  res.headers.emplace_back("x-amzn-RequestId", ctx.request_id);
  res.headers.emplace_back("Content-Type", "text/xml");
  const std::string& name = pr.operation;
  res.body = "<" + name + "Response xmlns=\"" + service->xml_namespace + "\"><" + name +
             "Result>" + *inner + "</" + name + "Result><ResponseMetadata><RequestId>" +
             ctx.request_id + "</RequestId></ResponseMetadata></" + name + "Response>";
  return res;
}

Status FrontDoor::Authorize(ApiContext& ctx, const std::string& iam_prefix,
                            const std::string& operation,
                            const std::vector<std::string>& resources) {
  if (authorizer_ == nullptr || ctx.principal.kind == iam::Principal::Kind::Root) {
    return OkStatus();
  }
  std::string action = (iam_prefix.empty() ? ctx.service : iam_prefix) + ":" + operation;
  for (const std::string& resource : resources) {
    BERTH_RETURN_IF_ERROR(authorizer_->Authorize(ctx.principal, action, resource));
  }
  return OkStatus();
}

}  // namespace berth::api
