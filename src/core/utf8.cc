#include "core/utf8.h"

#include <cstdint>

namespace berth::core {

size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto c = static_cast<uint8_t>(text[i]);
  size_t extra = 0;
  uint8_t lo = 0x80;  // only the first continuation byte has a narrowed range
  uint8_t hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    extra = 1;
  } else if (c == 0xE0) {
    extra = 2;
    lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    extra = 2;
  } else if (c == 0xED) {
    extra = 2;
    hi = 0x9F;
  } else if (c == 0xF0) {
    extra = 3;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    extra = 3;
  } else if (c == 0xF4) {
    extra = 3;
    hi = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i - 1 < extra) {
    return 0;
  }
  const auto first = static_cast<uint8_t>(text[i + 1]);
  if (first < lo || first > hi) {
    return 0;
  }
  for (size_t k = 2; k <= extra; ++k) {
    const auto cont = static_cast<uint8_t>(text[i + k]);
    if (cont < 0x80 || cont > 0xBF) {
      return 0;
    }
  }
  return extra + 1;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace berth::core
