// Display: what a person watching `loadtest` sees.
//   Not a terminal (CI, pipes): plain lines, one per interval (per agent
//   when there are several, then the TOTAL).
//   A terminal (live): a block at the bottom redrawn every second and every
//   interval: a progress bar with elapsed and remaining time, and, with
//   several agents, the table of the last interval (one row per agent, the
//   top and bottom agents by writes/s when they do not all fit, then the
//   TOTAL). Above it one line per interval scrolls by (the TOTAL), so the
//   history stays in the terminal's scrollback; that line is kept within
//   the terminal's width (FitFigureLine).
// At the end, the summary with the guide's targets and the audit.
//
// Thread-safety: all methods are safe from any thread (one mutex guards the
// output stream, so the progress ticker never interleaves with a row).
#ifndef LOADTEST_REPORT_DISPLAY_H_
#define LOADTEST_REPORT_DISPLAY_H_

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <cstdint>
#include <vector>

#include "report/aggregator.h"
#include "report/find_max_result.h"
#include "report/scenario.h"
#include "report/thresholds.h"
#include "sync/mutex.h"

namespace loadtest::report {

class Display {
 public:
  // `out` must outlive the display. `live` turns on the redrawn block
  // (use it when `out` is a terminal). `per_agent` asks for a line per agent
  // plus a TOTAL line in every row even when a row holds a single agent (a
  // multi-agent run whose other agents were lost or finished early).
  Display(std::FILE* out, bool live, std::chrono::nanoseconds duration,
          bool per_agent = false);
  ~Display();  // Stops the progress ticker.

  // Starts the clock (and the progress ticker when live).
  void Start();
  void Row(const IntervalRow& row);
  void Message(const std::string& line);
  // `line` on stderr (e.g. "loadtest: agent a1 (10.0.0.7:7070) lost: ..."),
  // after clearing the progress line so the two never mix on a terminal.
  void Warning(const std::string& line);
  // Stops the ticker and clears the live block. Idempotent.
  void Stop();
  // Stops the ticker and prints the summary: with several agents also one
  // line per agent (lost agents marked, with the reason); the scenario's
  // expectation and verdict beside the guide's targets; the audit names
  // the agents it could not cover.
  void Summary(const RunSummary& summary, const ScenarioJudgement& scenario,
               const std::vector<TargetCheck>& targets,
               const std::vector<ThresholdResult>& thresholds);

 private:
  void TickerLoop();
  // The live block: erased before anything else is written, drawn again
  // after (each of its lines cut to the terminal's width, so that it takes
  // exactly block_lines_ lines).
  void ClearBlockLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrawBlockLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ProgressLine() const;
  // The terminal's columns and rows (120 x 40 when `out_` is not one).
  void TerminalSize(int* width, int* height) const;
  // The table of `row` for the live block.
  std::vector<std::string> LiveTable(const IntervalRow& row) const;

  std::FILE* const out_;
  const bool live_;
  const std::chrono::nanoseconds duration_;
  const bool per_agent_;

  sync::Mutex mu_;
  sync::CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int block_lines_ ABSL_GUARDED_BY(mu_) = 0;  // Lines of the block on screen.
  std::vector<std::string> table_ ABSL_GUARDED_BY(mu_);  // Last interval's table.
  bool ticking_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point start_;  // Set by Start().
  std::thread ticker_;
};

// One interval's line: `prefix` (time and agent) then the figures. With
// `width` 0, or when the whole line fits, every figure in full (what a pipe
// or CI log gets). Otherwise the line is at most `width` characters: short
// units and labels ("w 4123/s  p50/95/99 ...  q 3%  err 0"), and of the
// columns those that fit, taken in this order: writes/s, write percentiles,
// errors, queue, the generator-bound flag, reads/s, the WAL-starved flag,
// read p99, offered rates, batches (cut at `width` when not even writes/s
// fits). What is left out stays in the per-agent table, the summary and
// the reports.
std::string FitFigureLine(const std::string& prefix, const Figures& figures,
                          size_t width);

// The state column of the live view and interval lines: "healthy",
// "STRESS", "OVERLOAD", "GEN-BOUND" (at most 9 characters).
const char* ShortHealth(stats::HealthState state);
// " | under_stress: queue 93.0% full (healthy below 80.0%); ..." for an
// unhealthy state; "" when healthy or generator-bound (whose reason the
// figure line carries).
std::string HealthReasons(const stats::Health& health);

// "12.3 ms"-style rendering of a latency in nanoseconds.
std::string FormatLatency(int64_t ns);

// find-max's live table: the row of a step, and its header: offered,
// achieved, p50/p95/p99, errors, in flight, verdict (and, on the try that
// decided its rate when the rate took more than one, the rate's verdict:
// "rate passed: 2 of 3 tries").
std::string StepTableHeader();
std::string StepTableRow(size_t number, const StepResult& step);

// What `loadtest find-max` says before its first step: the agents, how the
// writes are dispatched or the writers sized, the SLOs, the steps and the
// database they use, and with --saturation the runs around the search.
// Each line ends in a newline.
struct FindMaxSetup {
  size_t agents = 1;
  bool distributed = false;
  bool async = false;        // writes dispatched without a thread each
  int queue_size = 0;        // bounds the writes in flight when async
  int writers = 0;           // row streams (async) or writers per agent
  bool writers_auto = false;  // writers sized by the rate (concurrency.h)
  int writer_cap = 0;        // the most writers an agent gets when sized
  int readers = 0;
  int64_t seed = 0;
  std::string step_db;       // the database the steps write
};
std::string FindMaxHeaderText(const FindMaxOptions& options,
                              const FindMaxSetup& setup);
// What it says after the last step: the warnings, the answer (or why there
// is none), the saturated rates and the answer's share of them, and
// whether the generator set the limit.
std::string FindMaxEndText(const FindMaxResult& result, size_t agents);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_DISPLAY_H_
