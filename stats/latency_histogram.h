// LatencyHistogram: a mergeable log-linear (HDR-like) histogram of latencies
// in nanoseconds, so per-thread and per-agent intervals can be added up into
// exact totals and quantiles read from the sum.
//
// Values 0..127 ns each have their own bucket; above that every power of two
// is split into 64 equal buckets, so a bucket is at most 1/64 of its lower
// bound wide and Quantile() is within 1/128 (< 1%) of the exact order
// statistic up to kMaxTrackableNs (1 hour). Larger values are counted in the
// top bucket. count, min, max and the sum are kept exactly.
//
// Memory: only the buckets from the lowest to the highest one used are kept
// (a run's latencies span a few hundred of the 2345), so the histograms a
// controller holds for hundreds of agents over many intervals stay small.
// Record() allocates only when a value lands outside that span.
//
// Thread-safety: none. A value type (copy freely) used by one thread at a
// time; hand it to another thread by copy or through a lock (see
// IntervalRecorder).
#ifndef LOADTEST_STATS_LATENCY_HISTOGRAM_H_
#define LOADTEST_STATS_LATENCY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace loadtest::stats {

class LatencyHistogram {
 public:
  // The largest value recorded within the error bound: one hour.
  static constexpr int64_t kMaxTrackableNs = int64_t{3'600'000'000'000};

  // One non-empty bucket in the sparse wire form.
  struct SparseBucket {
    uint32_t index = 0;  // Below BucketCount().
    uint64_t count = 0;  // Never 0 in ToSparse() output.

    friend bool operator==(const SparseBucket& a, const SparseBucket& b) {
      return a.index == b.index && a.count == b.count;
    }
    friend bool operator!=(const SparseBucket& a, const SparseBucket& b) {
      return !(a == b);
    }
  };

  // An empty histogram: count() == 0, min() == max() == sum() == 0.
  LatencyHistogram() = default;

  // Counts one value. Negative values (a clock stepping back) count as 0;
  // values above kMaxTrackableNs count in the top bucket but still set
  // max() and the sum exactly.
  void Record(int64_t ns) { RecordN(ns, 1); }

  // Counts `n` copies of `ns`, as n calls of Record(ns) would. n == 0 is a
  // no-op.
  void RecordN(int64_t ns, uint64_t n);

  // Adds every value counted in `other`. Merging is commutative and
  // associative: any order of merges gives the same histogram.
  void Merge(const LatencyHistogram& other);

  // Back to empty.
  void Reset();

  uint64_t count() const { return count_; }
  // Exact smallest and largest recorded value; 0 when empty.
  int64_t min() const { return min_; }
  int64_t max() const { return max_; }
  // Exact sum of the recorded values, saturating at INT64_MAX (about 292
  // years of summed latency).
  int64_t sum() const { return sum_; }
  // sum() / count(); 0 when empty.
  double mean() const;

  // The value at quantile `q`: an estimate of the smallest recorded value v
  // such that at least ceil(q * count()) values are <= v. Within 1% of that
  // value for values up to kMaxTrackableNs, and always within [min, max].
  // q <= 0 (or NaN) returns min() exactly, q >= 1 returns max() exactly;
  // 0 when empty. Scans the buckets: cheap per interval, not per request.
  int64_t Quantile(double q) const;

  // Number of buckets; valid indexes are 0 .. BucketCount() - 1.
  static constexpr int BucketCount() { return kBucketCount; }
  // Index of the bucket that counts `ns` (with Record's clamping).
  static uint32_t BucketIndex(int64_t ns);
  // Smallest and largest value (inclusive, in ns) that bucket `index` counts,
  // e.g. for Prometheus `le` bounds. The top bucket's upper bound is
  // INT64_MAX since it also counts everything above kMaxTrackableNs.
  // `index` must be below BucketCount(); larger indexes read as the top one.
  static int64_t BucketLowerBound(uint32_t index);
  static int64_t BucketUpperBound(uint32_t index);

  // Non-empty buckets in ascending index order. With min(), max() and sum()
  // this is the whole state: FromSparse() rebuilds an identical histogram.
  std::vector<SparseBucket> ToSparse() const;

  // Rebuilds a histogram from ToSparse(), min(), max() and sum(); count() is
  // the sum of the bucket counts. Errors (InvalidArgument, naming the value):
  // an index >= BucketCount(), indexes not strictly ascending, a zero count,
  // a total count that overflows, min < 0, min > max, min or max outside the
  // first or last bucket, a sum outside [min * count, max * count], or a
  // non-zero min, max or sum without buckets.
  static absl::StatusOr<LatencyHistogram> FromSparse(
      const std::vector<SparseBucket>& buckets, int64_t min_ns, int64_t max_ns,
      int64_t sum_ns);

 private:
  // 0..127 linear, then 64 buckets per power of two up to the one holding
  // kMaxTrackableNs (checked in the .cc).
  static constexpr int kBucketCount = 2345;

  // The value Quantile() reports for a bucket: the middle of its range
  // (the top bucket's range taken without the overflow).
  static int64_t BucketMidpoint(uint32_t index);

  // Adds `n` to bucket `index`, widening the kept span to reach it.
  void AddToBucket(uint32_t index, uint64_t n);

  // counts_[i] is bucket first_bucket_ + i; empty when count_ == 0.
  std::vector<uint64_t> counts_;
  uint32_t first_bucket_ = 0;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace loadtest::stats

#endif  // LOADTEST_STATS_LATENCY_HISTOGRAM_H_
