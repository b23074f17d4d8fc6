// json_line_fuzzer: the replay's hand-written JSON-lines reader, as the
// replay calls it (agent::ParseLogLine with jsonl), against
// nlohmann::json, whose reading it promises to match
// (agent/log_replay_json.h).
//
// The input is one line. What must hold (else the target traps): a line
// with a NUL byte or over 64 KiB is refused (nlohmann would stop reading
// at a NUL); otherwise a line the reader takes is one
// nlohmann::json::parse accepts as an object; a line nlohmann accepts as
// an object with a string "message" is taken, with that message (the
// last value of a repeated key, as nlohmann keeps it); a line nlohmann
// refuses is refused.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/log_replay.h"
#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"
#include "storage/log_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  // A replayed file is split at newlines: a line holds none.
  if (line.find('\n') != absl::string_view::npos) return 0;
  loadtest::storage::LogEntry entry;
  const bool taken = loadtest::agent::ParseLogLine(
      line, loadtest::protocol::MessageFormat::kJsonl, &entry);
  if (line.find('\0') != absl::string_view::npos || line.size() > 64 * 1024) {
    FUZZ_CHECK(!taken);
    return 0;
  }
  const nlohmann::json reference =
      nlohmann::json::parse(line.begin(), line.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (reference.is_discarded() || !reference.is_object()) {
    FUZZ_CHECK(!taken);
    return 0;
  }
  const auto message = reference.find("message");
  if (message != reference.end() && message->is_string()) {
    FUZZ_CHECK(taken);
    FUZZ_CHECK(entry.message == message->get<std::string>());
  }
  return 0;
}
