#include "core/id.h"

#include <openssl/rand.h>

#include "core/assert.h"

namespace berth::core {

void FillRandom(void* out, size_t n) {
  BERTH_ASSERT(RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) == 1,
               "OpenSSL random generator failed");
}

namespace {
std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}
}  // namespace

std::string RandomIdSource::NewTaskId() {
  unsigned char b[16];
  FillRandom(b, sizeof b);
  return Hex(b, sizeof b);
}

std::string RandomIdSource::NewUuid() {
  unsigned char b[16];
  FillRandom(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string h = Hex(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string RandomIdSource::RandomString(size_t n, bool upper_alnum_only) {
  static const char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // 32: no modulo bias
  static const char kAll[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";  // 64
  std::string out(n, '\0');
  std::string raw(n, '\0');
  FillRandom(raw.data(), n);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    out[i] = upper_alnum_only ? kUpper[c & 31] : kAll[c & 63];
  }
  return out;
}

}  // namespace berth::core
