#include "stats/interval_recorder.h"

#include <memory>
#include <mutex>
#include <utility>

namespace loadtest::stats {

IntervalRecorder::IntervalRecorder()
    : current_(std::make_unique<IntervalStats>()) {}

void IntervalRecorder::RecordWriteOk(int64_t latency_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.writes_ok;
  current_->write_latency.Record(latency_ns);
}

void IntervalRecorder::RecordWriteError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.write_errors;
}

void IntervalRecorder::RecordWriteTimeout() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.write_timeouts;
}

void IntervalRecorder::RecordQueueFull() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.queue_full;
}

void IntervalRecorder::RecordWriteLate() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.writes_late;
}

void IntervalRecorder::RecordReadOk(int64_t latency_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.reads_ok;
  current_->read_latency.Record(latency_ns);
}

void IntervalRecorder::RecordReadError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.read_errors;
}

void IntervalRecorder::RecordReadLate() {
  std::lock_guard<std::mutex> lock(mu_);
  ++current_->counters.reads_late;
}

IntervalStats IntervalRecorder::TakeInterval() {
  auto taken = std::make_unique<IntervalStats>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_.swap(taken);
  }
  // The copy of the histograms happens here, outside the lock.
  return std::move(*taken);
}

}  // namespace loadtest::stats
