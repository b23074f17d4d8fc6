// Workload: the writer and reader threads of one load test over one
// BatchedStore, reproducing the original OpenTrail load test.
//
// Closed loop (the original's behaviour, the default): each writer writes,
// records the latency, sleeps write_delay; each reader runs the next of the
// original's five queries, sleeps read_delay.
// Open loop (write_rate / read_rate > 0, or rate stages): operations are
// paced on the schedule of a protocol::RatePlan (constant or ramped), the
// threads taking turns; latency is measured
// from each operation's scheduled start, so a stalled store shows in the
// percentiles (no coordinated omission). An operation that starts more than
// kLateSlack after its scheduled time is also counted as late.
//
// Each thread records into its own stats::IntervalRecorder; TakeInterval()
// merges them. Thread-safety: Start/Stop from one controlling thread;
// TakeInterval from one (any) thread at a time, concurrently with the
// workers.
#ifndef LOADTEST_AGENT_WORKLOAD_H_
#define LOADTEST_AGENT_WORKLOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "stats/interval_counters.h"
#include "stats/interval_recorder.h"
#include "protocol/run_spec.h"
#include "storage/batched_store.h"
#include "sync/mutex.h"

namespace loadtest::agent {

using protocol::WorkloadOptions;


class Workload {
 public:
  // An operation starting later than this after its schedule counts as late.
  static constexpr std::chrono::milliseconds kLateSlack{1};

  // `store` must outlive the workload.
  Workload(const WorkloadOptions& options, storage::BatchedStore* store);
  ~Workload();  // Stops and joins the threads.

  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Opens one read connection per reader (errors name the database) and
  // starts all threads, which wait at a gate until every one exists, then
  // begin together (so a run of thousands of threads does not spend its
  // first seconds with the early ones starving the thread creating the
  // rest). ResourceExhausted naming the thread when the system refuses one
  // (a thread or pids limit): the threads already started are stopped and
  // joined first, so nothing of the workload is left running. Call once.
  absl::Status Start();

  // When the gate opened: the schedules' origin and the start of the
  // workload's first interval. Only after Start() returned OK.
  std::chrono::steady_clock::time_point started_at() const { return start_; }

  // Asks every thread to stop after its current operation and joins them.
  // A writer blocked in Write() returns when its batch commits (or at the
  // store's write timeout). Idempotent.
  void Stop();

  // Everything recorded since the previous call, merged over all threads.
  stats::IntervalStats TakeInterval();

  // Operations the open-loop schedules made due from Start() to `when`
  // (the integral of the planned rates; 0 for a closed loop). The
  // difference between two calls is an interval's offered load. Any
  // thread, after Start().
  struct Offered {
    double writes = 0;
    double reads = 0;
  };
  Offered OfferedBy(std::chrono::steady_clock::time_point when) const;

 private:
  // What one worker thread owns: its recorder, and its own wake-up so that
  // sleeping between operations takes no lock shared with other workers.
  // (Its wait has no state of its own: it waits for stopping_.)
  struct Worker {
    stats::IntervalRecorder recorder;
    sync::Mutex mu;
    sync::CondVar wake;
  };

  class Schedule;  // An open-loop thread's pacing (see .cc).

  // Waits for operation `k`'s turn; false when stopping. Sets `*intended`
  // (the time latency counts from) and `*late` (started behind schedule).
  bool AwaitTurn(Worker* worker, const Schedule& schedule, int64_t k,
                 std::chrono::steady_clock::time_point* intended, bool* late);
  // Closed loop: the pause after an operation; false when stopping.
  bool PauseAfter(Worker* worker, const Schedule& schedule,
                  std::chrono::nanoseconds delay);
  void WriterLoop(Worker* worker, int index);
  void ReaderLoop(Worker* worker, int index, storage::StoreReader* reader);
  // Waits until `deadline` or Stop(); returns false when stopping.
  bool SleepUntil(Worker* worker, std::chrono::steady_clock::time_point deadline);
  // A worker thread's first step: waits until Start() opened the gate
  // (true) or Stop() was called (false).
  bool AwaitGate();

  const WorkloadOptions options_;
  storage::BatchedStore* const store_;
  const protocol::RatePlan write_plan_;
  const protocol::RatePlan read_plan_;
  // The schedules' origin: set by Start() just before it opens the gate,
  // read by the workers only after they passed it.
  std::chrono::steady_clock::time_point start_;
  // The start gate: one wait per thread at its start, then never again.
  sync::Mutex gate_mu_;
  sync::CondVar gate_cv_;
  bool gate_open_ ABSL_GUARDED_BY(gate_mu_) = false;
  std::vector<std::unique_ptr<Worker>> workers_;  // Writers, then readers.
  // One connection per reader, owned here (not by its thread) so that Stop()
  // can cancel a running search; destroyed after the threads are joined.
  std::vector<std::unique_ptr<storage::StoreReader>> readers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_WORKLOAD_H_
