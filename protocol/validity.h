// Was the load generator (the agent process) the limit of one agent's
// interval rather than the store: figures measured on a saturated generator
// describe the generator, not the store, so the agent counts it in its
// /metrics health and the controller says so next to them (the controller's
// other verdicts on an interval are in report/validity.h).
//
// Pure functions of one IntervalUpdate; safe from any thread.
#ifndef LOADTEST_PROTOCOL_VALIDITY_H_
#define LOADTEST_PROTOCOL_VALIDITY_H_

#include <chrono>
#include <optional>
#include <string>

#include "protocol/run_spec.h"
#include "stats/health.h"

namespace loadtest::protocol {

// When an interval counts as limited by the load generator.
struct GeneratorBoundLimits {
  // The process used at least this fraction of the CPUs it may use: its
  // threads waited for a CPU, and their latencies include that wait.
  double cpu_fraction = 0.90;
  // More than `late_fraction` of its open-loop operations started more than
  // `late_by` behind schedule for the generator's own reasons (wake_lag: a
  // worker was free for them but did not start on time, i.e. the process
  // could not get a CPU); an operation that waited because every worker
  // was busy waiting on the store is the store's latency, not counted
  // here. (From an agent that reports no wake_lag: the whole schedule lag.) Not the 1 ms of the writes_late count:
  // on a shared 2-core VM at 20% CPU, 2-7% of operations start over 1 ms
  // late from scheduling jitter alone (lag p99 1.5-5.7 ms, max 13.5 ms),
  // while writers that cannot keep up fall whole periods behind.
  double late_fraction = 0.01;
  std::chrono::nanoseconds late_by = std::chrono::milliseconds(10);
  // On average at least this many of its threads per usable CPU were
  // runnable but waiting for one. Measured rather than inferred from CPU
  // use: on a machine shared with other work the process may get well
  // under 90% of its cores while hundreds of its threads queue for them.
  double waiting_threads_per_core = 2.0;
  // In open loop (from an agent reporting wake_lag), the two CPU signals
  // above count only when more than this fraction of its operations also
  // started over `late_by` late with a worker free for them: the process
  // also runs the store (its writer, checkpoints, the readers' queries),
  // and a CPU busy with the store while the generator kept its schedule is
  // the store's cost on that host, not the generator's limit.
  double cpu_needs_late_fraction = 0.01;
};

// A plain-words reason when `update`'s agent was generator-bound in that
// interval ("CPU 99% of 2 cores", "on average 412 threads waited for its
// 2 cores", "12% of open-loop operations started over 10ms late with a
// worker free for them (p99 38.0 ms behind)"), joined with "; " when
// several hold. An agent claiming 0 usable cores is judged as having 1;

// nullopt when not (or when the update carries no process figures and no
// open-loop operations).
std::optional<std::string> GeneratorBoundReason(
    const IntervalUpdate& update,
    const GeneratorBoundLimits& limits = GeneratorBoundLimits());

// The figures of one agent's interval as the health rules read them
// (stats/health.h), its generator verdict (GeneratorBoundReason) included.
stats::HealthSample HealthSampleOf(const IntervalUpdate& update);

// "2 cores", "1 core", "1.5 cores".
std::string CoresText(double cores);

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_VALIDITY_H_
