// End-to-end tests of where the real `loadtest` writes its reports (issue
// 30, items 1-4): an output path that is not a regular file, two outputs
// naming one file, a link planted where the old temporary file went, and
// the interval spool's folder. Special files are the test's own, made in
// its scratch folder (a device node only as root); the host's /dev is never
// named. Each refused run must have started nothing: no database.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::Describe;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;

class OutputFilesTest : public ::testing::Test {
 protected:
  std::string db() const { return dir_.File("logs.db"); }
  // A short in-process run with `args`, optionally under `env`
  // ("TMPDIR=...").
  ProcessResult Run(const std::vector<std::string>& args,
                    const std::string& env = "") {
    std::vector<std::string> argv;
    if (!env.empty()) argv = {"/usr/bin/env", env};
    for (const std::string& a : std::vector<std::string>{
             LOADTEST_BIN, "-db=" + db(), "-metrics-port=0", "-duration=1s",
             "-log-interval=200ms", "-writers=2", "-readers=1"}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAndWait(argv);
  }
  void ExpectRefusedBeforeTheRun(const ProcessResult& r,
                                 const std::string& says) {
    EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
    EXPECT_THAT(r.stderr_text, HasSubstr(says)) << Describe(r);
    EXPECT_FALSE(fs::exists(db())) << "the run started: " << Describe(r);
  }

  TempDir dir_;
};

// As root, --out=/dev/null replaced the host's /dev/null with a regular
// file (and left /dev/null.intervals.jsonl beside it). The same kind of
// node, made here.
TEST_F(OutputFilesTest, ADeviceAsAReportIsRefusedAndStaysADevice) {
  const std::string device = dir_.File("null");
  if (mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "needs root to make a device node: " << std::strerror(errno);
  }
  for (const char* flag : {"--out=", "--html=", "--out-intervals="}) {
    const ProcessResult r = Run({std::string(flag) + device});
    ExpectRefusedBeforeTheRun(r, "is a character device, not a regular file");
    EXPECT_TRUE(fs::is_character_file(device)) << flag;
  }
  EXPECT_FALSE(fs::exists(device + ".intervals.jsonl"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()),
                          fs::directory_iterator()),
            1);
}

TEST_F(OutputFilesTest, AFolderALinkAndAFifoAsReportsAreRefused) {
  const std::string folder = dir_.File("folder");
  fs::create_directory(folder);
  const std::string theirs = dir_.File("theirs.html");
  WriteFile(theirs, "theirs\n");
  const std::string link = dir_.File("link.html");
  fs::create_symlink(theirs, link);
  const std::string fifo = dir_.File("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);

  ExpectRefusedBeforeTheRun(Run({"--out=" + folder}), "is a directory");
  ExpectRefusedBeforeTheRun(Run({"--html=" + link}), "is a symbolic link");
  ExpectRefusedBeforeTheRun(Run({"--csv=" + dir_.File("run"),
                                 "--prometheus-targets=" + fifo}),
                            "is a FIFO");
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(ReadFile(theirs), "theirs\n");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(fs::exists(dir_.File("run_intervals.csv")));
}

TEST_F(OutputFilesTest, TwoOutputsOrAReportAndTheDatabaseMayNotShareAFile) {
  const std::string x = dir_.File("x.json");
  ExpectRefusedBeforeTheRun(Run({"--out=" + x, "--out-intervals=" + x}),
                            "name the same file");
  ExpectRefusedBeforeTheRun(Run({"--html=" + db()}), "is -db");
  ExpectRefusedBeforeTheRun(Run({"--out=" + db() + "-wal"}), "is -db");
  EXPECT_FALSE(fs::exists(x));
}

// The report went to PATH.tmp opened with fopen: a link planted there by
// someone who can write the folder made a root controller overwrite the
// link's target.
TEST_F(OutputFilesTest, ALinkPlantedAtTheOldTemporaryNameIsNotFollowed) {
  const std::string victim = dir_.File("victim");
  WriteFile(victim, "secret\n");
  ASSERT_EQ(chmod(victim.c_str(), 0600), 0);
  const std::string out = dir_.File("report.json");
  for (const std::string& planted :
       {out + ".tmp", dir_.File("report.intervals.jsonl.tmp"),
        dir_.File("run_intervals.csv.tmp"), dir_.File("run.html.tmp")}) {
    fs::create_symlink(victim, planted);
  }
  const ProcessResult r = Run({"--out=" + out, "--csv=" + dir_.File("run"),
                               "--html=" + dir_.File("run.html")});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(ReadFile(victim), "secret\n");
  EXPECT_TRUE(ReadReport(out).contains("summary"));
  EXPECT_TRUE(fs::is_regular_file(dir_.File("report.intervals.jsonl")));
  EXPECT_TRUE(fs::is_symlink(out + ".tmp"));
  // Nothing else was left behind: no temporary file of the run's own.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(name.front() == '.' && name.size() > 4 &&
                 name.compare(name.size() - 4, 4, ".tmp") == 0)
        << "left " << name;
  }
}

// The spool of interval totals used std::tmpfile(): TMPDIR was ignored and
// a read-only or full /tmp was reported only after the run, losing --out.
TEST_F(OutputFilesTest, TheSpoolHonoursTmpdirAndAFolderThatCannotTakeItStopsTheStart) {
  const std::string missing = dir_.File("no-such-folder");
  ExpectRefusedBeforeTheRun(
      Run({"--out=" + dir_.File("r.json")}, "TMPDIR=" + missing),
      "in " + missing);
  // Without --out nothing is spooled: the same folder does not matter.
  const ProcessResult plain = Run({}, "TMPDIR=" + missing);
  EXPECT_EQ(plain.exit_code, kExitOk) << Describe(plain);
}

TEST_F(OutputFilesTest, ASpoolFolderTooSmallForThePlannedIntervalsStopsTheStart) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  const std::string small = dir_.File("small");
  fs::create_directory(small);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k"), 0)
      << std::strerror(errno);
  // An hour at 200 ms intervals: 18,000 totals, megabytes of spool.
  const ProcessResult r = Run({"--out=" + dir_.File("r.json"), "-duration=1h"},
                              "TMPDIR=" + small);
  umount2(small.c_str(), MNT_DETACH);
  ExpectRefusedBeforeTheRun(r, "No space left on device");
}

}  // namespace
}  // namespace loadtest
