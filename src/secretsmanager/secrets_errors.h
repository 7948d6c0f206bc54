#pragma once
// The error codes Secrets Manager returns (awsJson1.1, `__type` plus "Message"), with AWS's
// wording where it is known. Messages marked (guess) have the right code but berth's own text.

#include <string>

#include "core/result.h"

namespace berth::secretsmanager::errors {

// Model constraints (lengths, ranges, enums) fail as ValidationException, in the
// "1 validation error detected: ..." form the AWS JSON services share.
inline Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}
inline Error ValidationNull(const std::string& member) {
  return Validation("1 validation error detected: Value null at '" + member +
                    "' failed to satisfy constraint: Member must not be null");
}
inline Error InvalidParameter(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidParameterException", std::move(message));
}
// The secret's state forbids the call (scheduled for deletion, ...).
inline Error InvalidRequest(std::string message) {
  return MakeError(ErrorKind::Conflict, "InvalidRequestException", std::move(message));
}
inline Error ResourceNotFound() {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                   "Secrets Manager can't find the specified secret.");
}
inline Error ResourceNotFound(std::string message) {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException", std::move(message));
}
inline Error StageNotFound(const std::string& stage) {
  return ResourceNotFound(
      "Secrets Manager can't find the specified secret value for staging "
      "label: " +
      stage);
}
inline Error VersionNotFound(const std::string& version_id) {
  return ResourceNotFound("Secrets Manager can't find the specified secret value for VersionId: " +
                          version_id);
}
inline Error MarkedForDeletion() {
  return InvalidRequest(
      "You can't perform this operation on the secret because it was marked for deletion.");
}
inline Error NameScheduledForDeletion() {
  return InvalidRequest(
      "You can't create this secret because a secret with this name is "
      "already scheduled for deletion.");
}
inline Error SecretExists(const std::string& name) {
  return MakeError(ErrorKind::AlreadyExists, "ResourceExistsException",
                   "The operation failed because the secret " + name + " already exists.");
}
// (guess) A ClientRequestToken that already names a version holding another value.
inline Error VersionExists(const std::string& version_id) {
  return MakeError(ErrorKind::AlreadyExists, "ResourceExistsException",
                   "A version with VersionId " + version_id +
                       " already exists with a different value. You can't modify an existing "
                       "version; create a new version instead.");
}
inline Error InvalidNextToken() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidNextTokenException",
                   "The NextToken value is invalid.");
}
inline Error EncryptionFailure(const std::string& detail) {
  return MakeError(ErrorKind::InvalidArgument, "EncryptionFailure",
                   "Secrets Manager can't encrypt the protected secret text using the provided "
                   "KMS key: " +
                       detail);
}
inline Error DecryptionFailure(const std::string& detail) {
  return MakeError(ErrorKind::InvalidArgument, "DecryptionFailure",
                   "Secrets Manager can't decrypt the protected secret text using the provided "
                   "KMS key: " +
                       detail);
}
inline Error LimitExceeded(std::string message) {
  return MakeError(ErrorKind::LimitExceeded, "LimitExceededException", std::move(message));
}

}  // namespace berth::secretsmanager::errors
