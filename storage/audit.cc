#include "storage/audit.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"
#include "storage/internal/sqlite_util.h"

namespace loadtest::storage {

absl::StatusOr<TableMark> MarkTable(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, internal::OpenConnection(
                                path, SQLITE_OPEN_READONLY, 5000));
  TableMark mark;
  ASSIGN_OR_RETURN(mark.rows,
                   internal::QueryInt(db.get(), "SELECT count(*) FROM logs",
                                      path));
  ASSIGN_OR_RETURN(mark.max_id, internal::QueryInt(
                                    db.get(),
                                    "SELECT coalesce(max(id), 0) FROM logs",
                                    path));
  return mark;
}

absl::StatusOr<DatabaseAudit> AuditDatabase(const std::string& path,
                                            const TableMark& mark) {
  ASSIGN_OR_RETURN(auto db, internal::OpenConnection(
                                path, SQLITE_OPEN_READONLY, 5000));
  DatabaseAudit audit;
  ASSIGN_OR_RETURN(
      audit.rows_after_mark,
      internal::QueryInt(db.get(),
                         absl::StrCat("SELECT count(*) FROM logs WHERE id > ",
                                      mark.max_id),
                         path));
  ASSIGN_OR_RETURN(audit.integrity_message,
                   internal::QueryText(db.get(), "PRAGMA integrity_check",
                                       path));
  audit.integrity_ok = audit.integrity_message == "ok";
  ASSIGN_OR_RETURN(const int64_t has_fts,
                   internal::QueryInt(db.get(),
                                      "SELECT count(*) FROM sqlite_master "
                                      "WHERE name = 'logs_fts_data'",
                                      path));
  if (has_fts > 0) {
    ASSIGN_OR_RETURN(audit.fts_index_bytes,
                     internal::QueryInt(db.get(),
                                        "SELECT coalesce(sum(length(block)), "
                                        "0) FROM logs_fts_data",
                                        path));
  }
  return audit;
}

}  // namespace loadtest::storage
