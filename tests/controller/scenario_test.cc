#include "controller/scenario.h"

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::controller {

using report::ExpectationVerdict;

using report::JudgeScenario;
using report::ScenarioJudgement;

using report::StabilityState;
using report::StabilityVerdict;

using report::VerdictName;
using report::VerdictSentence;

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

TEST(ScenarioTest, ApplyingAPresetRecordsItsName) {
  Scenario s;
  EXPECT_EQ(s.preset, "");
  ASSERT_TRUE(
      ApplyPreset("high", [](const char*) { return false; }, &s).ok());
  EXPECT_EQ(s.preset, "high");
}

Scenario WithPreset(const std::string& name) {
  Scenario s;
  EXPECT_TRUE(ApplyPreset(name, [](const char*) { return false; }, &s).ok());
  return s;
}

TEST(ScenarioTest, ModerateIsJudgedAgainstTheGuidesRangeBoundsIncluded) {
  const Scenario s = WithPreset("moderate");
  EXPECT_EQ(JudgeScenario(s, 999.9).verdict, ExpectationVerdict::kBelow);
  EXPECT_EQ(JudgeScenario(s, 1000).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 2000).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 2000.1).verdict, ExpectationVerdict::kAbove);
  const ScenarioJudgement j = JudgeScenario(s, 4100);
  EXPECT_EQ(j.name, "moderate");
  EXPECT_EQ(j.expectation, "Expected: 1000-2000 TPS");
  EXPECT_EQ(j.section, "Load Test Scenarios: Scenario 1: Moderate Load");
  EXPECT_EQ(j.measured_writes_per_s, 4100);
  EXPECT_TRUE(j.differs_from_guide.empty());
  // Above is good news, and said so.
  EXPECT_THAT(VerdictSentence(j.verdict), HasSubstr("good news"));
  EXPECT_STREQ(VerdictName(j.verdict), "above");
}

TEST(ScenarioTest, HighIsJudgedAgainstTheGuidesRange) {
  const Scenario s = WithPreset("high");
  EXPECT_EQ(JudgeScenario(s, 2999).verdict, ExpectationVerdict::kBelow);
  EXPECT_EQ(JudgeScenario(s, 3000).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 5000).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 5001).verdict, ExpectationVerdict::kAbove);
  EXPECT_EQ(JudgeScenario(s, 0).expectation, "Expected: 3000-5000 TPS");
}

TEST(ScenarioTest, BurstHasNoUpperBound) {
  const Scenario s = WithPreset("burst");
  EXPECT_EQ(JudgeScenario(s, 4999.9).verdict, ExpectationVerdict::kBelow);
  EXPECT_EQ(JudgeScenario(s, 5000).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 1e9).verdict, ExpectationVerdict::kWithin);
  EXPECT_EQ(JudgeScenario(s, 0).expectation, "Expected: 5000+ TPS");
  EXPECT_EQ(JudgeScenario(s, 0).max_writes_per_s, 0);
}

TEST(ScenarioTest, SustainedIsJudgedByTheStabilityVerdictNotByARate) {
  const Scenario s = WithPreset("sustained");
  const ScenarioJudgement j = JudgeScenario(s, 0);
  EXPECT_EQ(j.expectation, "Expected: Stable performance over 30 minutes");
  EXPECT_EQ(j.verdict, ExpectationVerdict::kNotJudged);
  EXPECT_EQ(JudgeScenario(s, 1e6).verdict, ExpectationVerdict::kNotJudged);
  EXPECT_STREQ(VerdictName(j.verdict), "not_judged");
  StabilityVerdict stability;
  stability.state = StabilityState::kTooShort;
  EXPECT_EQ(JudgeScenario(s, 1e6, &stability).verdict,
            ExpectationVerdict::kNotJudged);
  stability.state = StabilityState::kStable;
  const ScenarioJudgement stable = JudgeScenario(s, 10, &stability);
  EXPECT_EQ(stable.verdict, ExpectationVerdict::kStable);
  EXPECT_STREQ(VerdictName(stable.verdict), "stable");
  stability.state = StabilityState::kUnstable;
  const ScenarioJudgement unstable = JudgeScenario(s, 1e6, &stability);
  EXPECT_EQ(unstable.verdict, ExpectationVerdict::kUnstable);
  EXPECT_THAT(VerdictSentence(unstable.verdict), HasSubstr("UNSTABLE"));
  // A rate's expectation is judged on the rate, whatever the stability.
  EXPECT_EQ(JudgeScenario(WithPreset("moderate"), 1500, &stability).verdict,
            ExpectationVerdict::kWithin);
}

TEST(ScenarioTest, TheDefaultAndTheVpsCommandsFollowTheGuidesExpectedResults) {
  const ScenarioJudgement d = JudgeScenario(Scenario(), 3462);
  EXPECT_EQ(d.name, "default");
  EXPECT_THAT(d.section, HasSubstr("Quick Start"));
  EXPECT_THAT(d.expectation, HasSubstr("700-1000+ TPS"));
  EXPECT_EQ(d.verdict, ExpectationVerdict::kWithin);
  EXPECT_TRUE(d.differs_from_guide.empty());
  EXPECT_EQ(JudgeScenario(Scenario(), 699.9).verdict,
            ExpectationVerdict::kBelow);
  EXPECT_EQ(JudgeScenario(Scenario(), 700).verdict,
            ExpectationVerdict::kWithin);
  for (const char* name : {"light", "medium", "heavy", "stress"}) {
    const ScenarioJudgement j = JudgeScenario(WithPreset(name), 700);
    EXPECT_EQ(j.name, name);
    EXPECT_THAT(j.section, HasSubstr("Example VPS Test Commands"));
    EXPECT_THAT(j.expectation, HasSubstr("700-1000+ TPS"));
    EXPECT_EQ(j.verdict, ExpectationVerdict::kWithin);
  }
}

TEST(ScenarioTest, SaysWhichParametersDifferFromTheGuidesCommand) {
  Scenario s = WithPreset("moderate");
  s.duration = std::chrono::seconds(2);
  s.writers = 4;
  EXPECT_EQ(JudgeScenario(s, 0).differs_from_guide,
            (std::vector<std::string>{"writers", "duration"}));
  Scenario d;
  d.batch_size = 50;
  EXPECT_EQ(JudgeScenario(d, 0).differs_from_guide,
            (std::vector<std::string>{"batch-size"}));
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

TEST(ScenarioTest, BadMessagesValuesNameTheFlagAndTheAcceptedValues) {
  struct Case {
    void (*mutate)(Scenario*);
    const char* message;
  };
  const Case cases[] = {
      {[](Scenario* s) { s->messages = "fancy"; },
       "messages must be one of original, realistic, file:PATH, got \"fancy\""},
      {[](Scenario* s) { s->messages = "file:"; },
       "messages=file: needs a path"},
      {[](Scenario* s) { s->messages = "file:/nonexistent/x.log"; },
       "messages file /nonexistent/x.log cannot be opened"},
      {[](Scenario* s) { s->messages = "file:/"; },
       "messages file / is not a regular file"},
      {[](Scenario* s) { s->messages_format = "xml"; },
       "messages-format must be one of auto, rfc5424, rfc3164, plain, jsonl, "
       "got \"xml\""},
      {[](Scenario* s) {
         s->messages = "realistic";
         s->messages_format = "jsonl";
       },
       "messages-format=jsonl needs --messages=file:PATH"},
      {[](Scenario* s) { s->search_terms = "some"; },
       "search-terms must be one of original, common, rare, mixed, got "
       "\"some\""},
  };
  for (const Case& c : cases) {
    Scenario s;
    c.mutate(&s);
    auto spec = ToRunSpec(s);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_THAT(spec.status().message(), HasSubstr(c.message));
  }
}

TEST(ScenarioTest, SearchTermsDefaultToTheOriginalsOnlyForTheOriginal) {
  Scenario s;
  auto spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->workload.messages.source, protocol::MessageSource::kOriginal);
  EXPECT_EQ(spec->workload.messages.search_terms,
            protocol::SearchTerms::kOriginal);
  s.messages = "realistic";
  spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->workload.messages.source, protocol::MessageSource::kRealistic);
  EXPECT_EQ(spec->workload.messages.search_terms, protocol::SearchTerms::kMixed);
  s.search_terms = "rare";
  spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->workload.messages.search_terms, protocol::SearchTerms::kRare);
}

TEST(ScenarioTest, AMessagesFileIsReadHashedAndMeasuredBeforeTheRun) {
  char path[] = "/tmp/scenario_messages_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string content =
      "<34>1 2003-10-11T22:14:15.003Z h app - - - first line here\n"
      "garbage\n"
      "<34>1 2003-10-11T22:14:15.003Z h app - - - second line here\n";
  ASSERT_EQ(write(fd, content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  close(fd);
  Scenario s;
  s.messages = std::string("file:") + path;
  s.seed = 5;
  auto spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->workload.messages.file_content, content);
  EXPECT_EQ(spec->workload.messages.content_hash,
            protocol::ContentHash(content));
  ASSERT_TRUE(ResolveMessages(&s, *spec).ok());
  EXPECT_EQ(s.messages_facts.format, "rfc5424");
  EXPECT_EQ(s.messages_facts.lines, 2);
  EXPECT_EQ(s.messages_facts.malformed, 1);
  EXPECT_EQ(s.messages_facts.content_hash, protocol::ContentHash(content));
  EXPECT_EQ(s.messages_facts.rows, 10000);
  EXPECT_EQ(s.messages_facts.distinct_tokens, 4);  // first second line here
  // Read as JSON lines, no line is usable: refused before the run.
  s.messages_format = "jsonl";
  spec = ToRunSpec(s);
  ASSERT_TRUE(spec.ok()) << spec.status();
  const absl::Status refused = ResolveMessages(&s, *spec);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr(std::string("messages file ") + path +
                        " has no line readable as jsonl (3 malformed)"));
  unlink(path);
}

}  // namespace
}  // namespace loadtest::controller
