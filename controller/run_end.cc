#include "controller/run_end.h"

#include <cstdio>

#include "report/csv_report.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "status/status_macros.h"

namespace loadtest::controller {

// What this file uses of report/, named once here (every report is written
// by report/'s file writer; a local `report` is the usual name of the JSON
// being written, hence no `using namespace`).
using report::CheckGuideTargets;
using report::Display;
using report::EvaluateThresholds;
using report::HtmlReport;
using report::IntervalLog;
using report::IntervalsCsvPath;
using report::JudgeScenario;
using report::JudgeStability;
using report::RunSummary;
using report::ScenarioJudgement;
using report::SummaryCsv;
using report::SummaryCsvPath;
using report::TargetCheck;
using report::ThresholdResult;
using report::WriteTextFile;

std::vector<report::OutputFile> OutputOptions::Files() const {
  std::vector<report::OutputFile> files = {
      {"--out", out_path},
      {"--html", html_path},
      {intervals_path.empty() ? "--out's intervals file" : "--out-intervals",
       IntervalsPath()}};
  if (!csv_prefix.empty()) {
    files.push_back({"--csv", IntervalsCsvPath(csv_prefix)});
    files.push_back({"--csv", SummaryCsvPath(csv_prefix)});
  }
  return files;
}

std::string OutputOptions::IntervalsPath() const {
  if (!intervals_path.empty() || out_path.empty()) return intervals_path;
  const std::string suffix = ".json";
  if (out_path.size() > suffix.size() &&
      out_path.compare(out_path.size() - suffix.size(), suffix.size(),
                       suffix) == 0) {
    return out_path.substr(0, out_path.size() - suffix.size()) +
           ".intervals.jsonl";
  }
  return out_path + ".intervals.jsonl";
}

int ExitCode(const absl::StatusOr<RunOutcome>& outcome) {
  if (!outcome.ok()) return kExitUsage;
  if (!outcome->started) return 128 + outcome->signal_number;
  if (outcome->partial) return kExitPartial;
  if (!outcome->audit_passed || !outcome->thresholds_held || outcome->aborted) {
    return kExitCheckFailed;
  }
  if (outcome->signal_number != 0) return 128 + outcome->signal_number;
  return kExitOk;
}

absl::StatusOr<RunOutcome> FinishRun(const Scenario& scenario,
                                     IntervalLog& intervals,
                                     const RunSummary& run_summary,
                                     Display& display, const RunEnd& end) {
  const OutputOptions& output = end.output;
  // The stability verdict needs every interval, so it joins the summary
  // only now.
  RunSummary summary = run_summary;
  summary.stability =
      JudgeStability(intervals.stability(), !scenario.stages.empty());
  const std::vector<TargetCheck> targets = CheckGuideTargets(summary.total);
  std::vector<ThresholdResult> thresholds =
      EvaluateThresholds(output.thresholds, summary);
  const ScenarioJudgement judgement = JudgeScenario(
      scenario, summary.total.writes_per_s(), &*summary.stability);
  display.Summary(summary, judgement, targets, thresholds);
  if (end.aborted.has_value()) {
    const ThresholdResult& t = end.aborted->threshold;
    std::printf("\nAborted by --abort-on-fail at %.1fs: %s (%s) could no longer hold\n",
                end.aborted->at_s, t.text.c_str(), t.scope.c_str());
  }
  RETURN_IF_ERROR(intervals.Close());
  const std::string intervals_path = output.IntervalsPath();

  if (!output.out_path.empty() || !output.csv_prefix.empty() ||
      !output.html_path.empty()) {
    // `intervals` stays empty here: WriteJsonReport streams the spooled
    // totals into --out, the HTML is drawn from the chart series and the
    // CSV summary from `summary`.
    report::RunEndFacts facts;
    facts.mode = end.mode;
    facts.started_at = end.started_at;
    facts.ended_at = end.ended_at;
    facts.signal_number = end.signal_number;
    facts.intervals_path = intervals_path;
    facts.aborted = end.aborted;
    nlohmann::json report = report::FinishedRunReportJson(
        scenario, summary, targets, thresholds, judgement, facts);
    if (end.decorate_report) end.decorate_report(&report);
    if (!output.out_path.empty()) {
      RETURN_IF_ERROR(intervals.WriteJsonReport(output.out_path, report));
      std::printf("report: %s\n", output.out_path.c_str());
    }
    if (!output.csv_prefix.empty()) {
      RETURN_IF_ERROR(WriteTextFile(SummaryCsvPath(output.csv_prefix),
                                    SummaryCsv(summary, &judgement)));
      std::printf("csv: %s %s\n", IntervalsCsvPath(output.csv_prefix).c_str(),
                  SummaryCsvPath(output.csv_prefix).c_str());
    }
    if (!output.html_path.empty()) {
      report["chart"] = intervals.ChartJson();
      RETURN_IF_ERROR(
          WriteTextFile(output.html_path, HtmlReport(report)));
      std::printf("html: %s\n", output.html_path.c_str());
    }
  }
  if (!intervals_path.empty()) {
    std::printf("intervals: %s\n", intervals_path.c_str());
  }
  std::fflush(stdout);
  RunOutcome outcome;
  for (const ThresholdResult& t : thresholds) {
    outcome.thresholds_held = outcome.thresholds_held && t.passed;
  }
  if (!outcome.thresholds_held) {
    std::fprintf(stderr, "loadtest: a threshold failed (see Thresholds)\n");
  }
  outcome.partial = summary.partial;
  outcome.audit_passed = summary.audit.passed();
  outcome.aborted = end.aborted.has_value();
  outcome.signal_number = end.signal_number;
  return outcome;
}

}  // namespace loadtest::controller
