// RatePlan: the arithmetic of open-loop rates and ramps, and the stage
// syntax of --stages.
#include "protocol/rate_plan.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/run_spec.h"

namespace loadtest::protocol {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

TEST(RatePlanTest, AConstantRateMakesOperationsDueEvenly) {
  const RatePlan plan = RatePlan::Constant(100);
  EXPECT_TRUE(plan.open_loop());
  EXPECT_DOUBLE_EQ(plan.RateAt(3), 100);
  EXPECT_DOUBLE_EQ(plan.OperationsBy(2.5), 250);
  EXPECT_DOUBLE_EQ(plan.TimeOfOperation(0), 0);
  EXPECT_DOUBLE_EQ(plan.TimeOfOperation(250), 2.5);
}

TEST(RatePlanTest, NoRateIsAClosedLoopWithNothingDue) {
  const RatePlan plan;
  EXPECT_FALSE(plan.open_loop());
  EXPECT_EQ(plan.OperationsBy(10), 0);
  EXPECT_TRUE(std::isinf(plan.TimeOfOperation(1)));
}

// 30s:500,2m:5000,30s:0 from 0: the integral is the area under the ramp.
TEST(RatePlanTest, ARampIntegratesToTheAreaUnderIt) {
  const RatePlan plan = RatePlan::Ramp(
      0, {{seconds(30), 500}, {seconds(120), 5000}, {seconds(30), 0}});
  EXPECT_DOUBLE_EQ(plan.RateAt(0), 0);
  EXPECT_DOUBLE_EQ(plan.RateAt(15), 250);
  EXPECT_DOUBLE_EQ(plan.RateAt(30), 500);
  EXPECT_DOUBLE_EQ(plan.RateAt(90), 2750);
  EXPECT_DOUBLE_EQ(plan.RateAt(165), 2500);
  EXPECT_DOUBLE_EQ(plan.RateAt(500), 0);  // The last target holds.
  EXPECT_DOUBLE_EQ(plan.OperationsBy(30), 30 * 500 / 2.0);
  EXPECT_DOUBLE_EQ(plan.OperationsBy(150), 7500 + 120 * (500 + 5000) / 2.0);
  EXPECT_DOUBLE_EQ(plan.OperationsBy(180), 7500 + 330000 + 30 * 5000 / 2.0);
  EXPECT_DOUBLE_EQ(plan.OperationsBy(1000), plan.OperationsBy(180));
  // Nothing is due once the rate stays 0.
  EXPECT_TRUE(std::isinf(plan.TimeOfOperation(plan.OperationsBy(180) + 1)));
}

// TimeOfOperation inverts OperationsBy on every kind of segment: rising,
// falling, flat, and after the stages.
TEST(RatePlanTest, TimeOfOperationInvertsTheIntegral) {
  const RatePlan plan = RatePlan::Ramp(
      200, {{seconds(10), 1000}, {seconds(10), 1000}, {seconds(10), 100},
            {seconds(0), 400}});
  for (double t : {0.001, 0.5, 3.0, 9.99, 10.0, 12.5, 20.0, 25.0, 29.9, 31.0,
                   100.0}) {
    SCOPED_TRACE(t);
    const double n = plan.OperationsBy(t);
    EXPECT_NEAR(plan.TimeOfOperation(n), t, 1e-9 * (1 + t));
  }
  // Due times never go back.
  double previous = -1;
  for (int n = 0; n < 30000; n += 7) {
    const double at = plan.TimeOfOperation(n);
    EXPECT_GE(at, previous) << n;
    previous = at;
  }
}

TEST(RatePlanTest, AZeroDurationStageJumps) {
  const RatePlan plan = RatePlan::Ramp(0, {{seconds(0), 1000}});
  EXPECT_DOUBLE_EQ(plan.RateAt(0), 1000);
  EXPECT_DOUBLE_EQ(plan.OperationsBy(2), 2000);
}

TEST(RatePlanTest, StagesParseFormatAndSplit) {
  auto stages = ParseStages("stages", "30s:500, 2m:5000,1m30s:0");
  ASSERT_TRUE(stages.ok()) << stages.status();
  ASSERT_EQ(stages->size(), 3u);
  EXPECT_EQ((*stages)[1].duration, seconds(120));
  EXPECT_EQ((*stages)[1].target, 5000);
  EXPECT_EQ(FormatStages(*stages), "30s:500,2m0s:5000,1m30s:0");
  EXPECT_EQ(StagesDuration(*stages), seconds(240));
  // Typed stages are summed before validation: the sum saturates.
  auto huge = ParseStages("stages", "2562047h:1,2562047h:1");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(StagesDuration(*huge), std::chrono::nanoseconds::max());
  const std::vector<RateStage> split = SplitStages(*stages, 4);
  EXPECT_EQ(split[1].target, 1250);
  EXPECT_EQ(split[1].duration, seconds(120));
}

TEST(RatePlanTest, BadStagesAreRefusedNamingTheFlagAndThePart) {
  for (const auto& [text, message] :
       std::vector<std::pair<std::string, std::string>>{
           {"30s", "is not DURATION:RATE"},
           {"30s:500,abc:5", "bad duration \"abc\""},
           {"-5s:10", "bad duration"},
           {"10s:-1", "bad rate \"-1\""},
           {"10s:lots", "bad rate"},
           {"10s:nan", "bad rate"},
           {"", "is not DURATION:RATE"}}) {
    SCOPED_TRACE(text);
    auto stages = ParseStages("read-stages", text);
    ASSERT_FALSE(stages.ok());
    EXPECT_THAT(stages.status().message(), HasSubstr("read-stages"));
    EXPECT_THAT(stages.status().message(), HasSubstr(message));
  }
}

TEST(RatePlanTest, WorkloadValidationBoundsTheStages) {
  WorkloadOptions w;
  w.write_stages = {{seconds(10), 2e7}};
  EXPECT_THAT(ValidateWorkloadOptions(w).message(),
              HasSubstr("a stage's rate must be between 0 and 10000000"));
  w.write_stages = {{seconds(10), 100}};
  w.writers = 0;
  EXPECT_THAT(ValidateWorkloadOptions(w).message(),
              HasSubstr("no writers to carry it"));
  w.writers = 1;
  w.write_stages.assign(1001, {seconds(1), 1});
  EXPECT_THAT(ValidateWorkloadOptions(w).message(),
              HasSubstr("at most 1000"));
  w.write_stages = {{std::chrono::hours(200), 1}};
  EXPECT_THAT(ValidateWorkloadOptions(w).message(), HasSubstr("168h"));
  w.write_stages = {{seconds(10), 100}};
  EXPECT_TRUE(ValidateWorkloadOptions(w).ok());
}

TEST(RatePlanTest, AgentSeedsDifferPerAgentAndRepeatPerSeed) {
  EXPECT_EQ(AgentSeed(42, 0), AgentSeed(42, 0));
  EXPECT_NE(AgentSeed(42, 0), AgentSeed(42, 1));
  EXPECT_NE(AgentSeed(42, 0), AgentSeed(43, 0));
}

}  // namespace
}  // namespace loadtest::protocol
