// `loadtest compare A.json B.json`: the key figures of two runs' reports side
// by side with the change in percent, marking regressions beyond a
// tolerance. Pure functions; safe from any thread.
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
  bool regression = false;  // Worse than baseline by more than the tolerance.
};

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

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_COMPARE_H_
