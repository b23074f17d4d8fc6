#include "controller/run_end.h"

#include <cstdio>

#include "controller/csv_report.h"
#include "controller/html_report.h"
#include "controller/json_report.h"

namespace loadtest::controller {

std::vector<std::string> OutputOptions::Paths() const {
  std::vector<std::string> paths = {out_path, html_path};
  if (!csv_prefix.empty()) {
    paths.push_back(IntervalsCsvPath(csv_prefix));
    paths.push_back(SummaryCsvPath(csv_prefix));
  }
  return paths;
}

int FinishRun(const Scenario& scenario, const std::vector<IntervalRow>& intervals,
              const RunSummary& summary, Display& display, const RunEnd& end) {
  const OutputOptions& output = end.output;
  const std::vector<TargetCheck> targets = CheckGuideTargets(summary.total);
  std::vector<ThresholdResult> thresholds =
      EvaluateThresholds(output.thresholds, summary);
  display.Summary(summary, targets, thresholds);
  if (end.aborted.has_value()) {
    const ThresholdResult& t = end.aborted->threshold;
    std::printf("\nAborted by --abort-on-fail at %.1fs: %s (%s) could no longer hold\n",
                end.aborted->at_s, t.text.c_str(), t.scope.c_str());
  }

  if (!output.out_path.empty() || !output.csv_prefix.empty() ||
      !output.html_path.empty()) {
    nlohmann::json report =
        RunReportJson(scenario, intervals, summary, targets, thresholds);
    report["run"] = {{"mode", end.mode},
                     {"started_at", FormatUtc(end.started_at)},
                     {"ended_at", FormatUtc(end.ended_at)},
                     {"interrupted_by_signal", end.signal_number}};
    if (end.aborted.has_value()) {
      const ThresholdResult& t = end.aborted->threshold;
      report["aborted"] = {{"threshold", t.text},
                           {"scope", t.scope},
                           {"measured", t.measured},
                           {"unit", t.unit},
                           {"at_s", end.aborted->at_s}};
    }
    if (end.decorate_report) end.decorate_report(&report);
    auto failed = [](const absl::Status& s) {
      std::fprintf(stderr, "loadtest: %s\n", std::string(s.message()).c_str());
      return kExitUsage;
    };
    if (!output.out_path.empty()) {
      if (absl::Status s = WriteJsonFile(output.out_path, report); !s.ok()) {
        return failed(s);
      }
      std::printf("report: %s\n", output.out_path.c_str());
    }
    if (!output.csv_prefix.empty()) {
      if (absl::Status s = WriteCsvReports(output.csv_prefix, report); !s.ok()) {
        return failed(s);
      }
      std::printf("csv: %s %s\n", IntervalsCsvPath(output.csv_prefix).c_str(),
                  SummaryCsvPath(output.csv_prefix).c_str());
    }
    if (!output.html_path.empty()) {
      if (absl::Status s = WriteTextFile(output.html_path, HtmlReport(report));
          !s.ok()) {
        return failed(s);
      }
      std::printf("html: %s\n", output.html_path.c_str());
    }
  }
  std::fflush(stdout);
  bool thresholds_held = true;
  for (const ThresholdResult& t : thresholds) thresholds_held &= t.passed;
  if (!thresholds_held) {
    std::fprintf(stderr, "loadtest: a threshold failed (see Thresholds)\n");
  }
  if (summary.partial) return kExitPartial;
  if (!summary.audit.passed() || !thresholds_held || end.aborted.has_value()) {
    return kExitCheckFailed;
  }
  if (end.signal_number != 0) return 128 + end.signal_number;
  return kExitOk;
}

}  // namespace loadtest::controller
