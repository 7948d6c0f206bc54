#pragma once
// FrontDoor: the request pipeline every AWS API call goes through.
//
//   detect protocol -> verify SigV4 -> find service (credential scope) and operation
//     -> decode body -> call the operation -> encode the result or render the error
//
// A large body of a raw operation (PutLogEvents) is decoded on a worker thread while the loop
// thread verifies the signature; the operation itself still runs only once the call is
// verified and authorized.
//
// Nothing is served unsigned. Any failure answers with the protocol's error envelope, and an
// exception escaping a handler (a bug) becomes a 500 without taking the server down.

#include <future>
#include <string>

#include "api/http_types.h"
#include "api/service_registry.h"
#include "api/sigv4.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/worker_thread.h"

namespace berth::api {

// IAM as the front door sees it: who is behind a verified non-root key, and may they act.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // An error (ExpiredTokenException, UnrecognizedClientException) when the key or session is
  // no longer valid.
  virtual Result<iam::Principal> PrincipalFor(std::string_view access_key_id,
                                              std::string_view session_token) = 0;
  // OkStatus, or AccessDeniedException with AWS's "User: … is not authorized to perform: …".
  virtual Status Authorize(const iam::Principal& principal, std::string_view action,
                           std::string_view resource) = 0;
};

class FrontDoor {
 public:
  FrontDoor(const ServiceRegistry& services, SigV4Verifier& verifier, core::Clock& clock,
            core::IdSource& ids, std::string region, std::string account_id);
  // Non-root keys are resolved and every call authorized through `authorizer`; without one,
  // only the root key's requests verify at all.
  void SetAuthorizer(Authorizer* authorizer, std::string root_access_key_id) {
    authorizer_ = authorizer;
    root_access_key_id_ = std::move(root_access_key_id);
  }

  HttpResponse Handle(HttpRequest& request);
  // The answer to a request whose body is over the size limit (only its head was read).
  HttpResponse TooLarge(const HttpRequest& head);

 private:
  // `early`: the body's decoding, already running on the decoder (large raw-operation bodies).
  HttpResponse HandleJson(const ProtocolRequest& pr, ApiContext& ctx, HttpRequest& req,
                          std::future<DecodedOperation>& early);
  // Starts decoding a large body of a raw operation on the decoder thread, so that it overlaps
  // with the signature check; an invalid future otherwise.
  std::future<DecodedOperation> DecodeEarly(const ProtocolRequest& pr, const HttpRequest& req);
  HttpResponse HandleQuery(const ProtocolRequest& pr, ApiContext& ctx, HttpRequest& req);

  const ServiceRegistry& services_;
  SigV4Verifier& verifier_;
  core::Clock& clock_;
  core::IdSource& ids_;
  Status Authorize(ApiContext& ctx, const std::string& iam_prefix, const std::string& operation,
                   const std::vector<std::string>& resources);
  bool NeedsAuthorization(const ApiContext& ctx) const {
    return authorizer_ != nullptr && ctx.principal.kind != iam::Principal::Kind::Root;
  }

  std::string region_;
  std::string account_id_;
  Authorizer* authorizer_ = nullptr;
  std::string root_access_key_id_;
  core::WorkerThread decoder_;
};

// Maps SigV4's generic error codes to the protocol's own (query services say
// InvalidClientTokenId where JSON services say UnrecognizedClientException).
Error AuthErrorFor(Protocol protocol, Error error);

}  // namespace berth::api
