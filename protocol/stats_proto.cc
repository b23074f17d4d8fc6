#include "protocol/stats_proto.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace loadtest::protocol {

void ToProto(const stats::LatencyHistogram& h,
             opentrail::loadtest::v1::Histogram* out) {
  out->Clear();
  for (const stats::LatencyHistogram::SparseBucket& b : h.ToSparse()) {
    out->add_bucket_index(b.index);
    out->add_bucket_count(b.count);
  }
  out->set_min_ns(h.min());
  out->set_max_ns(h.max());
  out->set_sum_ns(h.sum());
}

absl::StatusOr<stats::LatencyHistogram> FromProto(
    const opentrail::loadtest::v1::Histogram& h) {
  if (h.bucket_index_size() != h.bucket_count_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram has ", h.bucket_index_size(),
                     " bucket indexes but ", h.bucket_count_size(), " counts"));
  }
  std::vector<stats::LatencyHistogram::SparseBucket> buckets;
  buckets.reserve(h.bucket_index_size());
  // Each count, and so their total, at most kMaxHistogramCount.
  constexpr uint64_t kMaxCount = kMaxHistogramCount;
  uint64_t total = 0;
  for (int i = 0; i < h.bucket_index_size(); ++i) {
    const uint64_t count = h.bucket_count(i);
    if (count > kMaxCount || total + count > kMaxCount) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram bucket counts must add up to at most ", kMaxCount,
          ", got ", count, " in bucket ", h.bucket_index(i), " after ",
          total));
    }
    total += count;
    buckets.push_back({h.bucket_index(i), h.bucket_count(i)});
  }
  return stats::LatencyHistogram::FromSparse(buckets, h.min_ns(), h.max_ns(),
                                      h.sum_ns());
}

void ToProto(const stats::IntervalCounters& c,
             opentrail::loadtest::v1::Counters* out) {
  out->set_writes_ok(c.writes_ok);
  out->set_write_errors(c.write_errors);
  out->set_write_timeouts(c.write_timeouts);
  out->set_queue_full(c.queue_full);
  out->set_writes_late(c.writes_late);
  out->set_reads_ok(c.reads_ok);
  out->set_read_errors(c.read_errors);
  out->set_reads_late(c.reads_late);
}

stats::IntervalCounters FromProto(const opentrail::loadtest::v1::Counters& c) {
  stats::IntervalCounters out;
  out.writes_ok = c.writes_ok();
  out.write_errors = c.write_errors();
  out.write_timeouts = c.write_timeouts();
  out.queue_full = c.queue_full();
  out.writes_late = c.writes_late();
  out.reads_ok = c.reads_ok();
  out.read_errors = c.read_errors();
  out.reads_late = c.reads_late();
  return out;
}

}  // namespace loadtest::protocol
