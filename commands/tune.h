// `loadtest tune`: which store settings hold the most load on this host, at
// what latency and at what durability, with the evidence.
//
// It sweeps the cross product of --vary=KNOB:V1,V2,... (or a default set of
// the guide's knobs) and runs, for each configuration, `loadtest find-max`
// (or, with --write-rate, a fixed-rate run whose objective is the write
// p99) --repeats times as child processes, the way `loadtest repeat` does
// (commands/child_run.h): each with its own --out report and log in
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
// The parsing and planning are pure (ParseVaries, CrossProduct, RunOrder,
// EstimateFindMax; the judging is report/tune.h) and tested alone; TuneMain
// runs the children. Thread-safety: TuneMain is a main; call it from the
// main thread before any other thread starts.
#ifndef LOADTEST_COMMANDS_TUNE_H_
#define LOADTEST_COMMANDS_TUNE_H_

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "report/find_max_result.h"
#include "report/tune.h"
#include "nlohmann/json.hpp"

namespace loadtest::commands {

// The sweep's figures and verdicts (report/tune.h).
using report::ConfigResult;
using report::FindMaxOptions;
using report::TierBest;
using report::TuneConfig;
using report::TuneObjective;
using report::TuneRun;

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

// The cross product, the first knob varying slowest.
std::vector<TuneConfig> CrossProduct(const std::vector<VariedKnob>& knobs);

// One run of the plan: configuration index and repeat (1-based).
struct PlannedRun {
  size_t config = 0;
  int repeat = 1;
};
// Repeat 1 of every configuration, then repeat 2, ...
std::vector<PlannedRun> RunOrder(size_t configs, int repeats);

// The longest a find-max run takes: every step (doublings from
// --start-rate to --max-rate, then bisections down to --precision, each
// rate a majority of --tries, at most --max-steps) of warm-up + step +
// `per_step_overhead`, plus `startup`.
std::chrono::nanoseconds EstimateFindMax(
    const FindMaxOptions& options, std::chrono::nanoseconds per_step_overhead,
    std::chrono::nanoseconds startup);

// `loadtest tune`: argv[0] is "tune". Returns 0 when the sweep ran (or
// what fit the budget), 1 on bad input or a run that could not start,
// 128 + n when a signal stopped it (what was measured is still reported).
int TuneMain(int argc, char** argv);

}  // namespace loadtest::commands

#endif  // LOADTEST_COMMANDS_TUNE_H_
