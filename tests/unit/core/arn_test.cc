#include "core/arn.h"

#include <gtest/gtest.h>

namespace berth::core {

TEST(Arn, ParsesTaskArnWithSlashesInResource) {
  auto arn = ParseArn("arn:aws:ecs:us-east-1:000000000000:task/default/0123abcd");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->service, "ecs");
  EXPECT_EQ(arn->region, "us-east-1");
  EXPECT_EQ(arn->account, "000000000000");
  EXPECT_EQ(arn->resource, "task/default/0123abcd");
  EXPECT_EQ(arn->ToString(), "arn:aws:ecs:us-east-1:000000000000:task/default/0123abcd");
}

TEST(Arn, ResourceMayContainColons) {
  auto arn = ParseArn("arn:aws:ecs:us-east-1:1:task-definition/web:3");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->resource, "task-definition/web:3");
}

TEST(Arn, IamArnsHaveEmptyRegion) {
  auto arn = ParseArn("arn:aws:iam::123456789012:role/app");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->region, "");
  EXPECT_EQ(arn->resource, "role/app");
}

TEST(Arn, RejectsMalformed) {
  EXPECT_FALSE(ParseArn("").has_value());
  EXPECT_FALSE(ParseArn("web:3").has_value());
  EXPECT_FALSE(ParseArn("arn:aws:ecs").has_value());
  EXPECT_FALSE(ParseArn("arn:aws::us-east-1:1:x").has_value());
  EXPECT_FALSE(ParseArn("arn:aws:ecs:us-east-1:1:").has_value());
}

}  // namespace berth::core
