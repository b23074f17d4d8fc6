// The machine-readable report of a run (`--out=FILE`): parameters, the
// per-interval rows, the summary per agent and in total, the guide's
// targets and the durability audit. Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_JSON_REPORT_H_
#define LOADTEST_REPORT_JSON_REPORT_H_

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "report/aggregator.h"
#include "report/compare.h"
#include "report/find_max_result.h"
#include "report/thresholds.h"
#include "report/scenario.h"
#include "report/tune.h"
#include "nlohmann/json.hpp"

namespace loadtest::report {

// Figures as JSON: writes_ok, writes_per_s, reads_ok, reads_per_s,
// offered_write_rate / achieved_write_rate and the read ones (open loop),
// write_errors, write_timeouts, queue_full_errors, read_errors, writes_late,
// reads_late, late_commits, batches, mean_batch_size, peak_queue_depth,
// queue_size, queue_utilization, error_rate, seconds, and
// write_latency_ms / read_latency_ms {count,p50,p95,p99,p999,max,mean}.
nlohmann::json FiguresJson(const Figures& figures);

// The report's `parameters`: every field of `scenario`, durations as
// FormatDuration writes them.
nlohmann::json ScenarioJson(const Scenario& scenario);

// The report's run.messages: the source, a file's path, format, line
// counts and content hash, the search terms and the source's measured
// statistics (docs/report-format.md).
nlohmann::json MessagesJson(const Scenario& scenario);

// The report's `summary.scenario`: name, section, expectation (the guide's
// words), min_writes_per_s, max_writes_per_s (null: no upper bound),
// measured (writes/s), unit "writes/s", verdict ("within", "above",
// "below", "not_judged"), verdict_text (VerdictSentence) and
// differs_from_guide (the parameters that differ from the guide's command).
nlohmann::json ScenarioJudgementJson(const ScenarioJudgement& judgement);

// The report's `summary.stability` (docs/report-format.md, "Stability"):
// verdict ("stable", "unstable", "too_short", "not_judged"), stable,
// headline, reasons, the intervals judged, and once judged the trends:
// throughput, write_p99, stalls, rss and store (null when not reported).
nlohmann::json StabilityJson(const StabilityVerdict& verdict);

// A hash of the workload's shape (16 hex digits): every parameter of
// `scenario` but the database name, the metrics port, the log interval,
// --fresh and the seed, plus the number of agents. The report's
// run.fingerprint; `loadtest compare` warns when two differ.
std::string WorkloadFingerprint(const Scenario& scenario, size_t agents);

// One agent of a distributed run, for the report's `agents` manifest.
struct AgentInfo {
  std::string agent_id;  // As in summary.agents[].agent_id.
  std::string target;    // Where the controller reached it ("10.0.0.7:7070").
  std::string version;
  std::string hostname;
  int metrics_port = 0;
};

// A Prometheus file_sd target list for the agents of a run: one entry per
// agent, `HOST:METRICS_PORT` (HOST as the controller reached it) with the
// label `agent` = its id, so a file_sd job scrapes exactly these agents.
nlohmann::json PrometheusTargetsJson(const std::vector<AgentInfo>& agents);

// One interval row: sequence, start_s, end_s, total (FiguresJson) and,
// `with_agents`, agents[] (FiguresJson with agent_id each).
nlohmann::json IntervalRowJson(const IntervalRow& row, bool with_agents);

// One agent's figures of one interval, a line of the --out-intervals JSON
// Lines file: FiguresJson plus sequence, start_s, end_s and agent_id.
nlohmann::json AgentIntervalJson(const IntervalRow& row,
                                 const AgentFigures& agent);

// The report: tool, parameters, summary (total, agents[] with `lost` and
// `lost_reason`, partial, guide_targets), audit, and `intervals`: the rows
// given, as IntervalRowJson makes them. A run gives only the totals (its
// per-agent rows go to the interval log); whole rows suit small reports.
nlohmann::json RunReportJson(const Scenario& scenario,
                             const std::vector<IntervalRow>& intervals,
                             const RunSummary& summary,
                             const std::vector<TargetCheck>& targets,
                             const std::vector<ThresholdResult>& thresholds = {});
nlohmann::json RunReportJson(const Scenario& scenario, nlohmann::json rows,
                             const RunSummary& summary,
                             const std::vector<TargetCheck>& targets,
                             const std::vector<ThresholdResult>& thresholds = {});

// How a run ended, as its report states it.
struct RunEndFacts {
  std::string mode;  // "in-process" or "distributed".
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point ended_at;
  int signal_number = 0;       // The signal that ended the run, or 0.
  std::string intervals_path;  // --out-intervals, or "".
  std::optional<AbortInfo> aborted;
};

// The finished run's report: RunReportJson (with no `intervals`: --out
// streams the spooled totals in) and summary.scenario (`judgement`),
// summary.stability (`summary.stability`, set), run.mode, run.started_at,
// run.ended_at, run.interrupted_by_signal, intervals_file and aborted.
nlohmann::json FinishedRunReportJson(
    const Scenario& scenario, const RunSummary& summary,
    const std::vector<TargetCheck>& targets,
    const std::vector<ThresholdResult>& thresholds,
    const ScenarioJudgement& judgement, const RunEndFacts& end);

// Adds the `agents` manifest ([{agent_id, target, version, hostname,
// metrics_port}]; an in-process run's one agent has target "in-process") and,
// when not empty, `run_id` (at the top level and in `run`).
void AddAgentManifest(const std::string& run_id,
                      const std::vector<AgentInfo>& agents,
                      nlohmann::json* report);

// The controller's own cost over a run: the time spent per completed
// interval (aggregating its updates, printing and logging its row), and the
// process's CPU and peak memory.
struct ControllerCost {
  std::vector<double> interval_work_ms;  // One per completed interval.
  double cpu_seconds = 0;
  double peak_rss_mb = 0;
};
// The report's `controller`: interval_work_ms {count, p50, p99, max} (the
// nearest-rank quantiles; 0 without an interval), cpu_seconds, peak_rss_mb.
nlohmann::json ControllerCostJson(ControllerCost cost);

// `report`, pretty-printed, written whole to `path` (report::WriteTextFile).
absl::Status WriteJsonFile(const std::string& path,
                           const nlohmann::json& report);

// "2026-11-27T06:25:22.123Z".
std::string FormatUtc(std::chrono::system_clock::time_point t);

// The report's find_max object: max_rate (null when none), limited_by,
// limit_reason, error (null or the message), warnings[], options, slos,
// steps[] (offered_rate, achieved_rate, writers, writers_auto,
// in_flight_max, needed_in_flight, write_latency_ms {p50, p95, p99, max},
// errors, queue_full, timeouts, writes_late, generator_bound[],
// behind_schedule[], passed, verdict, reason, warnings[], attempt,
// rate_passed (null unless this try decided its rate), rate_tries,
// rate_tries_passed).
nlohmann::json FindMaxJson(const FindMaxOptions& options,
                           const FindMaxResult& result);

// find-max's --out report: tool, parameters (the scenario), run (mode,
// agents, seed, fingerprint, started_at, ended_at) and find_max
// (FindMaxJson).
nlohmann::json FindMaxReportJson(const FindMaxReport& about,
                                 const FindMaxOptions& options,
                                 const FindMaxResult& result);

// `loadtest tune`'s --out report: tool, parameters (the scenario), run
// (mode, seed, started_at, ended_at) and tune: objective, options (what
// `sweep` states), configs[], best[], planned_runs, runs_done, left_out,
// interrupted, stopped_because (docs/report-format.md).
nlohmann::json TuneReportJson(const TuneSweepFacts& sweep,
                              const std::vector<ConfigResult>& configs,
                              const std::vector<TierBest>& best,
                              TuneObjective objective,
                              const CompareOptions& compare_options);

// The comparison as JSON, for a pull-request comment: {options, a: [names],
// b: [names], figures: [{figure, key, higher_is_better, a: {n, mean, sd,
// cov, values}, b: {...}, change_percent, ci_low_percent,
// ci_high_percent, verdict}], regressions, verdict, exit_code}.
nlohmann::json ComparisonJson(const std::vector<ComparisonRow>& rows,
                              const std::vector<std::string>& a_names,
                              const std::vector<std::string>& b_names,
                              const CompareOptions& options);

// What `loadtest repeat`'s summary (repeat.json) says besides the figures.
struct RepeatFacts {
  std::vector<std::string> reports_a;  // As listed in --out-dir.
  std::vector<std::string> reports_b;
  int runs = 0;                       // --runs.
  std::vector<std::string> command;   // The runs' common flags.
  bool with_b = false;
  std::vector<std::string> b_flags;  // --b-flags, split.
};

// repeat.json: {repeat: {a: [...], b: [...]}, runs, command} and, with a
// side B, b_flags and comparison (ComparisonJson naming the reports by
// `a_names`/`b_names`), else figures: [{figure, key, n, mean, sd, cov,
// values}] of side A.
nlohmann::json RepeatSummaryJson(const RepeatFacts& facts,
                                 const std::vector<ComparisonRow>& rows,
                                 const std::vector<std::string>& a_names,
                                 const std::vector<std::string>& b_names,
                                 const CompareOptions& options);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_JSON_REPORT_H_
