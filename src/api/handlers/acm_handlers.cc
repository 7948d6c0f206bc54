// ACM wire mapping (awsJson1.1, target prefix CertificateManager): imported certificates only.
#include "acm/acm_service.h"
#include "api/handlers/handlers.h"
#include "core/base64.h"

namespace berth::api {

using nlohmann::json;

namespace {

Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}

// A blob member: base64 on the wire (CBOR clients send bytes, decoded to the same string).
Result<std::string> Blob(const json& in, const char* key, bool required) {
  if (!in.contains(key)) {
    if (required) {
      return Validation(std::string("1 validation error detected: Value null at '") + key +
                        "' failed to satisfy constraint: Member must not be null");
    }
    return std::string();
  }
  auto decoded = core::Base64Decode(in.at(key).get<std::string>());
  if (!decoded) {
    return Validation(std::string("The value of '") + key + "' is not valid base64.");
  }
  return *decoded;
}

json Detail(const acm::Certificate& c, const std::vector<std::string>& in_use_by) {
  return {{"CertificateArn", c.arn},
          {"DomainName", c.domain_name},
          {"SubjectAlternativeNames", c.subject_alternative_names},
          {"Serial", c.serial},
          {"Subject", c.subject},
          {"Issuer", c.issuer},
          {"CreatedAt", c.created_s},
          {"ImportedAt", c.imported_s},
          {"Status", "ISSUED"},
          {"NotBefore", c.not_before_s},
          {"NotAfter", c.not_after_s},
          {"KeyAlgorithm", c.key_algorithm},
          {"SignatureAlgorithm", c.signature_algorithm},
          {"InUseBy", in_use_by},
          {"Type", "IMPORTED"},
          {"RenewalEligibility", "INELIGIBLE"},
          {"Options", {{"CertificateTransparencyLoggingPreference", "DISABLED"}}}};
}

}  // namespace

JsonService MakeAcmHandlers(acm::AcmService& acm) {
  JsonService s;
  s.signing_name = "acm";
  s.target_prefixes = {"CertificateManager"};
  auto& ops = s.operations;
  ops["ImportCertificate"] = [&acm](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string cert, Blob(in, "Certificate", true));
    BERTH_TRY(std::string key, Blob(in, "PrivateKey", true));
    BERTH_TRY(std::string chain, Blob(in, "CertificateChain", false));
    std::vector<std::pair<std::string, std::string>> tags;
    for (const json& t : in.value("Tags", json::array())) {
      tags.emplace_back(t.at("Key").get<std::string>(), t.value("Value", std::string()));
    }
    BERTH_TRY(std::string arn, acm.ImportCertificate(in.value("CertificateArn", std::string()),
                                                     std::move(cert), std::move(key),
                                                     std::move(chain), std::move(tags)));
    return json{{"CertificateArn", arn}};
  };
  ops["DescribeCertificate"] = [&acm](const ApiContext&, const json& in) -> Result<JsonReply> {
    std::string arn = in.value("CertificateArn", std::string());
    BERTH_TRY(acm::Certificate c, acm.Describe(arn));
    return json{{"Certificate", Detail(c, acm.InUseBy(arn))}};
  };
  ops["GetCertificate"] = [&acm](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(acm::Certificate c, acm.Describe(in.value("CertificateArn", std::string())));
    json out = {{"Certificate", c.certificate_pem}};
    if (!c.chain_pem.empty()) {
      out["CertificateChain"] = c.chain_pem;
    }
    return out;
  };
  ops["ListCertificates"] = [&acm](const ApiContext&, const json&) -> Result<JsonReply> {
    json list = json::array();
    for (const acm::Certificate& c : acm.List()) {
      list.push_back({{"CertificateArn", c.arn},
                      {"DomainName", c.domain_name},
                      {"SubjectAlternativeNameSummaries", c.subject_alternative_names},
                      {"Status", "ISSUED"},
                      {"Type", "IMPORTED"},
                      {"KeyAlgorithm", c.key_algorithm},
                      {"InUse", !acm.InUseBy(c.arn).empty()},
                      {"NotBefore", c.not_before_s},
                      {"NotAfter", c.not_after_s},
                      {"ImportedAt", c.imported_s},
                      {"CreatedAt", c.created_s}});
    }
    return json{{"CertificateSummaryList", list}};
  };
  ops["DeleteCertificate"] = [&acm](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_RETURN_IF_ERROR(acm.Delete(in.value("CertificateArn", std::string())));
    return json::object();
  };
  // IAM resources: the certificate the call names, else "*".
  s.resources = [](const std::string&, const json& in) -> std::vector<std::string> {
    if (in.contains("CertificateArn") && in["CertificateArn"].is_string()) {
      return {in["CertificateArn"].get<std::string>()};
    }
    return {"*"};
  };
  return s;
}

}  // namespace berth::api
