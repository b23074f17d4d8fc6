// StoreMetrics: the store's Prometheus metrics, registered on a caller's
// prometheus-cpp registry under the names of the OpenTrail load-testing guide
// (all prefixed `opentrail_storage_`).
//
// prometheus-cpp metric objects are themselves thread-safe; BatchedStore
// records most of them from its single writer thread, so the callers' write
// path touches only atomic counters. The registry must outlive this object.
#ifndef LOADTEST_STORAGE_STORE_METRICS_H_
#define LOADTEST_STORAGE_STORE_METRICS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace loadtest::storage {

// The counters of one kind of connection (writer, readers, checkpointer),
// each a series of a family labelled `connection`. Null where the kind has
// no such series (the checkpointer's page cache).
struct ConnectionMetrics {
  prometheus::Counter* busy_events = nullptr;
  prometheus::Counter* busy_wait = nullptr;  // Seconds.
  prometheus::Counter* cache_hits = nullptr;
  prometheus::Counter* cache_misses = nullptr;
};

class StoreMetrics {
 public:
  // Registers every metric on `registry`. Returns AlreadyExists/Internal
  // (never throws) when prometheus-cpp refuses a name, e.g. because another
  // StoreMetrics already lives on the same registry with other help text.
  static absl::StatusOr<std::unique_ptr<StoreMetrics>> Create(
      prometheus::Registry& registry);

  // Latency buckets in seconds: 50µs .. 30s, fine below 1ms so that
  // sub-millisecond writes are visible.
  static const std::vector<double>& LatencyBuckets();

  prometheus::Counter& write_requests;     // Write() calls submitted.
  prometheus::Counter& read_requests;      // Searches run.
  prometheus::Counter& batches_processed;  // Transactions committed.
  prometheus::Counter& rows_committed;     // Rows made durable.
  prometheus::Counter& queue_full_errors;  // Writes refused, queue full.
  prometheus::Counter& write_errors;       // Writes failed in SQLite.
  prometheus::Counter& write_timeouts;     // Writes that passed write_timeout.
  prometheus::Counter& late_commits;       // Timed-out writes that committed.
  prometheus::Counter& read_errors;        // Searches that failed.
  prometheus::Counter& checkpoints;        // Background WAL checkpoints.
  prometheus::Histogram& write_duration;   // Enqueue → commit, seconds.
  prometheus::Histogram& read_duration;    // One search, seconds.
  prometheus::Histogram& batch_processing;  // BEGIN → COMMIT, seconds.
  prometheus::Histogram& queue_wait;       // Enqueue → taken into a batch.
  prometheus::Histogram& batch_size;       // Rows per committed batch.
  prometheus::Gauge& batch_queue_size;     // Entries waiting in the queue.
  prometheus::Gauge& queue_utilization;    // batch_queue_size / queue_size.
  // SQLite internals (StoreInternals), when the store collects them.
  prometheus::Gauge& wal_bytes;            // WAL length after the last commit.
  prometheus::Gauge& database_bytes;       // Database file, at each interval.
  prometheus::Histogram& checkpoint_duration;  // One PASSIVE checkpoint.
  prometheus::Counter& checkpoint_frames;      // WAL frames copied.
  prometheus::Counter& checkpoints_blocked;    // A reader held frames back.
  prometheus::Histogram& commit_duration;      // The COMMIT statement alone.
  ConnectionMetrics writer;
  ConnectionMetrics readers;
  ConnectionMetrics checkpointer;
  // Syncs of the database's files and their time, added at each interval
  // (StoreInternals::fsyncs, fsync_ns).
  prometheus::Counter& fsyncs;
  prometheus::Counter& fsync_seconds;
};

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_STORE_METRICS_H_
