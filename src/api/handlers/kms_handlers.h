#pragma once
// KMS wire mapping (awsJson1.1, target prefix TrentService, signing name kms).

#include "api/service_registry.h"

namespace berth::kms {
class KmsService;
}

namespace berth::api {

// The KMS operations over `kms`, which must outlive the returned table. Blobs (Plaintext,
// CiphertextBlob) are base64 on the wire; a value of the wrong JSON type throws
// nlohmann::json::type_error, which the front door answers as SerializationException.
JsonService MakeKmsHandlers(kms::KmsService& kms);

}  // namespace berth::api
