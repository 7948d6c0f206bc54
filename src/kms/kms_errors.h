#pragma once
// The error codes the KMS API (TrentService, awsJson1.1) returns, with KMS's wording where it is
// known. crypto.h builds its own ValidationException / InvalidCiphertextException /
// NotFoundException errors with the same codes.

#include <string>

#include "core/result.h"

namespace berth::kms::errors {

inline Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}
// A required member that is absent: KMS names it in camelCase ("keyId", "plaintext").
inline Error MissingMember(const std::string& member) {
  return Validation("1 validation error detected: Value null at '" + member +
                    "' failed to satisfy constraint: Member must not be null");
}
inline Error NotFound(std::string message) {
  return MakeError(ErrorKind::NotFound, "NotFoundException", std::move(message));
}
inline Error KeyNotFound(const std::string& key_arn) {
  return NotFound("Key '" + key_arn + "' does not exist");
}
inline Error AliasNotFound(const std::string& alias_arn) {
  return NotFound("Alias " + alias_arn + " is not found.");
}
inline Error Disabled(const std::string& key_arn) {
  return MakeError(ErrorKind::Conflict, "DisabledException", key_arn + " is disabled.");
}
inline Error InvalidState(std::string message) {
  return MakeError(ErrorKind::Conflict, "KMSInvalidStateException", std::move(message));
}
inline Error PendingDeletion(const std::string& key_arn) {
  return InvalidState(key_arn + " is pending deletion.");
}
inline Error NotPendingDeletion(const std::string& key_arn) {
  return InvalidState(key_arn + " is not pending deletion.");
}
inline Error AliasAlreadyExists(const std::string& alias_arn) {
  return MakeError(ErrorKind::AlreadyExists, "AlreadyExistsException",
                   "An alias with the name " + alias_arn + " already exists");
}
inline Error InvalidAliasName(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidAliasNameException", std::move(message));
}
// KMS's answer to a customer touching the reserved alias/aws/ namespace.
inline Error NotAuthorized() {
  return MakeError(ErrorKind::AccessDenied, "NotAuthorizedException", "");
}
inline Error IncorrectKey() {
  return MakeError(ErrorKind::InvalidArgument, "IncorrectKeyException",
                   "The key ID in the request does not identify a CMK that can perform this "
                   "operation.");
}
inline Error UnsupportedOperation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "UnsupportedOperationException", std::move(message));
}
inline Error InvalidKeyUsage(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidKeyUsageException", std::move(message));
}
inline Error InvalidMarker() {
  return MakeError(ErrorKind::InvalidArgument, "InvalidMarkerException",
                   "The marker is not valid.");
}
inline Error Tag(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "TagException", std::move(message));
}
inline Error MalformedPolicyDocument(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "MalformedPolicyDocumentException",
                   std::move(message));
}

}  // namespace berth::kms::errors
