// flags_fuzzer: the `loadtest` command line from flag syntax to the RunSpec.
//
// The input is split into arguments at NUL bytes and parsed by a FlagSet
// holding loadtest's flags (the same names and kinds as controller/main.cc:
// string, int, double, bool, duration, repeatable string). A command line
// that parses goes on as in main(): the --scenario preset, the thresholds,
// ToRunSpec, and CheckRemoteScenario. Every argument is also parsed on its
// own with cli::ParseDuration.
//
// Errors are expected; what must hold (else the target traps):
//   - a parsed duration formats (FormatDuration) to text that parses back to
//     the same duration;
//   - a scenario the controller accepts for --agents (ToRunSpec and
//     CheckRemoteScenario OK) is accepted by the agent: its wire form, built
//     as remote_run.cc builds it, passes protocol::FromProto with the same
//     values. Otherwise the controller would start a run that agents refuse.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire.h"
#include "cli/flag_set.h"
#include "controller/remote_run.h"
#include "controller/scenario.h"
#include "controller/thresholds.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/run_spec_check.h"

namespace {

namespace cli = ::loadtest::cli;
namespace controller = ::loadtest::controller;
namespace agent = ::loadtest::agent;

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

  controller::Scenario s;
  std::string scenario_name;
  std::string prometheus_targets;
  std::vector<std::string> threshold_texts;
  std::string threshold_preset;
  std::string metrics_address = "0.0.0.0";
  std::string agents_flag;
  std::chrono::nanoseconds start_delay = std::chrono::seconds(1);
  std::string out_path;
  std::string csv_prefix;
  std::string html_path;
  bool abort_on_fail = false;
  std::chrono::nanoseconds abort_grace = std::chrono::seconds(10);

  cli::FlagSet flags("loadtest", "loadtest (fuzzed)\n");
  flags.AddSection("The original tool's flags");
  flags.AddString("db", &s.db, "Database file.");
  flags.AddDuration("duration", &s.duration, "How long the test runs.");
  flags.AddInt("writers", &s.writers, "Writer threads.");
  flags.AddInt("readers", &s.readers, "Reader threads.");
  flags.AddInt("batch-size", &s.batch_size, "Rows per transaction.");
  flags.AddDuration("batch-timeout", &s.batch_timeout, "Batch linger.");
  flags.AddInt("queue-size", &s.queue_size, "Queue size.");
  flags.AddInt("metrics-port", &s.metrics_port, "Metrics port.");
  flags.AddDuration("log-interval", &s.log_interval, "Report interval.");
  flags.AddSection("Agents");
  flags.AddString("agents", &agents_flag, "Agents.");
  flags.AddDuration("start-delay", &start_delay, "Start delay.");
  flags.AddSection("Workload");
  flags.AddString("scenario", &scenario_name, "Preset.");
  flags.AddDuration("write-delay", &s.write_delay, "Writer pause.");
  flags.AddDuration("read-delay", &s.read_delay, "Reader pause.");
  flags.AddDouble("write-rate", &s.write_rate, "Writes per second.");
  flags.AddDouble("read-rate", &s.read_rate, "Reads per second.");
  flags.AddSection("Store");
  flags.AddDuration("write-timeout", &s.write_timeout, "Write timeout.");
  flags.AddString("schema", &s.schema, "full or lean.");
  flags.AddString("sync", &s.sync, "off, normal or full.");
  flags.AddString("batch-policy", &s.batch_policy, "group or linger.");
  flags.AddBool("fresh", &s.fresh, "Drop the tables first.");
  flags.AddSection("Pass or fail");
  flags.AddStringList("threshold", &threshold_texts, "A threshold.");
  flags.AddString("threshold-preset", &threshold_preset, "guide.");
  flags.AddBool("abort-on-fail", &abort_on_fail, "Stop on a failure.");
  flags.AddDuration("abort-grace", &abort_grace, "Warm-up.");
  flags.AddSection("Output");
  flags.AddString("out", &out_path, "JSON report.");
  flags.AddString("csv", &csv_prefix, "CSV prefix.");
  flags.AddString("html", &html_path, "HTML report.");
  flags.AddString("prometheus-targets", &prometheus_targets, "file_sd JSON.");
  flags.AddString("metrics-address", &metrics_address, "Bind address.");

  std::vector<std::string> positional;
  const absl::Status parsed =
      flags.Parse(static_cast<int>(argv.size()), argv.data(), &positional);
  if (!parsed.ok()) return 0;
  if (flags.help_requested()) {
    FUZZ_CHECK(!flags.Usage().empty());
    return 0;
  }
  if (!scenario_name.empty()) {
    if (!controller::ApplyPreset(
             scenario_name,
             [&flags](const char* name) { return flags.IsSet(name); }, &s)
             .ok()) {
      return 0;
    }
  }
  if (threshold_preset == "guide") {
    const auto& guide = controller::GuideThresholdTexts();
    threshold_texts.insert(threshold_texts.begin(), guide.begin(), guide.end());
  }
  for (const std::string& text : threshold_texts) {
    (void)controller::ParseThreshold(text);
  }
  const absl::StatusOr<protocol::RunSpec> spec = controller::ToRunSpec(s);
  if (!spec.ok()) return 0;
  FUZZ_CHECK(protocol::ValidateRunSpec(*spec).ok());

  controller::RemoteRunOptions remote;
  remote.start_delay = start_delay;
  if (!controller::CheckRemoteScenario(s, remote).ok()) return 0;
  const protocol::pb::RunSpec wire =
      controller::ToWireRunSpec(s, *spec, "fuzz", start_delay);
  const absl::StatusOr<protocol::RunSpec> accepted =
      protocol::FromProto(wire, "/nonexistent-data-dir");
  FUZZ_CHECK(accepted.ok());
  // The agent gives the run its own id and path; every setting must agree.
  FUZZ_CHECK(loadtest::fuzz::SameSettings(*spec, *accepted));
  return 0;
}
