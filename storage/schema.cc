#include "storage/schema.h"

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "status/status_macros.h"
#include "storage/internal/sqlite_util.h"

namespace loadtest::storage {
namespace {

using internal::Exec;
using internal::QueryInt;

// The original store's RFC5424 table, column for column.
constexpr char kCreateLogs[] = R"sql(
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  priority INTEGER NOT NULL,
  facility INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  timestamp DATETIME NOT NULL,
  hostname TEXT,
  app_name TEXT,
  proc_id TEXT,
  msg_id TEXT,
  structured_data TEXT,
  message TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
))sql";

constexpr char kCreateFts[] =
    "CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5("
    "message, content='logs', content_rowid='id')";

// The original's twelve indexes.
const char* const kFullIndexes[] = {
    "CREATE INDEX IF NOT EXISTS idx_logs_timestamp ON logs(timestamp)",
    "CREATE INDEX IF NOT EXISTS idx_logs_facility ON logs(facility)",
    "CREATE INDEX IF NOT EXISTS idx_logs_severity ON logs(severity)",
    "CREATE INDEX IF NOT EXISTS idx_logs_hostname ON logs(hostname)",
    "CREATE INDEX IF NOT EXISTS idx_logs_app_name ON logs(app_name)",
    "CREATE INDEX IF NOT EXISTS idx_logs_proc_id ON logs(proc_id)",
    "CREATE INDEX IF NOT EXISTS idx_logs_msg_id ON logs(msg_id)",
    "CREATE INDEX IF NOT EXISTS idx_logs_priority ON logs(priority)",
    "CREATE INDEX IF NOT EXISTS idx_logs_created_at ON logs(created_at)",
    "CREATE INDEX IF NOT EXISTS idx_logs_facility_severity "
    "ON logs(facility, severity)",
    "CREATE INDEX IF NOT EXISTS idx_logs_hostname_app_name "
    "ON logs(hostname, app_name)",
    "CREATE INDEX IF NOT EXISTS idx_logs_timestamp_severity "
    "ON logs(timestamp, severity)",
};

// Keep the external-content FTS index in sync, as the original does: the
// insert trigger (FtsSync::kTrigger only), then the delete and update ones.
constexpr char kInsertTrigger[] =
    "CREATE TRIGGER IF NOT EXISTS logs_ai AFTER INSERT ON logs BEGIN "
    "INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message); END";
const char* const kFullTriggers[] = {
    "CREATE TRIGGER IF NOT EXISTS logs_ad AFTER DELETE ON logs BEGIN "
    "INSERT INTO logs_fts(logs_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); END",
    "CREATE TRIGGER IF NOT EXISTS logs_au AFTER UPDATE ON logs BEGIN "
    "INSERT INTO logs_fts(logs_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); "
    "INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message); END",
};

absl::Status CheckExistingColumns(sqlite3* db, const std::string& path) {
  ASSIGN_OR_RETURN(auto stmt,
                   internal::Prepare(db, "PRAGMA table_info(logs)", path));
  std::set<std::string> columns;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    columns.insert(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1)));
  }
  if (rc != SQLITE_DONE) {
    return internal::SqliteError(rc, db, "cannot read the logs table", path);
  }
  std::vector<std::string> missing;
  for (const char* name :
       {"id", "priority", "facility", "severity", "version", "timestamp",
        "hostname", "app_name", "proc_id", "msg_id", "structured_data",
        "message"}) {
    if (columns.count(name) == 0) missing.push_back(name);
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has a `logs` table this store cannot use: missing column(s) ",
        absl::StrJoin(missing, ", "),
        " (use another -db file, or --fresh to drop it)"));
  }
  return absl::OkStatus();
}

// FTS5's configuration commands; a value written equal to SQLite's
// default behaves as if never set.
absl::Status ApplyFtsSettings(sqlite3* db, const StoreOptions& o) {
  for (const auto& [name, value, fallback] :
       {std::tuple<const char*, int, int>{"automerge", o.fts_automerge,
                                          kFtsDefaultAutomerge},
        {"crisismerge", o.fts_crisismerge, kFtsDefaultCrisismerge},
        {"pgsz", o.fts_pgsz, kFtsDefaultPgsz}}) {
    RETURN_IF_ERROR(Exec(
        db,
        absl::StrCat("INSERT INTO logs_fts(logs_fts, rank) VALUES ('", name,
                     "', ", value == kFtsDefault ? fallback : value, ")"),
        o.path));
  }
  return absl::OkStatus();
}

}  // namespace

void BindInsert(sqlite3_stmt* stmt, const LogEntry& e,
                std::string* timestamp_text) {
  *timestamp_text = FormatTimestamp(e.timestamp_ns);
  auto bind_text = [stmt](int index, const std::string& value) {
    sqlite3_bind_text(stmt, index, value.data(),
                      static_cast<int>(value.size()), SQLITE_STATIC);
  };
  sqlite3_bind_int(stmt, 1, e.priority);
  sqlite3_bind_int(stmt, 2, e.facility);
  sqlite3_bind_int(stmt, 3, e.severity);
  sqlite3_bind_int(stmt, 4, e.version);
  bind_text(5, *timestamp_text);
  bind_text(6, e.hostname);
  bind_text(7, e.app_name);
  bind_text(8, e.proc_id);
  bind_text(9, e.msg_id);
  bind_text(10, e.structured_data);
  bind_text(11, e.message);
}

absl::Status ApplySchema(sqlite3* db, const StoreOptions& options,
                         bool fresh) {
  const std::string& path = options.path;
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", path));
  absl::Status status = [&]() -> absl::Status {
    if (fresh) {
      RETURN_IF_ERROR(Exec(db,
                           "DROP TRIGGER IF EXISTS logs_ai;"
                           "DROP TRIGGER IF EXISTS logs_ad;"
                           "DROP TRIGGER IF EXISTS logs_au;"
                           "DROP TABLE IF EXISTS logs_fts;"
                           "DROP TABLE IF EXISTS logs;",
                           path));
    }
    ASSIGN_OR_RETURN(
        int64_t has_logs,
        QueryInt(db,
                 "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                 "name='logs'",
                 path));
    if (has_logs > 0) {
      RETURN_IF_ERROR(CheckExistingColumns(db, path));
    }
    RETURN_IF_ERROR(Exec(db, kCreateLogs, path));
    RETURN_IF_ERROR(Exec(db,
                         "CREATE INDEX IF NOT EXISTS idx_logs_timestamp "
                         "ON logs(timestamp)",
                         path));
    if (options.schema == Schema::kLean) return absl::OkStatus();

    ASSIGN_OR_RETURN(
        int64_t has_fts,
        QueryInt(db,
                 "SELECT count(*) FROM sqlite_master WHERE name='logs_fts'",
                 path));
    RETURN_IF_ERROR(Exec(db, kCreateFts, path));
    for (const char* sql : kFullIndexes) RETURN_IF_ERROR(Exec(db, sql, path));
    for (const char* sql : kFullTriggers) RETURN_IF_ERROR(Exec(db, sql, path));
    // Both modes keep the index complete, so a file switches mode at open.
    RETURN_IF_ERROR(Exec(db,
                         options.fts_sync == FtsSync::kTrigger
                             ? kInsertTrigger
                             : "DROP TRIGGER IF EXISTS logs_ai",
                         path));
    RETURN_IF_ERROR(ApplyFtsSettings(db, options));
    if (has_fts == 0 && has_logs > 0) {
      RETURN_IF_ERROR(Exec(
          db, "INSERT INTO logs_fts(logs_fts) VALUES ('rebuild')", path));
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", path);
    return status;
  }
  return Exec(db, "COMMIT", path);
}

}  // namespace loadtest::storage
