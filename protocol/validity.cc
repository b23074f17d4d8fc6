#include "protocol/validity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/flag_set.h"

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
  std::vector<std::string> reasons;
  if (update.process.has_value()) {
    const ProcessFigures& p = *update.process;
    const double fraction = p.cpu_fraction();
    if (fraction >= limits.cpu_fraction) {
      reasons.push_back(absl::StrFormat("CPU %.0f%% of %s",
                                        std::min(fraction, 1.0) * 100,
                                        CoresText(p.usable_cores)));
    }
    const double waiting = p.waiting_threads();
    if (p.usable_cores > 0 &&
        waiting >= limits.waiting_threads_per_core * p.usable_cores) {
      reasons.push_back(absl::StrFormat(
          "on average %.0f threads waited for its %s", waiting,
          CoresText(p.usable_cores)));
    }
  }
  const stats::LatencyHistogram& lag = update.stats.schedule_lag;
  // Operations whose lag lies above late_by (a bucket counts when its lower
  // bound does: the histogram's 1% resolution).
  uint64_t late = 0;
  const int64_t late_by_ns = limits.late_by.count();
  for (const stats::LatencyHistogram::SparseBucket& b : lag.ToSparse()) {
    if (stats::LatencyHistogram::BucketLowerBound(b.index) > late_by_ns) {
      late += b.count;
    }
  }
  if (lag.count() > 0 &&
      static_cast<double>(late) >
          limits.late_fraction * static_cast<double>(lag.count())) {
    reasons.push_back(absl::StrFormat(
        "%.0f%% of open-loop operations started over %s late (p99 %.1f ms "
        "behind)",
        100.0 * static_cast<double>(late) / static_cast<double>(lag.count()),
        cli::FormatDuration(limits.late_by), lag.Quantile(0.99) / 1e6));
  }
  if (reasons.empty()) return std::nullopt;
  return absl::StrJoin(reasons, "; ");
}

std::optional<std::string> CheckpointStarvationReason(
    const IntervalUpdate& update) {
  if (!update.store.has_value()) return std::nullopt;
  const storage::StoreInternals& s = *update.store;
  if (s.wal_restart_bytes <= 0 || s.checkpoints_blocked == 0 ||
      s.wal_bytes_max < 2 * s.wal_restart_bytes) {
    return std::nullopt;
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  return absl::StrFormat(
      "the WAL reached %.1f MiB, %.1fx its %.1f MiB restart point; %d "
      "checkpoint%s blocked by a reader's old snapshot",
      s.wal_bytes_max / kMiB,
      static_cast<double>(s.wal_bytes_max) / s.wal_restart_bytes,
      s.wal_restart_bytes / kMiB, s.checkpoints_blocked,
      s.checkpoints_blocked == 1 ? "" : "s");
}

}  // namespace loadtest::protocol
