// The parameters of one load test as the user gives them (the original
// tool's flags plus ours), the load-testing guide's named scenarios with
// what the guide expects of each, and the judgement of a run's write
// throughput (or stability) against that expectation. controller/scenario.h
// applies presets and turns a Scenario into the agents' RunSpec.
// Plain values and pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_SCENARIO_H_
#define LOADTEST_REPORT_SCENARIO_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "report/stability.h"

namespace loadtest::report {

// What was found of the messages before the run (ResolveMessages): shown
// in the run header and the report's run.messages (docs/messages.md).
struct MessagesFacts {
  std::string format;        // --messages=file: the format used.
  int64_t lines = 0;         // Well-formed lines of the file.
  int64_t malformed = 0;     // Lines skipped.
  std::string content_hash;  // "sha256:..." of the file sent to the agents.
  std::string search_terms;  // As resolved: original, common, rare, mixed.
  // Measured over `rows` rows of the source (writer 0 of the first agent).
  int64_t rows = 0;
  double mean_message_bytes = 0;
  int64_t p99_message_bytes = 0;
  int64_t distinct_tokens = 0;
};

// Defaults are the original tool's (`-db=loadtest.db -duration=60s ...`).
struct Scenario {
  std::string db = "loadtest.db";
  std::chrono::nanoseconds duration = std::chrono::seconds(60);
  int64_t writers = 10;
  int64_t readers = 5;
  int64_t batch_size = 100;
  std::chrono::nanoseconds batch_timeout = std::chrono::milliseconds(10);
  int64_t queue_size = 10000;
  int64_t metrics_port = 8080;
  std::chrono::nanoseconds log_interval = std::chrono::seconds(5);
  std::chrono::nanoseconds write_delay = std::chrono::milliseconds(1);
  std::chrono::nanoseconds read_delay = std::chrono::milliseconds(10);
  double write_rate = 0;
  double read_rate = 0;
  // --stages / --read-stages: open-loop rates ramped stage by stage from 0
  // ("30s:500,2m:5000,30s:0", protocol::ParseStages); the targets are
  // totals across agents, split evenly, unless stages_per_agent.
  std::string stages;
  std::string read_stages;
  bool stages_per_agent = false;
  // --seed: every agent's and writer's message generator derives from it.
  // 0 until resolved (ResolveCommandLine picks one at random).
  int64_t seed = 0;
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::string schema = "full";
  std::string sync = "normal";
  std::string batch_policy = "group";
  std::string temp_store = "memory";
  // --fts-sync and FTS5's settings (-1: SQLite's default); StoreOptions
  // checks them.
  std::string fts_sync = "trigger";
  int64_t fts_automerge = -1;
  int64_t fts_crisismerge = -1;
  int64_t fts_pgsz = -1;
  bool fresh = false;
  // Chosen by measurement (docs/store-performance.md); StoreOptions checks
  // the ranges.
  int64_t cache_size_kib = 2000;
  int64_t reader_mmap_mib = 0;
  int64_t reader_nice = 5;
  // The --scenario applied (ApplyPreset), or empty for the embedded
  // default. Names the guide's expectation the run is judged against.
  std::string preset;
  // --messages: original, realistic or file:PATH; --messages-format (with
  // file:); --search-terms ("": original with --messages=original, mixed
  // otherwise). docs/messages.md.
  std::string messages = "original";
  std::string messages_format = "auto";
  std::string search_terms;
  // --write-dispatch: how open-loop writes reach the store (async or
  // threads; protocol::WriteDispatch).
  std::string write_dispatch = "async";
  // Filled by ResolveMessages before the run.
  MessagesFacts messages_facts;
};

// What the load-testing guide expects of a scenario, in its own words, and
// that expectation as bounds on write throughput (the guide's "TPS": writes
// acknowledged per second, summed over the agents). docs/cli.md, "Scenario
// expectations", lists them.
struct GuideExpectation {
  const char* section;      // Where the guide gives the command.
  const char* expectation;  // The guide's words, e.g. "Expected: 1000-2000 TPS".
  // Writes/s within the expectation: [min, max], both inclusive; max 0 for
  // no upper bound ("5000+ TPS"). `throughput` false when the guide expects
  // stability rather than a rate (sustained): judged by the stability
  // verdict (report/stability.h).
  double min_writes_per_s;
  double max_writes_per_s;
  bool throughput;
};

// One of the load-testing guide's named scenarios.
struct Preset {
  const char* name;
  const char* description;
  int writers;
  int readers;
  int batch_size;
  std::chrono::seconds duration;
  GuideExpectation guide;
};
const std::vector<Preset>& Presets();

// The embedded default (no --scenario): the guide's Quick Start command
// (10 writers, 5 readers, batch 100, 60 s); the guide gives it no
// expectation of its own, so it is held to the guide's "Expected Results"
// for concurrent writes, 700-1000+ TPS.
const Preset& DefaultPreset();

// How a run's write throughput compares with its scenario's expectation,
// or, for a scenario that expects stability, the stability verdict.
enum class ExpectationVerdict {
  kWithin, kAbove, kBelow, kStable, kUnstable, kNotJudged
};
// "within", "above", "below", "stable", "unstable", "not_judged" (the
// JSON's and CSV's words).
const char* VerdictName(ExpectationVerdict verdict);

// The verdict as the summary says it, e.g. for kAbove "above the guide's
// expectation: faster than it expects (good news)".
const char* VerdictSentence(ExpectationVerdict verdict);

// A run's scenario, what the guide expects of it and the verdict.
struct ScenarioJudgement {
  std::string name;         // The preset, or "default".
  std::string section;      // GuideExpectation::section.
  std::string expectation;  // GuideExpectation::expectation.
  double min_writes_per_s = 0;
  double max_writes_per_s = 0;  // 0: no upper bound.
  double measured_writes_per_s = 0;
  ExpectationVerdict verdict = ExpectationVerdict::kNotJudged;
  // The parameters that differ from the guide's command (explicit flags
  // win over a preset), e.g. {"duration"}: the expectation was made for the
  // guide's command, so a reader should weigh the verdict accordingly.
  std::vector<std::string> differs_from_guide;
};

// Judges `writes_per_s` against the expectation of `scenario.preset` (the
// embedded default's when empty): below when under min, above when over a
// max, within otherwise (both bounds inclusive). When the expectation is
// stability (sustained): kStable or kUnstable as `stability` says, and
// kNotJudged without one or when it could not judge (too short). An
// unknown preset is judged as the default's (ApplyPreset refuses unknown
// names before a run).
ScenarioJudgement JudgeScenario(const Scenario& scenario, double writes_per_s,
                                const StabilityVerdict* stability = nullptr);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_SCENARIO_H_
