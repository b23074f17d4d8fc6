#include "report/thresholds.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;

TEST(ThresholdsTest, ParsesMetricOperatorValueAndUnit) {
  auto t = ParseThreshold("write_p95<100ms");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->scope, "total");
  EXPECT_EQ(t->metric, "write_p95");
  EXPECT_EQ(t->op, Threshold::Op::kLess);
  EXPECT_DOUBLE_EQ(t->limit, 100);
  EXPECT_DOUBLE_EQ(ParseThreshold("read_p99 <= 0.5s")->limit, 500);
  EXPECT_DOUBLE_EQ(ParseThreshold("write_max<250us")->limit, 0.25);
  EXPECT_DOUBLE_EQ(ParseThreshold("error_rate<1%")->limit, 0.01);
  EXPECT_DOUBLE_EQ(ParseThreshold("queue_utilization<0.8")->limit, 0.8);
  EXPECT_EQ(ParseThreshold("writes_per_s>=5000")->op, Threshold::Op::kGreaterEqual);
  EXPECT_EQ(ParseThreshold("lost==0")->op, Threshold::Op::kEqual);
  auto scoped = ParseThreshold("each:writes_per_s>100");
  ASSERT_TRUE(scoped.ok());
  EXPECT_EQ(scoped->scope, "each");
  EXPECT_EQ(ParseThreshold("agent-2:write_p99<50ms")->scope, "agent-2");
  for (const std::string& text : GuideThresholdTexts()) {
    EXPECT_TRUE(ParseThreshold(text).ok()) << text;
  }
}

TEST(ThresholdsTest, MalformedExpressionsNameTheExpressionAndThePosition) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "expected a metric name at position 1"},
      {"write_p96<1ms", "unknown metric \"write_p96\" at position 1"},
      {"write_p95<<1ms", "expected a number at position 11"},
      {"write_p95=1ms", "expected one of < <= > >= == at position 10"},
      {"write_p95<fast", "expected a number at position 11"},
      {"write_p95<1parsec", "unit \"parsec\" does not fit write_p95 at position 12"},
      {"error_rate<1ms", "unit \"ms\" does not fit error_rate at position 13"},
      {"each:", "expected a metric name at position 6"},
      {"lost==-1", "expected a number at position 7"},
  };
  for (const Case& c : cases) {
    auto t = ParseThreshold(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr(std::string("threshold \"") + c.text + "\""));
    EXPECT_THAT(t.status().message(), HasSubstr(c.message)) << c.text;
  }
}

RunSummary TwoAgentSummary() {
  RunSummary s;
  for (const char* id : {"a", "b"}) {
    AgentSummary a;
    a.agent_id = id;
    a.figures.seconds = 10;
    a.figures.counters.writes_ok = id[0] == 'a' ? 1000 : 3000;
    for (int i = 0; i < 100; ++i) {
      a.figures.write_latency.Record((id[0] == 'a' ? 1 : 20) * 1000000);
    }
    s.total.MergeAgent(a.figures);
    s.agents.push_back(a);
  }
  s.agents[1].lost = true;
  return s;
}

TEST(ThresholdsTest, EvaluatesOnTheTotalEachAgentOrANamedAgent) {
  const RunSummary s = TwoAgentSummary();
  std::vector<Threshold> ts;
  for (const char* text : {"writes_per_s>=400", "each:writes_per_s>=200",
                           "b:write_p99<10ms", "lost==0", "c:lost==0"}) {
    ts.push_back(*ParseThreshold(text));
  }
  const auto results = EvaluateThresholds(ts, s);
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].scope, "total");
  EXPECT_DOUBLE_EQ(results[0].measured, 400);
  EXPECT_TRUE(results[0].passed);
  EXPECT_EQ(results[1].scope, "a");
  EXPECT_FALSE(results[1].passed);  // 100/s.
  EXPECT_EQ(results[2].scope, "b");
  EXPECT_TRUE(results[2].passed);  // 300/s.
  EXPECT_EQ(results[3].scope, "b");
  EXPECT_NEAR(results[3].measured, 20, 0.2);
  EXPECT_FALSE(results[3].passed);
  EXPECT_DOUBLE_EQ(results[4].measured, 1);  // One agent lost.
  EXPECT_FALSE(results[4].passed);
  EXPECT_EQ(results[5].scope, "c (not in this run)");
  EXPECT_FALSE(results[5].passed);
}

std::vector<Threshold> Parse(const std::vector<std::string>& texts) {
  std::vector<Threshold> ts;
  for (const std::string& text : texts) ts.push_back(*ParseThreshold(text));
  return ts;
}

TEST(ThresholdsTest, GeneratorBoundIntervalsCanBeRequiredToBeNone) {
  auto t = ParseThreshold("generator_bound==0");
  ASSERT_TRUE(t.ok()) << t.status();
  auto each = ParseThreshold("each:generator_bound==0");
  ASSERT_TRUE(each.ok()) << each.status();
  RunSummary summary;
  summary.agents.resize(2);
  summary.agents[0].agent_id = "a1";
  summary.agents[0].figures.generator_bound_intervals = 3;
  summary.agents[1].agent_id = "a2";
  summary.total.generator_bound_intervals = 3;
  const std::vector<ThresholdResult> results =
      EvaluateThresholds({*t, *each}, summary);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0].passed);
  EXPECT_EQ(results[0].measured, 3);
  EXPECT_FALSE(results[1].passed);  // a1
  EXPECT_TRUE(results[2].passed);   // a2
  // A count only grows: live, it has failed for good.
  EXPECT_TRUE(FirstLiveFailure({*t}, summary, /*past_grace=*/false).has_value());
  EXPECT_TRUE(ParseThreshold("checkpoint_starved==0").ok());
}

TEST(ThresholdsTest, HealthStatesCanBeRequired) {
  auto overloaded = ParseThreshold("overloaded_intervals==0");
  ASSERT_TRUE(overloaded.ok()) << overloaded.status();
  auto healthy = ParseThreshold("each:healthy_fraction>=90%");
  ASSERT_TRUE(healthy.ok()) << healthy.status();
  auto stressed = ParseThreshold("under_stress_intervals<=1");
  ASSERT_TRUE(stressed.ok()) << stressed.status();
  RunSummary summary;
  summary.agents.resize(2);
  summary.agents[0].agent_id = "a1";
  for (int i = 0; i < 19; ++i) {
    summary.agents[0].health.Add(stats::HealthState::kHealthy, 1);
  }
  summary.agents[0].health.Add(stats::HealthState::kUnderStress, 1);
  summary.agents[1].agent_id = "a2";
  for (int i = 0; i < 17; ++i) {
    summary.agents[1].health.Add(stats::HealthState::kHealthy, 1);
  }
  for (int i = 0; i < 3; ++i) {
    summary.agents[1].health.Add(stats::HealthState::kOverloaded, 1);
  }
  summary.health.Add(summary.agents[1].health);
  const std::vector<ThresholdResult> results =
      EvaluateThresholds({*overloaded, *healthy, *stressed}, summary);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_FALSE(results[0].passed);  // 3 overloaded in the total.
  EXPECT_EQ(results[0].measured, 3);
  EXPECT_TRUE(results[1].passed);   // a1: 19 of 20 healthy, 95%.
  EXPECT_DOUBLE_EQ(results[1].measured, 0.95);
  EXPECT_FALSE(results[2].passed);  // a2: 17 of 20, 85%.
  EXPECT_EQ(results[2].unit, "%");
  EXPECT_TRUE(results[3].passed);   // No interval under stress in the total.
  // Intervals in a state only grow: live, over the bound is final.
  EXPECT_TRUE(
      FirstLiveFailure({*overloaded}, summary, /*past_grace=*/false).has_value());
  EXPECT_FALSE(
      FirstLiveFailure({*healthy}, summary, /*past_grace=*/false).has_value());
}

TEST(ThresholdsTest, ALimitThatScalesBeyondADoubleIsRefused) {
  auto t = ParseThreshold("write_max<1e306s");  // 1e309 ms: infinite.
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("number out of range at position 11"));
}

TEST(ThresholdsTest, LiveAFailedCountOrPeakUnderAnUpperBoundIsFinalAtOnce) {
  const RunSummary s = TwoAgentSummary();  // b lost, b's writes take 20 ms.
  for (const char* text : {"lost==0", "lost<1", "each:write_max<10ms",
                           "write_max<=10ms"}) {
    SCOPED_TRACE(text);
    auto failed = FirstLiveFailure(Parse({text}), s, /*past_grace=*/false);
    ASSERT_TRUE(failed.has_value());
    EXPECT_EQ(failed->text, text);
    EXPECT_FALSE(failed->passed);
  }
  // Named agent: its scope is reported.
  auto failed = FirstLiveFailure(Parse({"b:write_max<10ms"}), s, false);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->scope, "b");
}

TEST(ThresholdsTest, LiveWhatCanStillRecoverWaitsForTheGrace) {
  const RunSummary s = TwoAgentSummary();
  // A percentile, a rate, a count under a lower bound or not yet at its
  // == value: each fails now but could still hold at the end.
  for (const char* text : {"write_p99<10ms", "writes_per_s>=1000",
                           "write_errors>=1", "write_errors==3"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(FirstLiveFailure(Parse({text}), s, false).has_value());
    EXPECT_TRUE(FirstLiveFailure(Parse({text}), s, true).has_value());
  }
}

TEST(ThresholdsTest, LiveHoldingThresholdsAndUnknownAgentsAreNotFailures) {
  const RunSummary s = TwoAgentSummary();
  EXPECT_FALSE(FirstLiveFailure(Parse({"write_p99<60s", "writes_per_s>=1",
                                       "write_errors==0", "c:lost==0"}),
                                s, true)
                   .has_value());
  // The first failing one, in the order given.
  auto failed = FirstLiveFailure(
      Parse({"write_p99<60s", "write_p99<1ms", "lost==0"}), s, true);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->text, "write_p99<1ms");
}

TEST(ThresholdsTest, StabilityThresholdsReadTheVerdict) {
  std::vector<Threshold> thresholds;
  for (const char* text : {"stable==1", "throughput_drift<5%", "p99_drift<20%"}) {
    auto t = ParseThreshold(text);
    ASSERT_TRUE(t.ok()) << t.status();
    thresholds.push_back(*t);
  }
  EXPECT_DOUBLE_EQ(thresholds[1].limit, 0.05);
  RunSummary summary = TwoAgentSummary();
  StabilityVerdict v;
  v.state = StabilityState::kUnstable;
  v.drift = -0.07;      // Its size counts: 7%.
  v.p99_change = -0.3;  // A p99 that fell passes.
  summary.stability = v;
  std::vector<ThresholdResult> r = EvaluateThresholds(thresholds, summary);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].scope, "total");
  EXPECT_DOUBLE_EQ(r[0].measured, 0);
  EXPECT_FALSE(r[0].passed);
  EXPECT_DOUBLE_EQ(r[1].measured, 0.07);
  EXPECT_EQ(r[1].unit, "%");
  EXPECT_FALSE(r[1].passed);
  EXPECT_DOUBLE_EQ(r[2].measured, -0.3);
  EXPECT_TRUE(r[2].passed);
  summary.stability->state = StabilityState::kStable;
  summary.stability->drift = 0.01;
  for (const ThresholdResult& t : EvaluateThresholds(thresholds, summary)) {
    EXPECT_TRUE(t.passed) << t.text;
  }
}

TEST(ThresholdsTest, StabilityThresholdsFailARunTooShortToJudge) {
  const std::vector<Threshold> thresholds = {*ParseThreshold("stable==1"),
                                             *ParseThreshold("p99_drift<20%")};
  RunSummary summary = TwoAgentSummary();
  summary.stability = StabilityVerdict();  // kTooShort.
  for (const ThresholdResult& r : EvaluateThresholds(thresholds, summary)) {
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.scope, "total (not judged: too_short)");
  }
  summary.stability.reset();
  EXPECT_EQ(EvaluateThresholds(thresholds, summary)[0].scope,
            "total (not judged: no verdict)");
}

TEST(ThresholdsTest, StabilityThresholdsAreJudgedOnTheTotalAtTheEndOnly) {
  for (const char* text : {"each:stable==1", "a:p99_drift<20%"}) {
    auto t = ParseThreshold(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_THAT(t.status().message(), HasSubstr("takes no scope (total only)"));
  }
  // Live, the summary so far has no verdict: never a live failure, even
  // past the grace.
  const std::vector<Threshold> thresholds = {*ParseThreshold("stable==1"),
                                             *ParseThreshold("throughput_drift<5%")};
  EXPECT_FALSE(FirstLiveFailure(thresholds, TwoAgentSummary(), true).has_value());
  RunSummary unstable = TwoAgentSummary();
  unstable.stability = StabilityVerdict();
  unstable.stability->state = StabilityState::kUnstable;
  unstable.stability->drift = 0.5;
  EXPECT_FALSE(FirstLiveFailure(thresholds, unstable, true).has_value());
}

}  // namespace
}  // namespace loadtest::report
