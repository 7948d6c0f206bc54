#pragma once
// AcmService: imported certificates (ACM ImportCertificate and friends), so an HTTPS listener
// can name its certificate by ARN as on AWS. Only IMPORTED certificates exist: berth issues none.
// The PEM text is parsed and checked with OpenSSL (the key must match the certificate).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "store/db.h"

namespace berth::acm {

struct Certificate {
  std::string arn;  // arn:aws:acm:REGION:ACCOUNT:certificate/UUID
  std::string certificate_pem;
  std::string chain_pem;
  std::string private_key_pem;
  // Read from the certificate when imported:
  std::string domain_name;
  std::vector<std::string> subject_alternative_names;
  std::string subject, issuer, serial, key_algorithm, signature_algorithm;
  int64_t not_before_s = 0, not_after_s = 0;
  int64_t imported_s = 0, created_s = 0;
  std::vector<std::pair<std::string, std::string>> tags;
};

class AcmService {
 public:
  AcmService(store::Db& db, core::Clock& clock, core::IdSource& ids, std::string region,
             std::string account_id);
  Status Open();
  // Who uses a certificate (HTTPS listeners): DescribeCertificate's InUseBy, and why
  // DeleteCertificate refuses.
  void SetInUseBy(std::function<std::vector<std::string>(const std::string&)> f) {
    in_use_by_ = std::move(f);
  }

  // Imports, or re-imports when `arn` names an existing certificate.
  Result<std::string> ImportCertificate(const std::string& arn, std::string certificate_pem,
                                        std::string private_key_pem, std::string chain_pem,
                                        std::vector<std::pair<std::string, std::string>> tags);
  Result<Certificate> Describe(const std::string& arn) const;
  std::vector<Certificate> List() const;
  Status Delete(const std::string& arn);
  std::vector<std::string> InUseBy(const std::string& arn) const;

 private:
  store::Db& db_;
  core::Clock& clock_;
  core::IdSource& ids_;
  std::string region_, account_id_;
  std::map<std::string, Certificate> certificates_;
  std::function<std::vector<std::string>(const std::string&)> in_use_by_;
};

}  // namespace berth::acm
