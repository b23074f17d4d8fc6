#include "agent/agent_run.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/agent/test_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::agent {
namespace {

using protocol::RunSpec;
using protocol::IntervalUpdate;
using protocol::RunAudit;

using ::testing::HasSubstr;

RunSpec SmallSpec(const std::string& path) {
  RunSpec spec;
  spec.run_id = "test";
  spec.store.path = path;
  spec.workload.writers = 4;
  spec.workload.readers = 2;
  spec.duration = std::chrono::milliseconds(1200);
  spec.log_interval = std::chrono::milliseconds(300);
  return spec;
}

int64_t CountRows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM logs", -1, &stmt, nullptr);
  int64_t n = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

TEST(AgentRunTest, ReportsEachIntervalThenAFinalUpdateWithAPassingAudit) {
  TestDir dir;
  const RunSpec spec = SmallSpec(dir.path() + "/run.db");
  std::vector<IntervalUpdate> updates;
  AgentRun run(spec, nullptr);
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) { updates.push_back(u); }).ok());

  // 1.2 s in 300 ms intervals: three full ones, the rest in the final one.
  ASSERT_EQ(updates.size(), 4u);
  int64_t writes = 0, rows = 0, late = 0;
  for (size_t i = 0; i < updates.size(); ++i) {
    EXPECT_EQ(updates[i].sequence, static_cast<int64_t>(i + 1));
    EXPECT_EQ(updates[i].final, i + 1 == updates.size());
    if (i > 0) {
      EXPECT_DOUBLE_EQ(updates[i].start_s, updates[i - 1].end_s);
    }
    EXPECT_GT(updates[i].end_s, updates[i].start_s);
    EXPECT_EQ(updates[i].queue_size, spec.store.queue_size);
    writes += updates[i].stats.counters.writes_ok;
    rows += updates[i].rows_committed;
    late += updates[i].late_commits;
  }
  const IntervalUpdate& last = updates.back();
  EXPECT_EQ(last.stop_reason, "duration reached");
  ASSERT_TRUE(last.audit.has_value());
  const RunAudit& audit = *last.audit;
  EXPECT_TRUE(audit.passed()) << audit.error << audit.integrity_message;
  EXPECT_GT(audit.acknowledged, 0);
  EXPECT_EQ(audit.acknowledged, writes);  // Deltas add up to the total.
  EXPECT_EQ(rows, audit.acknowledged + audit.late_commits);
  EXPECT_EQ(audit.rows_in_db, CountRows(spec.store.path));
  EXPECT_EQ(audit.rows_before, 0);
  EXPECT_EQ(audit.lost, 0);
  EXPECT_EQ(audit.integrity_message, "ok");
}

TEST(AgentRunTest, EveryUpdateCarriesTheStoresInternalsAndTheProcess) {
  TestDir dir;
  const RunSpec spec = SmallSpec(dir.path() + "/run.db");
  std::vector<IntervalUpdate> updates;
  AgentRun run(spec, nullptr);
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) { updates.push_back(u); }).ok());
  ASSERT_FALSE(updates.empty());
  int64_t batches = 0;
  uint64_t commits = 0;
  for (const IntervalUpdate& u : updates) {
    SCOPED_TRACE(u.sequence);
    ASSERT_TRUE(u.store.has_value());
    ASSERT_TRUE(u.process.has_value());
    EXPECT_GT(u.process->wall_seconds, 0);
    EXPECT_GE(u.process->threads, 1);
    EXPECT_GT(u.store->db_bytes, 0);
    EXPECT_GT(u.store->wal_restart_bytes, 0);
    batches += u.batches;
    commits += u.store->commit_latency.count();
  }
  // Every committed transaction is one COMMIT sample, interval by interval
  // adding up to the run (the final interval includes the drain).
  EXPECT_GT(batches, 0);
  EXPECT_EQ(commits, static_cast<uint64_t>(batches));
  // Closed loop: nothing is paced, so there is no schedule lag.
  for (const IntervalUpdate& u : updates) {
    EXPECT_EQ(u.stats.schedule_lag.count(), 0u);
  }
}

// synchronous=FULL: every commit syncs the WAL, so the run's fsyncs are at
// least its transactions; every update carries the host and the process's
// I/O, which saw the WAL's writes.
TEST(AgentRunTest, EveryUpdateCarriesTheHostAndEveryCommitItsFsync) {
  TestDir dir;
  RunSpec spec = SmallSpec(dir.path() + "/run.db");
  spec.store.sync = storage::SyncMode::kFull;
  std::vector<IntervalUpdate> updates;
  AgentRun run(spec, nullptr);
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) { updates.push_back(u); }).ok());
  ASSERT_FALSE(updates.empty());
  int64_t batches = 0, fsyncs = 0, fsync_ns = 0, write_chars = 0;
  for (const IntervalUpdate& u : updates) {
    SCOPED_TRACE(u.sequence);
    ASSERT_TRUE(u.store.has_value());
    ASSERT_TRUE(u.process.has_value());
    ASSERT_TRUE(u.host.has_value());
    EXPECT_GT(u.host->wall_seconds, 0);
    EXPECT_GE(u.host->cpus, 1);
    EXPECT_GT(u.host->cpu_user_seconds + u.host->cpu_system_seconds +
                  u.host->cpu_idle_seconds + u.host->cpu_iowait_seconds +
                  u.host->cpu_steal_seconds,
              0);
    // A disk, or the reason there is none.
    EXPECT_NE(u.host->disk_device.empty(), u.host->disk_unavailable.empty());
    batches += u.batches;
    fsyncs += u.store->fsyncs;
    fsync_ns += u.store->fsync_ns;
    write_chars += u.process->write_chars;
  }
  EXPECT_GT(batches, 0);
  EXPECT_GE(fsyncs, batches);
  EXPECT_GT(fsync_ns, 0);
  EXPECT_GT(write_chars, 0);
}

TEST(AgentRunTest, AnOpenLoopRunRecordsOneLagSamplePerPacedOperation) {
  TestDir dir;
  RunSpec spec = SmallSpec(dir.path() + "/run.db");
  spec.workload.write_rate = 200;
  spec.workload.read_rate = 50;
  std::vector<IntervalUpdate> updates;
  AgentRun run(spec, nullptr);
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) { updates.push_back(u); }).ok());
  uint64_t lag_samples = 0;
  int64_t operations = 0;
  for (const IntervalUpdate& u : updates) {
    const stats::IntervalCounters& c = u.stats.counters;
    lag_samples += u.stats.schedule_lag.count();
    operations += c.writes_ok + c.write_errors + c.write_timeouts +
                  c.queue_full + c.reads_ok + c.read_errors;
  }
  EXPECT_GT(lag_samples, 0u);
  EXPECT_EQ(lag_samples, static_cast<uint64_t>(operations));
}

TEST(AgentRunTest, AuditCountsOnlyThisRunsRowsAndKeepsEarlierData) {
  TestDir dir;
  RunSpec spec = SmallSpec(dir.path() + "/run.db");
  spec.duration = std::chrono::milliseconds(300);
  int64_t first_rows = 0;
  {
    AgentRun run(spec, nullptr);
    ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) {
                     if (u.final) first_rows = u.audit->rows_in_db;
                   }).ok());
  }
  ASSERT_GT(first_rows, 0);
  RunAudit second;
  AgentRun run(spec, nullptr);
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) {
                   if (u.final) second = *u.audit;
                 }).ok());
  EXPECT_EQ(second.rows_before, first_rows);
  EXPECT_TRUE(second.passed());
  EXPECT_EQ(CountRows(spec.store.path), first_rows + second.rows_in_db);
}

TEST(AgentRunTest, RequestStopEndsTheRunEarlyAndStillAudits) {
  TestDir dir;
  RunSpec spec = SmallSpec(dir.path() + "/run.db");
  spec.duration = std::chrono::hours(1);
  spec.log_interval = std::chrono::milliseconds(100);
  AgentRun run(spec, nullptr);
  std::vector<IntervalUpdate> updates;
  ASSERT_TRUE(run.Run([&](const IntervalUpdate& u) {
                   updates.push_back(u);
                   if (u.sequence == 2) run.RequestStop("stopped by the test");
                 }).ok());
  ASSERT_EQ(updates.size(), 3u);  // Two intervals, then the final one.
  EXPECT_TRUE(updates.back().final);
  EXPECT_EQ(updates.back().stop_reason, "stopped by the test");
  ASSERT_TRUE(updates.back().audit.has_value());
  EXPECT_TRUE(updates.back().audit->passed());
}

TEST(AgentRunTest, SetupErrorsReturnBeforeAnyUpdate) {
  TestDir dir;
  RunSpec spec = SmallSpec(dir.path() + "/missing/dir/run.db");
  int updates = 0;
  AgentRun run(spec, nullptr);
  absl::Status status = run.Run([&](const IntervalUpdate&) { ++updates; });
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(spec.store.path));
  EXPECT_EQ(updates, 0);

  spec = SmallSpec(dir.path() + "/run.db");
  spec.log_interval = std::chrono::milliseconds(0);
  AgentRun bad(spec, nullptr);
  status = bad.Run([&](const IntervalUpdate&) { ++updates; });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("log-interval must be at least 100ms, got 0s"));
  EXPECT_EQ(updates, 0);
}

}  // namespace
}  // namespace loadtest::agent
