// IntervalCounters and IntervalStats: what one worker, one agent or the whole
// fleet did during one log interval. Deltas, not running totals, so the
// controller sums intervals across threads and agents by adding them.
//
// Thread-safety: none. Plain value types used by one thread at a time; copy
// them to hand them over.
#ifndef LOADTEST_STATS_INTERVAL_COUNTERS_H_
#define LOADTEST_STATS_INTERVAL_COUNTERS_H_

#include <cstdint>

#include "stats/latency_histogram.h"

namespace loadtest::stats {

// Outcome counts of one interval. Every write attempt ends in exactly one of
// writes_ok, write_errors, write_timeouts or queue_full; writes_late and
// reads_late count open-loop requests that started behind their schedule
// and overlap the outcome counts.
struct IntervalCounters {
  int64_t writes_ok = 0;       // Committed and acknowledged.
  int64_t write_errors = 0;    // The store returned an error.
  int64_t write_timeouts = 0;  // DeadlineExceeded: no commit in time.
  int64_t queue_full = 0;      // ResourceExhausted: refused at once.
  int64_t writes_late = 0;     // Started behind the pacing schedule.
  int64_t reads_ok = 0;
  int64_t read_errors = 0;
  int64_t reads_late = 0;  // Started behind the pacing schedule.

  // Adds every field of `other` to this one.
  void Add(const IntervalCounters& other);

  friend bool operator==(const IntervalCounters& a, const IntervalCounters& b);
  friend bool operator!=(const IntervalCounters& a, const IntervalCounters& b) {
    return !(a == b);
  }
};

// One interval's counters and latency histograms (successful requests only;
// latency is measured from the scheduled start in open-loop runs).
struct IntervalStats {
  IntervalCounters counters;
  LatencyHistogram write_latency;
  LatencyHistogram read_latency;
  // Open loop only: how late each operation started after its scheduled
  // time (0 when on time), one sample per operation paced, writes and
  // reads together. Its count is the number of open-loop operations.
  LatencyHistogram schedule_lag;
  // Open loop only: the part of each operation's schedule lag that the load
  // generator owns, one sample per paced operation: from when it was due
  // (or, when every worker was still busy with an earlier operation, from
  // when a worker became free and took it) to its start. Waiting for a
  // free worker is the store's latency, already counted in the latencies;
  // this lag is the process not getting a CPU in time.
  LatencyHistogram wake_lag;
  // How many writes (reads) were in flight, this one included, as each one
  // started: the busy workers of the agent (not nanoseconds: a count).
  LatencyHistogram writes_in_flight;
  LatencyHistogram reads_in_flight;

  // Adds `other`'s counters and merges its histograms. Order-independent.
  void Merge(const IntervalStats& other);
};

}  // namespace loadtest::stats

#endif  // LOADTEST_STATS_INTERVAL_COUNTERS_H_
