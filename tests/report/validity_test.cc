#include "report/validity.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using protocol::IntervalUpdate;

IntervalUpdate WithWal(int64_t wal_bytes_max, int64_t blocked) {
  IntervalUpdate u;
  u.sequence = 1;
  storage::StoreInternals s;
  s.wal_restart_bytes = 32 << 20;
  s.wal_bytes_max = wal_bytes_max;
  s.checkpoints_blocked = blocked;
  u.store = s;
  return u;
}

TEST(ValidityTest, AWalTwiceItsRestartPointWithBlockedCheckpointsIsStarved) {
  const auto reason = CheckpointStarvationReason(WithWal(80 << 20, 9));
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason,
            "the WAL reached 80.0 MiB, 2.5x its 32.0 MiB restart point; 9 "
            "checkpoints blocked by a reader's old snapshot");
  // Long but checkpoints went through, or blocked but short: not starved.
  EXPECT_FALSE(CheckpointStarvationReason(WithWal(80 << 20, 0)).has_value());
  EXPECT_FALSE(CheckpointStarvationReason(WithWal(40 << 20, 9)).has_value());
  IntervalUpdate bare;
  EXPECT_FALSE(CheckpointStarvationReason(bare).has_value());
}

}  // namespace
}  // namespace loadtest::report
