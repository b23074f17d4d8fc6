// loadtest: the OpenTrail load-testing CLI. Dispatches to its commands: a
// run (controller/flags.h: with --agents on those agents over gRPC,
// otherwise in this process), find-max, compare, repeat and tune.
#include <string>

#include "absl/synchronization/mutex.h"
#include "commands/repeat.h"
#include "commands/tune.h"
#include "controller/compare.h"
#include "controller/find_max.h"
#include "controller/flags.h"

namespace commands = loadtest::commands;
namespace controller = loadtest::controller;

int main(int argc, char** argv) {
  // Abseil's mutex deadlock detection (on in Debian's build) costs the
  // controller measurable CPU with hundreds of agents; the code does not
  // rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc > 1 && std::string(argv[1]) == "compare") {
    return controller::CompareMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "repeat") {
    return commands::RepeatMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "tune") {
    return commands::TuneMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "find-max") {
    return controller::FindMaxMain(argc - 1, argv + 1);
  }
  return controller::RunMain(argc, argv);
}
