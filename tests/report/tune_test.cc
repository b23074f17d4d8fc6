// tune's verdicts: the best per durability tier by compare's noise rule,
// ties within the noise, and what each --sync mode survives.
#include "report/tune.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConfigResult Config(const std::string& label, const std::string& sync,
                    std::vector<double> rates, bool defaults = false) {
  ConfigResult c;
  if (!label.empty()) c.config.settings.push_back({"batch-size", label});
  c.config.defaults = defaults;
  c.sync = sync;
  int repeat = 1;
  for (double rate : rates) {
    TuneRun run;
    run.repeat = repeat++;
    run.rate = rate;
    run.write_p99_ms = 10;
    c.runs.push_back(run);
  }
  return c;
}

TEST(JudgeSweepTest, TheBestPerTierWithTiesWithinTheNoise) {
  std::vector<ConfigResult> configs = {
      Config("100", "normal", {5000, 5100}, /*defaults=*/true),
      Config("200", "normal", {8000, 8100}),
      Config("400", "normal", {8050, 7900}),  // Within the noise of 200.
      Config("100", "full", {1000, 1010}),
      Config("200", "full", {}),              // No run: no result.
  };
  const std::vector<TierBest> best =
      JudgeSweep(TuneObjective::kMaxRate, CompareOptions(), &configs);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].sync, "normal");
  EXPECT_EQ(best[0].best, 1u);
  EXPECT_THAT(best[0].ties, ElementsAre(2u));
  EXPECT_EQ(configs[0].verdict, "worse");
  EXPECT_EQ(configs[1].verdict, "best");
  EXPECT_EQ(configs[2].verdict, "tie");
  ASSERT_TRUE(best[0].over_defaults.has_value());
  EXPECT_EQ(best[0].over_defaults->verdict, Verdict::kImproved);
  EXPECT_THAT(MarginStatement(best[0], configs, TuneObjective::kMaxRate,
                              CompareOptions()),
              HasSubstr("better beyond the noise"));
  EXPECT_EQ(best[1].sync, "full");
  EXPECT_EQ(best[1].best, 3u);
  EXPECT_TRUE(best[1].ties.empty());
  EXPECT_EQ(configs[4].verdict, "no result");
  // The other tier's best against the defaults: worse, and said so.
  EXPECT_THAT(MarginStatement(best[1], configs, TuneObjective::kMaxRate,
                              CompareOptions()),
              HasSubstr("worse beyond the noise"));
}

TEST(JudgeSweepTest, OneRunOrAnErraticSpreadIsATieNotALoser) {
  std::vector<ConfigResult> configs = {
      Config("100", "normal", {8000, 8000}, /*defaults=*/true),
      Config("200", "normal", {4000}),         // Undecidable.
      Config("400", "normal", {2000, 7000}),   // CoV far above 30%.
  };
  const std::vector<TierBest> best =
      JudgeSweep(TuneObjective::kMaxRate, CompareOptions(), &configs);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(configs[0].verdict, "best");
  EXPECT_EQ(configs[1].verdict, "tie");
  EXPECT_EQ(configs[1].against_best->verdict, Verdict::kUndecidable);
  EXPECT_EQ(configs[2].verdict, "tie");
  EXPECT_EQ(configs[2].against_best->verdict, Verdict::kErratic);
  EXPECT_THAT(MarginStatement(best[0], configs, TuneObjective::kMaxRate,
                              CompareOptions()),
              HasSubstr("the defaults are the best"));
}

TEST(JudgeSweepTest, AFixedRateSweepPrefersTheLowestP99AmongThoseThatHeld) {
  std::vector<ConfigResult> configs = {
      Config("100", "normal", {2000, 2000}, /*defaults=*/true),
      Config("200", "normal", {2000, 2000}),
      Config("400", "normal", {2000, 2000}),
  };
  configs[0].runs[0].write_p99_ms = configs[0].runs[1].write_p99_ms = 40;
  configs[1].runs[0].write_p99_ms = 10;
  configs[1].runs[1].write_p99_ms = 11;
  configs[2].runs[1].held = false;  // Fastest p99 would not count.
  configs[2].runs[0].write_p99_ms = configs[2].runs[1].write_p99_ms = 1;
  const std::vector<TierBest> best =
      JudgeSweep(TuneObjective::kWriteP99, CompareOptions(), &configs);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].best, 1u);
  EXPECT_EQ(configs[0].verdict, "worse");
  EXPECT_EQ(configs[2].verdict, "did not hold the rate");
}

TEST(JudgeSweepTest, OnEqualMeansTheDefaultsAreTheBest) {
  std::vector<ConfigResult> configs = {
      Config("50", "normal", {3000, 3000}),
      Config("100", "normal", {3000, 3000}, /*defaults=*/true),
  };
  const std::vector<TierBest> best =
      JudgeSweep(TuneObjective::kMaxRate, CompareOptions(), &configs);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].best, 1u);
  EXPECT_THAT(best[0].ties, ElementsAre(0u));
  EXPECT_FALSE(best[0].over_defaults.has_value());
}

TEST(SyncSurvivesTest, NamesWhatEachModeSurvives) {
  EXPECT_THAT(SyncSurvives("full"), HasSubstr("power loss"));
  EXPECT_THAT(SyncSurvives("normal"), HasSubstr("may undo the last commits"));
  EXPECT_THAT(SyncSurvives("off"), HasSubstr("may corrupt"));
}

}  // namespace
}  // namespace loadtest::report
