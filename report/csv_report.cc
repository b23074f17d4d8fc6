#include "report/csv_report.h"

#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "report/json_report.h"
#include "protocol/peer_text.h"

namespace loadtest::report {
namespace {

struct Column {
  const char* name;     // CSV header.
  const char* pointer;  // JSON pointer into one FiguresJson object.
};

// The figures of one agent (or the total) over one span.
constexpr Column kFigureColumns[] = {
    {"seconds", "/seconds"},
    {"writes_ok", "/writes_ok"},
    {"writes_per_s", "/writes_per_s"},
    {"write_p50_ms", "/write_latency_ms/p50"},
    {"write_p95_ms", "/write_latency_ms/p95"},
    {"write_p99_ms", "/write_latency_ms/p99"},
    {"write_p999_ms", "/write_latency_ms/p999"},
    {"write_max_ms", "/write_latency_ms/max"},
    {"write_mean_ms", "/write_latency_ms/mean"},
    {"reads_ok", "/reads_ok"},
    {"reads_per_s", "/reads_per_s"},
    {"read_p50_ms", "/read_latency_ms/p50"},
    {"read_p95_ms", "/read_latency_ms/p95"},
    {"read_p99_ms", "/read_latency_ms/p99"},
    {"read_p999_ms", "/read_latency_ms/p999"},
    {"read_max_ms", "/read_latency_ms/max"},
    {"read_mean_ms", "/read_latency_ms/mean"},
    {"write_errors", "/write_errors"},
    {"write_timeouts", "/write_timeouts"},
    {"queue_full_errors", "/queue_full_errors"},
    {"read_errors", "/read_errors"},
    {"error_rate", "/error_rate"},
    {"writes_late", "/writes_late"},
    {"reads_late", "/reads_late"},
    {"late_commits", "/late_commits"},
    {"batches", "/batches"},
    {"rows_committed", "/rows_committed"},
    {"mean_batch_size", "/mean_batch_size"},
    {"peak_queue_depth", "/peak_queue_depth"},
    {"queue_size", "/queue_size"},
    {"queue_utilization", "/queue_utilization"},
    {"offered_write_rate", "/offered_write_rate"},
    {"offered_read_rate", "/offered_read_rate"},
    {"generator_bound_intervals", "/generator_bound_intervals"},
    {"generator_bound", "/generator_bound"},
    {"checkpoint_starved_intervals", "/checkpoint_starved_intervals"},
    {"cpu_seconds", "/process/cpu_seconds"},
    {"cpu_fraction", "/process/cpu_fraction"},
    {"usable_cores", "/process/usable_cores"},
    {"threads", "/process/threads"},
    {"rss_bytes", "/process/rss_bytes"},
    {"voluntary_switches", "/process/voluntary_switches"},
    {"involuntary_switches", "/process/involuntary_switches"},
    {"waiting_threads", "/process/waiting_threads"},
    {"schedule_lag_p99_ms", "/process/schedule_lag_ms/p99"},
    {"wal_bytes_max", "/store/wal_bytes_max"},
    {"db_bytes", "/store/db_bytes"},
    {"checkpoints", "/store/checkpoints"},
    {"checkpoint_p50_ms", "/store/checkpoint_ms/p50"},
    {"checkpoint_p99_ms", "/store/checkpoint_ms/p99"},
    {"checkpoint_max_ms", "/store/checkpoint_ms/max"},
    {"checkpoint_frames", "/store/checkpoint_frames"},
    {"checkpoints_blocked", "/store/checkpoints_blocked"},
    {"wal_stuck_ms_max", "/store/wal_stuck_ms_max"},
    {"commit_p50_ms", "/store/commit_ms/p50"},
    {"commit_p99_ms", "/store/commit_ms/p99"},
    {"commit_max_ms", "/store/commit_ms/max"},
    {"busy_events_writer", "/store/busy_events/writer"},
    {"busy_events_readers", "/store/busy_events/readers"},
    {"busy_events_checkpointer", "/store/busy_events/checkpointer"},
    {"busy_wait_ms_writer", "/store/busy_wait_ms/writer"},
    {"busy_wait_ms_readers", "/store/busy_wait_ms/readers"},
    {"busy_wait_ms_checkpointer", "/store/busy_wait_ms/checkpointer"},
    {"cache_hits_writer", "/store/cache/writer/hits"},
    {"cache_misses_writer", "/store/cache/writer/misses"},
    {"cache_writes_writer", "/store/cache/writer/writes"},
    {"cache_spills_writer", "/store/cache/writer/spills"},
    {"cache_hits_readers", "/store/cache/readers/hits"},
    {"cache_misses_readers", "/store/cache/readers/misses"},
    {"cache_hit_ratio", "/store/cache_hit_ratio"},
    {"writer_cpu_seconds", "/store/writer_cpu_seconds"},
    // An interval's health (health.state, its reasons joined by "; ") and,
    // on summary rows, the intervals in each state.
    {"health_state", "/health/state"},
    {"health_reasons", "/health/reasons"},
    {"healthy_intervals", "/health/healthy/intervals"},
    {"under_stress_intervals", "/health/under_stress/intervals"},
    {"overloaded_intervals", "/health/overloaded/intervals"},
    {"healthy_fraction", "/health/healthy_fraction"},
    {"fsyncs", "/store/fsyncs"},
    {"fsync_ms", "/store/fsync_ms"},
    {"io_read_chars", "/process/read_chars"},
    {"io_write_chars", "/process/write_chars"},
    {"io_read_calls", "/process/read_calls"},
    {"io_write_calls", "/process/write_calls"},
    {"io_read_bytes", "/process/read_bytes"},
    {"io_write_bytes", "/process/write_bytes"},
    {"host_cpus", "/host/cpus"},
    {"host_cpu_user", "/host/cpu/user"},
    {"host_cpu_system", "/host/cpu/system"},
    {"host_cpu_iowait", "/host/cpu/iowait"},
    {"host_cpu_steal", "/host/cpu/steal"},
    {"host_cpu_idle", "/host/cpu/idle"},
    {"host_load1", "/host/load1"},
    {"disk_device", "/host/disk/device"},
    {"disk_unavailable", "/host/disk/unavailable"},
    {"disk_utilization", "/host/disk/utilization"},
    {"disk_await_ms", "/host/disk/await_ms"},
    {"disk_queue_depth", "/host/disk/queue_depth"},
    {"disk_requests", "/host/disk/requests"},
    {"disk_read_bytes", "/host/disk/read_bytes"},
    {"disk_write_bytes", "/host/disk/write_bytes"},
};

std::string Field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A JSON value as a CSV field: numbers as JSON writes them (exact for
// integers, shortest round-trip for doubles), strings quoted as needed.
std::string Value(const nlohmann::json& value) {
  if (value.is_null()) return "";
  // Strings may come from an agent: escaped again here (PeerText is
  // idempotent), so no CSV viewer or terminal `cat` sees a control byte.
  if (value.is_string()) {
    return Field(protocol::PeerText(value.get<std::string>(), 4096));
  }
  if (value.is_array()) {  // Of strings (health reasons): one field.
    std::string joined;
    for (const nlohmann::json& item : value) {
      if (!joined.empty()) joined += "; ";
      joined += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return Field(protocol::PeerText(joined, 4096));
  }
  return value.dump();
}

void AppendLine(const std::vector<std::string>& fields, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) *out += ',';
    *out += fields[i];
  }
  *out += "\r\n";
}

void AppendFigures(const nlohmann::json& figures,
                   std::vector<std::string>* fields) {
  for (const Column& c : kFigureColumns) {
    const nlohmann::json::json_pointer pointer(c.pointer);
    fields->push_back(figures.contains(pointer) ? Value(figures.at(pointer))
                                                : "");
  }
}

void AppendFigureHeader(std::vector<std::string>* header) {
  for (const Column& c : kFigureColumns) header->push_back(c.name);
}

std::string AuditField(const nlohmann::json& audit, const char* key) {
  return audit.is_object() && audit.contains(key) ? Value(audit.at(key)) : "";
}

}  // namespace

std::string IntervalsCsvHeader() {
  std::string out;
  std::vector<std::string> header = {"sequence", "start_s", "end_s", "agent"};
  AppendFigureHeader(&header);
  AppendLine(header, &out);
  return out;
}

std::string IntervalCsvRows(const nlohmann::json& row) {
  std::string out;
  const std::vector<std::string> span = {Value(row.at("sequence")),
                                         Value(row.at("start_s")),
                                         Value(row.at("end_s"))};
  for (const nlohmann::json& agent : row.value("agents", nlohmann::json::array())) {
    std::vector<std::string> fields = span;
    fields.push_back(Value(agent.at("agent_id")));
    AppendFigures(agent, &fields);
    AppendLine(fields, &out);
  }
  std::vector<std::string> fields = span;
  fields.push_back("TOTAL");
  AppendFigures(row.at("total"), &fields);
  AppendLine(fields, &out);
  return out;
}

std::string IntervalsCsv(const nlohmann::json& report) {
  std::string out = IntervalsCsvHeader();
  for (const nlohmann::json& row : report.value("intervals", nlohmann::json::array())) {
    out += IntervalCsvRows(row);
  }
  return out;
}

std::string SummaryCsv(const nlohmann::json& report) {
  std::string out;
  std::vector<std::string> header = {"agent", "finished", "lost", "lost_reason",
                                     "stop_reason"};
  AppendFigureHeader(&header);
  for (const char* name : {"audit_rows_in_db", "audit_acknowledged",
                           "audit_late_commits", "audit_lost",
                           "audit_unexplained", "audit_integrity_ok",
                           "audit_passed"}) {
    header.push_back(name);
  }
  // The guide's expectation of the run's scenario (summary.scenario), on
  // the TOTAL row only: it judges the run, not an agent.
  static constexpr const char* kScenarioKeys[] = {"name", "expectation",
                                                  "measured", "verdict"};
  for (const char* key : kScenarioKeys) {
    header.push_back(absl::StrCat("scenario_", key));
  }
  // The stability verdict (summary.stability), on the TOTAL row only too.
  static constexpr Column kStabilityColumns[] = {
      {"stability_verdict", "/verdict"},
      {"stability_drift_percent_per_10min",
       "/throughput/drift_percent_per_10min"},
      {"stability_p99_change_percent", "/write_p99/change_percent"},
  };
  for (const Column& c : kStabilityColumns) header.push_back(c.name);
  AppendLine(header, &out);
  auto audit_fields = [](const nlohmann::json& audit,
                         std::vector<std::string>* fields) {
    for (const char* key : {"rows_in_db", "acknowledged", "late_commits", "lost",
                            "unexplained", "integrity_ok", "passed"}) {
      fields->push_back(AuditField(audit, key));
    }
  };
  const nlohmann::json& summary = report.at("summary");
  for (const nlohmann::json& agent : summary.at("agents")) {
    std::vector<std::string> fields = {
        Value(agent.at("agent_id")), Value(agent.at("finished")),
        Value(agent.at("lost")), Value(agent.at("lost_reason")),
        Value(agent.at("stop_reason"))};
    AppendFigures(agent, &fields);
    audit_fields(agent.value("audit", nlohmann::json()), &fields);
    fields.resize(fields.size() + std::size(kScenarioKeys) +
                  std::size(kStabilityColumns));
    AppendLine(fields, &out);
  }
  std::vector<std::string> fields = {"TOTAL", "", "", "", ""};
  AppendFigures(summary.at("total"), &fields);
  audit_fields(report.value("audit", nlohmann::json()), &fields);
  const nlohmann::json scenario =
      summary.value("scenario", nlohmann::json::object());
  for (const char* key : kScenarioKeys) {
    fields.push_back(scenario.contains(key) ? Value(scenario.at(key)) : "");
  }
  const nlohmann::json stability =
      summary.value("stability", nlohmann::json::object());
  for (const Column& c : kStabilityColumns) {
    const nlohmann::json::json_pointer pointer(c.pointer);
    fields.push_back(stability.contains(pointer) ? Value(stability.at(pointer))
                                                 : "");
  }
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

std::string FindMaxCsv(const nlohmann::json& report) {
  static constexpr Column kStepColumns[] = {
      {"offered_rate", "/offered_rate"},
      {"achieved_rate", "/achieved_rate"},
      {"measured_seconds", "/measured_seconds"},
      {"write_p50_ms", "/write_latency_ms/p50"},
      {"write_p95_ms", "/write_latency_ms/p95"},
      {"write_p99_ms", "/write_latency_ms/p99"},
      {"write_max_ms", "/write_latency_ms/max"},
      {"errors", "/errors"},
      {"queue_full", "/queue_full"},
      {"timeouts", "/timeouts"},
      {"writes_late", "/writes_late"},
      {"passed", "/passed"},
      {"verdict", "/verdict"},
      {"reason", "/reason"},
      {"attempt", "/attempt"},
      {"rate_passed", "/rate_passed"},
  };
  std::vector<std::string> header = {"step"};
  for (const Column& c : kStepColumns) header.push_back(c.name);
  std::string out;
  AppendLine(header, &out);
  const nlohmann::json steps =
      report.value("/find_max/steps"_json_pointer, nlohmann::json::array());
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<std::string> fields = {std::to_string(i + 1)};
    for (const Column& c : kStepColumns) {
      const nlohmann::json::json_pointer pointer(c.pointer);
      fields.push_back(steps[i].contains(pointer) ? Value(steps[i].at(pointer))
                                                  : "");
    }
    AppendLine(fields, &out);
  }
  return out;
}

std::string TuneCsvPath(const std::string& prefix) {
  return prefix + "_tune.csv";
}

std::string TuneCsv(const nlohmann::json& report) {
  static constexpr Column kConfigColumns[] = {
      {"config", "/name"},
      {"defaults", "/defaults"},
      {"flags", "/flags"},
      {"sync", "/sync"},
      {"survives", "/survives"},
      {"rate_mean", "/rate/mean"},
      {"rate_sd", "/rate/sd"},
      {"rate_cov", "/rate/cov"},
      {"rate_min", "/rate/min"},
      {"rate_max", "/rate/max"},
      {"write_p99_ms_mean", "/write_p99_ms/mean"},
      {"write_p99_ms_min", "/write_p99_ms/min"},
      {"write_p99_ms_max", "/write_p99_ms/max"},
      {"bytes_per_row", "/bytes_per_row"},
      {"verdict", "/verdict"},
      {"change_vs_best_percent", "/against_best/change_percent"},
  };
  std::vector<std::string> header = {};
  for (const Column& c : kConfigColumns) header.push_back(c.name);
  header.push_back("runs");
  std::string out;
  AppendLine(header, &out);
  const nlohmann::json configs =
      report.value("/tune/configs"_json_pointer, nlohmann::json::array());
  for (const nlohmann::json& config : configs) {
    std::vector<std::string> fields;
    for (const Column& c : kConfigColumns) {
      const nlohmann::json::json_pointer pointer(c.pointer);
      fields.push_back(config.contains(pointer) ? Value(config.at(pointer))
                                                : "");
    }
    fields.push_back(std::to_string(
        config.value("runs", nlohmann::json::array()).size()));
    AppendLine(fields, &out);
  }
  return out;
}

}  // namespace loadtest::report
