// histogram_fuzzer: what the controller decodes from an agent's updates.
//
// The input is parsed twice: as a wire Histogram (decoded by
// protocol::FromProto) and as a whole RunUpdate (decoded by protocol::FromProto,
// as the controller's agent client does, then fed to the Aggregator). A
// decoded histogram is exercised: Quantile at several q, mean, min, max,
// Merge with another histogram both ways, and a re-encode / decode round
// trip; a decoded update is re-encoded and decoded again.
//
// What must hold (else the target traps): quantiles lie within [min, max],
// are min at q <= 0 and max at q >= 1 and never decrease with q; the mean
// lies within [min, max] unless the sum saturated; count is the sum of the
// bucket counts; a decoded histogram re-encodes to the same buckets, min,
// max and sum and decodes again to an identical one; merging is
// commutative, adds the counts and keeps the extremes, and the merge of
// two decodable histograms is decodable (when its count is one an update
// can carry, protocol::kMaxHistogramCount);
// an update decodes again to the same values after its re-encoding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "report/aggregator.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/loadtest.pb.h"
#include "stats/latency_histogram.h"
#include "protocol/stats_proto.h"
#include "protocol/validity.h"
#include "report/validity.h"

namespace {

namespace pb = ::opentrail::loadtest::v1;
namespace protocol = ::loadtest::protocol;
namespace stats = ::loadtest::stats;
namespace report = ::loadtest::report;

using stats::LatencyHistogram;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

bool Same(const LatencyHistogram& a, const LatencyHistogram& b) {
  return a.count() == b.count() && a.min() == b.min() && a.max() == b.max() &&
         a.sum() == b.sum() && a.ToSparse() == b.ToSparse();
}

bool SameDouble(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// Encodes `h`, serializes, parses and decodes it: must give `h` back.
void CheckRoundTrip(const LatencyHistogram& h) {
  pb::Histogram wire;
  protocol::ToProto(h, &wire);
  std::string bytes;
  FUZZ_CHECK(wire.SerializeToString(&bytes));
  pb::Histogram parsed;
  FUZZ_CHECK(parsed.ParseFromString(bytes));
  const absl::StatusOr<LatencyHistogram> again = protocol::FromProto(parsed);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(Same(h, *again));
}

void Exercise(const LatencyHistogram& h) {
  uint64_t total = 0;
  for (const LatencyHistogram::SparseBucket& b : h.ToSparse()) {
    FUZZ_CHECK(b.count != 0);
    total += b.count;
  }
  FUZZ_CHECK(total == h.count());
  FUZZ_CHECK(h.min() <= h.max());
  if (h.count() == 0) {
    FUZZ_CHECK(h.min() == 0 && h.max() == 0 && h.sum() == 0 && h.mean() == 0);
  } else if (h.sum() != kInt64Max) {
    // The mean of an exact sum; a saturated sum has no meaningful mean.
    const double mean = h.mean();
    const double slack = 1e-9 * static_cast<double>(h.max()) + 1;
    FUZZ_CHECK(mean >= static_cast<double>(h.min()) - slack);
    FUZZ_CHECK(mean <= static_cast<double>(h.max()) + slack);
  }
  static constexpr double kQuantiles[] = {
      -1, 0, 1e-9, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.999999, 1, 2};
  int64_t previous = std::numeric_limits<int64_t>::min();
  for (double q : kQuantiles) {
    const int64_t v = h.Quantile(q);
    FUZZ_CHECK(v >= h.min() && v <= h.max());
    FUZZ_CHECK(v >= previous);
    previous = v;
  }
  if (h.count() > 0) {
    FUZZ_CHECK(h.Quantile(0) == h.min());
    FUZZ_CHECK(h.Quantile(1) == h.max());
  }
  FUZZ_CHECK(h.Quantile(std::nan("")) == h.min());
  CheckRoundTrip(h);

  // A histogram such as an agent sends, to merge with.
  static const LatencyHistogram* const kOther = [] {
    auto* other = new LatencyHistogram();
    for (int64_t i = 1; i <= 100; ++i) other->RecordN(i * 1'234'567, 7);
    other->Record(5);
    return other;
  }();
  for (const LatencyHistogram* other : {kOther, &h}) {
    LatencyHistogram a = h;
    a.Merge(*other);
    LatencyHistogram b = *other;
    b.Merge(h);
    FUZZ_CHECK(Same(a, b));
    uint64_t count = 0;
    if (__builtin_add_overflow(h.count(), other->count(), &count)) continue;
    FUZZ_CHECK(a.count() == count);
    if (h.count() > 0 && other->count() > 0) {
      FUZZ_CHECK(a.min() == std::min(h.min(), other->min()));
      FUZZ_CHECK(a.max() == std::max(h.max(), other->max()));
    }
    // Beyond what one update can carry, a merge is not a wire histogram.
    if (a.count() > protocol::kMaxHistogramCount) continue;
    CheckRoundTrip(a);
  }
}

bool SameCounters(const stats::IntervalCounters& a,
                  const stats::IntervalCounters& b) {
  return a == b;
}

bool SameConnection(const loadtest::storage::ConnectionActivity& a,
                    const loadtest::storage::ConnectionActivity& b) {
  return a.busy_events == b.busy_events && a.busy_wait_ns == b.busy_wait_ns &&
         a.cache_hits == b.cache_hits && a.cache_misses == b.cache_misses &&
         a.cache_writes == b.cache_writes && a.cache_spills == b.cache_spills;
}

void CheckUpdateRoundTrip(const protocol::IntervalUpdate& u) {
  pb::RunUpdate wire;
  protocol::ToProto(u, &wire);
  std::string bytes;
  FUZZ_CHECK(wire.SerializeToString(&bytes));
  pb::RunUpdate parsed;
  FUZZ_CHECK(parsed.ParseFromString(bytes));
  const absl::StatusOr<protocol::IntervalUpdate> again = protocol::FromProto(parsed);
  FUZZ_CHECK(again.ok());
  const protocol::IntervalUpdate& v = *again;
  FUZZ_CHECK(v.sequence == u.sequence && SameDouble(v.start_s, u.start_s) &&
             SameDouble(v.end_s, u.end_s) &&
             SameCounters(v.stats.counters, u.stats.counters) &&
             Same(v.stats.write_latency, u.stats.write_latency) &&
             Same(v.stats.read_latency, u.stats.read_latency) &&
             v.peak_queue_depth == u.peak_queue_depth &&
             v.queue_size == u.queue_size && v.batches == u.batches &&
             v.rows_committed == u.rows_committed &&
             v.late_commits == u.late_commits && v.final == u.final &&
             v.stop_reason == u.stop_reason &&
             SameDouble(v.offered_writes, u.offered_writes) &&
             SameDouble(v.offered_reads, u.offered_reads) &&
             Same(v.stats.schedule_lag, u.stats.schedule_lag) &&
             v.store.has_value() == u.store.has_value() &&
             v.process.has_value() == u.process.has_value() &&
             v.host.has_value() == u.host.has_value() &&
             v.audit.has_value() == u.audit.has_value());
  if (u.store.has_value()) {
    const loadtest::storage::StoreInternals& a = *u.store;
    const loadtest::storage::StoreInternals& b = *v.store;
    FUZZ_CHECK(a.wal_bytes_max == b.wal_bytes_max &&
               a.wal_restart_bytes == b.wal_restart_bytes &&
               a.db_bytes == b.db_bytes && a.checkpoints == b.checkpoints &&
               a.checkpoint_frames == b.checkpoint_frames &&
               a.checkpoints_blocked == b.checkpoints_blocked &&
               a.wal_stuck_ns_max == b.wal_stuck_ns_max &&
               Same(a.checkpoint_latency, b.checkpoint_latency) &&
               Same(a.commit_latency, b.commit_latency) &&
               SameConnection(a.writer, b.writer) &&
               SameConnection(a.readers, b.readers) &&
               SameConnection(a.checkpointer, b.checkpointer) &&
               a.fsyncs == b.fsyncs && a.fsync_ns == b.fsync_ns);
  }
  if (u.process.has_value()) {
    const protocol::ProcessFigures& a = *u.process;
    const protocol::ProcessFigures& b = *v.process;
    FUZZ_CHECK(SameDouble(a.wall_seconds, b.wall_seconds) &&
               SameDouble(a.cpu_seconds, b.cpu_seconds) &&
               SameDouble(a.usable_cores, b.usable_cores) &&
               a.threads == b.threads && a.rss_bytes == b.rss_bytes &&
               a.open_fds == b.open_fds &&
               a.voluntary_switches == b.voluntary_switches &&
               a.involuntary_switches == b.involuntary_switches &&
               SameDouble(a.run_queue_wait_seconds, b.run_queue_wait_seconds) &&
               a.read_chars == b.read_chars && a.write_chars == b.write_chars &&
               a.read_calls == b.read_calls && a.write_calls == b.write_calls &&
               a.read_bytes == b.read_bytes && a.write_bytes == b.write_bytes);
  }
  if (u.host.has_value()) {
    const protocol::HostFigures& a = *u.host;
    const protocol::HostFigures& b = *v.host;
    FUZZ_CHECK(SameDouble(a.wall_seconds, b.wall_seconds) && a.cpus == b.cpus &&
               SameDouble(a.cpu_user_seconds, b.cpu_user_seconds) &&
               SameDouble(a.cpu_system_seconds, b.cpu_system_seconds) &&
               SameDouble(a.cpu_iowait_seconds, b.cpu_iowait_seconds) &&
               SameDouble(a.cpu_steal_seconds, b.cpu_steal_seconds) &&
               SameDouble(a.cpu_idle_seconds, b.cpu_idle_seconds) &&
               SameDouble(a.load1, b.load1) && SameDouble(a.load5, b.load5) &&
               SameDouble(a.load15, b.load15) &&
               a.disk_device == b.disk_device &&
               a.disk_unavailable == b.disk_unavailable &&
               SameDouble(a.disk_busy_seconds, b.disk_busy_seconds) &&
               SameDouble(a.disk_queue_seconds, b.disk_queue_seconds) &&
               SameDouble(a.disk_request_seconds, b.disk_request_seconds) &&
               a.disk_requests == b.disk_requests &&
               a.disk_read_bytes == b.disk_read_bytes &&
               a.disk_write_bytes == b.disk_write_bytes);
  }
  if (u.audit.has_value()) {
    const protocol::RunAudit& a = *u.audit;
    const protocol::RunAudit& b = *v.audit;
    FUZZ_CHECK(
        a.rows_before == b.rows_before && a.rows_in_db == b.rows_in_db &&
        a.acknowledged == b.acknowledged && a.late_commits == b.late_commits &&
        a.lost == b.lost && a.unexplained == b.unexplained &&
        a.integrity_ok == b.integrity_ok &&
        a.integrity_message == b.integrity_message &&
        a.fts_index_bytes == b.fts_index_bytes && a.error == b.error);
  }
}

// As the controller does with each agent's updates: two agents send this
// update (one of them twice, as two intervals), then one is lost.
void Aggregate(const protocol::IntervalUpdate& u) {
  report::Aggregator aggregator({"agent-1", "agent-2"});
  (void)aggregator.Add("agent-1", u);
  (void)aggregator.Add("agent-2", u);
  protocol::IntervalUpdate next = u;
  if (next.sequence < std::numeric_limits<int64_t>::max()) ++next.sequence;
  (void)aggregator.Add("agent-2", next);
  (void)aggregator.MarkLost("agent-1", "fuzz");
  const report::RunSummary summary = aggregator.Summary();
  (void)summary.total.writes_per_s();
  (void)summary.total.error_rate();
  (void)summary.total.queue_utilization();
  (void)summary.total.mean_batch_size();
  // The verdicts of one interval and of the run never fail on what the
  // decoder accepted.
  (void)protocol::GeneratorBoundReason(u);
  (void)report::CheckpointStarvationReason(u);
  if (summary.total.process.has_value()) {
    (void)summary.total.process->cpu_fraction();
  }
  if (summary.total.store.has_value()) {
    (void)summary.total.store->cache_hit_ratio();
  }
  if (summary.total.host.has_value()) {
    (void)summary.total.host->cpu_steal_fraction();
    (void)summary.total.host->disk_utilization();
    (void)summary.total.host->disk_await_ms();
    (void)summary.total.host->disk_queue_depth();
  }
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8 it refuses to parse:
// noise at a million inputs a minute.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pb::Histogram histogram;
  if (histogram.ParseFromArray(data, static_cast<int>(size))) {
    const absl::StatusOr<LatencyHistogram> h = protocol::FromProto(histogram);
    if (h.ok()) {
      // The decoder accepts only the canonical form, so the re-encoding is
      // the input's own fields.
      pb::Histogram again;
      protocol::ToProto(*h, &again);
      FUZZ_CHECK(again.bucket_index_size() == histogram.bucket_index_size());
      for (int i = 0; i < again.bucket_index_size(); ++i) {
        FUZZ_CHECK(again.bucket_index(i) == histogram.bucket_index(i));
        FUZZ_CHECK(again.bucket_count(i) == histogram.bucket_count(i));
      }
      FUZZ_CHECK(again.min_ns() == histogram.min_ns() &&
                 again.max_ns() == histogram.max_ns() &&
                 again.sum_ns() == histogram.sum_ns());
      Exercise(*h);
    } else {
      FUZZ_CHECK(h.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  pb::RunUpdate update;
  if (update.ParseFromArray(data, static_cast<int>(size))) {
    const absl::StatusOr<protocol::IntervalUpdate> u = protocol::FromProto(update);
    if (u.ok()) {
      Exercise(u->stats.write_latency);
      Exercise(u->stats.read_latency);
      Exercise(u->stats.schedule_lag);
      CheckUpdateRoundTrip(*u);
      Aggregate(*u);
    } else {
      FUZZ_CHECK(u.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  return 0;
}
