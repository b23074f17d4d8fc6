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

#include "absl/status/statusor.h"
#include "report/aggregator.h"
#include "report/display.h"
#include "report/interval_log.h"
#include "controller/scenario.h"
#include "report/thresholds.h"
#include "nlohmann/json.hpp"
#include "report/report_file.h"

namespace loadtest::controller {

// Exit codes, documented in --help and docs/cli.md; main maps a run's
// outcome to one (ExitCode).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;        // Bad flag, setup error.
inline constexpr int kExitCheckFailed = 2;  // An audit or threshold failed.
inline constexpr int kExitPartial = 3;      // An agent was lost mid-run.

// How a run ended, once it could be set up (setup errors are a Status).
struct RunOutcome {
  // False when a signal came before any agent started: nothing ran.
  bool started = true;
  bool partial = false;  // An agent was lost or ended its run early.
  bool audit_passed = true;
  bool thresholds_held = true;
  bool aborted = false;   // --abort-on-fail stopped it.
  int signal_number = 0;  // The SIGINT/SIGTERM that ended it, or 0.
};

// kExitUsage for an error; else kExitPartial if partial; else
// kExitCheckFailed if the audit or a threshold failed or the run was
// aborted by one; else 128+signal if interrupted; else kExitOk.
int ExitCode(const absl::StatusOr<RunOutcome>& outcome);

// What a run reports and judges, the same in both modes.
struct OutputOptions {
  std::string out_path;    // --out: the JSON report; empty for none.
  // --out-intervals: every agent's row of every interval, JSON Lines.
  // Empty: beside --out (IntervalsPath()), or none without --out.
  std::string intervals_path;
  std::string csv_prefix;  // --csv: PREFIX_intervals.csv, PREFIX_summary.csv.
  std::string html_path;   // --html: the self-contained HTML report.
  std::vector<report::Threshold> thresholds;
  // --abort-on-fail: thresholds are also checked after every interval, and
  // the run is stopped cleanly once one can no longer hold
  // (FirstLiveFailure, thresholds.h).
  bool abort_on_fail = false;
  // --abort-grace: how long thresholds that can still recover (percentiles,
  // rates) are not judged live.
  std::chrono::nanoseconds abort_grace = std::chrono::seconds(10);

  // Every file this run will write, with the flag that named it, for the
  // check made before it starts (report::CheckOutputFiles).
  std::vector<report::OutputFile> Files() const;
  // The JSON Lines file of the interval rows: intervals_path, else --out's
  // name with ".json" replaced by (or followed by) ".intervals.jsonl", else "".
  std::string IntervalsPath() const;
};

using report::AbortInfo;

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

// Judges the run's stability from the interval log's series (adding it to
// the summary the thresholds, the scenario's verdict and the reports read),
// prints the summary, closes the interval log, writes the reports and says
// how the run ended. An error (naming the file) when a report or the
// interval log could not be written.
absl::StatusOr<RunOutcome> FinishRun(const Scenario& scenario,
                                     report::IntervalLog& intervals,
                                     const report::RunSummary& summary,
                                     report::Display& display, const RunEnd& end);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_RUN_END_H_
