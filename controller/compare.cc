#include "controller/compare.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loadtest::controller {
namespace {

struct Figure {
  const char* label;
  const char* path;  // JSON pointer below summary/total.
  bool higher_is_better;
};

constexpr Figure kFigures[] = {
    {"writes/s", "/writes_per_s", true},
    {"reads/s", "/reads_per_s", true},
    {"write p50 (ms)", "/write_latency_ms/p50", false},
    {"write p95 (ms)", "/write_latency_ms/p95", false},
    {"write p99 (ms)", "/write_latency_ms/p99", false},
    {"write max (ms)", "/write_latency_ms/max", false},
    {"read p50 (ms)", "/read_latency_ms/p50", false},
    {"read p95 (ms)", "/read_latency_ms/p95", false},
    {"read p99 (ms)", "/read_latency_ms/p99", false},
    {"error rate", "/error_rate", false},
    {"queue utilization", "/queue_utilization", false},
};

absl::StatusOr<double> Read(const nlohmann::json& report, const char* name,
                            const std::string& path) {
  const nlohmann::json::json_pointer pointer("/summary/total" + path);
  if (!report.is_object() || !report.contains(pointer) ||
      !report.at(pointer).is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("report ", name, " has no number at summary.total",
                     path, " (is it a loadtest --out report?)"));
  }
  return report.at(pointer).get<double>();
}

}  // namespace

absl::StatusOr<std::vector<ComparisonRow>> CompareReports(
    const nlohmann::json& baseline, const nlohmann::json& candidate,
    double tolerance) {
  std::vector<ComparisonRow> rows;
  for (const Figure& f : kFigures) {
    ComparisonRow row;
    row.figure = f.label;
    row.higher_is_better = f.higher_is_better;
    absl::StatusOr<double> a = Read(baseline, "A", f.path);
    if (!a.ok()) return a.status();
    absl::StatusOr<double> b = Read(candidate, "B", f.path);
    if (!b.ok()) return b.status();
    row.baseline = *a;
    row.candidate = *b;
    row.change_percent = row.baseline != 0
                             ? (row.candidate - row.baseline) / row.baseline * 100
                             : std::numeric_limits<double>::quiet_NaN();
    const double worse = f.higher_is_better ? row.baseline - row.candidate
                                            : row.candidate - row.baseline;
    row.regression = worse > 0 && worse > std::fabs(row.baseline) * tolerance;
    rows.push_back(row);
  }
  return rows;
}

std::string FormatComparison(const std::vector<ComparisonRow>& rows,
                             const std::string& baseline_name,
                             const std::string& candidate_name,
                             double tolerance) {
  std::string out = absl::StrFormat("%-20s %14s %14s %9s\n", "figure",
                                    "A", "B", "change");
  int regressions = 0;
  for (const ComparisonRow& r : rows) {
    const std::string change =
        std::isnan(r.change_percent)
            ? std::string("n/a")
            : absl::StrFormat("%+.1f%%", r.change_percent);
    absl::StrAppendFormat(&out, "%-20s %14.3f %14.3f %9s%s\n", r.figure,
                          r.baseline, r.candidate, change,
                          r.regression ? "  REGRESSION" : "");
    regressions += r.regression;
  }
  absl::StrAppendFormat(&out,
                        "A: %s\nB: %s\n%d regression%s beyond %.1f%%\n",
                        baseline_name, candidate_name, regressions,
                        regressions == 1 ? "" : "s", tolerance * 100);
  return out;
}

}  // namespace loadtest::controller
