#include "report/interval_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "report/csv_report.h"
#include "report/json_report.h"
#include "status/status_macros.h"

namespace loadtest::report {

// report/'s file writer (`report` is the usual name of the JSON written).
using report::WriteFileAtomically;

namespace {

// What the stability verdict reads of one interval's TOTAL.
StabilitySample StabilitySampleOf(const IntervalRow& row) {
  const Figures& f = row.total;
  StabilitySample s;
  s.start_s = row.start_s;
  s.end_s = row.end_s;
  s.seconds = f.seconds;
  s.writes_ok = f.counters.writes_ok;
  s.write_latency = f.write_latency;
  if (f.process.has_value()) s.rss_bytes = f.process->rss_bytes;
  if (f.store.has_value()) {
    s.wal_bytes_max = f.store->wal_bytes_max;
    s.wal_restart_bytes = f.store->wal_restart_bytes;
    s.db_bytes = f.store->db_bytes;
  }
  return s;
}

constexpr size_t kChartPointBudget = 20000;
constexpr size_t kMaxPointsPerSeries = 720;
constexpr size_t kMinPointsPerSeries = 32;
// Room reserved in the spool per planned interval (a total's line is 1-3
// kB), and at most in all.
constexpr int64_t kSpoolLineBytes = 3 * 1024;
constexpr int64_t kMaxSpoolReserve = int64_t{256} << 20;

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

size_t IntervalLog::MaxChartPoints(size_t agents) {
  const size_t share = kChartPointBudget / std::max<size_t>(agents, 1);
  return std::clamp(share, kMinPointsPerSeries, kMaxPointsPerSeries);
}

absl::StatusOr<std::unique_ptr<IntervalLog>> IntervalLog::Open(
    std::vector<std::string> agent_ids, const std::string& jsonl_path,
    const std::string& csv_path, bool spool_totals,
    int64_t expected_intervals) {
  std::unique_ptr<IntervalLog> log(new IntervalLog(std::move(agent_ids)));
  if (!jsonl_path.empty()) {
    ASSIGN_OR_RETURN(log->jsonl_.file, report::AtomicFile::Create(jsonl_path));
  }
  if (!csv_path.empty()) {
    ASSIGN_OR_RETURN(log->csv_.file, report::AtomicFile::Create(csv_path));
  }
  if (spool_totals) {
    const int64_t reserve =
        std::min(kMaxSpoolReserve,
                 std::max<int64_t>(expected_intervals, 0) * kSpoolLineBytes);
    ASSIGN_OR_RETURN(log->totals_spool_,
                     report::CreateSpoolFile("the interval totals", reserve));
  } else {
    log->spool_error_ = absl::FailedPreconditionError(
        "the interval totals were not kept (the run writes no --out)");
  }
  log->Write(&log->csv_, IntervalsCsvHeader());
  return log;
}

IntervalLog::IntervalLog(std::vector<std::string> agent_ids)
    : agent_ids_(std::move(agent_ids)),
      max_points_(MaxChartPoints(agent_ids_.size())),
      agent_points_(agent_ids_.size()) {
  for (size_t i = 0; i < agent_ids_.size(); ++i) agent_index_[agent_ids_[i]] = i;
}

IntervalLog::~IntervalLog() = default;  // Unfinished files are removed.

void IntervalLog::Write(OutFile* out, const std::string& text) {
  if (out->file == nullptr || !write_error_.ok()) return;
  if (std::fwrite(text.data(), 1, text.size(), out->file->file()) !=
      text.size()) {
    write_error_ = absl::ResourceExhaustedError(absl::StrCat(
        "cannot write ", out->file->path(), ": ", std::strerror(errno)));
  }
}

void IntervalLog::Add(const IntervalRow& row) {
  ++rows_;
  stability_.Add(StabilitySampleOf(row));
  // Each format rendered once, and only for a file still being written.
  if (jsonl_.file != nullptr && write_error_.ok()) {
    std::string lines;
    for (const AgentFigures& a : row.agents) {
      lines += AgentIntervalJson(row, a).dump();
      lines += '\n';
    }
    Write(&jsonl_, lines);
  }
  if (csv_.file != nullptr && write_error_.ok()) {
    Write(&csv_, IntervalCsvRows(row));
  }
  if (totals_spool_ != nullptr && spool_error_.ok()) {
    std::string line = IntervalRowJson(row, /*with_agents=*/false).dump();
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), totals_spool_.get()) !=
        line.size()) {
      spool_error_ = absl::ResourceExhaustedError(absl::StrCat(
          "cannot write the temporary file for the interval totals: ",
          std::strerror(errno)));
    }
  }

  // Charts: a new point every per_point_ intervals, else merged into the
  // last one.
  const bool new_point = in_last_point_ == 0 || in_last_point_ >= per_point_;
  std::vector<Point> agents(agent_ids_.size());
  for (const AgentFigures& a : row.agents) {
    auto it = agent_index_.find(a.agent_id);
    if (it != agent_index_.end()) agents[it->second] = MakePoint(row, a.figures, a.health.state);
  }
  const Point total = MakePoint(row, row.total, row.total_health.state);
  if (new_point) {
    total_points_.push_back(total);
    for (size_t i = 0; i < agents.size(); ++i) agent_points_[i].push_back(agents[i]);
    in_last_point_ = 1;
  } else {
    total_points_.back() = Merge(total_points_.back(), total);
    for (size_t i = 0; i < agents.size(); ++i) {
      agent_points_[i].back() = Merge(agent_points_[i].back(), agents[i]);
    }
    ++in_last_point_;
  }
  if (total_points_.size() >= max_points_ && in_last_point_ >= per_point_) {
    Compact();
  }
}

void IntervalLog::Compact() {
  auto halve = [](std::vector<Point>* points) {
    std::vector<Point> merged;
    merged.reserve(points->size() / 2 + 1);
    for (size_t i = 0; i < points->size(); i += 2) {
      merged.push_back(i + 1 < points->size()
                           ? Merge((*points)[i], (*points)[i + 1])
                           : (*points)[i]);
    }
    *points = std::move(merged);
  };
  const bool odd = total_points_.size() % 2 == 1;
  halve(&total_points_);
  for (std::vector<Point>& points : agent_points_) halve(&points);
  per_point_ *= 2;
  // An odd last point covers only half a new point: it takes the next rows.
  in_last_point_ = odd ? per_point_ / 2 : per_point_;
}

absl::Status IntervalLog::Close() {
  for (OutFile* out : {&jsonl_, &csv_}) {
    if (out->file == nullptr) continue;
    std::unique_ptr<report::AtomicFile> file = std::move(out->file);
    if (!write_error_.ok()) continue;  // Removed unwritten.
    write_error_ = file->Commit();
  }
  return write_error_;
}

absl::Status IntervalLog::ForEachTotal(
    const std::function<void(const std::string&)>& fn) const {
  RETURN_IF_ERROR(spool_error_);
  if (std::fflush(totals_spool_.get()) != 0 ||
      std::fseek(totals_spool_.get(), 0, SEEK_SET) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot read back the interval totals: ", std::strerror(errno)));
  }
  std::string line;
  char buffer[8192];
  while (std::fgets(buffer, sizeof(buffer), totals_spool_.get()) != nullptr) {
    line += buffer;
    if (line.back() != '\n') continue;
    line.pop_back();
    fn(line);
    line.clear();
  }
  const bool failed = std::ferror(totals_spool_.get()) != 0;
  std::fseek(totals_spool_.get(), 0, SEEK_END);  // Add() appends again.
  if (failed) {
    return absl::InternalError(absl::StrCat(
        "cannot read back the interval totals: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

nlohmann::json IntervalLog::totals() const {
  nlohmann::json totals = nlohmann::json::array();
  const absl::Status read = ForEachTotal(
      [&](const std::string& line) { totals.push_back(nlohmann::json::parse(line)); });
  (void)read;  // An unreadable spool gives what was read; WriteJsonReport reports it.
  return totals;
}

absl::Status IntervalLog::WriteJsonReport(const std::string& path,
                                          nlohmann::json report) const {
  // The report is small without its intervals: written whole around a
  // marker that the spooled totals replace.
  constexpr char kMarker[] = "\"opentrail-load:intervals-spool\"";
  report["intervals"] = "opentrail-load:intervals-spool";
  const std::string text = report.dump(2) + "\n";
  const size_t at = text.find(kMarker);
  if (at == std::string::npos) {
    return absl::InternalError("the report lost its intervals marker");
  }
  return WriteFileAtomically(path, [&](std::FILE* out) {
    bool first = true;
    std::fwrite(text.data(), 1, at, out);
    std::fputs("[", out);
    RETURN_IF_ERROR(ForEachTotal([&](const std::string& line) {
      std::fputs(first ? "\n    " : ",\n    ", out);
      std::fwrite(line.data(), 1, line.size(), out);
      first = false;
    }));
    std::fputs(first ? "]" : "\n  ]", out);
    const std::string rest = text.substr(at + sizeof(kMarker) - 1);
    std::fwrite(rest.data(), 1, rest.size(), out);
    return absl::OkStatus();
  });
}

IntervalLog::Point IntervalLog::MakePoint(const IntervalRow& row,
                                          const Figures& f,
                                          stats::HealthState health) {
  Point p;
  p.present = true;
  p.health = health;
  p.sequence = row.sequence;
  p.start_s = row.start_s;
  p.end_s = row.end_s;
  p.writes_per_s = f.writes_per_s();
  p.reads_per_s = f.reads_per_s();
  p.write_count = f.write_latency.count();
  p.read_count = f.read_latency.count();
  p.write_p95_ms = Ms(f.write_latency.Quantile(0.95));
  p.write_p99_ms = Ms(f.write_latency.Quantile(0.99));
  p.read_p95_ms = Ms(f.read_latency.Quantile(0.95));
  p.read_p99_ms = Ms(f.read_latency.Quantile(0.99));
  p.queue_utilization = f.queue_utilization();
  p.write_errors = f.counters.write_errors;
  p.write_timeouts = f.counters.write_timeouts;
  p.queue_full_errors = f.counters.queue_full;
  p.read_errors = f.counters.read_errors;
  if (f.store.has_value()) {
    p.wal_bytes_max = static_cast<double>(f.store->wal_bytes_max);
    p.commit_p99_ms = Ms(f.store->commit_latency.Quantile(0.99));
    p.commit_count = static_cast<int64_t>(f.store->commit_latency.count());
    p.checkpoints = f.store->checkpoints;
    p.checkpoints_blocked = f.store->checkpoints_blocked;
  }
  if (f.process.has_value()) p.cpu_fraction = f.process->cpu_fraction();
  if (f.host.has_value()) {
    const protocol::HostFigures& h = *f.host;
    p.host_seconds = h.wall_seconds;
    p.cpu_user = h.cpu_user_fraction();
    p.cpu_system = h.cpu_system_fraction();
    p.cpu_iowait = h.cpu_iowait_fraction();
    p.cpu_steal = h.cpu_steal_fraction();
    p.has_disk = !h.disk_device.empty();
    p.disk_utilization = h.disk_utilization();
    p.disk_await_ms = h.disk_await_ms();
  }
  return p;
}

IntervalLog::Point IntervalLog::Merge(const Point& a, const Point& b) {
  if (!a.present) return b;
  if (!b.present) return a;
  Point m = a;
  m.end_s = b.end_s;
  const double da = a.end_s - a.start_s, db = b.end_s - b.start_s;
  auto mean = [&](double x, double y) {
    return da + db > 0 ? (x * da + y * db) / (da + db) : (x + y) / 2;
  };
  m.writes_per_s = mean(a.writes_per_s, b.writes_per_s);
  m.reads_per_s = mean(a.reads_per_s, b.reads_per_s);
  m.write_p95_ms = std::max(a.write_p95_ms, b.write_p95_ms);
  m.write_p99_ms = std::max(a.write_p99_ms, b.write_p99_ms);
  m.read_p95_ms = std::max(a.read_p95_ms, b.read_p95_ms);
  m.read_p99_ms = std::max(a.read_p99_ms, b.read_p99_ms);
  m.queue_utilization = std::max(a.queue_utilization, b.queue_utilization);
  m.write_count = a.write_count + b.write_count;
  m.read_count = a.read_count + b.read_count;
  m.write_errors = a.write_errors + b.write_errors;
  m.write_timeouts = a.write_timeouts + b.write_timeouts;
  m.queue_full_errors = a.queue_full_errors + b.queue_full_errors;
  m.read_errors = a.read_errors + b.read_errors;
  m.wal_bytes_max = std::max(a.wal_bytes_max, b.wal_bytes_max);
  m.commit_p99_ms = std::max(a.commit_p99_ms, b.commit_p99_ms);
  m.commit_count = a.commit_count + b.commit_count;
  m.checkpoints = a.checkpoints + b.checkpoints;
  m.checkpoints_blocked = a.checkpoints_blocked + b.checkpoints_blocked;
  m.cpu_fraction = mean(a.cpu_fraction, b.cpu_fraction);
  // The worst: overloaded, under stress, generator-bound, healthy.
  auto severity = [](stats::HealthState h) {
    switch (h) {
      case stats::HealthState::kHealthy: return 0;
      case stats::HealthState::kGeneratorBound: return 1;
      case stats::HealthState::kUnderStress: return 2;
      case stats::HealthState::kOverloaded: return 3;
    }
    return 0;
  };
  m.health = severity(b.health) > severity(a.health) ? b.health : a.health;
  // Shares of the time average over it; await is the worse, as latency.
  m.host_seconds = a.host_seconds + b.host_seconds;
  m.cpu_user = mean(a.cpu_user, b.cpu_user);
  m.cpu_system = mean(a.cpu_system, b.cpu_system);
  m.cpu_iowait = mean(a.cpu_iowait, b.cpu_iowait);
  m.cpu_steal = mean(a.cpu_steal, b.cpu_steal);
  m.has_disk = a.has_disk || b.has_disk;
  m.disk_utilization = mean(a.disk_utilization, b.disk_utilization);
  m.disk_await_ms = std::max(a.disk_await_ms, b.disk_await_ms);
  return m;
}

nlohmann::json IntervalLog::PointJson(const Point& p) {
  nlohmann::json j = {{"writes_per_s", p.writes_per_s},
          {"reads_per_s", p.reads_per_s},
          {"write_latency_ms",
           {{"count", p.write_count},
            {"p95", p.write_p95_ms},
            {"p99", p.write_p99_ms}}},
          {"read_latency_ms",
           {{"count", p.read_count},
            {"p95", p.read_p95_ms},
            {"p99", p.read_p99_ms}}},
          {"queue_utilization", p.queue_utilization},
          {"write_errors", p.write_errors},
          {"write_timeouts", p.write_timeouts},
          {"queue_full_errors", p.queue_full_errors},
          {"read_errors", p.read_errors},
          // As FiguresJson names them, so the charts read either.
          {"store",
           {{"wal_bytes_max", p.wal_bytes_max},
            {"commit_ms", {{"count", p.commit_count}, {"p99", p.commit_p99_ms}}},
            {"checkpoints", p.checkpoints},
            {"checkpoints_blocked", p.checkpoints_blocked}}},
          {"process", {{"cpu_fraction", p.cpu_fraction}}},
          {"health", {{"state", stats::HealthStateName(p.health)}}}};
  if (p.host_seconds > 0) {
    j["host"] = {{"seconds", p.host_seconds},
                 {"cpu",
                  {{"user", p.cpu_user},
                   {"system", p.cpu_system},
                   {"iowait", p.cpu_iowait},
                   {"steal", p.cpu_steal}}}};
    if (p.has_disk) {
      j["host"]["disk"] = {{"utilization", p.disk_utilization},
                           {"await_ms", p.disk_await_ms}};
    }
  }
  return j;
}

nlohmann::json IntervalLog::ChartJson() const {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t k = 0; k < total_points_.size(); ++k) {
    const Point& t = total_points_[k];
    nlohmann::json agents = nlohmann::json::array();
    for (size_t i = 0; i < agent_points_.size(); ++i) {
      if (k >= agent_points_[i].size() || !agent_points_[i][k].present) continue;
      nlohmann::json a = PointJson(agent_points_[i][k]);
      a["agent_id"] = agent_ids_[i];
      agents.push_back(std::move(a));
    }
    rows.push_back({{"sequence", t.sequence},
                    {"start_s", t.start_s},
                    {"end_s", t.end_s},
                    {"total", PointJson(t)},
                    {"agents", std::move(agents)}});
  }
  return {{"intervals_per_point", per_point_}, {"rows", std::move(rows)}};
}

}  // namespace loadtest::report
