#pragma once
// Parameter Store wire mapping (awsJson1.1, target prefix AmazonSSM, signing name ssm).

#include "api/service_registry.h"

namespace berth::ssm {
class SsmService;
}

namespace berth::api {

// The operation table over `ssm` (which must outlive it). Operations on named parameters check
// ssm:OPERATION on each parameter's ARN (GetParametersByPath: on the path's ARN) through
// ApiContext::authorize, so IAM policies on parameter paths apply; a read WithDecryption also
// checks kms:Decrypt on the key before each SecureString is decrypted. Members of the wrong JSON
// type throw nlohmann::json::type_error, which the front door answers as SerializationException.
JsonService MakeSsmHandlers(ssm::SsmService& ssm);

}  // namespace berth::api
