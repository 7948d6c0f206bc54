#pragma once
// The error codes CloudWatch Logs returns, with AWS's texts.

#include <string>

#include "core/result.h"

namespace berth::logs::errors {

inline Error InvalidParameter(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidParameterException", std::move(message));
}
inline Error GroupNotFound() {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                   "The specified log group does not exist.");
}
inline Error StreamNotFound() {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                   "The specified log stream does not exist.");
}
inline Error GroupExists() {
  return MakeError(ErrorKind::AlreadyExists, "ResourceAlreadyExistsException",
                   "The specified log group already exists");
}
inline Error StreamExists() {
  return MakeError(ErrorKind::AlreadyExists, "ResourceAlreadyExistsException",
                   "The specified log stream already exists");
}

}  // namespace berth::logs::errors
