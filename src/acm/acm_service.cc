#include "acm/acm_service.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>

#include <nlohmann/json.hpp>

namespace berth::acm {

// The stored form (found by ADL, so in the type's namespace).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Certificate, arn, certificate_pem, chain_pem,
                                                private_key_pem, domain_name,
                                                subject_alternative_names, subject, issuer, serial,
                                                key_algorithm, signature_algorithm, not_before_s,
                                                not_after_s, imported_s, created_s, tags)

namespace {

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "acm: imported certificates", R"sql(
CREATE TABLE IF NOT EXISTS acm_certificates (
  arn TEXT PRIMARY KEY,
  doc TEXT NOT NULL
);
)sql"},
  };
  return kMigrations;
}

Error Validation(std::string message) {
  return MakeError(ErrorKind::InvalidArgument, "ValidationException", std::move(message));
}

Error NotFound(const std::string& arn) {
  return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                   "Could not find certificate with arn " + arn + ".");
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

BioPtr MemBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
}

std::string NameText(X509_NAME* name) {
  BioPtr out(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

int64_t EpochOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm));
}

// Parses and checks the PEM material, filling the descriptive fields of `c`.
Status Inspect(Certificate& c) {
  auto bio = MemBio(c.certificate_pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) {
    return Validation("The certificate field contains an invalid PEM-encoded certificate.");
  }
  if (X509Ptr second(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free); second) {
    return Validation("The certificate field contains more than one certificate. You can "
                      "specify only one certificate in this field.");
  }
  auto key_bio = MemBio(c.private_key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) {
    return Validation("The private key is not supported or is not PEM-encoded.");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Validation("The private key does not match the public key in the certificate.");
  }
  if (!c.chain_pem.empty()) {
    auto chain = MemBio(c.chain_pem);
    if (!X509Ptr(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr), X509_free)) {
      return Validation("The certificate chain contains an invalid PEM-encoded certificate.");
    }
  }
  c.subject = NameText(X509_get_subject_name(cert.get()));
  c.issuer = NameText(X509_get_issuer_name(cert.get()));
  c.not_before_s = EpochOf(X509_get0_notBefore(cert.get()));
  c.not_after_s = EpochOf(X509_get0_notAfter(cert.get()));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr)) {
    char* hex = BN_bn2hex(bn);
    std::string h(hex);
    OPENSSL_free(hex);
    BN_free(bn);
    c.serial.clear();
    for (size_t i = 0; i < h.size(); i += 2) {
      c.serial += (i ? ":" : "") + std::string(h.substr(i, 2));
    }
    for (char& ch : c.serial) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  int bits = EVP_PKEY_get_bits(key.get());
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
    c.key_algorithm = "RSA_" + std::to_string(bits);
  } else if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof(group), &len);
    c.key_algorithm = std::string(group) == "prime256v1" ? "EC_prime256v1"
                      : std::string(group) == "secp384r1" ? "EC_secp384r1"
                                                          : "EC_" + std::string(group);
  } else {
    return Validation("The private key algorithm is not supported.");
  }
  c.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert.get()));
  for (char& ch : c.signature_algorithm) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::erase(c.signature_algorithm, '-');
  // Domain: the subject's CN, else the first DNS name.
  c.subject_alternative_names.clear();
  if (auto* sans = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const unsigned char* s = ASN1_STRING_get0_data(gn->d.dNSName);
        c.subject_alternative_names.emplace_back(reinterpret_cast<const char*>(s),
                                                 static_cast<size_t>(ASN1_STRING_length(gn->d.dNSName)));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn,
                                sizeof(cn)) > 0) {
    c.domain_name = cn;
  } else if (!c.subject_alternative_names.empty()) {
    c.domain_name = c.subject_alternative_names[0];
  }
  if (c.subject_alternative_names.empty() && !c.domain_name.empty()) {
    c.subject_alternative_names.push_back(c.domain_name);
  }
  return OkStatus();
}

}  // namespace

AcmService::AcmService(store::Db& db, core::Clock& clock, core::IdSource& ids,
                       std::string region, std::string account_id)
    : db_(db), clock_(clock), ids_(ids), region_(std::move(region)),
      account_id_(std::move(account_id)) {}

Status AcmService::Open() {
  BERTH_RETURN_IF_ERROR(store::ApplyMigrations(db_, "acm", Migrations()));
  BERTH_TRY(auto stmt, db_.Prepare("SELECT doc FROM acm_certificates"));
  while (true) {
    BERTH_TRY(bool row, stmt.Step());
    if (!row) {
      break;
    }
    auto doc = nlohmann::json::parse(stmt.ColumnText(0), nullptr, false);
    if (doc.is_discarded()) {
      return InternalError("corrupt certificate document in the acm store");
    }
    Certificate c = doc.get<Certificate>();
    certificates_[c.arn] = std::move(c);
  }
  return OkStatus();
}

Result<std::string> AcmService::ImportCertificate(
    const std::string& arn, std::string certificate_pem, std::string private_key_pem,
    std::string chain_pem, std::vector<std::pair<std::string, std::string>> tags) {
  if (certificate_pem.size() > 32768 || private_key_pem.size() > 5120 ||
      chain_pem.size() > 2097152) {
    return Validation("The certificate, private key or chain is too long.");
  }
  Certificate c;
  if (!arn.empty()) {
    auto it = certificates_.find(arn);
    if (it == certificates_.end()) {
      return NotFound(arn);
    }
    c = it->second;
    if (!tags.empty()) {
      return Validation("You cannot add tags when you reimport a certificate.");
    }
  } else {
    c.arn = "arn:aws:acm:" + region_ + ":" + account_id_ + ":certificate/" + ids_.NewUuid();
    c.created_s = clock_.NowMillis() / 1000;
    c.tags = std::move(tags);
  }
  c.certificate_pem = std::move(certificate_pem);
  c.private_key_pem = std::move(private_key_pem);
  c.chain_pem = std::move(chain_pem);
  BERTH_RETURN_IF_ERROR(Inspect(c));
  c.imported_s = clock_.NowMillis() / 1000;
  BERTH_TRY(auto stmt, db_.Prepare("INSERT INTO acm_certificates (arn, doc) VALUES (?, ?) "
                                   "ON CONFLICT(arn) DO UPDATE SET doc = excluded.doc"));
  stmt.Bind(1, c.arn).Bind(2, nlohmann::json(c).dump());
  BERTH_RETURN_IF_ERROR(stmt.Run());
  certificates_[c.arn] = c;
  return c.arn;
}

Result<Certificate> AcmService::Describe(const std::string& arn) const {
  auto it = certificates_.find(arn);
  if (it == certificates_.end()) {
    return NotFound(arn);
  }
  return it->second;
}

std::vector<Certificate> AcmService::List() const {
  std::vector<Certificate> out;
  for (const auto& [arn, c] : certificates_) {
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> AcmService::InUseBy(const std::string& arn) const {
  return in_use_by_ ? in_use_by_(arn) : std::vector<std::string>{};
}

Status AcmService::Delete(const std::string& arn) {
  if (!certificates_.count(arn)) {
    return NotFound(arn);
  }
  if (!InUseBy(arn).empty()) {
    return MakeError(ErrorKind::Conflict, "ResourceInUseException",
                     "Certificate " + arn + " in account " + account_id_ + " is in use.");
  }
  BERTH_TRY(auto stmt, db_.Prepare("DELETE FROM acm_certificates WHERE arn = ?"));
  stmt.Bind(1, arn);
  BERTH_RETURN_IF_ERROR(stmt.Run());
  certificates_.erase(arn);
  return OkStatus();
}

}  // namespace berth::acm
