#include "core/time_util.h"

#include <gtest/gtest.h>

namespace berth::core {

TEST(TimeUtil, AmzDateRoundTrip) {
  auto t = ParseAmzDate("20261126T190750Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatAmzDate(*t), "20261126T190750Z");
  EXPECT_EQ(*ParseAmzDate("19700101T000000Z"), 0);
}

TEST(TimeUtil, AmzDateRejectsMalformed) {
  EXPECT_FALSE(ParseAmzDate("20261126T190750").has_value());
  EXPECT_FALSE(ParseAmzDate("2026-11-26T19:07:50Z").has_value());
  EXPECT_FALSE(ParseAmzDate("20261326T190750Z").has_value());
  EXPECT_FALSE(ParseAmzDate("2026112xT190750Z").has_value());
}

TEST(TimeUtil, Iso8601) {
  EXPECT_EQ(FormatIso8601(1500), "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(*ParseIso8601("1970-01-01T00:00:01.500Z"), 1500);
  EXPECT_EQ(*ParseIso8601("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_FALSE(ParseIso8601("1970-01-01").has_value());
  EXPECT_FALSE(ParseIso8601("1970-01-01T00:00:00Zjunk").has_value());
}

}  // namespace berth::core
