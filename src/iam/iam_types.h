#pragma once
// IAM and STS entities as berth keeps them. Policy documents are stored as the JSON text the
// caller sent (validated on the way in); the compiled form lives only in memory.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace berth::iam {

using IamTags = std::vector<std::pair<std::string, std::string>>;

struct User {
  std::string name;
  std::string id;  // AIDA…
  std::string path = "/";
  std::string arn;
  int64_t created_ms = 0;
  std::map<std::string, std::string> inline_policies;  // name -> document
  std::vector<std::string> attached;                   // managed policy ARNs
  IamTags tags;
};

struct AccessKey {
  std::string id;  // AKIA…
  std::string secret;
  std::string user_name;
  std::string status = "Active";  // Active | Inactive
  int64_t created_ms = 0;
};

struct Role {
  std::string name;
  std::string id;  // AROA…
  std::string path = "/";
  std::string arn;
  std::string assume_role_policy;
  std::string description;
  int max_session_duration = 3600;
  int64_t created_ms = 0;
  std::map<std::string, std::string> inline_policies;
  std::vector<std::string> attached;
  IamTags tags;
};

struct ManagedPolicy {
  std::string name;
  std::string id;  // ANPA…
  std::string path = "/";
  std::string arn;
  std::string description;
  std::string document;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  IamTags tags;
};

// Temporary credentials from sts:AssumeRole.
struct Session {
  std::string access_key_id;  // ASIA…
  std::string secret;
  std::string token;
  std::string role_arn;
  std::string role_name;
  std::string role_id;
  std::string session_name;
  int64_t expires_ms = 0;
};

// Who signed a request, as policies see it.
struct Principal {
  enum class Kind { Root, User, AssumedRole };
  Kind kind = Kind::Root;
  std::string arn;       // arn:aws:iam::A:user/NAME | arn:aws:sts::A:assumed-role/ROLE/SESSION
  std::string user_id;   // aws:userid (AIDA… or AROA…:SESSION)
  std::string name;      // user name or role name
  std::string role_arn;  // for assumed roles: the role
};

}  // namespace berth::iam
