// Workload: the writer and reader threads of one load test over one
// BatchedStore, reproducing the original OpenTrail load test.
//
// Closed loop (the original's behaviour, the default): each writer writes,
// records the latency, sleeps write_delay; each reader runs the next of the
// original's five queries, sleeps read_delay. One thread per writer: the
// original's model.
// Open loop (write_rate / read_rate > 0, or rate stages): operations are
// due on the schedule of a protocol::RatePlan (constant or ramped) and have
// no fixed owner: a free writer (reader) takes the next operation of the
// schedule from a shared counter and waits for its time, so one slow write
// delays only itself while the other writers keep the schedule. Latency is
// measured from each operation's scheduled start, so a stalled store shows
// in the percentiles (no coordinated omission). An operation that starts
// more than kLateSlack after its scheduled time is counted as late; the
// part of its lag that is the generator's own (it was not waiting for a
// free worker, i.e. for the store) is recorded apart (wake_lag), and so is
// the number of operations in flight as each one started.
// Open-loop writes are dispatched one of two ways (WorkloadOptions::
// write_dispatch): kThreads, the writer threads above, each blocked in the
// write it took; kAsync (the default), kAsyncDispatchers threads take each
// write once it is due (the first on time, the others as backups
// kDispatchBackup apart) and submit it with BatchedStore::WriteAsync and
// go on at once: the store's acknowledger answers each write, and the
// writes in flight are bounded by the store's queue (queue full beyond),
// not by threads, as for a server receiving logs from many clients. Then
// any lateness is the generator's own: no dispatcher ever waits for the
// store.
//
// Rows: closed-loop writer i writes its own stream (the run's
// MessageSource, message_source.h: the original generator, the realistic
// one or a replayed file, seeded by WriterSeed(seed, i)). Open-loop operation n of the schedule is written as
// entry n / writers of writer n % writers, made from EntrySeed(WriterSeed(
// seed, n % writers), n / writers) by whichever thread takes it: the same
// seed and writer count give the same rows whatever thread writes them.
// Open-loop reads run query n of the rotation (MessageSource::Query: the
// original's arguments or the --search-terms drawn from the source).
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
#include <functional>
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
class MessageSource;


class Workload {
 public:
  // An operation starting later than this after its schedule counts as late.
  static constexpr std::chrono::milliseconds kLateSlack{1};
  // Threads submitting open-loop writes with write_dispatch kAsync (fewer
  // when there are fewer writers): one keeps the schedule; a second keeps
  // it while the first is off its core.
  static constexpr int kAsyncDispatchers = 2;
  // How much later than the first each further dispatcher wakes for a due
  // write (see DispatchLoop).
  static constexpr std::chrono::milliseconds kDispatchBackup{2};
  // The dispatchers' nice value, where the system allows it.
  static constexpr int kDispatcherNice = -10;
  // How late the kernel may wake a dispatcher for a due write (its timer
  // slack) when the next is due within as much, so that both share one
  // wake-up; under kLateSlack, so no write counts as late for it.
  static constexpr std::chrono::microseconds kDispatchSlack{500};

  // A fault seam for tests: called by the writer that took write
  // `operation` (open loop: its index in the schedule; closed loop: the
  // writer's own count) after the write started and before it reaches the
  // store, as a slow store would hold it. Called from writer threads. With
  // kAsync dispatch it holds the dispatcher before it submits the write:
  // a slow generator, not a slow store.
  using BeforeWrite = std::function<void(int64_t operation)>;

  // `store` must outlive the workload.
  Workload(const WorkloadOptions& options, storage::BatchedStore* store,
           BeforeWrite before_write = nullptr);
  ~Workload();  // Stops and joins the threads.

  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Builds the message source (a messages file is parsed: InvalidArgument
  // naming it when no line is readable), opens one read connection per
  // reader (errors name the database) and
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
  // store's write timeout); so do writes submitted without a thread: Stop
  // waits until the store answered each. Idempotent.
  void Stop();

  // The threads writing: writers, or with kAsync open-loop dispatch
  // min(writers, kAsyncDispatchers).
  static int WriterThreads(const WorkloadOptions& options);
  // Whether open-loop writes are dispatched without a thread each.
  static bool AsyncWrites(const WorkloadOptions& options);
  int writer_threads() const { return WriterThreads(options_); }

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

  // The operations of one kind (writes or reads): in open loop the shared
  // counter free threads take the next operation from (see .cc); in both
  // loops the count in flight.
  class Dispatch;

  // One operation a thread is about to run.
  struct Turn {
    int64_t operation = 0;  // Open loop: index in the schedule.
    std::chrono::steady_clock::time_point intended;  // Latency counts from.
    bool late = false;  // Started over kLateSlack behind schedule.
  };

  // Takes the next operation (open loop: the next due one of `dispatch`,
  // waiting for its time; closed loop: `own_count`) into `*turn`; false
  // when stopping.
  bool AwaitTurn(Worker* worker, Dispatch* dispatch, int64_t own_count,
                 Turn* turn);
  // Closed loop: the pause after an operation; false when stopping.
  bool PauseAfter(Worker* worker, const Dispatch& dispatch,
                  std::chrono::nanoseconds delay);
  void WriterLoop(Worker* worker, int index);
  // kAsync open-loop dispatch: takes due writes and submits each without
  // waiting; OnWriteDone records the store's answer.
  void DispatchLoop(Worker* worker, int index);
  void OnWriteDone(std::chrono::steady_clock::time_point intended,
                   const absl::StatusOr<int64_t>& id);
  void ReaderLoop(Worker* worker, int index, storage::StoreReader* reader);
  // Waits until `deadline` or Stop(); returns false when stopping.
  bool SleepUntil(Worker* worker, std::chrono::steady_clock::time_point deadline);
  // A worker thread's first step: waits until Start() opened the gate
  // (true) or Stop() was called (false).
  bool AwaitGate();

  const WorkloadOptions options_;
  storage::BatchedStore* const store_;
  const BeforeWrite before_write_;
  const protocol::RatePlan write_plan_;
  const protocol::RatePlan read_plan_;
  // Made by Start() before any thread; read-only to the workers.
  std::unique_ptr<MessageSource> source_;
  // The schedules' origin: set by Start() just before it opens the gate,
  // read by the workers only after they passed it.
  std::chrono::steady_clock::time_point start_;
  // Made by Start() before the gate opens; read-only to the workers except
  // for their atomics.
  std::unique_ptr<Dispatch> write_dispatch_;
  std::unique_ptr<Dispatch> read_dispatch_;
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
  // Open-loop writes dispatched with kAsync.
  const bool async_writes_;
  // What the answers to writes submitted without a thread recorded (from
  // the store's acknowledger, or a dispatcher when the store refused at
  // once); each answer also ends its write in write_dispatch_ under this
  // lock, and Stop waits on async_idle_ for none to be in flight.
  sync::Mutex async_mu_;
  sync::CondVar async_idle_;
  stats::IntervalRecorder async_recorder_ ABSL_GUARDED_BY(async_mu_);
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_WORKLOAD_H_
