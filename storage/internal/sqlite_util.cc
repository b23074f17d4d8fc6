#include "storage/internal/sqlite_util.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

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
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

struct BusyPolicy {
  int timeout_ms;
};

// `count` is the number of times the handler was called for this lock.
// Sleeps 100µs, 200µs, 400µs, 800µs, 1.6ms, then 2ms each time; gives up
// once the sleeps add up to the timeout.
int FineGrainedBusyHandler(void* arg, int count) {
  const auto* policy = static_cast<const BusyPolicy*>(arg);
  const int64_t slept_us =
      count <= 5 ? 100 * ((int64_t{1} << count) - 1)
                 : 3100 + int64_t{2000} * (count - 5);
  if (slept_us >= int64_t{policy->timeout_ms} * 1000) return 0;
  const int64_t step_us = count < 5 ? int64_t{100} << count : 2000;
  std::this_thread::sleep_for(std::chrono::microseconds(step_us));
  return 1;
}

}  // namespace

absl::StatusOr<Connection> OpenConnection(const std::string& path, int flags,
                                          int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, db.get(), "cannot open database", path);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  // One policy object per distinct timeout, alive for the process: the
  // handler's argument must outlive every connection that uses it.
  static std::mutex policies_mu;
  static std::map<int, std::unique_ptr<BusyPolicy>>* policies =
      new std::map<int, std::unique_ptr<BusyPolicy>>();
  BusyPolicy* policy;
  {
    std::lock_guard<std::mutex> lock(policies_mu);
    auto& slot = (*policies)[busy_timeout_ms];
    if (slot == nullptr) slot.reset(new BusyPolicy{busy_timeout_ms});
    policy = slot.get();
  }
  sqlite3_busy_handler(db.get(), &FineGrainedBusyHandler, policy);
  return db;
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
