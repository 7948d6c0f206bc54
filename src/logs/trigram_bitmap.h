#pragma once
// Trigram summaries of text, used to describe a cluster of log events (see block_clusters.h)
// so that a query for a substring can skip the clusters that certainly do not contain it.
//
// Trigrams holding an ASCII digit are never recorded: digits are everywhere in logs (times,
// ids, durations) and would fill the bitmap. A query trigram with a digit is therefore treated
// as "maybe present", which keeps MayContain sound. A bitmap has 2^k bits (k = 8..12); the bit
// of a trigram is `TrigramHash mod 2^k`, so a bitmap can be folded in half (OR of the halves)
// without losing a trigram — Fold() does that while the bitmap stays sparse, to save space.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace berth::logs {

class TrigramBitmap {
 public:
  static constexpr int kMaxLog2Bits = 12;  // 4096 bits before folding
  static constexpr int kMinLog2Bits = 8;

  // An empty bitmap of 2^kMaxLog2Bits bits.
  TrigramBitmap();

  // Halves the bitmap while no more than a quarter of its bits would be set afterwards.
  void Fold();

  // False only when some digit-free trigram of `needle` is not in the bitmap (so no text
  // summarized by it contains `needle`). Needles shorter than 3 bytes are always "maybe".
  bool MayContain(std::string_view needle) const;

  // The hashes of the digit-free trigrams of `needle`, for MayContainAll: a pattern computes
  // them once rather than for every cluster it is checked against.
  static std::vector<uint16_t> NeedleTrigrams(std::string_view needle);
  // MayContain for a needle given by NeedleTrigrams.
  bool MayContainAll(std::span<const uint16_t> trigrams) const {
    const uint32_t mask = (uint32_t{1} << log2_bits_) - 1;
    for (uint16_t t : trigrams) {
      const uint32_t bit = t & mask;
      if ((words_[bit >> 6] & (uint64_t{1} << (bit & 63))) == 0) {
        return false;
      }
    }
    return true;
  }

  int log2_bits() const { return log2_bits_; }
  // The bitmap's words: 2^log2_bits / 64 of them.
  std::span<const uint64_t> words() const { return words_; }

  // Rebuilds a bitmap from log2_bits() and words(); false when they do not fit together.
  static bool FromWords(int log2_bits, std::span<const uint64_t> words, TrigramBitmap* out);

  static constexpr size_t WordCount(int log2_bits) { return (size_t{1} << log2_bits) / 64; }

 private:
  friend class TrigramCollector;
  int log2_bits_ = kMaxLog2Bits;
  std::vector<uint64_t> words_;
};

// Collects the trigrams of many texts (one byte per possible bit, so adding is plain stores
// with no read-modify-write chain; AVX2 hashes 16 positions at a time) and then yields the
// bitmap. About 0.3 ns a byte.
class TrigramCollector {
 public:
  TrigramCollector() { Clear(); }
  void Clear();
  // Records every digit-free trigram of `text`.
  void Add(std::string_view text);
  // The unfolded bitmap of everything added since Clear().
  TrigramBitmap Bitmap() const;

 private:
  // Byte 4096 is a sink for trigrams with a digit, so the loop needs no branch.
  alignas(32) std::array<uint8_t, 4096 + 32> seen_;
};

// The 12-bit hash of a trigram (16-bit arithmetic, so that AVX2 computes the same values).
inline uint32_t TrigramHash(uint8_t a, uint8_t b, uint8_t c) {
  uint16_t x = static_cast<uint16_t>(static_cast<uint16_t>(a * 0x9E37u) ^
                                     static_cast<uint16_t>(b * 0x79B9u) ^
                                     static_cast<uint16_t>(c * 0x7F4Bu));
  x = static_cast<uint16_t>(x * 0xC2B3u);
  return x >> 4;
}

}  // namespace berth::logs
