#include "report/display.h"

#include <sys/ioctl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "duration/duration.h"
#include "protocol/peer_text.h"
#include "protocol/validity.h"
#include "report/concurrency.h"

namespace loadtest::report {
namespace {

std::string Percentiles(const stats::LatencyHistogram& h) {
  if (h.count() == 0) return "-";
  return absl::StrFormat("%s/%s/%s", FormatLatency(h.Quantile(0.50)),
                         FormatLatency(h.Quantile(0.95)),
                         FormatLatency(h.Quantile(0.99)));
}

std::string FigureLine(const Figures& f) {
  const stats::IntervalCounters& c = f.counters;
  std::string line = absl::StrFormat(
      "writes %8.0f/s p50/p95/p99 %-20s reads %6.0f/s p50/p95/p99 %-20s "
      "queue %3.0f%% full %d timeouts %d errors %d batches %d (mean %.1f)",
      f.writes_per_s(), Percentiles(f.write_latency), f.reads_per_s(),
      Percentiles(f.read_latency), 100 * f.queue_utilization(), c.queue_full,
      c.write_timeouts, c.write_errors + c.read_errors, f.batches,
      f.mean_batch_size());
  // Open loop: what the schedule offered, beside what was achieved above.
  if (f.offered_writes > 0 || f.offered_reads > 0) {
    absl::StrAppendFormat(&line, " offered writes %.0f/s reads %.0f/s",
                          f.offered_write_rate(), f.offered_read_rate());
  }
  // One interval of one agent: say at once when its figures describe the
  // load generator or a starved WAL rather than the store's speed.
  if (f.intervals == 1 && !f.generator_bound_reason.empty()) {
    absl::StrAppend(&line, " | generator-bound: ", f.generator_bound_reason);
  }
  if (f.intervals == 1 && !f.starvation_reason.empty()) {
    absl::StrAppend(&line, " | checkpoint starvation");
  }
  return line;
}

// "812", "4123", "12.3k": a rate in at most five characters.
std::string ShortRate(double per_s) {
  if (per_s < 10000) return absl::StrFormat("%.0f", per_s);
  if (per_s < 1e6) return absl::StrFormat("%.1fk", per_s / 1e3);
  return absl::StrFormat("%.1fM", per_s / 1e6);
}

// "healthy 10 (50.0s), under stress 2 (10.0s), overloaded 0, generator-bound 0".
std::string TallyText(const stats::HealthTally& t) {
  const char* names[] = {"healthy", "under stress", "overloaded",
                         "generator-bound"};
  std::vector<std::string> parts;
  for (int i = 0; i < 4; ++i) {
    parts.push_back(t.intervals[i] == 0
                        ? absl::StrCat(names[i], " 0")
                        : absl::StrFormat("%s %d (%.1fs)", names[i],
                                          t.intervals[i], t.seconds[i]));
  }
  return absl::StrJoin(parts, ", ");
}

// The guide's key indicators over the run, then the diagnosis.
void PrintHealth(std::FILE* o, const RunSummary& s) {
  std::fprintf(o, "\nHealth (the guide's key indicators), intervals: %s\n",
               TallyText(s.health).c_str());
  if (s.agents.size() > 1) {
    for (const AgentSummary& a : s.agents) {
      std::fprintf(o, "  %-12s %s\n", protocol::PeerText(a.agent_id).c_str(),
                   TallyText(a.health).c_str());
    }
  }
  if (s.diagnosis.empty()) {
    const bool all_healthy =
        s.health.intervals[0] == s.health.total_intervals();
    std::fprintf(o, "Diagnosis: no finding%s\n",
                 all_healthy ? ": every interval healthy" : "");
    return;
  }
  std::fprintf(o, "Diagnosis (docs/diagnosis.md):\n");
  int n = 0;
  for (const Finding& f : s.diagnosis) {
    std::string agents = absl::StrJoin(f.agents, ", ");
    if (f.agents.size() > 4) {
      agents = absl::StrCat(f.agents[0], ", ", f.agents[1], " and ",
                            f.agents.size() - 2, " more agents");
    }
    std::fprintf(o, "  %d. %s (%s; intervals %lld-%lld, %.1f-%.1fs)\n", ++n,
                 f.symptom.c_str(), protocol::PeerText(agents).c_str(),
                 static_cast<long long>(f.first_interval),
                 static_cast<long long>(f.last_interval), f.first_s, f.last_s);
    std::fprintf(o, "     cause: %s\n", f.cause.c_str());
    std::fprintf(o, "     evidence: %s\n", protocol::PeerText(f.evidence, 2048).c_str());
    std::fprintf(o, "     try: %s\n", absl::StrJoin(f.advice, "; ").c_str());
    if (!f.guide.empty()) std::fprintf(o, "     guide: %s\n", f.guide.c_str());
  }
}

}  // namespace

const char* ShortHealth(stats::HealthState state) {
  switch (state) {
    case stats::HealthState::kHealthy:
      return "healthy";
    case stats::HealthState::kUnderStress:
      return "STRESS";
    case stats::HealthState::kOverloaded:
      return "OVERLOAD";
    case stats::HealthState::kGeneratorBound:
      return "GEN-BOUND";
  }
  return "?";
}

std::string HealthReasons(const stats::Health& health) {
  if (health.state == stats::HealthState::kHealthy ||
      health.state == stats::HealthState::kGeneratorBound) {
    return "";  // The generator's reason is on the line already.
  }
  return absl::StrCat(" | ", stats::HealthStateName(health.state), ": ",
                      absl::StrJoin(health.reasons, "; "));
}

std::string FitFigureLine(const std::string& prefix, const Figures& f,
                          size_t width) {
  const std::string full = prefix + FigureLine(f);
  if (width == 0 || full.size() <= width) return full;
  // Too wide: short units and labels, and the columns that fit, taken by
  // priority (0 first) and shown in their usual order. Every figure left
  // out stays in the per-agent table, the summary and the reports.
  struct Column {
    int priority;
    std::string text;
  };
  const stats::IntervalCounters& c = f.counters;
  std::vector<Column> columns = {
      {0, absl::StrCat("w ", ShortRate(f.writes_per_s()), "/s")},
      {1, absl::StrCat("p50/95/99 ", Percentiles(f.write_latency))},
      {5, absl::StrCat("r ", ShortRate(f.reads_per_s()), "/s")},
      {7, absl::StrCat("r p99 ", f.read_latency.count() == 0
                                     ? std::string("-")
                                     : FormatLatency(f.read_latency.Quantile(0.99)))},
      {3, absl::StrFormat("q %.0f%%", 100 * f.queue_utilization())},
      {2, absl::StrCat("err ", c.queue_full + c.write_timeouts + c.write_errors +
                                   c.read_errors)},
      {9, absl::StrFormat("batches %d (mean %.1f)", f.batches,
                          f.mean_batch_size())},
  };
  if (f.offered_writes > 0 || f.offered_reads > 0) {
    columns.push_back({8, absl::StrCat("offered w ",
                                       ShortRate(f.offered_write_rate()),
                                       "/s r ", ShortRate(f.offered_read_rate()),
                                       "/s")});
  }
  if (f.intervals == 1 && !f.generator_bound_reason.empty()) {
    columns.push_back({4, "GENERATOR-BOUND"});
  }
  if (f.intervals == 1 && !f.starvation_reason.empty()) {
    columns.push_back({6, "WAL-STARVED"});
  }
  std::vector<bool> shown(columns.size(), false);
  auto join = [&] {
    std::string line = prefix;
    bool first = true;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!shown[i]) continue;
      absl::StrAppend(&line, first ? "" : "  ", columns[i].text);
      first = false;
    }
    return line;
  };
  for (int priority = 0; priority <= 9; ++priority) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].priority != priority) continue;
      shown[i] = true;
      if (join().size() > width) shown[i] = false;
    }
  }
  std::string line = join();
  if (line.size() > width) line.resize(width);
  return line;
}

std::string FormatLatency(int64_t ns) {
  if (ns < 1000) return absl::StrCat(ns, "ns");
  if (ns < 1000000) return absl::StrFormat("%.0fus", ns / 1e3);
  if (ns < 10000000) return absl::StrFormat("%.2fms", ns / 1e6);
  if (ns < 1000000000) return absl::StrFormat("%.1fms", ns / 1e6);
  return absl::StrFormat("%.2fs", ns / 1e9);
}

Display::Display(std::FILE* out, bool live, std::chrono::nanoseconds duration,
                 bool per_agent)
    : out_(out), live_(live), duration_(duration), per_agent_(per_agent) {}

Display::~Display() { Stop(); }

void Display::Start() {
  start_ = std::chrono::steady_clock::now();
  if (!live_) return;
  {
    sync::MutexLock lock(&mu_);
    ticking_ = true;
  }
  ticker_ = std::thread([this] { TickerLoop(); });
}

void Display::Stop() {
  {
    sync::MutexLock lock(&mu_);
    stop_ = true;
    ticking_ = false;
    ClearBlockLocked();
    std::fflush(out_);
  }
  cv_.NotifyAll();
  if (ticker_.joinable()) ticker_.join();
}

void Display::TickerLoop() {
  sync::MutexLock lock(&mu_);
  while (!stop_) {
    ClearBlockLocked();
    DrawBlockLocked();
    cv_.WaitUntil(&mu_, std::chrono::steady_clock::now() + std::chrono::seconds(1));
  }
}

void Display::ClearBlockLocked() {
  if (block_lines_ == 0) return;
  // Up to the block's first line, then erase to the end of the screen.
  std::fprintf(out_, "\033[%dA\r\033[J", block_lines_);
  block_lines_ = 0;
}

std::string Display::ProgressLine() const {
  const double total = std::chrono::duration<double>(duration_).count();
  const double elapsed = std::min(
      total, std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                           start_)
                 .count());
  constexpr int kWidth = 30;
  const int filled =
      total > 0 ? static_cast<int>(kWidth * elapsed / total) : kWidth;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  return absl::StrFormat("[%s] %3.0f%%  %.0fs elapsed, %.0fs remaining", bar,
                         total > 0 ? 100 * elapsed / total : 100.0, elapsed,
                         total - elapsed);
}

void Display::TerminalSize(int* width, int* height) const {
  *width = 120;
  *height = 40;
  winsize size{};
  if (ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    *width = size.ws_col;
    *height = size.ws_row > 0 ? size.ws_row : *height;
  }
}

void Display::DrawBlockLocked() {
  if (!ticking_) return;
  int width = 0, height = 0;
  TerminalSize(&width, &height);
  std::vector<std::string> lines = {ProgressLine()};
  // Leave the scrolling lines some room on a small terminal.
  const size_t room = static_cast<size_t>(std::max(2, height - 3));
  for (const std::string& line : table_) {
    if (lines.size() >= room) break;
    lines.push_back(line);
  }
  for (std::string& line : lines) {
    if (static_cast<int>(line.size()) >= width) line.resize(std::max(1, width - 1));
    std::fprintf(out_, "%s\033[K\n", line.c_str());
  }
  block_lines_ = static_cast<int>(lines.size());
  std::fflush(out_);
}

std::vector<std::string> Display::LiveTable(const IntervalRow& row) const {
  // At most this many agent rows: the top and bottom halves by writes/s.
  constexpr size_t kMaxAgents = 16;
  auto line = [](const std::string& name, const Figures& f,
                 const stats::Health& health) {
    const stats::IntervalCounters& c = f.counters;
    auto latency = [](const stats::LatencyHistogram& h, double q) {
      return h.count() == 0 ? std::string("-") : FormatLatency(h.Quantile(q));
    };
    return absl::StrFormat(
        "%-16s %-9s %9.0f %9s %9s %9s %8.0f %9s %6.1f%% %7d",
        name.substr(0, 16), ShortHealth(health.state),
        f.writes_per_s(), latency(f.write_latency, 0.5),
        latency(f.write_latency, 0.95), latency(f.write_latency, 0.99),
        f.reads_per_s(), latency(f.read_latency, 0.99),
        100 * f.queue_utilization(),
        c.write_errors + c.write_timeouts + c.queue_full + c.read_errors);
  };
  std::vector<std::string> table = {
      absl::StrFormat("interval %d ending at %.1fs, %d agent%s reporting",
                      row.sequence, row.end_s, row.agents.size(),
                      row.agents.size() == 1 ? "" : "s"),
      absl::StrFormat("%-16s %-9s %9s %9s %9s %9s %8s %9s %7s %7s", "agent",
                      "state", "writes/s", "w p50", "w p95", "w p99", "reads/s",
                      "r p99", "queue", "errors")};
  std::vector<const AgentFigures*> agents;
  for (const AgentFigures& a : row.agents) agents.push_back(&a);
  if (agents.size() > kMaxAgents) {
    std::stable_sort(agents.begin(), agents.end(),
                     [](const AgentFigures* a, const AgentFigures* b) {
                       return a->figures.writes_per_s() >
                              b->figures.writes_per_s();
                     });
    const size_t half = (kMaxAgents - 1) / 2;
    for (size_t i = 0; i < half; ++i) {
      table.push_back(line(agents[i]->agent_id, agents[i]->figures,
                           agents[i]->health));
    }
    table.push_back(absl::StrFormat(
        "  ... %d more agents (every agent is in the JSON and CSV reports)",
        agents.size() - 2 * half));
    for (size_t i = agents.size() - half; i < agents.size(); ++i) {
      table.push_back(line(agents[i]->agent_id, agents[i]->figures,
                           agents[i]->health));
    }
  } else {
    for (const AgentFigures* a : agents) {
      table.push_back(line(a->agent_id, a->figures, a->health));
    }
  }
  table.push_back(line("TOTAL", row.total, row.total_health));
  return table;
}

void Display::Row(const IntervalRow& row) {
  sync::MutexLock lock(&mu_);
  ClearBlockLocked();
  const bool per_agent = per_agent_ || row.agents.size() > 1;
  if (per_agent && !live_) {
    for (const AgentFigures& a : row.agents) {
      std::fprintf(out_, "[%7.1fs] %-12s %-9s %s%s\n", row.end_s,
                   a.agent_id.c_str(), ShortHealth(a.health.state),
                   FigureLine(a.figures).c_str(), HealthReasons(a.health).c_str());
    }
  }
  const std::string prefix =
      absl::StrFormat("[%7.1fs] %s%-9s ", row.end_s, per_agent ? "TOTAL  " : "",
                      ShortHealth(row.total_health.state));
  if (live_) {
    // One line within the terminal's width (one column short of it, so
    // that no terminal wraps it early): a wrapped line would scroll the
    // live block apart.
    int width = 0, height = 0;
    TerminalSize(&width, &height);
    std::fprintf(out_, "%s\n",
                 FitFigureLine(prefix, row.total,
                               static_cast<size_t>(std::max(20, width - 1)))
                     .c_str());
  } else {
    std::fprintf(out_, "%s%s\n", FitFigureLine(prefix, row.total, 0).c_str(),
                 HealthReasons(row.total_health).c_str());
  }
  if (live_ && per_agent) table_ = LiveTable(row);
  DrawBlockLocked();
  std::fflush(out_);
}

void Display::Message(const std::string& line) {
  sync::MutexLock lock(&mu_);
  ClearBlockLocked();
  std::fprintf(out_, "%s\n", line.c_str());
  DrawBlockLocked();
  std::fflush(out_);
}

void Display::Warning(const std::string& line) {
  sync::MutexLock lock(&mu_);
  ClearBlockLocked();
  std::fflush(out_);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  DrawBlockLocked();
}

void Display::Summary(const RunSummary& s, const ScenarioJudgement& scenario,
                      const std::vector<TargetCheck>& targets,
                      const std::vector<ThresholdResult>& thresholds) {
  Stop();
  sync::MutexLock lock(&mu_);
  const Figures& t = s.total;
  const stats::IntervalCounters& c = t.counters;
  std::FILE* o = out_;
  std::fprintf(o, "\n=== Summary (%.1fs%s) ===\n", s.seconds,
               s.partial ? ", PARTIAL: an agent did not finish" : "");
  std::vector<std::string> unaudited;
  for (const AgentSummary& a : s.agents) {
    if (!a.stop_reason.empty()) {
      std::fprintf(o, "run ended: %s%s\n",
                   protocol::PeerText(a.stop_reason).c_str(),
                   s.agents.size() > 1
                       ? (" (" + protocol::PeerText(a.agent_id) + ")").c_str()
                       : "");
    }
    if (!a.first_error.empty()) {
      std::fprintf(o, "first failed write%s: %s\n",
                   s.agents.size() > 1
                       ? (" (" + protocol::PeerText(a.agent_id) + ")").c_str()
                       : "",
                   protocol::PeerText(a.first_error).c_str());
    }
    if (a.lost) {
      std::fprintf(o,
                   "agent %s LOST: %s (its figures until then are included; "
                   "its database was not audited)\n",
                   protocol::PeerText(a.agent_id).c_str(),
                   protocol::PeerText(a.lost_reason, 2048).c_str());
    }
    if (!a.audit.has_value()) unaudited.push_back(a.agent_id);
  }
  if (s.agents.size() > 1) {
    for (const AgentSummary& a : s.agents) {
      const char* state = a.lost ? "LOST"
                          : !a.audit.has_value() ? "no audit"
                          : a.audit->passed()    ? "audit passed"
                                                 : "AUDIT FAILED";
      std::fprintf(o, "  %-12s %s, %s\n", a.agent_id.c_str(),
                   FigureLine(a.figures).c_str(), state);
    }
  }
  std::fprintf(o, "writes: %lld acknowledged, %.0f/s", static_cast<long long>(c.writes_ok),
               t.writes_per_s());
  std::fprintf(o,
               " | outcomes: queue full %lld, timed out %lld (committed late "
               "%lld), failed %lld",
               static_cast<long long>(c.queue_full),
               static_cast<long long>(c.write_timeouts),
               static_cast<long long>(t.late_commits),
               static_cast<long long>(c.write_errors));
  if (c.writes_late > 0) {
    std::fprintf(o, ", started late %lld", static_cast<long long>(c.writes_late));
  }
  std::fprintf(o, "\nreads:  %lld ok, %.0f/s | failed %lld",
               static_cast<long long>(c.reads_ok), t.reads_per_s(),
               static_cast<long long>(c.read_errors));
  if (c.reads_late > 0) {
    std::fprintf(o, ", started late %lld", static_cast<long long>(c.reads_late));
  }
  std::fprintf(o, "\n");
  auto latency_line = [o](const char* name, const stats::LatencyHistogram& h) {
    if (h.count() == 0) {
      std::fprintf(o, "%s latency: no samples\n", name);
      return;
    }
    std::fprintf(o, "%s latency: p50 %s  p95 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
                 name, FormatLatency(h.Quantile(0.5)).c_str(),
                 FormatLatency(h.Quantile(0.95)).c_str(),
                 FormatLatency(h.Quantile(0.99)).c_str(),
                 FormatLatency(h.Quantile(0.999)).c_str(),
                 FormatLatency(h.max()).c_str(),
                 FormatLatency(static_cast<int64_t>(h.mean())).c_str());
  };
  latency_line("write", t.write_latency);
  latency_line("read ", t.read_latency);
  std::fprintf(o, "store: %lld batches, mean %.1f rows, peak queue %d of %d (%.0f%%)\n",
               static_cast<long long>(t.batches), t.mean_batch_size(),
               t.peak_queue_depth, t.queue_size, 100 * t.queue_utilization());
  if (t.store.has_value()) {
    const storage::StoreInternals& st = *t.store;
    const stats::LatencyHistogram& commit = st.commit_latency;
    std::fprintf(
        o,
        "sqlite: WAL up to %.1f MiB, %lld checkpoints (%lld blocked), "
        "COMMIT p99 %s, busy %lld, cache hit %.1f%%\n",
        st.wal_bytes_max / (1024.0 * 1024.0),
        static_cast<long long>(st.checkpoints),
        static_cast<long long>(st.checkpoints_blocked),
        commit.count() > 0 ? FormatLatency(commit.Quantile(0.99)).c_str() : "-",
        static_cast<long long>(st.writer.busy_events + st.readers.busy_events +
                               st.checkpointer.busy_events),
        100 * st.cache_hit_ratio());
  }
  if (t.process.has_value()) {
    const protocol::ProcessFigures& p = *t.process;
    std::fprintf(o, "load generator: CPU %.0f%% of %s, %lld threads, RSS %.0f MiB",
                 100 * p.cpu_fraction(),
                 protocol::CoresText(p.usable_cores).c_str(),
                 static_cast<long long>(p.threads),
                 p.rss_bytes / (1024.0 * 1024.0));
    if (t.schedule_lag.count() > 0) {
      std::fprintf(o, ", schedule lag p99 %s",
                   FormatLatency(t.schedule_lag.Quantile(0.99)).c_str());
    }
    std::fprintf(o, "\n");
  }
  for (const std::string& warning : s.warnings) {
    std::fprintf(o, "WARNING: %s\n", warning.c_str());
  }
  PrintHealth(o, s);
  std::fprintf(o, "\nGuide scenario: %s (%s)\n", scenario.name.c_str(),
               scenario.section.c_str());
  std::fprintf(o, "  %s: measured %.0f writes/s, %s\n",
               scenario.expectation.c_str(), scenario.measured_writes_per_s,
               VerdictSentence(scenario.verdict));
  if (!scenario.differs_from_guide.empty()) {
    std::fprintf(o, "  (differs from the guide's command: %s)\n",
                 absl::StrJoin(scenario.differs_from_guide, ", ").c_str());
  }
  if (s.stability.has_value()) {
    const StabilityVerdict& v = *s.stability;
    std::fprintf(o, "\nStability: %s\n", v.headline.c_str());
    for (const std::string& line : StabilityFigureLines(v)) {
      std::fprintf(o, "  %s\n", line.c_str());
    }
    for (size_t i = 1; i < v.reasons.size(); ++i) {
      std::fprintf(o, "  also: %s\n", v.reasons[i].c_str());
    }
  }
  std::fprintf(o, "\nGuide targets:\n");
  for (const TargetCheck& check : targets) {
    std::fprintf(o, "  %-18s %-18s measured %10.2f %-8s %s\n", check.name.c_str(),
                 check.target.c_str(), check.value, check.unit.c_str(),
                 check.met ? "met" : "NOT MET");
  }
  const protocol::RunAudit& a = s.audit;
  if (!thresholds.empty()) {
    std::fprintf(o, "\nThresholds:\n");
    for (const ThresholdResult& t : thresholds) {
      const double shown = t.unit == "%" ? 100 * t.measured : t.measured;
      std::fprintf(o, "  %-28s %-12s measured %10.2f %-3s %s\n", t.text.c_str(),
                   t.scope.c_str(), shown, t.unit.c_str(),
                   t.passed ? "passed" : "FAILED");
    }
  }
  std::fprintf(o, "\nDurability audit: %s", a.passed() ? "PASSED" : "FAILED");
  if (!unaudited.empty()) {
    std::string names;
    for (const std::string& id : unaudited) {
      names += (names.empty() ? "" : ", ") + id;
    }
    std::fprintf(o, " (%zu of %zu agents audited; not audited: %s)",
                 s.agents.size() - unaudited.size(), s.agents.size(),
                 names.c_str());
  }
  std::fprintf(o, "\n");
  // An audit that could not read the database (its file gone, unreadable)
  // counted nothing: say so rather than compare zeros.
  const bool counted = a.error.empty() || a.integrity_ok || a.rows_in_db > 0;
  if (!counted) {
    std::fprintf(o,
                 "  rows not counted: the database could not be audited "
                 "(acknowledged %lld)\n",
                 static_cast<long long>(a.acknowledged));
  } else {
    std::fprintf(o,
                 "  rows added to the database %lld = acknowledged %lld + "
                 "committed late %lld ? %s (lost %lld, unexplained %lld)\n",
                 static_cast<long long>(a.rows_in_db),
                 static_cast<long long>(a.acknowledged),
                 static_cast<long long>(a.late_commits),
                 a.lost == 0 && a.unexplained == 0 ? "yes" : "NO",
                 static_cast<long long>(a.lost),
                 static_cast<long long>(a.unexplained));
  }
  std::fprintf(o, "  integrity_check: %s\n",
               protocol::PeerText(a.integrity_message).c_str());
  if (a.fts_index_bytes > 0 && a.rows_before + a.rows_in_db > 0) {
    std::fprintf(o, "  FTS5 index: %.1f MiB, %.0f bytes per row (%lld rows)\n",
                 a.fts_index_bytes / (1024.0 * 1024.0),
                 static_cast<double>(a.fts_index_bytes) /
                     static_cast<double>(a.rows_before + a.rows_in_db),
                 static_cast<long long>(a.rows_before + a.rows_in_db));
  }
  if (!a.error.empty()) {
    std::fprintf(o, "  audit error: %s\n", protocol::PeerText(a.error).c_str());
  }
  std::fflush(o);
}

std::string StepTableHeader() {
  return absl::StrFormat("%-4s %11s %11s %9s %9s %9s %7s %10s %7s  %s",
                         "step", "offered/s", "achieved/s", "w p50", "w p95",
                         "w p99", "errors", "busy/wrtr", "needed", "verdict");
}

namespace {

// "; rate passed: 2 of 3 tries" on the try that decided a rate tried more
// than once; "" otherwise.
std::string RateVerdictText(const StepResult& step) {
  if (!step.rate_passed.has_value() || step.rate_tries < 2) return "";
  return absl::StrCat("; rate ", *step.rate_passed ? "passed" : "failed",
                      ": ", *step.rate_passed
                                ? step.rate_tries_passed
                                : step.rate_tries - step.rate_tries_passed,
                      " of ", step.rate_tries, " tries");
}

}  // namespace

std::string StepTableRow(size_t number, const StepResult& step) {
  const Figures& t = step.measured.total;
  const stats::IntervalCounters& c = t.counters;
  auto latency = [&t](double q) {
    return t.write_latency.count() == 0
               ? std::string("-")
               : FormatLatency(t.write_latency.Quantile(q));
  };
  // The most writes in flight on an agent against its writers, and what
  // the achieved rate and mean latency needed (Little's law).
  const std::string busy =
      t.writes_in_flight.count() == 0 ? std::string("-")
      : step.writers == 0             ? absl::StrCat(step.max_in_flight())
                          : absl::StrCat(step.max_in_flight(), "/", step.writers);
  return absl::StrFormat(
      "%-4d %11.0f %11.0f %9s %9s %9s %7d %10s %7.0f  %s", number,
      step.offered_rate, t.writes_per_s(), latency(0.50), latency(0.95),
      latency(0.99),
      c.write_errors + c.write_timeouts + c.queue_full + c.read_errors, busy,
      step.needed_in_flight(),
      absl::StrCat(step.passed ? "ok" : absl::StrCat("FAIL: ", step.reason),
                   RateVerdictText(step)));
}

std::string FindMaxHeaderText(const FindMaxOptions& options,
                              const FindMaxSetup& setup) {
  auto rate = [](double r) { return absl::StrFormat("%.0f/s", r); };
  std::vector<std::string> slo_list;
  for (const Threshold& t : options.slos) slo_list.push_back(t.text);
  const std::string writers_text =
      setup.async
          ? absl::StrCat("writes dispatched async (in flight bounded by the "
                         "queue of ", setup.queue_size, "; ", setup.writers,
                         " row streams)")
      : setup.writers_auto
          ? absl::StrCat("writers sized by the rate (2 x rate x ",
                         duration::FormatDuration(options.latency_bound), ", ",
                         std::min(kMinAutoWriters, setup.writer_cap), "-",
                         setup.writer_cap, ")")
          : absl::StrCat(setup.writers, " writers");
  std::string text = absl::StrFormat(
      "loadtest find-max: %d agent%s, %s and %d readers each; "
      "SLOs %s; steps of %s after a %s warm-up, from %s up to %s, precision "
      "%.1f%%, %s, at most %d steps; seed %d\n",
      setup.agents, setup.agents == 1 ? "" : "s", writers_text, setup.readers,
      slo_list.empty() ? "none" : absl::StrJoin(slo_list, ", "),
      duration::FormatDuration(options.step_duration),
      duration::FormatDuration(options.warmup), rate(options.start_rate),
      rate(options.max_rate), options.precision * 100,
      options.tries == 1
          ? "each rate judged on one step"
          : absl::StrCat("each rate tried until ", options.tries / 2 + 1,
                         " of up to ", options.tries, " steps agree"),
      options.max_steps, setup.seed);
  if (options.step_db == "scratch") {
    absl::StrAppend(&text, "each step on an empty database: ", setup.step_db,
                    " (",
                    setup.distributed ? "in each agent's data folder, emptied "
                                        "again by the next search"
                                      : "removed at the end",
                    ")\n");
  } else {
    absl::StrAppend(&text, "every step on ", setup.step_db,
                    ", the earlier steps' rows kept (--step-db=grow)\n");
  }
  if (options.saturation) {
    absl::StrAppend(&text, "the store saturated before the first step and "
                    "after the last (--saturation): a closed loop of ",
                    kSaturationWriters, " writers per agent, with the "
                    "steps' readers, database and durations\n");
  }
  return text;
}

std::string FindMaxEndText(const FindMaxResult& result, size_t agents) {
  std::string text;
  for (const std::string& warning : result.warnings) {
    absl::StrAppend(&text, "warning: ", warning, "\n");
  }
  if (result.max_rate.has_value()) {
    absl::StrAppend(
        &text,
        absl::StrFormat("\nmax sustainable rate: %.0f writes/s in total (%.0f "
                        "per agent)",
                        *result.max_rate, *result.max_rate / agents));
    if (!result.limit_reason.empty()) {
      absl::StrAppend(&text, "; limited by ", LimitName(result.limited_by),
                      " ", result.limit_reason);
    }
    absl::StrAppend(&text, "\n");
  } else if (!result.interrupted && result.error.ok()) {
    absl::StrAppend(&text,
                    "\nno rate met every condition: even the start rate "
                    "failed (",
                    result.limit_reason, "); try a lower --start-rate\n");
  }
  const Saturation& s = result.saturation;
  if (s.before.has_value() || s.after.has_value()) {
    auto rate = [](std::optional<double> r) {
      return r.has_value() ? absl::StrFormat("%.0f writes/s", *r)
                           : std::string("not measured");
    };
    absl::StrAppend(&text, "the store saturated: ", rate(s.before),
                    " before the search, ", rate(s.after), " after");
    if (result.max_rate.has_value() && s.mean().has_value() &&
        *s.mean() > 0) {
      absl::StrAppend(&text,
                      absl::StrFormat("; the answer is %.2f of %s",
                                      *result.max_rate / *s.mean(),
                                      s.before.has_value() && s.after.has_value()
                                          ? "their mean"
                                          : "it"));
    }
    absl::StrAppend(&text, "\n");
  }
  if (result.interrupted) {
    absl::StrAppend(&text, "search stopped: ", result.stopped_because, "\n");
  }
  if (result.limited_by == Limit::kGenerator) {
    absl::StrAppend(&text,
                    "note: the load generator, not the store, set this "
                    "limit; the store's own limit is higher (more agents or "
                    "cores)\n");
  }
  return text;
}

}  // namespace loadtest::report
