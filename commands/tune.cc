#include "commands/tune.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "commands/child_run.h"
#include "controller/compare.h"
#include "controller/find_max.h"
#include "controller/flags.h"
#include "report/csv_report.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "controller/run_end.h"
#include "report/report_file.h"
#include "report/text_report.h"
#include "status/status_macros.h"
#include "storage/audit.h"
#include "sync/mutex.h"

namespace loadtest::commands {

// What the sweep uses of controller/ (its flags, checked before any child
// starts) and of report/ (the verdicts and the files).
using controller::CommandLine;
using controller::CompareFlags;
using controller::CompareOptionsFrom;
using controller::FindMaxFlags;
using controller::FindMaxOptionsFrom;
using controller::Invocation;
using controller::kExitOk;
using controller::kExitUsage;
using controller::kFindMaxExcludedFlags;
using controller::OutputOptions;
using controller::RandomSeed;
using controller::RegisterCompareFlags;
using controller::RegisterFindMaxFlags;
using controller::RegisterFlags;
using controller::ResolveCommandLine;
using controller::ScratchDbPath;
using report::CompareOptions;
using report::ConfigName;
using report::FormatTune;
using report::FullFlags;
using report::JudgeSweep;
using report::Scenario;
using report::TuneCsv;
using report::TuneCsvPath;
using report::TuneHtmlReport;
using report::WorkloadFingerprint;
using report::WriteJsonFile;

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

bool IsKnob(const std::string& name) {
  for (const char* knob : kTuneKnobs) {
    if (name == knob) return true;
  }
  return false;
}

std::string Seconds(double s) {
  return cli::FormatDuration(std::chrono::seconds(static_cast<int64_t>(s)));
}

}  // namespace

absl::StatusOr<std::vector<VariedKnob>> ParseVaries(
    const std::vector<std::string>& specs) {
  std::vector<VariedKnob> knobs;
  std::set<std::string> seen;
  for (const std::string& spec : specs) {
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vary=", spec,
                       ": expected KNOB:VALUE,VALUE,... (e.g. "
                       "batch-size:100,400)"));
    }
    VariedKnob knob;
    knob.knob = spec.substr(0, colon);
    if (!IsKnob(knob.knob)) {
      std::vector<std::string> names(std::begin(kTuneKnobs),
                                     std::end(kTuneKnobs));
      return absl::InvalidArgumentError(
          absl::StrCat("--vary=", spec, ": unknown knob \"", knob.knob,
                       "\" (one of ", absl::StrJoin(names, ", "), ")"));
    }
    if (!seen.insert(knob.knob).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vary=", spec, ": ", knob.knob,
                       " is varied twice; give its values in one --vary"));
    }
    const std::string values = spec.substr(colon + 1);
    if (values.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vary=", spec, ": no value for ", knob.knob,
                       ": the sweep would be empty"));
    }
    std::set<std::string> distinct;
    for (absl::string_view value : absl::StrSplit(values, ',')) {
      if (value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--vary=", spec, ": an empty value in the list"));
      }
      if (!distinct.insert(std::string(value)).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--vary=", spec, ": the value ", value, " is given twice"));
      }
      knob.values.emplace_back(value);
    }
    knobs.push_back(std::move(knob));
  }
  return knobs;
}

std::vector<TuneConfig> CrossProduct(const std::vector<VariedKnob>& knobs) {
  std::vector<TuneConfig> configs(1);
  for (const VariedKnob& knob : knobs) {
    std::vector<TuneConfig> next;
    for (const TuneConfig& config : configs) {
      for (const std::string& value : knob.values) {
        TuneConfig more = config;
        more.settings.emplace_back(knob.knob, value);
        next.push_back(std::move(more));
      }
    }
    configs = std::move(next);
  }
  if (knobs.empty()) return {};
  return configs;
}

std::vector<PlannedRun> RunOrder(size_t configs, int repeats) {
  std::vector<PlannedRun> order;
  for (int repeat = 1; repeat <= repeats; ++repeat) {
    for (size_t c = 0; c < configs; ++c) order.push_back({c, repeat});
  }
  return order;
}

std::chrono::nanoseconds EstimateFindMax(
    const FindMaxOptions& options, std::chrono::nanoseconds per_step_overhead,
    std::chrono::nanoseconds startup) {
  const int doublings = static_cast<int>(std::ceil(
      std::log2(std::max(1.0, options.max_rate / options.start_rate))));
  const int bisections =
      static_cast<int>(std::ceil(std::log2(1 / options.precision)));
  // Every rate takes at least a majority of its tries (2 of 3, say).
  const int steps = std::min(options.max_steps, (doublings + 1 + bisections) *
                                                    (options.tries / 2 + 1));
  return startup +
         steps * (options.warmup + options.step_duration + per_step_overhead);
}

namespace {

// Everything tune's command line binds: a run's flags (the children's),
// find-max's, and its own.
struct TuneCommandLine {
  CommandLine run;
  FindMaxFlags find_max;
  std::vector<std::string> varies;
  int repeats = 2;
  std::chrono::nanoseconds budget = std::chrono::minutes(30);
  std::string work_dir = "loadtest-tune";
  CompareFlags compare;

  TuneCommandLine() {
    run.scenario.log_interval = std::chrono::seconds(1);
    find_max.options.step_duration = std::chrono::seconds(10);
    find_max.options.warmup = std::chrono::seconds(2);
    // Each configuration is repeated (--repeats) and compared with
    // statistics instead: one run per rate keeps a sweep in its budget.
    find_max.tries = 1;
    // The sweep compares configurations with each other in one sitting;
    // each search's own saturation runs would only lengthen it.
    find_max.saturation = false;
  }
};

// tune's own flags: not passed to the runs.
constexpr const char* kTuneOwnFlags[] = {
    "vary", "repeats", "budget",     "work-dir",  "out",
    "csv",  "html",    "min-effect", "confidence"};
// find-max's flags, which a fixed-rate tune does not take.
constexpr const char* kFindMaxOwnFlags[] = {
    "slo",           "start-rate", "max-rate",  "max-steps",
    "step-duration", "warmup",     "precision", "step-db",
    "tries",         "saturation"};

const char kTuneIntro[] =
    "loadtest tune: which store settings hold the most load on this host.\n"
    "\n"
    "Sweeps the cross product of --vary=KNOB:V1,V2,... (repeatable) and,\n"
    "for each configuration, runs `loadtest find-max` with every other flag\n"
    "given here (or, with --write-rate, a run at that fixed rate whose\n"
    "objective is the write p99) --repeats times, each as a child process\n"
    "with its report and log in --work-dir (c1-1.json, c1-1.log, ...) and\n"
    "its own scratch database (-db with .tune-N appended; removed afterwards\n"
    "when in-process). The defaults (the command line without --vary's\n"
    "settings) are always measured too, as c1. The runs go in rounds\n"
    "(repeat 1 of every configuration, c1 first, then repeat 2 ...) and\n"
    "--budget plans the sweep to fit: runs that would not fit are left out,\n"
    "said up front.\n"
    "\n"
    "Knobs: batch-size batch-timeout queue-size batch-policy sync fts-sync\n"
    "fts-automerge fts-crisismerge fts-pgsz temp-store cache-size-kib (the\n"
    "run flags of the same names). Without --vary: batch-size:100,400 and\n"
    "fts-sync:trigger,batch. Find-max's steps default to 10s after a 2s\n"
    "warm-up here.\n"
    "\n"
    "The report: a table of every configuration (max rate or achieved rate,\n"
    "its spread over the repeats, the write p99 at that rate, bytes per row\n"
    "on disk where measured, the --sync mode); per --sync mode (what a\n"
    "commit survives) the best configuration with its exact flags, the ties\n"
    "(configurations `loadtest compare`'s noise rule cannot tell from the\n"
    "best: --min-effect, --confidence) and the best's margin over the\n"
    "defaults with its confidence bounds. --out writes it as JSON, --csv\n"
    "PREFIX_tune.csv, --html a page with a chart of rate against p99, a\n"
    "point per configuration. Ctrl-C stops the sweep and reports the runs\n"
    "done.\n"
    "\n"
    "Exit codes: 0 the sweep ran (or what fit the budget); 1 bad input, or\n"
    "a run that could not start (its log says why); 130/143 interrupted.\n"
    "\n"
    "Examples:\n"
    "  loadtest tune --slo='write_p99<100ms' --budget=30m --out=tune.json\n"
    "  loadtest tune --vary=batch-size:50,100,200,400 "
    "--vary=batch-timeout:2ms,10ms \\\n"
    "      --vary=fts-sync:trigger,batch --repeats=3 --html=tune.html\n"
    "  loadtest tune --write-rate=2000 --duration=30s "
    "--vary=sync:normal,full\n";

void RegisterTuneFlags(cli::FlagSet* flags, TuneCommandLine* cl) {
  RegisterFlags(flags, &cl->run);
  RegisterFindMaxFlags(flags, &cl->find_max);
  flags->AddSection("Tune");
  flags->AddStringList("vary", &cl->varies,
                       "KNOB:V1,V2,...: a setting to sweep and its values "
                       "(the configurations are the cross product of "
                       "every --vary).");
  flags->AddInt("repeats", &cl->repeats,
                "Runs per configuration (1-20), for their spread.");
  flags->AddDuration("budget", &cl->budget,
                     "The time the sweep may take; runs that would not fit "
                     "are left out (said up front).");
  flags->AddString("work-dir", &cl->work_dir,
                   "The folder for the runs' reports and logs (created if "
                   "missing).");
  RegisterCompareFlags(flags, &cl->compare);
}

// A child's command line resolved through tune's own flag table: what it
// would run, or the error it would stop at.
absl::StatusOr<Invocation> ResolveChild(const std::vector<std::string>& args,
                                        bool fixed_rate) {
  TuneCommandLine cl;
  cli::FlagSet flags("loadtest tune", "");
  RegisterTuneFlags(&flags, &cl);
  std::vector<const char*> argv = {"tune"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::vector<std::string> positional;
  RETURN_IF_ERROR(
      flags.Parse(static_cast<int>(argv.size()), argv.data(), &positional));
  if (!fixed_rate) RETURN_IF_ERROR(FindMaxOptionsFrom(cl.find_max).status());
  cl.run.output = OutputOptions();
  return ResolveCommandLine(flags, std::move(cl.run));
}

// The command line given, less tune's own flags (a flag's separate value
// with it).
std::vector<std::string> PassedFlags(int argc, char** argv) {
  std::vector<std::string> passed;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string name = FlagName(arg);
    const bool own =
        std::find(std::begin(kTuneOwnFlags), std::end(kTuneOwnFlags), name) !=
        std::end(kTuneOwnFlags);
    if (!own) {
      passed.push_back(arg);
    } else if (arg.find('=') == std::string::npos) {
      ++i;  // Every one of tune's flags takes a value.
    }
  }
  return passed;
}

// Removes a configuration's database and find-max's scratch one beside it
// (find-max removes that itself, unless it was killed).
void RemoveDatabase(const std::string& db) {
  for (const std::string& file : {db, ScratchDbPath(db)}) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink(absl::StrCat(file, suffix).c_str());
    }
  }
}

// Bytes of the database file per row in it; nullopt when unreadable or
// empty.
std::optional<double> BytesPerRow(const std::string& db) {
  struct stat st {};
  if (::stat(db.c_str(), &st) != 0) return std::nullopt;
  absl::StatusOr<storage::TableMark> mark = storage::MarkTable(db);
  if (!mark.ok() || mark->rows <= 0) return std::nullopt;
  return static_cast<double>(st.st_size) / static_cast<double>(mark->rows);
}

// The objective's figures from a child's report.
void ReadFigures(const json& report, bool fixed_rate, TuneRun* run) {
  using P = json::json_pointer;
  if (fixed_rate) {
    const P writes("/summary/total/writes_per_s");
    const P offered("/summary/total/offered_write_rate");
    const P p99("/summary/total/write_latency_ms/p99");
    if (report.contains(writes) && report.at(writes).is_number()) {
      run->rate = report.at(writes).get<double>();
      if (report.contains(offered) && report.at(offered).is_number()) {
        run->held = *run->rate >= 0.95 * report.at(offered).get<double>();
      }
    }
    if (report.contains(p99) && report.at(p99).is_number()) {
      run->write_p99_ms = report.at(p99).get<double>();
    }
    // The database's size at the end over the rows in it, as the run's
    // store and audit measured them (on agents too).
    const P db_bytes("/summary/total/store/db_bytes");
    const P rows("/audit/rows_in_db");
    if (report.contains(db_bytes) && report.at(db_bytes).is_number() &&
        report.contains(rows) && report.at(rows).is_number() &&
        report.at(rows).get<double>() > 0) {
      run->bytes_per_row =
          report.at(db_bytes).get<double>() / report.at(rows).get<double>();
    }
    return;
  }
  const json& find_max = report.value("find_max", json::object());
  const json max_rate = find_max.value("max_rate", json(nullptr));
  if (max_rate.is_number()) {
    run->rate = max_rate.get<double>();
    for (const json& step : find_max.value("steps", json::array())) {
      if (step.value("passed", false) &&
          step.value("offered_rate", -1.0) == *run->rate) {
        const P p99("/write_latency_ms/p99");
        if (step.contains(p99) && step.at(p99).is_number()) {
          run->write_p99_ms = step.at(p99).get<double>();
        }
      }
    }
  } else if (!find_max.value("steps", json::array()).empty() &&
             !find_max.value("interrupted", false) &&
             find_max.value("error", json(nullptr)).is_null() &&
             find_max.value("limited_by", "") != "generator") {
    // Even the start rate failed, the store's doing: a result, not a gap.
    // A load generator that could not keep up says nothing of the store.
    run->rate = 0;
  }
}

// "c2 repeat 2, c3 repeats 1-2": runs left out, by configuration.
std::string LeftOutText(const std::vector<PlannedRun>& runs) {
  std::map<size_t, std::vector<int>> by_config;
  for (const PlannedRun& r : runs) by_config[r.config].push_back(r.repeat);
  std::vector<std::string> parts;
  for (const auto& [config, repeats] : by_config) {
    parts.push_back(absl::StrCat(ConfigName(config), " repeat",
                                 repeats.size() == 1 ? " " : "s ",
                                 absl::StrJoin(repeats, ",")));
  }
  return absl::StrJoin(parts, "; ");
}

// The flags that do not go with the objective, and tune's own ranges.
absl::Status CheckTuneFlags(const cli::FlagSet& flags,
                            const TuneCommandLine& cl, bool fixed_rate) {
  for (const char* flag : kFindMaxOwnFlags) {
    if (fixed_rate && flags.IsSet(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag,
                       " is find-max's; a tune with --write-rate runs at "
                       "that fixed rate: leave it out"));
    }
  }
  for (const char* flag : kFindMaxExcludedFlags) {
    if (!fixed_rate && flags.IsSet(flag)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag,
          " does not apply to tune's find-max runs (the steps set the rate "
          "and the duration; SLOs are --slo); give --write-rate for "
          "fixed-rate runs"));
    }
  }
  for (const char* flag : {"out-intervals", "prometheus-targets"}) {
    if (flags.IsSet(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag,
                       " does not apply to tune (each run's report is in "
                       "--work-dir)"));
    }
  }
  if (cl.repeats < 1 || cl.repeats > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("--repeats must be between 1 and 20, got ", cl.repeats));
  }
  if (cl.budget <= std::chrono::nanoseconds(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--budget must be more than 0s, got ", cli::FormatDuration(cl.budget)));
  }
  return absl::OkStatus();
}

// Everything decided before the first run.
struct Sweep {
  bool fixed_rate = false;
  TuneObjective objective = TuneObjective::kMaxRate;
  CompareOptions compare;
  std::optional<FindMaxOptions> find_max;
  std::vector<VariedKnob> knobs;
  bool default_sweep = false;
  // The flags every run gets before its configuration's, --db and --out.
  std::vector<std::string> base;
  int64_t seed = 0;
  Invocation base_run;  // `base` resolved.
  bool in_process = true;
  std::vector<ConfigResult> configs;
  std::chrono::nanoseconds estimate{0};  // The longest a run takes.
  std::vector<PlannedRun> order;         // Every run of the sweep.
  std::vector<PlannedRun> planned;       // Those the budget fits.
  std::vector<PlannedRun> left_out;
  std::string csv_path;
  std::string binary;
};

// The knobs, the objective's options and the children's common flags:
// what was given, less tune's own flags, plus what every run must share
// (one seed: the same messages for every configuration) and tune's
// defaults for find-max's steps.
absl::Status ReadSweep(const cli::FlagSet& flags, const TuneCommandLine& cl,
                       int argc, char** argv, Sweep* sweep) {
  sweep->fixed_rate = flags.IsSet("write-rate");
  sweep->objective =
      sweep->fixed_rate ? TuneObjective::kWriteP99 : TuneObjective::kMaxRate;
  RETURN_IF_ERROR(CheckTuneFlags(flags, cl, sweep->fixed_rate));
  ASSIGN_OR_RETURN(sweep->compare, CompareOptionsFrom(cl.compare));
  sweep->default_sweep = !flags.IsSet("vary");
  ASSIGN_OR_RETURN(
      sweep->knobs,
      ParseVaries(sweep->default_sweep
                      ? std::vector<std::string>(std::begin(kDefaultVaries),
                                                 std::end(kDefaultVaries))
                      : cl.varies));
  if (sweep->knobs.empty()) {
    return absl::InvalidArgumentError(
        "--vary names no knob: the sweep is empty");
  }
  for (const VariedKnob& knob : sweep->knobs) {
    if (flags.IsSet(knob.knob)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", knob.knob, " is varied by --vary=", knob.knob,
                       ":...: leave it out"));
    }
  }
  if (!sweep->fixed_rate) {
    ASSIGN_OR_RETURN(sweep->find_max, FindMaxOptionsFrom(cl.find_max));
  }
  sweep->base = PassedFlags(argc, argv);
  sweep->seed = cl.run.scenario.seed;
  if (!flags.IsSet("seed") || sweep->seed == 0) {
    sweep->seed = RandomSeed();
    sweep->base.push_back(absl::StrCat("--seed=", sweep->seed));
  }
  if (!flags.IsSet("log-interval")) sweep->base.push_back("--log-interval=1s");
  if (sweep->find_max.has_value()) {
    if (!flags.IsSet("step-duration")) {
      sweep->base.push_back(
          absl::StrCat("--step-duration=",
                       cli::FormatDuration(sweep->find_max->step_duration)));
    }
    if (!flags.IsSet("warmup")) {
      sweep->base.push_back(absl::StrCat(
          "--warmup=", cli::FormatDuration(sweep->find_max->warmup)));
    }
    if (!flags.IsSet("tries")) {
      sweep->base.push_back(
          absl::StrCat("--tries=", sweep->find_max->tries));
    }
    if (!flags.IsSet("saturation")) {
      sweep->base.push_back(absl::StrCat(
          "--saturation=", sweep->find_max->saturation ? "true" : "false"));
    }
  }
  ASSIGN_OR_RETURN(sweep->base_run,
                   ResolveChild(sweep->base, sweep->fixed_rate));
  sweep->in_process = !sweep->base_run.distributed;
  return absl::OkStatus();
}

// The configurations, each checked through the flag table: a value alone
// first (so that an error names it), then every combination. The defaults
// are c1 (added when the sweep does not hold them): run first in every
// round, so that a budget that runs short keeps what the margin is
// measured against.
absl::Status MakeConfigs(Sweep* sweep) {
  const size_t agents_hint = sweep->in_process ? 1 : 2;
  const std::string base_fingerprint =
      WorkloadFingerprint(sweep->base_run.plan.scenario, agents_hint);
  for (const VariedKnob& knob : sweep->knobs) {
    for (const std::string& value : knob.values) {
      std::vector<std::string> args = sweep->base;
      args.push_back(absl::StrCat("--", knob.knob, "=", value));
      if (absl::StatusOr<Invocation> run =
              ResolveChild(args, sweep->fixed_rate);
          !run.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--vary=", knob.knob, ":", value, ": ", run.status().message()));
      }
    }
  }
  std::set<std::string> fingerprints;
  for (const TuneConfig& config : CrossProduct(sweep->knobs)) {
    std::vector<std::string> args = sweep->base;
    for (const std::string& f : config.Flags()) args.push_back(f);
    absl::StatusOr<Invocation> run = ResolveChild(args, sweep->fixed_rate);
    if (!run.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vary: the configuration ", config.Label(),
                       " cannot run: ", run.status().message()));
    }
    const std::string fingerprint =
        WorkloadFingerprint(run->plan.scenario, agents_hint);
    if (!fingerprints.insert(fingerprint).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vary: the configuration ", config.Label(),
                       " is the same setting as another one"));
    }
    ConfigResult result;
    result.config = config;
    result.config.defaults = fingerprint == base_fingerprint;
    result.sync = run->plan.scenario.sync;
    sweep->configs.push_back(std::move(result));
  }
  std::vector<ConfigResult>& configs = sweep->configs;
  auto defaults =
      std::find_if(configs.begin(), configs.end(),
                   [](const ConfigResult& c) { return c.config.defaults; });
  if (defaults != configs.end()) {
    std::rotate(configs.begin(), defaults, defaults + 1);
  } else {
    ConfigResult added;
    added.config.defaults = true;
    added.sync = sweep->base_run.plan.scenario.sync;
    configs.insert(configs.begin(), std::move(added));
  }
  for (size_t i = 0; i < configs.size(); ++i) {
    configs[i].db = absl::StrCat(sweep->base_run.plan.scenario.db, ".tune-", i + 1);
    struct stat st {};
    if (sweep->in_process && ::lstat(configs[i].db.c_str(), &st) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "-db: ", configs[i].db,
          " exists (left by an earlier tune?); tune runs each configuration "
          "on a scratch database of its own and removes it: remove that "
          "file or choose another -db"));
    }
  }
  return absl::OkStatus();
}

// What one step and one run take, and which runs fit the budget.
absl::Status PlanSweep(std::chrono::nanoseconds budget, int repeats,
                       Sweep* sweep) {
  const Scenario& scenario = sweep->base_run.plan.scenario;
  const auto step = sweep->fixed_rate ? scenario.duration
                                      : sweep->find_max->warmup +
                                            sweep->find_max->step_duration;
  if (budget < step) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--budget=", cli::FormatDuration(budget), " is too small for one ",
        sweep->fixed_rate ? "run (-duration "
                          : "find-max step (warmup + step-duration ",
        cli::FormatDuration(step), ")"));
  }
  const std::chrono::nanoseconds overhead =
      std::chrono::seconds(1) + (sweep->in_process
                                     ? std::chrono::nanoseconds(0)
                                     : sweep->base_run.options.start_delay);
  sweep->estimate = sweep->fixed_rate
                        ? scenario.duration + overhead + std::chrono::seconds(2)
                        : EstimateFindMax(*sweep->find_max, overhead,
                                          std::chrono::seconds(2));
  sweep->order = RunOrder(sweep->configs.size(), repeats);
  const size_t fit = std::min<size_t>(
      sweep->order.size(), static_cast<size_t>(budget / sweep->estimate));
  if (fit == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--budget=", cli::FormatDuration(budget), " fits no whole run: ",
        sweep->fixed_rate ? "a run" : "a find-max run", " takes up to about ",
        cli::FormatDuration(
            std::chrono::duration_cast<std::chrono::seconds>(sweep->estimate)),
        sweep->fixed_rate ? ""
                          : " (lower --max-steps or --max-rate, or raise "
                            "--budget)"));
  }
  sweep->planned.assign(sweep->order.begin(), sweep->order.begin() + fit);
  sweep->left_out.assign(sweep->order.begin() + fit, sweep->order.end());
  return absl::OkStatus();
}

// The output files checked, the work folder made, this binary found.
absl::Status PrepareFiles(const TuneCommandLine& cl, Sweep* sweep) {
  const OutputOptions& output = cl.run.output;
  sweep->csv_path =
      output.csv_prefix.empty() ? "" : TuneCsvPath(output.csv_prefix);
  std::vector<report::OutputFile> kept;
  if (sweep->in_process) {
    for (const ConfigResult& c : sweep->configs) kept.push_back({"-db", c.db});
  }
  RETURN_IF_ERROR(report::CheckOutputFiles({{"--out", output.out_path},
                                            {"--csv", sweep->csv_path},
                                            {"--html", output.html_path}},
                                           kept));
  if (::mkdir(cl.work_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create --work-dir ", cl.work_dir, ": ", std::strerror(errno)));
  }
  ASSIGN_OR_RETURN(sweep->binary, SelfBinary());
  return absl::OkStatus();
}

void PrintPlan(const TuneCommandLine& cl, const Sweep& sweep) {
  std::printf(
      "loadtest tune: %zu configurations x %d repeats of %s, %s; seed %lld; "
      "each run up to about %s, budget %s\n",
      sweep.configs.size(), cl.repeats,
      sweep.fixed_rate ? "a fixed-rate run" : "find-max",
      sweep.fixed_rate ? "objective: the write p99" : "objective: the max rate",
      static_cast<long long>(sweep.seed),
      cli::FormatDuration(
          std::chrono::duration_cast<std::chrono::seconds>(sweep.estimate))
          .c_str(),
      cli::FormatDuration(cl.budget).c_str());
  for (size_t i = 0; i < sweep.configs.size(); ++i) {
    std::printf("  %s: %s%s\n", ConfigName(i).c_str(),
                absl::StrJoin(FullFlags(sweep.configs[i]), " ").c_str(),
                sweep.configs[i].config.defaults ? " (the defaults)" : "");
  }
  if (!sweep.left_out.empty()) {
    std::printf("tune: the budget fits %zu of %zu runs; left out: %s\n",
                sweep.planned.size(), sweep.order.size(),
                LeftOutText(sweep.left_out).c_str());
  }
  std::fflush(stdout);
}

// Echoes the find-max step table a running child writes to its log (the
// header and a row per step, as each step ends), so that a long run shows
// its progress on tune's own output. Polls the log twice a second on a
// thread of its own until destroyed; the destructor joins it and echoes
// what came last. Thread-safety: construct and destroy on one thread; the
// main thread prints nothing while one exists.
class StepEcho {
 public:
  explicit StepEcho(std::string log_path)
      : path_(std::move(log_path)), thread_([this] { Loop(); }) {}
  ~StepEcho() {
    {
      sync::MutexLock lock(&mu_);
      done_ = true;
    }
    wake_.NotifyAll();
    thread_.join();
    Poll();
  }
  StepEcho(const StepEcho&) = delete;
  StepEcho& operator=(const StepEcho&) = delete;

 private:
  void Loop() {
    sync::MutexLock lock(&mu_);
    while (!done_) {
      wake_.WaitUntil(&mu_, Clock::now() + std::chrono::milliseconds(500));
      if (done_) return;
      mu_.Unlock();
      Poll();
      mu_.Lock();
    }
  }

  // The complete lines added since the last poll.
  void Poll() {
    std::ifstream in(path_);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line) && !in.eof()) {
      offset_ += line.size() + 1;
      const bool row =
          !line.empty() && std::isdigit(static_cast<unsigned char>(line[0]));
      if (row || line.rfind("step ", 0) == 0) {
        std::printf("tune:     %s\n", line.c_str());
        std::fflush(stdout);
      }
    }
  }

  const std::string path_;
  size_t offset_ = 0;  // Read by one thread at a time: the loop, then ~.
  sync::Mutex mu_;
  sync::CondVar wake_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// One run of a configuration as a child process, its figures read back;
// `*ok` false when it could not start or wrote no report.
TuneRun RunOne(const Sweep& sweep, const ConfigResult& c,
               const std::string& stem, int repeat, std::atomic<pid_t>* running,
               bool* ok) {
  std::vector<std::string> args;
  if (!sweep.fixed_rate) args.push_back("find-max");
  args.insert(args.end(), sweep.base.begin(), sweep.base.end());
  for (const std::string& f : c.config.Flags()) args.push_back(f);
  args.push_back("--db=" + c.db);
  args.push_back("--out=" + stem + ".json");
  if (sweep.in_process) RemoveDatabase(c.db);
  ::unlink((stem + ".json").c_str());
  const Clock::time_point start = Clock::now();
  TuneRun run;
  run.repeat = repeat;
  run.report = stem + ".json";
  run.log = stem + ".log";
  ::unlink(run.log.c_str());  // An earlier tune's is not this run's.
  {
    std::optional<StepEcho> echo;
    if (!sweep.fixed_rate) echo.emplace(run.log);
    run.exit_code =
        RunChild(sweep.binary, args, run.log, running, "loadtest tune");
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  absl::StatusOr<json> report = ReadJsonFile(run.report);
  *ok = run.exit_code != kExitUsage && run.exit_code != 127 && report.ok();
  if (!*ok) return run;
  ReadFigures(*report, sweep.fixed_rate, &run);
  // find-max's steps leave no database behind (each on a scratch one it
  // removes) unless --step-db=grow: then the file is measured.
  if (sweep.in_process && !run.bytes_per_row.has_value()) {
    run.bytes_per_row = BytesPerRow(c.db);
  }
  return run;
}

std::string RunFigures(const TuneRun& run, bool fixed_rate) {
  std::string figures = "no rate";
  if (run.rate.has_value()) {
    figures = fixed_rate ? absl::StrFormat("%.0f writes/s", *run.rate)
                         : absl::StrFormat("max rate %.0f/s", *run.rate);
  }
  if (run.write_p99_ms.has_value()) {
    absl::StrAppendFormat(&figures, ", write p99 %.2f ms", *run.write_p99_ms);
  }
  if (!run.held) figures += " (did not hold the rate)";
  return figures;
}

// How the sweep ended.
struct SweepEnd {
  size_t runs_done = 0;
  bool failed = false;  // A run could not start.
  std::string stopped_because;
  std::vector<PlannedRun> not_run;  // Planned but not run.
};

// Runs the planned runs in order while the budget leaves room for one
// (the runs so far on average, else the estimate) and no signal came.
SweepEnd RunSweep(const TuneCommandLine& cl, const cli::SignalWatcher& signals,
                  std::atomic<pid_t>* running, Sweep* sweep) {
  SweepEnd end;
  const Clock::time_point started = Clock::now();
  const double budget_s = std::chrono::duration<double>(cl.budget).count();
  double measured_seconds = 0;
  size_t next = 0;
  for (; next < sweep->planned.size() && signals.received() == 0; ++next) {
    const PlannedRun& p = sweep->planned[next];
    ConfigResult& c = sweep->configs[p.config];
    const double elapsed =
        std::chrono::duration<double>(Clock::now() - started).count();
    const double expected =
        end.runs_done > 0
            ? measured_seconds / static_cast<double>(end.runs_done)
            : std::chrono::duration<double>(sweep->estimate).count();
    if (expected > budget_s - elapsed) {
      end.stopped_because =
          absl::StrCat("the budget: ", Seconds(budget_s - elapsed),
                       " left, a run takes about ", Seconds(expected));
      break;
    }
    const std::string stem =
        absl::StrCat(cl.work_dir, "/", ConfigName(p.config), "-", p.repeat);
    // The steps of the run are in its log as it goes.
    std::printf(
        "tune: run %zu of %zu: %s (%s) repeat %d; %s elapsed, about %s to "
        "go, %s of the budget left (steps: %s.log)\n",
        next + 1, sweep->planned.size(), ConfigName(p.config).c_str(),
        c.config.Label().c_str(), p.repeat, Seconds(elapsed).c_str(),
        Seconds(expected * static_cast<double>(sweep->planned.size() - next))
            .c_str(),
        Seconds(budget_s - elapsed).c_str(), stem.c_str());
    std::fflush(stdout);
    bool ok = false;
    TuneRun run = RunOne(*sweep, c, stem, p.repeat, running, &ok);
    if (signals.received() != 0) {
      std::printf(
          "tune:   interrupted (exit %d); its figures are not "
          "counted\n",
          run.exit_code);
      break;
    }
    if (!ok) {
      // A run that could not start will not start the next time either.
      std::fprintf(stderr,
                   "loadtest tune: run %s-%d failed (exit %d); see %s\n",
                   ConfigName(p.config).c_str(), p.repeat, run.exit_code,
                   run.log.c_str());
      end.failed = true;
      end.stopped_because =
          absl::StrCat("run ", ConfigName(p.config), "-", p.repeat,
                       " failed (exit ", run.exit_code, ")");
      break;
    }
    ++end.runs_done;
    measured_seconds += run.seconds;
    std::printf("tune:   exit %d in %s: %s (log %s)\n", run.exit_code,
                Seconds(run.seconds).c_str(),
                RunFigures(run, sweep->fixed_rate).c_str(), run.log.c_str());
    std::fflush(stdout);
    c.runs.push_back(std::move(run));
  }
  if (sweep->in_process) {
    for (const ConfigResult& c : sweep->configs) RemoveDatabase(c.db);
  }
  if (signals.received() != 0) {
    end.stopped_because =
        absl::StrCat("interrupted by signal ", signals.received());
  }
  end.not_run.assign(sweep->planned.begin() + next, sweep->planned.end());
  if (!end.stopped_because.empty() && !end.not_run.empty()) {
    std::printf("tune: stopped (%s); not run: %s\n",
                end.stopped_because.c_str(), LeftOutText(end.not_run).c_str());
  }
  return end;
}

// The whole report: tool, parameters, run and tune.
json TuneReport(const TuneCommandLine& cl, const Sweep& sweep,
                const SweepEnd& end, const std::vector<TierBest>& best,
                std::chrono::system_clock::time_point started_at,
                int signal_number) {
  report::TuneSweepFacts facts;
  for (const std::vector<PlannedRun>* runs : {&end.not_run, &sweep.left_out}) {
    for (const PlannedRun& r : *runs) {
      facts.left_out.push_back(
          absl::StrCat(ConfigName(r.config), "-", r.repeat));
    }
  }
  for (const VariedKnob& k : sweep.knobs) {
    facts.varies.emplace_back(k.knob, k.values);
  }
  facts.mode = sweep.in_process ? "in-process" : "distributed";
  facts.repeats = cl.repeats;
  facts.budget = cl.budget;
  facts.estimate_per_run =
      std::chrono::duration_cast<std::chrono::seconds>(sweep.estimate);
  facts.default_sweep = sweep.default_sweep;
  facts.run_flags = sweep.base;
  facts.seed = sweep.seed;
  facts.work_dir = cl.work_dir;
  facts.planned_runs = sweep.order.size();
  facts.runs_done = end.runs_done;
  facts.interrupted = signal_number != 0;
  facts.stopped_because = end.stopped_because;
  facts.scenario = sweep.base_run.plan.scenario;
  facts.started_at = started_at;
  facts.ended_at = std::chrono::system_clock::now();
  return report::TuneReportJson(facts, sweep.configs, best, sweep.objective,
                                sweep.compare);
}

// --out, --csv and --html, each through report/'s file writer.
absl::Status WriteTuneReports(const OutputOptions& output,
                              const std::string& csv_path,
                              const std::vector<ConfigResult>& configs,
                              const json& report) {
  if (!output.out_path.empty()) {
    RETURN_IF_ERROR(WriteJsonFile(output.out_path, report));
    std::printf("report: %s\n", output.out_path.c_str());
  }
  if (!csv_path.empty()) {
    RETURN_IF_ERROR(report::WriteTextFile(csv_path, TuneCsv(configs)));
    std::printf("csv: %s\n", csv_path.c_str());
  }
  if (!output.html_path.empty()) {
    RETURN_IF_ERROR(
        report::WriteTextFile(output.html_path, TuneHtmlReport(report)));
    std::printf("html: %s\n", output.html_path.c_str());
  }
  return absl::OkStatus();
}

}  // namespace

int TuneMain(int argc, char** argv) {
  TuneCommandLine cl;
  cli::FlagSet flags("loadtest tune", kTuneIntro);
  RegisterTuneFlags(&flags, &cl);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  auto usage = [](const absl::Status& status) {
    std::fprintf(stderr, "loadtest tune: %s\n",
                 std::string(status.message()).c_str());
    return kExitUsage;
  };
  // Everything is checked before the first run starts.
  Sweep sweep;
  if (absl::Status s = ReadSweep(flags, cl, argc, argv, &sweep); !s.ok()) {
    return usage(s);
  }
  if (absl::Status s = MakeConfigs(&sweep); !s.ok()) return usage(s);
  if (absl::Status s = PlanSweep(cl.budget, cl.repeats, &sweep); !s.ok()) {
    return usage(s);
  }
  if (absl::Status s = PrepareFiles(cl, &sweep); !s.ok()) return usage(s);
  PrintPlan(cl, sweep);

  std::atomic<pid_t> running{0};
  cli::SignalWatcher signals([&running](int signal_number) {
    // A terminal's Ctrl-C reaches the run too; a signal sent to tune
    // alone is passed on.
    if (const pid_t pid = running.load(); pid > 0) ::kill(pid, signal_number);
  });
  const auto started_at = std::chrono::system_clock::now();
  const SweepEnd end = RunSweep(cl, signals, &running, &sweep);
  const std::vector<TierBest> best =
      JudgeSweep(sweep.objective, sweep.compare, &sweep.configs);
  std::printf(
      "\n%s",
      FormatTune(sweep.configs, best, sweep.objective, sweep.compare).c_str());
  std::fflush(stdout);
  const json report =
      TuneReport(cl, sweep, end, best, started_at, signals.received());
  if (absl::Status s = WriteTuneReports(cl.run.output, sweep.csv_path,
                                       sweep.configs, report);
      !s.ok()) {
    return usage(s);
  }
  if (signals.received() != 0) return 128 + signals.received();
  return end.failed ? kExitUsage : kExitOk;
}

}  // namespace loadtest::commands
