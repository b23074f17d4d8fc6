#include "report/aggregator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "protocol/peer_text.h"
#include "protocol/validity.h"
#include "report/validity.h"

namespace loadtest::report {
namespace {

// Process figures over time (`across_agents` false: a later interval of the
// same process) or across agents over the same span (true).
void AddProcess(const protocol::ProcessFigures& o, bool across_agents,
                std::optional<protocol::ProcessFigures>* into) {
  if (!into->has_value()) {
    *into = o;
    return;
  }
  protocol::ProcessFigures& p = **into;
  p.cpu_seconds += o.cpu_seconds;
  p.run_queue_wait_seconds += o.run_queue_wait_seconds;
  p.voluntary_switches += o.voluntary_switches;
  p.involuntary_switches += o.involuntary_switches;
  p.read_chars += o.read_chars;
  p.write_chars += o.write_chars;
  p.read_calls += o.read_calls;
  p.write_calls += o.write_calls;
  p.read_bytes += o.read_bytes;
  p.write_bytes += o.write_bytes;
  if (across_agents) {
    p.wall_seconds = std::max(p.wall_seconds, o.wall_seconds);
    p.usable_cores += o.usable_cores;
    p.threads += o.threads;
    p.rss_bytes += o.rss_bytes;
    p.open_fds += o.open_fds;
  } else {
    p.wall_seconds += o.wall_seconds;
    p.usable_cores = std::max(p.usable_cores, o.usable_cores);
    p.threads = std::max(p.threads, o.threads);
    p.rss_bytes = std::max(p.rss_bytes, o.rss_bytes);
    p.open_fds = std::max(p.open_fds, o.open_fds);
  }
}

void AddStore(const storage::StoreInternals& o, bool across_agents,
              std::optional<storage::StoreInternals>* into) {
  if (!into->has_value()) {
    *into = o;
  } else if (across_agents) {
    (*into)->AddStore(o);
  } else {
    (*into)->AddInterval(o);
  }
}

}  // namespace

void Figures::AddUpdate(const protocol::IntervalUpdate& u) {
  seconds += u.end_s - u.start_s;
  counters.Add(u.stats.counters);
  write_latency.Merge(u.stats.write_latency);
  read_latency.Merge(u.stats.read_latency);
  peak_queue_depth = std::max(peak_queue_depth, u.peak_queue_depth);
  queue_size = std::max(queue_size, u.queue_size);
  batches += u.batches;
  rows_committed += u.rows_committed;
  late_commits += u.late_commits;
  offered_writes += u.offered_writes;
  offered_reads += u.offered_reads;
  schedule_lag.Merge(u.stats.schedule_lag);
  wake_lag.Merge(u.stats.wake_lag);
  writes_in_flight.Merge(u.stats.writes_in_flight);
  reads_in_flight.Merge(u.stats.reads_in_flight);
  if (u.store.has_value()) AddStore(*u.store, false, &store);
  if (u.process.has_value()) AddProcess(*u.process, false, &process);
  if (u.host.has_value()) {
    if (host.has_value()) {
      host->AddInterval(*u.host);
    } else {
      host = u.host;
    }
  }
  ++intervals;
  if (std::optional<std::string> reason = protocol::GeneratorBoundReason(u)) {
    ++generator_bound_intervals;
    generator_bound_reason = std::move(*reason);
  }
  if (std::optional<std::string> reason =
          CheckpointStarvationReason(u)) {
    ++starved_intervals;
    starvation_reason = std::move(*reason);
  }
}

void Figures::MergeAgent(const Figures& o) {
  seconds = std::max(seconds, o.seconds);
  counters.Add(o.counters);
  write_latency.Merge(o.write_latency);
  read_latency.Merge(o.read_latency);
  // Utilization is a per-store figure: the total shows the fullest store.
  if (o.queue_size > 0 &&
      (queue_size == 0 || o.queue_utilization() > queue_utilization())) {
    peak_queue_depth = o.peak_queue_depth;
    queue_size = o.queue_size;
  }
  batches += o.batches;
  rows_committed += o.rows_committed;
  late_commits += o.late_commits;
  offered_writes += o.offered_writes;
  offered_reads += o.offered_reads;
  schedule_lag.Merge(o.schedule_lag);
  wake_lag.Merge(o.wake_lag);
  writes_in_flight.Merge(o.writes_in_flight);
  reads_in_flight.Merge(o.reads_in_flight);
  if (o.store.has_value()) AddStore(*o.store, true, &store);
  if (o.process.has_value()) AddProcess(*o.process, true, &process);
  if (o.host.has_value()) {
    if (host.has_value()) {
      host->AddHost(*o.host);
    } else {
      host = o.host;
    }
  }
  // An interval of the total is one interval, bound when any agent was.
  intervals = std::max(intervals, o.intervals);
  generator_bound_intervals += o.generator_bound_intervals;
  starved_intervals += o.starved_intervals;
  if (!o.generator_bound_reason.empty()) {
    generator_bound_reason = o.generator_bound_reason;
  }
  if (!o.starvation_reason.empty()) starvation_reason = o.starvation_reason;
}

stats::HealthSample HealthSampleOf(const Figures& f) {
  stats::HealthSample s;
  s.seconds = f.seconds;
  s.writes_ok = f.counters.writes_ok;
  s.write_errors = f.counters.write_errors;
  s.write_timeouts = f.counters.write_timeouts;
  s.queue_full = f.counters.queue_full;
  s.reads_ok = f.counters.reads_ok;
  s.read_errors = f.counters.read_errors;
  s.offered_writes = f.offered_writes;
  if (f.write_latency.count() > 0) {
    s.write_p95_ns = f.write_latency.Quantile(0.95);
    s.write_p99_ns = f.write_latency.Quantile(0.99);
  }
  s.queue_utilization = f.queue_utilization();
  if (f.generator_bound_intervals > 0) {
    s.generator_bound_reason = f.generator_bound_reason;
  }
  return s;
}

double Figures::offered_write_rate() const {
  return seconds > 0 ? offered_writes / seconds : 0;
}

double Figures::offered_read_rate() const {
  return seconds > 0 ? offered_reads / seconds : 0;
}

double Figures::writes_per_s() const {
  return seconds > 0 ? counters.writes_ok / seconds : 0;
}

double Figures::reads_per_s() const {
  return seconds > 0 ? counters.reads_ok / seconds : 0;
}

double Figures::queue_utilization() const {
  return queue_size > 0 ? static_cast<double>(peak_queue_depth) / queue_size
                        : 0;
}

double Figures::mean_batch_size() const {
  return batches > 0 ? static_cast<double>(rows_committed) / batches : 0;
}

double Figures::error_rate() const {
  const stats::IntervalCounters& c = counters;
  const int64_t failed =
      c.write_errors + c.write_timeouts + c.queue_full + c.read_errors;
  const int64_t attempted = failed + c.writes_ok + c.reads_ok;
  return attempted > 0 ? static_cast<double>(failed) / attempted : 0;
}

Aggregator::Aggregator(std::vector<std::string> agent_ids,
                       DiagnosisSettings settings)
    : agent_ids_(std::move(agent_ids)), diagnoser_(settings) {
  for (const std::string& id : agent_ids_) summaries_[id].agent_id = id;
}

// Every agent has reported the row, or is finished (nothing more to add to
// it) or lost (never will): counted, not scanned, so that a row costs O(1)
// per update however many agents there are.
bool Aggregator::RowComplete(const PendingRow& row) const {
  return row.updates.size() + done_count_ - row.done_in_updates >=
         agent_ids_.size();
}

void Aggregator::MarkDone(const std::string& agent_id) {
  ++done_count_;
  for (auto& [sequence, row] : pending_) {
    if (row.updates.count(agent_id) > 0) ++row.done_in_updates;
  }
}

IntervalRow Aggregator::MakeRow(int64_t sequence, const PendingRow& row) const {
  IntervalRow out;
  out.sequence = sequence;
  out.agents.reserve(row.updates.size());
  bool first = true;
  for (const std::string& id : agent_ids_) {
    auto it = row.updates.find(id);
    if (it == row.updates.end()) continue;
    AgentFigures agent{id, {}, {}, false};
    agent.figures.AddUpdate(it->second);
    agent.final = it->second.final;
    out.final = out.final || agent.final;
    out.total.MergeAgent(agent.figures);
    out.start_s = first ? it->second.start_s
                        : std::min(out.start_s, it->second.start_s);
    out.end_s = std::max(out.end_s, it->second.end_s);
    first = false;
    out.agents.push_back(std::move(agent));
  }
  return out;
}

protocol::RunAudit CheckAudit(const protocol::RunAudit& claimed,
                              const Figures& figures) {
  protocol::RunAudit audit = claimed;
  if (!audit.error.empty()) return audit;
  const int64_t expected = audit.acknowledged + audit.late_commits;
  audit.lost = std::max<int64_t>(0, expected - audit.rows_in_db);
  audit.unexplained = std::max<int64_t>(0, audit.rows_in_db - expected);
  std::vector<std::string> contradictions;
  if (audit.lost != claimed.lost || audit.unexplained != claimed.unexplained) {
    contradictions.push_back(absl::StrCat(
        "the agent reported lost ", claimed.lost, " and unexplained ",
        claimed.unexplained, ", but rows_in_db ", audit.rows_in_db,
        " against acknowledged ", audit.acknowledged, " + committed late ",
        audit.late_commits, " gives lost ", audit.lost, " and unexplained ",
        audit.unexplained));
  }
  if (audit.acknowledged != figures.counters.writes_ok) {
    contradictions.push_back(absl::StrCat(
        "the audit counts ", audit.acknowledged,
        " acknowledged writes, but the agent's updates reported ",
        figures.counters.writes_ok));
  }
  if (audit.late_commits != figures.late_commits) {
    contradictions.push_back(absl::StrCat(
        "the audit counts ", audit.late_commits,
        " late commits, but the agent's updates reported ",
        figures.late_commits));
  }
  if (!contradictions.empty()) {
    audit.error = absl::StrCat("the audit contradicts itself or the run: ",
                               absl::StrJoin(contradictions, "; "));
  }
  return audit;
}

std::vector<IntervalRow> Aggregator::Add(const std::string& agent_id,
                                         const protocol::IntervalUpdate& update) {
  std::vector<IntervalRow> rows;
  auto summary = summaries_.find(agent_id);
  if (summary == summaries_.end() || summary->second.finished ||
      summary->second.lost) {
    return rows;
  }
  summary->second.figures.AddUpdate(update);
  if (summary->second.first_error.empty()) {
    summary->second.first_error = update.first_error;
  }
  if (update.sequence >= next_row_) {
    pending_[update.sequence].updates[agent_id] = update;
  }
  if (update.final) {
    summary->second.finished = true;
    if (update.audit.has_value()) {
      summary->second.audit = CheckAudit(*update.audit, summary->second.figures);
    }
    summary->second.stop_reason = update.stop_reason;
    MarkDone(agent_id);
  }
  return TakeCompleteRows();
}

std::vector<IntervalRow> Aggregator::MarkLost(const std::string& agent_id,
                                              const std::string& reason) {
  auto summary = summaries_.find(agent_id);
  if (summary == summaries_.end() || summary->second.finished ||
      summary->second.lost) {
    return {};
  }
  summary->second.lost = true;
  summary->second.lost_reason = reason;
  MarkDone(agent_id);
  return TakeCompleteRows();
}

std::vector<IntervalRow> Aggregator::TakeCompleteRows() {
  std::vector<IntervalRow> rows;
  while (!pending_.empty() && pending_.begin()->first == next_row_ &&
         RowComplete(pending_.begin()->second)) {
    IntervalRow row = MakeRow(next_row_, pending_.begin()->second);
    JudgeHealth(&row);
    rows.push_back(std::move(row));
    pending_.erase(pending_.begin());
    ++next_row_;
  }
  return rows;
}

void Aggregator::JudgeHealth(IntervalRow* row) {
  for (AgentFigures& agent : row->agents) {
    stats::HealthSample sample = HealthSampleOf(agent.figures);
    sample.final = agent.final;
    agent.health = judges_[agent.agent_id].Judge(sample);
    summaries_.at(agent.agent_id)
        .health.Add(agent.health.state, agent.figures.seconds);
    diagnoser_.Observe(agent.agent_id, row->sequence,
                       row->start_s, row->end_s, agent.figures, agent.health);
  }
  stats::HealthSample total = HealthSampleOf(row->total);
  total.final = row->final;
  row->total_health = total_judge_.Judge(total);
  total_health_.Add(row->total_health.state, row->total.seconds);
}

RunSummary Aggregator::Summary() const {
  RunSummary out;
  out.health = total_health_;
  out.diagnosis = diagnoser_.Findings();
  for (const std::string& id : agent_ids_) {
    const AgentSummary& s = summaries_.at(id);
    out.agents.push_back(s);
    out.total.MergeAgent(s.figures);
    if (!s.finished || s.lost) out.partial = true;
    if (s.audit.has_value()) {
      const protocol::RunAudit& a = *s.audit;
      out.audit.rows_before += a.rows_before;
      out.audit.rows_in_db += a.rows_in_db;
      out.audit.acknowledged += a.acknowledged;
      out.audit.late_commits += a.late_commits;
      out.audit.lost += a.lost;
      out.audit.unexplained += a.unexplained;
      out.audit.fts_index_bytes += a.fts_index_bytes;
      if (out.audit.error.empty()) out.audit.error = a.error;
    }
  }
  // Every agent that was not lost must have audited an intact database;
  // with every agent lost there is nothing audited at all.
  bool all_intact = false;
  for (const AgentSummary& s : out.agents) {
    if (s.lost) continue;
    if (!s.audit.has_value() || !s.audit->integrity_ok) {
      all_intact = false;
      break;
    }
    all_intact = true;
  }
  out.audit.integrity_ok = all_intact;
  out.audit.integrity_message = all_intact ? "ok" : "see agents";
  for (const AgentSummary& a : out.agents) {
    const Figures& f = a.figures;
    const std::string agent = protocol::PeerText(a.agent_id);
    if (f.generator_bound_intervals > 0) {
      out.warnings.push_back(absl::StrCat(
          "agent ", agent, ": ", f.generator_bound_intervals, " of ",
          f.intervals, " intervals limited by the load generator (",
          f.generator_bound_reason,
          "), not by the store: their latencies include waiting for the "
          "generator"));
    }
    if (f.starved_intervals > 0) {
      out.warnings.push_back(absl::StrCat(
          "agent ", agent, ": checkpoint starvation in ", f.starved_intervals,
          " of ", f.intervals, " intervals: ", f.starvation_reason,
          " (a reader holding a read transaction open keeps the WAL from "
          "starting over)"));
    }
  }
  out.seconds = out.total.seconds;
  return out;
}

}  // namespace loadtest::report
