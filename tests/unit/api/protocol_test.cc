#include "api/protocol/protocol.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/front_door.h"
#include "api/protocol/cbor.h"

namespace berth::api {

TEST(Protocol, DetectsAwsJsonFromTarget) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
                 {"Content-Type", "application/x-amz-json-1.1"}};
  ProtocolRequest pr = DetectProtocol(req);
  EXPECT_EQ(pr.protocol, Protocol::AwsJson11);
  EXPECT_EQ(pr.target_prefix, "AmazonEC2ContainerServiceV20141113");
  EXPECT_EQ(pr.operation, "ListClusters");
  req.headers[1].second = "application/x-amz-json-1.0";
  EXPECT_EQ(DetectProtocol(req).protocol, Protocol::AwsJson10);
}

TEST(Protocol, DetectsCborFromPath) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/service/GraniteServiceVersion20100801/operation/GetMetricData";
  req.headers = {{"smithy-protocol", "rpc-v2-cbor"}, {"Content-Type", "application/cbor"}};
  ProtocolRequest pr = DetectProtocol(req);
  EXPECT_EQ(pr.protocol, Protocol::RpcV2Cbor);
  EXPECT_EQ(pr.target_prefix, "GraniteServiceVersion20100801");
  EXPECT_EQ(pr.operation, "GetMetricData");
}

TEST(Protocol, DetectsQueryFromForm) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  req.body = "Action=GetCallerIdentity&Version=2011-06-15";
  ProtocolRequest pr = DetectProtocol(req);
  EXPECT_EQ(pr.protocol, Protocol::Query);
  EXPECT_EQ(pr.operation, "GetCallerIdentity");
}

TEST(Protocol, ParseFormDecodesPlusAndPercent) {
  auto form = ParseForm("a=1+2&b=%2Fx%3D&c&d=%zz&=e");
  EXPECT_EQ(form["a"], "1 2");
  EXPECT_EQ(form["b"], "/x=");
  EXPECT_EQ(form["c"], "");
  EXPECT_EQ(form["d"], "%zz");
}

TEST(Protocol, JsonErrorEnvelope) {
  HttpResponse res = RenderError(Protocol::AwsJson11,
                                 MakeError(ErrorKind::NotFound, "ClusterNotFoundException",
                                           "Cluster not found."),
                                 "rid");
  EXPECT_EQ(res.status, 400);
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["__type"], "ClusterNotFoundException");
  EXPECT_EQ(body["message"], "Cluster not found.");
}

TEST(Protocol, JsonErrorMessageKeyFollowsService) {
  ErrorStyle style{"Message"};
  HttpResponse res = RenderError(Protocol::AwsJson11,
                                 MakeError(ErrorKind::NotFound, "ParameterNotFound", "x"), "rid",
                                 style);
  EXPECT_EQ(nlohmann::json::parse(res.body)["Message"], "x");
}

TEST(Protocol, QueryErrorEnvelopeEscapes) {
  HttpResponse res = RenderError(Protocol::Query,
                                 MakeError(ErrorKind::InvalidArgument, "ValidationError",
                                           "bad <value> & more"),
                                 "rid");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("<Code>ValidationError</Code>"), std::string::npos);
  EXPECT_NE(res.body.find("bad &lt;value&gt; &amp; more"), std::string::npos);
  EXPECT_NE(res.body.find("<Type>Sender</Type>"), std::string::npos);
}

TEST(Protocol, CborErrorEnvelope) {
  HttpResponse res = RenderError(Protocol::RpcV2Cbor,
                                 MakeError(ErrorKind::InvalidArgument, "InvalidParameterValue",
                                           "nope"),
                                 "rid");
  auto body = cbor::Decode(res.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["__type"], "InvalidParameterValue");
  EXPECT_EQ((*body)["message"], "nope");
}

TEST(Protocol, InternalErrorsHideTheirMessage) {
  HttpResponse res = RenderError(Protocol::AwsJson11, InternalError("disk path /secret/x"), "rid");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("/secret/x"), std::string::npos);
}

TEST(Protocol, AuthErrorsAreRenamedPerProtocol) {
  Error e = MakeError(ErrorKind::Unauthenticated, "UnrecognizedClientException", "m");
  EXPECT_EQ(AuthErrorFor(Protocol::Query, e).aws_code, "InvalidClientTokenId");
  EXPECT_EQ(AuthErrorFor(Protocol::AwsJson11, e).aws_code, "UnrecognizedClientException");
  Error sig = MakeError(ErrorKind::Unauthenticated, "InvalidSignatureException", "m");
  EXPECT_EQ(AuthErrorFor(Protocol::Query, sig).aws_code, "SignatureDoesNotMatch");
  Error missing = MakeError(ErrorKind::Unauthenticated, "MissingAuthenticationToken", "m");
  EXPECT_EQ(AuthErrorFor(Protocol::AwsJson11, missing).aws_code,
            "MissingAuthenticationTokenException");
  EXPECT_EQ(AuthErrorFor(Protocol::Query, missing).aws_code, "MissingAuthenticationToken");
}

}  // namespace berth::api
