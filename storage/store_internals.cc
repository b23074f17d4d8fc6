#include "storage/store_internals.h"

#include <algorithm>
#include <limits>

namespace loadtest::storage {

namespace {

// Times summed over many connections, intervals and agents: saturate
// rather than wrap (each is non-negative).
int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b
             ? std::numeric_limits<int64_t>::max()
             : a + b;
}

}  // namespace

void ConnectionActivity::Add(const ConnectionActivity& o) {
  busy_events += o.busy_events;
  busy_wait_ns = SaturatingAdd(busy_wait_ns, o.busy_wait_ns);
  cache_hits += o.cache_hits;
  cache_misses += o.cache_misses;
  cache_writes += o.cache_writes;
  cache_spills += o.cache_spills;
}

namespace {

// What both ways of adding share: everything counted adds up.
void AddCounts(const StoreInternals& o, StoreInternals* s) {
  s->checkpoints += o.checkpoints;
  s->checkpoint_frames += o.checkpoint_frames;
  s->writer_cpu_ns += o.writer_cpu_ns;
  s->checkpoints_blocked += o.checkpoints_blocked;
  s->wal_stuck_ns_max = std::max(s->wal_stuck_ns_max, o.wal_stuck_ns_max);
  s->checkpoint_latency.Merge(o.checkpoint_latency);
  s->commit_latency.Merge(o.commit_latency);
  s->fsyncs += o.fsyncs;
  s->fsync_ns = SaturatingAdd(s->fsync_ns, o.fsync_ns);
  s->writer.Add(o.writer);
  s->readers.Add(o.readers);
  s->checkpointer.Add(o.checkpointer);
}

}  // namespace

void StoreInternals::AddInterval(const StoreInternals& later) {
  wal_bytes_max = std::max(wal_bytes_max, later.wal_bytes_max);
  wal_restart_bytes = std::max(wal_restart_bytes, later.wal_restart_bytes);
  db_bytes = std::max(db_bytes, later.db_bytes);
  AddCounts(later, this);
}

void StoreInternals::AddStore(const StoreInternals& other) {
  wal_bytes_max += other.wal_bytes_max;
  wal_restart_bytes += other.wal_restart_bytes;
  db_bytes += other.db_bytes;
  AddCounts(other, this);
}

double StoreInternals::cache_hit_ratio() const {
  const int64_t hits = writer.cache_hits + readers.cache_hits;
  const int64_t lookups =
      hits + writer.cache_misses + readers.cache_misses;
  return lookups > 0 ? static_cast<double>(hits) / lookups : 0;
}

}  // namespace loadtest::storage
