// The figures of `loadtest find-max`'s search as the reports state them:
// each step's measurement and verdict, the search's outcome, and the
// settings it ran with. controller/find_max.h runs the search and judges
// each step (JudgeStep); the JSON and the step table are in json_report.h
// and text_report.h. Plain values; safe from any thread.
#ifndef LOADTEST_REPORT_FIND_MAX_RESULT_H_
#define LOADTEST_REPORT_FIND_MAX_RESULT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "report/aggregator.h"
#include "report/scenario.h"
#include "report/thresholds.h"

namespace loadtest::report {

// Why a step failed (the first cause found, in JudgeStep's order).
enum class Limit { kNone, kGenerator, kSlo, kErrors, kThroughput, kMaxRate };
// "generator", "slo", "errors", "throughput", "max-rate" ("" for kNone).
const char* LimitName(Limit limit);

// What one step measured after its warm-up, and the verdict.
struct StepResult {
  double offered_rate = 0;  // The total rate asked for.
  int agents = 1;           // The rate is split evenly across them.
  // Writer threads per agent that each wait in a write (write dispatch
  // "threads"); 0 with async dispatch, where no thread waits and the
  // store's queue bounds the writes in flight.
  int writers = 0;
  bool writers_auto = false;  // Sized by the rate, not --writers.
  RunSummary measured;      // The intervals after the warm-up.
  // Agents whose CPU limited them in the measured intervals, each with
  // the reason in plain words ("agent a1: 3 intervals (CPU 98% of 2
  // cores)").
  std::vector<std::string> generator_bound;
  // Agents whose operations fell behind schedule (protocol/validity.h).
  std::vector<std::string> behind_schedule;
  bool audit_failed = false;  // An agent's durability audit failed.
  // Why the step's run could not finish (a signal, a lost agent); the
  // search stops there. "" normally.
  std::string interrupted;
  bool passed = false;
  Limit limit = Limit::kNone;
  std::string reason;  // Why it failed, in plain words; "" when passed.
  // The try at this rate, from 1 (FindMax sets it; --tries).
  int attempt = 1;
  // On the try that decided its rate (a majority of --tries agreed): the
  // rate's verdict and the tries at it so far, e.g. 2 of 3 passed. Unset
  // on the other tries.
  std::optional<bool> rate_passed;
  int rate_tries = 0;
  int rate_tries_passed = 0;
  // Figures that cannot be right (an agent reporting more acknowledged
  // writes than offered, more in flight or faster than its writers allow);
  // the verdict stands but the user is told.
  std::vector<std::string> warnings;

  // Writes in flight per agent that the achieved rate and mean latency
  // imply (Little's law: rate x latency), and the most any agent had.
  double needed_in_flight() const;
  int64_t max_in_flight() const;
};

// --saturation: the store run flat out just before the search and just
// after it, a closed loop of kSaturationWriters writers per agent on the
// steps' workload, database and durations, measured like a step (its
// warm-up discarded). How fast this host's store was when the search
// began and when it ended: the answer is stated as a share of it, and a
// host whose speed moved during the search is seen (a second search there
// cannot agree with this one to better than that move).
inline constexpr int kSaturationWriters = 100;
// A move between before and after larger than this share is warned about.
inline constexpr double kSaturationChangeWarning = 0.10;
struct Saturation {
  std::optional<double> before;  // Writes/s acknowledged, all agents.
  std::optional<double> after;
  // The mean of before and after (the one measured when the other is not).
  std::optional<double> mean() const;
  // |after - before| / the larger of the two; nullopt without both.
  std::optional<double> change() const;
  // The search's warning when change() > kSaturationChangeWarning.
  std::optional<std::string> Warning() const;
};

struct FindMaxResult {
  std::optional<double> max_rate;  // Highest rate that met everything.
  Saturation saturation;  // Empty without --saturation.
  Limit limited_by = Limit::kNone;
  std::string limit_reason;  // The failing step's reason, at its rate.
  std::vector<StepResult> steps;
  bool interrupted = false;  // A signal, a lost agent: the search stopped.
  std::string stopped_because;
  // The runner's error that ended the search (OK otherwise): `steps` still
  // holds every step run before it, for the report.
  absl::Status error;
  // Over the search: a rate that passed above one that failed, the step
  // cap reached, and each step's warnings ("step 3: ...").
  std::vector<std::string> warnings;
};

// A search's settings (find-max's flags): the controller searches with
// them, and the reports state them.
struct FindMaxOptions {
  std::vector<Threshold> slos;  // --slo, judged on each step's figures.
  double start_rate = 1000;     // Total writes per second, all agents.
  double max_rate = 1e6;
  std::chrono::nanoseconds step_duration = std::chrono::seconds(20);
  std::chrono::nanoseconds warmup = std::chrono::seconds(5);
  double precision = 0.05;  // Stop when (fail - pass) <= precision * pass.
  // A step fails when achieved < min_achieved * offered.
  double min_achieved = 0.95;
  int max_steps = 30;  // The search ends after this many steps (tries).
  // --tries: a rate passes when most of up to `tries` runs at it pass
  // (odd, 1-9; tries / 2 + 1 agreeing verdicts decide, so the rest are not
  // run). 1: every rate is judged on one run.
  int tries = 1;
  // The write latency the concurrency is sized for (WriteLatencyBound of
  // the SLOs): decides whether all writers busy was the store's doing.
  std::chrono::nanoseconds latency_bound = std::chrono::milliseconds(100);
  // --step-db: "scratch" runs every step on an empty database of its own
  // beside -db (ScratchDbPath), so every rate is measured on the same
  // state and -db is never touched; "grow" runs every step on -db as it
  // is, the rows of the steps before still in it.
  std::string step_db = "scratch";
  // --saturation: measure the store saturated before and after the search
  // (Saturation above).
  bool saturation = false;

  // InvalidArgument naming the flag: rates <= 0 or start > max, a step
  // or warm-up out of range, a precision outside (0, 1), tries not odd
  // or outside 1-9.
  absl::Status Validate() const;
};

// What a find-max report says about the run besides the search.
struct FindMaxReport {
  Scenario scenario;
  size_t agents = 1;
  std::string mode;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point ended_at;
};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_FIND_MAX_RESULT_H_
