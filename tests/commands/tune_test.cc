// tune's pure parts: --vary parsing, the cross product, the run order and
// the budget's estimate (its verdicts: tests/report/tune_test.cc).
#include "commands/tune.h"

#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::commands {

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseVariesTest, ReadsEachKnobAndItsValues) {
  auto knobs = ParseVaries({"batch-size:50,100", "fts-sync:trigger,batch"});
  ASSERT_TRUE(knobs.ok()) << knobs.status();
  ASSERT_EQ(knobs->size(), 2u);
  EXPECT_EQ((*knobs)[0].knob, "batch-size");
  EXPECT_THAT((*knobs)[0].values, ElementsAre("50", "100"));
  EXPECT_THAT((*knobs)[1].values, ElementsAre("trigger", "batch"));
}

TEST(ParseVariesTest, RefusesBadSpecsNamingThem) {
  const struct {
    std::vector<std::string> specs;
    const char* message;
  } kCases[] = {
      {{"batch-size"}, "--vary=batch-size: expected KNOB:VALUE"},
      {{":1,2"}, "expected KNOB:VALUE"},
      {{"writers:1,2"}, "unknown knob \"writers\""},
      {{"sync:off", "sync:full"}, "--vary=sync:full: sync is varied twice"},
      {{"sync:"}, "the sweep would be empty"},
      {{"sync:off,,full"}, "an empty value"},
      {{"sync:off,off"}, "the value off is given twice"},
  };
  for (const auto& c : kCases) {
    auto knobs = ParseVaries(c.specs);
    EXPECT_FALSE(knobs.ok()) << c.message;
    EXPECT_THAT(std::string(knobs.status().message()), HasSubstr(c.message));
  }
}

TEST(CrossProductTest, TheFirstKnobVariesSlowest) {
  auto knobs = ParseVaries({"batch-size:50,100", "sync:normal,full"});
  ASSERT_TRUE(knobs.ok());
  const std::vector<TuneConfig> configs = CrossProduct(*knobs);
  ASSERT_EQ(configs.size(), 4u);
  EXPECT_EQ(configs[0].Label(), "batch-size=50 sync=normal");
  EXPECT_EQ(configs[1].Label(), "batch-size=50 sync=full");
  EXPECT_EQ(configs[3].Label(), "batch-size=100 sync=full");
  EXPECT_THAT(configs[2].Flags(), ElementsAre("--batch-size=100", "--sync=normal"));
  EXPECT_TRUE(CrossProduct({}).empty());
  EXPECT_EQ(TuneConfig().Label(), "defaults");
}

TEST(RunOrderTest, GoesInRoundsOfEveryConfiguration) {
  const std::vector<PlannedRun> order = RunOrder(3, 2);
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0].config, 0u);
  EXPECT_EQ(order[2].config, 2u);
  EXPECT_EQ(order[2].repeat, 1);
  EXPECT_EQ(order[3].config, 0u);
  EXPECT_EQ(order[3].repeat, 2);
}

TEST(EstimateFindMaxTest, CountsDoublingsAndBisectionsUpToMaxSteps) {
  FindMaxOptions options;
  options.start_rate = 1000;
  options.max_rate = 8000;   // 3 doublings, then the failing step.
  options.precision = 0.05;  // 5 bisections.
  options.step_duration = std::chrono::seconds(10);
  options.warmup = std::chrono::seconds(2);
  EXPECT_EQ(EstimateFindMax(options, std::chrono::seconds(1),
                            std::chrono::seconds(2)),
            std::chrono::seconds(2 + 9 * 13));
  options.max_steps = 4;
  EXPECT_EQ(EstimateFindMax(options, std::chrono::seconds(1),
                            std::chrono::seconds(2)),
            std::chrono::seconds(2 + 4 * 13));
}

}  // namespace
}  // namespace loadtest::commands
