// StoreInternals: what SQLite did inside the store during one log interval
// (WAL size, checkpoints, commit times, lock waits, page cache), so that a
// latency jump can be read next to its cause on the same timeline.
//
// BatchedStore::TakeInternals() returns one per interval: counters and
// histograms are deltas since the previous take, sizes are the interval's
// largest (WAL) or the value at the take (database file). Plain value types;
// one thread at a time, copy them to hand them over.
#ifndef LOADTEST_STORAGE_STORE_INTERNALS_H_
#define LOADTEST_STORAGE_STORE_INTERNALS_H_

#include <cstdint>

#include "stats/latency_histogram.h"

namespace loadtest::storage {

// Lock waits and page cache figures of one kind of connection (the writer,
// all readers together, or the checkpointer).
struct ConnectionActivity {
  // SQLITE_BUSY / SQLITE_LOCKED met: each wait the busy handler started,
  // plus each statement or checkpoint that returned BUSY or LOCKED.
  int64_t busy_events = 0;
  int64_t busy_wait_ns = 0;  // Time slept in the busy handler (Add saturates).
  // sqlite3_db_status: pages found in the connection's cache, read from the
  // file, written to it, and written early because the cache was full.
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t cache_writes = 0;
  int64_t cache_spills = 0;

  void Add(const ConnectionActivity& other);
};

struct StoreInternals {
  // Largest length of the WAL in use during the interval: frames x (page
  // size + 24) + 32 bytes, as the last commit left it.
  int64_t wal_bytes_max = 0;
  // The WAL length at which the writer completes a checkpoint itself so the
  // WAL starts over (StoreOptions::restart_pages). A WAL past it that keeps
  // growing is starved: a reader holds a snapshot older than its frames.
  int64_t wal_restart_bytes = 0;
  int64_t db_bytes = 0;  // The database file's size at the take.

  int64_t checkpoints = 0;        // PASSIVE checkpoints run (either thread).
  int64_t checkpoint_frames = 0;  // WAL frames they copied into the file.
  // Checkpoints that could not copy the whole WAL because a reader still
  // used older frames (or another checkpoint held the lock).
  int64_t checkpoints_blocked = 0;
  // The longest time the WAL stayed at or past wal_restart_bytes without
  // starting over, of the spans that ended in the interval or were still
  // going at its end (counted from their start, so the run's largest is the
  // longest span).
  int64_t wal_stuck_ns_max = 0;
  stats::LatencyHistogram checkpoint_latency;  // One sample per checkpoint.
  // The COMMIT statement alone (the sync cost), one sample per transaction
  // committed, apart from the batch's inserts.
  stats::LatencyHistogram commit_latency;
  // Syncs (fsync or fdatasync, as SQLite's unix VFS calls them) of the
  // database's files by the store's connections, counted by a shim VFS
  // (storage/internal/sync_counting_vfs.h), and their time summed: with
  // synchronous=FULL one per commit, plus a checkpoint's.
  int64_t fsyncs = 0;
  int64_t fsync_ns = 0;

  // CPU time the store's writer thread used (its thread CPU clock, read at
  // the take). One core is 1e9 per second: a writer near it is the store's
  // limit on this CPU.
  int64_t writer_cpu_ns = 0;

  ConnectionActivity writer;
  ConnectionActivity readers;
  ConnectionActivity checkpointer;

  // Adds a later interval of the same store: counts add, histograms merge,
  // sizes keep the largest (db_bytes the latest, which only grows).
  void AddInterval(const StoreInternals& later);
  // Adds another store's figures over the same interval (a total across
  // agents): counts add, histograms merge, sizes add, times keep the
  // longest.
  void AddStore(const StoreInternals& other);
  // Page cache hits over hits and misses, writer and readers together;
  // 0 when there was no lookup.
  double cache_hit_ratio() const;
};

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_STORE_INTERNALS_H_
