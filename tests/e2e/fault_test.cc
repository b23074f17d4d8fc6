// End-to-end tests of faults a real host sees, with the real `loadtest`
// (and `loadtest-agent`) on real SQLite files. For each: the run reports
// the fault in words, nothing acknowledged is lost (the audit, or the
// database read with SQLite itself), and the exit code is the documented
// one. Steps that need root (a small tmpfs for a full disk, a time
// namespace) skip with a message when not root; as root
// (CI) they must run. Elsewhere: an agent killed with kill -9 mid-run and
// restarted is distributed_test.cc's; bad flags and a non-SQLite file are
// loadtest_cli_test.cc's; a full queue is batched_store_test.cc's.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::Describe;
using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::IntegrityCheck;
using ::loadtest::testing::IsIntervalLine;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitCheckFailed = 2;
constexpr std::chrono::seconds kLineDeadline{60};

// A tmpfs of `size` mounted on a fresh directory for the test's lifetime.
class Tmpfs {
 public:
  Tmpfs(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0,
                     ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

#define REQUIRE_ROOT(what)                                               \
  do {                                                                   \
    if (geteuid() != 0) GTEST_SKIP() << "needs root to " << (what);      \
  } while (0)

class FaultTest : public ::testing::Test {
 protected:
  std::vector<std::string> Loadtest(const std::string& db,
                                    std::vector<std::string> args) {
    std::vector<std::string> argv = {LOADTEST_BIN, "-db=" + db,
                                     "-metrics-port=0", "-log-interval=200ms",
                                     "-readers=1", "--out=" + report()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  std::string report() const { return dir_.File("report.json"); }

  TempDir dir_;
};

TEST_F(FaultTest, ADiskFullMidRunFailsWritesSaysWhyAndLosesNothingAcknowledged) {
  REQUIRE_ROOT("mount a small tmpfs");
  Tmpfs disk(dir_.File("small"), "3m");
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << disk.error();
  const std::string db = dir_.File("small/full.db");
  const ProcessResult r =
      RunAndWait(Loadtest(db, {"-duration=3s", "-writers=4"}));
  // The disk filled: writes failed, counted as failed (not as a full
  // queue). Whether the store then closes cleanly depends on what the disk
  // still holds: its final checkpoint folds the WAL into the database file,
  // which may have to grow. When the background checkpoints had already
  // copied the WAL, it runs and the audit passes (0); otherwise the close
  // fails on the full disk and the audit fails, saying so (2).
  ASSERT_TRUE(r.exit_code == kExitCheckFailed || r.exit_code == 0)
      << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("a write failed: "));
  EXPECT_THAT(r.stderr_text, HasSubstr("database or disk is full"));
  EXPECT_THAT(r.stdout_text, HasSubstr("first failed write: "));
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  const json& total = report["summary"]["total"];
  EXPECT_GT(total["writes_ok"].get<int64_t>(), 0);
  EXPECT_GT(total["write_errors"].get<int64_t>(), 0);
  EXPECT_EQ(total["queue_full_errors"], 0);
  EXPECT_THAT(report["summary"]["agents"][0]["first_error"].get<std::string>(),
              HasSubstr("database or disk is full"));
  // Nothing acknowledged is lost: every acknowledged row is in the file.
  const json& audit = report["audit"];
  if (r.exit_code == kExitCheckFailed) {
    EXPECT_FALSE(audit["passed"].get<bool>()) << audit;
    EXPECT_THAT(audit["error"].get<std::string>(),
                HasSubstr("database or disk is full"));
  } else {
    EXPECT_TRUE(audit["passed"].get<bool>()) << audit;
    EXPECT_EQ(audit["error"], "") << audit;
  }
  EXPECT_EQ(audit["lost"], 0) << audit;
  EXPECT_EQ(audit["rows_in_db"], audit["acknowledged"]) << audit;
  EXPECT_EQ(CountLogRows(db), audit["acknowledged"].get<int64_t>());
  EXPECT_EQ(IntegrityCheck(db), "ok");
}

TEST_F(FaultTest, ADatabaseMadeReadOnlyMidRunKeepsItsRowsAndANewRunIsRefused) {
  // As root, permissions bind nobody: run loadtest as user nobody then.
  std::vector<std::string> launcher;
  const std::string work = dir_.File("ro");
  const std::string out_dir = dir_.File("out");
  std::filesystem::create_directories(work);
  std::filesystem::create_directories(out_dir);
  if (geteuid() == 0) {
    const std::string setpriv = FindProgram("setpriv");
    ASSERT_FALSE(setpriv.empty()) << "setpriv (util-linux) is needed as root";
    launcher = {setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"};
    std::filesystem::permissions(dir_.path(), std::filesystem::perms(0711));
    ASSERT_EQ(chown(work.c_str(), 65534, 65534), 0) << std::strerror(errno);
    ASSERT_EQ(chown(out_dir.c_str(), 65534, 65534), 0) << std::strerror(errno);
  }
  const std::string db = work + "/ro.db";
  auto as_user = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), launcher.begin(), launcher.end());
    return argv;
  };
  const std::string out = out_dir + "/report.json";
  std::vector<std::string> argv =
      as_user({LOADTEST_BIN, "-db=" + db, "-metrics-port=0", "-log-interval=200ms",
               "-readers=1", "-writers=2", "-duration=10m", "--out=" + out});
  Subprocess run(argv);
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << run.stderr_text();
  // Read-only from now on: the file, and its directory (no new files).
  std::filesystem::permissions(db, std::filesystem::perms(0444));
  std::filesystem::permissions(work, std::filesystem::perms(0555));
  // The open connection keeps the write access it was opened with (POSIX):
  // writes go on being acknowledged and stay durable.
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr));
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr));
  run.SendSignal(SIGINT);
  const int exit_code = run.Wait();
  std::filesystem::permissions(work, std::filesystem::perms(0777));
  EXPECT_EQ(exit_code, 130) << run.stdout_text() << run.stderr_text();
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["audit"]["passed"], true) << report["audit"];
  const int64_t acknowledged = report["audit"]["acknowledged"].get<int64_t>();
  EXPECT_GT(acknowledged, 0);
  EXPECT_EQ(CountLogRows(db), acknowledged);

  // A new run on the read-only file is refused, naming it, and changes
  // nothing.
  std::filesystem::permissions(work, std::filesystem::perms(0555));
  const std::string before = ReadFile(db);
  const ProcessResult again = RunAndWait(as_user(
      {LOADTEST_BIN, "-db=" + db, "-metrics-port=0", "-duration=1s"}));
  std::filesystem::permissions(work, std::filesystem::perms(0777));
  EXPECT_EQ(again.exit_code, kExitUsage) << Describe(again);
  EXPECT_THAT(again.stderr_text, HasSubstr(db));
  EXPECT_THAT(again.stderr_text, HasSubstr(db + " is not writable"));
  EXPECT_EQ(ReadFile(db), before);
}

TEST_F(FaultTest, ADatabaseDeletedMidRunStopsTheRunAndTheAuditSaysItCannotCount) {
  const std::string db = dir_.File("deleted.db");
  Subprocess run(Loadtest(db, {"-duration=10m", "-writers=2"}));
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << run.stderr_text();
  ASSERT_TRUE(std::filesystem::remove(db));
  const int exit_code = run.Wait();
  EXPECT_EQ(exit_code, kExitCheckFailed) << run.stdout_text() << run.stderr_text();
  EXPECT_THAT(run.stdout_text(),
              HasSubstr("run ended: the database file " + db +
                        " disappeared during the run (deleted or moved)"));
  EXPECT_THAT(run.stdout_text(), HasSubstr("rows not counted"));
  EXPECT_THAT(run.stdout_text(), HasSubstr("Durability audit: FAILED"));
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  EXPECT_THAT(report["audit"]["error"].get<std::string>(),
              HasSubstr("cannot audit"));
  // Not re-created behind the user's back.
  EXPECT_FALSE(std::filesystem::exists(db));
}

TEST_F(FaultTest, ACorruptDatabaseAtStartIsRefusedClearlyAndLeftUnchanged) {
  const std::string db = dir_.File("corrupt.db");
  ASSERT_EQ(RunAndWait(Loadtest(db, {"-duration=1s", "-writers=4"})).exit_code,
            kExitOk);
  {
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(8192);  // Past the header page: the schema's b-trees.
    const std::string garbage(64 * 1024, '\xff');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const std::string before = ReadFile(db);
  const ProcessResult r = RunAndWait(Loadtest(db, {"-duration=1s"}));
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr(db + " is corrupt"));
  EXPECT_THAT(r.stderr_text, HasSubstr("PRAGMA integrity_check"));
  EXPECT_EQ(ReadFile(db), before) << "the corrupt file was modified";
}

TEST_F(FaultTest, ADatabaseLockedByAnotherProcessIsRefusedNamingTheLock) {
  const std::string python = FindProgram("python3");
  ASSERT_FALSE(python.empty()) << "python3 is installed by scripts/install-deps.sh test";
  const std::string db = dir_.File("locked.db");
  ASSERT_EQ(RunAndWait(Loadtest(db, {"-duration=1s"})).exit_code, kExitOk);
  // Another process holds the write lock until it is killed.
  Subprocess holder({python, "-c",
                     "import sqlite3, sys, time\n"
                     "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                     "c.execute('BEGIN EXCLUSIVE')\n"
                     "print('locked', flush=True)\n"
                     "time.sleep(3600)\n",
                     db});
  std::string error;
  ASSERT_TRUE(holder.Start(&error)) << error;
  ASSERT_TRUE(holder.WaitForLine("locked", kLineDeadline, nullptr))
      << holder.stderr_text();
  const ProcessResult r = RunAndWait(Loadtest(db, {"-duration=1s"}));
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("database is locked"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr("another connection or process holds a lock on it"));
  holder.SendSignal(SIGKILL);
  holder.Wait();
  // Every row the earlier run acknowledged is still there (the refused run
  // wrote no report over it).
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  EXPECT_GT(CountLogRows(db), 0);
  EXPECT_EQ(CountLogRows(db), report["audit"]["acknowledged"].get<int64_t>());
  EXPECT_EQ(IntegrityCheck(db), "ok");
}

TEST_F(FaultTest, AnAgentWhoseClockDiffersRunsInStepWithTheController) {
  REQUIRE_ROOT("give an agent its own clocks (unshare --time)");
  const std::string unshare = FindProgram("unshare");
  ASSERT_FALSE(unshare.empty());
  // The agent's monotonic and boot clocks run a day ahead of the
  // controller's: nothing in the protocol may depend on them agreeing (the
  // start is a relative delay; intervals are the agent's own).
  AgentProcess::Options skewed;
  skewed.data_dir = dir_.File("skewed");
  skewed.id = "skewed";
  skewed.host = "127.0.0.2";
  skewed.launcher = {unshare, "--time", "--monotonic=86400", "--boottime=86400"};
  AgentProcess agent(skewed);
  ASSERT_TRUE(agent.Start());
  AgentProcess plain(dir_.File("plain"), "plain", "127.0.0.3");
  ASSERT_TRUE(plain.Start());
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "--agents=" + agent.address() + "," + plain.address(),
       "-db=clock.db", "-duration=2s", "-log-interval=500ms", "-writers=2",
       "-readers=1", "--out=" + report()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  ASSERT_GE(report["intervals"].size(), 3u);
  for (const json& row : report["intervals"]) {
    EXPECT_EQ(row["agents"].size(), 2u) << row["sequence"];
  }
  for (const json& a : report["summary"]["agents"]) {
    EXPECT_EQ(a["stop_reason"], "duration reached") << a["agent_id"];
    EXPECT_EQ(a["audit"]["passed"], true) << a["agent_id"];
    EXPECT_NEAR(a["seconds"].get<double>(), 2.0, 1.0) << a["agent_id"];
  }
}

}  // namespace
}  // namespace loadtest
