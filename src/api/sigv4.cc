#include "api/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "api/protocol/protocol.h"
#include "core/assert.h"
#include "core/hex.h"
#include "core/time_util.h"
#include "core/text.h"

namespace berth::api {

namespace {

using Digest = std::array<unsigned char, 32>;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr int64_t kMaxSkewSeconds = 15 * 60;
constexpr int64_t kMaxPresignExpiresSeconds = 7 * 24 * 3600;

// Texts AWS's JSON ("coral") services send. Sources: request/response pairs captured from
// DynamoDB and kept as comments in mhart/dynalite's index.js, and the constants of
// dacut/scratchstack-aws-signature (an AWS-compatible verifier tested against AWS).
constexpr std::string_view kMsgMissingToken = "Request is missing Authentication Token";
constexpr std::string_view kMsgUnknownKey =
    "The security token included in the request is invalid.";
constexpr std::string_view kMsgMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

Error Unauthenticated(std::string_view code, std::string message) {
  return MakeError(ErrorKind::Unauthenticated, std::string(code), std::move(message));
}

// ---- SHA-256 and HMAC (core's fast OpenSSL wrappers) -----------------------------------------
std::string_view AsView(const Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }
std::string Sha256HexOf(std::string_view data) { return core::Sha256Hex(data); }
Digest Hmac(std::string_view key, std::string_view data) { return core::HmacSha256(key, data); }
Digest Hmac(const Digest& key, std::string_view data) { return Hmac(AsView(key), data); }

Digest DeriveSigningKey(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k_secret;
  k_secret.reserve(4 + secret.size());
  k_secret.append("AWS4").append(secret);
  Digest k = Hmac(k_secret, date);
  k = Hmac(k, region);
  k = Hmac(k, service);
  return Hmac(k, kTerminator);
}

// ---- small string helpers --------------------------------------------------------------------

using core::AsciiLower;
using core::EqualsIgnoreCase;



// Python's str.split() whitespace, minus the Unicode spaces: botocore trims and collapses
// header values with ' '.join(value.split()).
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Appends `value` trimmed, with each inner run of whitespace replaced by one space.
void AppendTrimAll(std::string* out, std::string_view value) {
  value = Trim(value);
  bool in_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) {
      out->push_back(' ');
      in_space = false;
    }
    out->push_back(c);
  }
}

const std::string_view* FindHeader(const HttpRequestView& req, std::string_view name) {
  for (const auto& [key, value] : req.headers) {
    if (EqualsIgnoreCase(key, name)) {
      return &value;
    }
  }
  return nullptr;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Percent-encodes every byte outside the unreserved set (and '/', if keep_slash), upper-case hex,
// like Python's urllib.parse.quote.
void AppendUriEncoded(std::string* out, std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

// botocore's remove_dot_segments: drops "." and empty segments, resolves "..", keeps a leading
// and (if anything is left) a trailing '/'. Works on the still-encoded path, so "%2E%2E" is a
// name, not a parent reference.
std::string NormalizePath(std::string_view path) {
  if (path.empty()) {
    return "/";
  }
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = end + 1;
  }
  std::string out;
  out.reserve(path.size());
  if (path.front() == '/') {
    out.push_back('/');
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      out.push_back('/');
    }
    out.append(segments[i]);
  }
  if (path.back() == '/' && !segments.empty()) {
    out.push_back('/');
  }
  return out;
}

struct QueryParam {
  std::string key;    // decoded
  std::string value;  // decoded
};

std::vector<QueryParam> ParseQuery(std::string_view query) {
  std::vector<QueryParam> params;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    std::string_view pair = query.substr(start, end - start);
    // Empty pairs ("a=1&&b=2", a trailing '&') carry nothing; botocore never produces them.
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        params.push_back({PercentDecode(pair, false), std::string()});
      } else {
        // '+' stays '+' (SigV4 query strings are not form-encoded); a '%' not followed by two hex
        // digits is kept literally and then re-encoded as %25.
        params.push_back(
            {PercentDecode(pair.substr(0, eq), false), PercentDecode(pair.substr(eq + 1), false)});
      }
    }
    start = end + 1;
  }
  return params;
}

const QueryParam* FindParam(const std::vector<QueryParam>& params, std::string_view key) {
  for (const auto& p : params) {
    if (p.key == key) {
      return &p;
    }
  }
  return nullptr;
}

std::string CanonicalQuery(const std::vector<QueryParam>& params, bool presigned) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& p : params) {
    if (presigned && p.key == "X-Amz-Signature") {
      continue;
    }
    std::string k;
    std::string v;
    AppendUriEncoded(&k, p.key, false);
    AppendUriEncoded(&v, p.value, false);
    encoded.emplace_back(std::move(k), std::move(v));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out.append(k).append("=").append(v);
  }
  return out;
}

struct SplitTarget {
  std::string_view path;
  std::string_view query;
};

SplitTarget Split(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, q), target.substr(q + 1)};
}

// Builds the canonical request from pre-parsed pieces. Sets *missing_header when a signed
// header is absent from the request.
std::string BuildCanonical(const HttpRequestView& req, std::string_view path,
                           std::string_view canonical_query,
                           const std::vector<std::string_view>& signed_headers,
                           std::string_view signed_headers_line, std::string_view payload_hash,
                           bool* missing_header) {
  std::string out;
  out.reserve(256 + req.target.size() * 2 + signed_headers.size() * 48);
  for (char c : req.method) {
    out.push_back(c);
  }
  out.push_back('\n');
  AppendUriEncoded(&out, NormalizePath(path), true);
  out.push_back('\n');
  out.append(canonical_query);
  out.push_back('\n');
  for (std::string_view name : signed_headers) {
    out.append(name);
    out.push_back(':');
    bool found = false;
    for (const auto& [key, value] : req.headers) {
      if (EqualsIgnoreCase(key, name)) {
        if (found) {
          out.push_back(',');
        }
        found = true;
        AppendTrimAll(&out, value);
      }
    }
    if (!found && missing_header != nullptr) {
      *missing_header = true;
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(signed_headers_line);
  out.push_back('\n');
  out.append(payload_hash);
  return out;
}

std::vector<std::string_view> SplitSignedHeaders(std::string_view line) {
  std::vector<std::string_view> names;
  size_t start = 0;
  while (true) {
    size_t end = line.find(';', start);
    names.push_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return names;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string sts;
  sts.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 64 + 3);
  sts.append(kAlgorithm).append("\n").append(amz_date).append("\n").append(scope).append("\n");
  sts.append(Sha256HexOf(canonical_request));
  return sts;
}

std::string Scope(std::string_view date, std::string_view region, std::string_view service) {
  std::string scope;
  scope.reserve(date.size() + region.size() + service.size() + kTerminator.size() + 3);
  scope.append(date).append("/").append(region).append("/").append(service).append("/");
  scope.append(kTerminator);
  return scope;
}

// The request's payload hash as the client signed it.
std::string PayloadHash(const HttpRequestView& req) {
  if (const std::string_view* declared = FindHeader(req, "x-amz-content-sha256")) {
    return std::string(Trim(*declared));
  }
  return Sha256HexOf(req.body);
}

// ---- dates -----------------------------------------------------------------------------------

// RFC 7231 IMF-fixdate as botocore and HTTP clients write it: "Sat, 14 Mar 2026 09:26:53 GMT"
// (botocore's email.utils.formatdate ends in "-0000"). The weekday is optional and unchecked.
std::optional<int64_t> ParseHttpDate(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto digits = [](std::string_view t, size_t pos, size_t n, int* out) {
    if (pos + n > t.size()) {
      return false;
    }
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') {
        return false;
      }
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  size_t comma = s.find(',');
  if (comma != std::string_view::npos) {
    s.remove_prefix(comma + 1);
  }
  s = Trim(s);  // "14 Mar 2026 09:26:53 GMT"
  size_t day_len = (s.size() > 1 && s[1] == ' ') ? 1 : 2;
  int day = 0;
  if (!digits(s, 0, day_len, &day) || s.size() <= day_len || s[day_len] != ' ') {
    return std::nullopt;
  }
  std::string_view rest = s.substr(day_len + 1);  // "Mar 2026 09:26:53 GMT"
  if (rest.size() < 17) {
    return std::nullopt;
  }
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (rest.substr(0, 3) == kMonths[i]) {
      month = i + 1;
    }
  }
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (month == 0 || rest[3] != ' ' || !digits(rest, 4, 4, &year) || rest[8] != ' ' ||
      !digits(rest, 9, 2, &hour) || rest[11] != ':' || !digits(rest, 12, 2, &minute) ||
      rest[14] != ':' || !digits(rest, 15, 2, &second)) {
    return std::nullopt;
  }
  std::string_view zone = Trim(rest.substr(17));
  if (zone != "GMT" && zone != "UT" && zone != "UTC" && zone != "Z" && zone != "+0000" &&
      zone != "-0000") {
    return std::nullopt;
  }
  char basic[17];
  std::snprintf(basic, sizeof basic, "%04d%02d%02dT%02d%02d%02dZ", year, month, day, hour, minute,
                second);
  return core::ParseAmzDate(basic);
}

// ---- Authorization header ----------------------------------------------------------------------

struct AuthFields {
  std::string algorithm;
  std::string credential;
  std::string signed_headers;
  std::string signature;
  std::string date_text;  // X-Amz-Date (header or query) or Date header, as sent
  bool date_from_date_header = false;
  std::string session_token;
  std::optional<std::string> expires;  // presign only
};

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". Like AWS,
// components may be separated by commas, whitespace or both.
Status ParseAuthorization(std::string_view header, AuthFields* f) {
  std::string_view h = Trim(header);
  size_t sp = 0;
  while (sp < h.size() && !IsSpace(h[sp])) {
    ++sp;
  }
  f->algorithm = std::string(h.substr(0, sp));
  std::string_view rest = h.substr(sp);
  bool have_credential = false;
  bool have_signed_headers = false;
  bool have_signature = false;
  size_t i = 0;
  while (i < rest.size()) {
    if (rest[i] == ',' || IsSpace(rest[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < rest.size() && rest[j] != ',' && !IsSpace(rest[j])) {
      ++j;
    }
    std::string_view token = rest.substr(i, j - i);
    i = j;
    size_t eq = token.find('=');
    if (eq == std::string_view::npos) {
      return Unauthenticated("IncompleteSignature",
                             "'" + std::string(token) +
                                 "' not a valid key=value pair (missing equal-sign) in "
                                 "Authorization header: '" +
                                 std::string(h) + "'.");
    }
    std::string_view key = token.substr(0, eq);
    std::string_view value = token.substr(eq + 1);
    // The first occurrence of a component wins.
    if (key == "Credential" && !have_credential) {
      have_credential = true;
      f->credential = std::string(value);
    } else if (key == "SignedHeaders" && !have_signed_headers) {
      have_signed_headers = true;
      f->signed_headers = std::string(value);
    } else if (key == "Signature" && !have_signature) {
      have_signature = true;
      f->signature = std::string(value);
    }
  }
  return OkStatus();
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// ---- SigV4Verifier ------------------------------------------------------------------------------

SigV4Verifier::SigV4Verifier(SecretLookup& secrets) : secrets_(secrets) {}

size_t SigV4Verifier::CachedKeyCount() {
  std::lock_guard<std::mutex> lock(mu_);
  return signing_keys_.size();
}

SigV4Verifier::Key SigV4Verifier::SigningKey(std::string_view secret, std::string_view date,
                                             std::string_view region, std::string_view service) {
  // Length-prefixed so that no two tuples share a cache key whatever bytes they hold.
  std::string cache_key;
  cache_key.reserve(secret.size() + date.size() + region.size() + service.size() + 16);
  for (std::string_view part : {secret, date, region, service}) {
    auto n = static_cast<uint32_t>(part.size());
    cache_key.append(reinterpret_cast<const char*>(&n), sizeof n);
    cache_key.append(part);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = signing_keys_.find(cache_key);
    if (it != signing_keys_.end()) {
      return it->second;
    }
  }
  Key key = DeriveSigningKey(secret, date, region, service);
  std::lock_guard<std::mutex> lock(mu_);
  if (signing_keys_.size() >= kMaxCachedKeys) {
    signing_keys_.clear();
  }
  signing_keys_.emplace(std::move(cache_key), key);
  return key;
}

// Checks run in the order AWS's JSON services run them, so a request with several faults gets
// the same error AWS would give (order recorded in mhart/dynalite from live DynamoDB):
//   1. Authorization header and X-Amz-Algorithm query both present -> InvalidSignatureException
//   2. neither present, or a header not starting with "AWS4-"  -> MissingAuthenticationToken
//   3. header components not key=value / missing Credential, Signature, SignedHeaders or a
//      date (X-Amz-Date or Date) -> IncompleteSignature (all missing ones listed at once)
//   4. date not parseable -> IncompleteSignature
//   5. more than 15 minutes off (then X-Amz-Expires for presigned) -> InvalidSignatureException
//   6. host not in SignedHeaders -> InvalidSignatureException
//   7. algorithm other than AWS4-HMAC-SHA256 -> IncompleteSignature
//   8. Credential not 5 '/'-separated parts (trailing '/' ignored) -> IncompleteSignature
//   9. bad terminator / scope date != request date -> InvalidSignatureException (both listed)
//  10. unknown access key (or session token) -> UnrecognizedClientException
//  11. signature (or a signed header missing) -> InvalidSignatureException
Result<SigV4Identity> SigV4Verifier::Verify(const HttpRequestView& req, int64_t now_epoch_seconds) {
  const std::string_view* auth_header = FindHeader(req, "authorization");
  SplitTarget split = Split(req.target);
  std::vector<QueryParam> params;
  if (!split.query.empty()) {
    params = ParseQuery(split.query);
  }
  const QueryParam* algorithm_param = FindParam(params, "X-Amz-Algorithm");
  const bool presigned = algorithm_param != nullptr;

  // 1-2.
  if (auth_header != nullptr && presigned) {
    return Unauthenticated("InvalidSignatureException",
                           "Found both 'X-Amz-Algorithm' as a query-string param and "
                           "'Authorization' as HTTP header.");
  }
  if (auth_header == nullptr && !presigned) {
    return Unauthenticated("MissingAuthenticationToken", std::string(kMsgMissingToken));
  }

  // 3.
  AuthFields f;
  if (auth_header != nullptr) {
    std::string_view auth = Trim(*auth_header);
    if (auth.substr(0, 5) != "AWS4-") {
      return Unauthenticated("MissingAuthenticationToken", std::string(kMsgMissingToken));
    }
    BERTH_RETURN_IF_ERROR(ParseAuthorization(auth, &f));
    if (const std::string_view* d = FindHeader(req, "x-amz-date")) {
      f.date_text = std::string(Trim(*d));
    } else if (const std::string_view* d2 = FindHeader(req, "date")) {
      f.date_text = std::string(Trim(*d2));
      f.date_from_date_header = true;
    }
    std::string missing;
    for (auto [name, value] :
         {std::pair<std::string_view, const std::string*>{"Credential", &f.credential},
          {"Signature", &f.signature},
          {"SignedHeaders", &f.signed_headers}}) {
      if (value->empty()) {
        missing.append("Authorization header requires '").append(name).append("' parameter. ");
      }
    }
    if (f.date_text.empty()) {
      missing.append(
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
    }
    if (!missing.empty()) {
      return Unauthenticated("IncompleteSignature", missing + "Authorization=" + std::string(auth));
    }
    if (const std::string_view* token = FindHeader(req, "x-amz-security-token")) {
      f.session_token = std::string(Trim(*token));
    }
  } else {
    std::string missing;
    for (auto [name, out] :
         {std::pair<std::string_view, std::string*>{"X-Amz-Algorithm", &f.algorithm},
          {"X-Amz-Credential", &f.credential},
          {"X-Amz-Signature", &f.signature},
          {"X-Amz-SignedHeaders", &f.signed_headers},
          {"X-Amz-Date", &f.date_text}}) {
      const QueryParam* p = FindParam(params, name);
      if (p == nullptr || p->value.empty()) {
        missing.append("AWS query-string parameters must include '").append(name).append("'. ");
      } else {
        *out = p->value;
      }
    }
    if (!missing.empty()) {
      return Unauthenticated("IncompleteSignature",
                             missing + "Re-examine the query-string parameters.");
    }
    if (const QueryParam* token = FindParam(params, "X-Amz-Security-Token")) {
      f.session_token = token->value;
    }
    if (const QueryParam* expires = FindParam(params, "X-Amz-Expires")) {
      f.expires = expires->value;
    }
  }

  // 4. An X-Amz-Date must be ISO 8601 basic; a Date header may also be an HTTP date, whose
  // instant is then signed in basic form (botocore does the same).
  std::optional<int64_t> request_time = core::ParseAmzDate(f.date_text);
  std::string amz_date = f.date_text;
  if (!request_time && f.date_from_date_header) {
    request_time = ParseHttpDate(f.date_text);
    if (request_time) {
      amz_date = core::FormatAmzDate(*request_time);
    }
  }
  if (!request_time) {
    return Unauthenticated("IncompleteSignature",
                           "Date must be in ISO-8601 'basic format'. Got '" + f.date_text +
                               "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }

  // 5.
  if (*request_time < now_epoch_seconds - kMaxSkewSeconds) {
    return Unauthenticated("InvalidSignatureException",
                           "Signature expired: " + core::FormatAmzDate(*request_time) +
                               " is now earlier than " +
                               core::FormatAmzDate(now_epoch_seconds - kMaxSkewSeconds) + " (" +
                               core::FormatAmzDate(now_epoch_seconds) + " - 15 min.)");
  }
  if (*request_time > now_epoch_seconds + kMaxSkewSeconds) {
    return Unauthenticated("InvalidSignatureException",
                           "Signature not yet current: " + core::FormatAmzDate(*request_time) +
                               " is still later than " +
                               core::FormatAmzDate(now_epoch_seconds + kMaxSkewSeconds) + " (" +
                               core::FormatAmzDate(now_epoch_seconds) + " + 15 min.)");
  }
  if (f.expires) {
    // AWS documents these limits only for S3; the texts are S3's. STS is known to ignore
    // X-Amz-Expires (its presigned URLs live 15 minutes); berth honours a shorter one.
    if (!AllDigits(*f.expires) || f.expires->size() > 7) {
      return Unauthenticated("IncompleteSignature", "X-Amz-Expires should be a number");
    }
    int64_t expires = std::stoll(*f.expires);
    if (expires > kMaxPresignExpiresSeconds) {
      return Unauthenticated("IncompleteSignature",
                             "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
    }
    if (now_epoch_seconds - *request_time > expires) {
      // berth's own text, in the shape of the skew message above.
      return Unauthenticated(
          "InvalidSignatureException",
          "Signature expired: " + core::FormatAmzDate(*request_time) + " is now earlier than " +
              core::FormatAmzDate(now_epoch_seconds - expires) + " (" +
              core::FormatAmzDate(now_epoch_seconds) + " - " + *f.expires + " sec.)");
    }
  }

  // 6.
  std::vector<std::string_view> signed_names = SplitSignedHeaders(f.signed_headers);
  if (std::none_of(signed_names.begin(), signed_names.end(),
                   [](std::string_view n) { return EqualsIgnoreCase(n, "host"); })) {
    return Unauthenticated("InvalidSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                           "Authorization.");
  }

  // 7.
  if (f.algorithm != kAlgorithm) {
    return Unauthenticated("IncompleteSignature", "Unsupported AWS 'algorithm': '" + f.algorithm +
                                                      "' (only AWS4-HMAC-SHA256 for now).");
  }

  // 8.
  std::string_view credential = f.credential;
  while (!credential.empty() && credential.back() == '/') {
    credential.remove_suffix(1);
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t slash = credential.find('/', start);
    parts.push_back(
        credential.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  if (parts.size() != 5) {
    return Unauthenticated("IncompleteSignature",
                           "Credential must have exactly 5 slash-delimited elements, e.g. "
                           "keyid/date/region/service/term, got '" +
                               std::string(credential) + "'");
  }
  SigV4Credential cred{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                       std::string(parts[3])};

  // 9. Region and service are not checked here; see SigV4Identity.
  std::string scope_errors;
  if (parts[4] != kTerminator) {
    scope_errors
        .append("Credential should be scoped with a valid terminator: 'aws4_request', not '")
        .append(parts[4])
        .append("'.");
  }
  std::string_view request_day = std::string_view(amz_date).substr(0, 8);
  if (cred.date != request_day) {
    if (!scope_errors.empty()) {
      scope_errors.push_back(' ');
    }
    scope_errors
        .append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '")
        .append(cred.date)
        .append("' != '")
        .append(request_day)
        .append("', from '")
        .append(amz_date)
        .append("'.");
  }
  if (!scope_errors.empty()) {
    return Unauthenticated("InvalidSignatureException", std::move(scope_errors));
  }

  // 10.
  std::optional<std::string> secret = secrets_.SecretFor(cred.access_key_id, f.session_token);
  if (!secret) {
    return Unauthenticated("UnrecognizedClientException", std::string(kMsgUnknownKey));
  }

  // 11.
  std::string payload_hash = PayloadHash(req);
  bool missing_header = false;
  std::string canonical =
      BuildCanonical(req, split.path, CanonicalQuery(params, presigned), signed_names,
                     f.signed_headers, payload_hash, &missing_header);
  std::string scope = Scope(cred.date, cred.region, cred.service);
  std::string string_to_sign = StringToSign(amz_date, scope, canonical);
  Key key = SigningKey(*secret, cred.date, cred.region, cred.service);
  std::string expected = core::HexEncode(AsView(Hmac(key, string_to_sign)));
  bool match = f.signature.size() == expected.size() &&
               CRYPTO_memcmp(f.signature.data(), expected.data(), expected.size()) == 0;
  if (!match || missing_header) {
    // AWS appends both texts it computed; they hold nothing secret and they are what a client
    // author needs to find a canonicalisation bug.
    return Unauthenticated("InvalidSignatureException",
                           std::string(kMsgMismatch) +
                               "\n\nThe Canonical String for this request should have been\n'" +
                               canonical + "'\n\nThe String-to-Sign should have been\n'" +
                               string_to_sign + "'\n");
  }
  // A signed x-amz-content-sha256 vouches for the body only if it is the body's hash. S3 checks
  // this too (XAmzContentSHA256Mismatch); UNSIGNED-PAYLOAD is taken at its word, as botocore
  // sends it only for S3-style streaming uploads.
  if (FindHeader(req, "x-amz-content-sha256") != nullptr && payload_hash != kUnsignedPayload &&
      payload_hash != Sha256HexOf(req.body)) {
    return Unauthenticated("InvalidSignatureException",
                           "The provided 'x-amz-content-sha256' header does not match what was "
                           "computed.");
  }

  return SigV4Identity{std::move(cred.access_key_id), std::move(cred.region),
                       std::move(cred.service), std::move(f.session_token)};
}

// ---- free functions
// -------------------------------------------------------------------------------

std::string CanonicalRequest(const HttpRequestView& req,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, bool presigned) {
  SplitTarget split = Split(req.target);
  std::vector<std::string_view> names(signed_headers.begin(), signed_headers.end());
  std::string line;
  for (const auto& name : signed_headers) {
    if (!line.empty()) {
      line.push_back(';');
    }
    line.append(name);
  }
  return BuildCanonical(req, split.path, CanonicalQuery(ParseQuery(split.query), presigned), names,
                        line, payload_hash, nullptr);
}

std::string SignRequestHeaders(const HttpRequestView& req, const SigV4SigningParams& params) {
  // botocore's SIGNED_HEADERS_BLACKLIST (1.43), plus the Authorization header it replaces.
  static constexpr std::string_view kUnsigned[] = {"authorization",
                                                   "connection",
                                                   "expect",
                                                   "keep-alive",
                                                   "proxy-authenticate",
                                                   "proxy-authorization",
                                                   "te",
                                                   "trailer",
                                                   "transfer-encoding",
                                                   "upgrade",
                                                   "user-agent",
                                                   "x-amzn-trace-id"};
  std::vector<std::string> names;
  for (const auto& [key, value] : req.headers) {
    std::string lower(key.size(), '\0');
    std::transform(key.begin(), key.end(), lower.begin(), AsciiLower);
    if (std::find(std::begin(kUnsigned), std::end(kUnsigned), lower) == std::end(kUnsigned)) {
      names.push_back(std::move(lower));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  BERTH_ASSERT(std::binary_search(names.begin(), names.end(), "host"),
               "SignRequestHeaders needs a Host header");

  std::string_view date = params.amz_date.substr(0, 8);
  std::string canonical = CanonicalRequest(req, names, PayloadHash(req));
  std::string scope = Scope(date, params.region, params.service);
  Digest key = DeriveSigningKey(params.secret_access_key, date, params.region, params.service);
  std::string signature =
      core::HexEncode(AsView(Hmac(key, StringToSign(params.amz_date, scope, canonical))));

  std::string out;
  out.append(kAlgorithm).append(" Credential=").append(params.access_key_id).append("/");
  out.append(scope).append(", SignedHeaders=");
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out.push_back(';');
    }
    out.append(names[i]);
  }
  out.append(", Signature=").append(signature);
  return out;
}

}  // namespace berth::api
