#include "stats/interval_recorder.h"

#include <memory>
#include <mutex>
#include <utility>

namespace loadtest::stats {

IntervalRecorder::IntervalRecorder()
    : current_(std::make_unique<IntervalStats>()) {}

void IntervalRecorder::RecordWriteOk(int64_t latency_ns) {
  sync::MutexLock lock(&mu_);
  ++current_->counters.writes_ok;
  current_->write_latency.Record(latency_ns);
}

void IntervalRecorder::RecordWriteError() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.write_errors;
}

void IntervalRecorder::RecordWriteTimeout() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.write_timeouts;
}

void IntervalRecorder::RecordQueueFull() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.queue_full;
}

void IntervalRecorder::RecordWriteLate() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.writes_late;
}

void IntervalRecorder::RecordReadOk(int64_t latency_ns) {
  sync::MutexLock lock(&mu_);
  ++current_->counters.reads_ok;
  current_->read_latency.Record(latency_ns);
}

void IntervalRecorder::RecordReadError() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.read_errors;
}

void IntervalRecorder::RecordReadLate() {
  sync::MutexLock lock(&mu_);
  ++current_->counters.reads_late;
}

void IntervalRecorder::RecordScheduleLag(int64_t lag_ns) {
  sync::MutexLock lock(&mu_);
  current_->schedule_lag.Record(lag_ns);
}

void IntervalRecorder::RecordWakeLag(int64_t wake_lag_ns) {
  sync::MutexLock lock(&mu_);
  current_->wake_lag.Record(wake_lag_ns);
}

void IntervalRecorder::RecordWriteInFlight(int in_flight) {
  sync::MutexLock lock(&mu_);
  current_->writes_in_flight.Record(in_flight);
}

void IntervalRecorder::RecordReadInFlight(int in_flight) {
  sync::MutexLock lock(&mu_);
  current_->reads_in_flight.Record(in_flight);
}

IntervalStats IntervalRecorder::TakeInterval() {
  auto taken = std::make_unique<IntervalStats>();
  {
    sync::MutexLock lock(&mu_);
    current_.swap(taken);
  }
  // The copy of the histograms happens here, outside the lock.
  return std::move(*taken);
}

}  // namespace loadtest::stats
