#pragma once
// The error codes ECS returns, with AWS's message texts where AWS has a fixed one.

#include <string>

#include "core/result.h"

namespace berth::ecs::errors {

inline Error Client(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ClientException", std::move(message));
}
inline Error InvalidParameter(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "InvalidParameterException", std::move(message));
}
inline Error ClusterNotFound() {
  return MakeError(ErrorKind::NotFound, "ClusterNotFoundException", "Cluster not found.");
}
inline Error ClusterContainsTasks() {
  return MakeError(ErrorKind::Conflict, "ClusterContainsTasksException",
                   "The Cluster cannot be deleted while Tasks are active.");
}
inline Error ClusterContainsServices() {
  return MakeError(ErrorKind::Conflict, "ClusterContainsServicesException",
                   "The Cluster cannot be deleted while Services are active.");
}
inline Error TaskDefinitionNotFound() {
  return Client("Unable to describe task definition.");
}
inline Error ResourceNotFound(std::string message) {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException", std::move(message));
}

}  // namespace berth::ecs::errors
