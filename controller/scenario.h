// Scenario: the parameters of one load test as the user gives them (the
// original tool's flags plus ours), the load-testing guide's presets, and
// the translation into the agent's RunSpec with every value checked.
// Plain values and pure functions; safe from any thread.
#ifndef LOADTEST_CONTROLLER_SCENARIO_H_
#define LOADTEST_CONTROLLER_SCENARIO_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/run_spec.h"

namespace loadtest::controller {

// Defaults are the original tool's (`-db=loadtest.db -duration=60s ...`).
struct Scenario {
  std::string db = "loadtest.db";
  std::chrono::nanoseconds duration = std::chrono::seconds(60);
  int64_t writers = 10;
  int64_t readers = 5;
  int64_t batch_size = 100;
  std::chrono::nanoseconds batch_timeout = std::chrono::milliseconds(10);
  int64_t queue_size = 10000;
  int64_t metrics_port = 8080;
  std::chrono::nanoseconds log_interval = std::chrono::seconds(5);
  std::chrono::nanoseconds write_delay = std::chrono::milliseconds(1);
  std::chrono::nanoseconds read_delay = std::chrono::milliseconds(10);
  double write_rate = 0;
  double read_rate = 0;
  // --stages / --read-stages: open-loop rates ramped stage by stage from 0
  // ("30s:500,2m:5000,30s:0", protocol::ParseStages); the targets are
  // totals across agents, split evenly, unless stages_per_agent.
  std::string stages;
  std::string read_stages;
  bool stages_per_agent = false;
  // --seed: every agent's and writer's message generator derives from it.
  // 0 until resolved (ResolveCommandLine picks one at random).
  int64_t seed = 0;
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::string schema = "full";
  std::string sync = "normal";
  std::string batch_policy = "group";
  std::string temp_store = "memory";
  bool fresh = false;
  // Chosen by measurement (docs/store-performance.md); StoreOptions checks
  // the ranges.
  int64_t cache_size_kib = 2000;
  int64_t reader_mmap_mib = 0;
  int64_t reader_nice = 5;
};

// One of the load-testing guide's named scenarios.
struct Preset {
  const char* name;
  const char* description;
  int writers;
  int readers;
  int batch_size;
  std::chrono::seconds duration;
};
const std::vector<Preset>& Presets();

// Applies preset `name` to `scenario`, leaving alone every field whose flag
// `is_set` says the user gave explicitly (explicit flags win). Unknown name:
// InvalidArgument listing the known ones.
absl::Status ApplyPreset(const std::string& name,
                         const std::function<bool(const char* flag)>& is_set,
                         Scenario* scenario);

// Checks every value and builds the agent's RunSpec. Errors are
// InvalidArgument naming the flag and the value, e.g.
// `batch-size must be between 1 and 100000, got 0`.
absl::StatusOr<protocol::RunSpec> ToRunSpec(const Scenario& scenario);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_SCENARIO_H_
