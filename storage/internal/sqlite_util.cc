#include "storage/internal/sqlite_util.h"

#include "storage/internal/sync_counting_vfs.h"
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "storage/internal/sync_counting_vfs.h"

namespace loadtest::storage::internal {

absl::Status SqliteError(int rc, sqlite3* db, absl::string_view what,
                         absl::string_view path) {
  const int primary = rc & 0xff;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = absl::StrCat(what, " on ", path, ": ", detail,
                                     " (sqlite code ", rc, ")");
  switch (primary) {
    case SQLITE_NOTADB:
      return absl::DataLossError(
          absl::StrCat(path, " is not an SQLite database (", detail, ")"));
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(
          path, " is corrupt: ", detail, " (sqlite code ", rc,
          "). Check it with: sqlite3 ", path,
          " 'PRAGMA integrity_check'; or use another database"));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat(
          message, ": another connection or process holds a lock on it"));
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return absl::InvalidArgumentError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
      if (db != nullptr &&
          sqlite3_extended_errcode(db) == SQLITE_CANTOPEN_SYMLINK) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, " has a symbolic link in its path, and this store refuses "
            "to follow links (refuse_symlinks)"));
      }
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

ConnectionActivity ConnectionCounters::Snapshot() const {
  ConnectionActivity a;
  a.busy_events = busy_events.load(std::memory_order_relaxed);
  a.busy_wait_ns = busy_wait_ns.load(std::memory_order_relaxed);
  a.cache_hits = cache_hits.load(std::memory_order_relaxed);
  a.cache_misses = cache_misses.load(std::memory_order_relaxed);
  a.cache_writes = cache_writes.load(std::memory_order_relaxed);
  a.cache_spills = cache_spills.load(std::memory_order_relaxed);
  return a;
}

void ConnectionCounters::AddCacheStatus(sqlite3* db) {
  struct Item {
    int op;
    std::atomic<int64_t>* total;
    prometheus::Counter* metric;
  };
  const Item items[] = {
      {SQLITE_DBSTATUS_CACHE_HIT, &cache_hits, metrics.cache_hits},
      {SQLITE_DBSTATUS_CACHE_MISS, &cache_misses, metrics.cache_misses},
      {SQLITE_DBSTATUS_CACHE_WRITE, &cache_writes, nullptr},
      {SQLITE_DBSTATUS_CACHE_SPILL, &cache_spills, nullptr}};
  for (const Item& item : items) {
    int current = 0, highwater = 0;
    if (sqlite3_db_status(db, item.op, &current, &highwater, /*reset=*/1) ==
            SQLITE_OK &&
        current > 0) {
      item.total->fetch_add(current, std::memory_order_relaxed);
      if (item.metric != nullptr) item.metric->Increment(current);
    }
  }
}

namespace {

// `count` is the number of times the handler was called for this lock.
// Sleeps 100µs, 200µs, 400µs, 800µs, 1.6ms, then 2ms each time; gives up
// once the sleeps add up to the timeout.
int FineGrainedBusyHandler(void* arg, int count) {
  const auto* policy = static_cast<const BusyPolicy*>(arg);
  const int64_t slept_us =
      count <= 5 ? 100 * ((int64_t{1} << count) - 1)
                 : 3100 + int64_t{2000} * (count - 5);
  if (count == 0 && policy->counters != nullptr) policy->counters->CountBusy();
  if (slept_us >= int64_t{policy->timeout_ms} * 1000) return 0;
  const int64_t step_us = count < 5 ? int64_t{100} << count : 2000;
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::microseconds(step_us));
  if (ConnectionCounters* counters = policy->counters; counters != nullptr) {
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    counters->busy_wait_ns.fetch_add(ns, std::memory_order_relaxed);
    if (counters->metrics.busy_wait != nullptr) {
      counters->metrics.busy_wait->Increment(static_cast<double>(ns) / 1e9);
    }
  }
  return 1;
}

}  // namespace

void InitializeSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SQLITE_MISUSE when SQLite is already initialized: left as it is.
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)sqlite3_initialize();
  });
}

absl::StatusOr<Connection> OpenConnection(const std::string& path, int flags,
                                          int busy_timeout_ms,
                                          ConnectionCounters* counters,
                                          const char* vfs) {
  InitializeSqliteOnce();
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, db.get(), "cannot open database", path);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  // The handler's argument lives in the connection's deleter, so it
  // outlives every call the connection makes.
  auto policy = std::make_shared<BusyPolicy>();
  policy->timeout_ms = busy_timeout_ms;
  policy->counters = counters;
  sqlite3_busy_handler(db.get(), &FineGrainedBusyHandler, policy.get());
  db.get_deleter().busy = std::move(policy);
  return db;
}

const char* StoreVfs(const StoreOptions& options) {
  return options.collect_internals ? SyncCountingVfs() : nullptr;
}

absl::Status Exec(sqlite3* db, const std::string& sql,
                  absl::string_view path) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    sqlite3_free(error);
    return SqliteError(rc, db, absl::StrCat("cannot run `", sql, "`"), path);
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Prepare(sqlite3* db, const std::string& sql,
                                  absl::string_view path) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.c_str(), -1,
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteError(rc, db, absl::StrCat("cannot prepare `", sql, "`"),
                       path);
  }
  return Statement(raw);
}

namespace {

absl::StatusOr<Statement> StepFirstRow(sqlite3* db, const std::string& sql,
                                       absl::string_view path, bool* has_row) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, db, absl::StrCat("cannot prepare `", sql, "`"),
                       path);
  }
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteError(rc, db, absl::StrCat("cannot run `", sql, "`"), path);
  }
  *has_row = rc == SQLITE_ROW;
  return stmt;
}

}  // namespace

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& sql,
                                 absl::string_view path) {
  bool has_row = false;
  auto stmt = StepFirstRow(db, sql, path, &has_row);
  if (!stmt.ok()) return stmt.status();
  return has_row ? sqlite3_column_int64(stmt->get(), 0) : 0;
}

absl::StatusOr<std::string> QueryText(sqlite3* db, const std::string& sql,
                                      absl::string_view path) {
  bool has_row = false;
  auto stmt = StepFirstRow(db, sql, path, &has_row);
  if (!stmt.ok()) return stmt.status();
  if (!has_row) return std::string();
  const unsigned char* text = sqlite3_column_text(stmt->get(), 0);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text));
}

}  // namespace loadtest::storage::internal
