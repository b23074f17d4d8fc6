// find-max's judging and search, on a simulated store of known capacity:
// pure, no agents (the fleet test runs the real command against fake
// agents of known capacity).
#include "controller/find_max.h"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::controller {
namespace {

using ::testing::HasSubstr;

Threshold Slo(const std::string& text) {
  absl::StatusOr<Threshold> t = ParseThreshold(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

// A step of `seconds` at `offered` writes/s against a store serving at most
// `capacity` writes/s: below it every write is served in 2 ms; above it the
// excess queues, so the latency at the step's end is backlog / capacity.
StepResult SimulatedStep(double offered, double capacity, double seconds) {
  StepResult step;
  Figures f;
  f.seconds = seconds;
  const double served = std::min(offered, capacity) * seconds;
  f.counters.writes_ok = static_cast<int64_t>(served);
  f.offered_writes = offered * seconds;
  const double backlog_s =
      offered > capacity ? (offered - capacity) * seconds / capacity : 0;
  const int samples = 100;
  for (int i = 0; i < samples; ++i) {
    const double wait_s = backlog_s * (i + 0.5) / samples;
    f.write_latency.RecordN(static_cast<int64_t>((0.002 + wait_s) * 1e9),
                            static_cast<uint64_t>(served / samples));
  }
  step.measured.total = f;
  AgentSummary agent;
  agent.agent_id = "a1";
  agent.figures = f;
  step.measured.agents.push_back(agent);
  step.measured.seconds = seconds;
  return step;
}

FindMaxOptions Options() {
  FindMaxOptions o;
  o.slos = {Slo("write_p99<100ms")};
  o.start_rate = 1000;
  o.max_rate = 1e6;
  o.step_duration = std::chrono::seconds(20);
  o.warmup = std::chrono::seconds(5);
  o.precision = 0.05;
  return o;
}

TEST(FindMaxTest, FindsASimulatedCapacityWithinThePrecision) {
  for (double capacity : {1500.0, 7300.0, 30000.0, 123456.0}) {
    SCOPED_TRACE(capacity);
    std::vector<double> rates;
    auto result = FindMax(
        Options(),
        [&](double rate) -> absl::StatusOr<StepResult> {
          rates.push_back(rate);
          return SimulatedStep(rate, capacity, 20);
        },
        nullptr);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->max_rate.has_value());
    // At most the capacity plus what 100 ms of backlog allows, and within
    // the precision below it.
    EXPECT_LE(*result->max_rate, capacity * 1.006);
    EXPECT_GE(*result->max_rate, capacity * 0.95 / 1.05);
    EXPECT_EQ(result->steps.size(), rates.size());
    // Doubling first: 1000, 2000, ... until the first failure.
    EXPECT_EQ(rates[0], 1000);
    if (rates.size() > 1 && capacity > 2000) {
      EXPECT_EQ(rates[1], 2000);
    }
    EXPECT_TRUE(result->limited_by == Limit::kSlo ||
                result->limited_by == Limit::kThroughput);
    EXPECT_THAT(result->limit_reason, HasSubstr("at "));
  }
}

TEST(FindMaxTest, EvenTheStartRateFailing) {
  auto result = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        return SimulatedStep(rate, 500, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->max_rate.has_value());
  ASSERT_EQ(result->steps.size(), 1u);
  EXPECT_FALSE(result->steps[0].passed);
}

TEST(FindMaxTest, EveryStepPassingStopsAtTheMaxRate) {
  FindMaxOptions o = Options();
  o.max_rate = 5000;
  std::vector<double> rates;
  auto result = FindMax(
      o,
      [&](double rate) -> absl::StatusOr<StepResult> {
        rates.push_back(rate);
        return SimulatedStep(rate, 1e9, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(rates, (std::vector<double>{1000, 2000, 4000, 5000}));
  EXPECT_EQ(result->max_rate, 5000);
  EXPECT_EQ(result->limited_by, Limit::kMaxRate);
}

TEST(FindMaxTest, AGeneratorLimitIsReportedAsSuchNotAsTheStores) {
  auto result = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        StepResult step = SimulatedStep(rate, 1e9, 20);
        if (rate > 3000) step.generator_bound = {"agent a1: CPU 99% of 2 cores"};
        return step;
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->limited_by, Limit::kGenerator);
  EXPECT_THAT(result->limit_reason, HasSubstr("CPU 99% of 2 cores"));
  EXPECT_THAT(result->limit_reason, HasSubstr("not the store"));
  ASSERT_TRUE(result->max_rate.has_value());
  EXPECT_LE(*result->max_rate, 3000);
  EXPECT_GE(*result->max_rate, 3000 / 1.05);
}

TEST(FindMaxTest, JudgeStepOrderAndReasons) {
  FindMaxOptions o = Options();
  StepResult ok = SimulatedStep(1000, 5000, 20);
  ok.offered_rate = 1000;
  JudgeStep(o, &ok);
  EXPECT_TRUE(ok.passed);
  EXPECT_EQ(ok.reason, "");

  StepResult refused = SimulatedStep(1000, 5000, 20);
  refused.offered_rate = 1000;
  refused.measured.total.counters.queue_full = 3;
  JudgeStep(o, &refused);
  EXPECT_EQ(refused.limit, Limit::kErrors);
  EXPECT_THAT(refused.reason, HasSubstr("3 writes refused (queue full)"));

  // Achieved below 95% of offered without an SLO to catch it.
  FindMaxOptions no_slo = o;
  no_slo.slos.clear();
  StepResult slow = SimulatedStep(1000, 900, 20);
  slow.offered_rate = 1000;
  JudgeStep(no_slo, &slow);
  EXPECT_EQ(slow.limit, Limit::kThroughput);
  EXPECT_THAT(slow.reason, HasSubstr("90.0% of the 1000/s offered"));

  // Writers behind schedule: the generator's limit when the store met
  // everything, the store's when its latency broke an SLO first.
  StepResult behind = SimulatedStep(1000, 5000, 20);
  behind.offered_rate = 1000;
  behind.behind_schedule = {"agent a1: 4 intervals (3% of open-loop "
                            "operations started over 10ms late)"};
  JudgeStep(o, &behind);
  EXPECT_EQ(behind.limit, Limit::kGenerator);
  EXPECT_THAT(behind.reason, HasSubstr("add --writers"));
  StepResult behind_slow = SimulatedStep(1100, 1000, 20);
  behind_slow.offered_rate = 1100;
  behind_slow.behind_schedule = behind.behind_schedule;
  JudgeStep(o, &behind_slow);
  EXPECT_EQ(behind_slow.limit, Limit::kSlo);

  StepResult audit = SimulatedStep(1000, 5000, 20);
  audit.offered_rate = 1000;
  audit.audit_failed = true;
  JudgeStep(o, &audit);
  EXPECT_EQ(audit.limit, Limit::kErrors);
}

TEST(FindMaxTest, AnInterruptedStepEndsTheSearch) {
  int calls = 0;
  auto result = FindMax(
      Options(),
      [&](double rate) -> absl::StatusOr<StepResult> {
        ++calls;
        StepResult step = SimulatedStep(rate, 1e9, 20);
        if (calls == 3) step.interrupted = "interrupted by signal 2";
        return step;
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(result->interrupted);
  EXPECT_EQ(result->max_rate, 2000);
  EXPECT_EQ(result->stopped_because, "interrupted by signal 2");
}

TEST(FindMaxTest, BadOptionsNameTheFlag) {
  FindMaxOptions o = Options();
  o.start_rate = 0;
  EXPECT_THAT(o.Validate().message(), HasSubstr("start-rate"));
  o = Options();
  o.max_rate = 10;
  EXPECT_THAT(o.Validate().message(), HasSubstr("max-rate"));
  o = Options();
  o.precision = 0;
  EXPECT_THAT(o.Validate().message(), HasSubstr("precision"));
  o = Options();
  o.step_duration = std::chrono::milliseconds(10);
  EXPECT_THAT(o.Validate().message(), HasSubstr("step-duration"));
}

TEST(FindMaxTest, TheReportHasTheAnswerAndEveryStep) {
  auto result = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        return SimulatedStep(rate, 3000, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  const nlohmann::json j = FindMaxJson(Options(), *result);
  EXPECT_EQ(j["max_rate"], *result->max_rate);
  EXPECT_EQ(j["steps"].size(), result->steps.size());
  EXPECT_EQ(j["slos"][0], "write_p99<100ms");
  EXPECT_TRUE(j["steps"][0]["passed"].get<bool>());
  EXPECT_EQ(j["steps"][0]["verdict"], "ok");
  EXPECT_GT(j["steps"][0]["write_latency_ms"]["p99"].get<double>(), 0);
  EXPECT_THAT(StepTableRow(1, result->steps[0]), HasSubstr("ok"));
}

}  // namespace
}  // namespace loadtest::controller
