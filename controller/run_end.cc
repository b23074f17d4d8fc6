#include "controller/run_end.h"

#include <cstdio>

#include "controller/json_report.h"

namespace loadtest::controller {

int FinishRun(const Scenario& scenario, const std::vector<IntervalRow>& intervals,
              const RunSummary& summary, Display& display, const RunEnd& end) {
  const std::vector<TargetCheck> targets = CheckGuideTargets(summary.total);
  const std::vector<ThresholdResult> thresholds =
      EvaluateThresholds(end.thresholds, summary);
  display.Summary(summary, targets, thresholds);
  if (!end.out_path.empty()) {
    nlohmann::json report =
        RunReportJson(scenario, intervals, summary, targets, thresholds);
    if (end.decorate_report) end.decorate_report(&report);
    if (absl::Status s = WriteJsonFile(end.out_path, report); !s.ok()) {
      std::fprintf(stderr, "loadtest: %s\n", std::string(s.message()).c_str());
      return kExitUsage;
    }
    std::printf("report: %s\n", end.out_path.c_str());
  }
  bool thresholds_held = true;
  for (const ThresholdResult& t : thresholds) thresholds_held &= t.passed;
  if (!thresholds_held) {
    std::fprintf(stderr, "loadtest: a threshold failed (see Thresholds)\n");
  }
  if (summary.partial) return kExitPartial;
  if (!summary.audit.passed() || !thresholds_held) return kExitCheckFailed;
  if (end.signal_number != 0) return 128 + end.signal_number;
  return kExitOk;
}

}  // namespace loadtest::controller
