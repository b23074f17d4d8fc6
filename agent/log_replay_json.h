// The JSON-lines reader of the replay (--messages-format=jsonl,
// log_replay.h): one line holding one JSON object, into a row.
//
// A line is read by hand, in one pass that keeps only the keys the row
// takes: nlohmann::json's parser, which built a tree of every line, read
// 0.3-0.5 million lines/s, short of the 1 million the replay must parse
// (docs/messages.md). The reader accepts exactly what
// nlohmann::json::parse accepts and reads it as nlohmann does (its strict
// UTF-8, escapes, surrogate pairs, a leading BOM, numbers out of range
// refused; a repeated key counts with its last value; numbers it cannot
// be sure of are read by nlohmann itself), so the rows are those of
// nlohmann's tree.
//
// Pure function; safe from any thread.
#ifndef LOADTEST_AGENT_LOG_REPLAY_JSON_H_
#define LOADTEST_AGENT_LOG_REPLAY_JSON_H_

#include "absl/strings/string_view.h"
#include "storage/log_entry.h"

namespace loadtest::agent {

// Parses `line`, one JSON object, into `*entry` (timestamp left as it
// is). The message is the first of "message", "MESSAGE", "msg" that is a
// string or an integer; the other columns come from the keys
// docs/messages.md lists, the first of each group that is text; priority
// 13 (user.notice) unless the facility or severity says otherwise. False
// when the line is not JSON, not an object, or has no message.
bool ParseJsonLogLine(absl::string_view line, storage::LogEntry* entry);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_LOG_REPLAY_JSON_H_
