#include "elb/proxy/rule_match.h"

#include <arpa/inet.h>

#include <cstring>

namespace berth::elb::proxy {

namespace {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool AnyValueMatches(const std::vector<std::string>& values, std::string_view text,
                     bool case_insensitive) {
  for (const std::string& v : values) {
    if (WildcardMatch(v, text, case_insensitive)) {
      return true;
    }
  }
  return false;
}

bool MatchQuery(const std::vector<QueryPair>& pairs, std::string_view query) {
  // Decoded copies live on the stack; keys and values longer than this are compared cut,
  // which is as far as a rule value (128 chars at ALB) can look anyway.
  char key[1024];
  char value[4096];
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    size_t eq = item.find('=');
    std::string_view raw_key = item.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    std::string_view k(key, PercentDecode(raw_key, key, sizeof(key)));
    std::string_view v(value, PercentDecode(raw_value, value, sizeof(value)));
    for (const QueryPair& p : pairs) {
      if ((p.key.empty() || WildcardMatch(p.key, k, true)) && WildcardMatch(p.value, v, true)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

bool ParseIp(std::string_view text, IpAddress* out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) {
    return false;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out->bytes = {};
    out->bytes[10] = out->bytes[11] = 0xff;
    std::memcpy(&out->bytes[12], &a4, 4);
    out->v4 = true;
    return true;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(out->bytes.data(), &a6, 16);
    // An IPv4-mapped IPv6 address is the IPv4 client it stands for.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    out->v4 = std::memcmp(out->bytes.data(), kMapped, 12) == 0;
    return true;
  }
  return false;
}

bool CidrContains(std::string_view cidr, const IpAddress& ip) {
  size_t slash = cidr.find('/');
  IpAddress net;
  if (!ParseIp(cidr.substr(0, slash), &net)) {
    return false;
  }
  int max_bits = net.v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view b = cidr.substr(slash + 1);
    if (b.empty() || b.size() > 3) {
      return false;
    }
    bits = 0;
    for (char c : b) {
      if (c < '0' || c > '9') {
        return false;
      }
      bits = bits * 10 + (c - '0');
    }
    if (bits > max_bits) {
      return false;
    }
  }
  if (net.v4 != ip.v4) {
    return false;
  }
  // Compare the leading `bits` of the address (IPv4 sits in the last 4 bytes).
  int start = net.v4 ? 12 : 0;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((net.bytes[start + i] & mask) != (ip.bytes[start + i] & mask)) {
      return false;
    }
  }
  return true;
}



std::string_view StripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) {
    return host;
  }
  return host.substr(0, colon);
}

size_t PercentDecode(std::string_view in, char* out, size_t out_cap) {
  size_t n = 0;
  for (size_t i = 0; i < in.size() && n < out_cap; ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return n;
}

bool MatchCondition(const Condition& c, const RequestView& r) {
  switch (c.field) {
    case ConditionField::HostHeader:
      return AnyValueMatches(c.values, StripPort(r.host), true);
    case ConditionField::PathPattern:
      return AnyValueMatches(c.values, r.path, false);
    case ConditionField::HttpHeader:
      for (const HeaderField& h : r.headers) {
        if (IEquals(h.name, c.header_name) && AnyValueMatches(c.values, h.value, true)) {
          return true;
        }
      }
      return false;
    case ConditionField::QueryString:
      return MatchQuery(c.pairs, r.query);
    case ConditionField::HttpRequestMethod:
      for (const std::string& v : c.values) {
        if (v == r.method) {
          return true;
        }
      }
      return false;
    case ConditionField::SourceIp:
      for (const std::string& v : c.values) {
        if (CidrContains(v, r.source)) {
          return true;
        }
      }
      return false;
  }
  return false;
}

bool MatchRule(const RuleRoute& rule, const RequestView& r) {
  for (const Condition& c : rule.conditions) {
    if (!MatchCondition(c, r)) {
      return false;
    }
  }
  return true;
}

int FindRule(const ListenerRoute& route, const RequestView& r) {
  for (size_t i = 0; i < route.rules.size(); ++i) {
    if (MatchRule(route.rules[i], r)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace berth::elb::proxy
