// `loadtest tune`: which store settings hold the most load on this host, at
// what latency and at what durability, with the evidence.
//
// It sweeps the cross product of --vary=KNOB:V1,V2,... (or a default set of
// the guide's knobs) and runs, for each configuration, `loadtest find-max`
// (or, with --write-rate, a fixed-rate run whose objective is the write
// p99) --repeats times as child processes, the way `loadtest repeat` does
// (controller/child_run.h): each with its own --out report and log in
// --work-dir, and its own scratch database (-db with ".tune-N" appended,
// removed afterwards when in-process). The runs go in rounds: repeat 1 of
// every configuration, the defaults first, then repeat 2 ..., so that a
// --budget that runs out drops repeats before configurations and the
// host's drift over the sitting falls on every configuration alike.
//
// The verdicts reuse `loadtest compare`'s noise rule (CompareValues): per
// durability tier (the --sync mode), the configuration with the best mean
// is the best; another is a tie when the rule cannot tell it from the best
// (no change, erratic or undecidable), and worse only when it is beyond
// both the minimum effect and the one-sided confidence bound. The best's
// margin over the defaults is stated the same way.
//
// The parsing, planning and judging are pure (ParseVaries, CrossProduct,
// RunOrder, EstimateRun, JudgeSweep, TuneJson) and tested alone; TuneMain
// runs the children. Thread-safety: TuneMain is a main; call it from the
// main thread before any other thread starts.
#ifndef LOADTEST_CONTROLLER_TUNE_H_
#define LOADTEST_CONTROLLER_TUNE_H_

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/compare.h"
#include "controller/find_max.h"
#include "nlohmann/json.hpp"

namespace loadtest::controller {

// The settings --vary accepts; each is the run flag of the same name.
inline constexpr const char* kTuneKnobs[] = {
    "batch-size", "batch-timeout", "queue-size",    "batch-policy",
    "sync",       "fts-sync",      "fts-automerge", "fts-crisismerge",
    "fts-pgsz",   "temp-store",    "cache-size-kib"};

// The sweep without --vary: the guide's first remedy (a larger batch) and
// the store's FTS method, 4 configurations.
inline constexpr const char* kDefaultVaries[] = {"batch-size:100,400",
                                                 "fts-sync:trigger,batch"};

struct VariedKnob {
  std::string knob;
  std::vector<std::string> values;
};

// Parses --vary specs: InvalidArgument naming --vary and the spec for a
// spec without KNOB:VALUES, an unknown knob, no value (an empty sweep), an
// empty or repeated value, and a knob varied twice.
absl::StatusOr<std::vector<VariedKnob>> ParseVaries(
    const std::vector<std::string>& specs);

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

// The cross product, the first knob varying slowest.
std::vector<TuneConfig> CrossProduct(const std::vector<VariedKnob>& knobs);

// What a --sync mode survives, in plain words (docs/store.md).
std::string SyncSurvives(const std::string& sync);

// One run of the plan: configuration index and repeat (1-based).
struct PlannedRun {
  size_t config = 0;
  int repeat = 1;
};
// Repeat 1 of every configuration, then repeat 2, ...
std::vector<PlannedRun> RunOrder(size_t configs, int repeats);

// The longest a find-max run takes: every step (doublings from
// --start-rate to --max-rate, then bisections down to --precision, at most
// --max-steps) of warm-up + step + `per_step_overhead`, plus `startup`.
std::chrono::nanoseconds EstimateFindMax(
    const FindMaxOptions& options, std::chrono::nanoseconds per_step_overhead,
    std::chrono::nanoseconds startup);

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
  std::optional<report::ComparisonRow> against_best;  // Unset for the best.
};

// The best of one durability tier.
struct TierBest {
  std::string sync;
  size_t best = 0;                 // Index into the configurations.
  std::vector<size_t> ties;        // Within the noise of the best.
  std::optional<size_t> defaults;  // The defaults' index, when measured.
  // The best against the defaults (A: defaults, B: best); unset when the
  // best is the defaults or they were not measured.
  std::optional<report::ComparisonRow> over_defaults;
};

// The objective's per-run values of a configuration (runs with the figure).
std::vector<double> ObjectiveValues(const ConfigResult& config,
                                    TuneObjective objective);

// Sets every configuration's verdict and returns the best per tier, in the
// order the tiers first appear.
std::vector<TierBest> JudgeSweep(TuneObjective objective,
                                 const report::CompareOptions& options,
                                 std::vector<ConfigResult>* configs);

// The margin over the defaults in a sentence ("+26.7% writes/s over the
// defaults (c1); at 95% confidence at least +20.1%: beyond the noise").
std::string MarginStatement(const TierBest& tier,
                            const std::vector<ConfigResult>& configs,
                            TuneObjective objective,
                            const report::CompareOptions& options);

// The whole sweep as the report's "tune" object: options (as given in
// `options`), configs[] and best[] (docs/report-format.md).
nlohmann::json TuneJson(const nlohmann::json& options,
                        const std::vector<ConfigResult>& configs,
                        const std::vector<TierBest>& best,
                        TuneObjective objective,
                        const report::CompareOptions& compare_options);

// The table a person reads, and the best per tier with its flags.
std::string FormatTune(const std::vector<ConfigResult>& configs,
                       const std::vector<TierBest>& best,
                       TuneObjective objective, const report::CompareOptions& options);

// `loadtest tune`: argv[0] is "tune". Returns 0 when the sweep ran (or
// what fit the budget), 1 on bad input or a run that could not start,
// 128 + n when a signal stopped it (what was measured is still reported).
int TuneMain(int argc, char** argv);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_TUNE_H_
