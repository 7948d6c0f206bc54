#pragma once
// TLS termination for HTTPS listeners (OpenSSL 3, non-blocking sockets). Targets are always
// plain HTTP.

#include <string>

#include "core/result.h"
#include "elb/routing_table.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace berth::elb::proxy {

// A server context from PEM text (certificate chain, leaf first; private key). TLS 1.2+.
// The caller frees it with SSL_CTX_free.
Result<SSL_CTX*> MakeServerContext(const TlsMaterial& tls);

// Non-blocking I/O on an accepted TLS connection. Results: > 0 bytes, 0 end of stream,
// kIoAgain (retry when the socket is ready again; *want_write tells which direction the
// handshake needs) or kIoError.
inline constexpr long kIoAgain = -1;
inline constexpr long kIoError = -2;
long TlsRead(SSL* ssl, char* data, size_t size, bool* want_write);
long TlsWrite(SSL* ssl, const char* data, size_t size, bool* want_read);

}  // namespace berth::elb::proxy
