#pragma once
// CredentialStore: the access keys berth accepts. For now the root (admin) key; IAM users and
// STS session credentials plug in here later.
//
// The root key comes from BERTH_ROOT_ACCESS_KEY_ID / BERTH_ROOT_SECRET_ACCESS_KEY, or from
// DATA_DIR/credentials (AWS shared-credentials format, mode 0600), generated on first start.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/sigv4.h"
#include "core/id.h"
#include "core/result.h"

namespace berth::api {

struct RootCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// Reads the root key from the environment, else from `credentials_file`, else generates one and
// writes the file (0600). Fails only when the file cannot be read or written.
Result<RootCredentials> LoadOrCreateRootCredentials(const std::string& credentials_file,
                                                    core::IdSource& ids);

class CredentialStore final : public SecretLookup {
 public:
  using Lookup = std::function<std::optional<std::string>(std::string_view access_key_id,
                                                          std::string_view session_token)>;
  explicit CredentialStore(RootCredentials root) : root_(std::move(root)) {}
  std::optional<std::string> SecretFor(std::string_view access_key_id,
                                       std::string_view session_token) override;
  const RootCredentials& root() const { return root_; }
  bool IsRoot(std::string_view access_key_id, std::string_view session_token) const {
    return access_key_id == root_.access_key_id && session_token.empty();
  }
  // Where keys other than the root key are found (IAM users' keys, STS sessions).
  void SetOtherKeys(Lookup lookup) { others_ = std::move(lookup); }

 private:
  RootCredentials root_;
  Lookup others_;
};

}  // namespace berth::api
