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
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cli/flag_set.h"
#include "cli/version.h"
#include "controller/agent_discovery.h"
#include "controller/concurrency.h"
#include "report/display.h"
#include "report/csv_report.h"
#include "report/html_report.h"
#include "controller/flags.h"
#include "report/json_report.h"
#include "controller/run_end.h"
#include "protocol/agent_client.h"
#include "protocol/peer_text.h"
#include "protocol/validity.h"
#include "protocol/wire.h"
#include "report/report_file.h"
#include "security/auth.h"
#include "status/status_macros.h"
#include "sync/mutex.h"

namespace loadtest::controller {

// What this file uses of report/, named once here (every report is written
// by report/'s file writer; a local `report` is the usual name of the JSON
// being written, hence no `using namespace`).
using report::AgentSummary;
using report::CheckOutputFiles;
using report::EvaluateThresholds;
using report::Figures;
using report::FindMaxCsv;
using report::FindMaxCsvPath;
using report::FindMaxHtmlReport;
using report::FindMaxReport;
using report::FindMaxReportJson;
using report::FormatLatency;
using report::OutputFile;
using report::ParseThreshold;
using report::RunSummary;
using report::StepTableHeader;
using report::StepTableRow;
using report::Threshold;
using report::ThresholdResult;
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


namespace {

// Figures no honest agent reports: more acknowledged than offered, more in
// flight than its writers, or faster than its writers could go at the
// quickest latency it measured (each writer waits for its write: at most
// one write per writer per min latency).
void WarnAboutImpossibleFigures(StepResult* step) {
  for (const AgentSummary& agent : step->measured.agents) {
    const Figures& f = agent.figures;
    const std::string who =
        absl::StrCat("agent ", protocol::PeerText(agent.agent_id));
    const double ok = static_cast<double>(f.counters.writes_ok);
    // The backlog of the warm-up may drain into the measured intervals:
    // 10% and a few writes of slack.
    if (f.offered_writes > 0 && ok > 1.1 * f.offered_writes + 10) {
      step->warnings.push_back(absl::StrFormat(
          "%s reported %.0f writes acknowledged but the schedule offered "
          "%.0f: more achieved than offered is impossible",
          who, ok, f.offered_writes));
    }
    if (step->writers > 0 && f.writes_in_flight.max() > step->writers) {
      step->warnings.push_back(absl::StrFormat(
          "%s reported %d writes in flight with %d writers: impossible",
          who, f.writes_in_flight.max(), step->writers));
    }
    const int64_t fastest_ns = f.write_latency.min();
    if (step->writers > 0 && f.seconds > 0 && fastest_ns > 0) {
      // Little's law: rate <= writers / latency, even at the quickest.
      const double possible = step->writers / (fastest_ns / 1e9);
      if (f.writes_per_s() > 1.1 * possible + 10) {
        step->warnings.push_back(absl::StrFormat(
            "%s reported %.0f writes/s, more than %d writers can do at its "
            "quickest write (%s): impossible by Little's law",
            who, f.writes_per_s(), step->writers,
            FormatLatency(fastest_ns)));
      }
    }
  }
}

}  // namespace

void JudgeStep(const FindMaxOptions& options, StepResult* step) {
  const Figures& total = step->measured.total;
  const stats::IntervalCounters& c = total.counters;
  auto fail = [step](Limit limit, std::string reason) {
    step->passed = false;
    step->limit = limit;
    step->reason = std::move(reason);
  };
  step->passed = true;
  step->limit = Limit::kNone;
  step->reason.clear();
  step->warnings.clear();
  WarnAboutImpossibleFigures(step);
  auto fail_cpu = [&]() {
    return fail(Limit::kGenerator,
                absl::StrCat("load generator limited: ",
                             absl::StrJoin(step->generator_bound, "; "),
                             " (not the store)"));
  };
  if (total.seconds <= 0 && !step->generator_bound.empty()) return fail_cpu();
  if (total.seconds <= 0 || c.writes_ok + c.write_errors + c.write_timeouts +
                                    c.queue_full ==
                                0) {
    return fail(Limit::kThroughput,
                "no write was measured after the warm-up (is the step "
                "longer than the log interval?)");
  }
  for (const ThresholdResult& r :
       EvaluateThresholds(options.slos, step->measured)) {
    if (!r.passed) {
      fail(Limit::kSlo,
           absl::StrFormat("SLO %s failed: measured %.3f%s%s", r.text,
                           r.measured, r.unit,
                           r.scope == "total" ? ""
                                              : absl::StrCat(" on ", r.scope)));
      break;
    }
  }
  if (step->passed && step->audit_failed) {
    fail(Limit::kErrors, "an agent's durability audit failed");
  }
  if (step->passed && (c.queue_full > 0 || c.write_timeouts > 0)) {
    fail(Limit::kErrors,
         absl::StrCat(c.queue_full, " writes refused (queue full), ",
                      c.write_timeouts, " timed out"));
  }
  // Achieved against offered as counts: the writes the schedule made due in
  // the measured intervals, and those acknowledged (a final interval that
  // includes the drain counts the drained writes, offered before the stop).
  const double achieved_share =
      total.offered_writes > 0
          ? static_cast<double>(c.writes_ok) / total.offered_writes
          : total.writes_per_s() / step->offered_rate;
  if (step->passed && achieved_share < options.min_achieved) {
    fail(Limit::kThroughput,
         absl::StrFormat("achieved %.0f/s, %.1f%% of the %.0f/s "
                         "offered (needs %.0f%%)",
                         total.writes_per_s(), 100 * achieved_share,
                         step->offered_rate, 100 * options.min_achieved));
  }
  if (!step->passed) {
    // The store failed it while every writer of an agent was busy. If the
    // writers covered rate x latency bound, the store held each write past
    // the bound: its limit, whatever the CPU did meanwhile (the process
    // also runs the store, whose backlog keeps it busy). If not, the
    // writers were the cap.
    const double rate_per_agent =
        step->offered_rate / std::max(1, step->agents);
    const int needed = NeededInFlight(rate_per_agent, options.latency_bound);
    const bool all_busy =
        step->writers > 0 && step->max_in_flight() >= step->writers;
    if (all_busy && step->writers >= needed) {
      step->reason += absl::StrCat(" (all ", step->writers,
                                   " writers were busy waiting on the store)");
      return;
    }
    if (all_busy && step->writers < needed) {
      return fail(
          Limit::kGenerator,
          absl::StrCat(
              "load generator limited: every one of the ", step->writers,
              " writers per agent was busy (",
              step->writers_auto
                  ? absl::StrCat("the cap of ", step->writers,
                                 " writers per agent")
                  : "the --writers given",
              "), and ", Rate(rate_per_agent), " per agent needs ", needed,
              " in flight at up to ",
              cli::FormatDuration(options.latency_bound), " each; the store "
              "then: ", step->reason,
              step->writers_auto ? " (add agents)"
                                 : " (raise --writers, or leave it out to "
                                   "size the writers by the rate)"));
    }
    // Otherwise a generator short of CPU comes first: its delays are in
    // the latencies the store failed on.
    if (!step->generator_bound.empty()) return fail_cpu();
    return;
  }
  if (!step->generator_bound.empty()) return fail_cpu();
  // Last: operations late with a worker free for them, while the store met
  // everything above: the host did not run the generator on time. (Waiting
  // for a free worker, i.e. for the store, is not counted here.)
  if (!step->behind_schedule.empty()) {
    return fail(Limit::kGenerator,
                absl::StrCat("load generator limited: ",
                             absl::StrJoin(step->behind_schedule, "; "),
                             " (not the store: the host did not run the "
                             "load generator on time; a less busy host, or "
                             "more agents)"));
  }
}

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
  // for its rate (controller/concurrency.h).
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
  if (!writers_auto && run->spec.workload.writers == 0) {
    return usage(absl::InvalidArgumentError(
        "find-max needs writers (-writers > 0, or leave it out to size "
        "them by the rate)"));
  }
  if (options.warmup + options.step_duration < run->scenario.log_interval) {
    return usage(absl::InvalidArgumentError(absl::StrCat(
        "a step (warmup + step-duration) must last at least -log-interval (",
        cli::FormatDuration(run->scenario.log_interval), ")")));
  }
  if (run->distributed) {
    auto auth = security::ClientAuth::Create(run->auth);
    if (!auth.ok()) return usage(auth.status());
    run->options.auth = *auth;
    auto targets = ResolveAgentTargets(run->agents);
    if (!targets.ok()) return usage(targets.status());
    if (targets->empty()) {
      return usage(absl::InvalidArgumentError("--agents names no agent"));
    }
    run->options.agent_targets = *std::move(targets);
  }
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
        kept.push_back({"-db", StepDbPath(options, run->scenario.db) + suffix});
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
    Scenario scenario = run->scenario;
    scenario.duration = options.warmup + options.step_duration;
    scenario.write_rate = rate / static_cast<double>(agents);
    scenario.db = StepDbPath(options, run->scenario.db);
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
  std::vector<std::string> slo_list;
  for (const Threshold& t : options.slos) slo_list.push_back(t.text);
  const bool async =
      run->spec.workload.write_dispatch == protocol::WriteDispatch::kAsync;
  const std::string writers_text =
      async ? absl::StrCat("writes dispatched async (in flight bounded by the "
                           "queue of ", run->spec.store.queue_size, "; ",
                           run->spec.workload.writers, " row streams)")
      : writers_auto
          ? absl::StrCat("writers sized by the rate (2 x rate x ",
                         cli::FormatDuration(options.latency_bound), ", ",
                         std::min(kMinAutoWriters, writer_cap), "-",
                         writer_cap, ")")
          : absl::StrCat(run->spec.workload.writers, " writers");
  std::printf(
      "loadtest find-max: %zu agent%s, %s and %d readers each; "
      "SLOs %s; steps of %s after a %s warm-up, from %s up to %s, precision "
      "%.1f%%, %s, at most %d steps; seed %lld\n",
      agents, agents == 1 ? "" : "s", writers_text.c_str(),
      run->spec.workload.readers,
      slo_list.empty() ? "none" : absl::StrJoin(slo_list, ", ").c_str(),
      cli::FormatDuration(options.step_duration).c_str(),
      cli::FormatDuration(options.warmup).c_str(),
      Rate(options.start_rate).c_str(), Rate(options.max_rate).c_str(),
      options.precision * 100,
      options.tries == 1
          ? "each rate judged on one step"
          : absl::StrCat("each rate tried until ", options.tries / 2 + 1,
                         " of up to ", options.tries, " steps agree")
                .c_str(),
      options.max_steps, static_cast<long long>(run->scenario.seed));
  const std::string step_db = StepDbPath(options, run->scenario.db);
  if (options.step_db == "scratch") {
    std::printf("each step on an empty database: %s (%s)\n", step_db.c_str(),
                run->distributed ? "in each agent's data folder, emptied "
                                   "again by the next search"
                                 : "removed at the end");
  } else {
    std::printf("every step on %s, the earlier steps' rows kept "
                "(--step-db=grow)\n", step_db.c_str());
  }
  std::printf("%s\n", StepTableHeader().c_str());
  std::fflush(stdout);

  int signal_number = 0;
  bool lost = false;
  size_t step_number = 0;
  const auto started_at = std::chrono::system_clock::now();
  StepRunner run_step = [&](double rate) -> absl::StatusOr<StepResult> {
    ++step_number;
    const Scenario scenario = step_scenario(rate);
    ASSIGN_OR_RETURN(protocol::RunSpec spec, ToRunSpec(scenario));
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
                     RunLoadTest(scenario, spec, step_options));
    StepResult step;
    step.agents = static_cast<int>(agents);
    step.writers = async ? 0 : spec.workload.writers;
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
  auto on_step = [&step_number](const StepResult& step) {
    std::printf("%s\n", StepTableRow(step_number, step).c_str());
    std::fflush(stdout);
  };
  absl::StatusOr<FindMaxResult> result = FindMax(options, run_step, on_step);
  const auto ended_at = std::chrono::system_clock::now();
  if (options.step_db == "scratch" && !run->distributed) {
    RemoveScratchDb(step_db);
  }
  if (!result.ok()) return usage(result.status());
  for (const std::string& warning : result->warnings) {
    std::printf("warning: %s\n", warning.c_str());
  }

  if (result->max_rate.has_value()) {
    std::printf("\nmax sustainable rate: %.0f writes/s in total (%.0f per "
                "agent)%s%s\n",
                *result->max_rate, *result->max_rate / agents,
                result->limit_reason.empty() ? "" : "; limited by ",
                result->limit_reason.empty()
                    ? ""
                    : absl::StrCat(LimitName(result->limited_by), " ",
                                   result->limit_reason)
                          .c_str());
  } else if (!result->interrupted && result->error.ok()) {
    std::printf("\nno rate met every condition: even the start rate failed "
                "(%s); try a lower --start-rate\n",
                result->limit_reason.c_str());
  }
  if (result->interrupted) {
    std::printf("search stopped: %s\n", result->stopped_because.c_str());
  }
  if (!result->error.ok()) {
    std::fprintf(stderr, "loadtest find-max: search stopped at step %zu: %s\n",
                 step_number, std::string(result->error.message()).c_str());
  }
  if (result->limited_by == Limit::kGenerator) {
    std::printf("note: the load generator, not the store, set this limit; "
                "the store's own limit is higher (more agents or cores)\n");
  }

  FindMaxReport out;
  out.scenario = run->scenario;
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
