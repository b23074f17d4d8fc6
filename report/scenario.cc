#include "report/scenario.h"

namespace loadtest::report {

namespace {

// The guide's "Expected Results" for concurrent writes: the expectation of
// every command it gives no expectation of its own.
constexpr const char* kExpectedResults =
    "Expected Results: \"Concurrent writes: 700-1000+ TPS (as shown in "
    "integration tests)\"";

}  // namespace

const std::vector<Preset>& Presets() {
  using std::chrono::seconds;
  static const auto* presets = new std::vector<Preset>{
      {"light", "baseline", 5, 2, 50, seconds(60),
       {"Example VPS Test Commands: Light load test (baseline)",
        kExpectedResults, 700, 0, true}},
      {"medium", "medium load", 25, 10, 150, seconds(300),
       {"Example VPS Test Commands: Medium load test", kExpectedResults, 700,
        0, true}},
      {"heavy", "heavy load", 75, 25, 250, seconds(600),
       {"Example VPS Test Commands: Heavy load test", kExpectedResults, 700, 0,
        true}},
      {"stress", "stress test", 150, 50, 500, seconds(300),
       {"Example VPS Test Commands: Stress test", kExpectedResults, 700, 0,
        true}},
      {"moderate", "guide scenario 1, expects 1000-2000 writes/s", 20, 10,
       100, seconds(300),
       {"Load Test Scenarios: Scenario 1: Moderate Load",
        "Expected: 1000-2000 TPS", 1000, 2000, true}},
      {"high", "guide scenario 2, expects 3000-5000 writes/s", 50, 20, 200,
       seconds(300),
       {"Load Test Scenarios: Scenario 2: High Load", "Expected: 3000-5000 TPS",
        3000, 5000, true}},
      {"burst", "guide scenario 3, expects 5000+ writes/s", 100, 30, 300,
       seconds(300),
       {"Load Test Scenarios: Scenario 3: Burst Load", "Expected: 5000+ TPS",
        5000, 0, true}},
      {"sustained", "guide scenario 4, stable over 30 minutes", 30, 15, 150,
       seconds(1800),
       {"Load Test Scenarios: Scenario 4: Sustained Load",
        "Expected: Stable performance over 30 minutes", 0, 0, false}},
  };
  return *presets;
}

const Preset& DefaultPreset() {
  static const auto* preset = new Preset{
      "default", "the guide's basic load test", 10, 5, 100,
      std::chrono::seconds(60),
      {"Quick Start: 2. Run a Basic Load Test (no expectation of its own)",
       kExpectedResults, 700, 0, true}};
  return *preset;
}

const char* VerdictName(ExpectationVerdict verdict) {
  switch (verdict) {
    case ExpectationVerdict::kWithin:
      return "within";
    case ExpectationVerdict::kAbove:
      return "above";
    case ExpectationVerdict::kBelow:
      return "below";
    case ExpectationVerdict::kStable:
      return "stable";
    case ExpectationVerdict::kUnstable:
      return "unstable";
    case ExpectationVerdict::kNotJudged:
      break;
  }
  return "not_judged";
}

const char* VerdictSentence(ExpectationVerdict verdict) {
  switch (verdict) {
    case ExpectationVerdict::kWithin:
      return "within the guide's expectation";
    case ExpectationVerdict::kAbove:
      return "above the guide's expectation: faster than it expects (good "
             "news)";
    case ExpectationVerdict::kBelow:
      return "BELOW the guide's expectation";
    case ExpectationVerdict::kStable:
      return "stable, as the guide expects (see Stability)";
    case ExpectationVerdict::kUnstable:
      return "UNSTABLE: not the stable performance the guide expects (see "
             "Stability)";
    case ExpectationVerdict::kNotJudged:
      break;
  }
  return "not judged: the guide expects stability, and this run could not "
         "be judged for it (see Stability)";
}

ScenarioJudgement JudgeScenario(const Scenario& scenario,
                                double writes_per_s,
                                const StabilityVerdict* stability) {
  const Preset* preset = &DefaultPreset();
  for (const Preset& p : Presets()) {
    if (scenario.preset == p.name) preset = &p;
  }
  const GuideExpectation& guide = preset->guide;
  ScenarioJudgement j;
  j.name = preset->name;
  j.section = guide.section;
  j.expectation = guide.expectation;
  j.min_writes_per_s = guide.min_writes_per_s;
  j.max_writes_per_s = guide.max_writes_per_s;
  j.measured_writes_per_s = writes_per_s;
  if (!guide.throughput) {
    j.verdict = stability == nullptr || !stability->judged()
                    ? ExpectationVerdict::kNotJudged
                : stability->stable() ? ExpectationVerdict::kStable
                                      : ExpectationVerdict::kUnstable;
  } else if (writes_per_s < guide.min_writes_per_s) {
    j.verdict = ExpectationVerdict::kBelow;
  } else if (guide.max_writes_per_s > 0 &&
             writes_per_s > guide.max_writes_per_s) {
    j.verdict = ExpectationVerdict::kAbove;
  } else {
    j.verdict = ExpectationVerdict::kWithin;
  }
  if (scenario.writers != preset->writers) j.differs_from_guide.push_back("writers");
  if (scenario.readers != preset->readers) j.differs_from_guide.push_back("readers");
  if (scenario.batch_size != preset->batch_size) {
    j.differs_from_guide.push_back("batch-size");
  }
  if (scenario.duration != preset->duration) {
    j.differs_from_guide.push_back("duration");
  }
  return j;
}

}  // namespace loadtest::report
