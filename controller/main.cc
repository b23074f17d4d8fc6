// loadtest: the OpenTrail load-testing CLI. Parses flags, builds the
// scenario, and runs it: with --agents on those agents over gRPC, otherwise
// in this process.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "cli/flag_set.h"
#include "controller/agent_discovery.h"
#include "controller/compare.h"
#include "controller/find_max.h"
#include "nlohmann/json.hpp"
#include "controller/flags.h"
#include "controller/run.h"

namespace {

namespace cli = loadtest::cli;
namespace controller = loadtest::controller;
namespace security = loadtest::security;

// A usage or setup error: one line on stderr, exit code kExitUsage.
int UsageError(const absl::Status& status) {
  std::fprintf(stderr, "loadtest: %s\n", std::string(status.message()).c_str());
  return loadtest::controller::kExitUsage;
}

// `loadtest compare A.json B.json [--tolerance=5]`.
int Compare(int argc, char** argv) {
  double tolerance_percent = 5;
  loadtest::cli::FlagSet flags(
      "loadtest compare",
      "loadtest compare A.json B.json: the key figures of two runs' --out "
      "reports side by side\nwith the change in percent, and whether each "
      "change exceeds the run-to-run spread:\na Mann-Whitney rank test over "
      "the figure's values in every interval of each run\n(p < 0.05, when "
      "both runs have 5 or more intervals). A regression is a change\nfor "
      "the worse beyond --tolerance that also exceeds the spread. It warns "
      "when the\nruns' workloads differ (run.fingerprint) or their seeds "
      "do.\nExit codes: 0 no regression; 1 usage error (missing or "
      "unreadable report); 2 a regression.\n");
  flags.AddDouble("tolerance", &tolerance_percent,
                  "Percent a figure may worsen before it counts as a "
                  "regression.");
  std::vector<std::string> files;
  if (absl::Status s = flags.Parse(argc, argv, &files); !s.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(s.message()).c_str());
    return loadtest::controller::kExitUsage;
  }
  if (flags.help_requested()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (files.size() != 2) {
    std::fprintf(stderr,
                 "loadtest compare: needs two reports (A.json B.json), got "
                 "%zu (see --help)\n",
                 files.size());
    return loadtest::controller::kExitUsage;
  }
  if (!(tolerance_percent >= 0)) {
    std::fprintf(stderr, "loadtest compare: tolerance must be >= 0, got %g\n",
                 tolerance_percent);
    return loadtest::controller::kExitUsage;
  }
  nlohmann::json reports[2];
  for (int i = 0; i < 2; ++i) {
    std::ifstream in(files[i]);
    if (!in) {
      std::fprintf(stderr, "loadtest compare: cannot read %s\n",
                   files[i].c_str());
      return loadtest::controller::kExitUsage;
    }
    reports[i] = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (reports[i].is_discarded()) {
      std::fprintf(stderr, "loadtest compare: %s is not JSON\n",
                   files[i].c_str());
      return loadtest::controller::kExitUsage;
    }
  }
  const double tolerance = tolerance_percent / 100;
  auto rows =
      loadtest::controller::CompareReports(reports[0], reports[1], tolerance);
  if (!rows.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(rows.status().message()).c_str());
    return loadtest::controller::kExitUsage;
  }
  for (const std::string& warning :
       loadtest::controller::CompareWarnings(reports[0], reports[1])) {
    std::fprintf(stderr, "loadtest compare: warning: %s\n", warning.c_str());
  }
  std::fputs(loadtest::controller::FormatComparison(*rows, files[0], files[1],
                                                    tolerance)
                 .c_str(),
             stdout);
  for (const auto& row : *rows) {
    if (row.regression) return loadtest::controller::kExitCheckFailed;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Abseil's mutex deadlock detection (on in Debian's build) costs the
  // controller measurable CPU with hundreds of agents; the code does not
  // rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc > 1 && std::string(argv[1]) == "compare") {
    return Compare(argc - 1, argv + 1);
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
