// Durability audit of a store's database file after a run: how many rows a
// run left behind, and whether SQLite finds the file intact.
// Opens its own read-only connection; safe from any thread.
#ifndef LOADTEST_STORAGE_AUDIT_H_
#define LOADTEST_STORAGE_AUDIT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace loadtest::storage {

struct TableMark {
  int64_t rows = 0;    // count(*) of logs.
  int64_t max_id = 0;  // Highest id in logs (0 when empty).
};

// Rows and highest id of `logs` in the database at `path`.
absl::StatusOr<TableMark> MarkTable(const std::string& path);

struct DatabaseAudit {
  int64_t rows_after_mark = 0;  // Rows with id > the mark's max_id.
  bool integrity_ok = false;    // PRAGMA integrity_check said "ok".
  std::string integrity_message;  // Its first line otherwise.
  // Bytes of the FTS5 index's segments (logs_fts_data), all rows; 0 for
  // the lean schema, which has none.
  int64_t fts_index_bytes = 0;
};

// Counts the rows added after `mark` (ids are AUTOINCREMENT, so they are
// exactly the rows written since) and runs PRAGMA integrity_check, which
// reads the whole file: seconds on a large database; sums the FTS5
// index's segment sizes.
absl::StatusOr<DatabaseAudit> AuditDatabase(const std::string& path,
                                            const TableMark& mark);

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_AUDIT_H_
