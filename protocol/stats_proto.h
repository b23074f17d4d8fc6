// Conversion of interval counters and latency histograms to and from their
// wire form (proto/loadtest.proto). Pure functions; safe from any thread.
#ifndef LOADTEST_PROTOCOL_STATS_PROTO_H_
#define LOADTEST_PROTOCOL_STATS_PROTO_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "proto/loadtest.pb.h"
#include "stats/interval_counters.h"
#include "stats/latency_histogram.h"

namespace loadtest::protocol {

// The most samples one wire histogram may count (2^43, as wire.cc's
// counters): what one update can count. The controller merges histograms
// across intervals and agents in 64 bits; unbounded counts would wrap
// ("no samples" from 2^63 + 2^63). A merge of decoded histograms may exceed
// it, and is then no longer a histogram one update could carry.
inline constexpr uint64_t kMaxHistogramCount = uint64_t{1} << 43;

void ToProto(const stats::LatencyHistogram& histogram,
             opentrail::loadtest::v1::Histogram* out);
// InvalidArgument (naming the bad value) for a histogram that the sender
// could not have produced: mismatched lengths, bad indexes, min > max, ...
absl::StatusOr<stats::LatencyHistogram> FromProto(
    const opentrail::loadtest::v1::Histogram& histogram);

void ToProto(const stats::IntervalCounters& counters,
             opentrail::loadtest::v1::Counters* out);
stats::IntervalCounters FromProto(const opentrail::loadtest::v1::Counters& counters);

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_STATS_PROTO_H_
