// The diagnosis's rules (report/diagnosis.h) on synthetic intervals:
// each names its cause and advice, and nothing else is named.
#include "report/diagnosis.h"

#include <string>
#include <vector>

#include "report/aggregator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMs = 1'000'000;

DiagnosisSettings Settings() {
  DiagnosisSettings s;
  s.writers = 10;
  s.readers = 2;
  s.batch_size = 100;
  s.queue_size = 10000;
  s.batch_timeout = std::chrono::milliseconds(10);
  return s;
}

// One agent's quiet second: 1,000 writes at 2 ms, 10 batches, queue 1%.
Figures Quiet() {
  Figures f;
  f.seconds = 1;
  f.intervals = 1;
  f.counters.writes_ok = 1000;
  f.counters.reads_ok = 50;
  for (int i = 0; i < 1000; ++i) f.write_latency.Record(2 * kMs);
  for (int i = 0; i < 50; ++i) f.read_latency.Record(1 * kMs);
  f.batches = 10;
  f.rows_committed = 1000;
  f.peak_queue_depth = 100;
  f.queue_size = 10000;
  storage::StoreInternals st;
  for (int i = 0; i < 10; ++i) st.commit_latency.Record(1 * kMs);
  st.wal_restart_bytes = 32 << 20;
  st.wal_bytes_max = 4 << 20;
  st.writer_cpu_ns = 300 * kMs;
  f.store = st;
  protocol::ProcessFigures p;
  p.wall_seconds = 1;
  p.cpu_seconds = 0.5;
  p.usable_cores = 2;
  p.rss_bytes = 100 << 20;
  f.process = p;
  return f;
}

// Under stress for `reason`, with the rule kind it names.
stats::Health Stress(const std::string& reason) {
  stats::Health h{stats::HealthState::kUnderStress, {reason}};
  h.latency = reason.find("write p95") != std::string::npos;
  h.throughput = reason.find("throughput") != std::string::npos;
  return h;
}

std::vector<std::string> Ids(const std::vector<Finding>& findings) {
  std::vector<std::string> ids;
  for (const Finding& f : findings) ids.push_back(f.id);
  return ids;
}

TEST(DiagnosisTest, QuietHealthyRunHasNoFinding) {
  Diagnoser d(Settings());
  for (int i = 1; i <= 10; ++i) d.Observe("a1", i, i - 1, i, Quiet(), {});
  EXPECT_THAT(d.Findings(), IsEmpty());
}

TEST(DiagnosisTest, QueueFullWithMoreWritersThanSlotsNamesTheQueueSize) {
  DiagnosisSettings s = Settings();
  s.writers = 50;
  s.queue_size = 10;
  s.batch_size = 10;
  Diagnoser d(s);
  Figures f = Quiet();
  f.counters.queue_full = 250;
  f.batches = 200;  // Of 5 rows: under the cap of 10.
  f.peak_queue_depth = 10;
  f.queue_size = 10;
  d.Observe("a1", 3, 2, 3, f, {stats::HealthState::kOverloaded, {"queue full"}});
  d.Observe("a1", 4, 3, 4, f, {stats::HealthState::kOverloaded, {"queue full"}});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("queue_full"));
  const Finding& q = findings[0];
  EXPECT_THAT(q.cause, HasSubstr("more writers (50) than queue slots (10)"));
  EXPECT_THAT(q.advice, Contains("--queue-size=100"));
  EXPECT_THAT(q.evidence, HasSubstr("250 writes refused, queue peak 10 of 10"));
  EXPECT_THAT(q.guide, HasSubstr("Queue Full Errors"));
  EXPECT_EQ(q.first_interval, 3);
  EXPECT_EQ(q.last_interval, 4);
  EXPECT_EQ(q.intervals, 2);
  EXPECT_THAT(q.agents, ElementsAre("a1"));
}

TEST(DiagnosisTest, BatchOfOneWithManyWritersNamesTheBatchSize) {
  DiagnosisSettings s = Settings();
  s.writers = 20;
  s.batch_size = 1;
  Diagnoser d(s);
  Figures f = Quiet();
  f.batches = 1000;  // 1,000 COMMITs of one row each.
  d.Observe("a1", 1, 0, 1, f, {});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("batches_capped"));
  EXPECT_THAT(findings[0].advice, ElementsAre("--batch-size=100"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("1000 COMMITs/s of 1.0 rows"));
  // Batches at the cap but the cap above the writer count: not this rule.
  s.batch_size = 50;
  Diagnoser fine(s);
  f.batches = 20;
  fine.Observe("a1", 1, 0, 1, f, {});
  EXPECT_THAT(fine.Findings(), IsEmpty());
}

TEST(DiagnosisTest, SlowCommitWhenUnhealthyAndCommitP99AtLeast25Ms) {
  DiagnosisSettings s = Settings();
  s.sync_full = true;
  Figures f = Quiet();
  f.store->commit_latency = stats::LatencyHistogram();
  for (int i = 0; i < 10; ++i) f.store->commit_latency.Record(24 * kMs);
  {
    Diagnoser d(s);
    d.Observe("a1", 1, 0, 1, f, Stress("write p95 120 ms"));
    EXPECT_THAT(Ids(d.Findings()), ElementsAre("high_latency"));
  }
  for (int i = 0; i < 10; ++i) f.store->commit_latency.Record(40 * kMs);
  {
    Diagnoser d(s);
    d.Observe("a1", 1, 0, 1, f, Stress("write p95 120 ms"));
    const std::vector<Finding> findings = d.Findings();
    ASSERT_THAT(Ids(findings), ElementsAre("slow_commit"));
    EXPECT_THAT(findings[0].advice, Contains(HasSubstr("--sync=normal")));
    EXPECT_THAT(findings[0].advice, Contains(HasSubstr("check disk I/O")));
  }
  {
    Diagnoser healthy(s);  // The same COMMITs in a healthy interval.
    healthy.Observe("a1", 1, 0, 1, f, {});
    EXPECT_THAT(healthy.Findings(), IsEmpty());
  }
}

TEST(DiagnosisTest, CheckpointStarvationAndCheckpointsBehindAreTold) {
  Figures starved = Quiet();
  starved.starved_intervals = 1;
  starved.starvation_reason = "the WAL reached 70.1 MiB";
  starved.store->wal_bytes_max = 70 << 20;
  Figures behind = Quiet();
  behind.store->wal_bytes_max = 64 << 20;  // 2x the 32 MiB restart point.
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, starved, {});
  d.Observe("a2", 1, 0, 1, behind, {});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("checkpoint_starved", "checkpoints_behind"));
  EXPECT_THAT(findings[0].advice, Contains("--readers=1 (or shorter reads)"));
  EXPECT_THAT(findings[0].agents, ElementsAre("a1"));
  EXPECT_THAT(findings[1].agents, ElementsAre("a2"));
}

TEST(DiagnosisTest, WriterSaturatedAtEightyFivePercentOfACore) {
  Figures f = Quiet();
  f.store->writer_cpu_ns = 840 * kMs;
  {
    Diagnoser d(Settings());
    d.Observe("a1", 1, 0, 1, f, Stress("throughput degraded"));
    EXPECT_THAT(Ids(d.Findings()), ElementsAre("low_throughput"));
  }
  f.store->writer_cpu_ns = 850 * kMs;
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, f, Stress("throughput degraded"));
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("writer_saturated"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("writer thread 85% of a core"));
}

TEST(DiagnosisTest, ReadersCompeteWhenTheyKeepHalfTheCoresBusy) {
  Figures f = Quiet();
  f.process->cpu_seconds = 1.9;  // 95% of 2 cores.
  f.counters.reads_ok = 1000;
  f.read_latency = stats::LatencyHistogram();
  for (int i = 0; i < 1000; ++i) f.read_latency.Record(1 * kMs);  // 1.0 busy.
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, f, Stress("write p95 150 ms"));
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("readers_compete"));
  EXPECT_THAT(findings[0].advice, Contains("--readers=1"));
}

TEST(DiagnosisTest, LingerTimeoutAddsLatencyAtALowRate) {
  DiagnosisSettings s = Settings();
  s.linger = true;
  Figures f = Quiet();
  f.write_latency = stats::LatencyHistogram();
  for (int i = 0; i < 100; ++i) f.write_latency.Record(9 * kMs);
  f.batches = 100;  // Batches of 10 rows, the cap 100.
  Diagnoser d(s);
  d.Observe("a1", 1, 0, 1, f, {});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("batch_timeout_latency"));
  EXPECT_THAT(findings[0].advice, ElementsAre("--batch-timeout=2ms",
                                              "--batch-policy=group"));
}

TEST(DiagnosisTest, GeneratorBoundIsNamedAsTheGenerator) {
  Figures f = Quiet();
  f.generator_bound_intervals = 1;
  f.generator_bound_reason = "CPU 99% of 2 cores";
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, f, {stats::HealthState::kGeneratorBound, {"CPU"}});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("generator_bound"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("CPU 99% of 2 cores"));
}

TEST(DiagnosisTest, MemoryGrowthOfHalfAndAtLeast64MiB) {
  Diagnoser d(Settings());
  Figures f = Quiet();
  f.process->rss_bytes = 100 << 20;
  d.Observe("a1", 1, 0, 1, f, {});
  f.process->rss_bytes = 149 << 20;  // +49%.
  d.Observe("a1", 2, 1, 2, f, {});
  EXPECT_THAT(d.Findings(), IsEmpty());
  f.process->rss_bytes = 170 << 20;  // +70%, 70 MiB.
  d.Observe("a1", 3, 2, 3, f, {});
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("memory_growth"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("RSS 100 MiB in interval 1, 170 MiB in interval 3"));
}

TEST(DiagnosisTest, OneFindingPerRuleAcrossAgentsWithTheWorstEvidence) {
  DiagnosisSettings s = Settings();
  Diagnoser d(s);
  Figures small = Quiet();
  small.counters.queue_full = 5;
  Figures large = Quiet();
  large.counters.queue_full = 500;
  const stats::Health overloaded{stats::HealthState::kOverloaded, {"queue full"}};
  d.Observe("a1", 2, 1, 2, small, overloaded);
  d.Observe("a2", 2, 1, 2, large, overloaded);
  d.Observe("a1", 5, 4, 5, small, overloaded);
  const std::vector<Finding> findings = d.Findings();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_THAT(findings[0].agents, ElementsAre("a1", "a2"));
  EXPECT_EQ(findings[0].first_interval, 2);
  EXPECT_EQ(findings[0].last_interval, 5);
  EXPECT_EQ(findings[0].intervals, 3);
  EXPECT_THAT(findings[0].evidence, HasSubstr("agent a2, interval 2"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("500 writes refused"));
}

TEST(DiagnosisTest, SlowCommitEvidenceCarriesTheFsyncsAndTheDisk) {
  Figures f = Quiet();
  f.store->commit_latency = stats::LatencyHistogram();
  for (int i = 0; i < 10; ++i) f.store->commit_latency.Record(200 * kMs);
  f.store->fsyncs = 20;
  f.store->fsync_ns = 20 * 100 * kMs;
  protocol::HostFigures h;
  h.wall_seconds = 1;
  h.cpus = 2;
  h.cpu_idle_seconds = 2;
  h.disk_device = "vda";
  h.disk_busy_seconds = 0.9;
  h.disk_requests = 100;
  h.disk_request_seconds = 4;
  f.host = h;
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, f, Stress("write p95 200 ms"));
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("slow_commit"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("20 fsyncs of 100.0 ms on average"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("disk vda 90% busy, await 40.0 ms"));
}

TEST(DiagnosisTest, HostCpuTakenByStealOrOtherProcesses) {
  Figures f = Quiet();  // The agent: 0.5 CPU-seconds in 1 s.
  protocol::HostFigures h;
  h.wall_seconds = 1;
  h.cpus = 2;
  h.cpu_user_seconds = 0.9;  // 0.9 + 0.0 of 2 CPUs busy: 0.4 not the agent's.
  h.cpu_idle_seconds = 1.1;
  f.host = h;
  {
    Diagnoser d(Settings());
    d.Observe("a1", 1, 0, 1, f, Stress("write p95 150 ms"));
    EXPECT_THAT(Ids(d.Findings()), ElementsAre("high_latency"));
  }
  f.host->cpu_user_seconds = 1.0;  // Others 0.5 cores.
  f.host->cpu_idle_seconds = 1.0;
  {
    Diagnoser d(Settings());
    d.Observe("a1", 1, 0, 1, f, Stress("write p95 150 ms"));
    const std::vector<Finding> findings = d.Findings();
    ASSERT_THAT(Ids(findings), ElementsAre("host_cpu_contended"));
    EXPECT_THAT(findings[0].cause, HasSubstr("other processes"));
  }
  f.host->cpu_user_seconds = 0.5;
  f.host->cpu_steal_seconds = 0.3;  // 15% of 2 CPU-seconds.
  f.host->cpu_idle_seconds = 1.2;
  Diagnoser d(Settings());
  d.Observe("a1", 1, 0, 1, f, Stress("write p95 150 ms"));
  const std::vector<Finding> findings = d.Findings();
  ASSERT_THAT(Ids(findings), ElementsAre("host_cpu_contended"));
  EXPECT_THAT(findings[0].cause, HasSubstr("steal"));
  EXPECT_THAT(findings[0].evidence, HasSubstr("host CPU steal 15%"));
}

TEST(DiagnosisTest, SettingsComeFromTheRunSpec) {
  protocol::RunSpec spec;
  spec.workload.writers = 7;
  spec.workload.readers = 3;
  spec.workload.write_rate = 100;
  spec.store.batch_size = 40;
  spec.store.queue_size = 400;
  spec.store.sync = storage::SyncMode::kFull;
  spec.store.batch_policy = storage::BatchPolicy::kLinger;
  const DiagnosisSettings s = DiagnosisSettingsOf(spec);
  EXPECT_EQ(s.writers, 7);
  EXPECT_EQ(s.readers, 3);
  EXPECT_EQ(s.batch_size, 40);
  EXPECT_EQ(s.queue_size, 400);
  EXPECT_TRUE(s.sync_full);
  EXPECT_TRUE(s.linger);
  EXPECT_TRUE(s.open_loop);
}

}  // namespace
}  // namespace loadtest::report
