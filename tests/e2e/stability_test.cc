// The stability verdict end to end through the real `loadtest` (its
// in-process agent): a store stalled mid-run, by another connection holding
// the database's write lock, is judged unstable, fails `stable==1` at the
// end (not live, under --abort-on-fail) and makes the sustained scenario's
// verdict "unstable". A steady run judged stable is not tested here: on a
// shared two-core machine a 30 s run's p99 can move by 20% between thirds
// by chance, so that case is tested on synthetic series
// (tests/report/stability_test.cc).
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::IsIntervalLine;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr int kExitCheckFailed = 2;

// An interval line's end ("[    8.0s] ..."), or -1 for any other line.
double IntervalEnd(const std::string& line) {
  return IsIntervalLine(line) ? std::strtod(line.c_str() + 1, nullptr) : -1;
}

// An interval line's writes/s ("writes     1234/s"), or -1.
double WritesPerS(const std::string& line) {
  const size_t at = line.find("writes ");
  if (!IsIntervalLine(line) || at == std::string::npos) return -1;
  return std::strtod(line.c_str() + at + 7, nullptr);
}

// Another connection to the run's database holding its write lock
// (BEGIN IMMEDIATE) until Release(): the store's writer waits in its busy
// handler, so no write commits meanwhile.
class HeldWriteLock {
 public:
  bool Hold(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK) {
      return false;
    }
    sqlite3_busy_timeout(db_, 10000);  // The writer holds it between batches.
    return sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) ==
           SQLITE_OK;
  }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }
  ~HeldWriteLock() { Release(); }

 private:
  sqlite3* db_ = nullptr;
};

TEST(StabilityE2eTest, AStoreStalledMidRunIsUnstable) {
  TempDir dir;
  const std::string db = dir.File("stall.db");
  const std::string out = dir.File("stall.json");
  Subprocess run({LOADTEST_BIN, "--scenario=sustained", "-db=" + db,
                  "-duration=30s", "-log-interval=1s", "-writers=4",
                  "-readers=1", "-metrics-port=0", "--out=" + out,
                  "--threshold=stable==1", "--abort-on-fail"});
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;

  // Past the warm-up (the first 3 of 30 intervals), the lock is taken and
  // held until an interval with no write at all has been reported.
  ASSERT_TRUE(run.WaitForLine(
      [](const std::string& line) { return IntervalEnd(line) >= 8; },
      std::chrono::seconds(60), nullptr))
      << run.stdout_text() << run.stderr_text();
  HeldWriteLock lock;
  ASSERT_TRUE(lock.Hold(db));
  std::string stalled;
  ASSERT_TRUE(run.WaitForLine(
      [](const std::string& line) { return WritesPerS(line) == 0; },
      std::chrono::seconds(30), &stalled))
      << run.stdout_text() << run.stderr_text();
  lock.Release();
  const double stalled_end = IntervalEnd(stalled);
  EXPECT_LT(stalled_end, 25) << stalled;

  ASSERT_EQ(run.Wait(), kExitCheckFailed) << run.stdout_text() << run.stderr_text();
  const std::string& text = run.stdout_text();
  EXPECT_THAT(text, HasSubstr("run ended: duration reached"));
  EXPECT_THAT(text, Not(HasSubstr("Aborted by --abort-on-fail")));
  EXPECT_THAT(text, HasSubstr("Stability: UNSTABLE"));
  EXPECT_THAT(text, HasSubstr("stall"));
  EXPECT_THAT(text, HasSubstr("UNSTABLE: not the stable performance the guide expects"));

  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const json& stability = report["summary"]["stability"];
  EXPECT_EQ(stability["verdict"], "unstable") << stability.dump(2);
  EXPECT_EQ(stability["stable"], false);
  EXPECT_GE(stability["judged_intervals"].get<int64_t>(), 12);
  EXPECT_GE(stability["stalls"]["count"].get<int64_t>(), 1);
  EXPECT_EQ(stability["stalls"]["lowest_writes_per_s"].get<double>(), 0);
  const double first_stall = stability["stalls"]["first_at_s"];
  EXPECT_GE(first_stall, 8);
  EXPECT_LT(first_stall, stalled_end);
  EXPECT_EQ(report["summary"]["scenario"]["verdict"], "unstable");
  const json& threshold = report["summary"]["thresholds"][0];
  EXPECT_EQ(threshold["threshold"], "stable==1") << threshold.dump();
  EXPECT_EQ(threshold["passed"], false);
  EXPECT_FALSE(report.contains("aborted"));
  // The stall cost no write: every acknowledged one is in the database.
  EXPECT_TRUE(report["audit"]["passed"].get<bool>()) << report["audit"].dump();
}

}  // namespace
}  // namespace loadtest
