#pragma once
// IAM policy documents: parse and validate the JSON once into a compiled form, then evaluate
// requests against it with AWS's documented logic ("IAM JSON policy elements", "Policy
// evaluation logic", "Condition operators", "Policy variables").
//
//   JSON text ──Policy::Parse──► Policy (compiled) ──Decide / Evaluate / AllowsAssumeRole──► answer
//                    │
//                    └─► Error{InvalidArgument, "MalformedPolicyDocument", AWS-like message}
//
// Parsing does all the work that can be done without a request: actions are lowercased,
// Resource and condition values are split into literal / wildcard / variable pieces, numbers,
// dates and CIDRs are parsed. Evaluation does no JSON work and, for policies without variables
// beyond eight per value, allocates nothing unless it reports a denial.
//
// Pure module: no I/O, no clock (aws:CurrentTime / aws:EpochTime come from the caller's context),
// no store. A Policy is immutable after Parse; its const methods may run on any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace berth::iam {

// Which grammar Parse enforces.
enum class PolicyKind : uint8_t {
  // Permissions policy of a user, group or role (inline or managed), or a session policy:
  // Principal/NotPrincipal forbidden, Resource/NotResource required.
  Identity,
  // Resource-based policy, including a role's trust policy: Principal/NotPrincipal required,
  // Resource/NotResource optional (a statement without one applies to any resource).
  Resource,
};

enum class Effect : uint8_t { Allow, Deny };

// The request context: condition key -> values. Keys must be lowercase (AWS condition keys are
// case-insensitive; policies are lowercased at parse), e.g. "aws:username", "aws:userid",
// "aws:principalarn", "aws:securetransport", "aws:sourceip", "aws:currenttime",
// "aws:epochtime", "kms:encryptioncontext:purpose", "aws:tagkeys". A key with several values is
// a multivalued key (use ForAnyValue/ForAllValues in policies); a key present with no values
// counts as missing, except that ForAllValues sees it as the empty set.
using Context = std::map<std::string, std::vector<std::string>>;

// Stores `values` under the lowercased `key`.
void SetContextValue(Context& context, std::string_view key, std::vector<std::string> values);

// Who makes the request; only resource-based (trust) policies look at it, through Principal.
struct Caller {
  // "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:root", or an
  // assumed-role session "arn:aws:sts::123456789012:assumed-role/app/session". Empty for a
  // service or a federated caller.
  std::string arn;
  // For an assumed-role session: the role's ARN ("arn:aws:iam::123456789012:role/app"). A
  // Principal naming the role matches its sessions, as in AWS.
  std::string role_arn;
  // The caller's account; derived from `arn` when empty.
  std::string account;
  // A service principal, e.g. "ecs-tasks.amazonaws.com".
  std::string service;
  // A federated identity provider, e.g. "cognito-identity.amazonaws.com" or a SAML/OIDC
  // provider ARN.
  std::string federated;
};

// One request to authorize. The views must outlive the call that takes the Request.
struct Request {
  std::string_view action;           // "ssm:GetParameters"; compared case-insensitively
  std::string_view resource;         // the resource ARN, or "*" for actions without resource-level
                                     // permissions; compared case-sensitively
  const Context* context = nullptr;  // null means an empty context
  const Caller* caller = nullptr;    // null: only Principal "*" matches
};

enum class Outcome : uint8_t { Allow, ExplicitDeny, ImplicitDeny };

// The policy type named in AWS's access-denied messages.
enum class PolicyType : uint8_t { Identity, Resource, Session };

// The result of one policy alone. `sid` points into the Policy (valid while it lives) and is the
// Sid of the matching Deny statement on ExplicitDeny, of the first matching Allow on Allow.
struct PolicyEvaluation {
  Outcome outcome = Outcome::ImplicitDeny;
  std::string_view sid;
};

// The result of Decide. Copies what it reports, so it outlives the policies.
struct Decision {
  Outcome outcome = Outcome::ImplicitDeny;
  // For a denial: the policy type that denied (explicit) or that failed to allow (implicit).
  PolicyType policy_type = PolicyType::Identity;
  // ExplicitDeny: the Sid of the matching Deny statement ("" when it has none).
  std::string sid;
  // ExplicitDeny: the ParseOptions::name of the denying policy (e.g. its ARN), "" when unset.
  std::string policy_name;

  bool allowed() const { return outcome == Outcome::Allow; }
};

struct ParseOptions {
  // A label for the policy (e.g. a managed policy's ARN); explicit-deny messages name it.
  std::string name;
  // IAM's rules for Sid: ASCII letters and digits only. Other services' resource policies
  // (KMS key policies, for instance) allow any text, so a caller parsing those turns it off.
  // Sids must be unique within a policy either way.
  bool alphanumeric_sids = true;
};

class Policy {
 public:
  // Parses and validates `document` under the grammar of `kind`. On failure returns an Error
  // with kind InvalidArgument, aws_code "MalformedPolicyDocument" and AWS's wording, e.g.
  // "Syntax errors in policy.", "Policy document should not specify a principal.",
  // "Missing required field Effect", "Policy statement must contain actions.",
  // "Policy statement must contain resources.", "The policy must contain a valid version string".
  // Policy variables (${aws:username}, ${*}, ...) are recognised only with Version "2012-10-17";
  // otherwise they are literal text, as in AWS.
  static Result<Policy> Parse(std::string_view document, PolicyKind kind,
                              ParseOptions options = {});

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

  PolicyKind kind() const;
  const std::string& name() const;     // ParseOptions::name
  const std::string& version() const;  // "2012-10-17", "2008-10-17", or "" when absent
  const std::string& id() const;       // the document's Id, "" when absent
  size_t statement_count() const;

  // Evaluates this policy alone: ExplicitDeny when a Deny statement matches, else Allow when an
  // Allow statement matches, else ImplicitDeny. A statement matches when its Principal (if any)
  // matches request.caller, its Action/NotAction the action, its Resource/NotResource (if any)
  // the resource, and every condition holds.
  PolicyEvaluation Evaluate(const Request& request) const;

 private:
  struct Impl;
  explicit Policy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The policies that apply to one request. Null pointers are skipped.
struct PolicySet {
  // The principal's identity-based policies: inline, attached managed, and its groups'.
  std::span<const Policy* const> identity;
  // The target resource's resource-based policy, if any.
  const Policy* resource = nullptr;
  // The session policy passed when the role session was created, if any.
  const Policy* session = nullptr;
};

// AWS's evaluation within one account (permissions boundaries, SCPs and cross-account requests
// are out of scope):
//   1. an explicit Deny in any policy -> ExplicitDeny;
//   2. else an Allow in the resource-based policy -> Allow;
//   3. else an Allow in an identity-based policy, and (when a session policy is present) an
//      Allow in the session policy too -> Allow;
//   4. else ImplicitDeny (policy_type Session when only the session policy failed to allow).
Decision Decide(const PolicySet& policies, const Request& request);

// AWS's access-denied message for `decision`, e.g.
//   "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: ssm:GetParameters
//    on resource: arn:aws:ssm:...:parameter/x because no identity-based policy allows the
//    ssm:GetParameters action"
//   "... with an explicit deny in an identity-based policy" (": <policy name>" when known).
// " on resource: ..." is left out when `resource` is empty.
// REQUIRES: !decision.allowed().
std::string DenialMessage(std::string_view caller_arn, std::string_view action,
                          std::string_view resource, const Decision& decision);

// Whether a role's trust policy lets `caller` perform `action` (sts:AssumeRole,
// sts:AssumeRoleWithWebIdentity, sts:TagSession, ...): no matching Deny and a matching Allow.
// Statements with a Resource are matched against `role_arn`.
// REQUIRES: trust_policy.kind() == PolicyKind::Resource.
bool AllowsAssumeRole(const Policy& trust_policy, const Caller& caller, const Context& context = {},
                      std::string_view action = "sts:AssumeRole", std::string_view role_arn = {});

// AWS's wildcard match: '*' matches any run of characters (including none, and including ':'
// and '/'), '?' exactly one character; everything else literally. Iterative with one
// backtracking point, so O(|pattern| * |text|) at worst and linear in practice.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);

}  // namespace berth::iam
