#include "stats/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::stats {

// Readable failure output for vectors of buckets.
void PrintTo(const LatencyHistogram::SparseBucket& b, std::ostream* os) {
  *os << "{" << b.index << ": " << b.count << "}";
}

namespace {

using ::testing::HasSubstr;
using SparseBucket = LatencyHistogram::SparseBucket;

constexpr int64_t kMicrosecond = 1'000;
constexpr int64_t kMillisecond = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kHour = LatencyHistogram::kMaxTrackableNs;
constexpr double kQuantiles[] = {0, 0.5, 0.9, 0.95, 0.99, 0.999, 1};

// The order statistic Quantile() estimates: the smallest value v such that at
// least ceil(q * n) values are <= v.
int64_t ExactQuantile(const std::vector<int64_t>& sorted, double q) {
  const size_t n = sorted.size();
  size_t rank;
  if (q <= 0) {
    rank = 1;
  } else if (q >= 1) {
    rank = n;
  } else {
    rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::clamp<size_t>(rank, 1, n);
  }
  return sorted[rank - 1];
}

LatencyHistogram HistogramOf(const std::vector<int64_t>& values) {
  LatencyHistogram h;
  for (int64_t v : values) h.Record(v);
  return h;
}

void ExpectSameHistogram(const LatencyHistogram& a, const LatencyHistogram& b) {
  EXPECT_EQ(a.ToSparse(), b.ToSparse());
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_EQ(a.sum(), b.sum());
  for (double q : kQuantiles) {
    EXPECT_EQ(a.Quantile(q), b.Quantile(q)) << "q=" << q;
  }
}

void ExpectInvalidArgument(const absl::StatusOr<LatencyHistogram>& result,
                           const std::string& names) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(names));
}

// ---- Data sets, each with a fixed seed. ----

struct DataSet {
  std::string name;
  std::function<std::vector<int64_t>()> make;
};

void PrintTo(const DataSet& data_set, std::ostream* os) {
  *os << data_set.name;
}

std::vector<int64_t> Uniform1usTo1s() {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> dist(kMicrosecond, kSecond);
  std::vector<int64_t> v(100'000);
  for (int64_t& x : v) x = dist(rng);
  return v;
}

std::vector<int64_t> LogUniform1usTo1h() {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> dist(
      std::log(static_cast<double>(kMicrosecond)),
      std::log(static_cast<double>(kHour)));
  std::vector<int64_t> v(100'000);
  for (int64_t& x : v) {
    x = std::clamp<int64_t>(std::llround(std::exp(dist(rng))), kMicrosecond,
                            kHour);
  }
  return v;
}

// 90% fast writes around 2 ms, 10% slow ones around 200 ms: the quantiles
// around 0.9 sit on the edge between the modes.
std::vector<int64_t> Bimodal() {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> fast(std::log(2.0 * kMillisecond), 0.3);
  std::lognormal_distribution<double> slow(std::log(200.0 * kMillisecond), 0.2);
  std::vector<int64_t> v;
  for (int i = 0; i < 90'000; ++i) v.push_back(std::llround(fast(rng)));
  for (int i = 0; i < 10'000; ++i) v.push_back(std::llround(slow(rng)));
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

std::vector<int64_t> SubMicrosecond() {
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<int64_t> dist(0, 2 * kMicrosecond);
  std::vector<int64_t> v(20'000);
  for (int64_t& x : v) x = dist(rng);
  return v;
}

std::vector<int64_t> AllIdentical() {
  return std::vector<int64_t>(5'000, 123'456'789);
}

std::vector<int64_t> OneValue() { return {42 * kMillisecond}; }

std::vector<int64_t> TwoValues() { return {3 * kMicrosecond, 7 * kSecond}; }

class QuantileAccuracyTest : public ::testing::TestWithParam<DataSet> {};

TEST_P(QuantileAccuracyTest,
       QuantilesAreWithinOnePercentOfExactOrderStatistics) {
  std::vector<int64_t> values = GetParam().make();
  const LatencyHistogram h = HistogramOf(values);
  std::sort(values.begin(), values.end());
  for (double q : kQuantiles) {
    const int64_t exact = ExactQuantile(values, q);
    const int64_t estimate = h.Quantile(q);
    EXPECT_LE(std::abs(static_cast<double>(estimate - exact)),
              0.01 * static_cast<double>(exact))
        << "q=" << q << " exact=" << exact << " estimate=" << estimate;
  }
  EXPECT_EQ(h.Quantile(0), values.front());
  EXPECT_EQ(h.Quantile(1), values.back());
}

TEST_P(QuantileAccuracyTest, EveryPermilleQuantileIsWithinOnePercent) {
  std::vector<int64_t> values = GetParam().make();
  const LatencyHistogram h = HistogramOf(values);
  std::sort(values.begin(), values.end());
  for (int permille = 0; permille <= 1000; ++permille) {
    const double q = permille / 1000.0;
    const int64_t exact = ExactQuantile(values, q);
    const int64_t estimate = h.Quantile(q);
    ASSERT_LE(std::abs(static_cast<double>(estimate - exact)),
              0.01 * static_cast<double>(exact))
        << "q=" << q << " exact=" << exact << " estimate=" << estimate;
  }
}

TEST_P(QuantileAccuracyTest, CountMinMaxSumAndMeanAreExact) {
  const std::vector<int64_t> values = GetParam().make();
  const LatencyHistogram h = HistogramOf(values);
  const int64_t sum = std::accumulate(values.begin(), values.end(), int64_t{0});
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.sum(), sum);
  EXPECT_DOUBLE_EQ(
      h.mean(), static_cast<double>(sum) / static_cast<double>(values.size()));
}

TEST_P(QuantileAccuracyTest, SparseRoundTripIsExact) {
  const LatencyHistogram h = HistogramOf(GetParam().make());
  absl::StatusOr<LatencyHistogram> copy =
      LatencyHistogram::FromSparse(h.ToSparse(), h.min(), h.max(), h.sum());
  ASSERT_TRUE(copy.ok()) << copy.status();
  ExpectSameHistogram(*copy, h);
  EXPECT_DOUBLE_EQ(copy->mean(), h.mean());
}

INSTANTIATE_TEST_SUITE_P(
    DataSets, QuantileAccuracyTest,
    ::testing::Values(DataSet{"Uniform1usTo1s", Uniform1usTo1s},
                      DataSet{"LogUniform1usTo1h", LogUniform1usTo1h},
                      DataSet{"Bimodal", Bimodal},
                      DataSet{"SubMicrosecond", SubMicrosecond},
                      DataSet{"AllIdentical", AllIdentical},
                      DataSet{"OneValue", OneValue},
                      DataSet{"TwoValues", TwoValues}),
    [](const ::testing::TestParamInfo<DataSet>& info) {
      return info.param.name;
    });

// ---- Single histograms. ----

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  const LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.sum(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  for (double q : kQuantiles) EXPECT_EQ(h.Quantile(q), 0) << "q=" << q;
  EXPECT_TRUE(h.ToSparse().empty());
}

TEST(LatencyHistogramTest, ValuesBelow128NanosecondsHaveTheirOwnBuckets) {
  for (int64_t v = 0; v < 128; ++v) {
    LatencyHistogram h;
    h.RecordN(v, 3);
    h.Record(200);  // So the quantiles below are not simply max().
    EXPECT_EQ(h.Quantile(0.5), v);
    EXPECT_EQ(LatencyHistogram::BucketIndex(v), static_cast<uint32_t>(v));
  }
}

TEST(LatencyHistogramTest, RecordNCountsLikeRepeatedRecord) {
  LatencyHistogram once;
  once.RecordN(5 * kMillisecond, 1000);
  once.RecordN(9 * kSecond, 0);  // No-op: must not touch min or max.
  LatencyHistogram repeated;
  for (int i = 0; i < 1000; ++i) repeated.Record(5 * kMillisecond);
  ExpectSameHistogram(once, repeated);
  EXPECT_EQ(once.max(), 5 * kMillisecond);
}

TEST(LatencyHistogramTest, NegativeValuesCountAsZero) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(10);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.sum(), 10);
  EXPECT_EQ(h.Quantile(0.5), 0);
}

TEST(LatencyHistogramTest,
     ValuesAboveOneHourClampIntoTheTopBucketAndAreCounted) {
  LatencyHistogram h;
  h.Record(kMillisecond);
  h.Record(2 * kHour);
  h.Record(3 * kHour);
  const uint32_t top =
      static_cast<uint32_t>(LatencyHistogram::BucketCount() - 1);
  EXPECT_EQ(LatencyHistogram::BucketIndex(2 * kHour), top);
  EXPECT_EQ(LatencyHistogram::BucketIndex(kHour), top);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.max(), 3 * kHour);
  EXPECT_EQ(h.sum(), kMillisecond + 5 * kHour);
  EXPECT_EQ(h.Quantile(1), 3 * kHour);
  const std::vector<SparseBucket> buckets = h.ToSparse();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets.back(), (SparseBucket{top, 2}));
  // Within [min, max] even though the top bucket has no finite bound.
  EXPECT_GE(h.Quantile(0.9), kMillisecond);
  EXPECT_LE(h.Quantile(0.9), 3 * kHour);
}

TEST(LatencyHistogramTest, HugeValuesSaturateTheSumAndStillRoundTrip) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  LatencyHistogram h;
  h.Record(kMax);
  h.Record(kMax);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), kMax);
  EXPECT_EQ(h.sum(), kMax);
  absl::StatusOr<LatencyHistogram> copy =
      LatencyHistogram::FromSparse(h.ToSparse(), h.min(), h.max(), h.sum());
  ASSERT_TRUE(copy.ok()) << copy.status();
  ExpectSameHistogram(*copy, h);
}

TEST(LatencyHistogramTest, ResetEmptiesTheHistogram) {
  LatencyHistogram h = HistogramOf(Bimodal());
  h.Reset();
  ExpectSameHistogram(h, LatencyHistogram());
  h.Record(7);
  EXPECT_EQ(h.min(), 7);
  EXPECT_EQ(h.max(), 7);
}

TEST(LatencyHistogramTest, CopiesAreIndependent) {
  LatencyHistogram a;
  a.Record(kMillisecond);
  LatencyHistogram b = a;
  b.Record(kSecond);
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(a.max(), kMillisecond);
  EXPECT_EQ(b.count(), 2u);
}

TEST(LatencyHistogramTest, ToSparseListsOnlyNonEmptyBucketsInAscendingOrder) {
  LatencyHistogram h;
  h.Record(kSecond);
  h.Record(3);
  h.Record(kSecond);
  h.Record(kMillisecond);
  const std::vector<SparseBucket> want = {
      {3, 1},
      {LatencyHistogram::BucketIndex(kMillisecond), 1},
      {LatencyHistogram::BucketIndex(kSecond), 2}};
  EXPECT_EQ(h.ToSparse(), want);
}

// ---- Bucket layout. ----

TEST(LatencyHistogramTest, BucketsTileTheWholeRangeWithoutGapsOrOverlaps) {
  const uint32_t n = static_cast<uint32_t>(LatencyHistogram::BucketCount());
  EXPECT_EQ(LatencyHistogram::BucketLowerBound(0), 0);
  for (uint32_t i = 0; i < n; ++i) {
    const int64_t low = LatencyHistogram::BucketLowerBound(i);
    const int64_t high = LatencyHistogram::BucketUpperBound(i);
    ASSERT_LE(low, high) << "bucket " << i;
    EXPECT_EQ(LatencyHistogram::BucketIndex(low), i);
    EXPECT_EQ(LatencyHistogram::BucketIndex(high), i);
    if (i + 1 < n) {
      EXPECT_EQ(LatencyHistogram::BucketLowerBound(i + 1), high + 1);
    }
  }
  EXPECT_EQ(LatencyHistogram::BucketUpperBound(n - 1),
            std::numeric_limits<int64_t>::max());
  EXPECT_LE(LatencyHistogram::BucketLowerBound(n - 1), kHour);
}

TEST(LatencyHistogramTest,
     BucketsAreAtMostOneSixtyFourthOfTheirLowerBoundWide) {
  const uint32_t n = static_cast<uint32_t>(LatencyHistogram::BucketCount());
  for (uint32_t i = 128; i + 1 < n; ++i) {
    const int64_t low = LatencyHistogram::BucketLowerBound(i);
    const int64_t width = LatencyHistogram::BucketUpperBound(i) - low + 1;
    EXPECT_LE(width * 64, low) << "bucket " << i;
  }
}

// ---- Merge. ----

TEST(LatencyHistogramTest, MergeGivesTheSameHistogramInAnyOrder) {
  const std::vector<int64_t> values = LogUniform1usTo1h();
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> pick(0, 3);
  LatencyHistogram shards[4];
  LatencyHistogram everything;
  for (int64_t v : values) {
    shards[pick(rng)].Record(v);
    everything.Record(v);
  }

  LatencyHistogram forward;
  for (int i = 0; i < 4; ++i) forward.Merge(shards[i]);
  LatencyHistogram backward;
  for (int i = 3; i >= 0; --i) backward.Merge(shards[i]);
  LatencyHistogram left = shards[0];
  left.Merge(shards[1]);
  LatencyHistogram right = shards[3];
  right.Merge(shards[2]);
  LatencyHistogram tree = right;
  tree.Merge(left);

  ExpectSameHistogram(forward, everything);
  ExpectSameHistogram(backward, everything);
  ExpectSameHistogram(tree, everything);
  EXPECT_DOUBLE_EQ(tree.mean(), everything.mean());
}

// Only the span of used buckets is kept: spans that do not overlap, values
// recorded below the span so far, and merges either way must all widen it
// correctly.
TEST(LatencyHistogramTest, DisjointSpansMergeAndGrowDownwardsExactly) {
  LatencyHistogram low, high, everything, descending;
  for (int64_t v = 1000; v < 2000; v += 7) {
    low.Record(v);
    everything.Record(v);
  }
  for (int64_t v = 1'000'000'000; v < 2'000'000'000; v += 9'999'991) {
    high.Record(v);
    everything.Record(v);
  }
  for (int64_t v = 2'000'000'000; v >= 0; v -= 7'777'777) descending.Record(v);
  LatencyHistogram up = low;
  up.Merge(high);
  LatencyHistogram down = high;
  down.Merge(low);
  ExpectSameHistogram(up, everything);
  ExpectSameHistogram(down, everything);
  LatencyHistogram ascending;
  for (int64_t v = 2'000'000'000 % 7'777'777; v <= 2'000'000'000; v += 7'777'777) {
    ascending.Record(v);
  }
  ExpectSameHistogram(descending, ascending);
  LatencyHistogram self = up;
  self.Merge(self);
  EXPECT_EQ(self.count(), 2 * up.count());
  EXPECT_EQ(self.Quantile(0.5), up.Quantile(0.5));
}

TEST(LatencyHistogramTest, MergingWithAnEmptyHistogramChangesNothing) {
  const LatencyHistogram full = HistogramOf(TwoValues());
  LatencyHistogram into_empty;
  into_empty.Merge(full);
  ExpectSameHistogram(into_empty, full);  // The empty min of 0 must not win.
  LatencyHistogram with_empty = full;
  with_empty.Merge(LatencyHistogram());
  ExpectSameHistogram(with_empty, full);
}

// ---- FromSparse. ----

class FromSparseTest : public ::testing::Test {
 protected:
  FromSparseTest() {
    h_.Record(kMicrosecond);
    h_.Record(5 * kMillisecond);
    h_.Record(5 * kMillisecond);
    buckets_ = h_.ToSparse();
  }

  absl::StatusOr<LatencyHistogram> Rebuild() const {
    return LatencyHistogram::FromSparse(buckets_, min_, max_, sum_);
  }

  LatencyHistogram h_;
  std::vector<SparseBucket> buckets_;
  int64_t min_ = kMicrosecond;
  int64_t max_ = 5 * kMillisecond;
  int64_t sum_ = kMicrosecond + 10 * kMillisecond;
};

TEST_F(FromSparseTest, AcceptsWhatToSparseWrote) {
  absl::StatusOr<LatencyHistogram> h = Rebuild();
  ASSERT_TRUE(h.ok()) << h.status();
  ExpectSameHistogram(*h, h_);
}

TEST_F(FromSparseTest, AcceptsAnEmptyHistogram) {
  absl::StatusOr<LatencyHistogram> h =
      LatencyHistogram::FromSparse({}, 0, 0, 0);
  ASSERT_TRUE(h.ok()) << h.status();
  ExpectSameHistogram(*h, LatencyHistogram());
}

TEST_F(FromSparseTest, RejectsAnIndexOutOfRange) {
  const uint32_t bad = static_cast<uint32_t>(LatencyHistogram::BucketCount());
  buckets_.back().index = bad;
  ExpectInvalidArgument(Rebuild(), "got " + std::to_string(bad));
}

TEST_F(FromSparseTest, RejectsIndexesThatDescend) {
  std::swap(buckets_[0], buckets_[1]);
  ExpectInvalidArgument(Rebuild(), "must ascend");
}

TEST_F(FromSparseTest, RejectsARepeatedIndex) {
  buckets_.push_back(buckets_.back());
  ExpectInvalidArgument(Rebuild(), "must ascend");
}

TEST_F(FromSparseTest, RejectsAZeroCount) {
  buckets_[0].count = 0;
  ExpectInvalidArgument(
      Rebuild(),
      "bucket " + std::to_string(buckets_[0].index) + " has count 0");
}

TEST_F(FromSparseTest, RejectsMinAboveMax) {
  min_ = 6 * kMillisecond;
  ExpectInvalidArgument(Rebuild(), "min 6000000 > max 5000000");
}

TEST_F(FromSparseTest, RejectsANegativeMin) {
  min_ = -1;
  ExpectInvalidArgument(Rebuild(), "got -1");
}

TEST_F(FromSparseTest, RejectsAMinOutsideTheFirstBucket) {
  min_ = 2 * kMicrosecond;
  ExpectInvalidArgument(Rebuild(), "min 2000 is not in its first bucket");
}

TEST_F(FromSparseTest, RejectsAMaxOutsideTheLastBucket) {
  max_ = 6 * kMillisecond;
  ExpectInvalidArgument(Rebuild(), "max 6000000 is not in its last bucket");
}

TEST_F(FromSparseTest, RejectsASumThatNoValuesCouldGive) {
  sum_ = 20 * kMillisecond;
  ExpectInvalidArgument(Rebuild(), "got 20000000");
}

TEST_F(FromSparseTest, RejectsACountThatOverflows) {
  buckets_[0].count = std::numeric_limits<uint64_t>::max();
  ExpectInvalidArgument(Rebuild(), "overflows");
}

TEST_F(FromSparseTest, RejectsMinMaxOrSumWithoutBuckets) {
  ExpectInvalidArgument(LatencyHistogram::FromSparse({}, 0, 5, 0), "max 5");
}

}  // namespace
}  // namespace loadtest::stats
