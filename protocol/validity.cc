#include "protocol/validity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "duration/duration.h"

namespace loadtest::protocol {

std::string CoresText(double cores) {
  if (std::fabs(cores - std::round(cores)) < 0.05) {
    const long whole = std::lround(cores);
    return absl::StrFormat("%d core%s", whole, whole == 1 ? "" : "s");
  }
  return absl::StrFormat("%.1f cores", cores);
}

std::optional<std::string> GeneratorBoundReason(
    const IntervalUpdate& update, const GeneratorBoundLimits& limits) {
  // The generator's own lag (wake_lag): an operation that waited for a free
  // worker waited for the store, and its latency already says so. An agent
  // that does not report it: the whole schedule lag.
  const bool own_lag = update.stats.wake_lag.count() > 0;
  const stats::LatencyHistogram& lag =
      own_lag ? update.stats.wake_lag : update.stats.schedule_lag;
  // Operations whose lag lies above late_by (a bucket counts when its lower
  // bound does: the histogram's 1% resolution).
  uint64_t late = 0;
  const int64_t late_by_ns = limits.late_by.count();
  for (const stats::LatencyHistogram::SparseBucket& b : lag.ToSparse()) {
    if (stats::LatencyHistogram::BucketLowerBound(b.index) > late_by_ns) {
      late += b.count;
    }
  }
  const double late_share =
      lag.count() > 0
          ? static_cast<double>(late) / static_cast<double>(lag.count())
          : 0;
  std::vector<std::string> reasons;
  // In open loop, a busy CPU is the generator's limit only when its own
  // operations started late for it; otherwise the CPU went to the store's
  // threads (its writer, its readers' queries): the store's cost here.
  const bool cpu_counts =
      !own_lag || late_share > limits.cpu_needs_late_fraction;
  if (update.process.has_value() && cpu_counts) {
    const ProcessFigures& p = *update.process;
    // An agent claiming no usable core (a bug, or a peer avoiding the
    // check) is held to one: a running process has at least that much.
    const bool claimed_none = !(p.usable_cores > 0);
    ProcessFigures held = p;
    if (claimed_none) held.usable_cores = 1;
    const std::string cores = absl::StrCat(
        CoresText(held.usable_cores),
        claimed_none ? absl::StrFormat(" (it claimed %g usable cores)",
                                       p.usable_cores)
                     : "");
    const double fraction = held.cpu_fraction();
    if (fraction >= limits.cpu_fraction) {
      reasons.push_back(absl::StrFormat(
          "CPU %.0f%% of %s", std::min(fraction, 1.0) * 100, cores));
    }
    const double waiting = held.waiting_threads();
    if (waiting >= limits.waiting_threads_per_core * held.usable_cores) {
      reasons.push_back(absl::StrFormat(
          "on average %.0f threads waited for its %s", waiting, cores));
    }
  }
  if (lag.count() > 0 && late_share > limits.late_fraction) {
    reasons.push_back(absl::StrFormat(
        "%.0f%% of open-loop operations started over %s late%s (p99 %.1f "
        "ms behind)",
        100.0 * late_share, duration::FormatDuration(limits.late_by),
        own_lag ? " with a worker free for them" : "",
        lag.Quantile(0.99) / 1e6));
  }
  if (reasons.empty()) return std::nullopt;
  return absl::StrJoin(reasons, "; ");
}

stats::HealthSample HealthSampleOf(const IntervalUpdate& update) {
  const stats::IntervalCounters& c = update.stats.counters;
  stats::HealthSample s;
  s.seconds = update.end_s - update.start_s;
  s.writes_ok = c.writes_ok;
  s.write_errors = c.write_errors;
  s.write_timeouts = c.write_timeouts;
  s.queue_full = c.queue_full;
  s.reads_ok = c.reads_ok;
  s.read_errors = c.read_errors;
  s.offered_writes = update.offered_writes;
  if (update.stats.write_latency.count() > 0) {
    s.write_p95_ns = update.stats.write_latency.Quantile(0.95);
    s.write_p99_ns = update.stats.write_latency.Quantile(0.99);
  }
  s.queue_utilization =
      update.queue_size > 0
          ? static_cast<double>(update.peak_queue_depth) / update.queue_size
          : 0;
  s.generator_bound_reason = GeneratorBoundReason(update).value_or("");
  s.final = update.final;
  return s;
}

}  // namespace loadtest::protocol
