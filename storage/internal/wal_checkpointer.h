// WalCheckpointer: keeps the WAL of one write connection short without
// checkpointing on the committing thread, and the writer connection's
// pragmas. Shared by BatchedStore and store_bench's ceiling, so that the
// ceiling handles checkpoints and pragmas exactly as the store does.
//
// SQLite's auto-checkpoint runs inside the committing connection and stalls
// every waiter. Instead a WAL hook on the write connection hands the work to
// a background thread running PASSIVE checkpoints on its own connection
// every checkpoint_pages new frames (not after every commit: the pages each
// commit rewrites are copied once per checkpoint). A PASSIVE checkpoint
// never quite catches up while commits go on, and SQLite starts the WAL over
// only when a write begins with the WAL fully copied, so once the WAL holds
// restart_pages frames the writer, between two transactions (AfterCommit),
// copies the frames still missing itself; the next transaction starts the
// WAL over.
//
// It also keeps the figures of StoreInternals that only it sees: the WAL's
// length after each commit, how long the WAL could not start over, and each
// checkpoint's time, frames copied and whether a reader blocked it.
//
// Thread contract: Start() and Stop() from the owner; AfterCommit() only from
// the thread that commits on the write connection (the hook runs there too);
// checkpoints() and TakeFigures() from any thread.
#ifndef LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_
#define LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/internal/sqlite_util.h"
#include "storage/store_internals.h"
#include "storage/store_metrics.h"
#include "storage/store_options.h"
#include "sync/mutex.h"

namespace loadtest::storage::internal {

// Applies the store's pragmas to its write connection: WAL journal,
// `synchronous`, journal_size_limit 64 MiB, cache_size, temp_store and the
// rest of the measured settings in `options`. Errors name the file.
absl::Status ApplyWriterPragmas(sqlite3* db, const StoreOptions& options);

class WalCheckpointer {
 public:
  // Opens the checkpoint connection to options.path, installs the WAL hook
  // on `write_db` (which must outlive this object) and starts the thread.
  // `metrics` (may be null; must outlive this object) get the checkpoints,
  // their times and the WAL's length. `writer` and `checkpointer` (may be
  // null; must outlive this object) count the lock waits of the write
  // connection's checkpoints and of the checkpoint connection. With
  // options.collect_internals false only the checkpoint count is kept.
  // Errors name the file.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      sqlite3* write_db, const StoreOptions& options, StoreMetrics* metrics,
      ConnectionCounters* writer = nullptr,
      ConnectionCounters* checkpointer = nullptr);

  // Stops the thread (Stop()).
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Writer thread, between two transactions: when the WAL has reached
  // restart_pages, copies the frames the background thread has not reached
  // yet, so that the next transaction starts the WAL over.
  void AfterCommit();

  // Removes the hook, stops and joins the thread and closes its connection.
  // Idempotent. The write connection may then be checkpointed by its owner.
  void Stop();

  // Checkpoints run so far (background and AfterCommit's).
  int64_t checkpoints() const {
    return checkpoints_.load(std::memory_order_relaxed);
  }

  // The WAL and checkpoint figures of StoreInternals (wal_bytes_max,
  // wal_restart_bytes, checkpoints, checkpoint_frames, checkpoints_blocked,
  // wal_stuck_ns_max, checkpoint_latency) since the previous call, the rest
  // left 0. One caller at a time.
  StoreInternals TakeFigures();

 private:
  using Clock = std::chrono::steady_clock;

  WalCheckpointer(sqlite3* write_db, const StoreOptions& options,
                  Connection checkpoint_db, int page_size,
                  StoreMetrics* metrics, ConnectionCounters* writer,
                  ConnectionCounters* checkpointer);
  static int WalHook(void* self, sqlite3* db, const char* name, int pages);
  void Loop();
  // Runs one PASSIVE checkpoint on `db` and records it (on the figures of
  // `counters`' connection kind when it meets a lock). Returns SQLite's code.
  int Checkpoint(sqlite3* db, ConnectionCounters* counters);
  // The WAL's length in bytes when it holds `frames` frames.
  int64_t WalBytes(int64_t frames) const;

  sqlite3* const write_db_;
  const int checkpoint_pages_;
  const int restart_pages_;
  const bool collect_;
  const int page_size_;
  StoreMetrics* const metrics_;
  ConnectionCounters* const writer_counters_;
  ConnectionCounters* const checkpointer_counters_;
  Connection checkpoint_db_;  // Used by the thread only.
  // Writer thread only: WAL size after the last commit (from the hook), the
  // size at which to try completing a checkpoint again, and the size when
  // the hook last asked for a background checkpoint.
  int wal_pages_ = 0;
  int next_completion_attempt_ = 0;
  int requested_at_ = 0;
  std::atomic<int64_t> checkpoints_{0};

  sync::Mutex mu_;
  sync::CondVar cv_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // The interval's figures, written by the writer thread (hook, AfterCommit)
  // and the checkpoint thread, taken by the store's collector.
  sync::Mutex figures_mu_;
  StoreInternals figures_ ABSL_GUARDED_BY(figures_mu_);
  int64_t wal_bytes_ ABSL_GUARDED_BY(figures_mu_) = 0;  // After the last commit.
  // Frames of the WAL copied so far (SQLite's nBackfill), to count what the
  // next checkpoint adds.
  int64_t backfilled_ ABSL_GUARDED_BY(figures_mu_) = 0;
  // Since when the WAL has been at or past restart_pages, if it is.
  bool stuck_ ABSL_GUARDED_BY(figures_mu_) = false;
  Clock::time_point stuck_since_ ABSL_GUARDED_BY(figures_mu_);
};

}  // namespace loadtest::storage::internal

#endif  // LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_
