#include "elb/target_health.h"

#include <gtest/gtest.h>

namespace berth::elb {
namespace {

ProbeResult Pass() { return {ProbeResult::Kind::Passed, 200}; }
ProbeResult Code(int c) { return {ProbeResult::Kind::CodeMismatch, c}; }

TEST(StatusMatcherTest, SingleListAndRange) {
  auto one = StatusMatcher::Parse("200");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->Matches(200));
  EXPECT_FALSE(one->Matches(204));
  auto list = StatusMatcher::Parse("200,202,301");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Matches(202));
  EXPECT_TRUE(list->Matches(301));
  EXPECT_FALSE(list->Matches(201));
  auto range = StatusMatcher::Parse("200-399");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->Matches(302));
  EXPECT_FALSE(range->Matches(404));
  EXPECT_TRUE(StatusMatcher().Matches(200));
}

TEST(StatusMatcherTest, RejectsMalformedAndOutOfRange) {
  for (const char* bad : {"", "abc", "200-", "-200", "399-200", "100", "200-500", "200,,201",
                          "600"}) {
    auto m = StatusMatcher::Parse(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().aws_code, "ValidationError");
  }
}

TEST(TargetHealthTest, InitialBecomesHealthyAfterThresholdPasses) {
  HealthCheck hc;
  hc.healthy_threshold = 3;
  TargetHealth h;
  EXPECT_STREQ(h.StateName(), "initial");
  EXPECT_EQ(h.Reason(), "Elb.InitialHealthChecking");
  h.Record(Pass(), hc);
  h.Record(Pass(), hc);
  EXPECT_EQ(h.state(), HealthState::Initial);
  h.Record(Pass(), hc);
  EXPECT_EQ(h.state(), HealthState::Healthy);
  EXPECT_EQ(h.Reason(), "");
}

TEST(TargetHealthTest, HealthyGoesUnhealthyOnConsecutiveFailuresOnly) {
  HealthCheck hc;
  hc.healthy_threshold = 2;
  hc.unhealthy_threshold = 2;
  TargetHealth h;
  h.Record(Pass(), hc);
  h.Record(Pass(), hc);
  ASSERT_EQ(h.state(), HealthState::Healthy);
  h.Record(Code(500), hc);
  h.Record(Pass(), hc);  // breaks the run of failures
  h.Record(Code(500), hc);
  EXPECT_EQ(h.state(), HealthState::Healthy);
  h.Record(Code(500), hc);
  EXPECT_EQ(h.state(), HealthState::Unhealthy);
  EXPECT_EQ(h.Reason(), "Target.ResponseCodeMismatch");
  EXPECT_EQ(h.Description(), "Health checks failed with these codes: [500]");
  h.Record(Pass(), hc);  // one pass is not enough to come back
  EXPECT_EQ(h.state(), HealthState::Unhealthy);
  EXPECT_EQ(h.Reason(), "Target.ResponseCodeMismatch");
  h.Record(Pass(), hc);
  EXPECT_EQ(h.state(), HealthState::Healthy);
}

TEST(TargetHealthTest, ReasonsForTimeoutAndConnectionFailure) {
  HealthCheck hc;
  TargetHealth timeout;
  timeout.Record({ProbeResult::Kind::Timeout, 0}, hc);
  timeout.Record({ProbeResult::Kind::Timeout, 0}, hc);
  EXPECT_EQ(timeout.state(), HealthState::Unhealthy);
  EXPECT_EQ(timeout.Reason(), "Target.Timeout");
  EXPECT_EQ(timeout.Description(), "Request timed out");
  TargetHealth refused;
  refused.Record({ProbeResult::Kind::Failed, 0}, hc);
  refused.Record({ProbeResult::Kind::Failed, 0}, hc);
  EXPECT_EQ(refused.Reason(), "Target.FailedHealthChecks");
}

}  // namespace
}  // namespace berth::elb
