// Runs of `loadtest` as child processes, as `loadtest repeat` and
// `loadtest tune` make them: each child's output goes to a log file of its
// own, the parent keeps the child's pid so that a signal it receives can be
// passed on, and the child's --out report is read back as JSON.
//
// Thread-safety: RunChild blocks the calling thread until the child ends;
// the pid is published through an atomic for a signal watcher's thread.
// The other functions are pure or read files only.
#ifndef LOADTEST_COMMANDS_CHILD_RUN_H_
#define LOADTEST_COMMANDS_CHILD_RUN_H_

#include <sys/types.h>

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace loadtest::commands {

// The name of flag argument `arg` ("--out=x" -> "out"), or "" when it is
// not a flag.
std::string FlagName(const std::string& arg);

// Runs `binary` with `args`, its stdout and stderr to `log_path`, and
// returns how it ended: its exit code, 128 + the signal that killed it, or
// 127 when it could not be started. `*running` holds its pid meanwhile,
// for a signal to be passed on. SIGINT and SIGTERM are unblocked in the
// child (a cli::SignalWatcher blocks them in the parent). `who` prefixes
// the message written to the log when the binary cannot be run
// ("loadtest repeat").
int RunChild(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log_path, std::atomic<pid_t>* running,
             const std::string& who);

// This process's own binary (/proc/self/exe); FailedPrecondition when it
// cannot be read.
absl::StatusOr<std::string> SelfBinary();

// A child's --out report, whole: NotFound when it cannot be read,
// InvalidArgument when it is not JSON.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

}  // namespace loadtest::commands

#endif  // LOADTEST_COMMANDS_CHILD_RUN_H_
