#include "stats/interval_counters.h"

namespace loadtest::stats {

void IntervalCounters::Add(const IntervalCounters& other) {
  writes_ok += other.writes_ok;
  write_errors += other.write_errors;
  write_timeouts += other.write_timeouts;
  queue_full += other.queue_full;
  writes_late += other.writes_late;
  reads_ok += other.reads_ok;
  read_errors += other.read_errors;
  reads_late += other.reads_late;
}

bool operator==(const IntervalCounters& a, const IntervalCounters& b) {
  return a.writes_ok == b.writes_ok && a.write_errors == b.write_errors &&
         a.write_timeouts == b.write_timeouts && a.queue_full == b.queue_full &&
         a.writes_late == b.writes_late && a.reads_ok == b.reads_ok &&
         a.read_errors == b.read_errors && a.reads_late == b.reads_late;
}

void IntervalStats::Merge(const IntervalStats& other) {
  counters.Add(other.counters);
  write_latency.Merge(other.write_latency);
  read_latency.Merge(other.read_latency);
  schedule_lag.Merge(other.schedule_lag);
  wake_lag.Merge(other.wake_lag);
  writes_in_flight.Merge(other.writes_in_flight);
  reads_in_flight.Merge(other.reads_in_flight);
}

}  // namespace loadtest::stats
