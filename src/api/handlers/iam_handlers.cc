// IAM (query protocol, 2010-05-08) over iam::IamService. Policy documents go out URL-encoded,
// as IAM sends them (botocore decodes them back into JSON).
#include "api/handlers/handlers.h"
#include "api/protocol/query_tree.h"
#include "core/time_util.h"
#include "iam/iam_service.h"

namespace berth::api {

namespace {

using nlohmann::json;

std::string UrlEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

iam::IamTags TagsOf(const json& in) {
  iam::IamTags tags;
  for (const json& t : QueryList(in, "Tags")) {
    tags.emplace_back(QueryString(t, "Key"), QueryString(t, "Value"));
  }
  return tags;
}

void RenderTags(XmlOut& x, const iam::IamTags& tags) {
  if (tags.empty()) {
    return;
  }
  x.Open("Tags");
  for (const auto& [k, v] : tags) {
    x.Open("member").Leaf("Key", k).Leaf("Value", v).Close("member");
  }
  x.Close("Tags");
}

void RenderUser(XmlOut& x, const char* element, const iam::User& u) {
  x.Open(element)
      .Leaf("Path", u.path)
      .Leaf("UserName", u.name)
      .Leaf("UserId", u.id)
      .Leaf("Arn", u.arn)
      .Leaf("CreateDate", core::FormatIso8601(u.created_ms));
  RenderTags(x, u.tags);
  x.Close(element);
}

void RenderRole(XmlOut& x, const char* element, const iam::Role& r) {
  x.Open(element)
      .Leaf("Path", r.path)
      .Leaf("RoleName", r.name)
      .Leaf("RoleId", r.id)
      .Leaf("Arn", r.arn)
      .Leaf("CreateDate", core::FormatIso8601(r.created_ms))
      .Leaf("AssumeRolePolicyDocument", UrlEncode(r.assume_role_policy));
  if (!r.description.empty()) {
    x.Leaf("Description", r.description);
  }
  x.Leaf("MaxSessionDuration", r.max_session_duration);
  RenderTags(x, r.tags);
  x.Close(element);
}

void RenderPolicy(XmlOut& x, const char* element, const iam::ManagedPolicy& p, int attachments) {
  x.Open(element)
      .Leaf("PolicyName", p.name)
      .Leaf("PolicyId", p.id)
      .Leaf("Arn", p.arn)
      .Leaf("Path", p.path)
      .Leaf("DefaultVersionId", "v1")
      .Leaf("AttachmentCount", attachments)
      .Leaf("PermissionsBoundaryUsageCount", 0)
      .Bool("IsAttachable", true);
  if (!p.description.empty()) {
    x.Leaf("Description", p.description);
  }
  x.Leaf("CreateDate", core::FormatIso8601(p.created_ms))
      .Leaf("UpdateDate", core::FormatIso8601(p.updated_ms));
  RenderTags(x, p.tags);
  x.Close(element);
}

Result<int> IntOr(const json& in, const char* name, int fallback) {
  std::string text = QueryString(in, name);
  if (text.empty()) {
    return fallback;
  }
  try {
    size_t used = 0;
    int v = std::stoi(text, &used);
    if (used == text.size()) {
      return v;
    }
  } catch (const std::exception&) {
  }
  return MakeError(ErrorKind::InvalidArgument, "ValidationError",
                   std::string("Invalid value for ") + name + ": " + text);
}

std::string PathOr(const json& in) {
  std::string path = QueryString(in, "Path");
  return path.empty() ? "/" : path;
}

using Handler = std::function<Result<std::string>(iam::IamService&, const json&)>;

}  // namespace

QueryService MakeIamHandlers(iam::IamService& svc) {
  QueryService q;
  q.signing_name = "iam";
  q.xml_namespace = "https://iam.amazonaws.com/doc/2010-05-08/";
  auto add = [&](const char* name, Handler h) {
    q.operations[name] = [&svc, h = std::move(h)](const ApiContext&, const QueryParams& params) {
      return h(svc, QueryTree(params));
    };
  };
  using iam::EntityKind;

  add("CreateUser", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto u, s.CreateUser(QueryString(in, "UserName"), PathOr(in), TagsOf(in)));
    XmlOut x;
    RenderUser(x, "User", u);
    return x.Take();
  });
  add("GetUser", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto u, s.GetUser(QueryString(in, "UserName")));
    XmlOut x;
    RenderUser(x, "User", u);
    return x.Take();
  });
  add("DeleteUser", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteUser(QueryString(in, "UserName")));
    return std::string();
  });
  add("ListUsers", [](iam::IamService& s, const json& in) -> Result<std::string> {
    XmlOut x;
    x.Open("Users");
    for (const iam::User& u : s.ListUsers(QueryString(in, "PathPrefix"))) {
      RenderUser(x, "member", u);
    }
    x.Close("Users").Bool("IsTruncated", false);
    return x.Take();
  });
  add("CreateAccessKey", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto k, s.CreateAccessKey(QueryString(in, "UserName")));
    XmlOut x;
    x.Open("AccessKey")
        .Leaf("UserName", k.user_name)
        .Leaf("AccessKeyId", k.id)
        .Leaf("Status", k.status)
        .Leaf("SecretAccessKey", k.secret)
        .Leaf("CreateDate", core::FormatIso8601(k.created_ms))
        .Close("AccessKey");
    return x.Take();
  });
  add("DeleteAccessKey", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteAccessKey(QueryString(in, "UserName"), QueryString(in, "AccessKeyId")));
    return std::string();
  });
  add("UpdateAccessKey", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.UpdateAccessKey(QueryString(in, "UserName"),
                                            QueryString(in, "AccessKeyId"), QueryString(in, "Status")));
    return std::string();
  });
  add("ListAccessKeys", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto keys, s.ListAccessKeys(QueryString(in, "UserName")));
    XmlOut x;
    x.Open("AccessKeyMetadata");
    for (const iam::AccessKey& k : keys) {
      x.Open("member")
          .Leaf("UserName", k.user_name)
          .Leaf("AccessKeyId", k.id)
          .Leaf("Status", k.status)
          .Leaf("CreateDate", core::FormatIso8601(k.created_ms))
          .Close("member");
    }
    x.Close("AccessKeyMetadata").Bool("IsTruncated", false);
    return x.Take();
  });

  add("CreateRole", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(int max_session, IntOr(in, "MaxSessionDuration", 3600));
    BERTH_TRY(auto r, s.CreateRole(QueryString(in, "RoleName"), PathOr(in),
                                   QueryString(in, "AssumeRolePolicyDocument"),
                                   QueryString(in, "Description"), max_session, TagsOf(in)));
    XmlOut x;
    RenderRole(x, "Role", r);
    return x.Take();
  });
  add("GetRole", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto r, s.GetRole(QueryString(in, "RoleName")));
    XmlOut x;
    RenderRole(x, "Role", r);
    return x.Take();
  });
  add("DeleteRole", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeleteRole(QueryString(in, "RoleName")));
    return std::string();
  });
  add("ListRoles", [](iam::IamService& s, const json& in) -> Result<std::string> {
    XmlOut x;
    x.Open("Roles");
    for (const iam::Role& r : s.ListRoles(QueryString(in, "PathPrefix"))) {
      RenderRole(x, "member", r);
    }
    x.Close("Roles").Bool("IsTruncated", false);
    return x.Take();
  });
  add("UpdateAssumeRolePolicy", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.UpdateAssumeRolePolicy(QueryString(in, "RoleName"),
                                                   QueryString(in, "PolicyDocument")));
    return std::string();
  });

  // Inline policies: the same five operations for users and roles.
  for (auto [kind, entity, member] : {std::tuple{EntityKind::User, "User", "UserName"},
                                      std::tuple{EntityKind::Role, "Role", "RoleName"}}) {
    std::string e = entity;
    std::string m = member;
    add(("Put" + e + "Policy").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_RETURN_IF_ERROR(s.PutInlinePolicy(kind, QueryString(in, m.c_str()),
                                              QueryString(in, "PolicyName"),
                                              QueryString(in, "PolicyDocument")));
      return std::string();
    });
    add(("Get" + e + "Policy").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      std::string name = QueryString(in, "PolicyName");
      BERTH_TRY(std::string doc, s.GetInlinePolicy(kind, QueryString(in, m.c_str()), name));
      XmlOut x;
      x.Leaf(m, QueryString(in, m.c_str())).Leaf("PolicyName", name).Leaf("PolicyDocument", UrlEncode(doc));
      return x.Take();
    });
    add(("Delete" + e + "Policy").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_RETURN_IF_ERROR(s.DeleteInlinePolicy(kind, QueryString(in, m.c_str()), QueryString(in, "PolicyName")));
      return std::string();
    });
    add(("List" + e + "Policies").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_TRY(auto names, s.ListInlinePolicies(kind, QueryString(in, m.c_str())));
      XmlOut x;
      x.Open("PolicyNames");
      for (const std::string& n : names) x.Leaf("member", n);
      x.Close("PolicyNames").Bool("IsTruncated", false);
      return x.Take();
    });
    add(("Attach" + e + "Policy").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_RETURN_IF_ERROR(s.AttachPolicy(kind, QueryString(in, m.c_str()), QueryString(in, "PolicyArn")));
      return std::string();
    });
    add(("Detach" + e + "Policy").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_RETURN_IF_ERROR(s.DetachPolicy(kind, QueryString(in, m.c_str()), QueryString(in, "PolicyArn")));
      return std::string();
    });
    add(("ListAttached" + e + "Policies").c_str(), [kind, m](iam::IamService& s, const json& in) -> Result<std::string> {
      BERTH_TRY(auto policies, s.ListAttachedPolicies(kind, QueryString(in, m.c_str())));
      XmlOut x;
      x.Open("AttachedPolicies");
      for (const iam::ManagedPolicy& p : policies) {
        x.Open("member").Leaf("PolicyName", p.name).Leaf("PolicyArn", p.arn).Close("member");
      }
      x.Close("AttachedPolicies").Bool("IsTruncated", false);
      return x.Take();
    });
  }

  add("CreatePolicy", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto p, s.CreatePolicy(QueryString(in, "PolicyName"), PathOr(in),
                                     QueryString(in, "PolicyDocument"),
                                     QueryString(in, "Description"), TagsOf(in)));
    XmlOut x;
    RenderPolicy(x, "Policy", p, 0);
    return x.Take();
  });
  add("GetPolicy", [](iam::IamService& s, const json& in) -> Result<std::string> {
    std::string arn = QueryString(in, "PolicyArn");
    BERTH_TRY(auto p, s.GetPolicy(arn));
    XmlOut x;
    RenderPolicy(x, "Policy", p, s.AttachmentCount(arn));
    return x.Take();
  });
  add("GetPolicyVersion", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_TRY(auto p, s.GetPolicy(QueryString(in, "PolicyArn")));
    if (QueryString(in, "VersionId") != "v1") {
      return MakeError(ErrorKind::NotFound, "NoSuchEntity",
                       "Policy " + p.arn + " version " + QueryString(in, "VersionId") +
                           " does not exist or is not attachable.");
    }
    XmlOut x;
    x.Open("PolicyVersion")
        .Leaf("Document", UrlEncode(p.document))
        .Leaf("VersionId", "v1")
        .Bool("IsDefaultVersion", true)
        .Leaf("CreateDate", core::FormatIso8601(p.created_ms))
        .Close("PolicyVersion");
    return x.Take();
  });
  add("DeletePolicy", [](iam::IamService& s, const json& in) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(s.DeletePolicy(QueryString(in, "PolicyArn")));
    return std::string();
  });
  add("ListPolicies", [](iam::IamService& s, const json& in) -> Result<std::string> {
    std::string scope = QueryString(in, "Scope");
    XmlOut x;
    x.Open("Policies");
    for (const iam::ManagedPolicy& p : s.ListPolicies(scope.empty() ? "All" : scope)) {
      RenderPolicy(x, "member", p, s.AttachmentCount(p.arn));
    }
    x.Close("Policies").Bool("IsTruncated", false);
    return x.Take();
  });
  // IAM resources: the user, role or managed policy the call names, else "*". A request names
  // users and roles without their path: an existing one is checked on its stored ARN (path
  // included, as AWS does), one being created on the ARN it will have (its Path parameter).
  q.resources = [&svc](const std::string&, const QueryParams& params) -> std::vector<std::string> {
    auto get = [&](const char* k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    const std::string prefix = "arn:aws:iam::" + svc.account_id() + ":";
    std::string path = get("Path").empty() ? "/" : get("Path");
    if (std::string p = get("PolicyArn"); !p.empty()) return {p};
    if (std::string u = get("UserName"); !u.empty()) {
      auto user = svc.GetUser(u);
      return {user.ok() ? user->arn : prefix + "user" + path + u};
    }
    if (std::string r = get("RoleName"); !r.empty()) {
      auto role = svc.GetRole(r);
      return {role.ok() ? role->arn : prefix + "role" + path + r};
    }
    if (std::string n = get("PolicyName"); !n.empty()) {  // CreatePolicy
      return {prefix + "policy" + path + n};
    }
    return {"*"};
  };
  return q;
}

}  // namespace berth::api
