// STS (query, 2011-06-15): GetCallerIdentity and AssumeRole over iam::IamService.
#include "api/handlers/handlers.h"
#include "api/protocol/query_tree.h"
#include "core/time_util.h"
#include "iam/iam_service.h"

namespace berth::api {

QueryService MakeStsHandlers(iam::IamService& iam) {
  QueryService sts;
  sts.signing_name = "sts";
  sts.xml_namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
  sts.operations["GetCallerIdentity"] = [&iam](const ApiContext& ctx,
                                               const QueryParams&) -> Result<std::string> {
    const iam::Principal& p = ctx.principal;
    bool root = p.kind == iam::Principal::Kind::Root;
    XmlOut x;
    x.Leaf("Arn", root ? "arn:aws:iam::" + iam.account_id() + ":root" : p.arn)
        .Leaf("UserId", root ? iam.account_id() : p.user_id)
        .Leaf("Account", iam.account_id());
    return x.Take();
  };
  sts.operations["AssumeRole"] = [&iam](const ApiContext& ctx,
                                        const QueryParams& params) -> Result<std::string> {
    auto get = [&](const char* k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    int duration = 3600;
    if (std::string d = get("DurationSeconds"); !d.empty()) {
      try {
        duration = std::stoi(d);
      } catch (const std::exception&) {
        return MakeError(ErrorKind::InvalidArgument, "ValidationError",
                         "DurationSeconds must be a number");
      }
    }
    iam::Principal caller = ctx.principal;
    if (caller.kind == iam::Principal::Kind::Root) {
      caller.arn = "arn:aws:iam::" + iam.account_id() + ":root";
    }
    BERTH_TRY(iam::Session s, iam.AssumeRole(caller, get("RoleArn"), get("RoleSessionName"), duration));
    XmlOut x;
    x.Open("Credentials")
        .Leaf("AccessKeyId", s.access_key_id)
        .Leaf("SecretAccessKey", s.secret)
        .Leaf("SessionToken", s.token)
        .Leaf("Expiration", core::FormatIso8601(s.expires_ms))
        .Close("Credentials")
        .Open("AssumedRoleUser")
        .Leaf("AssumedRoleId", s.role_id + ":" + s.session_name)
        .Leaf("Arn", "arn:aws:sts::" + iam.account_id() + ":assumed-role/" + s.role_name + "/" +
                         s.session_name)
        .Close("AssumedRoleUser")
        .Leaf("PackedPolicySize", 0);
    return x.Take();
  };
  return sts;
}

}  // namespace berth::api
