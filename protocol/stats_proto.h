// Conversion of interval counters and latency histograms to and from their
// wire form (proto/loadtest.proto). Pure functions; safe from any thread.
#ifndef LOADTEST_PROTOCOL_STATS_PROTO_H_
#define LOADTEST_PROTOCOL_STATS_PROTO_H_

#include "absl/status/statusor.h"
#include "proto/loadtest.pb.h"
#include "stats/interval_counters.h"
#include "stats/latency_histogram.h"

namespace loadtest::protocol {

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
