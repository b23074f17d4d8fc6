// flags_fuzzer: the `loadtest` command line from flag syntax to the RunSpec.
//
// The input is split into arguments at NUL bytes and parsed by loadtest's
// own flag table (controller::RegisterFlags, as main() does). A command line
// that parses goes on through controller::ResolveCommandLine, as in main():
// the --scenario preset, the thresholds, ToRunSpec and the checks of
// --agents. Every argument is also parsed on its own with cli::ParseDuration.
//
// Errors are expected; what must hold (else the target traps):
//   - a parsed duration formats (FormatDuration) to text that parses back to
//     the same duration;
//   - a command line the controller accepts for --agents is accepted by the
//     agent: its wire form (ToWireRunSpec, as RunLoadTest builds it) passes
//     protocol::FromProto with the same values. Otherwise the controller
//     would start a run that agents refuse.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire.h"
#include "cli/flag_set.h"
#include "controller/flags.h"
#include "controller/run.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/run_spec_check.h"

namespace {

namespace cli = ::loadtest::cli;
namespace controller = ::loadtest::controller;
namespace protocol = ::loadtest::protocol;

// Enough for every flag twice and then some; longer command lines add
// nothing but time.
constexpr size_t kMaxArguments = 96;

void CheckDurationRoundTrip(const std::string& text) {
  const absl::StatusOr<std::chrono::nanoseconds> d = cli::ParseDuration(text);
  if (!d.ok()) return;
  const std::string formatted = cli::FormatDuration(*d);
  const absl::StatusOr<std::chrono::nanoseconds> again =
      cli::ParseDuration(formatted);
  FUZZ_CHECK(again.ok() && *again == *d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // argv[0], then one argument per NUL-separated piece.
  std::vector<std::string> arguments = {"loadtest"};
  {
    std::string current;
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == '\0') {
        arguments.push_back(std::move(current));
        current.clear();
        if (arguments.size() > kMaxArguments) return -1;
      } else {
        current.push_back(static_cast<char>(data[i]));
      }
    }
    if (size > 0) arguments.push_back(std::move(current));
  }
  for (size_t i = 1; i < arguments.size(); ++i) {
    CheckDurationRoundTrip(arguments[i]);
  }
  std::vector<const char*> argv;
  argv.reserve(arguments.size());
  for (const std::string& a : arguments) argv.push_back(a.c_str());

  controller::CommandLine command_line;
  cli::FlagSet flags("loadtest", controller::kLoadtestIntro);
  controller::RegisterFlags(&flags, &command_line);

  std::vector<std::string> positional;
  const absl::Status parsed =
      flags.Parse(static_cast<int>(argv.size()), argv.data(), &positional);
  if (!parsed.ok()) return 0;
  if (flags.help_requested()) {
    FUZZ_CHECK(!flags.Usage().empty());
    return 0;
  }
  const absl::StatusOr<controller::Invocation> run =
      controller::ResolveCommandLine(flags, std::move(command_line));
  if (!run.ok()) return 0;
  FUZZ_CHECK(protocol::ValidateRunSpec(run->plan.spec).ok());
  if (!run->distributed) return 0;
  // What RunLoadTest sends every agent: the agent must accept it.
  const protocol::pb::RunSpec wire = controller::ToWireRunSpec(
      run->plan.spec, run->plan.scenario.db, "fuzz", run->options.start_delay);
  const absl::StatusOr<protocol::RunSpec> accepted =
      protocol::FromProto(wire, "/nonexistent-data-dir");
  FUZZ_CHECK(accepted.ok());
  // The agent gives the run its own id and path; every setting must agree.
  FUZZ_CHECK(loadtest::fuzz::SameSettings(run->plan.spec, *accepted));
  return 0;
}
