// The interval line of the live view: within the terminal's width, the
// most telling figures kept longest; in full when there is no width.
#include "report/display.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One agent's busy interval of an open-loop run whose generator was the
// limit: every column of the line is there.
Figures BusyInterval() {
  protocol::IntervalUpdate u;
  u.sequence = 1;
  u.start_s = 0;
  u.end_s = 1;
  u.stats.counters.writes_ok = 123456;
  u.stats.counters.reads_ok = 2345;
  u.stats.counters.queue_full = 7;
  u.stats.counters.write_timeouts = 3;
  for (int k = 1; k <= 100; ++k) u.stats.write_latency.Record(k * 1234567);
  for (int k = 1; k <= 100; ++k) u.stats.read_latency.Record(k * 345678);
  Figures f;
  f.AddUpdate(u);
  f.batches = 4321;
  f.rows_committed = 123456;
  f.queue_size = 10000;
  f.peak_queue_depth = 8123;
  f.offered_writes = 130000;
  f.offered_reads = 2500;
  f.generator_bound_reason = "CPU 97% of 2 cores";
  return f;
}

const std::string kPrefix = "[   12.0s]              ";

TEST(FitFigureLineTest, WithoutAWidthEveryFigureIsInFull) {
  const std::string line = FitFigureLine(kPrefix, BusyInterval(), 0);
  EXPECT_THAT(line, ::testing::StartsWith(kPrefix + "writes"));
  for (const char* part : {"p50/p95/p99", "reads", "queue  81%", "full 7",
                           "timeouts 3", "batches 4321", "offered writes",
                           "generator-bound: CPU 97% of 2 cores"}) {
    EXPECT_THAT(line, HasSubstr(part)) << part;
  }
}

TEST(FitFigureLineTest, KeepsEveryLineWithinTheWidth) {
  const Figures f = BusyInterval();
  const size_t full = FitFigureLine(kPrefix, f, 0).size();
  for (size_t width = 1; width <= full + 10; ++width) {
    EXPECT_LE(FitFigureLine(kPrefix, f, width).size(), width) << width;
  }
  // A line that fits is the full line.
  EXPECT_EQ(FitFigureLine(kPrefix, f, full), FitFigureLine(kPrefix, f, 0));
}

TEST(FitFigureLineTest, DropsTheLeastTellingColumnsFirst) {
  const Figures f = BusyInterval();
  const std::string at160 = FitFigureLine(kPrefix, f, 159);
  const std::string at120 = FitFigureLine(kPrefix, f, 119);
  const std::string at80 = FitFigureLine(kPrefix, f, 79);
  // Short units: 123456 writes/s is "123.5k".
  for (const std::string& line : {at160, at120, at80}) {
    SCOPED_TRACE(line);
    EXPECT_THAT(line, HasSubstr("w 123.5k/s"));
    EXPECT_THAT(line, HasSubstr("p50/95/99 "));
    EXPECT_THAT(line, HasSubstr("err 10"));
  }
  EXPECT_THAT(at160, HasSubstr("r 2345/s"));
  EXPECT_THAT(at160, HasSubstr("q 81%"));
  EXPECT_THAT(at160, HasSubstr("GENERATOR-BOUND"));
  // Batches are left out first, then the offered rates, the read p99,
  // reads/s.
  EXPECT_THAT(at120, Not(HasSubstr("batches")));
  EXPECT_THAT(at80, Not(HasSubstr("r 2345/s")));
  EXPECT_THAT(at80, Not(HasSubstr("offered")));
  // Narrower still, writes/s is the last figure standing.
  const std::string at40 = FitFigureLine(kPrefix, f, 40);
  EXPECT_EQ(at40, kPrefix + "w 123.5k/s");
}

}  // namespace
}  // namespace loadtest::report
