#include "report/stability.h"

#include <cmath>
#include <functional>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

// A synthetic run: `intervals` intervals of `interval_s` seconds; each
// function gives a figure at the interval's start time t. Noise: the rate
// and latency are multiplied by 1 +- `noise` (uniform, fixed seed).
struct SyntheticRun {
  int64_t intervals = 360;
  double interval_s = 5;
  std::function<double(double)> rate = [](double) { return 4000.0; };
  std::function<double(double)> latency_ms = [](double) { return 5.0; };
  std::function<double(double)> rss_bytes = [](double) { return 60.0 * kMiB; };
  std::function<double(double)> wal_bytes = [](double) { return 4.0 * kMiB; };
  double noise = 0.03;
  bool load_varies = false;

  StabilitySeries Series(size_t capacity = StabilitySeries::kCapacity) const {
    StabilitySeries series(capacity);
    std::mt19937 random(42);
    std::uniform_real_distribution<double> jitter(1 - noise, 1 + noise);
    int64_t db = 0;
    for (int64_t i = 0; i < intervals; ++i) {
      const double t = i * interval_s;
      StabilitySample s;
      s.start_s = t;
      s.end_s = t + interval_s;
      s.seconds = interval_s;
      s.writes_ok = static_cast<int64_t>(std::llround(rate(t) * jitter(random) * interval_s));
      if (s.writes_ok > 0) {
        s.write_latency.RecordN(
            static_cast<int64_t>(latency_ms(t) * jitter(random) * 1e6),
            static_cast<uint64_t>(s.writes_ok));
      }
      s.rss_bytes = static_cast<int64_t>(rss_bytes(t));
      s.wal_bytes_max = static_cast<int64_t>(wal_bytes(t));
      s.wal_restart_bytes = 4 * kMiB;
      db += s.writes_ok * 300;
      s.db_bytes = db;
      series.Add(s);
    }
    return series;
  }
  StabilityVerdict Judge() const { return JudgeStability(Series(), load_varies); }
};

// Rate changing by `per_10min` (a fraction of `base`) every 10 minutes.
std::function<double(double)> Drifting(double base, double per_10min) {
  return [=](double t) { return base * (1 + per_10min * t / 600); };
}

TEST(StabilityTest, AFlatRunIsStable) {
  const StabilityVerdict v = SyntheticRun().Judge();
  EXPECT_EQ(v.state, StabilityState::kStable) << v.headline;
  EXPECT_TRUE(v.reasons.empty());
  EXPECT_EQ(v.intervals, 360);
  EXPECT_EQ(v.warmup_intervals, 36);
  EXPECT_EQ(v.judged_intervals, 323);  // Less the warm-up and the final one.
  EXPECT_LT(std::fabs(v.drift), 0.01);
  EXPECT_LT(v.drift_ci_low, 0.0);
  EXPECT_GT(v.drift_ci_high, 0.0);
  EXPECT_LT(std::fabs(v.p99_change), 0.07);
  EXPECT_EQ(v.stalls, 0);
  EXPECT_TRUE(v.has_rss);
  EXPECT_NEAR(v.rss_growth, 0, 1e-9);
  EXPECT_TRUE(v.has_store);
  EXPECT_NEAR(v.db_bytes_per_write, 300, 1);
  EXPECT_THAT(v.headline, HasSubstr("stable ("));
  EXPECT_STREQ(StabilityStateName(v.state), "stable");
}

TEST(StabilityTest, ARisingThroughputIsUnstable) {
  SyntheticRun run;
  run.rate = Drifting(4000, 0.10);
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_NEAR(v.drift, 0.10 * 4000 / v.throughput.mean, 0.01);
  EXPECT_GT(v.drift_ci_low, 0.05);
  EXPECT_TRUE(v.drift_beyond);
  EXPECT_THAT(v.headline, HasSubstr("UNSTABLE"));
  EXPECT_THAT(v.reasons.at(0), HasSubstr("write throughput drifts +"));
}

TEST(StabilityTest, AFallingThroughputIsUnstable) {
  SyntheticRun run;
  run.rate = Drifting(4000, -0.10);
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_LT(v.drift, -0.10);  // -10% of the start is more of the mean.
  EXPECT_LT(v.drift_ci_high, -0.05);
  EXPECT_THAT(v.reasons.at(0), HasSubstr("write throughput drifts -"));
}

TEST(StabilityTest, ADriftWithinTheBoundIsStable) {
  SyntheticRun run;
  run.rate = Drifting(4000, -0.03);
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kStable) << v.headline;
  EXPECT_NEAR(v.drift, -0.03 * 4000 / v.throughput.mean, 0.005);
  EXPECT_FALSE(v.drift_beyond);
}

TEST(StabilityTest, ANoisyShortRunsDriftBeyondTheBoundButNotItsIntervalIsNotHeldAgainstIt) {
  // 30 one-second intervals with 20% noise: the slope extrapolated to 10
  // minutes is far from zero by chance alone, and its interval says so.
  SyntheticRun run;
  run.intervals = 30;
  run.interval_s = 1;
  run.noise = 0.20;
  const StabilityVerdict v = run.Judge();
  EXPECT_GT(std::fabs(v.drift), kMaxThroughputDrift);
  EXPECT_FALSE(v.drift_beyond);
  EXPECT_LT(v.drift_ci_low, 0.0);
  EXPECT_GT(v.drift_ci_high, 0.0);
}

TEST(StabilityTest, AStepDownIsUnstable) {
  SyntheticRun run;
  run.rate = [](double t) { return t < 900 ? 4000.0 : 2500.0; };
  run.latency_ms = [](double t) { return t < 900 ? 5.0 : 8.0; };
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_TRUE(v.drift_beyond);
  EXPECT_NEAR(v.p99_first_ms, 5.0, 0.3);
  EXPECT_NEAR(v.p99_last_ms, 8.0, 0.4);
  EXPECT_GT(v.p99_change, kMaxP99Rise);
  EXPECT_EQ(v.stalls, 0);  // 2500/s is more than a quarter of the median.
  EXPECT_EQ(v.reasons.size(), 2u);
  EXPECT_THAT(v.reasons.at(1), HasSubstr("write p99 rose +"));
}

TEST(StabilityTest, AMidRunStallIsUnstableThoughTheTrendIsFlat) {
  SyntheticRun run;
  run.intervals = 30;
  run.interval_s = 1;
  run.rate = [](double t) { return t >= 14 && t < 17 ? 0.0 : 4000.0; };
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_FALSE(v.drift_beyond);
  EXPECT_EQ(v.stalls, 3);
  EXPECT_DOUBLE_EQ(v.first_stall_s, 14);
  EXPECT_DOUBLE_EQ(v.lowest_writes_per_s, 0);
  EXPECT_THAT(v.headline, HasSubstr("3 stalls"));
}

TEST(StabilityTest, AStallIsAnIntervalUnderAQuarterOfTheMedianRate) {
  for (const double fraction : {kStallFraction - 0.01, kStallFraction + 0.01}) {
    SyntheticRun run;
    run.intervals = 30;
    run.interval_s = 1;
    run.noise = 0;
    run.rate = [fraction](double t) { return t == 20 ? 4000 * fraction : 4000.0; };
    const StabilityVerdict v = run.Judge();
    EXPECT_EQ(v.stalls, fraction < kStallFraction ? 1 : 0) << fraction;
  }
}

TEST(StabilityTest, AStallStaysVisibleOnceThePointsAreMerged) {
  SyntheticRun run;
  run.rate = [](double t) { return t == 1000 ? 0.0 : 4000.0; };
  const StabilitySeries series = run.Series();
  ASSERT_EQ(series.intervals_per_point(), 4);
  const StabilityVerdict v = JudgeStability(series);
  EXPECT_EQ(v.stalls, 1);
  EXPECT_EQ(v.state, StabilityState::kUnstable);
}

TEST(StabilityTest, ALeakIsUnstable) {
  SyntheticRun run;
  // 60 MiB growing 12 MiB per 10 minutes: +20% of the start per 10 minutes.
  run.rss_bytes = [](double t) { return 60.0 * kMiB + 12.0 * kMiB * t / 600; };
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_GT(v.rss_growth, kMaxRssGrowth);
  EXPECT_NEAR(v.rss.slope * 600, 12.0 * kMiB, 0.01 * kMiB);
  EXPECT_GT(v.rss_last_bytes, v.rss_first_bytes);
  EXPECT_EQ(v.reasons.size(), 1u);
  EXPECT_THAT(v.reasons.at(0), HasSubstr("memory (RSS) grows"));
}

TEST(StabilityTest, MemoryStillSettlingInAShortRunIsNotALeak) {
  // 27 MiB growing 2 MiB a minute over 30 s: +7% (0.9 MiB) in fact,
  // though +74% per 10 minutes extrapolated.
  SyntheticRun run;
  run.intervals = 30;
  run.interval_s = 1;
  run.rss_bytes = [](double t) { return 27.0 * kMiB + 2.0 * kMiB * t / 60; };
  StabilityVerdict v = run.Judge();
  EXPECT_GT(v.rss_growth, kMaxRssGrowth);
  EXPECT_EQ(v.state, StabilityState::kStable) << v.headline;
  // 12 times as fast it rises by 10 MiB (38%) in fact: a leak.
  run.rss_bytes = [](double t) { return 27.0 * kMiB + 24.0 * kMiB * t / 60; };
  v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_THAT(v.headline, HasSubstr("memory (RSS) grows"));
}

TEST(StabilityTest, ALeakMustGrowTheMemoryBy10PercentAnd8MiBInFact) {
  // 200 MiB growing 4 MiB a minute over 30 s: +1 MiB, 0.5% in fact.
  SyntheticRun run;
  run.intervals = 30;
  run.interval_s = 1;
  run.rss_bytes = [](double t) { return 200.0 * kMiB + 4.0 * kMiB * t / 60; };
  EXPECT_EQ(run.Judge().state, StabilityState::kStable);
  // 40 MiB growing 20 MiB a minute: +9 MiB, 21% in fact.
  run.rss_bytes = [](double t) { return 40.0 * kMiB + 20.0 * kMiB * t / 60; };
  EXPECT_EQ(run.Judge().state, StabilityState::kUnstable);
}

TEST(StabilityTest, MemoryThatSettlesDuringTheWarmupIsStable) {
  SyntheticRun run;
  run.rss_bytes = [](double t) { return t < 60 ? 20.0 * kMiB + t * kMiB / 2 : 50.0 * kMiB; };
  run.rate = [](double t) { return t < 60 ? 1000.0 : 4000.0; };
  EXPECT_EQ(run.Judge().state, StabilityState::kStable);
}

TEST(StabilityTest, AGrowingWalIsUnstable) {
  SyntheticRun run;
  run.wal_bytes = [](double t) { return 4.0 * kMiB + 20.0 * kMiB * t / 1800; };
  const StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kUnstable);
  EXPECT_THAT(v.reasons.at(0), HasSubstr("the WAL grows"));
}

TEST(StabilityTest, ShortRunsAreTooShortToJudge) {
  SyntheticRun run;
  run.interval_s = 1;
  run.intervals = 14;  // 2 of warm-up, the final one: 11 left.
  StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kTooShort);
  EXPECT_EQ(v.judged_intervals, 11);
  EXPECT_THAT(v.headline, HasSubstr("too short to judge stability: 11 intervals"));
  EXPECT_FALSE(v.stable());
  EXPECT_FALSE(v.judged());
  run.intervals = 15;
  v = run.Judge();
  EXPECT_EQ(v.judged_intervals, kMinJudgedIntervals);
  EXPECT_EQ(v.state, StabilityState::kStable) << v.headline;
  EXPECT_TRUE(v.judged());
  // The default run: 60 s at 5 s.
  run.interval_s = 5;
  run.intervals = 12;
  EXPECT_EQ(run.Judge().state, StabilityState::kTooShort);
  EXPECT_EQ(JudgeStability(StabilitySeries()).state, StabilityState::kTooShort);
}

TEST(StabilityTest, ARunWithoutWritesOrWithStagesIsNotJudged) {
  SyntheticRun run;
  run.rate = [](double) { return 0.0; };
  StabilityVerdict v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kNotJudged);
  EXPECT_THAT(v.headline, HasSubstr("no write"));
  run = SyntheticRun();
  run.load_varies = true;
  v = run.Judge();
  EXPECT_EQ(v.state, StabilityState::kNotJudged);
  EXPECT_THAT(v.headline, HasSubstr("--stages"));
}

TEST(StabilityTest, TheSeriesStaysWithinItsCapacity) {
  StabilitySeries series(8);
  for (int i = 0; i < 1000; ++i) {
    StabilitySample s;
    s.start_s = i;
    s.end_s = i + 1;
    s.seconds = 1;
    s.writes_ok = i;
    series.Add(s);
    ASSERT_LE(series.points().size(), 8u);
  }
  EXPECT_EQ(series.intervals(), 1000);
  EXPECT_EQ(series.intervals_per_point(), 128);
  int64_t intervals = 0, writes = 0;
  for (const StabilitySample& p : series.points()) {
    intervals += p.intervals;
    writes += p.writes_ok;
  }
  EXPECT_EQ(intervals, 999);  // The latest is held back.
  EXPECT_EQ(writes, 999 * 998 / 2);
  EXPECT_DOUBLE_EQ(series.points().front().start_s, 0);
  EXPECT_DOUBLE_EQ(series.points().back().end_s, 999);
  EXPECT_DOUBLE_EQ(series.points()[1].min_writes_per_s, 128);
}

TEST(StabilityTest, TheFigureLinesSayEachRulesFigures) {
  SyntheticRun run;
  run.intervals = 30;
  run.interval_s = 1;
  run.noise = 0;
  run.rate = [](double t) { return 4000.0 - 10 * t; };
  const std::vector<std::string> lines = StabilityFigureLines(run.Judge());
  ASSERT_EQ(lines.size(), 5u);
  // -10/s a second over 26 s of a mean of 3845/s: -6.8%.
  EXPECT_THAT(lines[0], HasSubstr("write throughput: mean 3845/s"));
  EXPECT_THAT(lines[0], HasSubstr("-6.8% over the judged 26s"));
  EXPECT_THAT(lines[1], HasSubstr("write p99: 5.00 ms in the first third"));
  EXPECT_THAT(lines[2], HasSubstr("stalls: 0"));
  EXPECT_THAT(lines[3], HasSubstr("agent memory (RSS): 60.0 MiB to 60.0 MiB"));
  EXPECT_THAT(lines[4], HasSubstr("store: WAL up to 4.0 MiB"));
  run.intervals = 10;
  EXPECT_TRUE(StabilityFigureLines(run.Judge()).empty());
}

TEST(StabilityTest, FitLineGivesTheSlopeAndItsInterval) {
  LinearTrend exact = FitLine({0, 1, 2, 3}, {2, 5, 8, 11});
  EXPECT_DOUBLE_EQ(exact.slope, 3);
  EXPECT_DOUBLE_EQ(exact.intercept, 2);
  EXPECT_DOUBLE_EQ(exact.slope_se, 0);
  // y = 0, 1, 0, 1, 0: slope 0, se sqrt((1.2 / 3) / 10) = 0.2, t(0.975, 3)
  // = 3.182.
  LinearTrend noisy = FitLine({0, 1, 2, 3, 4}, {0, 1, 0, 1, 0});
  EXPECT_NEAR(noisy.slope, 0, 1e-12);
  EXPECT_NEAR(noisy.slope_se, 0.2, 1e-9);
  EXPECT_NEAR(noisy.slope_ci_high, 3.182 * 0.2, 1e-3);
  EXPECT_EQ(FitLine({1, 1, 1}, {1, 2, 3}).slope, 0);
  EXPECT_EQ(FitLine({}, {}).points, 0);
}

}  // namespace
}  // namespace loadtest::report
