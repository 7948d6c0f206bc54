#pragma once
// The error codes ELBv2 returns (query protocol, <Code> in the XML envelope) with AWS's wording.

#include <string>

#include "core/result.h"

namespace berth::elb::errors {

inline Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationError", std::move(message));
}
inline Error LoadBalancerNotFound() {
  return MakeError(ErrorKind::NotFound, "LoadBalancerNotFound",
                   "One or more load balancers not found");
}
inline Error TargetGroupNotFound() {
  return MakeError(ErrorKind::NotFound, "TargetGroupNotFound",
                   "One or more target groups not found");
}
inline Error ListenerNotFound() {
  return MakeError(ErrorKind::NotFound, "ListenerNotFound", "One or more listeners not found");
}
inline Error RuleNotFound() {
  return MakeError(ErrorKind::NotFound, "RuleNotFound", "One or more rules not found");
}
inline Error DuplicateLoadBalancerName(const std::string& name) {
  return MakeError(ErrorKind::AlreadyExists, "DuplicateLoadBalancerName",
                   "A load balancer with the same name '" + name +
                       "' exists, but with different settings");
}
inline Error DuplicateTargetGroupName(const std::string& name) {
  return MakeError(ErrorKind::AlreadyExists, "DuplicateTargetGroupName",
                   "A target group with the same name '" + name +
                       "' exists, but with different settings");
}
inline Error DuplicateListener(const std::string& lb_arn) {
  return MakeError(ErrorKind::AlreadyExists, "DuplicateListener",
                   "A listener already exists on this port for this load balancer '" + lb_arn +
                       "'");
}
inline Error PriorityInUse(int priority) {
  return MakeError(ErrorKind::Conflict, "PriorityInUse",
                   "Priority '" + std::to_string(priority) + "' is currently in use");
}
inline Error ResourceInUse(std::string message) {
  return MakeError(ErrorKind::Conflict, "ResourceInUse", std::move(message));
}
inline Error InvalidTarget(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidTarget", std::move(message));
}
inline Error OperationNotPermitted(std::string message) {
  return MakeError(ErrorKind::Conflict, "OperationNotPermitted", std::move(message));
}
inline Error InvalidConfigurationRequest(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidConfigurationRequest", std::move(message));
}
inline Error CertificateNotFound(const std::string& arn) {
  return MakeError(ErrorKind::NotFound, "CertificateNotFound",
                   "Certificate '" + arn + "' not found");
}
inline Error IncompatibleProtocols(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "IncompatibleProtocols", std::move(message));
}
inline Error DuplicateTagKeys(const std::string& key) {
  return MakeError(ErrorKind::InvalidArgument, "DuplicateTagKeys",
                   "Tag key '" + key + "' is duplicated");
}

}  // namespace berth::elb::errors
