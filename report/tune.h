// The figures of `loadtest tune`'s sweep and their judgement: the
// configurations with their runs, the best per durability tier (the --sync
// mode) by compare's noise rule (CompareValues), and its margin over the
// defaults. commands/tune.h plans and runs the sweep; the JSON and the
// table are in json_report.h and text_report.h.
// Plain values and pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_TUNE_H_
#define LOADTEST_REPORT_TUNE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/compare.h"
#include "report/scenario.h"

namespace loadtest::report {

// One configuration of the sweep: a value for each varied knob, in --vary's
// order; none for the defaults (the command line as given).
struct TuneConfig {
  std::vector<std::pair<std::string, std::string>> settings;
  bool defaults = false;  // Also the command line's own settings.
  // "--batch-size=400", ... in --vary's order.
  std::vector<std::string> Flags() const;
  // "batch-size=400 fts-sync=batch", or "defaults".
  std::string Label() const;
};

// What a --sync mode survives, in plain words (docs/store.md).
std::string SyncSurvives(const std::string& sync);

// What one run gave.
struct TuneRun {
  int repeat = 1;
  std::string report;  // Its --out file.
  std::string log;
  int exit_code = 0;
  double seconds = 0;
  // The objective's figures: find-max's max rate (0 when even the start
  // rate failed, unless the load generator was the limit) or the run's
  // achieved writes/s; the write p99 at that rate; the database's bytes
  // per row (a fixed-rate run's report, or the file in-process when
  // find-max left it: --step-db=grow). nullopt when not measured.
  std::optional<double> rate;
  std::optional<double> write_p99_ms;
  std::optional<double> bytes_per_row;
  // A fixed-rate run achieved at least 95% of the offered rate (always
  // true for find-max).
  bool held = true;
};

enum class TuneObjective { kMaxRate, kWriteP99 };

// A configuration with its runs, and (after JudgeSweep) its verdict.
struct ConfigResult {
  TuneConfig config;
  std::string sync;  // Its --sync mode: the durability tier.
  std::string db;    // Its scratch database.
  std::vector<TuneRun> runs;
  // "best", "tie", "worse", "no result" (no run gave the figure), or
  // "did not hold the rate" (a fixed-rate run below 95% of it).
  std::string verdict;
  std::optional<ComparisonRow> against_best;  // Unset for the best.
};

// The best of one durability tier.
struct TierBest {
  std::string sync;
  size_t best = 0;                 // Index into the configurations.
  std::vector<size_t> ties;        // Within the noise of the best.
  std::optional<size_t> defaults;  // The defaults' index, when measured.
  // The best against the defaults (A: defaults, B: best); unset when the
  // best is the defaults or they were not measured.
  std::optional<ComparisonRow> over_defaults;
};

// The objective's per-run values of a configuration (runs with the figure).
std::vector<double> ObjectiveValues(const ConfigResult& config,
                                    TuneObjective objective);

// Sets every configuration's verdict and returns the best per tier, in the
// order the tiers first appear.
std::vector<TierBest> JudgeSweep(TuneObjective objective,
                                 const CompareOptions& options,
                                 std::vector<ConfigResult>* configs);

// The margin over the defaults in a sentence ("+26.7% writes/s over the
// defaults (c1); at 95% confidence at least +20.1%: beyond the noise").
std::string MarginStatement(const TierBest& tier,
                            const std::vector<ConfigResult>& configs,
                            TuneObjective objective,
                            const CompareOptions& options);

// What tune's report says of the sweep besides its configurations.
struct TuneSweepFacts {
  std::string mode;  // "in-process" or "distributed".
  int repeats = 0;
  std::chrono::nanoseconds budget{0};
  std::chrono::seconds estimate_per_run{0};  // The longest a run takes.
  // --vary as given: each knob with its values.
  std::vector<std::pair<std::string, std::vector<std::string>>> varies;
  bool default_sweep = false;  // No --vary: kDefaultVaries.
  std::vector<std::string> run_flags;  // Every run's flags.
  int64_t seed = 0;
  std::string work_dir;
  size_t planned_runs = 0;
  size_t runs_done = 0;
  std::vector<std::string> left_out;  // "c2-2": configuration-repeat.
  bool interrupted = false;
  std::string stopped_because;
  Scenario scenario;  // The command line's run, resolved.
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point ended_at;
};

// The name of configuration `index` in the tables and the report: "c1", ...
std::string ConfigName(size_t index);

// The exact flags of a configuration: its settings and its --sync.
std::vector<std::string> FullFlags(const ConfigResult& config);

// The values of `field` over a configuration's runs that measured it.
std::vector<double> RunFigure(const ConfigResult& config,
                              std::optional<double> TuneRun::*field);

// The rule the objective is judged by (compare's kMaxRateRule or
// kWriteP99Rule), and its unit in sentences ("writes/s", "ms write p99").
const FigureRule& ObjectiveRule(TuneObjective objective);
const char* ObjectiveUnit(TuneObjective objective);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_TUNE_H_
