#pragma once
// AWS Signature Version 4 (AWS4-HMAC-SHA256): verifies signed requests and signs berth's own.
//
// Canonicalisation follows botocore's SigV4Auth for non-S3 services, which is what the aws CLI
// and boto3 send, plus the AWS server rule that query parameters are percent-decoded and
// re-encoded before sorting:
//   - canonical URI: the raw path with dot segments and empty segments removed (botocore's
//     remove_dot_segments), then percent-encoded again keeping A-Za-z0-9-_.~ and '/' (so an
//     incoming "%20" is signed as "%2520": AWS double-encodes paths outside S3); "" -> "/".
//   - canonical query: '&'-separated k=v pairs (a missing '=' means an empty value), decoded,
//     re-encoded keeping only A-Za-z0-9-_.~ (space -> %20, '+' -> %2B), sorted by key then value.
//   - canonical headers: for each SignedHeaders name, every header of that name (any case) with
//     its value trimmed and inner whitespace runs collapsed to one space, joined with ','.
//   - payload hash: the x-amz-content-sha256 header if present, else hex SHA-256 of the body.
// Error codes are protocol-neutral (`IncompleteSignature`, `InvalidSignatureException`, ...);
// the protocol layer renames them for JSON or query clients. The texts copy what AWS's JSON
// services (the "coral" front end shared by ECS, Logs, DynamoDB, ...) answer.

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"

namespace berth::api {

// What the HTTP layer hands over. All views are borrowed and must outlive the call.
struct HttpRequestView {
  std::string_view method;  // "POST"
  // Raw request-target as received (origin form): path plus optional "?query", still
  // percent-encoded.
  std::string_view target;
  // As received: any case, possibly repeated, in arrival order.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

// The parts of a Credential ("AKID/20130524/us-east-1/ecs/aws4_request").
struct SigV4Credential {
  std::string access_key_id;
  std::string date;  // yyyymmdd
  std::string region;
  std::string service;
};

// Who signed a verified request. region and service come from the credential scope and are
// not checked against anything: the caller routes on them or rejects them.
struct SigV4Identity {
  std::string access_key_id;
  std::string region;
  std::string service;
  std::string session_token;  // X-Amz-Security-Token (header or presign query), "" if absent
};

// Where secrets come from; implemented by berth's credential store / IAM.
class SecretLookup {
 public:
  virtual ~SecretLookup() = default;
  // Returns the secret access key for an access key id, or nullopt if the key is unknown (or
  // the session token does not belong to it). session_token is "" when the request carries
  // none. Called on the thread that calls Verify.
  virtual std::optional<std::string> SecretFor(std::string_view access_key_id,
                                               std::string_view session_token) = 0;
};

// Verifies header-signed (Authorization: AWS4-HMAC-SHA256 ...) and presigned
// (?X-Amz-Algorithm=...&X-Amz-Signature=...) requests.
//
// Thread-safe: the signing-key cache is behind a mutex. `secrets` must outlive the verifier and
// must itself be safe to call from every thread that calls Verify.
class SigV4Verifier {
 public:
  explicit SigV4Verifier(SecretLookup& secrets);
  SigV4Verifier(const SigV4Verifier&) = delete;
  SigV4Verifier& operator=(const SigV4Verifier&) = delete;

  // Verifies `req` as of now_epoch_seconds. The request time (X-Amz-Date, else the Date header)
  // must be at most 15 minutes away from now, either side; a presigned request must also be
  // within its X-Amz-Expires. On success returns the signer's identity. On failure returns an
  // ErrorKind::Unauthenticated error whose aws_code is one of MissingAuthenticationToken,
  // IncompleteSignature, InvalidSignatureException or UnrecognizedClientException, checked in
  // the order AWS checks them (see sigv4.cc).
  Result<SigV4Identity> Verify(const HttpRequestView& req, int64_t now_epoch_seconds);

  // Number of derived signing keys currently cached (for tests).
  size_t CachedKeyCount();

 private:
  using Key = std::array<unsigned char, 32>;
  // Returns kSigning for (secret, date, region, service), deriving and caching it on a miss.
  Key SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service);

  static constexpr size_t kMaxCachedKeys = 1024;

  SecretLookup& secrets_;
  std::mutex mu_;  // guards signing_keys_
  // Length-prefixed (secret, date, region, service) -> kSigning; cleared when it grows past
  // kMaxCachedKeys (keys are per day, so the working set is tiny).
  std::unordered_map<std::string, Key> signing_keys_;
};

// Builds the SigV4 canonical request (the text that is hashed into the string to sign).
// signed_headers are used as given, in the given order, for both the header lines and the
// SignedHeaders line; a signed header absent from `req` contributes "name:" (Verify rejects
// such requests outright). With `presigned`, X-Amz-Signature is left out of the query.
std::string CanonicalRequest(const HttpRequestView& req,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, bool presigned = false);

struct SigV4SigningParams {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view region;
  std::string_view service;
  std::string_view amz_date;  // "20130524T000000Z"
};

// Signs `req` the way botocore's SigV4Auth does and returns the Authorization header value,
// "AWS4-HMAC-SHA256 Credential=.../aws4_request, SignedHeaders=..., Signature=...".
// Every header in `req` is signed (names lowercased, sorted, deduplicated) except
// Authorization and the hop-by-hop/volatile ones botocore skips (User-Agent, Expect,
// Transfer-Encoding, Connection, X-Amzn-Trace-Id, ...).
// REQUIRES: req.headers contains Host, and X-Amz-Date equal to params.amz_date (or a Date
// header for that instant); a session token, if any, is already in X-Amz-Security-Token.
std::string SignRequestHeaders(const HttpRequestView& req, const SigV4SigningParams& params);

}  // namespace berth::api
