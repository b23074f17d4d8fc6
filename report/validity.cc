#include "report/validity.h"

#include "absl/strings/str_format.h"

namespace loadtest::report {

std::optional<std::string> CheckpointStarvationReason(
    const protocol::IntervalUpdate& update) {
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

}  // namespace loadtest::report
