// find-max's judging and search, on a simulated store of known capacity:
// pure, no agents (the fleet test runs the real command against fake
// agents of known capacity).
#include "controller/find_max.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "report/concurrency.h"
#include "report/csv_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "report/display.h"
#include "report/find_max_judge.h"
#include "report/json_report.h"

namespace loadtest::controller {

using report::AgentSummary;
using report::AutoWriters;
using report::Figures;
using report::FindMaxJson;
using report::kDefaultLatencyBound;
using report::JudgeStep;
using report::NeededInFlight;
using report::ParseThreshold;
using report::StepTableRow;
using report::Threshold;
using report::WriteLatencyBound;
using report::kMaxAutoWriters;
using report::kMinAutoWriters;

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
  EXPECT_THAT(behind.reason, HasSubstr("did not run the load generator on time"));
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
  for (int tries : {0, 2, 11}) {
    o = Options();
    o.tries = tries;
    EXPECT_THAT(o.Validate().message(), HasSubstr("tries must be an odd"))
        << tries;
  }
}

// One run at 4000/s hit a stall of the store (simulated: that run's
// capacity was 100/s). Judged on one run, that run ends the doubling and
// caps the answer below 4000/s; with --tries=3 the rate is run again,
// passes twice, and the search goes on to the store's real capacity.
TEST(FindMaxTest, ARateIsDecidedByTheMajorityOfItsTries) {
  const double capacity = 7300;
  auto search = [&](int tries) {
    FindMaxOptions o = Options();
    o.tries = tries;
    o.max_steps = 100;
    bool stalled = false;
    return FindMax(
        o,
        [&](double rate) -> absl::StatusOr<StepResult> {
          if (rate == 4000 && !stalled) {
            stalled = true;
            return SimulatedStep(rate, 100, 20);
          }
          return SimulatedStep(rate, capacity, 20);
        },
        nullptr);
  };
  auto once = search(1);
  ASSERT_TRUE(once.ok()) << once.status();
  ASSERT_TRUE(once->max_rate.has_value());
  EXPECT_LT(*once->max_rate, 4000);

  auto majority = search(3);
  ASSERT_TRUE(majority.ok()) << majority.status();
  ASSERT_TRUE(majority->max_rate.has_value());
  EXPECT_GE(*majority->max_rate, capacity * 0.95 / 1.05);
  EXPECT_LE(*majority->max_rate, capacity * 1.006);
  std::vector<const StepResult*> at_4000;
  for (const StepResult& step : majority->steps) {
    if (step.offered_rate == 4000) at_4000.push_back(&step);
  }
  ASSERT_EQ(at_4000.size(), 3u);
  EXPECT_FALSE(at_4000[0]->passed);
  EXPECT_EQ(at_4000[0]->attempt, 1);
  EXPECT_FALSE(at_4000[0]->rate_passed.has_value());
  EXPECT_FALSE(at_4000[1]->rate_passed.has_value());
  EXPECT_EQ(at_4000[2]->attempt, 3);
  ASSERT_TRUE(at_4000[2]->rate_passed.has_value());
  EXPECT_TRUE(*at_4000[2]->rate_passed);
  EXPECT_EQ(at_4000[2]->rate_tries, 3);
  EXPECT_EQ(at_4000[2]->rate_tries_passed, 2);
  EXPECT_THAT(StepTableRow(1, *at_4000[2]),
              HasSubstr("ok; rate passed: 2 of 3 tries"));
  // Every other rate: two agreeing tries, the second deciding it.
  std::map<double, int> tries_per_rate;
  for (const StepResult& step : majority->steps) {
    ++tries_per_rate[step.offered_rate];
  }
  for (const auto& [rate, n] : tries_per_rate) {
    if (rate != 4000) {
      EXPECT_EQ(n, 2) << rate;
    }
  }
  const nlohmann::json j =
      FindMaxJson(Options(), *majority);
  EXPECT_EQ(j["steps"][0]["attempt"], 1);
  EXPECT_TRUE(j["steps"][0]["rate_passed"].is_null());
  EXPECT_EQ(j["steps"][1]["rate_passed"], true);
  EXPECT_EQ(j["steps"][1]["rate_tries"], 2);
  // The CSV's rows carry the try and, on the deciding one, the verdict.
  const std::string csv = report::FindMaxCsv(*majority);
  EXPECT_THAT(csv, HasSubstr(",reason,attempt,rate_passed\r\n"));
  EXPECT_THAT(csv, HasSubstr(",ok,,1,\r\n"));
  EXPECT_THAT(csv, HasSubstr(",ok,,2,true\r\n"));
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

// --saturation: the store's rate flat out before and after the search; the
// answer as a share of their mean, and a warning when the host's speed
// moved by more than 10% between them.
TEST(FindMaxTest, TheSaturationRunsStateTheShareAndAMovedHost) {
  report::Saturation steady;
  steady.before = 10000;
  steady.after = 9500;
  EXPECT_DOUBLE_EQ(*steady.mean(), 9750);
  EXPECT_DOUBLE_EQ(*steady.change(), 0.05);
  EXPECT_FALSE(steady.Warning().has_value());

  report::Saturation moved;
  moved.before = 10000;
  moved.after = 8000;
  EXPECT_DOUBLE_EQ(*moved.change(), 0.2);
  ASSERT_TRUE(moved.Warning().has_value());
  EXPECT_THAT(*moved.Warning(),
              HasSubstr("moved 20% during the search (10000 writes/s before, "
                        "8000 after)"));

  report::Saturation only_before;
  only_before.before = 6000;
  EXPECT_DOUBLE_EQ(*only_before.mean(), 6000);
  EXPECT_FALSE(only_before.change().has_value());
  EXPECT_FALSE(only_before.Warning().has_value());
  EXPECT_FALSE(report::Saturation().mean().has_value());

  FindMaxResult result;
  result.max_rate = 7500;
  result.saturation = moved;
  EXPECT_THAT(report::FindMaxEndText(result, 1),
              HasSubstr("the store saturated: 10000 writes/s before the "
                        "search, 8000 writes/s after; the answer is 0.83 of "
                        "their mean\n"));
  result.saturation = only_before;
  EXPECT_THAT(report::FindMaxEndText(result, 1),
              HasSubstr("6000 writes/s before the search, not measured "
                        "after; the answer is 1.25 of it\n"));

  FindMaxOptions o = Options();
  result.saturation = moved;
  EXPECT_TRUE(FindMaxJson(o, result)["saturation"].is_null());
  o.saturation = true;
  const nlohmann::json j = FindMaxJson(o, result)["saturation"];
  EXPECT_EQ(j["writers_per_agent"], report::kSaturationWriters);
  EXPECT_EQ(j["before_writes_per_s"], 10000);
  EXPECT_EQ(j["after_writes_per_s"], 8000);
  EXPECT_EQ(j["mean_writes_per_s"], 9000);
  EXPECT_DOUBLE_EQ(j["change"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(j["max_rate_share"].get<double>(), 7500.0 / 9000);
  EXPECT_EQ(FindMaxJson(o, result)["options"]["saturation"], true);
}

// Issue 30, item 11: --precision=1e-14 offered the same rate forever.
TEST(FindMaxTest, APrecisionTooFineForTheRatesStillEnds) {
  FindMaxOptions o = Options();
  o.precision = 1e-14;
  o.max_steps = 1000;
  std::vector<double> rates;
  auto result = FindMax(
      o,
      [&](double rate) -> absl::StatusOr<StepResult> {
        rates.push_back(rate);
        return SimulatedStep(rate, 3000, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  // It ended by itself (bounds under 2 writes/s apart), not at the cap,
  // and never offered one rate twice.
  EXPECT_LT(rates.size(), 40u);
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_TRUE(result->warnings.empty());
  ASSERT_TRUE(result->max_rate.has_value());
  EXPECT_GE(*result->max_rate, 3000 * 0.95);
}

TEST(FindMaxTest, TheStepCapEndsTheSearchAndSaysSo) {
  FindMaxOptions o = Options();
  o.max_steps = 3;
  auto result = FindMax(
      o,
      [](double rate) -> absl::StatusOr<StepResult> {
        return SimulatedStep(rate, 1e9, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->steps.size(), 3u);
  EXPECT_EQ(result->max_rate, 4000);
  EXPECT_EQ(result->limited_by, Limit::kNone);
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_THAT(result->warnings[0], HasSubstr("--max-steps (3)"));
  o.max_steps = 0;
  EXPECT_THAT(o.Validate().message(),
              HasSubstr("max-steps must be between 1 and 1000, got 0"));
}

// Issue 30, item 11: a runner error (an agent refusing the rate) ended the
// search with no report of the steps before it.
TEST(FindMaxTest, ARunnerErrorKeepsTheStepsSoFar) {
  auto result = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        if (rate > 5000) {
          return absl::InvalidArgumentError("write-rate must be at most 1e7");
        }
        return SimulatedStep(rate, 1e9, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->error.message(), HasSubstr("write-rate"));
  EXPECT_EQ(result->steps.size(), 3u);
  EXPECT_EQ(result->max_rate, 4000);
  const nlohmann::json j = FindMaxJson(Options(), *result);
  EXPECT_EQ(j["steps"].size(), 3u);
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("write-rate"));
}

// Issue 30, item 11: figures no honest agent reports were accepted
// silently.
TEST(FindMaxTest, ImpossibleFiguresAreWarnedAbout) {
  FindMaxOptions o = Options();
  // Ten times more acknowledged than offered.
  StepResult more = SimulatedStep(1000, 5000, 20);
  more.offered_rate = 1000;
  more.writers = 50;
  more.measured.agents[0].figures.counters.writes_ok *= 10;
  JudgeStep(o, &more);
  EXPECT_THAT(more.warnings,
              testing::Contains(HasSubstr("more achieved than offered")));
  // 1000 writes/s from 1 writer whose quickest write took 2 ms: at most
  // 500/s by Little's law.
  StepResult fast = SimulatedStep(1000, 5000, 20);
  fast.offered_rate = 1000;
  fast.writers = 1;
  JudgeStep(o, &fast);
  EXPECT_THAT(fast.warnings,
              testing::Contains(HasSubstr("impossible by Little's law")));
  // More in flight than writers.
  StepResult crowded = SimulatedStep(1000, 5000, 20);
  crowded.offered_rate = 1000;
  crowded.writers = 4;
  crowded.measured.agents[0].figures.writes_in_flight.Record(9);
  JudgeStep(o, &crowded);
  EXPECT_THAT(crowded.warnings,
              testing::Contains(HasSubstr("9 writes in flight with 4 writers")));
  // An honest step: none.
  StepResult honest = SimulatedStep(1000, 5000, 20);
  honest.offered_rate = 1000;
  honest.writers = 50;
  JudgeStep(o, &honest);
  EXPECT_TRUE(honest.warnings.empty());
  // And the search carries them to its result.
  auto result = FindMax(
      o,
      [](double rate) -> absl::StatusOr<StepResult> {
        StepResult step = SimulatedStep(rate, 3000, 20);
        step.measured.agents[0].figures.counters.writes_ok *= 10;
        return step;
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->warnings,
              testing::Contains(HasSubstr("step 1: agent a1 reported")));
}

TEST(FindMaxTest, NonMonotonicResultsAreWarnedAbout) {
  // A store that serves 3000/s but only 100/s when offered 4000/s: more
  // offered, far less achieved.
  auto result = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        return SimulatedStep(rate, rate == 4000 ? 100 : 3000, 20);
      },
      nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->warnings,
              testing::Contains(HasSubstr("not monotonic")));
  // A store that keeps its capacity when overloaded: no warning.
  auto steady = FindMax(
      Options(),
      [](double rate) -> absl::StatusOr<StepResult> {
        return SimulatedStep(rate, 3000, 20);
      },
      nullptr);
  ASSERT_TRUE(steady.ok());
  EXPECT_TRUE(steady->warnings.empty());
}

// Issue 27: every writer busy is the store's latency when the writers
// covered rate x latency bound, the generator's cap when they did not.
TEST(FindMaxTest, AllWritersBusyIsTheCapOnlyWhenTheyWereTooFewForTheRate) {
  FindMaxOptions o = Options();  // write_p99<100ms: 100 ms bound.
  // 2000/s needs 200 in flight at 100 ms: 50 writers all busy are the cap.
  StepResult few = SimulatedStep(2000, 1500, 20);
  few.offered_rate = 2000;
  few.writers = 50;
  few.measured.total.writes_in_flight.Record(50);
  JudgeStep(o, &few);
  EXPECT_EQ(few.limit, Limit::kGenerator);
  EXPECT_THAT(few.reason, HasSubstr("every one of the 50 writers per agent "
                                    "was busy (the --writers given)"));
  EXPECT_THAT(few.reason, HasSubstr("needs 200 in flight"));
  // Sized by the rate (400 writers), all busy: the store held each write
  // past the bound.
  StepResult sized = SimulatedStep(2000, 1500, 20);
  sized.offered_rate = 2000;
  sized.writers = AutoWriters(2000, o.latency_bound);
  sized.writers_auto = true;
  EXPECT_EQ(sized.writers, 400);
  sized.measured.total.writes_in_flight.Record(sized.writers);
  JudgeStep(o, &sized);
  EXPECT_EQ(sized.limit, Limit::kSlo);
  // The cap reached: named.
  StepResult capped = SimulatedStep(20000, 15000, 20);
  capped.offered_rate = 20000;
  capped.writers = AutoWriters(20000, o.latency_bound);
  capped.writers_auto = true;
  EXPECT_EQ(capped.writers, kMaxAutoWriters);
  capped.measured.total.writes_in_flight.Record(kMaxAutoWriters);
  JudgeStep(o, &capped);
  EXPECT_EQ(capped.limit, Limit::kGenerator);
  EXPECT_THAT(capped.reason, HasSubstr("the cap of 1024 writers per agent"));
}

// Issue 30, item 11: --max-rate=1e9 ran 14 steps, then exited 1 with no
// report when a step asked an agent for more than it accepts.
TEST(FindMaxTest, AMaxRateNoAgentAcceptsIsRefusedBeforeTheFirstStep) {
  std::vector<std::string> args = {"find-max", "--slo=write_p99<100ms",
                                   "--max-rate=1e9",
                                   "--db=/nonexistent-loadtest-dir/x.db"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = FindMaxMain(static_cast<int>(argv.size()), argv.data());
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_THAT(err, HasSubstr("--max-rate 1e+09 over 1 agent is more than an "
                             "agent accepts"));
  EXPECT_THAT(out, testing::Not(HasSubstr("offered/s")));  // No step ran.
}

// Issue 27: a store failing while every writer waited on it is the
// store's limit, even when the process (which also runs the store) was
// short of CPU meanwhile; with writers free, the CPU comes first.
TEST(FindMaxTest, AStoreFailingWithEveryWriterBusyIsTheStoresLimitDespiteTheCpu) {
  FindMaxOptions o = Options();
  StepResult held = SimulatedStep(3500, 3000, 20);
  held.offered_rate = 3500;
  held.writers = AutoWriters(3500, o.latency_bound);
  held.writers_auto = true;
  held.measured.total.writes_in_flight.Record(held.writers);
  held.generator_bound = {"agent a1: 3 intervals (on average 4 threads "
                          "waited for its 2 cores)"};
  JudgeStep(o, &held);
  EXPECT_EQ(held.limit, Limit::kSlo);
  EXPECT_THAT(held.reason, HasSubstr("all 700 writers were busy waiting on "
                                     "the store"));
  StepResult free_writers = held;
  free_writers.measured.total.writes_in_flight = stats::LatencyHistogram();
  free_writers.measured.total.writes_in_flight.Record(40);
  JudgeStep(o, &free_writers);
  EXPECT_EQ(free_writers.limit, Limit::kGenerator);
  EXPECT_THAT(free_writers.reason, HasSubstr("threads waited"));
}

TEST(ConcurrencyTest, WritersFollowTheRateAndTheLoosestLatencySlo) {
  EXPECT_EQ(WriteLatencyBound({}), kDefaultLatencyBound);
  EXPECT_EQ(WriteLatencyBound({Slo("write_p99<100ms"), Slo("write_p50<20ms"),
                               Slo("error_rate<1%")}),
            std::chrono::milliseconds(100));
  EXPECT_EQ(WriteLatencyBound({Slo("write_max<=2s")}), std::chrono::seconds(2));
  EXPECT_EQ(AutoWriters(0, std::chrono::milliseconds(100)), kMinAutoWriters);
  EXPECT_EQ(AutoWriters(1000, std::chrono::milliseconds(100)), 200);
  EXPECT_EQ(AutoWriters(1e7, std::chrono::milliseconds(100)), kMaxAutoWriters);
  // An agent's --max-writers below the cap is the cap.
  EXPECT_EQ(AutoWriters(1e7, std::chrono::milliseconds(100), 500), 500);
  EXPECT_EQ(AutoWriters(100, std::chrono::milliseconds(100), 4), 4);
  EXPECT_EQ(NeededInFlight(3000, std::chrono::milliseconds(50)), 150);
}

}  // namespace
}  // namespace loadtest::controller
