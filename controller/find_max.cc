#include "controller/find_max.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "cli/flag_set.h"
#include "cli/version.h"
#include "controller/flags.h"
#include "controller/run_end.h"
#include "protocol/agent_client.h"
#include "protocol/peer_text.h"
#include "protocol/validity.h"
#include "protocol/wire.h"
#include "report/concurrency.h"
#include "report/csv_report.h"
#include "report/display.h"
#include "report/find_max_judge.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/report_file.h"
#include "status/status_macros.h"
#include "sync/mutex.h"

namespace loadtest::controller {

// What this file uses of report/, named once here (every report is written
// by report/'s file writer; a local `report` is the usual name of the JSON
// being written, hence no `using namespace`).
using report::AgentSummary;
using report::AutoWriters;
using report::CheckOutputFiles;
using report::Figures;
using report::FindMaxCsv;
using report::FindMaxCsvPath;
using report::FindMaxEndText;
using report::FindMaxHeaderText;
using report::FindMaxHtmlReport;
using report::FindMaxReport;
using report::FindMaxReportJson;
using report::FindMaxSetup;
using report::JudgeStep;
using report::kMaxAutoWriters;
using report::OutputFile;
using report::ParseThreshold;
using report::RunSummary;
using report::Saturation;
using report::kSaturationWriters;
using report::StepTableHeader;
using report::StepTableRow;
using report::Threshold;
using report::WriteJsonFile;
using report::WriteTextFile;

namespace {

std::string Rate(double rate) { return absl::StrFormat("%.0f/s", rate); }

}  // namespace

std::string ScratchDbPath(const std::string& db) {
  return db + ".find-max";
}

namespace {

// The database the steps write: -db itself, or its scratch copy.
std::string StepDbPath(const FindMaxOptions& options, const std::string& db) {
  return options.step_db == "scratch" ? ScratchDbPath(db) : db;
}

// Removes the scratch database of an in-process search and its journals;
// what cannot be removed is said, not fatal.
void RemoveScratchDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string file = path + suffix;
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
      std::fprintf(stderr, "loadtest find-max: cannot remove %s: %s\n",
                   file.c_str(), std::strerror(errno));
    }
  }
}

}  // namespace

RateSearch::RateSearch(const FindMaxOptions& options) : options_(options) {}

std::optional<double> RateSearch::Next() const {
  if (!pass_.has_value()) {
    // Nothing passed yet: the start rate, unless it failed.
    if (fail_.has_value()) return std::nullopt;
    return options_.start_rate;
  }
  if (!fail_.has_value()) {
    // Everything so far passed: double, up to the most allowed.
    if (*pass_ >= options_.max_rate) return std::nullopt;
    return std::min(options_.max_rate, *pass_ * 2);
  }
  if (*fail_ - *pass_ <= options_.precision * *pass_) return std::nullopt;
  // Closer than that, the bisection cannot move the rate (and with a
  // precision of 1e-14 it would offer the same rate forever).
  if (*fail_ - *pass_ < 2 * kMinRateStep) return std::nullopt;
  return (*pass_ + *fail_) / 2;
}

void RateSearch::Record(double rate, bool passed) {
  if (passed) {
    if (!pass_.has_value() || rate > *pass_) pass_ = rate;
  } else {
    if (!fail_.has_value() || rate < *fail_) fail_ = rate;
  }
}

namespace {

// More offered, far less achieved than a lower rate got: the store
// collapsed under the load, or an agent misreports. Kept, and said.
void WarnIfNotMonotonic(const StepResult& step, FindMaxResult* result) {
  for (const StepResult& earlier : result->steps) {
    const double achieved = step.measured.total.writes_per_s();
    const double before = earlier.measured.total.writes_per_s();
    if (earlier.interrupted.empty() &&
        earlier.offered_rate < step.offered_rate && achieved < 0.9 * before) {
      result->warnings.push_back(absl::StrFormat(
          "step %d: offered %s achieved %.0f/s, less than the %.0f/s "
          "achieved at %s: the results are not monotonic (the store "
          "collapsed under the load, a noisy host, or an agent "
          "misreporting)",
          result->steps.size() + 1, Rate(step.offered_rate), achieved, before,
          Rate(earlier.offered_rate)));
      return;
    }
  }
}

enum class RateOutcome { kPassed, kFailed, kStop };

// Runs `rate` until a majority of options.tries agree, each try appended to
// result->steps (and shown to `on_step`); the deciding try carries the
// rate's verdict. kStop: a runner error, an interrupted step or
// --max-steps ended the search (result says which).
RateOutcome TryRate(const FindMaxOptions& options, double rate,
                    const StepRunner& run_step,
                    const std::function<void(const StepResult&)>& on_step,
                    FindMaxResult* result) {
  const int majority = options.tries / 2 + 1;
  int passes = 0;
  int fails = 0;
  while (passes < majority && fails < majority) {
    if (result->steps.size() >= static_cast<size_t>(options.max_steps)) {
      result->warnings.push_back(absl::StrCat(
          "the search stopped at --max-steps (", options.max_steps,
          ") before reaching --precision"));
      return RateOutcome::kStop;
    }
    absl::StatusOr<StepResult> ran = run_step(rate);
    if (!ran.ok()) {
      result->error = ran.status();
      return RateOutcome::kStop;
    }
    StepResult step = *std::move(ran);
    step.offered_rate = rate;
    step.attempt = passes + fails + 1;
    const bool interrupted = !step.interrupted.empty();
    if (interrupted) {
      result->interrupted = true;
      result->stopped_because = step.interrupted;
      step.passed = false;
      step.reason = step.interrupted;
    } else {
      JudgeStep(options, &step);
      for (const std::string& w : step.warnings) {
        result->warnings.push_back(
            absl::StrCat("step ", result->steps.size() + 1, ": ", w));
      }
      WarnIfNotMonotonic(step, result);
      (step.passed ? passes : fails) += 1;
      if (passes == majority || fails == majority) {
        step.rate_passed = passes == majority;
        step.rate_tries = passes + fails;
        step.rate_tries_passed = passes;
      }
    }
    result->steps.push_back(std::move(step));
    if (on_step) on_step(result->steps.back());
    if (interrupted) return RateOutcome::kStop;
  }
  return passes == majority ? RateOutcome::kPassed : RateOutcome::kFailed;
}

}  // namespace

absl::StatusOr<FindMaxResult> FindMax(
    const FindMaxOptions& options, const StepRunner& run_step,
    const std::function<void(const StepResult&)>& on_step) {
  RETURN_IF_ERROR(options.Validate());
  FindMaxResult result;
  RateSearch search(options);
  while (std::optional<double> rate = search.Next()) {
    const RateOutcome outcome =
        TryRate(options, *rate, run_step, on_step, &result);
    if (outcome == RateOutcome::kStop) break;
    search.Record(*rate, outcome == RateOutcome::kPassed);
  }
  result.max_rate = search.best();
  if (const std::optional<double> failed = search.lowest_failure()) {
    for (const StepResult& step : result.steps) {
      if (!step.passed && step.offered_rate == *failed &&
          step.limit != Limit::kNone) {
        // The last failing try at the rate that failed (by majority).
        result.limited_by = step.limit;
        result.limit_reason =
            absl::StrCat("at ", Rate(step.offered_rate), ": ", step.reason);
      }
    }
  } else if (result.max_rate.has_value() && !result.interrupted &&
             result.error.ok() && *result.max_rate >= options.max_rate) {
    result.limited_by = Limit::kMaxRate;
    result.limit_reason = absl::StrCat(
        "every step passed up to --max-rate ", Rate(options.max_rate));
  }
  return result;
}


namespace {

// --out, --csv and --html of find-max.
absl::Status WriteFindMaxReports(const OutputOptions& output,
                                 const FindMaxOptions& options,
                                 const FindMaxResult& result,
                                 const FindMaxReport& about) {
  if (output.out_path.empty() && output.csv_prefix.empty() &&
      output.html_path.empty()) {
    return absl::OkStatus();
  }
  const nlohmann::json report =
      FindMaxReportJson(about, options, result);
  if (!output.out_path.empty()) {
    RETURN_IF_ERROR(WriteJsonFile(output.out_path, report));
    std::printf("report: %s\n", output.out_path.c_str());
  }
  if (!output.csv_prefix.empty()) {
    RETURN_IF_ERROR(WriteTextFile(FindMaxCsvPath(output.csv_prefix),
                                  FindMaxCsv(result)));
    std::printf("csv: %s\n", FindMaxCsvPath(output.csv_prefix).c_str());
  }
  if (!output.html_path.empty()) {
    RETURN_IF_ERROR(
        WriteTextFile(output.html_path, FindMaxHtmlReport(report)));
    std::printf("html: %s\n", output.html_path.c_str());
  }
  return absl::OkStatus();
}

// Collects a step's updates: each agent's figures over the intervals that
// start at or after the warm-up, and the agents the generator limited, by
// its CPU and by its schedule (protocol::GeneratorBoundReason with one
// signal at a time).
class StepCollector {
 public:
  explicit StepCollector(double warmup_s) : warmup_s_(warmup_s) {
    // Only the CPU (its use, threads queueing for it), and only the
    // schedule.
    cpu_only_.late_fraction = std::numeric_limits<double>::infinity();
    late_only_.cpu_fraction = std::numeric_limits<double>::infinity();
    late_only_.waiting_threads_per_core =
        std::numeric_limits<double>::infinity();
  }

  void Add(const std::string& agent_id, const protocol::IntervalUpdate& u) {
    sync::MutexLock lock(&mu_);
    Figures& f = agents_[agent_id];
    // A millisecond of slack: an interval ends (and the next starts) a
    // little after its planned time.
    if (u.start_s + 1e-3 < warmup_s_) return;
    f.AddUpdate(u);
    if (auto reason = protocol::GeneratorBoundReason(u, cpu_only_)) {
      ++cpu_bound_[agent_id].first;
      cpu_bound_[agent_id].second = *reason;
    }
    if (auto reason = protocol::GeneratorBoundReason(u, late_only_)) {
      ++late_bound_[agent_id].first;
      late_bound_[agent_id].second = *reason;
    }
  }

  // The measured figures; sets `step`'s generator_bound and behind_schedule.
  void Summary(StepResult* step) {
    sync::MutexLock lock(&mu_);
    RunSummary& summary = step->measured;
    for (const auto& [id, figures] : agents_) {
      AgentSummary agent;
      agent.agent_id = id;
      agent.figures = figures;
      summary.agents.push_back(agent);
      summary.total.MergeAgent(figures);
    }
    summary.seconds = summary.total.seconds;
    auto describe = [](const Bound& bound, std::vector<std::string>* out) {
      for (const auto& [id, count_reason] : bound) {
        out->push_back(absl::StrCat("agent ", protocol::PeerText(id), ": ",
                                    count_reason.first, " interval",
                                    count_reason.first == 1 ? "" : "s", " (",
                                    count_reason.second, ")"));
      }
    };
    describe(cpu_bound_, &step->generator_bound);
    describe(late_bound_, &step->behind_schedule);
  }

 private:
  // Per agent: intervals so limited, and the last one's reason.
  using Bound = std::map<std::string, std::pair<int, std::string>>;

  const double warmup_s_;
  protocol::GeneratorBoundLimits cpu_only_;
  protocol::GeneratorBoundLimits late_only_;
  sync::Mutex mu_;
  std::map<std::string, Figures> agents_ ABSL_GUARDED_BY(mu_);
  Bound cpu_bound_ ABSL_GUARDED_BY(mu_);
  Bound late_bound_ ABSL_GUARDED_BY(mu_);
};

const char kFindMaxIntro[] =
    "loadtest find-max: the highest open-loop write rate the store (or the\n"
    "agents' stores together) sustains within the SLOs.\n"
    "\n"
    "It offers a total write rate, split evenly across the agents (or the\n"
    "in-process one), in steps of --warmup plus --step-duration: from\n"
    "--start-rate it doubles while steps pass, then bisects between the\n"
    "last rate that passed and the first that failed until they are within\n"
    "--precision. Each step is judged on its figures after the warm-up,\n"
    "merged exactly across agents. A step fails when an agent is limited by\n"
    "the load generator (its CPU, or more than 1% of its operations starting\n"
    "over 10 ms late for reasons of its own: reported as the generator's\n"
    "limit, not the store's), an --slo fails, writes are refused (queue\n"
    "full) or time out, or fewer than 95% of the offered writes are\n"
    "achieved. The answer is the highest rate that met everything, with a\n"
    "table of every step (busy/wrtr: the most writes in flight on an agent\n"
    "[/ its writer threads]; needed: rate x mean latency).\n"
    "\n"
    "Writes are dispatched async by default: two threads per agent submit\n"
    "each due write without waiting for it, so the writes in flight are\n"
    "bounded by the store's -queue-size, not by threads, and -writers only\n"
    "names the row streams. With --write-dispatch=threads each writer is a\n"
    "thread waiting in its write; then without -writers each step gets\n"
    "2 x rate x the loosest write-latency SLO (100 ms without one) writers\n"
    "per agent, 8 to 1024. The search stops within --precision, when the\n"
    "bounds are under 2 writes/s apart, or after --max-steps steps.\n"
    "\n"
    "Before the first step and after the last, the store runs saturated\n"
    "(--saturation: a closed loop of 100 writers per agent): the answer is\n"
    "stated as a share of that rate, and a host whose speed moved during\n"
    "the search by more than 10% is warned about.\n"
    "\n"
    "Every flag of a run applies (agents, workload, store), except\n"
    "-duration, --write-rate, --stages, --threshold and --abort-on-fail.\n"
    "-log-interval defaults to 1s here; --out, --csv and --html write the\n"
    "search's report (JSON, PREFIX_find_max.csv, an HTML latency versus\n"
    "throughput chart).\n"
    "\n"
    "Exit codes: 0 a maximum was found; 1 bad input or setup error; 2 even\n"
    "--start-rate failed; 3 an agent was lost during a step; 130/143\n"
    "interrupted (the steps so far are reported).\n"
    "\n"
    "Examples:\n"
    "  loadtest find-max --slo='write_p99<100ms'\n"
    "  loadtest find-max --slo='write_p99<50ms' --slo='error_rate<0.1%' \\\n"
    "      --agents=dns:///agent:7070 --start-rate=2000 --out=max.json\n";

}  // namespace

void RegisterFindMaxFlags(cli::FlagSet* flags, FindMaxFlags* values) {
  flags->AddSection("Find-max");
  flags->AddStringList("slo", &values->slo_texts,
                       "A condition every step must meet, in --threshold's "
                       "syntax (e.g. write_p99<100ms, each:write_p95<50ms, "
                       "error_rate<1%). Repeatable.");
  flags->AddDouble("start-rate", &values->options.start_rate,
                   "The first total write rate offered (writes/s, all "
                   "agents).");
  flags->AddDouble("max-rate", &values->options.max_rate,
                   "The highest total write rate offered.");
  flags->AddInt("max-steps", &values->max_steps,
                "The most steps (runs, counting every try) the search runs "
                "(1-1000).");
  flags->AddInt("tries", &values->tries,
                "Runs per rate at most: a rate passes when most of them "
                "pass, and the search stops trying it once a majority "
                "agrees (3: two agreeing runs decide). Odd, 1-9; 1 judges "
                "each rate on one run.");
  flags->AddDuration("step-duration", &values->options.step_duration,
                     "How long each step is measured, after its warm-up.");
  flags->AddDuration("warmup", &values->options.warmup,
                     "How long each step runs before it is measured (its "
                     "figures discarded).");
  flags->AddString("step-db", &values->options.step_db,
                   "scratch: every step on an empty database of its own, "
                   "-db with .find-max appended (removed at the end of an "
                   "in-process search; -db is not touched); grow: every "
                   "step on -db itself, the earlier steps' rows still in it.");
  flags->AddBool("saturation", &values->saturation,
                 "Run the store saturated just before the first step and "
                 "just after the last (a closed loop of 100 writers per "
                 "agent, no think time, the steps' readers, database and "
                 "durations), to state the answer as a share of it and to "
                 "warn when this host's speed moved during the search. "
                 "--saturation=false leaves both out.");
  flags->AddString("precision", &values->precision_text,
                   "Stop bisecting when the lowest failing rate is within "
                   "this percent of the highest passing one (5% or 5).");
}

absl::StatusOr<FindMaxOptions> FindMaxOptionsFrom(const FindMaxFlags& values) {
  FindMaxOptions options = values.options;
  absl::string_view number = values.precision_text;
  absl::ConsumeSuffix(&number, "%");
  double percent = 0;
  if (!absl::SimpleAtod(number, &percent)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--precision must be a percent such as 5% or 5, got '",
        values.precision_text, "'"));
  }
  options.precision = percent / 100;
  options.slos.clear();
  for (const std::string& text : values.slo_texts) {
    ASSIGN_OR_RETURN(Threshold slo, ParseThreshold(text));
    options.slos.push_back(std::move(slo));
  }
  options.max_steps = static_cast<int>(
      std::clamp<int64_t>(values.max_steps, std::numeric_limits<int>::min(),
                          std::numeric_limits<int>::max()));
  options.tries = static_cast<int>(
      std::clamp<int64_t>(values.tries, std::numeric_limits<int>::min(),
                          std::numeric_limits<int>::max()));
  options.saturation = values.saturation;
  options.latency_bound = WriteLatencyBound(options.slos);
  RETURN_IF_ERROR(options.Validate());
  return options;
}

int FindMaxMain(int argc, char** argv) {
  CommandLine command_line;
  command_line.scenario.log_interval = std::chrono::seconds(1);
  FindMaxFlags find_max_flags;
  cli::FlagSet flags("loadtest find-max", kFindMaxIntro);
  RegisterFlags(&flags, &command_line);
  RegisterFindMaxFlags(&flags, &find_max_flags);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  auto usage = [](const absl::Status& status) {
    std::fprintf(stderr, "loadtest find-max: %s\n",
                 std::string(status.message()).c_str());
    return kExitUsage;
  };
  for (const char* flag : kFindMaxExcludedFlags) {
    if (flags.IsSet(flag)) {
      return usage(absl::InvalidArgumentError(absl::StrCat(
          "--", flag,
          " does not apply to find-max (the steps set the rate and the "
          "duration; SLOs are --slo)")));
    }
  }
  absl::StatusOr<FindMaxOptions> parsed_options =
      FindMaxOptionsFrom(find_max_flags);
  if (!parsed_options.ok()) return usage(parsed_options.status());
  const FindMaxOptions options = *std::move(parsed_options);
  // Without -writers (or a --scenario giving them), each step gets writers
  // for its rate (report/concurrency.h).
  // With async dispatch (the default) no thread waits for a write: the
  // writers are row streams only, and nothing needs sizing.
  const bool writers_auto =
      !flags.IsSet("writers") && command_line.scenario_name.empty() &&
      command_line.scenario.write_dispatch == "threads";
  const OutputOptions report = command_line.output;
  command_line.output = OutputOptions();
  absl::StatusOr<Invocation> run =
      ResolveCommandLine(flags, std::move(command_line));
  if (!run.ok()) return usage(run.status());
  if (!writers_auto && run->plan.spec.workload.writers == 0) {
    return usage(absl::InvalidArgumentError(
        "find-max needs writers (-writers > 0, or leave it out to size "
        "them by the rate)"));
  }
  if (options.warmup + options.step_duration < run->plan.scenario.log_interval) {
    return usage(absl::InvalidArgumentError(absl::StrCat(
        "a step (warmup + step-duration) must last at least -log-interval (",
        cli::FormatDuration(run->plan.scenario.log_interval), ")")));
  }
  if (absl::Status s = ConnectAgents(&*run); !s.ok()) return usage(s);
  {
    std::vector<OutputFile> files = {{"--out", report.out_path},
                                     {"--html", report.html_path}};
    if (!report.csv_prefix.empty()) {
      files.push_back({"--csv", FindMaxCsvPath(report.csv_prefix)});
    }
    // In process, the steps' database is a local file no report may
    // replace.
    std::vector<OutputFile> kept;
    if (!run->distributed) {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        kept.push_back({"-db", StepDbPath(options, run->plan.scenario.db) + suffix});
      }
    }
    if (absl::Status s = CheckOutputFiles(files, kept); !s.ok()) {
      return usage(s);
    }
  }
  const size_t agents =
      run->distributed ? run->options.agent_targets.size() : 1;
  // The agents' limits (--max-writers, --max-readers, --max-duration),
  // asked once: writers sized by the rate stay within the lowest
  // --max-writers, and what an agent refuses is refused now rather than at
  // the step that meets it. An agent that does not answer is left to the
  // first step to report.
  std::vector<std::pair<std::string, protocol::AgentLimits>> agent_limits;
  int writer_cap = kMaxAutoWriters;
  if (run->distributed) {
    const auto deadline =
        std::chrono::system_clock::now() + std::chrono::seconds(10);
    for (const std::string& target : run->options.agent_targets) {
      protocol::AgentClient client(target, run->options.auth);
      absl::StatusOr<protocol::pb::AgentStatus> status =
          client.GetStatus(deadline);
      if (!status.ok()) continue;
      const protocol::AgentLimits limits =
          protocol::LimitsFromProto(status->limits());
      if (limits.max_writers > 0) {
        writer_cap = std::min(writer_cap, limits.max_writers);
      }
      agent_limits.emplace_back(
          absl::StrCat(protocol::PeerText(status->agent_id()), " (", target,
                       ")"),
          limits);
    }
  }
  // The step's scenario at a total rate: the rate split across the agents,
  // and the writers sized for it unless given.
  auto step_scenario = [&](double rate) {
    Scenario scenario = run->plan.scenario;
    scenario.duration = options.warmup + options.step_duration;
    scenario.write_rate = rate / static_cast<double>(agents);
    scenario.db = StepDbPath(options, run->plan.scenario.db);
    if (options.step_db == "scratch") scenario.fresh = true;
    if (writers_auto) {
      scenario.writers =
          AutoWriters(scenario.write_rate, options.latency_bound, writer_cap);
    }
    return scenario;
  };
  // What the agents accept, checked before the first step rather than
  // found at the step that exceeds it.
  {
    absl::StatusOr<protocol::RunSpec> most =
        ToRunSpec(step_scenario(options.max_rate));
    if (!most.ok()) {
      return usage(absl::InvalidArgumentError(absl::StrCat(
          "--max-rate ", options.max_rate, " over ", agents, " agent",
          agents == 1 ? "" : "s", " is more than an agent accepts: ",
          most.status().message())));
    }
    for (const auto& [agent, limits] : agent_limits) {
      if (absl::Status s = limits.Check(*most, agent); !s.ok()) {
        return usage(absl::InvalidArgumentError(
            absl::StrCat("the steps cannot run: ", s.message())));
      }
    }
  }
  const std::string step_db = StepDbPath(options, run->plan.scenario.db);
  FindMaxSetup setup;
  setup.agents = agents;
  setup.distributed = run->distributed;
  setup.async =
      run->plan.spec.workload.write_dispatch == protocol::WriteDispatch::kAsync;
  setup.queue_size = run->plan.spec.store.queue_size;
  setup.writers = run->plan.spec.workload.writers;
  setup.writers_auto = writers_auto;
  setup.writer_cap = writer_cap;
  setup.readers = run->plan.spec.workload.readers;
  setup.seed = run->plan.scenario.seed;
  setup.step_db = step_db;
  std::printf("%s", FindMaxHeaderText(options, setup).c_str());

  int signal_number = 0;
  bool lost = false;
  size_t step_number = 0;
  const auto started_at = std::chrono::system_clock::now();
  // One quiet run measured like a step: a step of the search, or the store
  // saturated.
  auto measure = [&](const Scenario& scenario) -> absl::StatusOr<StepResult> {
    ASSIGN_OR_RETURN(const RunPlan plan, PlanRun(scenario));
    RunOptions step_options = run->options;
    step_options.output = OutputOptions();
    step_options.quiet = true;
    StepCollector collector(
        std::chrono::duration<double>(options.warmup).count());
    step_options.on_update = [&collector](const std::string& id,
                                          const protocol::IntervalUpdate& u) {
      collector.Add(id, u);
    };
    ASSIGN_OR_RETURN(RunOutcome outcome,
                     RunLoadTest(plan, step_options));
    StepResult step;
    step.agents = static_cast<int>(agents);
    step.writers = setup.async ? 0 : plan.spec.workload.writers;
    step.writers_auto = writers_auto;
    collector.Summary(&step);
    if (outcome.signal_number != 0) {
      signal_number = outcome.signal_number;
      step.interrupted = absl::StrCat("interrupted by signal ", signal_number);
    } else if (outcome.partial) {
      lost = true;
      step.interrupted = "an agent was lost or ended its run early (see above)";
    }
    step.audit_failed = !outcome.audit_passed;
    return step;
  };
  StepRunner run_step = [&](double rate) -> absl::StatusOr<StepResult> {
    ++step_number;
    return measure(step_scenario(rate));
  };
  // --saturation: the steps' scenario as a closed loop of
  // kSaturationWriters writers per agent with no think time. Nothing when
  // it could not be measured (said on stderr); the search goes on.
  auto saturate = [&](const char* when) -> std::optional<double> {
    Scenario scenario = step_scenario(options.start_rate);
    scenario.write_rate = 0;
    scenario.write_delay = std::chrono::nanoseconds(0);
    scenario.writers = std::min(kSaturationWriters, writer_cap);
    absl::StatusOr<StepResult> ran = measure(scenario);
    std::string why;
    if (!ran.ok()) {
      why = std::string(ran.status().message());
    } else if (!ran->interrupted.empty()) {
      why = ran->interrupted;
    } else if (!(ran->measured.total.seconds > 0)) {
      why = "no interval after the warm-up";
    }
    if (!why.empty()) {
      std::fprintf(stderr,
                   "loadtest find-max: the store's saturated rate %s the "
                   "search was not measured: %s\n",
                   when, why.c_str());
      return std::nullopt;
    }
    const double rate = ran->measured.total.writes_per_s();
    std::printf("the store saturated %s the search: %.0f writes/s\n", when,
                rate);
    std::fflush(stdout);
    return rate;
  };
  Saturation saturation;
  if (options.saturation) saturation.before = saturate("before");
  std::printf("%s\n", StepTableHeader().c_str());
  std::fflush(stdout);
  auto on_step = [&step_number](const StepResult& step) {
    std::printf("%s\n", StepTableRow(step_number, step).c_str());
    std::fflush(stdout);
  };
  absl::StatusOr<FindMaxResult> result =
      signal_number == 0 ? FindMax(options, run_step, on_step)
                         : absl::StatusOr<FindMaxResult>(FindMaxResult{});
  if (result.ok() && signal_number != 0 && result->steps.empty()) {
    result->interrupted = true;
    result->stopped_because =
        absl::StrCat("interrupted by signal ", signal_number);
  }
  if (result.ok() && options.saturation && !result->interrupted &&
      result->error.ok() && signal_number == 0 && !lost) {
    saturation.after = saturate("after");
  }
  if (result.ok()) {
    result->saturation = saturation;
    if (std::optional<std::string> w = saturation.Warning()) {
      result->warnings.push_back(*std::move(w));
    }
  }
  const auto ended_at = std::chrono::system_clock::now();
  if (options.step_db == "scratch" && !run->distributed) {
    RemoveScratchDb(step_db);
  }
  if (!result.ok()) return usage(result.status());
  std::printf("%s", FindMaxEndText(*result, agents).c_str());
  std::fflush(stdout);
  if (!result->error.ok()) {
    std::fprintf(stderr, "loadtest find-max: search stopped at step %zu: %s\n",
                 step_number, std::string(result->error.message()).c_str());
  }

  FindMaxReport out;
  out.scenario = run->plan.scenario;
  out.agents = agents;
  out.mode = run->distributed ? "distributed" : "in-process";
  out.started_at = started_at;
  out.ended_at = ended_at;
  if (absl::Status s = WriteFindMaxReports(report, options, *result, out);
      !s.ok()) {
    return usage(s);
  }
  if (!result->error.ok()) return kExitUsage;
  if (signal_number != 0) return 128 + signal_number;
  if (lost) return kExitPartial;
  return result->max_rate.has_value() ? kExitOk : kExitCheckFailed;
}

}  // namespace loadtest::controller
