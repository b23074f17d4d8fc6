// IntervalRecorder: one worker thread's counters and latency histograms for
// the current log interval, handed to the collector once per interval.
//
// Each worker owns its own recorder, so the hot path never touches state
// shared with other workers: its mutex is only ever contended by the
// collector's once-per-interval TakeInterval(), which holds it just long
// enough to swap in a fresh IntervalStats.
//
// Thread-safety: the Record*() methods are called by one thread (the owner);
// TakeInterval() by one other thread at a time (the collector); the two may
// run concurrently. Every recorded event is returned by exactly one take.
#ifndef LOADTEST_STATS_INTERVAL_RECORDER_H_
#define LOADTEST_STATS_INTERVAL_RECORDER_H_

#include <cstdint>
#include <memory>

#include "stats/interval_counters.h"
#include "sync/mutex.h"

namespace loadtest::stats {

class IntervalRecorder {
 public:
  IntervalRecorder();

  IntervalRecorder(const IntervalRecorder&) = delete;
  IntervalRecorder& operator=(const IntervalRecorder&) = delete;

  // A write committed after `latency_ns` (counts writes_ok, records the
  // latency in write_latency).
  void RecordWriteOk(int64_t latency_ns);
  void RecordWriteError();    // counters.write_errors
  void RecordWriteTimeout();  // counters.write_timeouts
  void RecordQueueFull();     // counters.queue_full
  void RecordWriteLate();     // counters.writes_late
  // A read answered after `latency_ns` (reads_ok, read_latency).
  void RecordReadOk(int64_t latency_ns);
  void RecordReadError();  // counters.read_errors
  void RecordReadLate();   // counters.reads_late
  // An open-loop operation started `lag_ns` after its scheduled time
  // (schedule_lag; 0 when on time).
  void RecordScheduleLag(int64_t lag_ns);
  // Of that lag, `wake_lag_ns` was the generator's (wake_lag).
  void RecordWakeLag(int64_t wake_lag_ns);
  // A write (read) started with `in_flight` of its kind in flight, itself
  // included (writes_in_flight, reads_in_flight).
  void RecordWriteInFlight(int in_flight);
  void RecordReadInFlight(int in_flight);

  // Returns everything recorded since the previous take (or construction)
  // and starts a new, empty interval. The caller owns the result. Allocates
  // the next interval's storage before taking the lock, so the owner thread
  // waits at most for a pointer swap.
  IntervalStats TakeInterval();

 private:
  sync::Mutex mu_;
  std::unique_ptr<IntervalStats> current_ ABSL_GUARDED_BY(mu_);  // Never null.
};

}  // namespace loadtest::stats

#endif  // LOADTEST_STATS_INTERVAL_RECORDER_H_
