// BatchedStore: the batched SQLite log store whose behaviour OpenTrail Load
// measures.
//
// A bounded queue feeds one writer thread that owns the only write
// connection and commits rows in batches (one transaction, one prepared
// statement). Write() returns a row id only after the COMMIT that made the
// row durable returned: the writer hands each finished batch to an
// acknowledger thread, which counts the outcomes and wakes the callers while
// the writer already writes the next batch (a wake-up per row on the
// writer's own core cost it system calls and preemptions). Every submitted
// write ends in exactly one counted outcome (ok, queue full, timed out,
// failed), and timed-out writes are followed up: the store counts those that
// committed anyway (late commits).
// WAL checkpoints run on a background thread with its own connection, so a
// checkpoint never stalls the writer's commits (internal::WalCheckpointer).
// Where the time goes, and how the options were chosen:
// docs/store-performance.md.
//
// Thread-safety: Write(), WriteAsync(), NewReader(), counters() and
// queue_depth() are safe from any thread; TakeInternals() from one thread at a time. Close() may be called once from any thread; it waits for
// the queue to drain, so no Write() may be started after it began.
#ifndef LOADTEST_STORAGE_BATCHED_STORE_H_
#define LOADTEST_STORAGE_BATCHED_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/log_entry.h"
#include "storage/store_internals.h"
#include "storage/store_metrics.h"
#include "storage/store_options.h"

namespace loadtest::storage {

// Outcome counters since Open(). A consistent snapshot: taken under the
// store's lock, so `pending` is exact and
//   submitted == ok + queue_full + timeouts + failed + pending
// and every timed-out write is one of
//   timeouts == late_commits + late_failures + abandoned + timeouts_unresolved
// where timeouts_unresolved are still queued or in a batch being written.
struct StoreCounters {
  // Write() and WriteAsync() calls made while the store was open (refused
  // ones included: queue full is one of the outcomes).
  int64_t submitted = 0;
  int64_t ok = 0;             // Acknowledged: committed, caller got its id.
  int64_t queue_full = 0;     // Refused at once: the queue was full.
  int64_t timeouts = 0;       // Caller got DeadlineExceeded.
  int64_t failed = 0;         // Caller got an error from SQLite.
  int64_t pending = 0;        // Submitted, no outcome yet.
  int64_t late_commits = 0;   // Timed out, then committed (rows in the DB).
  int64_t late_failures = 0;  // Timed out, then failed in SQLite.
  int64_t abandoned = 0;      // Timed out while queued; never written.
  int64_t timeouts_unresolved = 0;
  int64_t batches = 0;         // Transactions committed.
  int64_t rows_committed = 0;  // == ok + late_commits.
  int64_t checkpoints = 0;     // Background PASSIVE checkpoints run.
};

// Read side of the store: one read-only connection, used by one thread at a
// time. Searches return at most `limit` rows, newest (highest id) first.
// Errors: InvalidArgument for a bad limit or FTS query, Internal/DataLoss
// from SQLite. Owned by the caller; must not outlive its BatchedStore.
// With StoreOptions::reader_nice > 0 the first search lowers the calling
// thread's scheduling priority to that nice value, for the thread's life.
class StoreReader {
 public:
  virtual ~StoreReader() = default;
  virtual absl::StatusOr<std::vector<StoredLog>> SearchText(
      const std::string& fts_query, int limit) = 0;
  virtual absl::StatusOr<std::vector<StoredLog>> ByHostname(
      const std::string& hostname, int limit) = 0;
  virtual absl::StatusOr<std::vector<StoredLog>> ByAppName(
      const std::string& app_name, int limit) = 0;
  virtual absl::StatusOr<std::vector<StoredLog>> Recent(int limit) = 0;
  // Number of rows in `logs`.
  virtual absl::StatusOr<int64_t> CountRows() = 0;
  // Ends the query running now, and any later one, with Cancelled once it
  // has run 1,000 SQLite VM steps (a short query still completes), so a
  // stopping run does not wait for long searches to finish. Any thread,
  // while the reader exists; there is no undo.
  virtual void Cancel() = 0;
};

// The outcome of one BatchedStore::WriteAsync: what Write() would have
// returned.
using WriteDone = std::function<void(absl::StatusOr<int64_t> id)>;

// Whether `status` is BatchedStore::Write's refusal of a full queue (as
// opposed to a failed write).
bool IsQueueFull(const absl::Status& status);

class BatchedStore {
 public:
  // Validates `options`, opens or creates the database, applies the schema
  // and pragmas, and starts the writer and checkpointer threads.
  // Errors: InvalidArgument (options), DataLoss (file is not an SQLite
  // database, or corrupt), FailedPrecondition (an existing `logs` table the
  // store cannot use), Internal/Unavailable (cannot open or write the file).
  // Every message names the file. `metrics` may be null (no metrics); when
  // given it must outlive the store.
  static absl::StatusOr<std::unique_ptr<BatchedStore>> Open(
      const StoreOptions& options, StoreMetrics* metrics);

  // Closes the store (see Close) if that has not happened yet.
  ~BatchedStore();

  BatchedStore(const BatchedStore&) = delete;
  BatchedStore& operator=(const BatchedStore&) = delete;

  // Queues `entry` and blocks until the batch holding it committed.
  // Returns the new row id. Errors:
  //   ResourceExhausted with IsQueueFull(): the queue holds queue_size
  //     entries; refused at once. (A full disk is ResourceExhausted too, as
  //     a failed COMMIT, without IsQueueFull.)
  //   DeadlineExceeded: no COMMIT within write_timeout. The entry may still
  //     commit later (counted as a late commit) or, if it was still queued,
  //     is dropped (counted abandoned).
  //   FailedPrecondition: the store is closing or closed.
  //   InvalidArgument / Internal / DataLoss: SQLite refused this row (a
  //     failed batch is retried row by row, so only the bad row fails).
  absl::StatusOr<int64_t> Write(LogEntry entry);

  // Write() without a waiting thread: queues `entry` and returns at once.
  // `done` is called exactly once with what Write() would have returned,
  // counted the same way:
  //   - refused (queue full, closing): on the calling thread, before
  //     WriteAsync returns;
  //   - committed or failed: on the store's acknowledger thread, after the
  //     COMMIT, as Write()'s callers are woken;
  //   - no COMMIT within write_timeout: DeadlineExceeded on the
  //     acknowledger thread at the deadline (the entry may still commit
  //     later, a late commit, or is abandoned if still queued).
  // Close() returns only after every `done` was called. `done` runs on the
  // thread that acknowledges every write: it must be quick and must not
  // block on this store.
  void WriteAsync(LogEntry entry, WriteDone done);

  // Opens a new read-only connection. Errors name the file.
  absl::StatusOr<std::unique_ptr<StoreReader>> NewReader();

  // Stops accepting writes, commits everything still queued, stops the
  // threads, runs a TRUNCATE checkpoint and closes the connections.
  // Returns the first error met while doing so. Idempotent.
  absl::Status Close();

  StoreCounters counters() const;
  // Entries waiting in the queue (not yet taken into a batch).
  int queue_depth() const;
  // The largest queue depth seen since the previous call (or Open), then
  // starts a new window at the current depth. For per-interval reporting.
  int TakePeakQueueDepth();
  const StoreOptions& options() const;
  // The first failed COMMIT of a write, as a message naming the file and
  // SQLite's reason ("database or disk is full"), or "" while none failed.
  std::string first_error() const;

  // SQLite's internals since the previous call (or Open): WAL length,
  // checkpoints, COMMIT times, lock waits and page cache per connection
  // kind, the database file's size (StoreInternals). All zero except
  // db_bytes and wal_restart_bytes with options().collect_internals false.
  // One caller at a time (any thread); after Close() it returns what the
  // close left to count.
  StoreInternals TakeInternals();

 private:
  class Impl;
  explicit BatchedStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_BATCHED_STORE_H_
