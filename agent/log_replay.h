// Replay of the user's own logs (--messages=file:PATH): the file's lines
// parsed into the store's columns, once, before a run; writers then copy
// them round and round (MessageSource, message_source.h).
//
// Formats (docs/messages.md): RFC 5424; RFC 3164 (BSD syslog, with or
// without its <PRI>, with the classic "Mmm dd hh:mm:ss" or an RFC 3339
// timestamp as rsyslog writes /var/log/syslog); plain lines (the line is
// the message); JSON lines (a "message" or "MESSAGE" field, and whatever
// of the other columns are present, journalctl -o json's names included;
// read by log_replay_json.h).
// kAuto looks at the first non-blank line. A line that does not parse as
// the format is counted and skipped; blank lines are skipped uncounted.
// The file's timestamps are not kept: a replayed row is stamped when it is
// written, as every row of a load test is.
//
// Pure functions; safe from any thread.
#ifndef LOADTEST_AGENT_LOG_REPLAY_H_
#define LOADTEST_AGENT_LOG_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/run_spec.h"
#include "storage/log_entry.h"

namespace loadtest::agent {

using protocol::MessageFormat;

// Parses one line (no line end) as `format` (not kAuto) into `*entry`
// (timestamp left 0). False when it is malformed: not the format, a NUL
// byte, or over 64 KiB.
bool ParseLogLine(absl::string_view line, MessageFormat format,
                  storage::LogEntry* entry);

// The format `content` looks like, judged on its first non-blank line.
MessageFormat DetectFormat(absl::string_view content);

// A file's lines, parsed.
struct ReplayCorpus {
  MessageFormat format = MessageFormat::kAuto;  // As used (detected or named).
  std::vector<storage::LogEntry> entries;       // The well-formed lines.
  int64_t malformed = 0;                        // Lines skipped.
};

// Parses `content` (a whole file, named `name` in errors) as `format`.
// InvalidArgument naming the file when it is empty or no line is readable
// as the format (with the malformed count).
absl::StatusOr<ReplayCorpus> ParseCorpus(absl::string_view content,
                                         MessageFormat format,
                                         const std::string& name);

// Reads the file at `path` whole. InvalidArgument naming it when it cannot
// be opened or read, is not a regular file, is empty, or is larger than
// protocol::kMaxMessagesFileBytes.
absl::StatusOr<std::string> ReadMessagesFile(const std::string& path);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_LOG_REPLAY_H_
