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

// Binds `entry` to a statement prepared from kInsertSql. Text is bound
// without copying: `entry` and `*timestamp_text` (which receives the
// formatted timestamp) must stay unchanged until the statement is stepped.
void BindInsert(sqlite3_stmt* stmt, const LogEntry& entry,
                std::string* timestamp_text);

// Creates whatever of `schema` is missing (CREATE ... IF NOT EXISTS), after
// dropping the log tables when `fresh`. An existing `logs` table must have
// every column the store writes, or FailedPrecondition names the file and the
// missing column. When the full schema's FTS table is added to a table that
// already holds rows, the index is rebuilt so searches see the old rows.
absl::Status ApplySchema(sqlite3* db, Schema schema, bool fresh,
                         const std::string& path);

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_SCHEMA_H_
