// Scenario (report/scenario.h: the parameters of one load test as the user
// gives them) applied from the guide's presets and translated into the
// agent's RunSpec with every value checked.
// Plain values and pure functions; safe from any thread.
#ifndef LOADTEST_CONTROLLER_SCENARIO_H_
#define LOADTEST_CONTROLLER_SCENARIO_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "report/scenario.h"
#include "protocol/run_spec.h"

namespace loadtest::controller {
// The plain types of report/scenario.h, as the controller names them.
using report::DefaultPreset;
using report::MessagesFacts;
using report::Preset;
using report::Presets;
using report::Scenario;

// Applies preset `name` to `scenario`, leaving alone every field whose flag
// `is_set` says the user gave explicitly (explicit flags win), and records
// the name in `scenario->preset`. Unknown name:
// InvalidArgument listing the known ones.
absl::Status ApplyPreset(const std::string& name,
                         const std::function<bool(const char* flag)>& is_set,
                         Scenario* scenario);

// Checks every value and builds the agent's RunSpec. Errors are
// InvalidArgument naming the flag and the value, e.g.
// `batch-size must be between 1 and 100000, got 0`.
// --messages=file:PATH: reads the file into the spec with its hash
// (InvalidArgument naming it when it cannot be read, is empty or is over
// 64 MiB).
absl::StatusOr<protocol::RunSpec> ToRunSpec(const Scenario& scenario);

// A run made ready: the scenario and the RunSpec made from it, kept
// together so that what runs (the spec) and what the reports say of it (the
// scenario) cannot come from two different command lines.
struct RunPlan {
  Scenario scenario;
  protocol::RunSpec spec;
};
// `scenario` with ToRunSpec's spec.
absl::StatusOr<RunPlan> PlanRun(Scenario scenario);

// ToRunSpec, and with `duration_from_stages` (-duration left out) the run
// lasts exactly its --stages and --read-stages (the longer of the two, when
// either is given): `scenario->duration` and the spec's are set to that. The
// stages are parsed once, here.
absl::StatusOr<protocol::RunSpec> ToRunSpec(Scenario* scenario,
                                            bool duration_from_stages);

// Builds the run's message source as its first agent will (InvalidArgument
// naming a file with no line readable in its format) and records what it
// found and measured in `scenario->messages_facts`. `spec`: the run's, from
// ToRunSpec, its seed resolved.
absl::Status ResolveMessages(Scenario* scenario,
                             const protocol::RunSpec& spec);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_SCENARIO_H_
