#include "storage/store_metrics.h"

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace loadtest::storage {
namespace {

prometheus::Counter& AddCounter(prometheus::Registry& registry,
                                const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter()
      .Name("opentrail_storage_" + name)
      .Help(help)
      .Register(registry)
      .Add({});
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry,
                            const std::string& name, const std::string& help) {
  return prometheus::BuildGauge()
      .Name("opentrail_storage_" + name)
      .Help(help)
      .Register(registry)
      .Add({});
}

prometheus::Histogram& AddHistogram(prometheus::Registry& registry,
                                    const std::string& name,
                                    const std::string& help,
                                    const std::vector<double>& buckets) {
  return prometheus::BuildHistogram()
      .Name("opentrail_storage_" + name)
      .Help(help)
      .Register(registry)
      .Add({}, buckets);
}

// One series per connection kind of a family labelled `connection`.
struct ConnectionFamily {
  prometheus::Counter* writer;
  prometheus::Counter* readers;
  prometheus::Counter* checkpointer;  // Null when `with_checkpointer` is false.
};

ConnectionFamily AddConnectionCounters(prometheus::Registry& registry,
                                       const std::string& name,
                                       const std::string& help,
                                       bool with_checkpointer) {
  auto& family = prometheus::BuildCounter()
                     .Name("opentrail_storage_" + name)
                     .Help(help)
                     .Register(registry);
  return {&family.Add({{"connection", "writer"}}),
          &family.Add({{"connection", "readers"}}),
          with_checkpointer ? &family.Add({{"connection", "checkpointer"}})
                            : nullptr};
}

const std::vector<double>& BatchSizeBuckets() {
  static const auto* buckets = new std::vector<double>{
      1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000};
  return *buckets;
}

}  // namespace

const std::vector<double>& StoreMetrics::LatencyBuckets() {
  static const auto* buckets = new std::vector<double>{
      50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3,  2e-3,
      3e-3,  5e-3,   7.5e-3, 10e-3,  15e-3,  25e-3,  50e-3, 75e-3,
      0.1,   0.15,   0.2,    0.3,    0.5,    0.75,   1,     2.5,
      5,     10,     30};
  return *buckets;
}

absl::StatusOr<std::unique_ptr<StoreMetrics>> StoreMetrics::Create(
    prometheus::Registry& r) {
  try {
    const auto& lat = LatencyBuckets();
    const ConnectionFamily busy = AddConnectionCounters(
        r, "busy_events_total",
        "SQLITE_BUSY / SQLITE_LOCKED met, by connection kind: lock waits "
        "begun plus checkpoints refused.",
        true);
    const ConnectionFamily busy_wait = AddConnectionCounters(
        r, "busy_wait_seconds_total",
        "Time slept in the busy handler waiting for a lock, by connection "
        "kind.",
        true);
    const ConnectionFamily hits = AddConnectionCounters(
        r, "cache_hits_total",
        "Page cache hits (sqlite3_db_status), by connection kind.", false);
    const ConnectionFamily misses = AddConnectionCounters(
        r, "cache_misses_total",
        "Page cache misses, pages read from the file (sqlite3_db_status), "
        "by connection kind.",
        false);
    return std::unique_ptr<StoreMetrics>(new StoreMetrics{
        AddCounter(r, "write_requests_total", "Write requests submitted."),
        AddCounter(r, "read_requests_total", "Read requests (searches) run."),
        AddCounter(r, "batches_processed_total",
                   "Batches committed, one transaction each."),
        AddCounter(r, "rows_committed_total", "Rows committed to the database."),
        AddCounter(r, "queue_full_errors_total",
                   "Writes refused at once because the queue was full."),
        AddCounter(r, "write_errors_total", "Writes that failed in SQLite (including writes whose caller had "
                   "already timed out)."),
        AddCounter(r, "write_timeouts_total",
                   "Writes not committed within the write timeout."),
        AddCounter(r, "late_commits_total",
                   "Timed-out writes that were committed afterwards."),
        AddCounter(r, "read_errors_total", "Reads that failed."),
        AddCounter(r, "checkpoints_total",
                   "WAL checkpoints run by the background checkpointer."),
        AddHistogram(r, "write_duration_seconds",
                     "Time from enqueue to the commit of the write's batch.",
                     lat),
        AddHistogram(r, "read_duration_seconds", "Time of one search.", lat),
        AddHistogram(r, "batch_processing_seconds",
                     "Time from BEGIN to COMMIT of one batch.", lat),
        AddHistogram(r, "queue_wait_seconds",
                     "Time a write waited in the queue before its batch "
                     "took it.",
                     lat),
        AddHistogram(r, "batch_size", "Rows per committed batch.",
                     BatchSizeBuckets()),
        AddGauge(r, "batch_queue_size", "Writes waiting in the queue."),
        AddGauge(r, "queue_utilization_ratio",
                 "Writes waiting in the queue divided by the queue size."),
        AddGauge(r, "wal_bytes",
                 "Length of the WAL in use after the last commit, bytes."),
        AddGauge(r, "database_bytes",
                 "Size of the database file, bytes, at the last interval."),
        AddHistogram(r, "checkpoint_duration_seconds",
                     "Time of one PASSIVE WAL checkpoint.", lat),
        AddCounter(r, "checkpoint_frames_total",
                   "WAL frames copied into the database by checkpoints."),
        AddCounter(r, "checkpoints_blocked_total",
                   "Checkpoints that could not copy the whole WAL because a "
                   "reader still used older frames."),
        AddHistogram(r, "commit_duration_seconds",
                     "Time of the COMMIT statement alone (the sync cost).",
                     lat),
        {busy.writer, busy_wait.writer, hits.writer, misses.writer},
        {busy.readers, busy_wait.readers, hits.readers, misses.readers},
        {busy.checkpointer, busy_wait.checkpointer, nullptr, nullptr},
        AddCounter(r, "fsyncs_total",
                   "Syncs (fsync/fdatasync) of the database's files by the "
                   "store's connections, added at each log interval."),
        AddCounter(r, "fsync_seconds_total",
                   "Time those syncs took, added at each log interval."),
    });
  } catch (const std::invalid_argument& e) {
    return absl::AlreadyExistsError(
        absl::StrCat("cannot register storage metrics: ", e.what()));
  }
}

}  // namespace loadtest::storage
