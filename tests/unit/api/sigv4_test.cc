// Known-answer tests for the SigV4 verifier and signer.
//
// The vectors below were produced by botocore's SigV4Auth / SigV4QueryAuth (pip botocore 1.43.11
// and Debian's python3-botocore 1.29.27 gave byte-identical results) with the clock pinned to
// 2026-03-14T09:26:53Z, access key AKIDBERTHEXAMPLE0001 and the secret below. Each records the
// request as it goes on the wire (headers in botocore's order, Authorization included), botocore's
// canonical request and its Authorization header.

#include "api/sigv4.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/hex.h"

namespace berth::api {
namespace {

using namespace std::literals;

constexpr std::string_view kAccessKey = "AKIDBERTHEXAMPLE0001";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYBERTHSECRET";
constexpr std::string_view kMismatchPrefix =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

struct Vector {
  std::string_view name;
  std::string_view method;
  std::string_view target;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
  std::string_view region;
  std::string_view service;
  std::string_view amz_date;
  int64_t epoch = 0;  // amz_date as epoch seconds
  std::string_view session_token;
  std::string_view authorization;  // botocore's Authorization header; "" for a presigned URL
  std::string_view canonical;      // botocore's canonical request
  std::vector<std::string> signed_headers;

  bool presigned() const { return authorization.empty(); }
};

// (a) ECS JSON 1.1, with an unsigned User-Agent and a signed header full of whitespace;
// (b) ELBv2 query-protocol form POST whose body holds spaces, '+', '/', '&', '=', '%' and UTF-8;
// (c) GET with reserved characters, repeated keys, an empty value, a key without '=' and UTF-8;
// (d) rpc-v2-cbor path with a binary body, and a Lambda-style path with %20, %3A, %7E, "./",
//     "x/../" and "//";
// (e) session token; (f) Date header instead of X-Amz-Date; (g) presigned STS URL (60 s).
const std::vector<Vector>& Vectors() {
  static const std::vector<Vector> vectors = {
      {
          .name = "EcsJson11",
          .method = "POST",
          .target = "/",
          .headers =
              {
                  {"Host", "ecs.us-east-1.amazonaws.com"},
                  {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
                  {"Content-Type", "application/x-amz-json-1.1"},
                  {"User-Agent", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.4.5"},
                  {"X-Berth-Spacey", "  a   b \t c  "},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/ecs/aws4_request, "
                   "SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-berth-spacey, "
                   "Signature=2df1b20113cfd9750b41060f38e62ecbca8627787b8434131c5915a425be7319"},
              },
          .body = "{\"maxResults\": 10, \"nextToken\": \"abc/def+ghi=\"}"sv,
          .region = "us-east-1",
          .service = "ecs",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/ecs/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-berth-spacey, "
              "Signature=2df1b20113cfd9750b41060f38e62ecbca8627787b8434131c5915a425be7319",
          .canonical = "POST\n"
                       "/\n"
                       "\n"
                       "content-type:application/x-amz-json-1.1\n"
                       "host:ecs.us-east-1.amazonaws.com\n"
                       "x-amz-date:20260314T092653Z\n"
                       "x-amz-target:AmazonEC2ContainerServiceV20141113.ListClusters\n"
                       "x-berth-spacey:a b c\n"
                       "\n"
                       "content-type;host;x-amz-date;x-amz-target;x-berth-spacey\n"
                       "04d00ba2cc8ceec9d7fae07dd5f541adb4edd413157f4fb9def9e56d016294d5",
          .signed_headers = {"content-type", "host", "x-amz-date", "x-amz-target",
                             "x-berth-spacey"},
      },
      {
          .name = "ElbQueryFormPost",
          .method = "POST",
          .target = "/",
          .headers =
              {
                  {"Host", "127.0.0.1:9900"},
                  {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/eu-west-1/elasticloadbalancing/"
                   "aws4_request, "
                   "SignedHeaders=content-type;host;x-amz-date, "
                   "Signature=fcfc56973d28ccd29d95adb5f2bc3ee2eb308aa7a5175c58b008750c7f5bd064"},
              },
          .body = "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member"
                  ".1=my+lb%2B1%2F%C3%A9%2A~&Marker=a+b%26c%3Dd%25e"sv,
          .region = "eu-west-1",
          .service = "elasticloadbalancing",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/eu-west-1/elasticloadbalancing/"
              "aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date, "
              "Signature=fcfc56973d28ccd29d95adb5f2bc3ee2eb308aa7a5175c58b008750c7f5bd064",
          .canonical = "POST\n"
                       "/\n"
                       "\n"
                       "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                       "host:127.0.0.1:9900\n"
                       "x-amz-date:20260314T092653Z\n"
                       "\n"
                       "content-type;host;x-amz-date\n"
                       "b7d010da5016d44d2611f3d44756ada95dc7df8581e4577cbb82addfcb5eb348",
          .signed_headers = {"content-type", "host", "x-amz-date"},
      },
      {
          .name = "GetReservedQuery",
          .method = "GET",
          .target =
              "/?Action=ListMetrics&Version=2010-08-01&b=2&a=2&a=1&a=10&Namespace=AWS%2FEC2&c=%"
              "2F%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%20x~&%C3%A9t%C3%A9=%E2%9C%93&empty=&no"
              "value",
          .headers =
              {
                  {"Host", "monitoring.us-east-2.amazonaws.com"},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-2/monitoring/aws4_request, "
                   "SignedHeaders=host;x-amz-date, "
                   "Signature=64e8d75690cea19daa594f8972a5b2fb1984857771e569f11f6fc9392442662b"},
              },
          .body = ""sv,
          .region = "us-east-2",
          .service = "monitoring",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-2/monitoring/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=64e8d75690cea19daa594f8972a5b2fb1984857771e569f11f6fc9392442662b",
          .canonical = "GET\n"
                       "/\n"
                       "%C3%A9t%C3%A9=%E2%9C%93&Action=ListMetrics&Namespace=AWS%2FEC2&"
                       "Version=2010-08-01&a=1&a=10&a=2&b=2&"
                       "c=%2F%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%20x~&empty=&novalue=\n"
                       "host:monitoring.us-east-2.amazonaws.com\n"
                       "x-amz-date:20260314T092653Z\n"
                       "\n"
                       "host;x-amz-date\n"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          .signed_headers = {"host", "x-amz-date"},
      },
      {
          .name = "RpcV2CborPath",
          .method = "POST",
          .target = "/service/GraniteServiceVersion20100801/operation/GetMetricData",
          .headers =
              {
                  {"Host", "localhost:4566"},
                  {"Smithy-Protocol", "rpc-v2-cbor"},
                  {"Content-Type", "application/cbor"},
                  {"Accept", "application/cbor"},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-west-2/monitoring/aws4_request, "
                   "SignedHeaders=accept;content-type;host;smithy-protocol;x-amz-date, "
                   "Signature=16ed73fdffb6b402e6cfdde4f23c062693ce14778df3402e353f43cd813e1362"},
              },
          .body = "\277jMetricData\200\237\000\377\n\377\377"sv,
          .region = "us-west-2",
          .service = "monitoring",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-west-2/monitoring/aws4_request, "
              "SignedHeaders=accept;content-type;host;smithy-protocol;x-amz-date, "
              "Signature=16ed73fdffb6b402e6cfdde4f23c062693ce14778df3402e353f43cd813e1362",
          .canonical = "POST\n"
                       "/service/GraniteServiceVersion20100801/operation/GetMetricData\n"
                       "\n"
                       "accept:application/cbor\n"
                       "content-type:application/cbor\n"
                       "host:localhost:4566\n"
                       "smithy-protocol:rpc-v2-cbor\n"
                       "x-amz-date:20260314T092653Z\n"
                       "\n"
                       "accept;content-type;host;smithy-protocol;x-amz-date\n"
                       "9018f5c05a8dadcb9d2b7820593153b96bd4b06693edb0933cd1af7544f62343",
          .signed_headers = {"accept", "content-type", "host", "smithy-protocol", "x-amz-date"},
      },
      {
          .name = "WeirdPath",
          .method = "GET",
          .target = "/2015-03-31/./functions/x/../my%20func%3Aalias//invocations/%7Eq~",
          .headers =
              {
                  {"Host", "localhost:4566"},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/lambda/aws4_request, "
                   "SignedHeaders=host;x-amz-date, "
                   "Signature=f6497d26f95bf4e40616124578eaf2c6fdcc1e9a7d537e66c5b3fff45f041547"},
              },
          .body = ""sv,
          .region = "us-east-1",
          .service = "lambda",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/lambda/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=f6497d26f95bf4e40616124578eaf2c6fdcc1e9a7d537e66c5b3fff45f041547",
          .canonical = "GET\n"
                       "/2015-03-31/functions/my%2520func%253Aalias/invocations/%257Eq~\n"
                       "\n"
                       "host:localhost:4566\n"
                       "x-amz-date:20260314T092653Z\n"
                       "\n"
                       "host;x-amz-date\n"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          .signed_headers = {"host", "x-amz-date"},
      },
      {
          .name = "EcsSessionToken",
          .method = "POST",
          .target = "/",
          .headers =
              {
                  {"Host", "ecs.us-east-1.amazonaws.com"},
                  {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters"},
                  {"Content-Type", "application/x-amz-json-1.1"},
                  {"X-Amz-Date", "20260314T092653Z"},
                  {"X-Amz-Security-Token",
                   "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/ecs/aws4_request, "
                   "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                   "Signature=955f29a757fb99b6a93711f69a4c65c975753373d608cc29b3966f61533ffa14"},
              },
          .body = "{\"clusters\": [\"default\"]}"sv,
          .region = "us-east-1",
          .service = "ecs",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/ecs/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
              "Signature=955f29a757fb99b6a93711f69a4c65c975753373d608cc29b3966f61533ffa14",
          .canonical =
              "POST\n"
              "/\n"
              "\n"
              "content-type:application/x-amz-json-1.1\n"
              "host:ecs.us-east-1.amazonaws.com\n"
              "x-amz-date:20260314T092653Z\n"
              "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==\n"
              "x-amz-target:AmazonEC2ContainerServiceV20141113.DescribeClusters\n"
              "\n"
              "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
              "a4c5a76464afcd6052cb8cc3befcc81f75e9d56b209bd912f9da91c536aae3f7",
          .signed_headers = {"content-type", "host", "x-amz-date", "x-amz-security-token",
                             "x-amz-target"},
      },
      {
          .name = "DateHeader",
          .method = "POST",
          .target = "/",
          .headers =
              {
                  {"Host", "logs.us-east-1.amazonaws.com"},
                  {"X-Amz-Target", "Logs_20140328.DescribeLogGroups"},
                  {"Content-Type", "application/x-amz-json-1.1"},
                  {"Date", "Sat, 14 Mar 2026 09:26:53 -0000"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 "
                   "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/logs/aws4_request, "
                   "SignedHeaders=content-type;date;host;x-amz-target, "
                   "Signature=51fb703041ebb28b5433f5e0fe9c9c027e68e1ec2c8dfa5ad617817f5345ea7b"},
              },
          .body = "{}"sv,
          .region = "us-east-1",
          .service = "logs",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "",
          .authorization =
              "AWS4-HMAC-SHA256 "
              "Credential=AKIDBERTHEXAMPLE0001/20260314/us-east-1/logs/aws4_request, "
              "SignedHeaders=content-type;date;host;x-amz-target, "
              "Signature=51fb703041ebb28b5433f5e0fe9c9c027e68e1ec2c8dfa5ad617817f5345ea7b",
          .canonical = "POST\n"
                       "/\n"
                       "\n"
                       "content-type:application/x-amz-json-1.1\n"
                       "date:Sat, 14 Mar 2026 09:26:53 -0000\n"
                       "host:logs.us-east-1.amazonaws.com\n"
                       "x-amz-target:Logs_20140328.DescribeLogGroups\n"
                       "\n"
                       "content-type;date;host;x-amz-target\n"
                       "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
          .signed_headers = {"content-type", "date", "host", "x-amz-target"},
      },
      {
          .name = "PresignedSts",
          .method = "GET",
          .target =
              "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X"
              "-Amz-Credential=AKIDBERTHEXAMPLE0001%2F20260314%2Fus-east-1%2Fsts%2Faws4_request"
              "&X-Amz-Date=20260314T092653Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Sec"
              "urity-Token=FQoGZXIvYXdzEXAMPLETOKEN%2B%2F%3D&X-Amz-Signature=39bfb5542d62c1cdf2"
              "b15d907baaa554685f5a30aba340e1ab8deb6dd88b9503",
          .headers =
              {
                  {"Host", "sts.amazonaws.com"},
              },
          .body = ""sv,
          .region = "us-east-1",
          .service = "sts",
          .amz_date = "20260314T092653Z",
          .epoch = 1773480413,
          .session_token = "FQoGZXIvYXdzEXAMPLETOKEN+/=",
          .authorization = "",
          .canonical =
              "GET\n"
              "/\n"
              "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
              "X-Amz-Credential=AKIDBERTHEXAMPLE0001%2F20260314%2Fus-east-1%2Fsts%2Faws4_request&"
              "X-Amz-Date=20260314T092653Z&X-Amz-Expires=60&"
              "X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN%2B%2F%3D&"
              "X-Amz-SignedHeaders=host\n"
              "host:sts.amazonaws.com\n"
              "\n"
              "host\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          .signed_headers = {"host"},
      },
  };
  return vectors;
}

// A request the test owns and can mutate; View() borrows from it.
struct OwnedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  explicit OwnedRequest(const Vector& v) : method(v.method), target(v.target), body(v.body) {
    for (const auto& [k, val] : v.headers) {
      headers.emplace_back(k, val);
    }
  }
  OwnedRequest(std::string m, std::string t, std::vector<std::pair<std::string, std::string>> h,
               std::string b)
      : method(std::move(m)), target(std::move(t)), headers(std::move(h)), body(std::move(b)) {}

  HttpRequestView View() const {
    HttpRequestView view{method, target, {}, body};
    for (const auto& [k, v] : headers) {
      view.headers.emplace_back(k, v);
    }
    return view;
  }
  std::string* Header(std::string_view name) {
    for (auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return &v;
      }
    }
    return nullptr;
  }
  void Remove(std::string_view name) {
    std::erase_if(headers, [&](const auto& kv) {
      return kv.first.size() == name.size() &&
             std::equal(kv.first.begin(), kv.first.end(), name.begin(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
  }
};

class FakeSecrets : public SecretLookup {
 public:
  FakeSecrets() { secrets[std::string(kAccessKey)] = std::string(kSecret); }
  std::optional<std::string> SecretFor(std::string_view access_key_id,
                                       std::string_view session_token) override {
    ++calls;
    last_token = std::string(session_token);
    if (!rejected_token.empty() && session_token == rejected_token) {
      return std::nullopt;
    }
    auto it = secrets.find(std::string(access_key_id));
    if (it == secrets.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  std::map<std::string, std::string> secrets;
  std::string rejected_token;
  std::string last_token;
  int calls = 0;
};

void ExpectError(const Result<SigV4Identity>& r, std::string_view code, std::string_view message) {
  ASSERT_FALSE(r.ok()) << "expected " << code;
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
  EXPECT_EQ(r.error().aws_code, code);
  EXPECT_EQ(r.error().message, message);
}

void ExpectMismatch(const Result<SigV4Identity>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
  EXPECT_EQ(r.error().aws_code, "InvalidSignatureException");
  EXPECT_TRUE(r.error().message.starts_with(kMismatchPrefix)) << r.error().message;
}

// ---- every botocore vector ---------------------------------------------------------------------

class BotocoreVectorTest : public ::testing::TestWithParam<size_t> {
 protected:
  const Vector& v() const { return Vectors()[GetParam()]; }
  FakeSecrets secrets_;
  SigV4Verifier verifier_{secrets_};
};

TEST_P(BotocoreVectorTest, VerifiesAtSigningTime) {
  OwnedRequest req(v());
  auto r = verifier_.Verify(req.View(), v().epoch);
  ASSERT_TRUE(r.ok()) << r.error().aws_code << ": " << r.error().message;
  EXPECT_EQ(r->access_key_id, kAccessKey);
  EXPECT_EQ(r->region, v().region);
  EXPECT_EQ(r->service, v().service);
  EXPECT_EQ(r->session_token, v().session_token);
  EXPECT_EQ(secrets_.last_token, v().session_token);
}

TEST_P(BotocoreVectorTest, CanonicalRequestMatchesBotocore) {
  OwnedRequest req(v());
  EXPECT_EQ(
      CanonicalRequest(req.View(), v().signed_headers, core::Sha256Hex(v().body), v().presigned()),
      v().canonical);
}

TEST_P(BotocoreVectorTest, SignRequestHeadersMatchesBotocore) {
  if (v().presigned()) {
    GTEST_SKIP() << "presigned URL: no Authorization header";
  }
  OwnedRequest req(v());
  req.Remove("Authorization");
  SigV4SigningParams params{kAccessKey, kSecret, v().region, v().service, v().amz_date};
  EXPECT_EQ(SignRequestHeaders(req.View(), params), v().authorization);
}

TEST_P(BotocoreVectorTest, AcceptsFifteenMinutesEitherSide) {
  OwnedRequest req(v());
  EXPECT_TRUE(verifier_.Verify(req.View(), v().epoch - 900).ok());
  if (!v().presigned()) {  // the presigned vector expires after 60 s
    EXPECT_TRUE(verifier_.Verify(req.View(), v().epoch + 900).ok());
  }
}

TEST_P(BotocoreVectorTest, RejectsChangedBodyByte) {
  OwnedRequest req(v());
  if (req.body.empty()) {
    req.body = "x";
  } else {
    req.body.back() ^= 1;
  }
  ExpectMismatch(verifier_.Verify(req.View(), v().epoch));
}

TEST_P(BotocoreVectorTest, RejectsChangedSignedHeader) {
  OwnedRequest req(v());
  *req.Header("Host") += ".evil";
  ExpectMismatch(verifier_.Verify(req.View(), v().epoch));
}

TEST_P(BotocoreVectorTest, RejectsChangedSignature) {
  OwnedRequest req(v());
  std::string* auth = req.Header("Authorization");
  std::string& signed_text = auth != nullptr ? *auth : req.target;
  char& last = signed_text.back();
  last = last == '0' ? '1' : '0';
  ExpectMismatch(verifier_.Verify(req.View(), v().epoch));
}

TEST_P(BotocoreVectorTest, IgnoresUnsignedHeaders) {
  OwnedRequest req(v());
  req.headers.emplace_back("User-Agent", "something/else");
  req.headers.emplace_back("X-Amzn-Trace-Id", "Root=1-abc");
  EXPECT_TRUE(verifier_.Verify(req.View(), v().epoch).ok());
}

TEST_P(BotocoreVectorTest, RejectsSixteenMinutesLate) {
  OwnedRequest req(v());
  ExpectError(verifier_.Verify(req.View(), v().epoch + 16 * 60), "InvalidSignatureException",
              "Signature expired: 20260314T092653Z is now earlier than 20260314T092753Z "
              "(20260314T094253Z - 15 min.)");
}

TEST_P(BotocoreVectorTest, RejectsSixteenMinutesEarly) {
  OwnedRequest req(v());
  ExpectError(verifier_.Verify(req.View(), v().epoch - 16 * 60), "InvalidSignatureException",
              "Signature not yet current: 20260314T092653Z is still later than 20260314T092553Z "
              "(20260314T091053Z + 15 min.)");
}

TEST_P(BotocoreVectorTest, RejectsUnknownAccessKey) {
  OwnedRequest req(v());
  secrets_.secrets.clear();
  ExpectError(verifier_.Verify(req.View(), v().epoch), "UnrecognizedClientException",
              "The security token included in the request is invalid.");
}

TEST_P(BotocoreVectorTest, RejectsMissingAuthentication) {
  OwnedRequest req(v());
  req.Remove("Authorization");
  if (v().presigned()) {
    req.target = req.target.substr(0, req.target.find("&X-Amz-Algorithm"));
  }
  ExpectError(verifier_.Verify(req.View(), v().epoch), "MissingAuthenticationToken",
              "Request is missing Authentication Token");
  EXPECT_EQ(secrets_.calls, 0);
}

std::string VectorName(const ::testing::TestParamInfo<size_t>& info) {
  return std::string(Vectors()[info.param].name);
}

INSTANTIATE_TEST_SUITE_P(Botocore, BotocoreVectorTest,
                         ::testing::Range<size_t>(0, Vectors().size()), VectorName);

// ---- error texts and ordering
// --------------------------------------------------------------------

const Vector& Named(std::string_view name) {
  for (const auto& v : Vectors()) {
    if (v.name == name) {
      return v;
    }
  }
  ADD_FAILURE() << "no vector " << name;
  return Vectors().front();
}

class SigV4ErrorTest : public ::testing::Test {
 protected:
  // EcsJson11 with its Authorization header replaced.
  Result<SigV4Identity> VerifyEcsWith(std::string authorization) {
    OwnedRequest req(Named("EcsJson11"));
    *req.Header("Authorization") = std::move(authorization);
    return verifier_.Verify(req.View(), Named("EcsJson11").epoch);
  }
  FakeSecrets secrets_;
  SigV4Verifier verifier_{secrets_};
};

// AWS's JSON services answer MissingAuthenticationToken, not IncompleteSignature, when the
// header is not SigV4 at all.
TEST_F(SigV4ErrorTest, NonSigV4AuthorizationIsMissingToken) {
  for (const char* garbage :
       {"Bearer abc.def.ghi", "AWS AKIDEXAMPLE:c2lnbmF0dXJl", "garbage", ""}) {
    ExpectError(VerifyEcsWith(garbage), "MissingAuthenticationToken",
                "Request is missing Authentication Token");
  }
}

TEST_F(SigV4ErrorTest, GarbageAfterAlgorithmIsIncompleteSignature) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256 garbage"), "IncompleteSignature",
              "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: "
              "'AWS4-HMAC-SHA256 garbage'.");
}

TEST_F(SigV4ErrorTest, AllMissingComponentsAreListed) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256"), "IncompleteSignature",
              "Authorization header requires 'Credential' parameter. Authorization header "
              "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
              "parameter. Authorization=AWS4-HMAC-SHA256");
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host"),
              "IncompleteSignature",
              "Authorization header requires 'Signature' parameter. "
              "Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host");
}

TEST_F(SigV4ErrorTest, MissingDateIsListedWithMissingComponents) {
  OwnedRequest req(Named("EcsJson11"));
  req.Remove("X-Amz-Date");
  *req.Header("Authorization") = "AWS4-HMAC-SHA256 Credential=x";
  ExpectError(verifier_.Verify(req.View(), Named("EcsJson11").epoch), "IncompleteSignature",
              "Authorization header requires 'Signature' parameter. Authorization header requires "
              "'SignedHeaders' parameter. Authorization header requires existence of either a "
              "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=x");
}

TEST_F(SigV4ErrorTest, ComponentsMaySeparateWithSpacesOnly) {
  std::string auth(Named("EcsJson11").authorization);
  std::erase(auth, ',');
  EXPECT_TRUE(VerifyEcsWith(auth).ok());
}

TEST_F(SigV4ErrorTest, MalformedDate) {
  OwnedRequest req(Named("EcsJson11"));
  *req.Header("X-Amz-Date") = "2026-03-14T09:26:53Z";
  ExpectError(verifier_.Verify(req.View(), Named("EcsJson11").epoch), "IncompleteSignature",
              "Date must be in ISO-8601 'basic format'. Got '2026-03-14T09:26:53Z'. See "
              "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST_F(SigV4ErrorTest, HostMustBeSigned) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) +
                            "/20260314/us-east-1/ecs/aws4_request, "
                            "SignedHeaders=content-type;x-amz-date, Signature=00"),
              "InvalidSignatureException",
              "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(SigV4ErrorTest, UnsupportedAlgorithm) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA512 Credential=a/20260314/us-east-1/ecs/aws4_request, "
                            "SignedHeaders=host, Signature=00"),
              "IncompleteSignature",
              "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).");
}

TEST_F(SigV4ErrorTest, CredentialNeedsFiveParts) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/ecs, "
                            "SignedHeaders=host, Signature=00"),
              "IncompleteSignature",
              "Credential must have exactly 5 slash-delimited elements, e.g. "
              "keyid/date/region/service/term, got 'AKID/20260314/us-east-1/ecs'");
}

// AWS reports a bad terminator and a scope date that is not the request's day together, as
// InvalidSignatureException (not IncompleteSignature).
TEST_F(SigV4ErrorTest, ScopeTerminatorAndDate) {
  ExpectError(VerifyEcsWith("AWS4-HMAC-SHA256 Credential=AKID/20260313/us-east-1/ecs/aws5_request, "
                            "SignedHeaders=host, Signature=00"),
              "InvalidSignatureException",
              "Credential should be scoped with a valid terminator: 'aws4_request', not "
              "'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 "
              "version of date from HTTP: '20260313' != '20260314', from '20260314T092653Z'.");
  EXPECT_EQ(secrets_.calls, 0);
}

TEST_F(SigV4ErrorTest, MissingSignedHeaderIsMismatch) {
  OwnedRequest req(Named("EcsJson11"));
  req.Remove("X-Amz-Target");
  auto r = verifier_.Verify(req.View(), Named("EcsJson11").epoch);
  ASSERT_FALSE(r.ok());
  ExpectMismatch(r);
  EXPECT_NE(r.error().message.find("\nx-amz-target:\n"), std::string::npos) << r.error().message;
}

TEST_F(SigV4ErrorTest, MismatchMessageCarriesCanonicalRequestAndStringToSign) {
  OwnedRequest req(Named("EcsJson11"));
  req.body = "{}";
  auto r = verifier_.Verify(req.View(), Named("EcsJson11").epoch);
  ASSERT_FALSE(r.ok());
  ExpectMismatch(r);
  EXPECT_EQ(r.error().message.substr(kMismatchPrefix.size()),
            "\n\nThe Canonical String for this request should have been\n'"
            "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:ecs.us-east-1.amazonaws.com\n"
            "x-amz-date:20260314T092653Z\n"
            "x-amz-target:AmazonEC2ContainerServiceV20141113.ListClusters\nx-berth-spacey:a b c\n\n"
            "content-type;host;x-amz-date;x-amz-target;x-berth-spacey\n" +
                core::Sha256Hex("{}") +
                "'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20260314T092653Z\n"
                "20260314/us-east-1/ecs/aws4_request\n" +
                core::Sha256Hex("POST\n/\n\ncontent-type:application/x-amz-json-1.1\n"
                                "host:ecs.us-east-1.amazonaws.com\nx-amz-date:20260314T092653Z\n"
                                "x-amz-target:AmazonEC2ContainerServiceV20141113.ListClusters\n"
                                "x-berth-spacey:a b c\n\n"
                                "content-type;host;x-amz-date;x-amz-target;x-berth-spacey\n" +
                                core::Sha256Hex("{}")) +
                "'\n");
}

TEST_F(SigV4ErrorTest, SessionTokenGoesToSecretLookup) {
  const Vector& v = Named("EcsSessionToken");
  OwnedRequest req(v);
  secrets_.rejected_token = std::string(v.session_token);
  ExpectError(verifier_.Verify(req.View(), v.epoch), "UnrecognizedClientException",
              "The security token included in the request is invalid.");
}

TEST_F(SigV4ErrorTest, ChangedSessionTokenIsMismatch) {
  const Vector& v = Named("EcsSessionToken");
  OwnedRequest req(v);
  *req.Header("X-Amz-Security-Token") += "x";
  ExpectMismatch(verifier_.Verify(req.View(), v.epoch));
}

// ---- presigned URLs
// ------------------------------------------------------------------------------

TEST_F(SigV4ErrorTest, PresignedHonoursXAmzExpires) {
  const Vector& v = Named("PresignedSts");
  OwnedRequest req(v);
  EXPECT_TRUE(verifier_.Verify(req.View(), v.epoch + 60).ok());
  ExpectError(verifier_.Verify(req.View(), v.epoch + 61), "InvalidSignatureException",
              "Signature expired: 20260314T092653Z is now earlier than 20260314T092654Z "
              "(20260314T092754Z - 60 sec.)");
}

TEST_F(SigV4ErrorTest, PresignedTamperedParameterIsMismatch) {
  const Vector& v = Named("PresignedSts");
  OwnedRequest req(v);
  req.target.replace(req.target.find("GetCallerIdentity"), 17, "GetSessionToken");
  ExpectMismatch(verifier_.Verify(req.View(), v.epoch));
}

TEST_F(SigV4ErrorTest, PresignedMissingParametersAreListed) {
  OwnedRequest req("GET", "/?Action=X&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=",
                   {{"Host", "sts.amazonaws.com"}}, "");
  ExpectError(verifier_.Verify(req.View(), 0), "IncompleteSignature",
              "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
              "parameters must include 'X-Amz-Signature'. AWS query-string parameters must "
              "include 'X-Amz-SignedHeaders'. AWS query-string parameters must include "
              "'X-Amz-Date'. Re-examine the query-string parameters.");
}

TEST_F(SigV4ErrorTest, PresignedAndHeaderTogether) {
  const Vector& v = Named("PresignedSts");
  OwnedRequest req(v);
  req.headers.emplace_back("Authorization", Named("EcsJson11").authorization);
  ExpectError(verifier_.Verify(req.View(), v.epoch), "InvalidSignatureException",
              "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP "
              "header.");
}

TEST_F(SigV4ErrorTest, PresignedExpiresOverAWeek) {
  const Vector& v = Named("PresignedSts");
  OwnedRequest req(v);
  req.target.replace(req.target.find("X-Amz-Expires=60"), 16, "X-Amz-Expires=604801");
  ExpectError(verifier_.Verify(req.View(), v.epoch), "IncompleteSignature",
              "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
}

// ---- canonicalisation rules botocore never exercises -----------------------------------------

// AWS decodes the query and re-encodes it with the unreserved set, so "%7e" is signed as '~',
// '+' as "%2B" (it is not a space here) and a stray '%' as "%25".
TEST(SigV4CanonicalTest, QueryIsDecodedAndReencoded) {
  OwnedRequest req("GET", "/?b=%7e&a=x+y&c=%zz&d=%41&e&&f=%", {{"Host", "h"}}, "");
  EXPECT_EQ(CanonicalRequest(req.View(), {"host"}, "UNSIGNED-PAYLOAD"),
            "GET\n/\na=x%2By&b=~&c=%25zz&d=A&e=&f=%25\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
}

TEST(SigV4CanonicalTest, RepeatedHeadersJoinWithCommas) {
  OwnedRequest req("POST", "", {{"Host", "h"}, {"X-Multi", " a "}, {"x-multi", "b \t  c"}}, "");
  EXPECT_EQ(CanonicalRequest(req.View(), {"host", "x-multi"}, "p"),
            "POST\n/\n\nhost:h\nx-multi:a,b c\n\nhost;x-multi\np");
}

TEST(SigV4CanonicalTest, PathIsNormalisedAndEncodedAgain) {
  for (auto [target, path] : std::vector<std::pair<std::string, std::string>>{
           {"", "/"},
           {"/", "/"},
           {"//", "/"},
           {"/a/../../b/./c/", "/b/c/"},
           {"/%2E%2E/a b/\xc3\xa9", "/%252E%252E/a%20b/%C3%A9"},
           {"/..", "/"}}) {
    OwnedRequest req("GET", target, {{"Host", "h"}}, "");
    EXPECT_EQ(CanonicalRequest(req.View(), {"host"}, "p"), "GET\n" + path + "\n\nhost:h\n\nhost\np")
        << target;
  }
}

// ---- signer/verifier round trips
// -------------------------------------------------------------------

OwnedRequest SignedEcsRequest(std::vector<std::pair<std::string, std::string>> extra_headers,
                              std::string body, std::string_view service = "ecs") {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", "localhost:4566"},
      {"X-Amz-Date", "20260314T092653Z"},
      {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
      {"Content-Type", "application/x-amz-json-1.1"}};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  OwnedRequest req("POST", "/", std::move(headers), std::move(body));
  std::string auth = SignRequestHeaders(
      req.View(), {kAccessKey, kSecret, "us-east-1", service, "20260314T092653Z"});
  req.headers.emplace_back("Authorization", std::move(auth));
  return req;
}

constexpr int64_t kSignedAt = 1773480413;  // 20260314T092653Z

// A secret over 60 characters makes "AWS4" + secret longer than an HMAC block, so the first key
// is hashed first (RFC 2104). Expected value from botocore 1.43.11, same clock as above.
TEST(SigV4RoundTripTest, LongSecretMatchesBotocore) {
  OwnedRequest req("POST", "/",
                   {{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
                    {"Content-Type", "application/x-amz-json-1.1"},
                    {"X-Amz-Date", "20260314T092653Z"},
                    {"Host", "localhost:4566"}},
                   "{}");
  std::string secret = std::string(70, 'L') + "/+x";
  EXPECT_EQ(SignRequestHeaders(req.View(),
                               {"AKIDLONGSECRET", secret, "us-east-1", "ecs", "20260314T092653Z"}),
            "AWS4-HMAC-SHA256 Credential=AKIDLONGSECRET/20260314/us-east-1/ecs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=29bcfeeb9e3764cd0f07f5fcf506382f9730f2b84acdd73747b028da3405b491");
}

TEST(SigV4RoundTripTest, RepeatedHeadersKeepTheirOrder) {
  FakeSecrets secrets;
  SigV4Verifier verifier(secrets);
  OwnedRequest req = SignedEcsRequest({{"X-Multi", "1"}, {"x-multi", "2"}}, "{}");
  EXPECT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
  std::swap(req.headers[4].second, req.headers[5].second);
  ExpectMismatch(verifier.Verify(req.View(), kSignedAt));
}

// Without X-Amz-Date the Date header is used; its instant is signed in basic form.
TEST(SigV4RoundTripTest, HttpDateHeaderForms) {
  FakeSecrets secrets;
  SigV4Verifier verifier(secrets);
  for (const char* date : {"Sat, 14 Mar 2026 09:26:53 GMT", "14 Mar 2026 09:26:53 UTC",
                           "Sat, 14 Mar 2026 09:26:53 Z", "20260314T092653Z"}) {
    OwnedRequest req("POST", "/", {{"Host", "h"}, {"Date", date}}, "{}");
    req.headers.emplace_back(
        "Authorization", SignRequestHeaders(req.View(), {kAccessKey, kSecret, "us-east-1", "logs",
                                                         "20260314T092653Z"}));
    EXPECT_TRUE(verifier.Verify(req.View(), kSignedAt).ok()) << date;
  }
  for (const char* date : {"Sat, 14 Mar 2026 09:26:53 PST", "Sat, 14 Mrz 2026 09:26:53 GMT",
                           "Sat, 14 Mar 2026", "yesterday"}) {
    OwnedRequest req("POST", "/", {{"Host", "h"}, {"Date", date}}, "{}");
    req.headers.emplace_back("Authorization",
                             "AWS4-HMAC-SHA256 Credential=a/20260314/r/s/aws4_request, "
                             "SignedHeaders=date;host, Signature=00");
    ExpectError(verifier.Verify(req.View(), kSignedAt), "IncompleteSignature",
                std::string("Date must be in ISO-8601 'basic format'. Got '") + date +
                    "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
}

TEST(SigV4RoundTripTest, ContentSha256MustMatchBody) {
  FakeSecrets secrets;
  SigV4Verifier verifier(secrets);
  OwnedRequest req = SignedEcsRequest({{"X-Amz-Content-Sha256", core::Sha256Hex("{}")}}, "{}");
  EXPECT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
  req.body = "{\"evil\":1}";
  ExpectError(verifier.Verify(req.View(), kSignedAt), "InvalidSignatureException",
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST(SigV4RoundTripTest, UnsignedPayloadIsTakenLiterally) {
  FakeSecrets secrets;
  SigV4Verifier verifier(secrets);
  OwnedRequest req = SignedEcsRequest({{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}}, "{}");
  EXPECT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
  req.body = "anything";
  EXPECT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
}

TEST(SigV4RoundTripTest, SigningKeyCacheIsReusedAndBounded) {
  FakeSecrets secrets;
  SigV4Verifier verifier(secrets);
  OwnedRequest req = SignedEcsRequest({}, "{}");
  ASSERT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
  ASSERT_TRUE(verifier.Verify(req.View(), kSignedAt).ok());
  EXPECT_EQ(verifier.CachedKeyCount(), 1u);
  for (int i = 0; i < 1100; ++i) {
    OwnedRequest other = SignedEcsRequest({}, "{}", "svc" + std::to_string(i));
    ASSERT_TRUE(verifier.Verify(other.View(), kSignedAt).ok()) << i;
    ASSERT_LE(verifier.CachedKeyCount(), 1024u);
  }
}

}  // namespace
}  // namespace berth::api
