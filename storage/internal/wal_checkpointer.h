// WalCheckpointer: keeps the WAL of one write connection short without
// checkpointing on the committing thread, and the writer connection's
// pragmas. Shared by BatchedStore and store_bench's ceiling, so that the
// ceiling handles checkpoints and pragmas exactly as the store does.
//
// SQLite's auto-checkpoint runs inside the committing connection and stalls
// every waiter. Instead a WAL hook on the write connection hands the work to
// a background thread running PASSIVE checkpoints on its own connection
// every checkpoint_pages frames. A PASSIVE checkpoint never quite catches up
// while commits go on, and SQLite starts the WAL over only when a write
// begins with the WAL fully copied, so once the WAL holds restart_pages
// frames the writer, between two transactions (AfterCommit), copies the few
// frames still missing itself; the next transaction starts the WAL over.
//
// Thread contract: Start() and Stop() from the owner; AfterCommit() only from
// the thread that commits on the write connection (the hook runs there too);
// checkpoints() from any thread.
#ifndef LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_
#define LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "storage/internal/sqlite_util.h"
#include "storage/store_options.h"
#include "sync/mutex.h"

namespace loadtest::storage::internal {

// Applies the store's pragmas to its write connection: WAL journal,
// `synchronous`, journal_size_limit 64 MiB, cache_size and the rest of the
// measured settings in `options`. Errors name the file.
absl::Status ApplyWriterPragmas(sqlite3* db, const StoreOptions& options);

class WalCheckpointer {
 public:
  // Opens the checkpoint connection to options.path, installs the WAL hook
  // on `write_db` (which must outlive this object) and starts the thread.
  // `checkpoints` (may be null) is incremented per checkpoint run.
  // Errors name the file.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      sqlite3* write_db, const StoreOptions& options,
      prometheus::Counter* checkpoints);

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

 private:
  WalCheckpointer(sqlite3* write_db, const StoreOptions& options,
                  Connection checkpoint_db, prometheus::Counter* checkpoints);
  static int WalHook(void* self, sqlite3* db, const char* name, int pages);
  void Loop();
  void Count();

  sqlite3* const write_db_;
  const int checkpoint_pages_;
  const int restart_pages_;
  prometheus::Counter* const metric_;
  Connection checkpoint_db_;  // Used by the thread only.
  // Writer thread only: WAL size after the last commit (from the hook), and
  // the size at which to try completing a checkpoint again.
  int wal_pages_ = 0;
  int next_completion_attempt_ = 0;
  std::atomic<int64_t> checkpoints_{0};

  sync::Mutex mu_;
  sync::CondVar cv_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace loadtest::storage::internal

#endif  // LOADTEST_STORAGE_INTERNAL_WAL_CHECKPOINTER_H_
