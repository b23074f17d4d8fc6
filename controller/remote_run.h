// The distributed run (`loadtest --agents=...`): checks every agent's
// status, starts the same scenario on all of them at once over gRPC,
// merges their interval updates into per-agent and total rows, reports
// agents that fail mid-run as lost while the others go on, stops them all
// on SIGINT/SIGTERM, and ends with the summary, the JSON report and the
// exit code.
#ifndef LOADTEST_CONTROLLER_REMOTE_RUN_H_
#define LOADTEST_CONTROLLER_REMOTE_RUN_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "controller/run_end.h"
#include "controller/scenario.h"
#include "security/auth.h"

namespace loadtest::controller {

struct RemoteRunOptions {
  OutputOptions output;  // Reports and thresholds.
  security::ClientAuth auth;  // TLS and token for every agent.
  // --prometheus-targets: a file_sd JSON of the agents' /metrics, written
  // once every agent answered, before the run starts. Empty for none.
  std::string prometheus_targets_path;
  // Every agent starts its workload this long after receiving Run, so all
  // start together (to within the network latency). 0..60s.
  std::chrono::nanoseconds start_delay = std::chrono::seconds(1);
};

// What every agent of run `run_id` receives: `spec`, the plain database
// name `scenario.db` (each agent resolves it in its --data-dir) and the
// start delay.
protocol::pb::RunSpec ToWireRunSpec(const Scenario& scenario,
                                 const protocol::RunSpec& spec,
                                 const std::string& run_id,
                                 std::chrono::nanoseconds start_delay);

// What RunRemote refuses before contacting any agent: a -db that is not a
// plain file name (agents keep their databases inside their own data
// directory), a start delay outside 0..60s. InvalidArgument naming the flag
// and the value.
absl::Status CheckRemoteScenario(const Scenario& scenario,
                                 const RemoteRunOptions& options);

// Runs `spec` on every agent in `targets` (gRPC targets, as
// ResolveAgentTargets gives them) and returns the process exit code:
// kExitOk; kExitUsage when the scenario or report path is bad, or an agent
// is unreachable or busy (nothing is started then); kExitPartial when an
// agent was lost; kExitCheckFailed when an audit or a threshold failed; 130/143 when
// interrupted (the agents still drain, audit and report). Lost beats a
// failed audit beats interrupted.
//
// `-writers`, `-readers`, `-write-rate` and `-read-rate` apply to each
// agent.
//
// Must be called from the main thread before any other thread starts (it
// installs the SIGINT/SIGTERM handling).
int RunRemote(const Scenario& scenario, const protocol::RunSpec& spec,
              const std::vector<std::string>& targets,
              const RemoteRunOptions& options);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_REMOTE_RUN_H_
