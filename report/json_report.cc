#include "report/json_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "duration/duration.h"
#include "cli/version.h"
#include "report/report_file.h"

namespace loadtest::report {
namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

nlohmann::json LatencyJson(const stats::LatencyHistogram& h) {
  return {
      {"count", h.count()},
      {"p50", Ms(h.Quantile(0.50))},
      {"p95", Ms(h.Quantile(0.95))},
      {"p99", Ms(h.Quantile(0.99))},
      {"p999", Ms(h.Quantile(0.999))},
      {"max", Ms(h.max())},
      {"mean", h.mean() / 1e6},
  };
}

// The short form for the store's and the process's own histograms.
nlohmann::json ShortLatencyJson(const stats::LatencyHistogram& h) {
  return {
      {"count", h.count()},
      {"p50", Ms(h.Quantile(0.50))},
      {"p99", Ms(h.Quantile(0.99))},
      {"max", Ms(h.max())},
  };
}

// A count sampled per operation (in flight as each started).
nlohmann::json InFlightJson(const stats::LatencyHistogram& h) {
  return {
      {"samples", h.count()},
      {"p50", h.Quantile(0.50)},
      {"p99", h.Quantile(0.99)},
      {"max", h.max()},
  };
}

nlohmann::json CacheJson(const storage::ConnectionActivity& c) {
  return {{"hits", c.cache_hits},
          {"misses", c.cache_misses},
          {"writes", c.cache_writes},
          {"spills", c.cache_spills}};
}

nlohmann::json StoreJson(const storage::StoreInternals& s) {
  return {
      {"wal_bytes_max", s.wal_bytes_max},
      {"wal_restart_bytes", s.wal_restart_bytes},
      {"db_bytes", s.db_bytes},
      {"checkpoints", s.checkpoints},
      {"checkpoint_frames", s.checkpoint_frames},
      {"checkpoints_blocked", s.checkpoints_blocked},
      {"wal_stuck_ms_max", Ms(s.wal_stuck_ns_max)},
      {"writer_cpu_seconds", static_cast<double>(s.writer_cpu_ns) / 1e9},
      {"checkpoint_ms", ShortLatencyJson(s.checkpoint_latency)},
      {"commit_ms", ShortLatencyJson(s.commit_latency)},
      {"busy_events",
       {{"writer", s.writer.busy_events},
        {"readers", s.readers.busy_events},
        {"checkpointer", s.checkpointer.busy_events},
        {"total", s.writer.busy_events + s.readers.busy_events +
                      s.checkpointer.busy_events}}},
      {"busy_wait_ms",
       {{"writer", Ms(s.writer.busy_wait_ns)},
        {"readers", Ms(s.readers.busy_wait_ns)},
        {"checkpointer", Ms(s.checkpointer.busy_wait_ns)}}},
      {"cache", {{"writer", CacheJson(s.writer)}, {"readers", CacheJson(s.readers)}}},
      {"cache_hit_ratio", s.cache_hit_ratio()},
      {"fsyncs", s.fsyncs},
      {"fsync_ms", Ms(s.fsync_ns)},
  };
}

nlohmann::json ProcessJson(const protocol::ProcessFigures& p,
                           const stats::LatencyHistogram& schedule_lag,
                           const stats::LatencyHistogram& wake_lag) {
  return {
      {"seconds", p.wall_seconds},
      {"cpu_seconds", p.cpu_seconds},
      {"cpu_fraction", p.cpu_fraction()},
      {"usable_cores", p.usable_cores},
      {"threads", p.threads},
      {"rss_bytes", p.rss_bytes},
      {"open_fds", p.open_fds},
      {"voluntary_switches", p.voluntary_switches},
      {"involuntary_switches", p.involuntary_switches},
      {"waiting_threads", p.waiting_threads()},
      {"read_chars", p.read_chars},
      {"write_chars", p.write_chars},
      {"read_calls", p.read_calls},
      {"write_calls", p.write_calls},
      {"read_bytes", p.read_bytes},
      {"write_bytes", p.write_bytes},
      {"schedule_lag_ms", ShortLatencyJson(schedule_lag)},
      {"wake_lag_ms", ShortLatencyJson(wake_lag)},
  };
}

nlohmann::json HostJson(const protocol::HostFigures& h) {
  nlohmann::json disk = {{"device", nullptr},
                         {"unavailable", h.disk_unavailable}};
  if (!h.disk_device.empty()) {
    disk = {
        {"device", h.disk_device},
        {"unavailable", nullptr},
        {"utilization", h.disk_utilization()},
        {"await_ms", h.disk_await_ms()},
        {"queue_depth", h.disk_queue_depth()},
        {"requests", h.disk_requests},
        {"read_bytes", h.disk_read_bytes},
        {"write_bytes", h.disk_write_bytes},
    };
  }
  return {
      {"seconds", h.wall_seconds},
      {"cpus", h.cpus},
      {"cpu",
       {{"user", h.cpu_user_fraction()},
        {"system", h.cpu_system_fraction()},
        {"iowait", h.cpu_iowait_fraction()},
        {"steal", h.cpu_steal_fraction()},
        {"idle", h.cpu_idle_fraction()}}},
      {"load1", h.load1},
      {"load5", h.load5},
      {"load15", h.load15},
      {"disk", std::move(disk)},
  };
}

nlohmann::json ReasonJson(const std::string& reason) {
  return reason.empty() ? nlohmann::json() : nlohmann::json(reason);
}

nlohmann::json AuditJson(const protocol::RunAudit& a) {
  return {
      {"rows_before", a.rows_before},
      {"rows_in_db", a.rows_in_db},
      {"acknowledged", a.acknowledged},
      {"late_commits", a.late_commits},
      {"lost", a.lost},
      {"unexplained", a.unexplained},
      {"integrity_ok", a.integrity_ok},
      {"integrity_message", a.integrity_message},
      {"error", a.error},
      {"passed", a.passed()},
      {"fts_index_bytes", a.fts_index_bytes},
      {"fts_index_bytes_per_row",
       a.rows_before + a.rows_in_db > 0
           ? static_cast<double>(a.fts_index_bytes) /
                 static_cast<double>(a.rows_before + a.rows_in_db)
           : 0.0},
  };
}

// An FTS5 setting: its value, or null when left to SQLite (-1).
nlohmann::json FtsSettingJson(int64_t value) {
  return value == storage::kFtsDefault ? nlohmann::json() : nlohmann::json(value);
}

}  // namespace

nlohmann::json ScenarioJson(const Scenario& s) {
  using duration::FormatDuration;
  return {
      {"db", s.db},
      {"duration", FormatDuration(s.duration)},
      {"writers", s.writers},
      {"readers", s.readers},
      {"batch_size", s.batch_size},
      {"batch_timeout", FormatDuration(s.batch_timeout)},
      {"batch_policy", s.batch_policy},
      {"queue_size", s.queue_size},
      {"metrics_port", s.metrics_port},
      {"log_interval", FormatDuration(s.log_interval)},
      {"write_delay", FormatDuration(s.write_delay)},
      {"read_delay", FormatDuration(s.read_delay)},
      {"write_rate", s.write_rate},
      {"read_rate", s.read_rate},
      {"stages", s.stages},
      {"read_stages", s.read_stages},
      {"stages_per_agent", s.stages_per_agent},
      {"seed", s.seed},
      {"write_timeout", FormatDuration(s.write_timeout)},
      {"schema", s.schema},
      {"sync", s.sync},
      {"temp_store", s.temp_store},
      {"fts_sync", s.fts_sync},
      {"fts_automerge", FtsSettingJson(s.fts_automerge)},
      {"fts_crisismerge", FtsSettingJson(s.fts_crisismerge)},
      {"fts_pgsz", FtsSettingJson(s.fts_pgsz)},
      {"fresh", s.fresh},
      {"cache_size_kib", s.cache_size_kib},
      {"reader_mmap_mib", s.reader_mmap_mib},
      {"reader_nice", s.reader_nice},
      {"messages", s.messages},
      {"messages_format", s.messages_format},
      {"search_terms", s.search_terms.empty() ? s.messages_facts.search_terms
                                              : s.search_terms},
      {"write_dispatch", s.write_dispatch},
  };
}

nlohmann::json MessagesJson(const Scenario& s) {
  const MessagesFacts& f = s.messages_facts;
  const bool file = f.content_hash.size() > 0;
  nlohmann::json j = {
      {"source", file ? "file" : s.messages},
      {"search_terms", f.search_terms},
      {"measured_rows", f.rows},
      {"mean_message_bytes", f.mean_message_bytes},
      {"p99_message_bytes", f.p99_message_bytes},
      {"distinct_tokens", f.distinct_tokens},
  };
  if (file) {
    j["path"] = s.messages.substr(5);
    j["format"] = f.format;
    j["lines"] = f.lines;
    j["malformed_lines"] = f.malformed;
    j["content_hash"] = f.content_hash;
  }
  return j;
}

nlohmann::json ScenarioJudgementJson(const ScenarioJudgement& j) {
  return {{"name", j.name},
          {"section", j.section},
          {"expectation", j.expectation},
          {"min_writes_per_s", j.min_writes_per_s},
          {"max_writes_per_s", j.max_writes_per_s > 0
                                   ? nlohmann::json(j.max_writes_per_s)
                                   : nlohmann::json()},
          {"measured", j.measured_writes_per_s},
          {"unit", "writes/s"},
          {"verdict", VerdictName(j.verdict)},
          {"verdict_text", VerdictSentence(j.verdict)},
          {"differs_from_guide", j.differs_from_guide}};
}

std::string WorkloadFingerprint(const Scenario& scenario, size_t agents) {
  nlohmann::json shape = ScenarioJson(scenario);
  // What does not change the load a store sees: names, ports, how often it
  // is reported, whether old rows were dropped, the messages' seed.
  for (const char* key :
       {"db", "metrics_port", "log_interval", "fresh", "seed"}) {
    shape.erase(key);
  }
  // The messages: what a file holds, not where it was; runs with the
  // original's messages and searches keep the fingerprint they had before
  // there was a choice.
  if (shape["messages"] == "original" &&
      (shape["search_terms"] == "original" || shape["search_terms"] == "")) {
    shape.erase("messages");
    shape.erase("messages_format");
    shape.erase("search_terms");
  } else if (!scenario.messages_facts.content_hash.empty()) {
    shape["messages"] = scenario.messages_facts.content_hash;
  }
  // Closed-loop writers are threads whatever it says: such runs keep the
  // fingerprint they had before there was a choice.
  if (scenario.write_rate <= 0 && scenario.stages.empty()) {
    shape.erase("write_dispatch");
  }
  // The FTS settings came later: at their defaults they leave the
  // fingerprint as it was before there was a choice.
  if (shape["fts_sync"] == "trigger") shape.erase("fts_sync");
  for (const char* key : {"fts_automerge", "fts_crisismerge", "fts_pgsz"}) {
    if (shape[key].is_null()) shape.erase(key);
  }
  shape["agents"] = agents;
  // FNV-1a, 64 bits, over the canonical dump (nlohmann sorts the keys).
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char byte : shape.dump()) {
    hash = (hash ^ byte) * 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", hash);
}

nlohmann::json FiguresJson(const Figures& f) {
  const stats::IntervalCounters& c = f.counters;
  nlohmann::json j = {
      {"seconds", f.seconds},
      {"writes_ok", c.writes_ok},
      {"writes_per_s", f.writes_per_s()},
      {"reads_ok", c.reads_ok},
      {"reads_per_s", f.reads_per_s()},
      {"offered_write_rate", f.offered_write_rate()},
      {"achieved_write_rate", f.writes_per_s()},
      {"offered_read_rate", f.offered_read_rate()},
      {"achieved_read_rate", f.reads_per_s()},
      {"write_errors", c.write_errors},
      {"write_timeouts", c.write_timeouts},
      {"queue_full_errors", c.queue_full},
      {"read_errors", c.read_errors},
      {"writes_late", c.writes_late},
      {"reads_late", c.reads_late},
      {"late_commits", f.late_commits},
      {"batches", f.batches},
      {"rows_committed", f.rows_committed},
      {"mean_batch_size", f.mean_batch_size()},
      {"peak_queue_depth", f.peak_queue_depth},
      {"queue_size", f.queue_size},
      {"queue_utilization", f.queue_utilization()},
      {"error_rate", f.error_rate()},
      {"write_latency_ms", LatencyJson(f.write_latency)},
      {"read_latency_ms", LatencyJson(f.read_latency)},
      {"intervals", f.intervals},
      {"generator_bound_intervals", f.generator_bound_intervals},
      {"generator_bound", ReasonJson(f.generator_bound_reason)},
      {"checkpoint_starved_intervals", f.starved_intervals},
      {"checkpoint_starvation", ReasonJson(f.starvation_reason)},
      {"in_flight",
       {{"writes", InFlightJson(f.writes_in_flight)},
        {"reads", InFlightJson(f.reads_in_flight)}}},
  };
  if (f.store.has_value()) j["store"] = StoreJson(*f.store);
  if (f.process.has_value()) {
    j["process"] = ProcessJson(*f.process, f.schedule_lag, f.wake_lag);
  }
  if (f.host.has_value()) j["host"] = HostJson(*f.host);
  return j;
}

nlohmann::json HealthJson(const stats::Health& health) {
  return {{"state", stats::HealthStateName(health.state)},
          {"reasons", health.reasons}};
}

nlohmann::json HealthTallyJson(const stats::HealthTally& tally) {
  nlohmann::json j = nlohmann::json::object();
  for (stats::HealthState state : stats::kAllHealthStates) {
    const int i = static_cast<int>(state);
    j[stats::HealthStateName(state)] = {{"intervals", tally.intervals[i]},
                                        {"seconds", tally.seconds[i]}};
  }
  j["healthy_fraction"] = tally.fraction(stats::HealthState::kHealthy);
  return j;
}

nlohmann::json DiagnosisJson(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const Finding& f : findings) {
    out.push_back({{"id", f.id},
                   {"symptom", f.symptom},
                   {"cause", f.cause},
                   {"evidence", f.evidence},
                   {"advice", f.advice},
                   {"guide", f.guide},
                   {"agents", f.agents},
                   {"first_interval", f.first_interval},
                   {"last_interval", f.last_interval},
                   {"intervals", f.intervals},
                   {"first_s", f.first_s},
                   {"last_s", f.last_s}});
  }
  return out;
}

nlohmann::json IntervalRowJson(const IntervalRow& row, bool with_agents) {
  nlohmann::json j = {{"sequence", row.sequence},
                      {"start_s", row.start_s},
                      {"end_s", row.end_s},
                      {"total", FiguresJson(row.total)}};
  j["total"]["health"] = HealthJson(row.total_health);
  if (with_agents) {
    nlohmann::json per_agent = nlohmann::json::array();
    for (const AgentFigures& a : row.agents) {
      nlohmann::json figures = FiguresJson(a.figures);
      figures["agent_id"] = a.agent_id;
      figures["health"] = HealthJson(a.health);
      per_agent.push_back(std::move(figures));
    }
    j["agents"] = std::move(per_agent);
  }
  return j;
}

nlohmann::json AgentIntervalJson(const IntervalRow& row,
                                 const AgentFigures& agent) {
  nlohmann::json j = FiguresJson(agent.figures);
  j["sequence"] = row.sequence;
  j["start_s"] = row.start_s;
  j["end_s"] = row.end_s;
  j["agent_id"] = agent.agent_id;
  j["health"] = HealthJson(agent.health);
  return j;
}

nlohmann::json RunReportJson(const Scenario& scenario,
                             const std::vector<IntervalRow>& intervals,
                             const RunSummary& summary,
                             const std::vector<TargetCheck>& targets,
                             const std::vector<ThresholdResult>& thresholds) {
  nlohmann::json rows = nlohmann::json::array();
  for (const IntervalRow& row : intervals) {
    rows.push_back(IntervalRowJson(row, /*with_agents=*/true));
  }
  return RunReportJson(scenario, std::move(rows), summary, targets, thresholds);
}

nlohmann::json RunReportJson(const Scenario& scenario, nlohmann::json rows,
                             const RunSummary& summary,
                             const std::vector<TargetCheck>& targets,
                             const std::vector<ThresholdResult>& thresholds) {
  nlohmann::json agents = nlohmann::json::array();
  for (const AgentSummary& a : summary.agents) {
    nlohmann::json agent = FiguresJson(a.figures);
    agent["agent_id"] = a.agent_id;
    agent["stop_reason"] = a.stop_reason;
    agent["first_error"] = a.first_error;
    agent["finished"] = a.finished;
    agent["lost"] = a.lost;
    agent["lost_reason"] = a.lost_reason;
    agent["health"] = HealthTallyJson(a.health);
    if (a.audit.has_value()) agent["audit"] = AuditJson(*a.audit);
    agents.push_back(std::move(agent));
  }
  nlohmann::json threshold_results = nlohmann::json::array();
  for (const ThresholdResult& t : thresholds) {
    threshold_results.push_back({{"threshold", t.text},
                                 {"scope", t.scope},
                                 {"measured", t.measured},
                                 {"unit", t.unit},
                                 {"passed", t.passed}});
  }
  nlohmann::json checks = nlohmann::json::array();
  for (const TargetCheck& t : targets) {
    checks.push_back({{"name", t.name},
                      {"target", t.target},
                      {"value", t.value},
                      {"unit", t.unit},
                      {"met", t.met}});
  }
  return {
      {"tool", {{"name", "loadtest"}, {"version", cli::kVersion}}},
      {"parameters", ScenarioJson(scenario)},
      {"run",
       {{"seed", scenario.seed},
        {"messages", MessagesJson(scenario)},
        {"fingerprint",
         WorkloadFingerprint(scenario, summary.agents.size())}}},
      {"summary",
       {{"seconds", summary.seconds},
        {"partial", summary.partial},
        {"total", FiguresJson(summary.total)},
        {"agents", std::move(agents)},
        {"warnings", summary.warnings},
        {"health", HealthTallyJson(summary.health)},
        {"diagnosis", DiagnosisJson(summary.diagnosis)},
        {"guide_targets", std::move(checks)},
        {"thresholds", std::move(threshold_results)}}},
      {"audit", AuditJson(summary.audit)},
      {"intervals", std::move(rows)},
  };
}

nlohmann::json StabilityJson(const StabilityVerdict& v) {
  nlohmann::json j = {
      {"verdict", StabilityStateName(v.state)},
      {"stable", v.stable()},
      {"headline", v.headline},
      {"reasons", v.reasons},
      {"intervals", v.intervals},
      {"warmup_intervals", v.warmup_intervals},
      {"judged_intervals", v.judged_intervals},
      {"min_judged_intervals", kMinJudgedIntervals},
      {"intervals_per_point", v.intervals_per_point},
      {"confidence", kConfidence}};
  if (!v.judged()) return j;
  const LinearTrend& tr = v.throughput;
  j["from_s"] = v.from_s;
  j["to_s"] = v.to_s;
  j["throughput"] = {
      {"mean_writes_per_s", tr.mean},
      {"drift_percent_per_10min", 100 * v.drift},
      {"ci_low_percent", 100 * v.drift_ci_low},
      {"ci_high_percent", 100 * v.drift_ci_high},
      {"bound_percent", 100 * kMaxThroughputDrift},
      {"beyond", v.drift_beyond},
      {"trend",
       {{"from_s", v.from_s},
        {"from_writes_per_s", tr.At(v.from_s)},
        {"to_s", v.to_s},
        {"to_writes_per_s", tr.At(v.to_s)}}}};
  j["write_p99"] = {{"first_third_ms", v.p99_first_ms},
                    {"last_third_ms", v.p99_last_ms},
                    {"change_percent", 100 * v.p99_change},
                    {"bound_percent", 100 * kMaxP99Rise},
                    {"first_third", {{"from_s", v.from_s},
                                     {"to_s", v.first_third_end_s}}},
                    {"last_third", {{"from_s", v.last_third_start_s},
                                    {"to_s", v.to_s}}}};
  j["stalls"] = {{"count", v.stalls},
                 {"median_writes_per_s", v.median_writes_per_s},
                 {"below_writes_per_s", kStallFraction * v.median_writes_per_s},
                 {"first_at_s", v.stalls > 0 ? nlohmann::json(v.first_stall_s)
                                             : nlohmann::json()},
                 {"lowest_writes_per_s", v.lowest_writes_per_s}};
  j["rss"] = nullptr;
  if (v.has_rss) {
    j["rss"] = {{"first_bytes", v.rss_first_bytes},
                {"last_bytes", v.rss_last_bytes},
                {"growth_percent_per_10min", 100 * v.rss_growth},
                {"ci_low_percent", 100 * v.rss_growth_ci_low},
                {"ci_high_percent", 100 * v.rss_growth_ci_high},
                {"bound_percent", 100 * kMaxRssGrowth}};
  }
  j["store"] = nullptr;
  if (v.has_store) {
    j["store"] = {{"wal_first_third_bytes", v.wal_first_third_bytes},
                  {"wal_last_third_bytes", v.wal_last_third_bytes},
                  {"wal_restart_bytes", v.wal_restart_bytes},
                  {"wal_bound_ratio", kMaxWalGrowth},
                  {"db_growth_bytes_per_10min", v.db_growth_bytes_per_10min},
                  {"db_bytes_per_write", v.db_bytes_per_write}};
  }
  return j;
}

void AddAgentManifest(const std::string& run_id,
                      const std::vector<AgentInfo>& agents,
                      nlohmann::json* report) {
  nlohmann::json manifest = nlohmann::json::array();
  for (const AgentInfo& a : agents) {
    manifest.push_back({{"agent_id", a.agent_id},
                        {"target", a.target},
                        {"version", a.version},
                        {"hostname", a.hostname},
                        {"metrics_port", a.metrics_port}});
  }
  if (!run_id.empty()) {
    (*report)["run_id"] = run_id;
    (*report)["run"]["run_id"] = run_id;
  }
  (*report)["agents"] = std::move(manifest);
}

nlohmann::json PrometheusTargetsJson(const std::vector<AgentInfo>& agents) {
  nlohmann::json targets = nlohmann::json::array();
  for (const AgentInfo& a : agents) {
    const std::string host = a.target.substr(0, a.target.rfind(':'));
    targets.push_back(
        {{"targets", {absl::StrCat(host, ":", a.metrics_port)}},
         {"labels", {{"agent", a.agent_id}}}});
  }
  return targets;
}

nlohmann::json ControllerCostJson(ControllerCost cost) {
  std::vector<double>& work_ms = cost.interval_work_ms;
  std::sort(work_ms.begin(), work_ms.end());
  auto quantile = [&work_ms](double q) {
    if (work_ms.empty()) return 0.0;
    const size_t rank = static_cast<size_t>(
        std::ceil(q * static_cast<double>(work_ms.size())));
    return work_ms[std::min(work_ms.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  return {{"interval_work_ms",
           {{"count", work_ms.size()},
            {"p50", quantile(0.50)},
            {"p99", quantile(0.99)},
            {"max", work_ms.empty() ? 0.0 : work_ms.back()}}},
          {"cpu_seconds", cost.cpu_seconds},
          {"peak_rss_mb", cost.peak_rss_mb}};
}

absl::Status WriteJsonFile(const std::string& path,
                           const nlohmann::json& json) {
  return report::WriteTextFile(path, json.dump(2) + "\n");
}

std::string FormatUtc(std::chrono::system_clock::time_point t) {
  const auto since_epoch = t.time_since_epoch();
  const std::time_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  const int64_t millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() %
      1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  return absl::StrFormat("%s.%03dZ", text, static_cast<int>(millis));
}

namespace {

nlohmann::json StatsJson(const std::vector<double>& values) {
  if (values.empty()) return nullptr;
  const SideStats s = DescribeRuns(values);
  return {{"n", values.size()},
          {"mean", s.mean},
          {"sd", s.sd},
          {"cov", s.cov},
          {"min", s.min},
          {"max", s.max},
          {"values", values}};
}

nlohmann::json OptionalNumber(const std::optional<double>& v) {
  return v.has_value() ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json ComparisonRowJson(const ComparisonRow& row) {
  auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  return {{"change_percent", number(row.change_percent)},
          {"ci_low_percent", number(row.ci_low_percent)},
          {"ci_high_percent", number(row.ci_high_percent)},
          {"verdict", VerdictName(row.verdict)}};
}

// The whole sweep as the report's "tune" object: options (as given in
// `options`), configs[] and best[].
nlohmann::json TuneJson(const nlohmann::json& options,
                        const std::vector<ConfigResult>& configs,
                        const std::vector<TierBest>& best,
                        TuneObjective objective,
                        const CompareOptions& compare_options) {
  nlohmann::json config_list = nlohmann::json::array();
  for (size_t i = 0; i < configs.size(); ++i) {
    const ConfigResult& c = configs[i];
    nlohmann::json settings = nlohmann::json::object();
    for (const auto& [knob, value] : c.config.settings) settings[knob] = value;
    nlohmann::json runs = nlohmann::json::array();
    for (const TuneRun& run : c.runs) {
      runs.push_back({{"repeat", run.repeat},
                      {"report", run.report},
                      {"log", run.log},
                      {"exit_code", run.exit_code},
                      {"seconds", run.seconds},
                      {"rate", OptionalNumber(run.rate)},
                      {"write_p99_ms", OptionalNumber(run.write_p99_ms)},
                      {"bytes_per_row", OptionalNumber(run.bytes_per_row)},
                      {"held", run.held}});
    }
    const std::vector<double> bytes = RunFigure(c, &TuneRun::bytes_per_row);
    config_list.push_back(
        {{"name", ConfigName(i)},
         {"defaults", c.config.defaults},
         {"settings", settings},
         {"flags", c.config.Flags()},
         {"sync", c.sync},
         {"survives", SyncSurvives(c.sync)},
         {"db", c.db},
         {"runs", runs},
         {"rate", StatsJson(RunFigure(c, &TuneRun::rate))},
         {"write_p99_ms", StatsJson(RunFigure(c, &TuneRun::write_p99_ms))},
         {"bytes_per_row",
          bytes.empty() ? nlohmann::json(nullptr) : nlohmann::json(DescribeRuns(bytes).mean)},
         {"verdict", c.verdict},
         {"against_best", c.against_best.has_value()
                              ? ComparisonRowJson(*c.against_best)
                              : nlohmann::json(nullptr)}});
  }
  nlohmann::json best_list = nlohmann::json::array();
  for (const TierBest& tier : best) {
    const ConfigResult& c = configs[tier.best];
    std::vector<std::string> ties;
    for (size_t t : tier.ties) ties.push_back(ConfigName(t));
    const std::vector<double> values = ObjectiveValues(c, objective);
    best_list.push_back(
        {{"sync", tier.sync},
         {"survives", SyncSurvives(tier.sync)},
         {"config", ConfigName(tier.best)},
         {"label", c.config.Label()},
         {"flags", FullFlags(c)},
         {"objective_mean", DescribeRuns(values).mean},
         {"ties", ties},
         {"defaults", tier.defaults.has_value()
                          ? nlohmann::json(ConfigName(*tier.defaults))
                          : nlohmann::json(nullptr)},
         {"over_defaults", tier.over_defaults.has_value()
                               ? ComparisonRowJson(*tier.over_defaults)
                               : nlohmann::json(nullptr)},
         {"statement",
          MarginStatement(tier, configs, objective, compare_options)}});
  }
  return {{"objective",
           objective == TuneObjective::kMaxRate ? "max_rate" : "write_p99"},
          {"options", options},
          {"configs", std::move(config_list)},
          {"best", std::move(best_list)}};
}

}  // namespace

nlohmann::json TuneReportJson(const TuneSweepFacts& sweep,
                              const std::vector<ConfigResult>& configs,
                              const std::vector<TierBest>& best,
                              TuneObjective objective,
                              const CompareOptions& compare_options) {
  nlohmann::json varies = nlohmann::json::array();
  for (const auto& [knob, values] : sweep.varies) {
    varies.push_back({{"knob", knob}, {"values", values}});
  }
  const nlohmann::json options = {
      {"mode", sweep.mode},
      {"repeats", sweep.repeats},
      {"budget", duration::FormatDuration(sweep.budget)},
      {"estimate_per_run", duration::FormatDuration(sweep.estimate_per_run)},
      {"varies", varies},
      {"default_sweep", sweep.default_sweep},
      {"run_flags", sweep.run_flags},
      {"seed", sweep.seed},
      {"min_effect", compare_options.min_effect},
      {"confidence", compare_options.confidence},
      {"work_dir", sweep.work_dir}};
  nlohmann::json tune =
      TuneJson(options, configs, best, objective, compare_options);
  tune["planned_runs"] = sweep.planned_runs;
  tune["runs_done"] = sweep.runs_done;
  tune["left_out"] = sweep.left_out;
  tune["interrupted"] = sweep.interrupted;
  tune["stopped_because"] = sweep.stopped_because;
  return {{"tool", {{"name", "loadtest tune"}, {"version", cli::kVersion}}},
          {"parameters", ScenarioJson(sweep.scenario)},
          {"run",
           {{"mode", sweep.mode},
            {"seed", sweep.seed},
            {"started_at", FormatUtc(sweep.started_at)},
            {"ended_at", FormatUtc(sweep.ended_at)}}},
          {"tune", std::move(tune)}};
}

namespace {

// find_max.saturation: null without --saturation.
nlohmann::json SaturationJson(const FindMaxOptions& options,
                              const FindMaxResult& result) {
  if (!options.saturation) return nullptr;
  const Saturation& s = result.saturation;
  auto or_null = [](std::optional<double> v) {
    return v.has_value() ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  std::optional<double> share;
  if (result.max_rate.has_value() && s.mean().has_value() && *s.mean() > 0) {
    share = *result.max_rate / *s.mean();
  }
  return {{"writers_per_agent", kSaturationWriters},
          {"before_writes_per_s", or_null(s.before)},
          {"after_writes_per_s", or_null(s.after)},
          {"mean_writes_per_s", or_null(s.mean())},
          {"change", or_null(s.change())},
          {"max_rate_share", or_null(share)}};
}

}  // namespace

nlohmann::json FindMaxJson(const FindMaxOptions& options,
                           const FindMaxResult& result) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepResult& step : result.steps) {
    const Figures& t = step.measured.total;
    const stats::IntervalCounters& c = t.counters;
    steps.push_back({
        {"offered_rate", step.offered_rate},
        {"achieved_rate", t.writes_per_s()},
        {"measured_seconds", t.seconds},
        {"agents", step.agents},
        {"writers", step.writers},
        {"writers_auto", step.writers_auto},
        {"in_flight_max", step.max_in_flight()},
        {"in_flight_p99", t.writes_in_flight.Quantile(0.99)},
        {"needed_in_flight", step.needed_in_flight()},
        {"write_latency_ms",
         {{"p50", Ms(t.write_latency.Quantile(0.50))},
          {"p95", Ms(t.write_latency.Quantile(0.95))},
          {"p99", Ms(t.write_latency.Quantile(0.99))},
          {"max", Ms(t.write_latency.max())}}},
        {"errors", c.write_errors + c.read_errors},
        {"queue_full", c.queue_full},
        {"timeouts", c.write_timeouts},
        {"writes_late", c.writes_late},
        {"generator_bound", step.generator_bound},
        {"behind_schedule", step.behind_schedule},
        {"passed", step.passed},
        {"verdict", step.passed ? "ok" : LimitName(step.limit)},
        {"reason", step.reason},
        {"warnings", step.warnings},
        {"attempt", step.attempt},
        {"rate_passed", step.rate_passed.has_value()
                            ? nlohmann::json(*step.rate_passed)
                            : nlohmann::json(nullptr)},
        {"rate_tries", step.rate_tries},
        {"rate_tries_passed", step.rate_tries_passed},
    });
  }
  nlohmann::json slos = nlohmann::json::array();
  for (const Threshold& t : options.slos) slos.push_back(t.text);
  return {
      {"max_rate", result.max_rate.has_value() ? nlohmann::json(*result.max_rate)
                                               : nlohmann::json(nullptr)},
      {"limited_by", LimitName(result.limited_by)},
      {"limit_reason", result.limit_reason},
      {"interrupted", result.interrupted},
      {"stopped_because", result.stopped_because},
      {"error", result.error.ok()
                    ? nlohmann::json(nullptr)
                    : nlohmann::json(std::string(result.error.message()))},
      {"warnings", result.warnings},
      {"saturation", SaturationJson(options, result)},
      {"slos", std::move(slos)},
      {"options",
       {{"start_rate", options.start_rate},
        {"max_rate", options.max_rate},
        {"step_duration", duration::FormatDuration(options.step_duration)},
        {"warmup", duration::FormatDuration(options.warmup)},
        {"precision", options.precision},
        {"min_achieved", options.min_achieved},
        {"max_steps", options.max_steps},
        {"tries", options.tries},
        {"step_db", options.step_db},
        {"saturation", options.saturation},
        {"latency_bound", duration::FormatDuration(options.latency_bound)}}},
      {"steps", std::move(steps)},
  };
}


nlohmann::json FindMaxReportJson(const FindMaxReport& about,
                                 const FindMaxOptions& options,
                                 const FindMaxResult& result) {
  return {
      {"tool", {{"name", "loadtest find-max"}, {"version", cli::kVersion}}},
      {"parameters", ScenarioJson(about.scenario)},
      {"run",
       {{"mode", about.mode},
        {"agents", about.agents},
        {"seed", about.scenario.seed},
        {"fingerprint", WorkloadFingerprint(about.scenario, about.agents)},
        {"started_at", FormatUtc(about.started_at)},
        {"ended_at", FormatUtc(about.ended_at)}}},
      {"find_max", FindMaxJson(options, result)},
  };
}

namespace {

nlohmann::json SideJson(const SideStats& s) {
  return {{"n", s.values.size()}, {"mean", s.mean}, {"sd", s.sd},
          {"cov", s.cov},         {"values", s.values}};
}

// NaN is not JSON: null.
nlohmann::json Number(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

}  // namespace

nlohmann::json ComparisonJson(const std::vector<ComparisonRow>& rows,
                              const std::vector<std::string>& a_names,
                              const std::vector<std::string>& b_names,
                              const CompareOptions& options) {
  nlohmann::json figures = nlohmann::json::array();
  int regressions = 0;
  for (const ComparisonRow& r : rows) {
    figures.push_back({{"figure", r.figure},
                       {"key", r.key},
                       {"higher_is_better", r.higher_is_better},
                       {"a", SideJson(r.a)},
                       {"b", SideJson(r.b)},
                       {"change_percent", Number(r.change_percent)},
                       {"ci_low_percent", Number(r.ci_low_percent)},
                       {"ci_high_percent", Number(r.ci_high_percent)},
                       {"verdict", VerdictName(r.verdict)}});
    regressions += r.verdict == Verdict::kRegressed;
  }
  const int exit_code = CompareExitCode(rows);
  return {{"options",
           {{"min_effect", options.min_effect},
            {"confidence", options.confidence},
            {"erratic_cov", kErraticCov}}},
          {"a", a_names},
          {"b", b_names},
          {"figures", figures},
          {"regressions", regressions},
          {"verdict", exit_code == kCompareRegression   ? "regression"
                      : exit_code == kCompareUndecided ? "undecided"
                                                        : "no regression"},
          {"exit_code", exit_code}};
}

nlohmann::json FinishedRunReportJson(
    const Scenario& scenario, const RunSummary& summary,
    const std::vector<TargetCheck>& targets,
    const std::vector<ThresholdResult>& thresholds,
    const ScenarioJudgement& judgement, const RunEndFacts& end) {
  nlohmann::json report = RunReportJson(scenario, nlohmann::json::array(),
                                        summary, targets, thresholds);
  report["summary"]["scenario"] = ScenarioJudgementJson(judgement);
  report["summary"]["stability"] = StabilityJson(*summary.stability);
  report["run"].update({{"mode", end.mode},
                        {"started_at", FormatUtc(end.started_at)},
                        {"ended_at", FormatUtc(end.ended_at)},
                        {"interrupted_by_signal", end.signal_number}});
  if (!end.intervals_path.empty()) {
    report["intervals_file"] = end.intervals_path;
  }
  if (end.aborted.has_value()) {
    const ThresholdResult& t = end.aborted->threshold;
    report["aborted"] = {{"threshold", t.text},
                         {"scope", t.scope},
                         {"measured", t.measured},
                         {"unit", t.unit},
                         {"at_s", end.aborted->at_s}};
  }
  return report;
}

nlohmann::json RepeatSummaryJson(const RepeatFacts& facts,
                                 const std::vector<ComparisonRow>& rows,
                                 const std::vector<std::string>& a_names,
                                 const std::vector<std::string>& b_names,
                                 const CompareOptions& options) {
  nlohmann::json summary = {
      {"repeat", {{"a", facts.reports_a}}},
      {"runs", facts.runs},
      {"command", facts.command},
  };
  if (facts.with_b) {
    summary["repeat"]["b"] = facts.reports_b;
    summary["b_flags"] = facts.b_flags;
    summary["comparison"] = ComparisonJson(rows, a_names, b_names, options);
    return summary;
  }
  nlohmann::json figures = nlohmann::json::array();
  for (const ComparisonRow& r : rows) {
    figures.push_back({{"figure", r.figure},
                       {"key", r.key},
                       {"n", r.a.values.size()},
                       {"mean", r.a.mean},
                       {"sd", r.a.sd},
                       {"cov", r.a.cov},
                       {"values", r.a.values}});
  }
  summary["figures"] = figures;
  return summary;
}

}  // namespace loadtest::report
