#include "report/aggregator.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>
#include <string>

#include "report/display.h"
#include "report/json_report.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

// A final update's audit acknowledges `total_writes`: every write of the
// agent's updates (its last one's `writes` when -1), as a real agent's does.
protocol::IntervalUpdate Update(int64_t sequence, int64_t writes, int64_t base_ns,
                             bool final = false, int64_t total_writes = -1) {
  protocol::IntervalUpdate u;
  u.sequence = sequence;
  u.start_s = static_cast<double>(sequence - 1);
  u.end_s = static_cast<double>(sequence);
  u.stats.counters.writes_ok = writes;
  u.stats.counters.reads_ok = writes / 10;
  for (int64_t i = 0; i < writes; ++i) u.stats.write_latency.Record(base_ns + i);
  u.queue_size = 1000;
  u.peak_queue_depth = static_cast<int>(writes / 10);
  u.batches = writes / 10;
  u.rows_committed = writes;
  u.final = final;
  if (final) {
    protocol::RunAudit audit;
    audit.acknowledged = total_writes >= 0 ? total_writes : writes;
    audit.rows_in_db = audit.acknowledged;
    audit.integrity_ok = true;
    audit.integrity_message = "ok";
    u.audit = audit;
    u.stop_reason = "duration reached";
  }
  return u;
}

TEST(AggregatorTest, EmitsARowOnlyWhenEveryAgentReportedTheInterval) {
  Aggregator aggregator({"a", "b"});
  EXPECT_TRUE(aggregator.Add("a", Update(1, 100, 1000)).empty());
  EXPECT_TRUE(aggregator.Add("a", Update(2, 100, 1000)).empty());
  auto rows = aggregator.Add("b", Update(1, 50, 1000));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sequence, 1);
  ASSERT_EQ(rows[0].agents.size(), 2u);
  EXPECT_EQ(rows[0].agents[0].agent_id, "a");
  EXPECT_EQ(rows[0].total.counters.writes_ok, 150);
  rows = aggregator.Add("b", Update(2, 50, 1000));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sequence, 2);
}

TEST(AggregatorTest, JudgesEachAgentsAndTheTotalsHealthAndDiagnoses) {
  DiagnosisSettings settings;
  settings.writers = 10;
  settings.batch_size = 100;
  settings.queue_size = 1000;
  Aggregator aggregator({"a", "b"}, settings);
  std::vector<IntervalRow> rows;
  for (int64_t seq = 1; seq <= 3; ++seq) {
    protocol::IntervalUpdate b = Update(seq, 100, 1000);
    if (seq == 3) {
      b.stats.counters.queue_full = 7;  // b's third interval: overloaded.
      b.peak_queue_depth = 1000;
    }
    aggregator.Add("a", Update(seq, 100, 1000));
    for (IntervalRow& row : aggregator.Add("b", b)) rows.push_back(row);
  }
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].agents[1].health.state, stats::HealthState::kHealthy);
  EXPECT_EQ(rows[2].agents[0].health.state, stats::HealthState::kHealthy);
  EXPECT_EQ(rows[2].agents[1].health.state, stats::HealthState::kOverloaded);
  EXPECT_EQ(rows[2].total_health.state, stats::HealthState::kOverloaded);
  const RunSummary summary = aggregator.Summary();
  EXPECT_EQ(summary.health.intervals[0], 2);  // Healthy.
  EXPECT_EQ(summary.health.intervals[2], 1);  // Overloaded.
  EXPECT_EQ(summary.agents[0].health.intervals[0], 3);
  EXPECT_EQ(summary.agents[1].health.intervals[2], 1);
  ASSERT_EQ(summary.diagnosis.size(), 1u);
  EXPECT_EQ(summary.diagnosis[0].id, "queue_full");
  EXPECT_EQ(summary.diagnosis[0].agents, std::vector<std::string>{"b"});
  EXPECT_EQ(summary.diagnosis[0].first_interval, 3);
}

TEST(AggregatorTest, TotalPercentilesComeFromTheMergedHistogram) {
  // Agent a: 900 fast writes (~1 µs); agent b: 100 slow ones (~1 ms). The
  // true p95 of all 1000 writes is slow; an average of the two agents' p95
  // would be about 0.5 ms, which no write took.
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 900, 1000));
  auto rows = aggregator.Add("b", Update(1, 100, 1000000));
  ASSERT_EQ(rows.size(), 1u);
  const int64_t p95 = rows[0].total.write_latency.Quantile(0.95);
  EXPECT_GE(p95, 1000000 * 99 / 100);
  EXPECT_LE(p95, 1000100 * 101 / 100);
  const int64_t p50 = rows[0].total.write_latency.Quantile(0.50);
  EXPECT_LE(p50, 2000);
}

TEST(AggregatorTest, MergedP99EqualsThePooledSamplesP99) {
  // Three agents with different latency profiles; the total's p99 must be
  // the p99 of all their samples pooled, within the histogram's 1%.
  std::mt19937_64 rng(11);
  std::vector<int64_t> pooled;
  Aggregator aggregator({"a", "b", "c"});
  std::vector<IntervalRow> rows;
  const double medians_ms[] = {0.5, 3.0, 40.0};
  const char* ids[] = {"a", "b", "c"};
  for (int agent = 0; agent < 3; ++agent) {
    std::lognormal_distribution<double> latency(std::log(medians_ms[agent] * 1e6), 0.8);
    protocol::IntervalUpdate u;
    u.sequence = 1;
    u.end_s = 1;
    for (int i = 0; i < 20000 * (agent + 1); ++i) {
      const int64_t ns = static_cast<int64_t>(latency(rng));
      u.stats.write_latency.Record(ns);
      pooled.push_back(ns);
    }
    u.stats.counters.writes_ok = static_cast<int64_t>(u.stats.write_latency.count());
    for (IntervalRow& row : aggregator.Add(ids[agent], u)) rows.push_back(row);
  }
  ASSERT_EQ(rows.size(), 1u);
  std::sort(pooled.begin(), pooled.end());
  for (double q : {0.5, 0.95, 0.99, 0.999}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * pooled.size())) - 1;
    const double exact = static_cast<double>(pooled[rank]);
    const double merged = static_cast<double>(rows[0].total.write_latency.Quantile(q));
    EXPECT_NEAR(merged, exact, exact * 0.01) << "q=" << q;
  }
}

TEST(AggregatorTest, SummaryAddsCountersAndAuditsAcrossAgents) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 100, 1000));
  aggregator.Add("b", Update(1, 200, 1000));
  aggregator.Add("a", Update(2, 10, 1000, true, /*total_writes=*/110));
  auto rows = aggregator.Add("b", Update(2, 20, 1000, true, /*total_writes=*/220));
  ASSERT_EQ(rows.size(), 1u);
  const RunSummary s = aggregator.Summary();
  EXPECT_FALSE(s.partial);
  EXPECT_EQ(s.total.counters.writes_ok, 330);
  EXPECT_EQ(s.total.write_latency.count(), 330u);
  EXPECT_DOUBLE_EQ(s.seconds, 2.0);
  EXPECT_DOUBLE_EQ(s.total.writes_per_s(), 165.0);
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.agents[0].figures.counters.writes_ok, 110);
  EXPECT_EQ(s.agents[1].figures.counters.writes_ok, 220);
  EXPECT_EQ(s.audit.acknowledged, 330);
  EXPECT_EQ(s.audit.rows_in_db, 330);
  EXPECT_TRUE(s.audit.passed());
}

TEST(AggregatorTest, AnAgentWithoutFinalUpdateMakesTheSummaryPartial) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 100, 1000, true));
  aggregator.Add("b", Update(1, 100, 1000));
  const RunSummary s = aggregator.Summary();
  EXPECT_TRUE(s.partial);
  EXPECT_FALSE(s.audit.passed());  // b never audited.
}

TEST(AggregatorTest, AFinishedAgentDoesNotHoldBackLaterRows) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10, 1000, true));  // a ends after one interval.
  auto rows = aggregator.Add("b", Update(1, 10, 1000));
  ASSERT_EQ(rows.size(), 1u);
  rows = aggregator.Add("b", Update(2, 10, 1000, true));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].agents.size(), 1u);
  EXPECT_EQ(rows[0].agents[0].agent_id, "b");
}

TEST(AggregatorTest, MergingIsIndependentOfArrivalOrder) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, protocol::IntervalUpdate>> updates;
  for (const char* id : {"a", "b", "c"}) {
    for (int seq = 1; seq <= 3; ++seq) {
      updates.emplace_back(id, Update(seq, 20 + rng() % 50, 1000 + rng() % 100000,
                                      seq == 3));
    }
  }
  Aggregator in_order({"a", "b", "c"});
  for (const auto& [id, u] : updates) in_order.Add(id, u);
  // Same updates, agents interleaved differently (each agent's own order kept).
  Aggregator interleaved({"a", "b", "c"});
  for (int seq = 1; seq <= 3; ++seq) {
    for (int agent = 2; agent >= 0; --agent) {
      const auto& [id, u] = updates[agent * 3 + (seq - 1)];
      interleaved.Add(id, u);
    }
  }
  const RunSummary x = in_order.Summary(), y = interleaved.Summary();
  EXPECT_EQ(x.total.counters.writes_ok, y.total.counters.writes_ok);
  EXPECT_EQ(x.total.write_latency.ToSparse(), y.total.write_latency.ToSparse());
  EXPECT_EQ(x.total.write_latency.Quantile(0.99), y.total.write_latency.Quantile(0.99));
}

// An update of `Update` with the agent process at `cpu_fraction` of its two
// cores, and its store's WAL at `wal_bytes` with `blocked` checkpoints.
protocol::IntervalUpdate WithInternals(int64_t sequence, double cpu_fraction,
                                       int64_t wal_bytes = 1 << 20,
                                       int64_t blocked = 0,
                                       bool final = false) {
  protocol::IntervalUpdate u = Update(sequence, 100, 1000000, final);
  protocol::ProcessFigures p;
  p.wall_seconds = 1;
  p.usable_cores = 2;
  p.cpu_seconds = 2 * cpu_fraction;
  p.threads = 30;
  u.process = p;
  storage::StoreInternals s;
  s.wal_restart_bytes = 32 << 20;
  s.wal_bytes_max = wal_bytes;
  s.checkpoints = 2;
  s.checkpoints_blocked = blocked;
  s.commit_latency.Record(400000);
  u.store = s;
  return u;
}

TEST(AggregatorValidityTest, NamesTheAgentAndIntervalsLimitedByTheGenerator) {
  Aggregator agg({"a1", "a2"});
  for (int64_t seq = 1; seq <= 5; ++seq) {
    const bool final = seq == 5;
    agg.Add("a1", WithInternals(seq, seq == 1 ? 0.5 : 0.99, 1 << 20, 0, final));
    agg.Add("a2", WithInternals(seq, 0.2, 1 << 20, 0, final));
  }
  const RunSummary summary = agg.Summary();
  EXPECT_EQ(summary.agents[0].figures.generator_bound_intervals, 4);
  EXPECT_EQ(summary.agents[0].figures.intervals, 5);
  EXPECT_EQ(summary.agents[1].figures.generator_bound_intervals, 0);
  EXPECT_EQ(summary.total.generator_bound_intervals, 4);
  ASSERT_EQ(summary.warnings.size(), 1u);
  EXPECT_EQ(summary.warnings[0],
            "agent a1: 4 of 5 intervals limited by the load generator (CPU "
            "99% of 2 cores), not by the store: their latencies include "
            "waiting for the generator");
  // The run's process figures per agent: CPU over the whole run.
  ASSERT_TRUE(summary.agents[0].figures.process.has_value());
  EXPECT_NEAR(summary.agents[0].figures.process->cpu_fraction(),
              (0.5 + 4 * 0.99) / 5, 1e-9);
  // Store figures add over time: 5 intervals of one COMMIT each.
  ASSERT_TRUE(summary.agents[0].figures.store.has_value());
  EXPECT_EQ(summary.agents[0].figures.store->commit_latency.count(), 5u);
  EXPECT_EQ(summary.agents[0].figures.store->checkpoints, 10);
  EXPECT_EQ(summary.total.store->checkpoints, 20);

  const nlohmann::json report = RunReportJson(
      Scenario(), std::vector<IntervalRow>(), summary, {});
  const nlohmann::json& a1 = report["summary"]["agents"][0];
  EXPECT_EQ(a1["generator_bound_intervals"], 4);
  EXPECT_EQ(a1["generator_bound"], "CPU 99% of 2 cores");
  EXPECT_EQ(a1["store"]["commit_ms"]["count"], 5);
  EXPECT_EQ(a1["store"]["checkpoints"], 10);
  EXPECT_EQ(a1["process"]["threads"], 30);
  EXPECT_TRUE(report["summary"]["agents"][1]["generator_bound"].is_null());
  EXPECT_EQ(report["summary"]["warnings"][0], summary.warnings[0]);
}

TEST(AggregatorValidityTest, EachIntervalRowSaysWhichAgentWasBound) {
  Aggregator agg({"a1", "a2"});
  agg.Add("a1", WithInternals(1, 0.95));
  const std::vector<IntervalRow> rows = agg.Add("a2", WithInternals(1, 0.1));
  ASSERT_EQ(rows.size(), 1u);
  const nlohmann::json row = IntervalRowJson(rows[0], /*with_agents=*/true);
  EXPECT_EQ(row["agents"][0]["generator_bound"], "CPU 95% of 2 cores");
  EXPECT_TRUE(row["agents"][1]["generator_bound"].is_null());
  EXPECT_EQ(row["total"]["generator_bound_intervals"], 1);
  EXPECT_EQ(row["agents"][0]["store"]["wal_bytes_max"], 1 << 20);
}

TEST(AggregatorValidityTest, CheckpointStarvationIsAWarningOfItsOwn) {
  Aggregator agg({"a1"});
  agg.Add("a1", WithInternals(1, 0.1));
  agg.Add("a1", WithInternals(2, 0.1, 96 << 20, 12));
  agg.Add("a1", WithInternals(3, 0.1, 1 << 20, 0, true));
  const RunSummary summary = agg.Summary();
  EXPECT_EQ(summary.agents[0].figures.generator_bound_intervals, 0);
  EXPECT_EQ(summary.agents[0].figures.starved_intervals, 1);
  ASSERT_EQ(summary.warnings.size(), 1u);
  EXPECT_EQ(summary.warnings[0],
            "agent a1: checkpoint starvation in 1 of 3 intervals: the WAL "
            "reached 96.0 MiB, 3.0x its 32.0 MiB restart point; 12 "
            "checkpoints blocked by a reader's old snapshot (a reader "
            "holding a read transaction open keeps the WAL from starting "
            "over)");
  EXPECT_EQ(summary.agents[0].figures.store->wal_bytes_max, 96 << 20);
}

TEST(AggregatorValidityTest, AgentsThatSendNoInternalsHaveNone) {
  Aggregator agg({"a1"});
  agg.Add("a1", Update(1, 10, 1000, true));
  const RunSummary summary = agg.Summary();
  EXPECT_FALSE(summary.agents[0].figures.store.has_value());
  EXPECT_FALSE(summary.agents[0].figures.process.has_value());
  EXPECT_TRUE(summary.warnings.empty());
  const nlohmann::json figures = FiguresJson(summary.agents[0].figures);
  EXPECT_FALSE(figures.contains("store"));
  EXPECT_FALSE(figures.contains("process"));
  EXPECT_EQ(figures["generator_bound_intervals"], 0);
}

TEST(FiguresTest, ErrorRateCountsEveryFailedOperation) {
  Figures f;
  f.counters.writes_ok = 90;
  f.counters.write_errors = 2;
  f.counters.write_timeouts = 3;
  f.counters.queue_full = 4;
  f.counters.reads_ok = 0;
  f.counters.read_errors = 1;
  EXPECT_DOUBLE_EQ(f.error_rate(), 10.0 / 100.0);
  EXPECT_DOUBLE_EQ(Figures().error_rate(), 0.0);
}

// A lost agent: rows go on without it, what it reported stays, the summary
// says partial and why.
TEST(AggregatorLostTest, LosingTheLaggingAgentReleasesTheRowsItHeldBack) {
  Aggregator aggregator({"a", "b"});
  EXPECT_TRUE(aggregator.Add("a", Update(1, 10, 1000)).empty());
  EXPECT_TRUE(aggregator.Add("a", Update(2, 10, 1000)).empty());
  const auto rows = aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sequence, 1);
  EXPECT_EQ(rows[1].sequence, 2);
  ASSERT_EQ(rows[0].agents.size(), 1u);
  EXPECT_EQ(rows[0].agents[0].agent_id, "a");
  EXPECT_EQ(rows[0].total.counters.writes_ok, 10);
}

TEST(AggregatorLostTest, LaterRowsNoLongerWaitForALostAgent) {
  Aggregator aggregator({"a", "b", "c"});
  aggregator.Add("a", Update(1, 10, 1000));
  aggregator.Add("b", Update(1, 20, 1000));
  ASSERT_EQ(aggregator.Add("c", Update(1, 30, 1000)).size(), 1u);
  EXPECT_TRUE(aggregator.MarkLost("c", "no update for 12.0s").empty());
  EXPECT_TRUE(aggregator.Add("a", Update(2, 10, 1000)).empty());
  const auto rows = aggregator.Add("b", Update(2, 20, 1000));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].agents.size(), 2u);
  EXPECT_EQ(rows[0].total.counters.writes_ok, 30);
}

TEST(AggregatorLostTest, KeepsTheLostAgentsFiguresAndMarksTheSummaryPartial) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10, 1000));
  aggregator.Add("b", Update(1, 20, 1000));
  aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  aggregator.Add("a", Update(2, 10, 1000, /*final=*/true, /*total_writes=*/20));
  const RunSummary s = aggregator.Summary();
  EXPECT_TRUE(s.partial);
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_FALSE(s.agents[0].lost);
  EXPECT_TRUE(s.agents[0].finished);
  EXPECT_TRUE(s.agents[1].lost);
  EXPECT_FALSE(s.agents[1].finished);
  EXPECT_EQ(s.agents[1].lost_reason, "UNAVAILABLE: Socket closed");
  EXPECT_EQ(s.agents[1].figures.counters.writes_ok, 20);
  EXPECT_FALSE(s.agents[1].audit.has_value());
  EXPECT_EQ(s.total.counters.writes_ok, 40);
  // The audit covers the agent that finished; the lost one is not counted
  // as a failure of the store.
  EXPECT_EQ(s.audit.acknowledged, 20);  // a's audit alone.
  EXPECT_TRUE(s.audit.passed());
}

TEST(AggregatorLostTest, IgnoresUpdatesOfALostAgent) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("b", Update(1, 20, 1000));
  aggregator.MarkLost("b", "no update for 12.0s");
  aggregator.Add("b", Update(2, 20, 1000));  // Arrived after the watchdog gave up.
  aggregator.Add("a", Update(1, 10, 1000, /*final=*/true));
  const RunSummary s = aggregator.Summary();
  EXPECT_EQ(s.agents[1].figures.counters.writes_ok, 20);
  EXPECT_EQ(s.agents[1].lost_reason, "no update for 12.0s");
}

TEST(AggregatorLostTest, FinishedOrUnknownAgentsCannotBeLost) {
  Aggregator aggregator({"a"});
  aggregator.Add("a", Update(1, 10, 1000, /*final=*/true));
  EXPECT_TRUE(aggregator.MarkLost("a", "late").empty());
  EXPECT_TRUE(aggregator.MarkLost("zz", "unknown").empty());
  const RunSummary s = aggregator.Summary();
  EXPECT_FALSE(s.partial);
  EXPECT_FALSE(s.agents[0].lost);
  EXPECT_TRUE(s.agents[0].lost_reason.empty());
}

TEST(AggregatorLostTest, LosingEveryAgentLeavesNothingAudited) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10, 1000));
  aggregator.MarkLost("a", "x");
  aggregator.MarkLost("b", "y");
  const RunSummary s = aggregator.Summary();
  EXPECT_TRUE(s.partial);
  EXPECT_FALSE(s.audit.passed());
  EXPECT_EQ(s.total.counters.writes_ok, 10);
}

TEST(AggregatorLostTest, ReportCarriesLostAgentsPartialAndTheManifest) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10, 1000, /*final=*/true));
  auto rows = aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  const RunSummary summary = aggregator.Summary();
  nlohmann::json j = RunReportJson(Scenario(), rows, summary,
                                   CheckGuideTargets(summary.total));
  AddAgentManifest("run-1",
                   {{"a", "10.0.0.7:7070", "0.1.0", "h7", 8080},
                    {"b", "10.0.0.8:7070", "0.1.0", "h8", 8080}},
                   &j);
  EXPECT_EQ(j["summary"]["partial"], true);
  EXPECT_EQ(j["summary"]["agents"][0]["lost"], false);
  EXPECT_EQ(j["summary"]["agents"][1]["lost"], true);
  EXPECT_EQ(j["summary"]["agents"][1]["lost_reason"],
            "UNAVAILABLE: Socket closed");
  EXPECT_EQ(j["run_id"], "run-1");
  ASSERT_EQ(j["agents"].size(), 2u);
  EXPECT_EQ(j["agents"][1]["agent_id"], "b");
  EXPECT_EQ(j["agents"][1]["target"], "10.0.0.8:7070");
  EXPECT_EQ(j["agents"][1]["version"], "0.1.0");
}

}  // namespace
}  // namespace loadtest::report

namespace loadtest::report {
namespace {

// Issue 30, item 10: the verdict trusted the agent's own lost/unexplained.
TEST(AuditCheckTest, AnAuditWhoseCountsGiveLostRowsFailsWhateverItClaims) {
  Aggregator aggregator({"a"});
  aggregator.Add("a", Update(1, 200, 1000));
  protocol::IntervalUpdate last = Update(2, 100, 1000, /*final=*/true);
  last.audit->acknowledged = 300;
  last.audit->rows_in_db = 295;
  last.audit->lost = 0;  // The lie.
  aggregator.Add("a", last);
  const RunSummary s = aggregator.Summary();
  EXPECT_FALSE(s.audit.passed());
  EXPECT_EQ(s.audit.lost, 5);
  EXPECT_NE(s.audit.error.find("lost 0"), std::string::npos) << s.audit.error;
  EXPECT_NE(s.audit.error.find("gives lost 5"), std::string::npos)
      << s.audit.error;
}

TEST(AuditCheckTest, AnAcknowledgedCountOtherThanTheUpdatesFails) {
  Aggregator aggregator({"a"});
  aggregator.Add("a", Update(1, 200, 1000));
  protocol::IntervalUpdate last = Update(2, 100, 1000, /*final=*/true);
  last.audit->acknowledged = 250;  // The updates acknowledged 300.
  last.audit->rows_in_db = 250;
  aggregator.Add("a", last);
  const RunSummary s = aggregator.Summary();
  EXPECT_FALSE(s.audit.passed());
  EXPECT_NE(s.audit.error.find("250 acknowledged writes, but the agent's "
                               "updates reported 300"),
            std::string::npos)
      << s.audit.error;
}

TEST(AuditCheckTest, LateCommitsMustMatchTheUpdatesToo) {
  Figures figures;
  figures.counters.writes_ok = 10;
  figures.late_commits = 2;
  protocol::RunAudit audit;
  audit.acknowledged = 10;
  audit.late_commits = 2;
  audit.rows_in_db = 12;
  audit.integrity_ok = true;
  EXPECT_TRUE(CheckAudit(audit, figures).passed());
  audit.late_commits = 3;
  audit.rows_in_db = 13;
  const protocol::RunAudit checked = CheckAudit(audit, figures);
  EXPECT_FALSE(checked.passed());
  EXPECT_NE(checked.error.find("3 late commits"), std::string::npos)
      << checked.error;
  // An audit that could not run is kept as the agent said it.
  audit.error = "cannot audit: the file was replaced";
  EXPECT_EQ(CheckAudit(audit, figures).error, audit.error);
}

}  // namespace
}  // namespace loadtest::report
