// The one way `loadtest` runs a load test. With agent targets (--agents) it
// runs the scenario on those loadtest-agents over gRPC; without, it starts
// an InProcessAgent (the embedded default) and runs on it over gRPC's
// in-process channel: the same calls, the same aggregation, signals, live
// thresholds, prometheus targets file and end of run.
//
// It checks every agent's status, starts the same scenario on all of them at
// once, merges their interval updates into per-agent and total rows (live
// display, interval log), reports agents that fail mid-run as lost while the
// others go on, stops them all on SIGINT/SIGTERM or a threshold that can no
// longer hold (--abort-on-fail), and ends with the summary and the reports.
#ifndef LOADTEST_CONTROLLER_RUN_H_
#define LOADTEST_CONTROLLER_RUN_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/run_end.h"
#include "controller/scenario.h"
#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "security/auth.h"

namespace loadtest::controller {

struct RunOptions {
  OutputOptions output;  // Reports and thresholds.
  // gRPC targets, as ResolveAgentTargets gives them; empty for the
  // in-process agent.
  std::vector<std::string> agent_targets;
  security::ClientAuth auth;  // TLS and token for every remote agent.
  // --prometheus-targets: a file_sd JSON of the agents' /metrics, written
  // once every agent answered, before the run starts. Empty for none.
  std::string prometheus_targets_path;
  // Remote agents start their workload this long after receiving Run, so
  // all start together (to within the network latency). 0..60s. The
  // in-process agent starts at once.
  std::chrono::nanoseconds start_delay = std::chrono::seconds(1);
  // The in-process agent's /metrics address ("0.0.0.0:8080").
  std::string metrics_listen = "0.0.0.0:8080";
  // No banner, interval lines or summary on stdout (warnings still go to
  // stderr): a run that is one step of a larger command (find-max).
  bool quiet = false;
  // When set, sees every update accepted from an agent, with the agent's
  // id (from the clients' threads, one call at a time).
  std::function<void(const std::string& agent_id,
                     const protocol::IntervalUpdate& update)>
      on_update;
};

// What agent `index` of `count` runs: `spec` with the agent's own seed
// (protocol::AgentSeed of the run's seed) and, unless `stages_per_agent`,
// the stage targets (totals) split evenly among the agents.
protocol::RunSpec SpecForAgent(const protocol::RunSpec& spec,
                               bool stages_per_agent, size_t index,
                               size_t count);

// What every agent of run `run_id` receives: `spec`, the plain database
// name `db_name` (each agent resolves it in its --data-dir) and the start
// delay.
protocol::pb::RunSpec ToWireRunSpec(const protocol::RunSpec& spec,
                                    const std::string& db_name,
                                    const std::string& run_id,
                                    std::chrono::nanoseconds start_delay);

// What a distributed run refuses before contacting any agent: a -db that is
// not a plain file name (agents keep their databases inside their own data
// directory), a start delay outside 0..60s. InvalidArgument naming the flag
// and the value.
absl::Status CheckDistributedRun(const Scenario& scenario,
                                 std::chrono::nanoseconds start_delay);

// How long the controller waits, after the planned end or a stop, for an
// agent that sends nothing while it drains, closes and audits its store:
// 2 x log-interval + 2 s (the silence allowed while running), plus the
// drain, min(-write-timeout, kMaxDrainWait), plus kAuditAllowance for the
// audit's integrity check. It does not grow with -write-timeout beyond
// kMaxDrainWait: a live but stuck agent holds the run at most this long
// (1m36s with a 1 s log interval). An agent still silent then is lost.
inline constexpr std::chrono::seconds kMaxDrainWait(30);
inline constexpr std::chrono::seconds kAuditAllowance(60);
std::chrono::nanoseconds FinishAllowance(const protocol::RunSpec& spec);

// Runs `plan` and says how it ended.
// A distributed run's -db and start delay come checked by CheckDistributedRun
// (ResolveCommandLine does it before any agent name is resolved).
// Errors, with nothing started: InvalidArgument (bad options), the report
// paths' PermissionDenied, Unavailable when an agent is unreachable, busy or
// refusing, the in-process agent's errors (a port in use, a database that
// cannot be opened: the store's codes, naming the file). Once started, a
// run always ends with the summary; a report that cannot be written is an
// error then too.
//
// `-writers`, `-readers`, `-write-rate` and `-read-rate` apply to each
// agent.
//
// Must be called from the main thread before any other thread starts (it
// installs the SIGINT/SIGTERM handling).
absl::StatusOr<RunOutcome> RunLoadTest(const RunPlan& plan,
                                       const RunOptions& options);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_RUN_H_
