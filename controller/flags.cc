#include "controller/flags.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/agent_discovery.h"
#include "report/concurrency.h"
#include "report/thresholds.h"
#include "status/status_macros.h"

namespace loadtest::controller {

using report::AutoWriters;
using report::GuideThresholdTexts;
using report::ParseThreshold;
using report::Threshold;
using report::WriteLatencyBound;

namespace {

std::string PresetHelp() {
  std::vector<std::string> lines;
  for (const auto& p : Presets()) {
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

}  // namespace

int64_t RandomSeed() {
  std::random_device device;
  std::uniform_int_distribution<int64_t> pick(
      1, std::numeric_limits<int64_t>::max());
  return pick(device);
}

const char kLoadtestIntro[] =
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
    "  loadtest --stages=30s:500,2m:5000,30s:0 --writers=50\n"
    "  loadtest find-max --slo='write_p99<100ms'\n"
    "  loadtest tune --vary=batch-size:100,400 --slo='write_p99<100ms'\n"
    "  loadtest --threshold='write_p99<50ms' --threshold='error_rate<1%'\n"
    "  loadtest --threshold-preset=guide --abort-on-fail --html=report.html\n"
    "  loadtest --scenario=moderate --out=run.json --csv=run\n"
    "  loadtest --agents=10.0.0.7:7070,10.0.0.8:7070 --duration=60s\n"
    "  loadtest --agents=dns:///agent:7070 --scenario=heavy --out=heavy.json\n"
    "  loadtest repeat --runs=3 --b-flags='-batch-size=5' -- "
    "--scenario=moderate --seed=11\n"
    "  loadtest compare a1.json a2.json a3.json -- b1.json b2.json b3.json\n"
    "(loadtest find-max --help, loadtest tune --help, loadtest repeat "
    "--help, loadtest compare --help for theirs.)\n";

void RegisterFlags(cli::FlagSet* flags, CommandLine* cl) {
  flags->AddSection("The original tool's flags");
  flags->AddString("db", &cl->scenario.db, "Database file (created when missing).");
  flags->AddDuration("duration", &cl->scenario.duration, "How long the test runs.");
  flags->AddInt("writers", &cl->scenario.writers,
                "Concurrent writer threads. With --write-rate (and in "
                "find-max) the default is 2 x rate x the loosest write "
                "latency threshold (100ms without one), 8 to 1024 per "
                "agent; open-loop writes go to whichever writer is free.");
  flags->AddInt("readers", &cl->scenario.readers, "Concurrent reader threads.");
  flags->AddInt("batch-size", &cl->scenario.batch_size,
               "Most rows committed in one transaction (1..100000, at most "
               "-queue-size).");
  flags->AddDuration("batch-timeout", &cl->scenario.batch_timeout,
                    "Longest a batch waits to fill after its first row (with "
                    "-batch-policy=linger; the default group commit never "
                    "waits longer, usually much less).");
  flags->AddInt("queue-size", &cl->scenario.queue_size,
               "Writes that may wait for the writer; a write finding the queue "
               "full is refused at once and counted.");
  flags->AddInt("metrics-port", &cl->scenario.metrics_port,
               "Port of the Prometheus /metrics endpoint served during the "
               "run (0 picks a free port). A port in use is an error. Ignored "
               "with --agents: each agent serves its own (loadtest-agent "
               "--metrics-port).");
  flags->AddDuration("log-interval", &cl->scenario.log_interval,
                    "How often a line of figures is printed (>= 100ms).");

  flags->AddSection("Agents");
  flags->AddString(
      "agents", &cl->agents,
      "Run on these loadtest-agents instead of in this process: a "
      "comma-separated list of host:port (IPv6 as [::1]:7070) and "
      "dns:///name:port entries. dns:///name:port stands for EVERY address "
      "the name resolves to (A and AAAA records), one agent each, as docker "
      "compose --scale and Kubernetes headless services give. -db must then "
      "be a plain file name.");
  flags->AddDuration("start-delay", &cl->start_delay,
                    "With --agents: every agent starts its workload this long "
                    "after it receives the run, so all start together "
                    "(0s..1m).");

  flags->AddString("auth-token-file", &cl->auth.token_file,
                  "With --agents: send this shared token (the file's content, "
                  "trimmed) with every call, for agents started with "
                  "--auth-token-file.");
  flags->AddString("tls-ca", &cl->auth.tls_ca_file,
                  "With --agents: talk TLS and trust agents whose certificate "
                  "this CA signed (PEM).");
  flags->AddString("tls-cert", &cl->auth.tls_cert_file,
                  "With --agents and --tls-ca: present this client "
                  "certificate (PEM; with --tls-key), for agents started with "
                  "--tls-client-ca (mutual TLS).");
  flags->AddString("tls-key", &cl->auth.tls_key_file,
                  "The private key of --tls-cert (PEM).");
  flags->AddString("tls-server-name", &cl->auth.tls_server_name,
                  "With --tls-ca: check the agents' certificates against this "
                  "name instead of each target's host (e.g. the DNS name "
                  "when dns:/// resolved it to addresses).");

  flags->AddSection("Workload");
  flags->AddString("scenario", &cl->scenario_name, PresetHelp());
  flags->AddDuration("write-delay", &cl->scenario.write_delay,
                    "Closed loop: pause of each writer after each write.");
  flags->AddDuration("read-delay", &cl->scenario.read_delay,
                    "Closed loop: pause of each reader after each read.");
  flags->AddDouble("write-rate", &cl->scenario.write_rate,
                  "Open loop: writes per second per agent (like -writers), "
                  "paced on a schedule; latency counts from each write's "
                  "scheduled time. 0 = closed loop.");
  flags->AddDouble("read-rate", &cl->scenario.read_rate,
                  "Open loop: reads per second per agent. 0 = closed loop.");
  flags->AddString(
      "stages", &cl->scenario.stages,
      "Open loop, ramped: DURATION:RATE,... e.g. 30s:500,2m:5000,30s:0 "
      "ramps the write rate linearly from 0 to 500/s over 30s, to 5000/s "
      "over 2m, then down to 0 (a 0s stage jumps). RATE is the total across "
      "agents, split evenly (--stages-per-agent: per agent). -duration "
      "defaults to the stages' sum; a longer one holds the last rate. "
      "Latency counts from each write's scheduled time. Excludes "
      "--write-rate.");
  flags->AddString("read-stages", &cl->scenario.read_stages,
                   "As --stages, for the read rate. Excludes --read-rate.");
  flags->AddBool("stages-per-agent", &cl->scenario.stages_per_agent,
                 "The rates of --stages and --read-stages are per agent, "
                 "not totals.");
  flags->AddInt("seed", &cl->scenario.seed,
                "Seed of the generated messages: every agent's and writer's "
                "generator derives from it, so the same seed and agent count "
                "write the same messages per writer. Default (or 0): random, "
                "printed at the start and kept in the report (run.seed).");

  flags->AddString(
      "messages", &cl->scenario.messages,
      "Where the written messages come from (docs/messages.md): original "
      "(the original tool's generator: a fixed sentence and about twenty "
      "words), realistic (seeded; sshd, kernel, HTTP access, systemd, JSON "
      "application and database lines with real logs' lengths, growing "
      "vocabulary and skewed values) or file:PATH (replay your own log "
      "file, at most 64 MiB, read by this process and sent to every agent; "
      "each writer starts at a seeded line and loops).");
  flags->AddString("messages-format", &cl->scenario.messages_format,
                   "With --messages=file:PATH: auto (judged on the first "
                   "line), rfc5424, rfc3164 (BSD syslog, as /var/log/syslog), "
                   "plain (a line is a message) or jsonl (a \"message\" "
                   "field; journalctl -o json works). Malformed lines are "
                   "counted and skipped.");
  flags->AddString("write-dispatch", &cl->scenario.write_dispatch,
                   "How open-loop writes (--write-rate, --stages) reach the "
                   "store: async (the default: two threads submit each due "
                   "write without waiting for it; the store's queue bounds "
                   "the writes in flight, and -writers is the number of row "
                   "streams, not threads) or threads (one thread per writer, "
                   "blocked in each write it took). Closed-loop writers are "
                   "always threads.");
  flags->AddString("search-terms", &cl->scenario.search_terms,
                   "What the readers search for: original (the original "
                   "tool's five fixed queries; the default with "
                   "--messages=original), common (the most frequent words, "
                   "hostnames and app names of the source: long posting "
                   "lists), rare (from the tail: short ones) or mixed (both "
                   "in turn; the default otherwise).");

  flags->AddSection("Store");
  flags->AddDuration("write-timeout", &cl->scenario.write_timeout,
                    "A write not committed within this is reported timed out "
                    "(the store still tells whether it committed later).");
  flags->AddString("schema", &cl->scenario.schema,
                  "full: the original schema (FTS5 and twelve indexes); lean: "
                  "primary key and a timestamp index.");
  flags->AddString("sync", &cl->scenario.sync, "PRAGMA synchronous: off, normal or full.");
  flags->AddString("batch-policy", &cl->scenario.batch_policy,
                  "group: commit whatever is queued as soon as the writer is "
                  "free; linger: the original's rule, wait -batch-timeout for "
                  "a full batch.");
  flags->AddString("temp-store", &cl->scenario.temp_store,
                  "Where the write connection keeps SQLite's statement "
                  "journals: memory (each INSERT's FTS5 trigger journals "
                  "about fifteen pages; in memory that is a copy, measured "
                  "+60 % on the full schema) or file (SQLite's default: "
                  "spilled to a temporary file, two system calls a page).");
  flags->AddString("fts-sync", &cl->scenario.fts_sync,
                  "How the full schema's FTS5 index learns of new rows: "
                  "trigger (OpenTrail's schema: a trigger indexes each row) "
                  "or batch (the writer indexes a batch's rows with one "
                  "statement before its COMMIT, in the same transaction; "
                  "the same search results). The file keeps the last mode "
                  "it was opened with.");
  flags->AddInt("fts-automerge", &cl->scenario.fts_automerge,
                "FTS5's automerge of the index, 0..64 (0: never merge "
                "segments in the background; -1: SQLite's default, 4).");
  flags->AddInt("fts-crisismerge", &cl->scenario.fts_crisismerge,
                "FTS5's crisismerge, 2..1999: segments at which a level is "
                "merged at once, inside a write (-1: SQLite's default, 16).");
  flags->AddInt("fts-pgsz", &cl->scenario.fts_pgsz,
                "FTS5's index page size in bytes, 32..65536 (-1: SQLite's "
                "default, 4050).");
  flags->AddInt("cache-size-kib", &cl->scenario.cache_size_kib,
                "SQLite page cache of the store's write connection, in KiB "
                "(1024..4194304; 2000 measured fastest, docs/store-performance.md).");
  flags->AddInt("reader-mmap-mib", &cl->scenario.reader_mmap_mib,
                "MiB of the database each reader memory-maps (0..65536; 0 = "
                "off: no measurable gain here).");
  flags->AddInt("reader-nice", &cl->scenario.reader_nice,
                "Writer priority: reader threads lower their own scheduling "
                "priority to this nice value (0..19; 0 = off). 5 kept the "
                "burst scenario's reads above 2.2k/s while the writer gained.");
  flags->AddBool("fresh", &cl->scenario.fresh,
                "Drop the existing log tables first (default: keep the data; "
                "the audit counts only this run's rows).");

  flags->AddSection("Pass or fail");
  flags->AddStringList(
      "threshold", &cl->threshold_texts,
      "A condition the run must meet, checked at the end (and live with "
      "--abort-on-fail); exit code 2 when one fails. [SCOPE:]METRIC OP VALUE[UNIT], e.g. write_p95<100ms, "
      "error_rate<1%, writes_per_s>=5000, lost==0, each:write_p99<200ms. "
      "SCOPE: total (default), each (every agent) or an agent id. METRIC: "
      "writes_per_s reads_per_s write_p50 write_p95 write_p99 write_p999 "
      "write_max (and read_...) error_rate queue_utilization write_errors "
      "write_timeouts queue_full read_errors lost; on the run's stability "
      "verdict (total only, judged at the end; docs/stability.md): stable "
      "throughput_drift p99_drift, e.g. stable==1, throughput_drift<5%. "
      "OP: < <= > >= ==. UNIT: "
      "ns us ms s for latencies (default ms), % for rates of errors and the "
      "queue.");
  flags->AddString("threshold-preset", &cl->threshold_preset,
                  "guide: the load-testing guide's targets as thresholds "
                  "(writes_per_s>=5000, write_p95<100ms, write_p99<200ms, "
                  "queue_utilization<80%, error_rate<1%).");
  flags->AddBool("abort-on-fail", &cl->output.abort_on_fail,
                "Check the thresholds after every interval on the figures so "
                "far and stop the run cleanly (agents drain, audit and report) "
                "as soon as one can no longer hold: a count (errors, "
                "timeouts, queue_full, lost) or a peak (write_max, read_max, "
                "queue_utilization) over its bound at once; percentiles, "
                "rates and error_rate once -abort-grace has passed. Exit code "
                "2.");
  flags->AddDuration("abort-grace", &cl->output.abort_grace,
                    "With --abort-on-fail: how long into the run percentile, "
                    "rate and error_rate thresholds are not yet judged live "
                    "(warm-up).");

  flags->AddSection("Output");
  flags->AddString("out", &cl->output.out_path,
                  "Also write the report as JSON to this file: the manifest "
                  "(tool version, every parameter, start and end time, each "
                  "agent's id, address and version), the summary per agent "
                  "and in total, thresholds, audit, and every interval.");
  flags->AddString("csv", &cl->output.csv_prefix,
                  "Also write PREFIX_intervals.csv (a row per agent per "
                  "interval, then the interval's TOTAL) and "
                  "PREFIX_summary.csv (a row per agent, then TOTAL, with the "
                  "audit).");
  flags->AddString("html", &cl->output.html_path,
                  "Also write a self-contained HTML report to this file: "
                  "verdict, manifest, summary, thresholds, audit, and charts "
                  "over time (throughput, p95/p99, queue, errors; per agent "
                  "and total). It loads nothing from the network.");
  flags->AddString("prometheus-targets", &cl->prometheus_targets,
                  "Write a Prometheus file_sd JSON listing the /metrics address "
                  "of every agent of this run (label agent=<id>) before it "
                  "starts, for prometheus.yml's file_sd job.");
  flags->AddString("metrics-address", &cl->metrics_address,
                  "Address the /metrics endpoint binds to (without --agents).");

  flags->AddString("out-intervals", &cl->output.intervals_path,
                   "Write every agent's figures of every interval to this "
                   "file as JSON Lines (one object per agent per interval: "
                   "sequence, start_s, end_s, agent_id and the figures), as "
                   "they arrive. Default with --out: beside it, its name "
                   "ending .intervals.jsonl instead of .json. --out then "
                   "keeps each interval's total only, so neither the report "
                   "nor the controller's memory grows with agents x "
                   "intervals.");
}

absl::StatusOr<Invocation> ResolveCommandLine(const cli::FlagSet& flags,
                                              CommandLine cl) {
  Invocation run;
  run.plan.scenario = std::move(cl.scenario);
  if (!cl.scenario_name.empty()) {
    RETURN_IF_ERROR(ApplyPreset(
        cl.scenario_name, [&flags](const char* name) { return flags.IsSet(name); },
        &run.plan.scenario));
  }
  if (!cl.threshold_preset.empty()) {
    if (cl.threshold_preset != "guide") {
      return absl::InvalidArgumentError(absl::StrCat(
          "threshold-preset must be guide, got \"", cl.threshold_preset, "\""));
    }
    const auto& guide = GuideThresholdTexts();
    cl.threshold_texts.insert(cl.threshold_texts.begin(), guide.begin(),
                              guide.end());
  }
  run.options.output = std::move(cl.output);
  OutputOptions& output = run.options.output;
  for (const std::string& text : cl.threshold_texts) {
    ASSIGN_OR_RETURN(Threshold threshold, ParseThreshold(text));
    output.thresholds.push_back(std::move(threshold));
  }
  if (output.abort_on_fail && output.thresholds.empty()) {
    return absl::InvalidArgumentError(
        "--abort-on-fail needs a --threshold or --threshold-preset");
  }
  if (output.abort_grace < std::chrono::nanoseconds(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("abort-grace must be >= 0, got ",
                     cli::FormatDuration(output.abort_grace)));
  }
  // Given with no value, a ramp is a mistake, not "no ramp": --stages=
  // would otherwise run a closed loop.
  for (const auto& [flag, text] :
       {std::pair<const char*, const std::string&>{"stages",
                                                   run.plan.scenario.stages},
        std::pair<const char*, const std::string&>{"read-stages",
                                                   run.plan.scenario.read_stages}}) {
    if (flags.IsSet(flag) && text.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, " needs DURATION:RATE stages (e.g. 30s:500,2m:5000), got an "
                "empty value"));
    }
  }
  if (run.plan.scenario.seed == 0) run.plan.scenario.seed = RandomSeed();
  // Open loop at a constant rate dispatched by writer threads, without
  // -writers (or a --scenario giving them): enough writers for the rate
  // (report/concurrency.h). Async dispatch needs no thread per write.
  if (run.plan.scenario.write_rate > 0 && !flags.IsSet("writers") &&
      cl.scenario_name.empty() && run.plan.scenario.write_dispatch == "threads") {
    run.plan.scenario.writers = AutoWriters(run.plan.scenario.write_rate,
                                       WriteLatencyBound(output.thresholds));
  }
  // With stages and no explicit -duration, the run lasts exactly the
  // stages (the longer of writes' and reads').
  ASSIGN_OR_RETURN(run.plan.spec,
                   ToRunSpec(&run.plan.scenario, !flags.IsSet("duration")));
  RETURN_IF_ERROR(ResolveMessages(&run.plan.scenario, run.plan.spec));
  run.options.prometheus_targets_path = std::move(cl.prometheus_targets);
  run.distributed = flags.IsSet("agents");
  if (run.distributed) {
    run.agents = std::move(cl.agents);
    run.auth = std::move(cl.auth);
    run.options.start_delay = cl.start_delay;
    // Checked before any name is resolved or any agent contacted.
    RETURN_IF_ERROR(CheckDistributedRun(run.plan.scenario, cl.start_delay));
    return run;
  }
  for (const char* flag : {"start-delay", "auth-token-file", "tls-ca",
                           "tls-cert", "tls-key", "tls-server-name"}) {
    if (flags.IsSet(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " needs --agents"));
    }
  }
  run.options.metrics_listen =
      absl::StrCat(cl.metrics_address, ":", run.plan.scenario.metrics_port);
  return run;
}

absl::Status ConnectAgents(Invocation* run) {
  if (!run->distributed) return absl::OkStatus();
  ASSIGN_OR_RETURN(run->options.auth, security::ClientAuth::Create(run->auth));
  ASSIGN_OR_RETURN(std::vector<std::string> targets,
                   ResolveAgentTargets(run->agents));
  if (targets.empty()) {
    return absl::InvalidArgumentError("--agents names no agent");
  }
  run->options.agent_targets = std::move(targets);
  return absl::OkStatus();
}

int RunMain(int argc, char** argv) {
  auto usage = [](const absl::Status& status) {
    std::fprintf(stderr, "loadtest: %s\n", std::string(status.message()).c_str());
    return kExitUsage;
  };
  CommandLine command_line;
  cli::FlagSet flags("loadtest", kLoadtestIntro);
  RegisterFlags(&flags, &command_line);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;  // 0 after --help, kExitUsage (1) on a bad command line.
  }
  absl::StatusOr<Invocation> run =
      ResolveCommandLine(flags, std::move(command_line));
  if (!run.ok()) return usage(run.status());
  if (absl::Status s = ConnectAgents(&*run); !s.ok()) return usage(s);
  const absl::StatusOr<RunOutcome> outcome =
      RunLoadTest(run->plan, run->options);
  if (!outcome.ok()) usage(outcome.status());
  return ExitCode(outcome);
}

}  // namespace loadtest::controller
