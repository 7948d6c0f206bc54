#pragma once
// Secrets Manager wire mapping (awsJson1.1, target prefix secretsmanager, signing name
// secretsmanager).

#include "api/service_registry.h"

namespace berth::secretsmanager {
class SecretsService;
}

namespace berth::api {

// The operation table over `secrets` (which must outlive it).
//
// Authorization: operations on one secret (GetSecretValue, PutSecretValue, UpdateSecret,
// DescribeSecret, DeleteSecret, RestoreSecret, TagResource, UntagResource,
// ListSecretVersionIds, UpdateSecretVersionStage) check secretsmanager:OPERATION on the secret's
// ARN themselves through ApiContext::authorize; the returned `resources` function lists no
// resources for them, so the front door does not check them on "*" as well. GetSecretValue also
// checks kms:Decrypt on the key when the version is under a customer managed key (not for
// aws/secretsmanager, as AWS). CreateSecret, ListSecrets and GetRandomPassword are checked by
// the front door on "*".
//
// SecretBinary travels as base64. Members of the wrong JSON type throw
// nlohmann::json::type_error, which the front door answers as SerializationException.
JsonService MakeSecretsManagerHandlers(secretsmanager::SecretsService& secrets);

}  // namespace berth::api
