#include "stats/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace loadtest::stats {
namespace {

// 2^6 = 64 buckets per power of two: a bucket spans at most 1/64 of its lower
// bound, so its midpoint is within 1/128 of any value in it.
constexpr int kSubBucketBits = 6;
constexpr int64_t kSubBucketCount = int64_t{1} << kSubBucketBits;
// Below this every value has its own bucket (width 1).
constexpr int64_t kLinearLimit = 2 * kSubBucketCount;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Index of `v` (0 <= v) before clamping to the top bucket.
constexpr uint32_t NaturalIndex(uint64_t v) {
  int bit_width = 0;
  for (uint64_t x = v; x != 0; x >>= 1) ++bit_width;
  const int shift = std::max(0, bit_width - (kSubBucketBits + 1));
  return static_cast<uint32_t>(
      (static_cast<uint64_t>(shift) << kSubBucketBits) + (v >> shift));
}

// log2 of the width of bucket `index` (0 in the linear range).
constexpr int WidthShift(uint32_t index) {
  return index < kLinearLimit ? 0
                              : static_cast<int>(index >> kSubBucketBits) - 1;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  return __builtin_add_overflow(a, b, &out) ? kInt64Max : out;
}

// a >= 0.
int64_t SaturatingMul(int64_t a, uint64_t n) {
  int64_t out;
  return __builtin_mul_overflow(a, n, &out) ? kInt64Max : out;
}

}  // namespace

static_assert(NaturalIndex(LatencyHistogram::kMaxTrackableNs) + 1 ==
                  static_cast<uint32_t>(LatencyHistogram::BucketCount()),
              "kBucketCount must end at the bucket holding kMaxTrackableNs");
static_assert(NaturalIndex(kLinearLimit - 1) == kLinearLimit - 1 &&
                  NaturalIndex(kLinearLimit) == kLinearLimit,
              "the log-linear range must continue the linear one");

uint32_t LatencyHistogram::BucketIndex(int64_t ns) {
  if (ns <= 0) return 0;
  if (ns >= kMaxTrackableNs) return kBucketCount - 1;
  const uint64_t v = static_cast<uint64_t>(ns);
  // Same as NaturalIndex(), with one instruction for the bit width.
  const int bit_width = 64 - __builtin_clzll(v);
  const int shift =
      bit_width > kSubBucketBits + 1 ? bit_width - (kSubBucketBits + 1) : 0;
  return static_cast<uint32_t>(
      (static_cast<uint64_t>(shift) << kSubBucketBits) + (v >> shift));
}

int64_t LatencyHistogram::BucketLowerBound(uint32_t index) {
  index = std::min(index, static_cast<uint32_t>(kBucketCount - 1));
  if (index < kLinearLimit) return index;
  const int shift = WidthShift(index);
  const int64_t sub = (index & (kSubBucketCount - 1)) + kSubBucketCount;
  return sub << shift;
}

int64_t LatencyHistogram::BucketUpperBound(uint32_t index) {
  if (index >= static_cast<uint32_t>(kBucketCount - 1)) return kInt64Max;
  return BucketLowerBound(index + 1) - 1;
}

int64_t LatencyHistogram::BucketMidpoint(uint32_t index) {
  const int64_t width = int64_t{1} << WidthShift(index);
  return BucketLowerBound(index) + (width - 1) / 2;
}

void LatencyHistogram::RecordN(int64_t ns, uint64_t n) {
  if (n == 0) return;
  const int64_t v = std::max<int64_t>(ns, 0);
  if (count_ == 0) {
    min_ = v;
    max_ = v;
  } else {
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  AddToBucket(BucketIndex(v), n);
  count_ += n;
  sum_ = SaturatingAdd(sum_, SaturatingMul(v, n));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  // Widen once to cover both spans, then add.
  const uint32_t other_last =
      other.first_bucket_ + static_cast<uint32_t>(other.counts_.size()) - 1;
  AddToBucket(other.first_bucket_, 0);
  AddToBucket(other_last, 0);
  uint64_t* mine = counts_.data() + (other.first_bucket_ - first_bucket_);
  for (size_t i = 0; i < other.counts_.size(); ++i) mine[i] += other.counts_[i];
  count_ += other.count_;
  sum_ = SaturatingAdd(sum_, other.sum_);
}

void LatencyHistogram::Reset() { *this = LatencyHistogram(); }

void LatencyHistogram::AddToBucket(uint32_t index, uint64_t n) {
  if (counts_.empty()) {
    first_bucket_ = index;
    counts_.assign(1, n);
    return;
  }
  if (index < first_bucket_) {
    counts_.insert(counts_.begin(), first_bucket_ - index, 0);
    first_bucket_ = index;
  } else if (index - first_bucket_ >= counts_.size()) {
    counts_.resize(index - first_bucket_ + 1, 0);
  }
  counts_[index - first_bucket_] += n;
}

double LatencyHistogram::mean() const {
  if (count_ == 0) return 0.0;
  return static_cast<double>(sum_) / static_cast<double>(count_);
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  if (!(q > 0.0)) return min_;  // Also NaN.
  if (q >= 1.0) return max_;
  const double wanted = std::ceil(q * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(
      wanted < 1.0 ? 1 : static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(
          BucketMidpoint(first_bucket_ + static_cast<uint32_t>(i)), min_,
          max_);
    }
  }
  return max_;  // Unreachable: the counts add up to count_.
}

std::vector<LatencyHistogram::SparseBucket> LatencyHistogram::ToSparse() const {
  std::vector<SparseBucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      out.push_back(SparseBucket{first_bucket_ + static_cast<uint32_t>(i),
                                 counts_[i]});
    }
  }
  return out;
}

absl::StatusOr<LatencyHistogram> LatencyHistogram::FromSparse(
    const std::vector<SparseBucket>& buckets, int64_t min_ns, int64_t max_ns,
    int64_t sum_ns) {
  if (buckets.empty()) {
    if (min_ns != 0 || max_ns != 0 || sum_ns != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram without buckets must have min, max and sum 0, got min ",
          min_ns, ", max ", max_ns, ", sum ", sum_ns));
    }
    return LatencyHistogram();
  }
  if (min_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram min must be >= 0, got ", min_ns));
  }
  if (min_ns > max_ns) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram min must not exceed max, got min ", min_ns,
                     " > max ", max_ns));
  }
  LatencyHistogram h;
  if (buckets.back().index >= buckets.front().index &&
      buckets.back().index < static_cast<uint32_t>(kBucketCount)) {
    h.counts_.reserve(buckets.back().index - buckets.front().index + 1);
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    const SparseBucket& b = buckets[i];
    if (b.index >= static_cast<uint32_t>(kBucketCount)) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram bucket index must be below ", kBucketCount,
                       ", got ", b.index));
    }
    if (i > 0 && b.index <= buckets[i - 1].index) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram bucket indexes must ascend, got ", b.index,
                       " after ", buckets[i - 1].index));
    }
    if (b.count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram bucket ", b.index,
                       " has count 0; sparse buckets must "
                       "be non-empty"));
    }
    if (__builtin_add_overflow(h.count_, b.count, &h.count_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram total count overflows at bucket ", b.index,
                       " (count ", b.count, ")"));
    }
    h.AddToBucket(b.index, b.count);
  }
  if (BucketIndex(min_ns) != buckets.front().index) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram min ", min_ns, " is not in its first bucket ",
                     buckets.front().index));
  }
  if (BucketIndex(max_ns) != buckets.back().index) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram max ", max_ns, " is not in its last bucket ",
                     buckets.back().index));
  }
  const int64_t low = SaturatingMul(min_ns, h.count_);
  const int64_t high = SaturatingMul(max_ns, h.count_);
  if (sum_ns < low || sum_ns > high) {
    return absl::InvalidArgumentError(absl::StrCat(
        "histogram sum must be between min * count and max * count (", low,
        " and ", high, "), got ", sum_ns));
  }
  h.min_ = min_ns;
  h.max_ = max_ns;
  h.sum_ = sum_ns;
  return h;
}

}  // namespace loadtest::stats
