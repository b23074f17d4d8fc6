// Small RAII wrappers around the SQLite C API and the mapping of SQLite result
// codes to absl::Status. Internal to storage/: one connection or statement is
// used by one thread at a time.
#ifndef LOADTEST_STORAGE_INTERNAL_SQLITE_UTIL_H_
#define LOADTEST_STORAGE_INTERNAL_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/store_internals.h"
#include "storage/store_metrics.h"
#include "storage/store_options.h"

namespace loadtest::storage::internal {

// Running totals of one kind of connection (the writer, every reader, the
// checkpointer), for StoreInternals. Safe from any thread: each connection's
// thread adds to them, the store's collector reads them.
struct ConnectionCounters {
  std::atomic<int64_t> busy_events{0};
  std::atomic<int64_t> busy_wait_ns{0};
  std::atomic<int64_t> cache_hits{0};
  std::atomic<int64_t> cache_misses{0};
  std::atomic<int64_t> cache_writes{0};
  std::atomic<int64_t> cache_spills{0};
  // Each may be null: the store's Prometheus counters of this connection
  // kind, counted along (StoreMetrics::ForConnection).
  ConnectionMetrics metrics;

  // The totals so far.
  ConnectionActivity Snapshot() const;
  // Counts one SQLITE_BUSY / SQLITE_LOCKED that the busy handler did not
  // see (a statement or checkpoint that returned it).
  void CountBusy() {
    busy_events.fetch_add(1, std::memory_order_relaxed);
    if (metrics.busy_events != nullptr) metrics.busy_events->Increment();
  }
  // Adds `db`'s page cache counters since the previous call on `db`
  // (sqlite3_db_status, reset as read). Only from the thread that uses `db`.
  void AddCacheStatus(sqlite3* db);
};

// The busy handler's settings for one connection; alive as long as it.
struct BusyPolicy {
  int timeout_ms = 0;
  ConnectionCounters* counters = nullptr;  // May be null.
};

struct ConnectionCloser {
  std::shared_ptr<BusyPolicy> busy;  // The handler's argument.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Maps an SQLite result code to the canonical status code, with a message
// naming `what` was attempted and the file: NOTADB/CORRUPT → DataLoss,
// BUSY/LOCKED/CANTOPEN → Unavailable (a refused symbolic link →
// FailedPrecondition), CONSTRAINT/MISMATCH/RANGE/TOOBIG →
// InvalidArgument, READONLY/PERM/AUTH → PermissionDenied, FULL →
// ResourceExhausted, anything else (I/O errors included) → Internal.
absl::Status SqliteError(int rc, sqlite3* db, absl::string_view what,
                         absl::string_view path);

// SQLite's process-wide settings, made by the first OpenConnection before
// SQLite initializes: memory statistics off. With them on (SQLite's
// default) every allocation and free by any connection takes one
// process-wide mutex to count bytes, and the writer, the checkpointer and
// the readers allocate per page and per row, on separate threads. Measured:
// the full schema's ceiling +12 to +25 % (docs/store-performance.md).
// Nothing in this project reads those statistics (sqlite3_status). When
// other code initialized SQLite first, its setting stays. Any thread.
void InitializeSqliteOnce();

// Opens `path` with `flags` (SQLITE_OPEN_*) and installs a busy handler
// that retries for up to `busy_timeout_ms`. SQLite's own busy timeout sleeps
// in steps of up to 100 ms; this one polls every 100 µs at first, backing off
// to 2 ms, so a writer held off by a short checkpoint resumes at once.
// `counters` (may be null; must outlive the connection) count each wait
// and the time slept. `vfs` names the VFS (null: SQLite's default).
absl::StatusOr<Connection> OpenConnection(const std::string& path, int flags,
                                          int busy_timeout_ms,
                                          ConnectionCounters* counters = nullptr,
                                          const char* vfs = nullptr);

// The VFS of the store's connections: with collect_internals the one that
// counts syncs (sync_counting_vfs.h), else SQLite's default (null).
const char* StoreVfs(const StoreOptions& options);

// `flags` plus SQLITE_OPEN_NOFOLLOW when `options` refuse symbolic links.
inline int OpenFlags(const StoreOptions& options, int flags) {
  return options.refuse_symlinks ? flags | SQLITE_OPEN_NOFOLLOW : flags;
}

// Runs one or more statements that return no rows.
absl::Status Exec(sqlite3* db, const std::string& sql, absl::string_view path);

// Prepares one statement for repeated use.
absl::StatusOr<Statement> Prepare(sqlite3* db, const std::string& sql,
                                  absl::string_view path);

// Runs `sql` and returns column 0 of its first row as an integer (0 when
// there is no row).
absl::StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& sql,
                                 absl::string_view path);

// Same, as text ("" when there is no row or it is NULL).
absl::StatusOr<std::string> QueryText(sqlite3* db, const std::string& sql,
                                      absl::string_view path);

}  // namespace loadtest::storage::internal

#endif  // LOADTEST_STORAGE_INTERNAL_SQLITE_UTIL_H_
