// The controller's validity verdicts on one agent's interval beyond the
// generator's own (protocol/validity.h, which the agent also judges): was
// the store's WAL starved of checkpoints. Called by the aggregator.
// Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_VALIDITY_H_
#define LOADTEST_REPORT_VALIDITY_H_

#include <optional>
#include <string>

#include "protocol/run_spec.h"

namespace loadtest::report {

// A plain-words reason when the store's WAL was starved of checkpoints in
// that interval: it reached at least twice the length at which it should
// have started over (StoreInternals::wal_restart_bytes) while checkpoints
// were blocked, i.e. a reader held a snapshot older than its frames ("the
// WAL reached 70.1 MiB, 2.2x its 31.4 MiB restart point; 9 checkpoints
// blocked by a reader's old snapshot"). nullopt otherwise or without store
// figures.
std::optional<std::string> CheckpointStarvationReason(
    const protocol::IntervalUpdate& update);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_VALIDITY_H_
