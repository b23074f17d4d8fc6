// Thresholds: pass/fail conditions over a run's merged figures, given as
// `--threshold=[SCOPE:]METRIC OP VALUE[UNIT]`, e.g. `write_p95<100ms`,
// `error_rate<1%`, `each:writes_per_s>=1000`, `lost==0`.
//   SCOPE: `total` (default), `each` (every agent), or an agent id.
//   METRIC: writes_per_s reads_per_s, write_/read_ p50 p95 p99 p999 max (a
//     latency), error_rate queue_utilization (fractions), write_errors
//     write_timeouts queue_full read_errors lost (counts), generator_bound
//     (intervals the load generator limited; in total, summed over the
//     agents) and checkpoint_starved (intervals whose WAL was starved of
//     checkpoints; protocol/validity.h), e.g. `generator_bound==0`;
//     healthy_intervals under_stress_intervals overloaded_intervals (counts)
//     and healthy_fraction (the guide's health states, stats/health.h),
//     e.g. `overloaded_intervals==0`, `each:healthy_fraction>=95%`; and,
//     on the whole run's stability verdict (total only, judged at the end:
//     report/stability.h), stable (1 or 0), throughput_drift (the
//     drift's size per 10 minutes, a fraction) and p99_drift (the p99's
//     signed change, last third against first), e.g. `stable==1`,
//     `throughput_drift<5%`, `p99_drift<20%`.
//   OP: < <= > >= ==.  UNIT: ns us ms s for latencies (default ms), % for
//     fractions (default: a plain fraction), none for rates and counts.
// Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_THRESHOLDS_H_
#define LOADTEST_REPORT_THRESHOLDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report/aggregator.h"

namespace loadtest::report {

struct Threshold {
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual };
  std::string text;    // As given.
  std::string scope;   // "total", "each" or an agent id.
  std::string metric;  // e.g. "write_p95".
  Op op = Op::kLess;
  double limit = 0;    // In the metric's base unit: ms, fraction, count, /s.
};

// InvalidArgument naming the expression and the 1-based position of the
// problem: `threshold "write_p95<<5ms": expected a number at position 11`.
absl::StatusOr<Threshold> ParseThreshold(const std::string& text);

// The load-testing guide's targets, written once (kGuideTargets in
// thresholds.cc): 5000+ writes/s, write p95 < 100 ms, write p99 < 200 ms,
// queue utilization < 80%, error rate < 1%.
//
// As thresholds (--threshold-preset=guide): writes_per_s>=5000,
// write_p95<100ms, write_p99<200ms, queue_utilization<80%, error_rate<1%.
const std::vector<std::string>& GuideThresholdTexts();

// A guide target and whether the run met it (the summary's and the
// report's targets).
struct TargetCheck {
  std::string name;      // e.g. "write p95"
  std::string target;    // e.g. "< 100 ms"
  double value = 0;      // measured, in the unit of `unit`
  std::string unit;      // "writes/s", "ms", "%"
  bool met = false;
};
std::vector<TargetCheck> CheckGuideTargets(const Figures& total);

struct ThresholdResult {
  std::string text;      // The threshold as given.
  std::string scope;     // "total" or the agent id it was measured on.
  double measured = 0;   // In the metric's base unit.
  std::string unit;      // "ms", "%", "/s" or "".
  bool passed = false;
};

// Evaluates every threshold on its scope (an "each" threshold once per
// agent). A threshold naming an agent that is not in the run fails, with
// scope "<id> (not in this run)". A lost agent's figures count as measured
// up to its last update.
std::vector<ThresholdResult> EvaluateThresholds(
    const std::vector<Threshold>& thresholds, const RunSummary& summary);

// --abort-on-fail: the first threshold that fails on the figures so far
// (`so_far`: the summary of the updates received until now) and can no
// longer hold. Counts (write_errors write_timeouts queue_full read_errors
// lost generator_bound checkpoint_starved and the *_intervals) and peaks (write_max read_max queue_utilization) only grow, so once
// one is over an upper bound (<, <=, or == with the count already above)
// it has failed for good and is reported at once. Percentiles, rates and
// error_rate can still recover, so they are judged only once `past_grace`.
// A threshold naming an agent not in the run, and the stability metrics
// (stable, throughput_drift, p99_drift: the verdict needs the whole run),
// are left to the end. nullopt
// while every threshold may still hold.
std::optional<ThresholdResult> FirstLiveFailure(
    const std::vector<Threshold>& thresholds, const RunSummary& so_far,
    bool past_grace);

// Why a run was stopped early by --abort-on-fail.
struct AbortInfo {
  ThresholdResult threshold;  // The one that failed live.
  double at_s = 0;            // When: end of the interval that showed it.
};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_THRESHOLDS_H_
