#include "report/csv_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/peer_text.h"
#include "report/compare.h"
// For the JSON library's writer of one number (Grisu2, shortest round-trip
// in nearly every case), so that a CSV figure has the digits the JSON
// report gives it; no JSON document is read or made.
#include "nlohmann/json.hpp"

namespace loadtest::report {
namespace {

using protocol::HostFigures;
using protocol::ProcessFigures;
using stats::HealthState;
using stats::IntervalCounters;
using stats::LatencyHistogram;
using storage::ConnectionActivity;
using storage::StoreInternals;

// A field as RFC 4180 wants it: quoted when it holds a comma, a quote or a
// line break, its quotes doubled.
std::string Field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A string figure. It may come from an agent: escaped (PeerText, which
// leaves text it made as it is), so no CSV viewer or terminal `cat` sees a
// control byte.
std::string Text(const std::string& text) {
  return Field(protocol::PeerText(text, 4096));
}

// Strings in one field (health reasons, a configuration's flags), joined
// by "; " after the first that is not empty.
std::string Texts(const std::vector<std::string>& texts) {
  std::string joined;
  for (const std::string& text : texts) {
    if (!joined.empty()) joined += "; ";
    joined += text;
  }
  return Text(joined);
}

// A number as the JSON report writes it: integers exact, "true"/"false",
// a double with at least one decimal ("2.0") or an exponent ("1e-05"),
// and a NaN or an infinity "null" (JSON has neither).
template <class T>
std::string Number(T value) {
  static_assert(std::is_arithmetic_v<T>);
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    return absl::StrCat(value);
  } else {
    // The JSON library's own writer (its public dump of one number), so
    // that both reports carry the same digits.
    const double v = static_cast<double>(value);
    if (!std::isfinite(v)) return "null";
    return nlohmann::json(v).dump();
  }
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// What a latency column shows of a histogram, in milliseconds.
enum class Stat { kP50, kP95, kP99, kP999, kMax, kMean };

double Ms(const LatencyHistogram& h, Stat stat) {
  switch (stat) {
    case Stat::kP50: return Ms(h.Quantile(0.50));
    case Stat::kP95: return Ms(h.Quantile(0.95));
    case Stat::kP99: return Ms(h.Quantile(0.99));
    case Stat::kP999: return Ms(h.Quantile(0.999));
    case Stat::kMax: return Ms(h.max());
    case Stat::kMean: return h.mean() / 1e6;
  }
  return 0;
}

void AppendLine(const std::vector<std::string>& fields, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) *out += ',';
    *out += fields[i];
  }
  *out += "\r\n";
}

// One row's figures: an agent's or the total's, over an interval or the
// whole run, with the health that row has.
struct FigureSource {
  const Figures& figures;
  const stats::Health* health = nullptr;       // An interval's state.
  const stats::HealthTally* tally = nullptr;   // A summary agent's intervals.
};

struct FigureColumn {
  const char* name;
  std::string (*cell)(const FigureSource&);
};

// The cells of the figure columns: a figure of the span, a counter, a
// latency; the store's, the process's and the host's figures, empty when
// the updates carried none (the disk's also without a device).
template <auto kFigure>
std::string Fig(const FigureSource& s) {
  return Number(std::invoke(kFigure, s.figures));
}
template <int64_t IntervalCounters::*kCounter>
std::string Counter(const FigureSource& s) {
  return Number(s.figures.counters.*kCounter);
}
template <LatencyHistogram Figures::*kHistogram, Stat kStat>
std::string Latency(const FigureSource& s) {
  return Number(Ms(s.figures.*kHistogram, kStat));
}
template <auto kFigure>
std::string Store(const FigureSource& s) {
  const std::optional<StoreInternals>& store = s.figures.store;
  return store.has_value() ? Number(std::invoke(kFigure, *store)) : "";
}
template <int64_t StoreInternals::*kNanos>
std::string StoreMs(const FigureSource& s) {
  const std::optional<StoreInternals>& store = s.figures.store;
  return store.has_value() ? Number(Ms((*store).*kNanos)) : "";
}
template <LatencyHistogram StoreInternals::*kHistogram, Stat kStat>
std::string StoreLatency(const FigureSource& s) {
  const std::optional<StoreInternals>& store = s.figures.store;
  return store.has_value() ? Number(Ms((*store).*kHistogram, kStat)) : "";
}
template <ConnectionActivity StoreInternals::*kConnection,
          int64_t ConnectionActivity::*kFigure>
std::string Connection(const FigureSource& s) {
  const std::optional<StoreInternals>& store = s.figures.store;
  return store.has_value() ? Number((*store).*kConnection.*kFigure) : "";
}
template <ConnectionActivity StoreInternals::*kConnection>
std::string BusyWaitMs(const FigureSource& s) {
  const std::optional<StoreInternals>& store = s.figures.store;
  return store.has_value() ? Number(Ms(((*store).*kConnection).busy_wait_ns))
                           : "";
}
template <auto kFigure>
std::string Process(const FigureSource& s) {
  const std::optional<ProcessFigures>& process = s.figures.process;
  return process.has_value() ? Number(std::invoke(kFigure, *process)) : "";
}
template <auto kFigure>
std::string Host(const FigureSource& s) {
  const std::optional<HostFigures>& host = s.figures.host;
  return host.has_value() ? Number(std::invoke(kFigure, *host)) : "";
}
template <auto kFigure>
std::string Disk(const FigureSource& s) {
  const std::optional<HostFigures>& host = s.figures.host;
  return host.has_value() && !host->disk_device.empty()
             ? Number(std::invoke(kFigure, *host))
             : "";
}
template <HealthState kState>
std::string IntervalsIn(const FigureSource& s) {
  return s.tally != nullptr
             ? Number(s.tally->intervals[static_cast<int>(kState)])
             : "";
}

// The figures of one agent (or the total) over one span, in the order of
// docs/report-format.md.
constexpr FigureColumn kFigureColumns[] = {
    {"seconds", Fig<&Figures::seconds>},
    {"writes_ok", Counter<&IntervalCounters::writes_ok>},
    {"writes_per_s", Fig<&Figures::writes_per_s>},
    {"write_p50_ms", Latency<&Figures::write_latency, Stat::kP50>},
    {"write_p95_ms", Latency<&Figures::write_latency, Stat::kP95>},
    {"write_p99_ms", Latency<&Figures::write_latency, Stat::kP99>},
    {"write_p999_ms", Latency<&Figures::write_latency, Stat::kP999>},
    {"write_max_ms", Latency<&Figures::write_latency, Stat::kMax>},
    {"write_mean_ms", Latency<&Figures::write_latency, Stat::kMean>},
    {"reads_ok", Counter<&IntervalCounters::reads_ok>},
    {"reads_per_s", Fig<&Figures::reads_per_s>},
    {"read_p50_ms", Latency<&Figures::read_latency, Stat::kP50>},
    {"read_p95_ms", Latency<&Figures::read_latency, Stat::kP95>},
    {"read_p99_ms", Latency<&Figures::read_latency, Stat::kP99>},
    {"read_p999_ms", Latency<&Figures::read_latency, Stat::kP999>},
    {"read_max_ms", Latency<&Figures::read_latency, Stat::kMax>},
    {"read_mean_ms", Latency<&Figures::read_latency, Stat::kMean>},
    {"write_errors", Counter<&IntervalCounters::write_errors>},
    {"write_timeouts", Counter<&IntervalCounters::write_timeouts>},
    {"queue_full_errors", Counter<&IntervalCounters::queue_full>},
    {"read_errors", Counter<&IntervalCounters::read_errors>},
    {"error_rate", Fig<&Figures::error_rate>},
    {"writes_late", Counter<&IntervalCounters::writes_late>},
    {"reads_late", Counter<&IntervalCounters::reads_late>},
    {"late_commits", Fig<&Figures::late_commits>},
    {"batches", Fig<&Figures::batches>},
    {"rows_committed", Fig<&Figures::rows_committed>},
    {"mean_batch_size", Fig<&Figures::mean_batch_size>},
    {"peak_queue_depth", Fig<&Figures::peak_queue_depth>},
    {"queue_size", Fig<&Figures::queue_size>},
    {"queue_utilization", Fig<&Figures::queue_utilization>},
    {"offered_write_rate", Fig<&Figures::offered_write_rate>},
    {"offered_read_rate", Fig<&Figures::offered_read_rate>},
    {"generator_bound_intervals", Fig<&Figures::generator_bound_intervals>},
    {"generator_bound",
     [](const FigureSource& s) { return Text(s.figures.generator_bound_reason); }},
    {"checkpoint_starved_intervals", Fig<&Figures::starved_intervals>},
    {"cpu_seconds", Process<&ProcessFigures::cpu_seconds>},
    {"cpu_fraction", Process<&ProcessFigures::cpu_fraction>},
    {"usable_cores", Process<&ProcessFigures::usable_cores>},
    {"threads", Process<&ProcessFigures::threads>},
    {"rss_bytes", Process<&ProcessFigures::rss_bytes>},
    {"voluntary_switches", Process<&ProcessFigures::voluntary_switches>},
    {"involuntary_switches", Process<&ProcessFigures::involuntary_switches>},
    {"waiting_threads", Process<&ProcessFigures::waiting_threads>},
    // The process's own schedule lag: the figures' histogram, shown with
    // the process.
    {"schedule_lag_p99_ms",
     [](const FigureSource& s) -> std::string {
       if (!s.figures.process.has_value()) return "";
       return Number(Ms(s.figures.schedule_lag, Stat::kP99));
     }},
    {"wal_bytes_max", Store<&StoreInternals::wal_bytes_max>},
    {"db_bytes", Store<&StoreInternals::db_bytes>},
    {"checkpoints", Store<&StoreInternals::checkpoints>},
    {"checkpoint_p50_ms",
     StoreLatency<&StoreInternals::checkpoint_latency, Stat::kP50>},
    {"checkpoint_p99_ms",
     StoreLatency<&StoreInternals::checkpoint_latency, Stat::kP99>},
    {"checkpoint_max_ms",
     StoreLatency<&StoreInternals::checkpoint_latency, Stat::kMax>},
    {"checkpoint_frames", Store<&StoreInternals::checkpoint_frames>},
    {"checkpoints_blocked", Store<&StoreInternals::checkpoints_blocked>},
    {"wal_stuck_ms_max", StoreMs<&StoreInternals::wal_stuck_ns_max>},
    {"commit_p50_ms", StoreLatency<&StoreInternals::commit_latency, Stat::kP50>},
    {"commit_p99_ms", StoreLatency<&StoreInternals::commit_latency, Stat::kP99>},
    {"commit_max_ms", StoreLatency<&StoreInternals::commit_latency, Stat::kMax>},
    {"busy_events_writer",
     Connection<&StoreInternals::writer, &ConnectionActivity::busy_events>},
    {"busy_events_readers",
     Connection<&StoreInternals::readers, &ConnectionActivity::busy_events>},
    {"busy_events_checkpointer",
     Connection<&StoreInternals::checkpointer, &ConnectionActivity::busy_events>},
    {"busy_wait_ms_writer", BusyWaitMs<&StoreInternals::writer>},
    {"busy_wait_ms_readers", BusyWaitMs<&StoreInternals::readers>},
    {"busy_wait_ms_checkpointer", BusyWaitMs<&StoreInternals::checkpointer>},
    {"cache_hits_writer",
     Connection<&StoreInternals::writer, &ConnectionActivity::cache_hits>},
    {"cache_misses_writer",
     Connection<&StoreInternals::writer, &ConnectionActivity::cache_misses>},
    {"cache_writes_writer",
     Connection<&StoreInternals::writer, &ConnectionActivity::cache_writes>},
    {"cache_spills_writer",
     Connection<&StoreInternals::writer, &ConnectionActivity::cache_spills>},
    {"cache_hits_readers",
     Connection<&StoreInternals::readers, &ConnectionActivity::cache_hits>},
    {"cache_misses_readers",
     Connection<&StoreInternals::readers, &ConnectionActivity::cache_misses>},
    {"cache_hit_ratio", Store<&StoreInternals::cache_hit_ratio>},
    {"writer_cpu_seconds",
     [](const FigureSource& s) -> std::string {
       if (!s.figures.store.has_value()) return "";
       return Number(static_cast<double>(s.figures.store->writer_cpu_ns) / 1e9);
     }},
    // An interval's health (its state, its reasons joined by "; ") and, on
    // an agent's summary row, its intervals in each state.
    {"health_state",
     [](const FigureSource& s) -> std::string {
       if (s.health == nullptr) return "";
       return Text(stats::HealthStateName(s.health->state));
     }},
    {"health_reasons",
     [](const FigureSource& s) -> std::string {
       return s.health != nullptr ? Texts(s.health->reasons) : "";
     }},
    {"healthy_intervals", IntervalsIn<HealthState::kHealthy>},
    {"under_stress_intervals", IntervalsIn<HealthState::kUnderStress>},
    {"overloaded_intervals", IntervalsIn<HealthState::kOverloaded>},
    {"healthy_fraction",
     [](const FigureSource& s) -> std::string {
       if (s.tally == nullptr) return "";
       return Number(s.tally->fraction(HealthState::kHealthy));
     }},
    {"fsyncs", Store<&StoreInternals::fsyncs>},
    {"fsync_ms", StoreMs<&StoreInternals::fsync_ns>},
    {"io_read_chars", Process<&ProcessFigures::read_chars>},
    {"io_write_chars", Process<&ProcessFigures::write_chars>},
    {"io_read_calls", Process<&ProcessFigures::read_calls>},
    {"io_write_calls", Process<&ProcessFigures::write_calls>},
    {"io_read_bytes", Process<&ProcessFigures::read_bytes>},
    {"io_write_bytes", Process<&ProcessFigures::write_bytes>},
    {"host_cpus", Host<&HostFigures::cpus>},
    {"host_cpu_user", Host<&HostFigures::cpu_user_fraction>},
    {"host_cpu_system", Host<&HostFigures::cpu_system_fraction>},
    {"host_cpu_iowait", Host<&HostFigures::cpu_iowait_fraction>},
    {"host_cpu_steal", Host<&HostFigures::cpu_steal_fraction>},
    {"host_cpu_idle", Host<&HostFigures::cpu_idle_fraction>},
    {"host_load1", Host<&HostFigures::load1>},
    // The disk's device, or why there is none (empty with a device).
    {"disk_device",
     [](const FigureSource& s) -> std::string {
       return s.figures.host.has_value() ? Text(s.figures.host->disk_device)
                                         : "";
     }},
    {"disk_unavailable",
     [](const FigureSource& s) -> std::string {
       const std::optional<HostFigures>& host = s.figures.host;
       if (!host.has_value() || !host->disk_device.empty()) return "";
       return Text(host->disk_unavailable);
     }},
    {"disk_utilization", Disk<&HostFigures::disk_utilization>},
    {"disk_await_ms", Disk<&HostFigures::disk_await_ms>},
    {"disk_queue_depth", Disk<&HostFigures::disk_queue_depth>},
    {"disk_requests", Disk<&HostFigures::disk_requests>},
    {"disk_read_bytes", Disk<&HostFigures::disk_read_bytes>},
    {"disk_write_bytes", Disk<&HostFigures::disk_write_bytes>},
};

void AppendFigures(const FigureSource& source,
                   std::vector<std::string>* fields) {
  for (const FigureColumn& c : kFigureColumns) {
    fields->push_back(c.cell(source));
  }
}

void AppendFigureHeader(std::vector<std::string>* header) {
  for (const FigureColumn& c : kFigureColumns) header->push_back(c.name);
}

constexpr const char* kAuditColumns[] = {
    "audit_rows_in_db",   "audit_acknowledged", "audit_late_commits",
    "audit_lost",         "audit_unexplained",  "audit_integrity_ok",
    "audit_passed"};

// An agent's audit, or the run's; empty fields without one (a lost agent).
void AppendAudit(const protocol::RunAudit* audit,
                 std::vector<std::string>* fields) {
  if (audit == nullptr) {
    fields->resize(fields->size() + std::size(kAuditColumns));
    return;
  }
  fields->insert(fields->end(),
                 {Number(audit->rows_in_db), Number(audit->acknowledged),
                  Number(audit->late_commits), Number(audit->lost),
                  Number(audit->unexplained), Number(audit->integrity_ok),
                  Number(audit->passed())});
}

// The guide's expectation of the run's scenario and the stability
// verdict: on the TOTAL row only, since they judge the run, not an agent.
constexpr const char* kRunVerdictColumns[] = {
    "scenario_name",     "scenario_expectation",
    "scenario_measured", "scenario_verdict",
    "stability_verdict", "stability_drift_percent_per_10min",
    "stability_p99_change_percent"};

void AppendRunVerdicts(const ScenarioJudgement* judgement,
                       const std::optional<StabilityVerdict>& stability,
                       std::vector<std::string>* fields) {
  if (judgement != nullptr) {
    fields->push_back(Text(judgement->name));
    fields->push_back(Text(judgement->expectation));
    fields->push_back(Number(judgement->measured_writes_per_s));
    fields->push_back(Text(VerdictName(judgement->verdict)));
  } else {
    fields->resize(fields->size() + 4);
  }
  if (stability.has_value()) {
    const StabilityVerdict& v = *stability;
    fields->push_back(Text(StabilityStateName(v.state)));
    // The trends exist once judged.
    fields->push_back(v.judged() ? Number(100 * v.drift) : "");
    fields->push_back(v.judged() ? Number(100 * v.p99_change) : "");
  } else {
    fields->resize(fields->size() + 3);
  }
}

}  // namespace

std::string IntervalsCsvHeader() {
  std::string out;
  std::vector<std::string> header = {"sequence", "start_s", "end_s", "agent"};
  AppendFigureHeader(&header);
  AppendLine(header, &out);
  return out;
}

std::string IntervalCsvRows(const IntervalRow& row) {
  std::string out;
  const std::vector<std::string> span = {
      Number(row.sequence), Number(row.start_s), Number(row.end_s)};
  for (const AgentFigures& agent : row.agents) {
    std::vector<std::string> fields = span;
    fields.push_back(Text(agent.agent_id));
    AppendFigures({agent.figures, &agent.health, nullptr}, &fields);
    AppendLine(fields, &out);
  }
  std::vector<std::string> fields = span;
  fields.push_back("TOTAL");
  AppendFigures({row.total, &row.total_health, nullptr}, &fields);
  AppendLine(fields, &out);
  return out;
}

std::string IntervalsCsv(const std::vector<IntervalRow>& rows) {
  std::string out = IntervalsCsvHeader();
  for (const IntervalRow& row : rows) out += IntervalCsvRows(row);
  return out;
}

std::string SummaryCsv(const RunSummary& summary,
                       const ScenarioJudgement* judgement) {
  std::string out;
  std::vector<std::string> header = {"agent", "finished", "lost", "lost_reason",
                                     "stop_reason"};
  AppendFigureHeader(&header);
  header.insert(header.end(), std::begin(kAuditColumns),
                std::end(kAuditColumns));
  header.insert(header.end(), std::begin(kRunVerdictColumns),
                std::end(kRunVerdictColumns));
  AppendLine(header, &out);
  for (const AgentSummary& agent : summary.agents) {
    std::vector<std::string> fields = {
        Text(agent.agent_id), Number(agent.finished), Number(agent.lost),
        Text(agent.lost_reason), Text(agent.stop_reason)};
    AppendFigures({agent.figures, nullptr, &agent.health}, &fields);
    AppendAudit(agent.audit.has_value() ? &*agent.audit : nullptr, &fields);
    fields.resize(fields.size() + std::size(kRunVerdictColumns));
    AppendLine(fields, &out);
  }
  std::vector<std::string> fields = {"TOTAL", "", "", "", ""};
  AppendFigures({summary.total, nullptr, nullptr}, &fields);
  AppendAudit(&summary.audit, &fields);
  AppendRunVerdicts(judgement, summary.stability, &fields);
  AppendLine(fields, &out);
  return out;
}

std::string IntervalsCsvPath(const std::string& prefix) {
  return absl::StrCat(prefix, "_intervals.csv");
}

std::string SummaryCsvPath(const std::string& prefix) {
  return absl::StrCat(prefix, "_summary.csv");
}

std::string FindMaxCsvPath(const std::string& prefix) {
  return prefix + "_find_max.csv";
}

std::string FindMaxCsv(const FindMaxResult& result) {
  std::string out;
  AppendLine({"step", "offered_rate", "achieved_rate", "measured_seconds",
              "write_p50_ms", "write_p95_ms", "write_p99_ms", "write_max_ms",
              "errors", "queue_full", "timeouts", "writes_late", "passed",
              "verdict", "reason", "attempt", "rate_passed"},
             &out);
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const StepResult& step = result.steps[i];
    const Figures& t = step.measured.total;
    const IntervalCounters& c = t.counters;
    AppendLine({Number(i + 1), Number(step.offered_rate),
                Number(t.writes_per_s()), Number(t.seconds),
                Number(Ms(t.write_latency, Stat::kP50)),
                Number(Ms(t.write_latency, Stat::kP95)),
                Number(Ms(t.write_latency, Stat::kP99)),
                Number(Ms(t.write_latency, Stat::kMax)),
                Number(c.write_errors + c.read_errors), Number(c.queue_full),
                Number(c.write_timeouts), Number(c.writes_late),
                Number(step.passed),
                Text(step.passed ? "ok" : LimitName(step.limit)),
                Text(step.reason), Number(step.attempt),
                // Set on the try that decided its rate only.
                step.rate_passed.has_value() ? Number(*step.rate_passed) : ""},
               &out);
  }
  return out;
}

std::string TuneCsvPath(const std::string& prefix) {
  return prefix + "_tune.csv";
}

std::string TuneCsv(const std::vector<ConfigResult>& configs) {
  std::string out;
  AppendLine({"config", "defaults", "flags", "sync", "survives", "rate_mean",
              "rate_sd", "rate_cov", "rate_min", "rate_max",
              "write_p99_ms_mean", "write_p99_ms_min", "write_p99_ms_max",
              "bytes_per_row", "verdict", "change_vs_best_percent", "runs"},
             &out);
  for (size_t i = 0; i < configs.size(); ++i) {
    const ConfigResult& c = configs[i];
    std::vector<std::string> fields = {
        Text(ConfigName(i)), Number(c.config.defaults),
        Texts(c.config.Flags()), Text(c.sync), Text(SyncSurvives(c.sync))};
    // As the tune report's `rate` and `write_p99_ms` state them; empty when
    // no run measured the figure.
    const SideStats rate = DescribeRuns(RunFigure(c, &TuneRun::rate));
    const SideStats p99 = DescribeRuns(RunFigure(c, &TuneRun::write_p99_ms));
    const SideStats bytes = DescribeRuns(RunFigure(c, &TuneRun::bytes_per_row));
    auto cell = [](const SideStats& stats, double SideStats::*stat) {
      return stats.values.empty() ? std::string() : Number(stats.*stat);
    };
    fields.insert(fields.end(),
                  {cell(rate, &SideStats::mean), cell(rate, &SideStats::sd),
                   cell(rate, &SideStats::cov), cell(rate, &SideStats::min),
                   cell(rate, &SideStats::max), cell(p99, &SideStats::mean),
                   cell(p99, &SideStats::min), cell(p99, &SideStats::max),
                   cell(bytes, &SideStats::mean)});
    fields.push_back(Text(c.verdict));
    // NaN (a change from nothing) has no number.
    fields.push_back(c.against_best.has_value() &&
                             std::isfinite(c.against_best->change_percent)
                         ? Number(c.against_best->change_percent)
                         : "");
    fields.push_back(Number(c.runs.size()));
    AppendLine(fields, &out);
  }
  return out;
}

}  // namespace loadtest::report
