// The end of a run, the same in-process and distributed: the summary with
// the guide's targets and the thresholds, the reports (JSON, CSV, HTML), and
// the exit code.
#ifndef LOADTEST_CONTROLLER_RUN_END_H_
#define LOADTEST_CONTROLLER_RUN_END_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/aggregator.h"
#include "controller/display.h"
#include "controller/scenario.h"
#include "controller/thresholds.h"
#include "nlohmann/json.hpp"

namespace loadtest::controller {

// Exit codes, documented in --help and the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;        // Bad flag, setup error.
inline constexpr int kExitCheckFailed = 2;  // An audit or threshold failed.
inline constexpr int kExitPartial = 3;      // An agent was lost mid-run.

// What a run reports and judges, the same in both modes.
struct OutputOptions {
  std::string out_path;    // --out: the JSON report; empty for none.
  std::string csv_prefix;  // --csv: PREFIX_intervals.csv, PREFIX_summary.csv.
  std::string html_path;   // --html: the self-contained HTML report.
  std::vector<Threshold> thresholds;
  // --abort-on-fail: thresholds are also checked after every interval, and
  // the run is stopped cleanly once one can no longer hold (live_check.h).
  bool abort_on_fail = false;
  // --abort-grace: how long thresholds that can still recover (percentiles,
  // rates) are not judged live.
  std::chrono::nanoseconds abort_grace = std::chrono::seconds(10);

  // Every file this run will write, for the check made before it starts.
  std::vector<std::string> Paths() const;
};

// Why a run was stopped early by --abort-on-fail.
struct AbortInfo {
  ThresholdResult threshold;  // The one that failed live.
  double at_s = 0;            // When: end of the interval that showed it.
};

struct RunEnd {
  OutputOptions output;
  int signal_number = 0;  // The signal that ended the run, or 0.
  std::optional<AbortInfo> aborted;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point ended_at;
  // "in-process" or "distributed".
  std::string mode;
  // Adds mode-specific parts to the report (e.g. the agents manifest).
  std::function<void(nlohmann::json*)> decorate_report;
};

// Prints the summary, writes the reports, and returns the exit code:
// kExitPartial if an agent was lost; else kExitCheckFailed if an audit or a
// threshold failed or the run was aborted by one; else 128+signal if
// interrupted; else kExitOk. A report that cannot be written is kExitUsage.
int FinishRun(const Scenario& scenario, const std::vector<IntervalRow>& intervals,
              const RunSummary& summary, Display& display, const RunEnd& end);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_RUN_END_H_
