// The embedded default: runs one agent in this process (no --agents), with
// its /metrics endpoint, the live display, the summary, the JSON report and
// the durability audit. Returns the process exit code.
#ifndef LOADTEST_CONTROLLER_LOCAL_RUN_H_
#define LOADTEST_CONTROLLER_LOCAL_RUN_H_

#include <string>

#include "protocol/run_spec.h"
#include "controller/run_end.h"
#include "controller/scenario.h"

namespace loadtest::controller {

struct LocalRunOptions {
  OutputOptions output;  // Reports and thresholds.
  std::string metrics_listen;  // "0.0.0.0:8080".
  // --prometheus-targets: file_sd JSON naming this process's /metrics.
  std::string prometheus_targets_path;
};

// Must be called from the main thread before any other thread starts (it
// installs the SIGINT/SIGTERM handling). Ctrl-C ends the run early, still
// drains, audits and reports; the exit code is then 130 (143 for SIGTERM)
// unless the audit failed (2).
int RunLocal(const Scenario& scenario, const protocol::RunSpec& spec,
             const LocalRunOptions& options);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_LOCAL_RUN_H_
