// The end of a run, the same in-process and distributed: the summary with
// the guide's targets and the thresholds, the JSON report, and the exit code.
#ifndef LOADTEST_CONTROLLER_RUN_END_H_
#define LOADTEST_CONTROLLER_RUN_END_H_

#include <functional>
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

struct RunEnd {
  std::string out_path;             // --out; empty for none.
  std::vector<Threshold> thresholds;
  int signal_number = 0;            // The signal that ended the run, or 0.
  // Adds mode-specific parts to the report (e.g. the agents manifest).
  std::function<void(nlohmann::json*)> decorate_report;
};

// Prints the summary, writes the report, and returns the exit code:
// kExitPartial if an agent was lost; else kExitCheckFailed if an audit or a
// threshold failed; else 128+signal if interrupted; else kExitOk. A report
// that cannot be written is kExitUsage.
int FinishRun(const Scenario& scenario, const std::vector<IntervalRow>& intervals,
              const RunSummary& summary, Display& display, const RunEnd& end);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_RUN_END_H_
