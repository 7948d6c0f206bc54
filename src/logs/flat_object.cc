#include "logs/flat_object.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace berth::logs {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Characters of a number, true, false or null.
constexpr std::array<bool, 256> kTokenChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.';
  }
  return t;
}();
inline bool IsTokenChar(char c) { return kTokenChar[static_cast<unsigned char>(c)]; }

// The first '"' or '\\' at or after `i` in p[0..n), or n.
inline size_t QuoteOrEscape(const char* p, size_t i, size_t n) {
#ifdef __AVX2__
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i escape = _mm256_set1_epi8('\\');
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const uint32_t hit = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, escape))));
    if (hit != 0) {
      return i + static_cast<size_t>(__builtin_ctz(hit));
    }
  }
#endif
  while (i < n && p[i] != '"' && p[i] != '\\') {
    ++i;
  }
  return i;
}

}  // namespace

bool ScanFlatObject(std::string_view object, std::array<FlatField, kMaxFlatFields>& fields,
                    size_t* count) {
  *count = 0;
  const char* p = object.data();
  const size_t n = object.size();
  size_t i = 1;  // past '{' (checked by the caller, as is the closing '}')
  auto ws = [&] {
    while (i < n && IsBlank(p[i])) {
      ++i;
    }
  };
  ws();
  if (i < n && p[i] == '}') {
    ++i;
    ws();
    return i == n;
  }
  while (true) {
    if (i >= n || p[i] != '"') {
      return false;
    }
    const size_t key_begin = ++i;
    i = QuoteOrEscape(p, i, n);
    if (i >= n || p[i] != '"') {
      return false;
    }
    const std::string_view key(p + key_begin, i - key_begin);
    ++i;
    ws();
    if (i >= n || p[i] != ':') {
      return false;
    }
    ++i;
    ws();
    if (i >= n) {
      return false;
    }
    const size_t value_begin = i;
    if (p[i] == '"') {
      ++i;
      while ((i = QuoteOrEscape(p, i, n)) < n && p[i] == '\\') {
        i += 2;
      }
      if (i >= n) {
        return false;
      }
      ++i;
    } else {
      while (i < n && (IsTokenChar(p[i]))) {
        ++i;
      }
      if (i == value_begin) {
        return false;  // '{', '[' or something odd: let simdjson decide
      }
    }
    if (*count == kMaxFlatFields) {
      return false;
    }
    fields[(*count)++] = {key, std::string_view(p + value_begin, i - value_begin)};
    ws();
    if (i < n && p[i] == ',') {
      ++i;
      ws();
      continue;
    }
    if (i < n && p[i] == '}') {
      ++i;
      ws();
      return i == n;
    }
    return false;
  }
}

}  // namespace berth::logs
