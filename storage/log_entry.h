// LogEntry: one RFC5424 log record as the OpenTrail store keeps it.
//
// Plain value type; copy or move freely. The fields and their meaning follow
// the `logs` table of the original OpenTrail store (see schema.h).
#ifndef LOADTEST_STORAGE_LOG_ENTRY_H_
#define LOADTEST_STORAGE_LOG_ENTRY_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace loadtest::storage {

struct LogEntry {
  int priority = 0;   // facility * 8 + severity (RFC5424 PRI).
  int facility = 0;   // 0..23.
  int severity = 0;   // 0 (emergency) .. 7 (debug).
  int version = 1;    // RFC5424 VERSION, always 1 today.
  // Event time, nanoseconds since the Unix epoch (UTC). Stored as ISO-8601
  // text ("2026-11-27T03:47:25.123456789Z"), as the original store does.
  int64_t timestamp_ns = 0;
  std::string hostname;
  std::string app_name;
  std::string proc_id;
  std::string msg_id;
  std::string structured_data;  // JSON text, may be empty.
  std::string message;          // Required: the schema says NOT NULL.
};

// A row read back from the store: the entry plus its row id.
struct StoredLog {
  int64_t id = 0;
  LogEntry entry;
};

// Formats nanoseconds since the epoch as the ISO-8601 UTC text stored in
// `logs.timestamp`. Thread-safe, no allocation beyond the returned string.
std::string FormatTimestamp(int64_t timestamp_ns);

// Parses text written by FormatTimestamp (exactly that form). Returns false
// on malformed input. No allocation.
bool ParseTimestamp(absl::string_view text, int64_t* timestamp_ns);

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_LOG_ENTRY_H_
