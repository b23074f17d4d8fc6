// AgentRun: the lifecycle of one load test on one agent. Opens (or creates)
// the store, marks the table, starts the workload, reports one
// protocol::IntervalUpdate per log interval, and at the end (duration reached, or
// RequestStop) stops the workload, drains and closes the store, audits the
// database, and reports the final update with the audit.
//
// Run by AgentService for each Run call, whether `loadtest-agent` serves it
// or `loadtest` embeds it (controller/in_process_agent.h, still over gRPC).
// Thread-safety: Run() on one thread; RequestStop() from any thread.
#ifndef LOADTEST_AGENT_AGENT_RUN_H_
#define LOADTEST_AGENT_AGENT_RUN_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "protocol/run_spec.h"
#include "storage/store_metrics.h"
#include "sync/mutex.h"

namespace loadtest::agent {

class AgentRun {
 public:
  using UpdateCallback = std::function<void(const protocol::IntervalUpdate&)>;

  // `metrics` may be null; when given it must outlive Run().
  AgentRun(protocol::RunSpec spec, storage::StoreMetrics* metrics);

  // Runs to the end, calling `on_update` on this thread once per interval and
  // once with the final update. Returns an error without calling `on_update`
  // when the run cannot start (invalid spec: InvalidArgument; database
  // problems: the store's codes, naming the file). Once started, a run
  // always ends with a final update and Run returns OK; failures during the
  // run are in the update's counters and audit.
  absl::Status Run(const UpdateCallback& on_update);

  // Makes Run() call `check` every 10 ms while it waits for the next
  // interval and stop as soon as it returns a reason (non-empty), instead of
  // noticing only at the next interval. For the gRPC service: a vanished
  // controller, a database over --max-db-bytes. Call before Run().
  void StopWhen(std::function<std::string()> check);

  // Ends the run early: the current interval is reported as the last one,
  // the queue is drained and audited as usual. `reason` goes into the final
  // update. Safe from any thread, before or during Run; first reason wins.
  void RequestStop(const std::string& reason) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Waits until `until`, a stop request, or (when set) a reason from check_; true
  // when the run must stop.
  bool WaitForStop(std::chrono::steady_clock::time_point until)
      ABSL_LOCKS_EXCLUDED(mu_);

  const protocol::RunSpec spec_;
  storage::StoreMetrics* const metrics_;

  std::function<std::string()> check_;  // Set before Run(); may be empty.

  // The database file's identity when the run started: a run whose file is
  // deleted, moved or replaced stops (its writes would go nowhere anyone
  // can audit), and the audit says so instead of auditing another file.
  // Set by Run() before the workload starts.
  std::string FileProblem() const;
  bool watch_file_ = false;
  uint64_t file_device_ = 0;
  uint64_t file_inode_ = 0;

  sync::Mutex mu_;
  sync::CondVar stop_cv_;  // Signalled by RequestStop.
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_RUN_H_
