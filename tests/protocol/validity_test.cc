#include "protocol/validity.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::protocol {
namespace {

using ::testing::HasSubstr;

// One agent's interval of `seconds` on `cores` cores that used
// `cpu_seconds` of CPU.
IntervalUpdate WithCpu(double cpu_seconds, double seconds, double cores) {
  IntervalUpdate u;
  u.sequence = 1;
  u.end_s = seconds;
  ProcessFigures p;
  p.wall_seconds = seconds;
  p.cpu_seconds = cpu_seconds;
  p.usable_cores = cores;
  p.threads = 2050;
  u.process = p;
  return u;
}

TEST(ValidityTest, AProcessAtNinetyPercentOfItsCoresIsGeneratorBound) {
  const auto reason = GeneratorBoundReason(WithCpu(1.98, 1.0, 2));
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, "CPU 99% of 2 cores");
  EXPECT_TRUE(GeneratorBoundReason(WithCpu(1.8, 1.0, 2)).has_value());
  EXPECT_EQ(*GeneratorBoundReason(WithCpu(4.6, 5.0, 1)), "CPU 92% of 1 core");
  EXPECT_EQ(*GeneratorBoundReason(WithCpu(1.5, 1.0, 1.5)),
            "CPU 100% of 1.5 cores");
}

// Issue 30, item 11: an agent claiming usable_cores=0 could never be
// CPU-bound (its CPU fraction was 0).
TEST(ValidityTest, AnAgentClaimingNoUsableCoreIsHeldToOne) {
  const auto reason = GeneratorBoundReason(WithCpu(0.95, 1.0, 0));
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, "CPU 95% of 1 core (it claimed 0 usable cores)");
  IntervalUpdate waiting = WithCpu(0.1, 1.0, 0);
  waiting.process->run_queue_wait_seconds = 3;
  EXPECT_THAT(GeneratorBoundReason(waiting).value_or(""),
              HasSubstr("on average 3 threads waited for its 1 core"));
  EXPECT_FALSE(GeneratorBoundReason(WithCpu(0.2, 1.0, 0)).has_value());
}

// Issue 27: operations that waited for a free worker waited for the store;
// only the generator's own lag (wake_lag) counts against it.
TEST(ValidityTest, OnlyTheGeneratorsOwnLagCountsAgainstIt) {
  IntervalUpdate u = WithCpu(0.1, 1.0, 2);
  // Every operation 40 ms behind schedule, all of it waiting for a worker
  // busy on the store: not the generator.
  for (int i = 0; i < 1000; ++i) {
    u.stats.schedule_lag.Record(40'000'000);
    u.stats.wake_lag.Record(100'000);
  }
  EXPECT_FALSE(GeneratorBoundReason(u).has_value());
  // 3% started over 10 ms late with a worker free for them: the generator.
  for (int i = 0; i < 30; ++i) u.stats.wake_lag.Record(20'000'000);
  EXPECT_THAT(GeneratorBoundReason(u).value_or(""),
              HasSubstr("started over 10ms late with a worker free for them"));
}

// Issue 27: in-process, the agent's CPU also runs the store. A busy CPU
// while the generator kept its schedule is the store's cost; with its
// operations late as well, it is the generator's limit and says why.
TEST(ValidityTest, InOpenLoopABusyCpuCountsOnlyWhenTheGeneratorsOperationsWereLate) {
  IntervalUpdate u = WithCpu(1.98, 1.0, 2);
  u.process->run_queue_wait_seconds = 5;
  for (int i = 0; i < 1000; ++i) u.stats.wake_lag.Record(200'000);
  EXPECT_FALSE(GeneratorBoundReason(u).has_value());
  for (int i = 0; i < 30; ++i) u.stats.wake_lag.Record(20'000'000);
  const std::string reason = GeneratorBoundReason(u).value_or("");
  EXPECT_THAT(reason, HasSubstr("CPU 99% of 2 cores"));
  EXPECT_THAT(reason, HasSubstr("on average 5 threads waited"));
  EXPECT_THAT(reason, HasSubstr("with a worker free for them"));
}

TEST(ValidityTest, ALightlyLoadedProcessIsNot) {
  EXPECT_FALSE(GeneratorBoundReason(WithCpu(0.2, 1.0, 2)).has_value());
  EXPECT_FALSE(GeneratorBoundReason(WithCpu(1.79, 1.0, 2)).has_value());
  // No process figures and no open-loop operations: nothing to judge on.
  IntervalUpdate bare;
  bare.sequence = 1;
  EXPECT_FALSE(GeneratorBoundReason(bare).has_value());
}

TEST(ValidityTest, MoreThanOnePercentOfOpenLoopOperationsOver10msLateIsGeneratorBound) {
  IntervalUpdate u = WithCpu(0.1, 1.0, 2);
  // Scheduling jitter: every operation over 1 ms late (the writes_late
  // count), none over 10 ms: not the generator's limit.
  for (int i = 0; i < 1000; ++i) u.stats.schedule_lag.Record(5'000'000);
  u.stats.counters.writes_late = 1000;
  EXPECT_FALSE(GeneratorBoundReason(u).has_value());
  // 10 of 1010 over 10 ms behind: not more than 1%.
  for (int i = 0; i < 10; ++i) u.stats.schedule_lag.Record(40'000'000);
  EXPECT_FALSE(GeneratorBoundReason(u).has_value());
  // 21 of 1021: 2%.
  for (int i = 0; i < 11; ++i) u.stats.schedule_lag.Record(40'000'000);
  const auto reason = GeneratorBoundReason(u);
  ASSERT_TRUE(reason.has_value());
  EXPECT_THAT(*reason,
              HasSubstr("2% of open-loop operations started over 10ms late"));
  EXPECT_THAT(*reason, HasSubstr("p99 40.0 ms behind"));
  // Both signals, in one reason.
  u.process->cpu_seconds = 2;
  EXPECT_THAT(*GeneratorBoundReason(u),
              HasSubstr("CPU 100% of 2 cores; 2% of open-loop"));
}

TEST(ValidityTest, ThreadsQueueingForACpuAreGeneratorBoundWhateverTheCpuShare) {
  // A process given 60% of its two cores by a busy machine, with 412 of its
  // threads waiting for a CPU on average.
  IntervalUpdate u = WithCpu(1.2, 1.0, 2);
  u.process->run_queue_wait_seconds = 412;
  EXPECT_EQ(*GeneratorBoundReason(u),
            "on average 412 threads waited for its 2 cores");
  // Fewer than two waiting per core: a few threads now and then.
  u.process->run_queue_wait_seconds = 3.9;
  EXPECT_FALSE(GeneratorBoundReason(u).has_value());
}

TEST(ValidityTest, TheLimitsCanBeChanged) {
  GeneratorBoundLimits limits;
  limits.cpu_fraction = 0.5;
  EXPECT_TRUE(GeneratorBoundReason(WithCpu(1.2, 1.0, 2), limits).has_value());
  IntervalUpdate jitter = WithCpu(0.1, 1.0, 2);
  for (int i = 0; i < 100; ++i) jitter.stats.schedule_lag.Record(5'000'000);
  limits.late_by = std::chrono::milliseconds(1);
  EXPECT_TRUE(GeneratorBoundReason(jitter, limits).has_value());
}

}  // namespace
}  // namespace loadtest::protocol
