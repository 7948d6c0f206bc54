#pragma once
// The error codes Parameter Store returns (awsJson1.1 `__type`) with AWS's wording where it is
// known; README.md lists which messages are confirmed and which are berth's guesses.

#include <string>

#include "core/result.h"

namespace berth::ssm::errors {

inline Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}
// AWS sends ParameterNotFound with an empty message from GetParameter and DeleteParameter
// (botocore prints "... operation: " and nothing after it).
inline Error ParameterNotFound() { return MakeError(ErrorKind::NotFound, "ParameterNotFound", ""); }
inline Error ParameterVersionNotFound(const std::string& selector, const std::string& name) {
  return MakeError(ErrorKind::NotFound, "ParameterVersionNotFound",
                   "Systems Manager could not find version " + selector + " of " + name +
                       ". Verify the version and try again.");
}
inline Error ParameterAlreadyExists() {
  return MakeError(ErrorKind::AlreadyExists, "ParameterAlreadyExists",
                   "The parameter already exists. To overwrite this value, set the overwrite "
                   "option in the request to true.");
}
inline Error ParameterPatternMismatch(const std::string& pattern) {
  return MakeError(ErrorKind::InvalidArgument, "ParameterPatternMismatchException",
                   "Parameter value, cannot be validated against allowedPattern: " + pattern);
}
inline Error InvalidAllowedPattern(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidAllowedPatternException",
                   std::move(message));
}
inline Error HierarchyLevelLimitExceeded() {
  return MakeError(ErrorKind::LimitExceeded, "HierarchyLevelLimitExceededException",
                   "A hierarchy can have a maximum of 15 levels. For more information, see "
                   "Requirements and constraints for parameter names in the AWS Systems Manager "
                   "User Guide.");
}
inline Error InvalidKeyId(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidKeyId", std::move(message));
}
inline Error ParameterMaxVersionLimitExceeded(const std::string& name, int64_t oldest) {
  return MakeError(ErrorKind::LimitExceeded, "ParameterMaxVersionLimitExceeded",
                   "You attempted to create a new version of " + name +
                       " by calling the PutParameter API with the overwrite flag. Version " +
                       std::to_string(oldest) +
                       ", the oldest version, can't be deleted because it has a label "
                       "associated with it. Move the label to another version of the parameter, "
                       "and try again.");
}
inline Error ParameterVersionLabelLimitExceeded() {
  return MakeError(ErrorKind::LimitExceeded, "ParameterVersionLabelLimitExceeded",
                   "A parameter version can have maximum 10 labels.Move one or more labels to "
                   "another version and try again.");
}
inline Error InvalidFilterKey(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidFilterKey", std::move(message));
}
inline Error InvalidFilterOption(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidFilterOption", std::move(message));
}
inline Error InvalidFilterValue(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidFilterValue", std::move(message));
}
inline Error InvalidNextToken() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidNextToken",
                   "The specified token isn't valid.");
}
inline Error InvalidResourceType() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidResourceType",
                   "The resource type isn't valid. For example, if you are attempting to tag an "
                   "EC2 instance, the instance must be a registered managed node.");
}
inline Error InvalidResourceId() {
  return MakeError(ErrorKind::NotFound, "InvalidResourceId",
                   "The resource ID isn't valid. Verify that you entered the correct ID and try "
                   "again.");
}
inline Error TooManyTagsError() {
  return MakeError(ErrorKind::LimitExceeded, "TooManyTagsError",
                   "The Targets parameter includes too many tags. Remove one or more tags and try "
                   "the command again.");
}
inline Error InvalidPolicyType(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidPolicyTypeException", std::move(message));
}

}  // namespace berth::ssm::errors
