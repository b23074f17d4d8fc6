// loadtest: the OpenTrail load-testing CLI. Parses flags, builds the
// scenario, and runs it: with --agents on those agents over gRPC, otherwise
// in this process.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/flag_set.h"
#include "controller/agent_discovery.h"
#include "controller/compare.h"
#include "controller/find_max.h"
#include "controller/flags.h"
#include "controller/repeat.h"
#include "controller/run.h"
#include "controller/tune.h"

namespace {

namespace cli = loadtest::cli;
namespace controller = loadtest::controller;
namespace security = loadtest::security;

// A usage or setup error: one line on stderr, exit code kExitUsage.
int UsageError(const absl::Status& status) {
  std::fprintf(stderr, "loadtest: %s\n", std::string(status.message()).c_str());
  return loadtest::controller::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // Abseil's mutex deadlock detection (on in Debian's build) costs the
  // controller measurable CPU with hundreds of agents; the code does not
  // rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc > 1 && std::string(argv[1]) == "compare") {
    return controller::CompareMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "repeat") {
    return controller::RepeatMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "tune") {
    return controller::TuneMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "find-max") {
    return controller::FindMaxMain(argc - 1, argv + 1);
  }
  controller::CommandLine command_line;
  cli::FlagSet flags("loadtest", controller::kLoadtestIntro);
  controller::RegisterFlags(&flags, &command_line);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;  // 0 after --help, kExitUsage (1) on a bad command line.
  }
  absl::StatusOr<controller::Invocation> run =
      controller::ResolveCommandLine(flags, std::move(command_line));
  if (!run.ok()) return UsageError(run.status());
  if (run->distributed) {
    auto auth = security::ClientAuth::Create(run->auth);
    if (!auth.ok()) return UsageError(auth.status());
    run->options.auth = *auth;
    auto targets = controller::ResolveAgentTargets(run->agents);
    if (!targets.ok()) return UsageError(targets.status());
    if (targets->empty()) {
      return UsageError(absl::InvalidArgumentError("--agents names no agent"));
    }
    run->options.agent_targets = *std::move(targets);
  }
  const absl::StatusOr<controller::RunOutcome> outcome =
      controller::RunLoadTest(run->scenario, run->spec, run->options);
  if (!outcome.ok()) UsageError(outcome.status());
  return controller::ExitCode(outcome);
}
