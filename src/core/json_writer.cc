#include "core/json_writer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/assert.h"
#include "core/utf8.h"

namespace berth::core {

namespace {

// A byte JSON text carries as it is: printable ASCII other than the quote and the backslash.
bool IsPlain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

#if defined(__SSE2__)
// One bit per byte of `v` that is a quote or a backslash (escaped with a backslash).
unsigned QuoteMask(__m128i v) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
      _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
}
// One bit per byte of `v` that is a control character or not ASCII (a signed compare: bytes
// >= 0x80 are negative, so "< 0x20" flags them too).
unsigned OtherMask(__m128i v) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
}
#endif

}  // namespace

// Escaping is most of the cost of a FilterLogEvents page: JSON log lines carry a quote every
// few bytes. The text is escaped into a per-thread scratch buffer sized for the worst case
// (\u00XX for every byte), with no capacity check per character, then appended once; runs of
// plain bytes are found 16 at a time with SSE2 and copied by whole vector stores.
void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Keys, names, ARNs and ids: short and plain. Copied with their quotes into a stack buffer,
  // checked there 16 bytes at a time (the padding after the text reads as plain), appended once.
  constexpr size_t kShort = 64;
  if (text.size() <= kShort) {
    alignas(16) char quoted[1 + kShort + 16];
    quoted[0] = '"';
    std::memcpy(quoted + 1, text.data(), text.size());
    std::memset(quoted + 1 + text.size(), 'a', 16);
    bool all_plain = true;
#if defined(__SSE2__)
    for (size_t i = 0; i < text.size(); i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(quoted + 1 + i));
      all_plain &= (QuoteMask(v) | OtherMask(v)) == 0;
    }
#else
    all_plain = std::all_of(text.begin(), text.end(),
                            [](char c) { return IsPlain(static_cast<unsigned char>(c)); });
#endif
    if (all_plain) {
      quoted[1 + text.size()] = '"';
      out.append(quoted, text.size() + 2);
      return;
    }
  }
  thread_local std::unique_ptr<char[]> scratch;
  thread_local size_t scratch_size = 0;
  const size_t need = text.size() * 6 + 2 + 16;  // + one vector store of slack
  if (scratch_size < need) {
    scratch_size = std::max(need, scratch_size * 2);
    scratch = std::make_unique_for_overwrite<char[]>(scratch_size);
  }
  char* d = scratch.get();
  *d++ = '"';
  const char* s = text.data();
  const char* const end = s + text.size();
  while (s < end) {
#if defined(__SSE2__)
    while (end - s >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
      unsigned quotes = QuoteMask(v);
      const unsigned others = OtherMask(v);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), v);
      if ((quotes | others) == 0) {
        s += 16;
        d += 16;
        continue;
      }
      if (others == 0 && end - s >= 32) {
        // Only quotes and backslashes (a JSON log line has one every few bytes): each is
        // escaped in place and the rest of the block stored again behind it, without leaving
        // the vector loop. Loads reach at most s + 31, inside the text.
        unsigned done = 0;  // bytes of this block already in place before d
        while (quotes != 0) {
          const unsigned at = static_cast<unsigned>(__builtin_ctz(quotes));
          d += at - done;
          d[0] = '\\';
          d[1] = s[at];
          d += 2;
          done = at + 1;
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d),
                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + done)));
          quotes &= quotes - 1;
        }
        d += 16 - done;
        s += 16;
        continue;
      }
      const int plain = __builtin_ctz(quotes | others);
      s += plain;
      d += plain;
      break;
    }
    if (s == end) {
      break;
    }
#endif
    const unsigned char c = static_cast<unsigned char>(*s);
    if (IsPlain(c)) {
      *d++ = *s++;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = core::Utf8SequenceLength(text, static_cast<size_t>(s - text.data())); n != 0) {
        std::memcpy(d, s, n);
        d += n;
        s += n;
        continue;
      }
    }
    auto put = [&d](std::string_view escaped) {
      std::memcpy(d, escaped.data(), escaped.size());
      d += escaped.size();
    };
    switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\b': put("\\b"); break;
      case '\f': put("\\f"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default:
        if (c < 0x20) {
          put("\\u00");
          *d++ = kHex[c >> 4];
          *d++ = kHex[c & 0xF];
        } else {
          put("\xEF\xBF\xBD");  // U+FFFD for a byte that starts no valid sequence
        }
    }
    ++s;
  }
  *d++ = '"';
  out.append(scratch.get(), static_cast<size_t>(d - scratch.get()));
}

void JsonWriter::Separate() {
  if (!open_.back().empty) {
    out_.push_back(',');
  }
  open_.back().empty = false;
}

void JsonWriter::BeforeValue() {
  if (key_pending_) {
    key_pending_ = false;
    return;
  }
  if (open_.empty()) {
    BERTH_ASSERT(out_.empty(), "a second top-level value");
    return;  // the document's top-level value
  }
  BERTH_ASSERT(open_.back().close == ']', "a value inside an object needs its Key first");
  Separate();
}

JsonWriter& JsonWriter::Open(char bracket) {
  BeforeValue();
  out_.push_back(bracket);
  open_.push_back({bracket == '{' ? '}' : ']', true});
  return *this;
}

JsonWriter& JsonWriter::Close(char bracket, const char* misuse) {
  BERTH_ASSERT(!open_.empty() && open_.back().close == bracket && !key_pending_, misuse);
  open_.pop_back();
  out_.push_back(bracket);
  return *this;
}

JsonWriter& JsonWriter::BeginObject() { return Open('{'); }
JsonWriter& JsonWriter::EndObject() { return Close('}', "EndObject without an open object"); }
JsonWriter& JsonWriter::BeginArray() { return Open('['); }
JsonWriter& JsonWriter::EndArray() { return Close(']', "EndArray without an open array"); }

JsonWriter& JsonWriter::Key(std::string_view key) {
  BERTH_ASSERT(!open_.empty() && open_.back().close == '}' && !key_pending_,
               "Key outside an object");
  Separate();
  AppendJsonString(out_, key);
  out_.push_back(':');
  key_pending_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

template <typename T>
JsonWriter& JsonWriter::Number(T value) {
  BeforeValue();
  char buf[32];  // the longest int64 (20) or shortest round-trip double (24) fits
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) { return Number(value); }
JsonWriter& JsonWriter::Double(double value) { return Number(value); }

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::RawValue(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

std::string JsonWriter::Take() {
  BERTH_ASSERT(open_.empty() && !key_pending_, "Take with an open container");
  return std::move(out_);
}

}  // namespace berth::core
