// The validity verdicts of a run, end to end through the real `loadtest`
// (its in-process agent): a reader storm that saturates the load generator
// is flagged as such, a light run is not, and a reader holding a read
// transaction open starves the WAL of checkpoints and is warned about.
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::Describe;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WaitUntil;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitSigint = 130;

// `loadtest` with `args`, on two CPUs when the machine has more (taskset),
// so that "2,000 readers on 2 cores" holds wherever the test runs.
std::vector<std::string> OnTwoCores(const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  const std::string taskset = FindProgram("taskset");
  if (std::thread::hardware_concurrency() > 2 && !taskset.empty()) {
    argv = {taskset, "-c", "0,1"};
  }
  argv.push_back(LOADTEST_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<json> IntervalLines(const std::string& path) {
  std::vector<json> lines;
  const std::string text = ReadFile(path);
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    if (!line.empty()) lines.push_back(json::parse(line));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// Every finding other than `expected` is backed by the run's own figures:
// a finding the figures do not show fails. (checkpoints_behind: the WAL
// reached twice its restart point; host_cpu_contended: other processes
// used half a core, or steal a tenth of the CPU time, in some interval (the
// test suite runs tests side by side); slow_commit: an interval's COMMIT p99
// reached 25 ms. A fast writer of tiny batches appends WAL frames faster
// than checkpoints copy them, or than the disk takes them, on some
// machines.)
void ExpectOnlyBackedFindings(const json& report, const std::string& expected) {
  const json& store = report["summary"]["total"]["store"];
  for (const json& f : report["summary"]["diagnosis"]) {
    const std::string id = f["id"];
    if (id == expected) continue;
    if (id == "checkpoints_behind") {
      EXPECT_GE(store["wal_bytes_max"].get<int64_t>(),
                2 * store["wal_restart_bytes"].get<int64_t>());
      continue;
    }
    if (id == "host_cpu_contended") {  // Tests run side by side on the host.
      double most = 0;  // Steal, or cores used by others, in CPUs.
      for (const json& line : IntervalLines(report["intervals_file"])) {
        const json& host = line["host"];
        const double cpus = host["cpus"].get<double>();
        const double own = line["process"]["cpu_seconds"].get<double>() /
                           line["process"]["seconds"].get<double>();
        const double others =
            (host["cpu"]["user"].get<double>() + host["cpu"]["system"].get<double>()) *
                cpus - own;
        most = std::max({most, others / 0.5, host["cpu"]["steal"].get<double>() / 0.1});
      }
      EXPECT_GE(most, 0.9) << f.dump(2);  // The rule's span is the host's.
      continue;
    }
    if (id == "generator_bound") {  // Shared cores (tests run side by side).
      EXPECT_GE(report["summary"]["total"]["generator_bound_intervals"].get<int64_t>(), 1);
      continue;
    }
    if (id == "writer_saturated") {  // Some interval's writer at 85% of a core.
      double busiest = 0;
      for (const json& line : IntervalLines(report["intervals_file"])) {
        busiest = std::max(busiest, line["store"]["writer_cpu_seconds"].get<double>() /
                                        line["seconds"].get<double>());
      }
      EXPECT_GE(busiest, 0.85) << f.dump(2);
      continue;
    }
    if (id == "slow_commit") {  // Some interval's COMMIT p99 at 25 ms or more.
      double slowest = 0;
      for (const json& line : IntervalLines(report["intervals_file"])) {
        slowest = std::max(slowest, line["store"]["commit_ms"]["p99"].get<double>());
      }
      EXPECT_GE(slowest, 25.0) << f.dump(2);
      continue;
    }
    ADD_FAILURE() << "unexpected finding " << f.dump(2);
  }
}

// The ids of the report's diagnosis findings, in order.
std::vector<std::string> FindingIds(const json& report) {
  std::vector<std::string> ids;
  for (const json& f : report["summary"]["diagnosis"]) ids.push_back(f["id"]);
  return ids;
}

// The findings' ids of a report, and the health state of each interval's
// total and of each agent's interval (the lines file), in order.
std::vector<std::string> AgentStates(const json& report) {
  std::vector<std::string> states;
  for (const json& line : IntervalLines(report["intervals_file"])) {
    states.push_back(line["health"]["state"]);
  }
  return states;
}

TEST(ValidityE2eTest, AReaderStormOnTwoCoresIsLimitedByTheLoadGenerator) {
  TempDir dir;
  const std::string out = dir.File("storm.json");
  const ProcessResult r = RunAndWait(OnTwoCores(
      {"-db=" + dir.File("storm.db"), "-writers=50", "-readers=2000",
       "-duration=5s", "-log-interval=1s", "-metrics-port=0", "--out=" + out}));
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const json& agent = report["summary"]["agents"][0];
  EXPECT_GE(agent["generator_bound_intervals"].get<int64_t>(), 1) << agent.dump();
  // Its CPU share, or (with other work on the same cores, as when the test
  // suite runs tests side by side) its threads queueing for a CPU.
  EXPECT_THAT(agent["generator_bound"].get<std::string>(),
              AnyOf(HasSubstr("CPU "), HasSubstr("threads waited for its")));
  EXPECT_GE(agent["process"]["threads"].get<int64_t>(), 2050);
  ASSERT_FALSE(report["summary"]["warnings"].empty());
  const std::string warning = report["summary"]["warnings"][0];
  EXPECT_THAT(warning, HasSubstr("intervals limited by the load generator ("));
  EXPECT_THAT(warning, HasSubstr("not by the store"));
  EXPECT_THAT(r.stdout_text, HasSubstr("WARNING: agent "));
  // The health state says whose limit it was, and so does the diagnosis.
  EXPECT_THAT(AgentStates(report), ::testing::Contains("generator_bound"));
  EXPECT_THAT(FindingIds(report), ::testing::Contains("generator_bound"));
  EXPECT_THAT(r.stdout_text, HasSubstr("the load generator, not the store, was the limit"));
}

TEST(ValidityE2eTest, ALightRunIsNotAndPassesAGeneratorBoundThreshold) {
  TempDir dir;
  const std::string out = dir.File("light.json");
  const ProcessResult r = RunAndWait(OnTwoCores(
      {"-db=" + dir.File("light.db"), "-writers=2", "-readers=1",
       "-write-delay=10ms", "-read-delay=10ms", "-duration=3s",
       "-log-interval=1s", "-metrics-port=0", "--threshold=generator_bound==0",
       "--out=" + out}));
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const json& agent = report["summary"]["agents"][0];
  EXPECT_EQ(agent["generator_bound_intervals"], 0) << agent.dump();
  EXPECT_GE(agent["intervals"].get<int64_t>(), 3);
  EXPECT_TRUE(report["summary"]["warnings"].empty());
  EXPECT_LT(agent["process"]["cpu_fraction"].get<double>(), 0.9);
  // The store's figures of a run of known shape: every batch one COMMIT.
  EXPECT_EQ(agent["store"]["commit_ms"]["count"], agent["batches"]);
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("WARNING")));
  // Healthy in every interval, and nothing to diagnose.
  for (const std::string& state : AgentStates(report)) {
    EXPECT_EQ(state, "healthy");
  }
  EXPECT_EQ(report["summary"]["health"]["healthy"]["intervals"],
            agent["intervals"]);
  EXPECT_THAT(FindingIds(report), ::testing::IsEmpty());
  EXPECT_THAT(r.stdout_text, HasSubstr("Diagnosis: no finding: every interval healthy"));
}

// Opens the run's database as another process would and holds a read
// transaction (a snapshot) until Release().
class HeldSnapshot {
 public:
  // True once the snapshot is held (the store has created its table).
  bool TryHold(const std::string& path) {
    if (db_ == nullptr &&
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) !=
            SQLITE_OK) {
      sqlite3_close(db_);  // SQLite hands out a handle even on failure.
      db_ = nullptr;
      return false;
    }
    return sqlite3_exec(db_, "BEGIN; SELECT count(*) FROM logs;", nullptr,
                        nullptr, nullptr) == SQLITE_OK ||
           (sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr), false);
  }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }
  ~HeldSnapshot() { Release(); }

 private:
  sqlite3* db_ = nullptr;
};

int64_t FileSize(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

TEST(ValidityE2eTest, AReaderHoldingASnapshotStarvesCheckpointsAndIsWarnedAbout) {
  TempDir dir;
  const std::string db = dir.File("held.db");
  const std::string out = dir.File("held.json");
  Subprocess run({LOADTEST_BIN, "-db=" + db, "-readers=1", "-duration=120s",
                  "-log-interval=500ms", "-metrics-port=0", "--out=" + out});
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;

  HeldSnapshot reader;
  ASSERT_TRUE(WaitUntil([&] { return reader.TryHold(db); },
                        std::chrono::seconds(60)))
      << run.stdout_text() << run.stderr_text();
  // The WAL grows past twice its 32 MiB restart point: nothing behind the
  // held snapshot can be checkpointed, so the WAL cannot start over.
  constexpr int64_t kStarved = 80ll << 20;
  ASSERT_TRUE(WaitUntil([&] { return FileSize(db + "-wal") >= kStarved; },
                        std::chrono::seconds(120)))
      << "WAL at " << FileSize(db + "-wal") << " bytes\n"
      << run.stdout_text();
  // And held over three intervals at least, however fast this machine
  // fills the WAL (it can pass 80 MiB within the first 500 ms).
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(run.WaitForLine(::loadtest::testing::IsIntervalLine,
                                std::chrono::seconds(60), nullptr))
        << run.stdout_text();
  }
  reader.Release();

  run.SendSignal(SIGINT);
  ASSERT_EQ(run.Wait(), kExitSigint) << run.stdout_text() << run.stderr_text();
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const json& agent = report["summary"]["agents"][0];
  EXPECT_GE(agent["store"]["wal_bytes_max"].get<int64_t>(), kStarved);
  EXPECT_GT(agent["store"]["checkpoints_blocked"].get<int64_t>(), 0);
  EXPECT_GT(agent["store"]["wal_stuck_ms_max"].get<double>(), 0);
  EXPECT_GE(agent["checkpoint_starved_intervals"].get<int64_t>(), 1);
  bool warned = false;
  for (const json& warning : report["summary"]["warnings"]) {
    warned = warned || warning.get<std::string>().find(
                           "checkpoint starvation") != std::string::npos;
  }
  EXPECT_TRUE(warned) << report["summary"]["warnings"].dump();
  EXPECT_THAT(run.stdout_text(), HasSubstr("checkpoint starvation"));

  // Interval by interval: the WAL grew while checkpoints were blocked.
  int64_t previous = 0, grew = 0, blocked = 0;
  for (const json& line : IntervalLines(report["intervals_file"])) {
    const int64_t wal = line["store"]["wal_bytes_max"];
    grew += wal > previous ? 1 : 0;
    previous = wal;
    blocked += line["store"]["checkpoints_blocked"].get<int64_t>();
  }
  EXPECT_GE(grew, 2);
  EXPECT_EQ(blocked, agent["store"]["checkpoints_blocked"].get<int64_t>());
  // The diagnosis names the cause and the reader as what to change.
  EXPECT_THAT(FindingIds(report), ::testing::Contains("checkpoint_starved"));
  EXPECT_THAT(run.stdout_text(),
              HasSubstr("WAL growing: checkpoints starved by a reader"));
}

// A queue far too small for the writers: every interval overloaded, the
// diagnosis names the queue and its size first, and nothing the figures
// do not show.
TEST(ValidityE2eTest, AQueueTooSmallForTheWritersIsOverloadedAndNamed) {
  TempDir dir;
  const std::string out = dir.File("queue.json");
  const ProcessResult r = RunAndWait(OnTwoCores(
      {"-db=" + dir.File("queue.db"), "-writers=50", "-readers=0",
       "-queue-size=10", "-batch-size=10", "-duration=3s", "-log-interval=1s",
       "-metrics-port=0", "--out=" + out}));
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const std::vector<std::string> states = AgentStates(report);
  ASSERT_EQ(states.size(), 3u);
  for (const std::string& state : states) EXPECT_EQ(state, "overloaded");
  ASSERT_FALSE(FindingIds(report).empty());
  EXPECT_EQ(FindingIds(report)[0], "queue_full");
  ExpectOnlyBackedFindings(report, "queue_full");
  const json& finding = report["summary"]["diagnosis"][0];
  EXPECT_THAT(finding["advice"], ::testing::Contains("--queue-size=100"));
  EXPECT_THAT(finding["cause"].get<std::string>(),
              HasSubstr("more writers (50) than queue slots (10)"));
  EXPECT_THAT(r.stdout_text, HasSubstr("OVERLOAD"));
  EXPECT_THAT(r.stdout_text, HasSubstr("try: --queue-size=100"));
}

// A disk that syncs slowly (every sync of the store's files made 100 ms
// longer: OPENTRAIL_FAULT_SYNC_DELAY_MS) under --sync=full, where every
// COMMIT syncs the WAL: every interval under stress, the slow COMMIT named
// with the fsyncs behind it, and --sync=normal among the advice.
TEST(ValidityE2eTest, ASlowDiskIsNamedAsSlowCommitsWithTheFsyncsBehindThem) {
  TempDir dir;
  const std::string out = dir.File("slow.json");
  std::vector<std::string> argv = {FindProgram("env"),
                                   "OPENTRAIL_FAULT_SYNC_DELAY_MS=100"};
  for (const std::string& arg : OnTwoCores(
           {"-db=" + dir.File("slow.db"), "-writers=10", "-readers=0",
            "--sync=full", "-duration=3s", "-log-interval=1s",
            "-metrics-port=0", "--out=" + out})) {
    argv.push_back(arg);
  }
  const ProcessResult r = RunAndWait(argv);
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("FAULT INJECTED"));
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  for (const std::string& state : AgentStates(report)) {
    EXPECT_EQ(state, "under_stress");
  }
  ASSERT_FALSE(FindingIds(report).empty());
  EXPECT_EQ(FindingIds(report)[0], "slow_commit")
      << report["summary"]["diagnosis"].dump(2);
  ExpectOnlyBackedFindings(report, "slow_commit");
  const json& finding = report["summary"]["diagnosis"][0];
  EXPECT_THAT(finding["evidence"].get<std::string>(), HasSubstr(" fsyncs of "));
  EXPECT_THAT(finding["advice"], ::testing::Contains(HasSubstr("--sync=normal")));
  // The store's own disk figures show it: every fsync at least 100 ms.
  const json& store = report["summary"]["total"]["store"];
  ASSERT_GT(store["fsyncs"].get<int64_t>(), 0);
  EXPECT_GE(store["fsync_ms"].get<double>() / store["fsyncs"].get<double>(), 100.0);
}

// Batches of one row for twenty writers: each write pays for a COMMIT; the
// diagnosis names the batch size, and nothing the figures do not show.
TEST(ValidityE2eTest, BatchesOfOneRowForManyWritersNameTheBatchSize) {
  TempDir dir;
  const std::string out = dir.File("batch.json");
  const ProcessResult r = RunAndWait(OnTwoCores(
      {"-db=" + dir.File("batch.db"), "-writers=20", "-readers=0",
       "-batch-size=1", "-duration=3s", "-log-interval=1s", "-metrics-port=0",
       "--out=" + out}));
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  ASSERT_THAT(FindingIds(report), ::testing::Contains("batches_capped"))
      << report["summary"]["diagnosis"].dump(2);
  ExpectOnlyBackedFindings(report, "batches_capped");
  for (const json& f : report["summary"]["diagnosis"]) {
    if (f["id"] == "batches_capped") {
      EXPECT_THAT(f["advice"], ::testing::ElementsAre("--batch-size=100"));
    }
  }
  EXPECT_THAT(r.stdout_text, HasSubstr("try: --batch-size=100"));
}

}  // namespace
}  // namespace loadtest
