#include "logs/trigram_bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace berth::logs {
namespace {

std::string RandomText(std::mt19937& rng, size_t n) {
  static const std::string alphabet = "abcERROR {}\":,0123456789_-/\\\xc3\xa9";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)]);
  }
  return s;
}

// The AVX2 collector and the scalar MayContain agree: every substring of every text added is
// "maybe contained", in the full and in folded bitmaps.
TEST(TrigramBitmapTest, EverySubstringOfAddedTextMayBeContained) {
  std::mt19937 rng(3);
  for (int round = 0; round < 50; ++round) {
    TrigramCollector collector;
    std::vector<std::string> texts;
    for (int t = 0; t < 5; ++t) {
      texts.push_back(RandomText(rng, std::uniform_int_distribution<size_t>(0, 90)(rng)));
      collector.Add(texts.back());
    }
    TrigramBitmap full = collector.Bitmap();
    TrigramBitmap folded = full;
    folded.Fold();
    for (const std::string& text : texts) {
      for (size_t b = 0; b < text.size(); ++b) {
        for (size_t len = 1; b + len <= text.size() && len <= 12; ++len) {
          ASSERT_TRUE(full.MayContain(text.substr(b, len))) << text.substr(b, len);
          ASSERT_TRUE(folded.MayContain(text.substr(b, len))) << text.substr(b, len);
        }
      }
    }
  }
}

TEST(TrigramBitmapTest, AbsentTrigramsRuleTextOutAndDigitsNeverDo) {
  TrigramCollector collector;
  collector.Add(R"({"method":"GET","status":200,"path":"/api/users/123"})");
  TrigramBitmap bitmap = collector.Bitmap();
  bitmap.Fold();
  EXPECT_LT(bitmap.log2_bits(), TrigramBitmap::kMaxLog2Bits);  // sparse: folded
  EXPECT_TRUE(bitmap.MayContain("\"status\""));
  EXPECT_FALSE(bitmap.MayContain("ERROR"));
  EXPECT_TRUE(bitmap.MayContain("500"));   // every trigram has a digit: unknown
  EXPECT_TRUE(bitmap.MayContain("ER"));    // shorter than a trigram
  TrigramBitmap back;
  ASSERT_TRUE(TrigramBitmap::FromWords(bitmap.log2_bits(), bitmap.words(), &back));
  EXPECT_FALSE(back.MayContain("ERROR"));
  EXPECT_FALSE(TrigramBitmap::FromWords(7, bitmap.words(), &back));
}

}  // namespace
}  // namespace berth::logs
