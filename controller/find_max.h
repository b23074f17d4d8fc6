// `loadtest find-max`: the highest open-loop write rate the agents' stores
// sustain within the SLOs.
//
// The search offers a total write rate (split evenly across the agents) in
// steps: from --start-rate it doubles while steps pass, then bisects between
// the last rate that passed and the first that failed until they are within
// --precision of each other. A rate's verdict is the majority of up to
// --tries runs at it (3 by default: two that agree decide), so one step
// that a rare stall of the store failed, or that missed one, does not move
// the answer on its own. Each try (a step) is a run of --warmup plus
// --step-duration whose first --warmup is discarded: the step is judged on
// the intervals that start at or after it. A step fails, in this order,
// when an agent's CPU limited it (protocol/validity.h), an SLO fails, the
// durability audit fails, queue-full or timed-out writes appear, the
// achieved rate falls below 95% of the offered one, or an agent's
// operations fell behind schedule with a worker free for them while the
// store met all that (a busy host). A store failure while every writer of
// an agent was busy and the writers were fewer than the rate needs
// (report/concurrency.h) is the generator's cap, named as such. A
// generator limit is reported as such, never as the store's.
//
// The search ends when the bisection is within --precision, when it can no
// longer move the rate (the two bounds less than kMinRateStep apart), or
// after --max-steps steps; a runner error ends it too, keeping the steps so
// far. Suspicious figures (more acknowledged than offered, more in flight
// or faster than the writers allow, a higher rate passing where a lower
// one failed) are kept and warned about.
//
// The judging (report/find_max_judge.h) and the search (RateSearch) are
// pure and tested on a simulated capacity; FindMax drives them with a step
// runner, which FindMaxMain makes from RunLoadTest.
#ifndef LOADTEST_CONTROLLER_FIND_MAX_H_
#define LOADTEST_CONTROLLER_FIND_MAX_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/flag_set.h"
#include "report/aggregator.h"
#include "report/find_max_result.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "report/thresholds.h"
#include "nlohmann/json.hpp"

namespace loadtest::controller {

// The figures and SLOs a step is judged by, and what the search found
// (report/).
using report::FindMaxResult;
using report::Limit;
using report::LimitName;
using report::RunSummary;
using report::StepResult;
using report::Threshold;

using report::FindMaxOptions;

// The database find-max's steps use with --step-db=scratch: `db` with
// ".find-max" appended (the same folder, so the same file system).
std::string ScratchDbPath(const std::string& db);

// The search never tries two rates closer than this (writes/s in total).
inline constexpr double kMinRateStep = 1.0;

// The search: which rate to try next, given the verdicts so far.
class RateSearch {
 public:
  explicit RateSearch(const FindMaxOptions& options);
  // The next rate to try, or nullopt when the search is over (within
  // precision, or the bounds closer than kMinRateStep: bisecting cannot
  // move the rate any more).
  std::optional<double> Next() const;
  void Record(double rate, bool passed);
  // The highest rate that passed; nullopt if none did.
  std::optional<double> best() const { return pass_; }
  // The lowest rate that failed; nullopt if none did.
  std::optional<double> lowest_failure() const { return fail_; }

 private:
  FindMaxOptions options_;
  std::optional<double> pass_;
  std::optional<double> fail_;
};

// Runs one step at the given total rate.
using StepRunner = std::function<absl::StatusOr<StepResult>(double rate)>;

// Searches with `run_step`; `on_step` sees each step as it is judged.
// InvalidArgument for bad options. A runner error ends the search with
// `error` set (the steps so far kept); a step whose run was interrupted
// ends it with `interrupted`; --max-steps ends it with a warning.
absl::StatusOr<FindMaxResult> FindMax(
    const FindMaxOptions& options, const StepRunner& run_step,
    const std::function<void(const StepResult&)>& on_step);

// find-max's own flags (--slo, --start-rate, --max-rate, --max-steps,
// --tries, --step-duration, --warmup, --step-db, --saturation,
// --precision) as typed; `loadtest tune`
// registers the same ones for the find-max runs it makes.
struct FindMaxFlags {
  FindMaxOptions options;
  int64_t max_steps = 60;
  int64_t tries = 3;
  bool saturation = true;
  std::vector<std::string> slo_texts;
  std::string precision_text = "5%";
};
void RegisterFindMaxFlags(cli::FlagSet* flags, FindMaxFlags* values);

// The options from the typed flags: --precision read, the SLOs parsed,
// the latency bound set, the whole validated. InvalidArgument naming the
// flag and the value.
absl::StatusOr<FindMaxOptions> FindMaxOptionsFrom(const FindMaxFlags& values);

// The run flags that do not apply to find-max (the steps set the rate and
// the duration; SLOs are --slo).
inline constexpr const char* kFindMaxExcludedFlags[] = {
    "duration",      "write-rate",  "stages",       "threshold",
    "threshold-preset", "abort-on-fail", "abort-grace", "out-intervals",
    "prometheus-targets"};

// `loadtest find-max`: the whole command, from its arguments (after
// "find-max") to its exit code: 0 found, 1 bad input or setup error, 2 even
// the start rate failed, 3 an agent was lost, 128+n interrupted.
int FindMaxMain(int argc, char** argv);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_FIND_MAX_H_
