// Aggregator: turns the interval updates of one or more agents into
// per-interval rows (one per agent plus a total) and the run's summary.
// Counters add, latency histograms merge, so every total percentile comes
// from the merged histogram, never from an average of percentiles.
//
// Pure: no I/O, no clock, no threads. One thread at a time.
#ifndef LOADTEST_REPORT_AGGREGATOR_H_
#define LOADTEST_REPORT_AGGREGATOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/diagnosis.h"
#include "report/stability.h"
#include "protocol/run_spec.h"
#include "stats/health.h"
#include "storage/store_internals.h"
#include "stats/interval_counters.h"
#include "stats/latency_histogram.h"

namespace loadtest::report {

// The figures of one agent, or of all agents, over some span of time.
struct Figures {
  double seconds = 0;  // Length of the span.
  stats::IntervalCounters counters;
  stats::LatencyHistogram write_latency;
  stats::LatencyHistogram read_latency;
  int peak_queue_depth = 0;  // Highest queue depth of any one agent.
  int queue_size = 0;
  int64_t batches = 0;
  int64_t rows_committed = 0;
  int64_t late_commits = 0;
  // Open loop: operations the schedules made due (the offered load).
  double offered_writes = 0;
  double offered_reads = 0;
  // Open loop: how late operations started (one sample per paced one).
  stats::LatencyHistogram schedule_lag;
  // Open loop: the generator's own part of that lag (stats::IntervalStats).
  stats::LatencyHistogram wake_lag;
  // Writes (reads) in flight as each started: one agent's busy workers
  // (across agents the histograms merge, so the total shows the busiest
  // agent's, not a sum). Counts, not nanoseconds.
  stats::LatencyHistogram writes_in_flight;
  stats::LatencyHistogram reads_in_flight;
  // SQLite's internals and the agent process, when the updates carried
  // them: over time, counts add and sizes keep the largest; across agents,
  // counts and sizes add (StoreInternals::AddStore, AddProcess).
  std::optional<storage::StoreInternals> store;
  std::optional<protocol::ProcessFigures> process;
  // The agent's host, when the updates carried it: over time
  // HostFigures::AddInterval, across agents HostFigures::AddHost (the CPU
  // split averaged over all CPUs, the highest load, the busiest disk).
  std::optional<protocol::HostFigures> host;
  // Validity (protocol/validity.h): the intervals counted, how many of
  // them the load generator limited, and the reason of the last such one;
  // the same for checkpoint starvation. Across agents `intervals` is the
  // longest agent's and the bound and starved counts add (agent-intervals).
  int64_t intervals = 0;
  int64_t generator_bound_intervals = 0;
  std::string generator_bound_reason;
  int64_t starved_intervals = 0;
  std::string starvation_reason;

  // Adds one update of one agent (its span extends this one's).
  void AddUpdate(const protocol::IntervalUpdate& update);
  // Adds another agent's figures over the same span (seconds: the longest).
  void MergeAgent(const Figures& other);

  double writes_per_s() const;      // Acknowledged writes per second.
  // Open loop: writes (reads) per second offered; 0 in a closed loop.
  double offered_write_rate() const;
  double offered_read_rate() const;
  double reads_per_s() const;
  double queue_utilization() const;  // peak depth / queue size, 0..1.
  double mean_batch_size() const;
  // Failed operations (write errors, timeouts, queue full, read errors)
  // over all operations attempted, 0..1.
  double error_rate() const;
};

// The figures of one interval (one agent's, or the total) as the health
// rules read them (stats/health.h).
stats::HealthSample HealthSampleOf(const Figures& interval);

struct AgentFigures {
  std::string agent_id;
  Figures figures;
  stats::Health health;  // This agent's state in the interval.
  bool final = false;    // Its last interval (HealthSample::final).
};

struct IntervalRow {
  int64_t sequence = 0;
  double start_s = 0;
  double end_s = 0;
  std::vector<AgentFigures> agents;  // In the order the agents were given.
  Figures total;
  bool final = false;  // Some agent's last interval.
  // The total's state: judged on the total figures (the fullest queue, the
  // merged latencies, the summed throughput) against the total's own
  // earlier intervals.
  stats::Health total_health;
};

struct AgentSummary {
  std::string agent_id;
  Figures figures;  // Whole run.
  std::optional<protocol::RunAudit> audit;
  std::string stop_reason;
  std::string first_error;  // Its first failed write's message, or "".
  bool finished = false;  // Its final update arrived.
  // The agent was given up on before its final update (stream failed, or
  // silent too long): `figures` hold what it reported until then, `audit`
  // is empty.
  bool lost = false;
  std::string lost_reason;
  stats::HealthTally health;  // Its intervals in each health state.
};

struct RunSummary {
  double seconds = 0;
  std::vector<AgentSummary> agents;
  Figures total;
  // Summed over the agents that sent one; a lost agent has none and is
  // left out (its store's durability is unknown, not failed).
  protocol::RunAudit audit;
  bool partial = false;   // Some agent was lost or never sent its final update.
  // Plain-words warnings about the run's validity, one per agent and kind:
  // "agent a1: 4 of 5 intervals limited by the load generator (CPU 99% of
  // 2 cores), not by the store"; "agent a1: checkpoint starvation in 2 of 5
  // intervals: the WAL reached ...".
  std::vector<std::string> warnings;
  stats::HealthTally health;  // The total's intervals in each state.
  // Why the store broke and what to change (report/diagnosis.h); empty
  // when nothing was found.
  std::vector<Finding> diagnosis;
  // Whether performance held steady (report/stability.h): set at the
  // run's end from the interval log's series (FinishRun); empty in the
  // summaries taken during the run, so it is judged at the end only.
  std::optional<StabilityVerdict> stability;
};

// An agent's audit as the controller trusts it: `lost` and `unexplained`
// recomputed from its raw counts (rows_in_db against acknowledged +
// late_commits), and `acknowledged` and `late_commits` held against the
// sums of the agent's own updates (`figures`). A contradiction (a claimed
// lost or unexplained count the counts do not give, an acknowledged count
// other than the writes_ok its updates reported) fails the audit: `error`
// names both numbers. An audit that could not run (`error` already set)
// is returned as it is.
protocol::RunAudit CheckAudit(const protocol::RunAudit& claimed,
                              const Figures& figures);

class Aggregator {
 public:
  // `settings`: the run's settings as one agent got them, for the
  // diagnosis's rules and advice.
  explicit Aggregator(std::vector<std::string> agent_ids,
                      DiagnosisSettings settings = DiagnosisSettings());

  // Takes one update of `agent_id` and returns the interval rows it
  // completed: a row is complete when every agent still running (neither
  // finished nor lost) has reported that interval. Updates of unknown,
  // finished or lost agents are ignored. A final update's audit is checked
  // (CheckAudit) before it is kept.
  std::vector<IntervalRow> Add(const std::string& agent_id,
                               const protocol::IntervalUpdate& update);

  // Gives up on `agent_id` (no-op when unknown, finished or already lost):
  // it no longer holds back interval rows, its figures up to its last update
  // stay in the summary, the summary becomes partial. Returns the rows that
  // were waiting only for this agent (as Add does), in order.
  std::vector<IntervalRow> MarkLost(const std::string& agent_id,
                                    const std::string& reason);

  RunSummary Summary() const;

 private:
  struct PendingRow {
    std::map<std::string, protocol::IntervalUpdate> updates;
    // How many of the agents in `updates` are finished or lost: the row is
    // complete when updates.size() + (done agents) - this == all agents.
    size_t done_in_updates = 0;
  };
  // An agent just finished or was lost: count it in the rows it is in.
  void MarkDone(const std::string& agent_id);
  bool RowComplete(const PendingRow& row) const;
  IntervalRow MakeRow(int64_t sequence, const PendingRow& row) const;
  std::vector<IntervalRow> TakeCompleteRows();
  // Judges the row's health (each agent's and the total's) in order and
  // counts it in the summaries.
  void JudgeHealth(IntervalRow* row);

  const std::vector<std::string> agent_ids_;
  std::map<std::string, AgentSummary> summaries_;
  // One judge per agent and one for the total, fed the rows in order.
  std::map<std::string, stats::HealthJudge> judges_;
  stats::HealthJudge total_judge_;
  stats::HealthTally total_health_;
  Diagnoser diagnoser_;
  std::map<int64_t, PendingRow> pending_;  // By sequence.
  int64_t next_row_ = 1;                   // Rows are emitted in order.
  size_t done_count_ = 0;                  // Agents finished or lost.
};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_AGGREGATOR_H_
