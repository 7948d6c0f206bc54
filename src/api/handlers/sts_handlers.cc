#include "api/handlers/handlers.h"

namespace berth::api {

QueryService MakeStsHandlers() {
  QueryService sts;
  sts.signing_name = "sts";
  sts.xml_namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
  sts.operations["GetCallerIdentity"] = [](const ApiContext& ctx,
                                           const QueryParams&) -> Result<std::string> {
    // Only the root key exists until IAM lands; it is the account's root identity.
    return "<Arn>arn:aws:iam::" + XmlEscape(ctx.account_id) + ":root</Arn><UserId>" +
           XmlEscape(ctx.account_id) + "</UserId><Account>" + XmlEscape(ctx.account_id) +
           "</Account>";
  };
  return sts;
}

}  // namespace berth::api
