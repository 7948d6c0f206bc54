#include "elb/proxy/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace berth::elb::proxy {

namespace {

Error TlsError(std::string what) {
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return MakeError(ErrorKind::InvalidArgument, "CertificateNotFound", what);
}

}  // namespace

Result<SSL_CTX*> MakeServerContext(const TlsMaterial& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return TlsError("cannot create a TLS context");
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);

  BIO* bio = BIO_new_mem_buf(tls.certificate_pem.data(),
                             static_cast<int>(tls.certificate_pem.size()));
  X509* leaf = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    SSL_CTX_free(ctx);
    return TlsError("the certificate does not load");
  }
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      break;
    }
  }
  ERR_clear_error();  // the end of the PEM list shows up as an error
  BIO_free(bio);

  bio = BIO_new_mem_buf(tls.private_key_pem.data(), static_cast<int>(tls.private_key_pem.size()));
  EVP_PKEY* key = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                                 : nullptr;
  BIO_free(bio);
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return TlsError("the private key does not load");
  }
  EVP_PKEY_free(key);
  if (SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    return TlsError("the private key does not match the certificate");
  }
  return ctx;
}

long TlsRead(SSL* ssl, char* data, size_t size, bool* want_write) {
  *want_write = false;
  ERR_clear_error();
  int n = SSL_read(ssl, data, static_cast<int>(size > (1u << 30) ? (1u << 30) : size));
  if (n > 0) {
    return n;
  }
  switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
      return kIoAgain;
    case SSL_ERROR_WANT_WRITE:
      *want_write = true;
      return kIoAgain;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      ERR_clear_error();
      return kIoError;
  }
}

long TlsWrite(SSL* ssl, const char* data, size_t size, bool* want_read) {
  *want_read = false;
  ERR_clear_error();
  int n = SSL_write(ssl, data, static_cast<int>(size > (1u << 30) ? (1u << 30) : size));
  if (n > 0) {
    return n;
  }
  switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_WRITE:
      return kIoAgain;
    case SSL_ERROR_WANT_READ:
      *want_read = true;
      return kIoAgain;
    default:
      ERR_clear_error();
      return kIoError;
  }
}

}  // namespace berth::elb::proxy
