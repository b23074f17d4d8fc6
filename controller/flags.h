// The `loadtest` command line: every flag of a run (the original tool's,
// agents and security, workload, store, pass or fail, output), its --help,
// and the checks that turn what was typed into what RunLoadTest takes. One
// flag table for main and the flags fuzzer, so the fuzzer checks the real
// one. Pure except that ResolveCommandLine reads a --messages=file:PATH
// (to send it to the agents and measure it) and draws a --seed at random
// when none is given; no network until ConnectAgents, which resolves
// --agents and reads the credential files.
#ifndef LOADTEST_CONTROLLER_FLAGS_H_
#define LOADTEST_CONTROLLER_FLAGS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/flag_set.h"
#include "controller/run.h"
#include "controller/run_end.h"
#include "controller/scenario.h"
#include "protocol/run_spec.h"
#include "security/auth.h"

namespace loadtest::controller {

// What the flags are bound to, as typed.
struct CommandLine {
  Scenario scenario;
  std::string scenario_name;  // --scenario.
  OutputOptions output;       // Thresholds stay empty until resolved.
  std::vector<std::string> threshold_texts;
  std::string threshold_preset;
  std::string prometheus_targets;
  std::string metrics_address = "0.0.0.0";
  std::string agents;  // --agents, unresolved.
  std::chrono::nanoseconds start_delay = std::chrono::seconds(1);
  security::ClientAuthOptions auth;
};

// The intro of `loadtest --help`: what it does, flag syntax, exit codes,
// examples.
extern const char kLoadtestIntro[];

// Adds every flag of a run to `flags`, bound to `cl` (which must outlive
// the parse).
void RegisterFlags(cli::FlagSet* flags, CommandLine* cl);

// A seed for --seed's default: random, never 0.
int64_t RandomSeed();

// A command line made ready to run.
struct Invocation {
  RunPlan plan;  // The scenario with the preset applied, and its spec.
  // Everything but agent_targets and auth, which come from `agents` and
  // `auth` (ConnectAgents resolves the names and reads the files).
  RunOptions options;
  bool distributed = false;  // --agents was given.
  std::string agents;
  security::ClientAuthOptions auth;
};

// After `flags` parsed: applies --scenario (flags set explicitly win),
// --threshold-preset and the thresholds, builds the RunSpec, and checks
// what needs or excludes --agents. InvalidArgument naming the flag and the
// value.
absl::StatusOr<Invocation> ResolveCommandLine(const cli::FlagSet& flags,
                                              CommandLine cl);

// With --agents: reads the credentials into run->options.auth and resolves
// the agents' names into run->options.agent_targets (a name may give
// several agents); nothing in process. InvalidArgument or NotFound for bad
// credential files, names that do not resolve, or no agent at all. A run
// and find-max both start here.
absl::Status ConnectAgents(Invocation* run);

// `loadtest` without a command: a run, from the arguments to the exit code
// (ExitCode); a usage or setup error is one line on stderr and kExitUsage.
int RunMain(int argc, char** argv);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_FLAGS_H_
