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
#include "nlohmann/json.hpp"
#include "controller/local_run.h"
#include "controller/remote_run.h"
#include "controller/scenario.h"
#include "controller/thresholds.h"

namespace {

using loadtest::controller::Scenario;

constexpr char kIntro[] =
    "loadtest: load-tests OpenTrail's batched SQLite log store.\n"
    "\n"
    "With no agents it runs the store and the workload in this process (the\n"
    "embedded default): writers and readers for -duration, a line of figures\n"
    "every -log-interval, Prometheus metrics on -metrics-port, and at the end a\n"
    "summary with the load-testing guide's targets and a durability audit\n"
    "(rows in the database versus writes acknowledged).\n"
    "\n"
    "With --agents it runs the same scenario on every loadtest-agent named,\n"
    "started together: each agent runs -writers and -readers against its own\n"
    "store (-db inside its --data-dir) and serves its own /metrics; a line per\n"
    "agent and a TOTAL line every -log-interval; one summary merged exactly\n"
    "across agents, with each agent's audit. An agent that fails mid-run is\n"
    "reported lost at once and the others go on; the result is then partial.\n"
    "\n"
    "Flags take one or two dashes: -writers=20, --writers 20.\n"
    "Durations: 300ms, 10s, 1m30s, 2h.\n"
    "\n"
    "Exit codes: 0 the run completed, the audit passed and every threshold\n"
    "held; 1 usage or setup error (bad flag or threshold, unwritable\n"
    "database, port in use, an agent unreachable or busy); 2 the durability\n"
    "audit or a threshold failed (or --abort-on-fail stopped the run); 3\n"
    "partial result: an agent was lost mid-run; 130/143 interrupted by\n"
    "SIGINT/SIGTERM (the summary and audit are still printed).\n"
    "\n"
    "Examples:\n"
    "  loadtest -duration=60s -writers=10 -readers=5 -batch-size=100\n"
    "  loadtest --scenario=burst --duration=20s --out=burst.json\n"
    "  loadtest --write-rate=2000 --readers=2 --duration=30s\n"
    "  loadtest --threshold='write_p99<50ms' --threshold='error_rate<1%'\n"
    "  loadtest --threshold-preset=guide --abort-on-fail --html=report.html\n"
    "  loadtest --scenario=moderate --out=run.json --csv=run\n"
    "  loadtest --agents=10.0.0.7:7070,10.0.0.8:7070 --duration=60s\n"
    "  loadtest --agents=dns:///agent:7070 --scenario=heavy --out=heavy.json\n"
    "  loadtest compare before.json after.json --tolerance=5\n";

// A usage or setup error: one line on stderr, exit code kExitUsage.
int UsageError(const absl::Status& status) {
  std::fprintf(stderr, "loadtest: %s\n", std::string(status.message()).c_str());
  return loadtest::controller::kExitUsage;
}

std::string PresetHelp() {
  std::vector<std::string> lines;
  for (const auto& p : loadtest::controller::Presets()) {
    lines.push_back(absl::StrCat(p.name, " (", p.writers, " writers, ",
                                 p.readers, " readers, batch ", p.batch_size,
                                 ", ", p.duration.count(), "s: ",
                                 p.description, ")"));
  }
  return absl::StrCat(
      "A preset of the load-testing guide; flags given explicitly override "
      "it. One of: ",
      absl::StrJoin(lines, "; "));
}

// `loadtest compare A.json B.json [--tolerance=5]`.
int Compare(int argc, char** argv) {
  double tolerance_percent = 5;
  loadtest::cli::FlagSet flags(
      "loadtest compare",
      "loadtest compare A.json B.json: the key figures of two runs' --out "
      "reports side by side\nwith the change in percent; regressions beyond "
      "--tolerance are marked.\nExit codes: 0 no regression; 1 usage error "
      "(missing or unreadable report); 2 a regression.\n");
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
  Scenario s;
  std::string scenario_name;
  loadtest::controller::OutputOptions output;
  std::string prometheus_targets;
  std::vector<std::string> threshold_texts;
  std::string threshold_preset;
  std::string metrics_address = "0.0.0.0";
  std::string agents_flag;
  std::chrono::nanoseconds start_delay = std::chrono::seconds(1);
  loadtest::security::ClientAuthOptions auth_options;

  loadtest::cli::FlagSet flags("loadtest", kIntro);
  flags.AddSection("The original tool's flags");
  flags.AddString("db", &s.db, "Database file (created when missing).");
  flags.AddDuration("duration", &s.duration, "How long the test runs.");
  flags.AddInt("writers", &s.writers, "Concurrent writer threads.");
  flags.AddInt("readers", &s.readers, "Concurrent reader threads.");
  flags.AddInt("batch-size", &s.batch_size,
               "Most rows committed in one transaction (1..100000, at most "
               "-queue-size).");
  flags.AddDuration("batch-timeout", &s.batch_timeout,
                    "Longest a batch waits to fill after its first row (with "
                    "-batch-policy=linger; the default group commit never "
                    "waits longer, usually much less).");
  flags.AddInt("queue-size", &s.queue_size,
               "Writes that may wait for the writer; a write finding the queue "
               "full is refused at once and counted.");
  flags.AddInt("metrics-port", &s.metrics_port,
               "Port of the Prometheus /metrics endpoint served during the "
               "run (0 picks a free port). A port in use is an error. Ignored "
               "with --agents: each agent serves its own (loadtest-agent "
               "--metrics-port).");
  flags.AddDuration("log-interval", &s.log_interval,
                    "How often a line of figures is printed (>= 100ms).");

  flags.AddSection("Agents");
  flags.AddString(
      "agents", &agents_flag,
      "Run on these loadtest-agents instead of in this process: a "
      "comma-separated list of host:port (IPv6 as [::1]:7070) and "
      "dns:///name:port entries. dns:///name:port stands for EVERY address "
      "the name resolves to (A and AAAA records), one agent each, as docker "
      "compose --scale and Kubernetes headless services give. -db must then "
      "be a plain file name.");
  flags.AddDuration("start-delay", &start_delay,
                    "With --agents: every agent starts its workload this long "
                    "after it receives the run, so all start together "
                    "(0s..1m).");

  flags.AddString("auth-token-file", &auth_options.token_file,
                  "With --agents: send this shared token (the file's content, "
                  "trimmed) with every call, for agents started with "
                  "--auth-token-file.");
  flags.AddString("tls-ca", &auth_options.tls_ca_file,
                  "With --agents: talk TLS and trust agents whose certificate "
                  "this CA signed (PEM).");
  flags.AddString("tls-cert", &auth_options.tls_cert_file,
                  "With --agents and --tls-ca: present this client "
                  "certificate (PEM; with --tls-key), for agents started with "
                  "--tls-client-ca (mutual TLS).");
  flags.AddString("tls-key", &auth_options.tls_key_file,
                  "The private key of --tls-cert (PEM).");
  flags.AddString("tls-server-name", &auth_options.tls_server_name,
                  "With --tls-ca: check the agents' certificates against this "
                  "name instead of each target's host (e.g. the DNS name "
                  "when dns:/// resolved it to addresses).");

  flags.AddSection("Workload");
  flags.AddString("scenario", &scenario_name, PresetHelp());
  flags.AddDuration("write-delay", &s.write_delay,
                    "Closed loop: pause of each writer after each write.");
  flags.AddDuration("read-delay", &s.read_delay,
                    "Closed loop: pause of each reader after each read.");
  flags.AddDouble("write-rate", &s.write_rate,
                  "Open loop: writes per second per agent (like -writers), "
                  "paced on a schedule; latency counts from each write's "
                  "scheduled time. 0 = closed loop.");
  flags.AddDouble("read-rate", &s.read_rate,
                  "Open loop: reads per second per agent. 0 = closed loop.");

  flags.AddSection("Store");
  flags.AddDuration("write-timeout", &s.write_timeout,
                    "A write not committed within this is reported timed out "
                    "(the store still tells whether it committed later).");
  flags.AddString("schema", &s.schema,
                  "full: the original schema (FTS5 and twelve indexes); lean: "
                  "primary key and a timestamp index.");
  flags.AddString("sync", &s.sync, "PRAGMA synchronous: off, normal or full.");
  flags.AddString("batch-policy", &s.batch_policy,
                  "group: commit whatever is queued as soon as the writer is "
                  "free; linger: the original's rule, wait -batch-timeout for "
                  "a full batch.");
  flags.AddBool("fresh", &s.fresh,
                "Drop the existing log tables first (default: keep the data; "
                "the audit counts only this run's rows).");

  flags.AddSection("Pass or fail");
  flags.AddStringList(
      "threshold", &threshold_texts,
      "A condition the run must meet, checked at the end (and live with "
      "--abort-on-fail); exit code 2 when one fails. [SCOPE:]METRIC OP VALUE[UNIT], e.g. write_p95<100ms, "
      "error_rate<1%, writes_per_s>=5000, lost==0, each:write_p99<200ms. "
      "SCOPE: total (default), each (every agent) or an agent id. METRIC: "
      "writes_per_s reads_per_s write_p50 write_p95 write_p99 write_p999 "
      "write_max (and read_...) error_rate queue_utilization write_errors "
      "write_timeouts queue_full read_errors lost. OP: < <= > >= ==. UNIT: "
      "ns us ms s for latencies (default ms), % for rates of errors and the "
      "queue.");
  flags.AddString("threshold-preset", &threshold_preset,
                  "guide: the load-testing guide's targets as thresholds "
                  "(writes_per_s>=5000, write_p95<100ms, write_p99<200ms, "
                  "queue_utilization<80%, error_rate<1%).");
  flags.AddBool("abort-on-fail", &output.abort_on_fail,
                "Check the thresholds after every interval on the figures so "
                "far and stop the run cleanly (agents drain, audit and report) "
                "as soon as one can no longer hold: a count (errors, "
                "timeouts, queue_full, lost) or a peak (write_max, read_max, "
                "queue_utilization) over its bound at once; percentiles, "
                "rates and error_rate once -abort-grace has passed. Exit code "
                "2.");
  flags.AddDuration("abort-grace", &output.abort_grace,
                    "With --abort-on-fail: how long into the run percentile, "
                    "rate and error_rate thresholds are not yet judged live "
                    "(warm-up).");

  flags.AddSection("Output");
  flags.AddString("out", &output.out_path,
                  "Also write the report as JSON to this file: the manifest "
                  "(tool version, every parameter, start and end time, each "
                  "agent's id, address and version), the summary per agent "
                  "and in total, thresholds, audit, and every interval.");
  flags.AddString("csv", &output.csv_prefix,
                  "Also write PREFIX_intervals.csv (a row per agent per "
                  "interval, then the interval's TOTAL) and "
                  "PREFIX_summary.csv (a row per agent, then TOTAL, with the "
                  "audit).");
  flags.AddString("html", &output.html_path,
                  "Also write a self-contained HTML report to this file: "
                  "verdict, manifest, summary, thresholds, audit, and charts "
                  "over time (throughput, p95/p99, queue, errors; per agent "
                  "and total). It loads nothing from the network.");
  flags.AddString("prometheus-targets", &prometheus_targets,
                  "Write a Prometheus file_sd JSON listing the /metrics address "
                  "of every agent of this run (label agent=<id>) before it "
                  "starts, for prometheus.yml's file_sd job.");
  flags.AddString("metrics-address", &metrics_address,
                  "Address the /metrics endpoint binds to (without --agents).");

  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;  // 0 after --help, kExitUsage (1) on a bad command line.
  }
  if (!scenario_name.empty()) {
    if (absl::Status status = loadtest::controller::ApplyPreset(
            scenario_name,
            [&flags](const char* name) { return flags.IsSet(name); }, &s);
        !status.ok()) {
      return UsageError(status);
    }
  }
  if (!threshold_preset.empty()) {
    if (threshold_preset != "guide") {
      return UsageError(absl::InvalidArgumentError(absl::StrCat(
          "threshold-preset must be guide, got \"", threshold_preset, "\"")));
    }
    const auto& guide = loadtest::controller::GuideThresholdTexts();
    threshold_texts.insert(threshold_texts.begin(), guide.begin(), guide.end());
  }
  for (const std::string& text : threshold_texts) {
    auto threshold = loadtest::controller::ParseThreshold(text);
    if (!threshold.ok()) return UsageError(threshold.status());
    output.thresholds.push_back(*threshold);
  }
  if (output.abort_on_fail && output.thresholds.empty()) {
    return UsageError(absl::InvalidArgumentError(
        "--abort-on-fail needs a --threshold or --threshold-preset"));
  }
  if (output.abort_grace < std::chrono::nanoseconds(0)) {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("abort-grace must be >= 0, got ",
                     loadtest::cli::FormatDuration(output.abort_grace))));
  }
  auto spec = loadtest::controller::ToRunSpec(s);
  if (!spec.ok()) {
    return UsageError(spec.status());
  }
  if (flags.IsSet("agents")) {
    loadtest::controller::RemoteRunOptions remote;
    remote.output = output;
    auto auth = loadtest::security::ClientAuth::Create(auth_options);
    if (!auth.ok()) {
      return UsageError(auth.status());
    }
    remote.auth = *auth;
    remote.prometheus_targets_path = prometheus_targets;
    remote.start_delay = start_delay;
    // Checked before any name is resolved or any agent contacted.
    if (absl::Status status =
            loadtest::controller::CheckRemoteScenario(s, remote);
        !status.ok()) {
      return UsageError(status);
    }
    auto targets = loadtest::controller::ResolveAgentTargets(agents_flag);
    if (!targets.ok()) {
      return UsageError(targets.status());
    }
    return loadtest::controller::RunRemote(s, *spec, *targets, remote);
  }
  for (const char* flag : {"start-delay", "auth-token-file", "tls-ca",
                           "tls-cert", "tls-key", "tls-server-name"}) {
    if (flags.IsSet(flag)) {
      return UsageError(absl::InvalidArgumentError(
          absl::StrCat("--", flag, " needs --agents")));
    }
  }
  loadtest::controller::LocalRunOptions options;
  options.output = output;
  options.prometheus_targets_path = prometheus_targets;
  options.metrics_listen = absl::StrCat(metrics_address, ":", s.metrics_port);
  return loadtest::controller::RunLocal(s, *spec, options);
}
