// HTTPS listener: TLS terminated by the proxy, plain HTTP to the target.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

#include "elb/proxy/proxy.h"
#include "unit/elb/proxy/proxy_test_util.h"

namespace berth::elb::proxy {
namespace {

using testing::ForwardRule;
using testing::Group;
using testing::Stream;
using testing::Table;
using testing::TestBackend;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(n));
  BIO_free(bio);
  return s;
}

// A throwaway self-signed P-256 certificate for "localhost".
TlsMaterial SelfSigned() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  TlsMaterial tls;
  BIO* cert = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert, x);
  tls.certificate_pem = BioText(cert);
  BIO* pk = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(pk, key, nullptr, nullptr, 0, nullptr, nullptr);
  tls.private_key_pem = BioText(pk);
  X509_free(x);
  EVP_PKEY_free(key);
  return tls;
}

// Sends one request over TLS and returns everything until the response's Content-Length is
// satisfied.
std::string TlsRoundTrip(uint16_t port, const std::string& request) {
  auto s = Stream::Connect(port);
  if (s == nullptr) return "";
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, s->fd());
  SSL_set_tlsext_host_name(ssl, "localhost");
  std::string out;
  if (SSL_connect(ssl) == 1 &&
      SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
    char buf[4096];
    while (true) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      size_t end = out.find("\r\n\r\n");
      size_t cl = out.find("Content-Length: ");
      if (end != std::string::npos && cl != std::string::npos && cl < end) {
        size_t len = std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) break;
      }
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

TEST(ProxyTlsTest, TerminatesTlsAndForwardsPlainHttp) {
  TestBackend b("b1");
  ProxyOptions opt;
  opt.threads = 1;
  Proxy proxy(opt);
  TlsMaterial tls = SelfSigned();
  auto port = proxy.OpenListener("https-listener", "127.0.0.1", 0, &tls);
  ASSERT_TRUE(port.ok()) << port.error().message;
  proxy.Publish(Table("https-listener", {ForwardRule(0, Group("arn:tg", {b.backend()}))}));
  std::string rsp = TlsRoundTrip(*port, "GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(rsp.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << rsp;
  auto got = b.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Get("x-forwarded-proto"), "https");
  EXPECT_EQ(got[0].Get("x-forwarded-port"), std::to_string(*port));
}

TEST(ProxyTlsTest, BadMaterialIsRejected) {
  ProxyOptions opt;
  opt.threads = 1;
  Proxy proxy(opt);
  TlsMaterial bad{"not a certificate", "not a key"};
  auto port = proxy.OpenListener("bad", "127.0.0.1", 0, &bad);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().aws_code, "CertificateNotFound");
}

}  // namespace
}  // namespace berth::elb::proxy
