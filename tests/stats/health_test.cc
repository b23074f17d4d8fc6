// The guide's health rules (stats/health.h), each at and beyond its edge, on
// synthetic intervals.
#include "stats/health.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMs = 1'000'000;

// A healthy closed-loop second: 1,000 writes, p95 10 ms, queue 10%.
HealthSample Steady() {
  HealthSample s;
  s.seconds = 1;
  s.writes_ok = 1000;
  s.reads_ok = 100;
  s.write_p95_ns = 10 * kMs;
  s.write_p99_ns = 20 * kMs;
  s.queue_utilization = 0.10;
  return s;
}

// A judge that has seen `n` steady intervals.
HealthJudge AfterSteady(int n) {
  HealthJudge judge;
  for (int i = 0; i < n; ++i) judge.Judge(Steady());
  return judge;
}

TEST(HealthTest, SteadyIntervalsAreHealthyWithNoReason) {
  HealthJudge judge;
  for (int i = 0; i < 5; ++i) {
    const Health h = judge.Judge(Steady());
    EXPECT_EQ(h.state, HealthState::kHealthy);
    EXPECT_THAT(h.reasons, IsEmpty());
  }
}

TEST(HealthTest, IdleIntervalIsHealthyAndSaysIdle) {
  HealthSample idle;
  idle.seconds = 1;
  const Health h = HealthJudge().Judge(idle);
  EXPECT_EQ(h.state, HealthState::kHealthy);
  EXPECT_THAT(h.reasons, ElementsAre("idle"));
}

TEST(HealthTest, QueueUtilizationEdgeAt80Percent) {
  HealthSample s = Steady();
  s.queue_utilization = 0.799;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
  s.queue_utilization = 0.80;
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kUnderStress);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("queue 80.0% full")));
}

TEST(HealthTest, AnyQueueFullIsOverloaded) {
  HealthSample s = Steady();
  s.queue_full = 1;
  s.queue_utilization = 1;
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kOverloaded);
  EXPECT_THAT(h.reasons[0], HasSubstr("1 writes refused: queue full"));
}

TEST(HealthTest, ErrorRateEdgeAtOnePercent) {
  HealthSample s = Steady();
  s.writes_ok = 990;
  s.reads_ok = 0;
  s.write_errors = 9;  // 9 of 999: 0.9%.
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
  s.write_errors = 10;  // 10 of 1000: 1%.
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kUnderStress);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("error rate 1.0%")));
}

TEST(HealthTest, ErrorRateRisingOverThreeIntervalsIsStress) {
  HealthJudge judge = AfterSteady(1);
  HealthSample s = Steady();
  s.reads_ok = 0;
  s.write_errors = 2;  // 0.2%
  EXPECT_EQ(judge.Judge(s).state, HealthState::kHealthy);
  s.write_errors = 4;  // 0.4%: rising for two intervals only.
  EXPECT_EQ(judge.Judge(s).state, HealthState::kHealthy);
  s.write_errors = 6;  // 0.6%: the third rise.
  const Health h = judge.Judge(s);
  EXPECT_EQ(h.state, HealthState::kUnderStress);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("error rate rising")));
}

TEST(HealthTest, ErrorRateRisingBelowTheFloorIsNotCounted) {
  HealthJudge judge = AfterSteady(1);
  HealthSample s = Steady();
  s.writes_ok = 100000;
  for (int errors : {10, 20, 30, 40}) {  // 0.01% .. 0.04%: under 0.1%.
    s.write_errors = errors;
    EXPECT_EQ(judge.Judge(s).state, HealthState::kHealthy) << errors;
  }
}

TEST(HealthTest, WriteP95EdgesAt100MsAndOneSecond) {
  HealthSample s = Steady();
  s.write_p95_ns = 100 * kMs - 1;
  s.write_p99_ns = s.write_p95_ns;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
  s.write_p95_ns = 100 * kMs;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kUnderStress);
  s.write_p95_ns = 1000 * kMs - 1;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kUnderStress);
  s.write_p95_ns = 1000 * kMs;
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kOverloaded);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("write p95 1000.0 ms")));
  EXPECT_TRUE(h.latency);
  EXPECT_FALSE(h.throughput);
}

TEST(HealthTest, LatencySpikeIsFiveTimesTheRunsMedianP99AndAtLeast50Ms) {
  HealthSample s = Steady();  // p99 20 ms in the earlier intervals.
  s.write_p99_ns = 99 * kMs;
  {
    HealthJudge judge = AfterSteady(3);
    EXPECT_EQ(judge.Judge(s).state, HealthState::kHealthy);  // 4.95x.
  }
  s.write_p99_ns = 100 * kMs;
  {
    HealthJudge judge = AfterSteady(3);
    const Health h = judge.Judge(s);
    EXPECT_EQ(h.state, HealthState::kUnderStress);
    EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("latency spike")));
  }
  // Five times a tiny median, but under the 50 ms floor: jitter.
  HealthJudge judge;
  HealthSample fast = Steady();
  fast.write_p99_ns = 1 * kMs;
  judge.Judge(fast);
  fast.write_p99_ns = 40 * kMs;
  EXPECT_EQ(judge.Judge(fast).state, HealthState::kHealthy);
}

TEST(HealthTest, ClosedLoopThroughputAgainstTheRunsMedian) {
  HealthSample s = Steady();
  s.writes_ok = 751;  // 75.1% of the median 1,000/s.
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kHealthy);
  s.writes_ok = 749;
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kUnderStress);
  s.writes_ok = 251;
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kUnderStress);
  s.writes_ok = 249;
  const Health h = AfterSteady(2).Judge(s);
  EXPECT_EQ(h.state, HealthState::kOverloaded);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("throughput collapse")));
  EXPECT_TRUE(h.throughput);
  EXPECT_FALSE(h.latency);
  // Not before two earlier intervals: no reference yet.
  EXPECT_EQ(AfterSteady(1).Judge(s).state, HealthState::kHealthy);
}

TEST(HealthTest, OpenLoopThroughputAgainstTheOfferedRate) {
  HealthSample s = Steady();
  s.offered_writes = 1000;
  s.writes_ok = 900;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
  s.writes_ok = 899;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kUnderStress);
  s.writes_ok = 500;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kUnderStress);
  s.writes_ok = 499;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kOverloaded);
  // Too few offered to judge a shortfall.
  s.offered_writes = 49;
  s.writes_ok = 0;
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
}

TEST(HealthTest, TheLastIntervalsThroughputIsNotJudged) {
  HealthSample s = Steady();
  s.writes_ok = 100;  // 10% of the median: the drain and close are in it.
  s.final = true;
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kHealthy);
  s.offered_writes = 1000;  // Nor against the offered rate.
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kHealthy);
  s.queue_full = 1;  // Every other rule still holds.
  EXPECT_EQ(AfterSteady(2).Judge(s).state, HealthState::kOverloaded);
}

TEST(HealthTest, TimeoutRateEdgeAtOnePercentOfWritesTried) {
  HealthSample s = Steady();
  s.reads_ok = 100000;  // Keeps the error rate low: only timeouts judged.
  s.writes_ok = 1000;
  s.write_timeouts = 10;  // 10 of 1,010: 0.99%.
  EXPECT_EQ(HealthJudge().Judge(s).state, HealthState::kHealthy);
  s.write_timeouts = 11;  // 1.08%.
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kOverloaded);
  EXPECT_THAT(h.reasons, ElementsAre(HasSubstr("timed out")));
}

TEST(HealthTest, GeneratorBoundIsLabelledAsSuchNotAsTheStoresState) {
  HealthSample s = Steady();
  s.write_p95_ns = 200 * kMs;  // Would be under stress.
  s.generator_bound_reason = "CPU 99% of 2 cores";
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kGeneratorBound);
  EXPECT_THAT(h.reasons, ElementsAre("CPU 99% of 2 cores"));
}

TEST(HealthTest, QueueFullStaysOverloadedWhenTheGeneratorWasAlsoLimited) {
  HealthSample s = Steady();
  s.queue_full = 5;
  s.generator_bound_reason = "CPU 99% of 2 cores";
  const Health h = HealthJudge().Judge(s);
  EXPECT_EQ(h.state, HealthState::kOverloaded);
  EXPECT_THAT(h.reasons.back(), HasSubstr("the load generator was also limited"));
}

TEST(HealthTest, TallyCountsIntervalsAndSecondsPerState) {
  HealthTally t;
  t.Add(HealthState::kHealthy, 5);
  t.Add(HealthState::kHealthy, 5);
  t.Add(HealthState::kOverloaded, 2.5);
  HealthTally other;
  other.Add(HealthState::kUnderStress, 1);
  t.Add(other);
  EXPECT_EQ(t.total_intervals(), 4);
  EXPECT_EQ(t.intervals[static_cast<int>(HealthState::kHealthy)], 2);
  EXPECT_DOUBLE_EQ(t.seconds[static_cast<int>(HealthState::kOverloaded)], 2.5);
  EXPECT_DOUBLE_EQ(t.fraction(HealthState::kHealthy), 0.5);
  EXPECT_DOUBLE_EQ(HealthTally().fraction(HealthState::kHealthy), 0);
}

TEST(HealthTest, StateNames) {
  EXPECT_STREQ(HealthStateName(HealthState::kHealthy), "healthy");
  EXPECT_STREQ(HealthStateName(HealthState::kUnderStress), "under_stress");
  EXPECT_STREQ(HealthStateName(HealthState::kOverloaded), "overloaded");
  EXPECT_STREQ(HealthStateName(HealthState::kGeneratorBound), "generator_bound");
}

}  // namespace
}  // namespace loadtest::stats
