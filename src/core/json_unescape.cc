#include "core/json_unescape.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace berth::core {

namespace {

constexpr size_t kMalformed = std::string_view::npos;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at s (which has at least four bytes), or -1.
int32_t Hex4(const char* s) {
  int32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = HexValue(s[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

size_t EncodeUtf8(uint32_t cp, char* d) {
  if (cp < 0x80) {
    d[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    d[0] = static_cast<char>(0xC0 | (cp >> 6));
    d[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = static_cast<char>(0xE0 | (cp >> 12));
    d[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    d[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  d[0] = static_cast<char>(0xF0 | (cp >> 18));
  d[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  d[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  d[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes the escape sequence at s (*s == '\\') to d. Returns the input bytes it took (0 when
// malformed) and sets `written`. A \u escape never writes more bytes than it takes.
size_t DecodeEscape(const char* s, const char* end, char* d, size_t& written) {
  if (end - s < 2) return 0;
  written = 1;
  switch (s[1]) {
    case '"': *d = '"'; return 2;
    case '\\': *d = '\\'; return 2;
    case '/': *d = '/'; return 2;
    case 'b': *d = '\b'; return 2;
    case 'f': *d = '\f'; return 2;
    case 'n': *d = '\n'; return 2;
    case 'r': *d = '\r'; return 2;
    case 't': *d = '\t'; return 2;
    case 'u': break;
    default: return 0;
  }
  if (end - s < 6) return 0;
  const int32_t unit = Hex4(s + 2);
  if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return 0;  // a low surrogate first
  if (unit < 0xD800 || unit > 0xDBFF) {
    written = EncodeUtf8(static_cast<uint32_t>(unit), d);
    return 6;
  }
  // A high surrogate: the low one must follow.
  if (end - s < 12 || s[6] != '\\' || s[7] != 'u') return 0;
  const int32_t low = Hex4(s + 8);
  if (low < 0xDC00 || low > 0xDFFF) return 0;
  const uint32_t cp = 0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) +
                      (static_cast<uint32_t>(low) - 0xDC00);
  written = EncodeUtf8(cp, d);
  return 12;
}

// Decodes from s until s reaches `stop` (an escape that starts before `stop` is taken whole,
// reading up to `end`). False when malformed.
bool DecodeSpan(const char*& s, const char* stop, const char* end, char*& d) {
  while (s < stop) {
    const void* found = std::memchr(s, '\\', static_cast<size_t>(stop - s));
    const char* backslash = found ? static_cast<const char*>(found) : stop;
    std::memcpy(d, s, static_cast<size_t>(backslash - s));
    d += backslash - s;
    s = backslash;
    if (s == stop) break;
    size_t written = 0;
    const size_t taken = DecodeEscape(s, end, d, written);
    if (taken == 0) return false;
    s += taken;
    d += written;
  }
  return true;
}

// 64 bytes at a time: a block whose backslashes each escape a quote or a slash (what JSON lines
// are made of) loses its backslashes in one compress; any other block is decoded by DecodeSpan.
// Loads and stores are masked, so nothing outside `escaped` and the output is touched.
__attribute__((target("avx512f,avx512bw,avx512vbmi2,bmi2,popcnt")))
size_t UnescapeVbmi2(const char* s, const char* end, char* out) {
  const __m512i backslash = _mm512_set1_epi8('\\');
  const __m512i quote = _mm512_set1_epi8('"');
  const __m512i slash = _mm512_set1_epi8('/');
  char* d = out;
  // 1 when s[0] is the character escaped by the backslash that ended the last block (a
  // backslash already dropped from the output).
  uint64_t carry = 0;
  while (s < end) {
    const size_t len = std::min<size_t>(64, static_cast<size_t>(end - s));
    const __mmask64 valid = _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(len));
    const __m512i v = _mm512_maskz_loadu_epi8(valid, s);
    const uint64_t backslashes = _mm512_mask_cmpeq_epi8_mask(valid, v, backslash);
    if ((backslashes | carry) == 0) {
      _mm512_mask_storeu_epi8(d, valid, v);
      d += len;
      s += len;
      continue;
    }
    const uint64_t escaped = (backslashes << 1) | carry;
    const uint64_t simple =
        _mm512_mask_cmpeq_epi8_mask(valid, v, quote) | _mm512_mask_cmpeq_epi8_mask(valid, v, slash);
    // No escaped backslash (a run of them), every escaped character a quote or a slash, none
    // past the end of the string (a bit beyond `valid` is never `simple`).
    if ((backslashes & escaped) == 0 && (escaped & ~simple) == 0) {
      const uint64_t keep = valid & ~backslashes;
      const auto kept = static_cast<unsigned>(_mm_popcnt_u64(keep));
      _mm512_mask_storeu_epi8(d, _bzhi_u64(~uint64_t{0}, kept), _mm512_maskz_compress_epi8(keep, v));
      d += kept;
      carry = backslashes >> 63;
      s += len;
      continue;
    }
    const char* stop = s + len;
    if (carry != 0) --s;  // decode the split escape from its backslash
    if (!DecodeSpan(s, stop, end, d)) return kMalformed;
    carry = 0;
  }
  if (carry != 0) return kMalformed;  // the string ended with a backslash
  return static_cast<size_t>(d - out);
}

bool HasVbmi2() {
  static const bool has = __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi2") &&
                          __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
  return has;
}

}  // namespace

bool JsonUnescapeIsVectorized() { return HasVbmi2(); }

size_t UnescapeJsonStringScalar(std::string_view escaped, char* out) {
  const char* s = escaped.data();
  const char* end = s + escaped.size();
  char* d = out;
  if (!DecodeSpan(s, end, end, d)) return kMalformed;
  return static_cast<size_t>(d - out);
}

size_t UnescapeJsonString(std::string_view escaped, char* out) {
  if (HasVbmi2()) return UnescapeVbmi2(escaped.data(), escaped.data() + escaped.size(), out);
  return UnescapeJsonStringScalar(escaped, out);
}

bool UnescapeJsonString(std::string_view escaped, std::string& out) {
  out.resize(escaped.size());
  const size_t n = UnescapeJsonString(escaped, out.data());
  if (n == kMalformed) {
    out.clear();
    return false;
  }
  out.resize(n);
  return true;
}

}  // namespace berth::core
