#include "controller/scenario.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::controller {
namespace {

using ::testing::HasSubstr;

TEST(ScenarioTest, DefaultsAreTheOriginalToolsAndValid) {
  Scenario s;
  auto spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->store.path, "loadtest.db");
  EXPECT_EQ(spec->duration, std::chrono::seconds(60));
  EXPECT_EQ(spec->workload.writers, 10);
  EXPECT_EQ(spec->workload.readers, 5);
  EXPECT_EQ(spec->store.batch_size, 100);
  EXPECT_EQ(spec->store.batch_timeout, std::chrono::milliseconds(10));
  EXPECT_EQ(spec->store.queue_size, 10000);
  EXPECT_EQ(spec->log_interval, std::chrono::seconds(5));
  EXPECT_EQ(spec->workload.write_delay, std::chrono::milliseconds(1));
  EXPECT_EQ(spec->workload.read_delay, std::chrono::milliseconds(10));
}

TEST(ScenarioTest, PresetsFollowTheGuideAndExplicitFlagsWin) {
  std::set<std::string> names;
  for (const Preset& p : Presets()) names.insert(p.name);
  EXPECT_EQ(names, (std::set<std::string>{"light", "medium", "heavy", "stress",
                                          "moderate", "high", "burst",
                                          "sustained"}));
  Scenario s;
  s.writers = 3;
  ASSERT_TRUE(ApplyPreset("burst",
                          [](const char* flag) {
                            return std::string(flag) == "writers";
                          },
                          &s)
                  .ok());
  EXPECT_EQ(s.writers, 3);  // Given explicitly.
  EXPECT_EQ(s.readers, 30);
  EXPECT_EQ(s.batch_size, 300);
  EXPECT_EQ(s.duration, std::chrono::seconds(300));
}

TEST(ScenarioTest, UnknownPresetListsTheKnownOnes) {
  Scenario s;
  absl::Status status = ApplyPreset("huge", [](const char*) { return false; }, &s);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown scenario \"huge\""));
  EXPECT_THAT(status.message(), HasSubstr("moderate"));
}

TEST(ScenarioTest, BadValuesNameTheFlagAndTheValue) {
  struct Case {
    void (*mutate)(Scenario*);
    const char* message;
  };
  const Case cases[] = {
      {[](Scenario* s) { s->duration = std::chrono::seconds(0); },
       "duration must be > 0, got 0s"},
      {[](Scenario* s) { s->log_interval = std::chrono::seconds(0); },
       "log-interval must be at least 100ms, got 0s"},
      {[](Scenario* s) { s->writers = -1; }, "writers must be >= 0, got -1"},
      {[](Scenario* s) { s->readers = -2; }, "readers must be >= 0, got -2"},
      {[](Scenario* s) {
         s->writers = 0;
         s->readers = 0;
       },
       "nothing to run"},
      {[](Scenario* s) { s->batch_size = 0; },
       "batch-size must be between 1 and 100000, got 0"},
      {[](Scenario* s) {
         s->batch_size = 500;
         s->queue_size = 100;
       },
       "batch-size 500 is larger than queue-size 100"},
      {[](Scenario* s) { s->metrics_port = 70000; },
       "metrics-port must be between 0 and 65535, got 70000"},
      {[](Scenario* s) { s->schema = "fat"; }, "schema must be full or lean"},
      {[](Scenario* s) { s->sync = "sometimes"; }, "sync must be off, normal or full"},
      {[](Scenario* s) { s->write_rate = -1; }, "write-rate"},
  };
  for (const Case& c : cases) {
    Scenario s;
    c.mutate(&s);
    auto spec = ToRunSpec(s);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(spec.status().message(), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace loadtest::controller
