#include "elb/proxy/sticky.h"

#include <arpa/inet.h>

#include <cstring>

namespace berth::elb::proxy {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

uint32_t Fnv1a32(uint32_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

uint32_t TokenHash(std::string_view arn, uint32_t ip, uint16_t port) {
  uint32_t h = Fnv1a32(2166136261u, arn);
  char bytes[6] = {static_cast<char>(ip >> 24), static_cast<char>(ip >> 16),
                   static_cast<char>(ip >> 8),  static_cast<char>(ip),
                   static_cast<char>(port >> 8), static_cast<char>(port)};
  return Fnv1a32(h, std::string_view(bytes, 6));
}

void PutHex(uint64_t v, int digits, char* out) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

bool GetHex(std::string_view s, uint64_t* v) {
  uint64_t r = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    r = r * 16 + static_cast<uint64_t>(d);
  }
  *v = r;
  return true;
}

bool ParseV4(std::string_view ip, uint32_t* out) {
  char buf[INET_ADDRSTRLEN];
  if (ip.empty() || ip.size() >= sizeof(buf)) {
    return false;
  }
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  in_addr a;
  if (inet_pton(AF_INET, buf, &a) != 1) {
    return false;
  }
  *out = ntohl(a.s_addr);
  return true;
}

}  // namespace

bool EncodeStickyToken(std::string_view group_arn, std::string_view ip, uint16_t port,
                       char* out) {
  uint32_t v4 = 0;
  if (!ParseV4(ip, &v4)) {
    return false;
  }
  PutHex(v4, 8, out);
  PutHex(port, 4, out + 8);
  PutHex(TokenHash(group_arn, v4, port), 8, out + 12);
  return true;
}

bool DecodeStickyToken(std::string_view token, std::string_view group_arn, uint32_t* ip,
                       uint16_t* port) {
  uint64_t a = 0;
  uint64_t p = 0;
  uint64_t h = 0;
  if (token.size() != kStickyTokenLen || !GetHex(token.substr(0, 8), &a) ||
      !GetHex(token.substr(8, 4), &p) || !GetHex(token.substr(12, 8), &h)) {
    return false;
  }
  if (TokenHash(group_arn, static_cast<uint32_t>(a), static_cast<uint16_t>(p)) != h) {
    return false;
  }
  *ip = static_cast<uint32_t>(a);
  *port = static_cast<uint16_t>(p);
  return true;
}

bool SameTarget(std::string_view ip, uint16_t port, uint32_t token_ip, uint16_t token_port) {
  uint32_t v4 = 0;
  return port == token_port && ParseV4(ip, &v4) && v4 == token_ip;
}

void EncodeGroupToken(std::string_view group_arn, char* out) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : group_arn) {
    h ^= c;
    h *= 1099511628211ull;
  }
  PutHex(h, 16, out);
}

std::string_view FindCookie(std::span<const HeaderField> headers, std::string_view name) {
  for (const HeaderField& f : headers) {
    if (f.name.size() != 6 || !IEquals(f.name, "cookie")) {
      continue;
    }
    std::string_view v = f.value;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view pair = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) {
        pair.remove_prefix(1);
      }
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != name) {
        continue;
      }
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return {};
}

}  // namespace berth::elb::proxy
