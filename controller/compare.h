// `loadtest compare A.json B.json`: the key figures of two runs' reports side
// by side with the change in percent, marking regressions beyond a
// tolerance, and whether each change exceeds the run-to-run spread: a
// Mann-Whitney rank test over the figure's per-interval values (the
// reports' intervals[].total), so a change the intervals of one run
// already show is called noise. Pure functions; safe from any thread.
#ifndef LOADTEST_CONTROLLER_COMPARE_H_
#define LOADTEST_CONTROLLER_COMPARE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace loadtest::controller {

struct ComparisonRow {
  std::string figure;       // e.g. "write p99 (ms)".
  double baseline = 0;      // Run A.
  double candidate = 0;     // Run B.
  bool higher_is_better = false;
  // (candidate - baseline) / baseline * 100; NaN when baseline is 0.
  double change_percent = 0;
  // Per-interval values compared by the rank test (0 when a report has no
  // intervals or the figure is not in them).
  size_t intervals_a = 0;
  size_t intervals_b = 0;
  // Two-sided p-value of the rank test; NaN when not tested (fewer than
  // kMinIntervals intervals on a side).
  double p_value = 0;
  // The per-interval values differ beyond their spread (p < kSignificance).
  bool significant = false;
  // Worse than baseline by more than the tolerance and, when tested,
  // significant: a change within the run-to-run spread is not a regression.
  bool regression = false;
};

// The fewest per-interval values on each side for the rank test.
inline constexpr size_t kMinIntervals = 5;
// p below this: the change exceeds the run-to-run spread.
inline constexpr double kSignificance = 0.05;

// Two-sided p-value of the Mann-Whitney U test that `a` and `b` come from
// the same distribution (normal approximation, corrected for ties); 1 when
// every value is tied; NaN when a side is empty.
double MannWhitneyP(const std::vector<double>& a, const std::vector<double>& b);

// What makes the two runs not comparable like for like, in plain words:
// different workload fingerprints (run.fingerprint), naming the parameters
// that differ; different seeds are said too (same shape, other messages).
// Empty when the reports carry no fingerprint (older reports) or match.
std::vector<std::string> CompareWarnings(const nlohmann::json& baseline,
                                         const nlohmann::json& candidate);

// Compares summary.total of two `--out` reports. `tolerance` is a fraction
// (0.05 = 5%). A figure that was 0 regresses on any worsening. InvalidArgument
// naming the report ("A"/"B") and the missing field for a report that is not
// a loadtest report.
absl::StatusOr<std::vector<ComparisonRow>> CompareReports(
    const nlohmann::json& baseline, const nlohmann::json& candidate,
    double tolerance);

// The table a person reads, one row per figure, regressions marked.
std::string FormatComparison(const std::vector<ComparisonRow>& rows,
                             const std::string& baseline_name,
                             const std::string& candidate_name,
                             double tolerance);

// The `loadtest compare` subcommand: argv[0] is "compare". Prints the
// comparison; returns the exit code (0 no regression, kExitUsage a usage
// error or unreadable report, kExitCheckFailed a regression).
int CompareMain(int argc, char** argv);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_COMPARE_H_
