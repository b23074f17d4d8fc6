#include "stats/interval_counters.h"

#include "gtest/gtest.h"

namespace loadtest::stats {
namespace {

IntervalCounters Counters(int64_t base) {
  IntervalCounters c;
  c.writes_ok = base + 1;
  c.write_errors = base + 2;
  c.write_timeouts = base + 3;
  c.queue_full = base + 4;
  c.writes_late = base + 5;
  c.reads_ok = base + 6;
  c.read_errors = base + 7;
  c.reads_late = base + 8;
  return c;
}

TEST(IntervalCountersTest, AddSumsEveryField) {
  IntervalCounters sum = Counters(0);
  sum.Add(Counters(100));
  IntervalCounters want;
  want.writes_ok = 102;
  want.write_errors = 104;
  want.write_timeouts = 106;
  want.queue_full = 108;
  want.writes_late = 110;
  want.reads_ok = 112;
  want.read_errors = 114;
  want.reads_late = 116;
  EXPECT_EQ(sum, want);
}

TEST(IntervalCountersTest, AddingZeroCountersChangesNothing) {
  IntervalCounters c = Counters(7);
  c.Add(IntervalCounters());
  EXPECT_EQ(c, Counters(7));
}

TEST(IntervalStatsTest, MergeAddsCountersAndMergesBothHistograms) {
  IntervalStats a;
  a.counters = Counters(0);
  a.write_latency.Record(1'000);
  a.read_latency.Record(2'000);
  IntervalStats b;
  b.counters = Counters(10);
  b.write_latency.Record(3'000);
  b.read_latency.Record(4'000);
  b.read_latency.Record(5'000);

  IntervalStats ab = a;
  ab.Merge(b);
  IntervalStats ba = b;
  ba.Merge(a);

  IntervalCounters want = Counters(0);
  want.Add(Counters(10));
  EXPECT_EQ(ab.counters, want);
  EXPECT_EQ(ab.write_latency.count(), 2u);
  EXPECT_EQ(ab.write_latency.min(), 1'000);
  EXPECT_EQ(ab.write_latency.max(), 3'000);
  EXPECT_EQ(ab.read_latency.count(), 3u);
  EXPECT_EQ(ab.read_latency.sum(), 11'000);

  EXPECT_EQ(ba.counters, ab.counters);
  EXPECT_EQ(ba.write_latency.ToSparse(), ab.write_latency.ToSparse());
  EXPECT_EQ(ba.read_latency.ToSparse(), ab.read_latency.ToSparse());
}

}  // namespace
}  // namespace loadtest::stats
