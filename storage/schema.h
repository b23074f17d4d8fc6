// The `logs` schema of the original OpenTrail store and its lean variant, and
// the checks run when an existing database is opened.
// Functions here run on one connection from one thread.
#ifndef LOADTEST_STORAGE_SCHEMA_H_
#define LOADTEST_STORAGE_SCHEMA_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"
#include "storage/log_entry.h"
#include "storage/store_options.h"

namespace loadtest::storage {

// Column list of `logs` in insert order (the prepared insert binds these).
inline constexpr char kInsertSql[] =
    "INSERT INTO logs (priority, facility, severity, version, timestamp, "
    "hostname, app_name, proc_id, msg_id, structured_data, message) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

// FtsSync::kBatch: indexes the rows a transaction inserted, those with
// id > ?1 (bind the id of its first row minus one), in one statement run
// just before its COMMIT.
inline constexpr char kFtsFillSql[] =
    "INSERT INTO logs_fts(rowid, message) "
    "SELECT id, message FROM logs WHERE id > ?1";

// Binds `entry` to a statement prepared from kInsertSql. Text is bound
// without copying: `entry` and `*timestamp_text` (which receives the
// formatted timestamp) must stay unchanged until the statement is stepped.
void BindInsert(sqlite3_stmt* stmt, const LogEntry& entry,
                std::string* timestamp_text);

// Creates whatever of `options.schema` is missing (CREATE ... IF NOT
// EXISTS) in `options.path`, after dropping the log tables when `fresh`.
// An existing `logs` table must have every column the store writes, or
// FailedPrecondition names the file and the missing column. When the full
// schema's FTS table is added to a table that already holds rows, the index
// is rebuilt so searches see the old rows. On the full schema the FTS insert
// trigger is created (FtsSync::kTrigger) or dropped (kBatch) to match
// `options.fts_sync`, and FTS5's automerge, crisismerge and pgsz are set to
// the options' values (SQLite's defaults when unset). One transaction.
absl::Status ApplySchema(sqlite3* db, const StoreOptions& options, bool fresh);

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_SCHEMA_H_
