#include "logs/trigram_bitmap.h"

#include <bit>
#include <cstring>

#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace berth::logs {

namespace {

inline bool IsDigit(unsigned char c) { return static_cast<unsigned>(c - '0') < 10; }

constexpr uint16_t kSink = 4096;

}  // namespace

TrigramBitmap::TrigramBitmap() : words_(WordCount(kMaxLog2Bits), 0) {}

void TrigramBitmap::Fold() {
  while (log2_bits_ > kMinLog2Bits) {
    const size_t half = WordCount(log2_bits_) / 2;
    int set = 0;
    for (size_t i = 0; i < half; ++i) {
      set += std::popcount(words_[i] | words_[i + half]);
    }
    if (set * 4 > static_cast<int>(half * 64)) {
      return;
    }
    for (size_t i = 0; i < half; ++i) {
      words_[i] |= words_[i + half];
    }
    words_.resize(half);
    --log2_bits_;
  }
}

std::vector<uint16_t> TrigramBitmap::NeedleTrigrams(std::string_view needle) {
  const auto* p = reinterpret_cast<const unsigned char*>(needle.data());
  std::vector<uint16_t> out;
  for (size_t i = 2; i < needle.size(); ++i) {
    if (!IsDigit(p[i - 2]) && !IsDigit(p[i - 1]) && !IsDigit(p[i])) {
      out.push_back(static_cast<uint16_t>(TrigramHash(p[i - 2], p[i - 1], p[i])));
    }
  }
  return out;
}

bool TrigramBitmap::MayContain(std::string_view needle) const {
  return MayContainAll(NeedleTrigrams(needle));
}

bool TrigramBitmap::FromWords(int log2_bits, std::span<const uint64_t> words,
                              TrigramBitmap* out) {
  if (log2_bits < kMinLog2Bits || log2_bits > kMaxLog2Bits ||
      words.size() != WordCount(log2_bits)) {
    return false;
  }
  out->log2_bits_ = log2_bits;
  out->words_.assign(words.begin(), words.end());
  return true;
}

void TrigramCollector::Clear() { seen_.fill(0); }

void TrigramCollector::Add(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  uint8_t* seen = seen_.data();
  size_t i = 0;  // the trigram starting at p[i]
#ifdef __AVX2__
  const __m256i k0 = _mm256_set1_epi16(static_cast<int16_t>(0x9E37));
  const __m256i k1 = _mm256_set1_epi16(static_cast<int16_t>(0x79B9));
  const __m256i k2 = _mm256_set1_epi16(static_cast<int16_t>(0x7F4B));
  const __m256i k3 = _mm256_set1_epi16(static_cast<int16_t>(0xC2B3));
  const __m256i zero = _mm256_set1_epi16('0');
  const __m256i nine = _mm256_set1_epi16(9);
  const __m256i sink = _mm256_set1_epi16(static_cast<int16_t>(kSink));
  alignas(32) uint16_t idx[16];
  for (; i + 18 <= n; i += 16) {
    const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    const __m256i b =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1)));
    const __m256i c =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 2)));
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(_mm256_mullo_epi16(a, k0), _mm256_mullo_epi16(b, k1)),
                                 _mm256_mullo_epi16(c, k2));
    x = _mm256_srli_epi16(_mm256_mullo_epi16(x, k3), 4);
    // A lane is a digit when byte - '0', as an unsigned 16-bit number, is at most 9.
    auto is_digit = [&](__m256i v) {
      const __m256i d = _mm256_sub_epi16(v, zero);
      return _mm256_cmpeq_epi16(_mm256_min_epu16(d, nine), d);
    };
    const __m256i any_digit = _mm256_or_si256(_mm256_or_si256(is_digit(a), is_digit(b)), is_digit(c));
    x = _mm256_blendv_epi8(x, sink, any_digit);
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx), x);
    for (int k = 0; k < 16; ++k) {
      seen[idx[k]] = 1;
    }
  }
#endif
  for (; i + 3 <= n; ++i) {
    const bool digit = IsDigit(p[i]) || IsDigit(p[i + 1]) || IsDigit(p[i + 2]);
    seen[digit ? kSink : TrigramHash(p[i], p[i + 1], p[i + 2])] = 1;
  }
}

TrigramBitmap TrigramCollector::Bitmap() const {
  TrigramBitmap out;
  for (size_t w = 0; w < out.words_.size(); ++w) {
    const uint8_t* bytes = seen_.data() + w * 64;
#ifdef __AVX2__
    const __m256i zero = _mm256_setzero_si256();
    const auto lo = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpgt_epi8(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes)), zero)));
    const auto hi = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpgt_epi8(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes + 32)), zero)));
    out.words_[w] = uint64_t{lo} | (uint64_t{hi} << 32);
#else
    uint64_t bits = 0;
    for (int k = 0; k < 64; ++k) {
      bits |= uint64_t{bytes[k]} << k;
    }
    out.words_[w] = bits;
#endif
  }
  return out;
}

}  // namespace berth::logs
