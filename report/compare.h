// `loadtest compare A1.json [A2.json ...] -- B1.json [B2.json ...]`: the key
// figures of two sets of runs (replicates of a baseline A and a candidate B)
// side by side, each judged by the spread BETWEEN runs. The intervals of one
// run are not independent samples of a shared host (the whole run moves
// together), so one run per side cannot tell a change from the host's
// run-to-run spread: with fewer than two runs on a side a figure is
// `undecidable` and only its difference is shown.
//
// Per figure, with n >= 2 runs on each side: the mean, standard deviation
// and coefficient of variation (CoV) of the per-run values on each side,
// the change of the means and its one-sided confidence bounds (Welch's t,
// default 95%: the ends of the two-sided 90% interval). The verdict:
//   - `erratic` when a side's CoV exceeds kErraticCov (0.3) and its spread
//     is above the figure's noise floor: never called a regression;
//   - `regressed` / `improved` when the change is beyond both the minimum
//     effect (default 5% of A's mean, and the figure's noise floor) and 0 at
//     the confidence (its one-sided bound excludes 0);
//   - `no change` otherwise.
// Pure functions; safe from any thread. `loadtest compare` itself (its
// flags, the reports it reads) is controller/compare.h.
#ifndef LOADTEST_REPORT_COMPARE_H_
#define LOADTEST_REPORT_COMPARE_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace loadtest::report {

// Exit codes of `loadtest compare`, for CI: kCompareNoRegression (0),
// kExitUsage (1) a usage error or unreadable report, kCompareRegression (2),
// kCompareUndecided (3): no regression, but some figure erratic or
// undecidable (e.g. one run per side).
inline constexpr int kCompareNoRegression = 0;
inline constexpr int kCompareRegression = 2;
inline constexpr int kCompareUndecided = 3;

// A side's CoV above this makes a figure erratic.
inline constexpr double kErraticCov = 0.3;

enum class Verdict { kNoChange, kImproved, kRegressed, kErratic, kUndecidable };
// "no change", "improved", "regressed", "erratic", "undecidable".
const char* VerdictName(Verdict verdict);

// The per-run values of one figure on one side.
struct SideStats {
  std::vector<double> values;  // One per run, in the order given.
  double mean = 0;
  double sd = 0;   // Sample standard deviation (n - 1); 0 for one run.
  double cov = 0;  // sd / |mean|; 0 when the mean is 0.
  double min = 0;  // The lowest and highest run; 0 without a run.
  double max = 0;
};
SideStats DescribeRuns(std::vector<double> values);

struct CompareOptions {
  double min_effect = 0.05;  // Fraction of A's mean.
  double confidence = 0.95;  // Of the one-sided bounds of the change.
};

struct ComparisonRow {
  std::string figure;  // e.g. "write p99 (ms)".
  std::string key;     // JSON name, e.g. "write_p99_ms".
  bool higher_is_better = false;
  SideStats a;
  SideStats b;
  // (mean B - mean A) / mean A * 100, and the one-sided confidence bounds
  // of the change (the ends of the two-sided 2 x confidence - 1 interval)
  // in the same percent; NaN when A's mean is 0 or undecidable.
  double change_percent = 0;
  double ci_low_percent = 0;
  double ci_high_percent = 0;
  Verdict verdict = Verdict::kNoChange;
};

// How one figure is judged: its name, whether higher is better, the
// floor below which a difference or a spread is noise whatever its
// percent, and the multiple of --min-effect its change must reach.
struct FigureRule {
  const char* label;  // e.g. "write p99 (ms)".
  const char* key;    // JSON name, e.g. "write_p99_ms".
  bool higher_is_better;
  double floor;
  double effect_scale;
};
// The rules of two figures `loadtest tune` also judges by: a run's write
// p99, and find-max's sustainable rate (a rate, as writes/s).
inline constexpr FigureRule kWriteP99Rule = {"write p99 (ms)", "write_p99_ms",
                                             false, 0.05, 4};
inline constexpr FigureRule kMaxRateRule = {"max rate (writes/s)",
                                            "max_rate", true, 1, 1};

// One figure's per-run values on side A and side B, judged by `rule` and
// the verdicts above (a side with fewer than two values: undecidable).
ComparisonRow CompareValues(const FigureRule& rule, std::vector<double> a,
                            std::vector<double> b,
                            const CompareOptions& options);

// The Student t quantile: t such that P(T <= t) = p for `df` degrees of
// freedom (df may be fractional, as Welch's is). p in (0, 1), df > 0.
double StudentTQuantile(double p, double df);

// Parses a --out report keeping only what compare reads (tool, parameters,
// run, summary.total, summary.agents; a `loadtest repeat` summary's
// `repeat`): memory follows those, not the file.
// A discarded json when the input is not JSON.
nlohmann::json ParseReportFigures(std::istream& in);

// What makes the two runs not comparable like for like, in plain words:
// different workload fingerprints (run.fingerprint), naming the parameters
// that differ; different seeds are said too (same shape, other messages).
// Empty when the reports carry no fingerprint (older reports) or match.
std::vector<std::string> CompareWarnings(const nlohmann::json& baseline,
                                         const nlohmann::json& candidate);

// Compares summary.total of the `--out` reports of side A and side B, one
// row per key figure. InvalidArgument naming the report ("A2", "B1") and
// the missing field for a report that is not a loadtest report, or when
// either side is empty.
absl::StatusOr<std::vector<ComparisonRow>> CompareRuns(
    const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b,
    const CompareOptions& options = {});

// The exit code for `rows` (kCompareRegression if any regressed, else
// kCompareUndecided if any is erratic or undecidable, else 0).
int CompareExitCode(const std::vector<ComparisonRow>& rows);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_COMPARE_H_
