// The store's fsyncs. SQLite syncs its files inside its VFS (the unix VFS
// calls fsync or fdatasync from xSync), where no statement timer sees them
// apart from the rest of a COMMIT or a checkpoint. This VFS forwards every
// call to SQLite's default VFS and wraps each file it opens, counting the
// file's xSync calls and their time into the counters of the database the
// file belongs to (the database, its WAL, its rollback journal). A sync
// costs two clock reads and two relaxed atomic adds more; every other call
// one indirection.
//
// Internal to storage/. Safe from any thread.
#ifndef LOADTEST_STORAGE_INTERNAL_SYNC_COUNTING_VFS_H_
#define LOADTEST_STORAGE_INTERNAL_SYNC_COUNTING_VFS_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace loadtest::storage::internal {

// Running totals of one database's syncs, by every connection opened
// through the VFS. Safe from any thread.
struct SyncCounts {
  std::atomic<int64_t> syncs{0};
  std::atomic<int64_t> sync_ns{0};
};

// The environment variable that injects a slow disk for tests: every sync
// the VFS counts first sleeps this many milliseconds (1..60000), and the
// process says so on stderr. docs/faults.md.
inline constexpr char kSyncDelayVariable[] = "OPENTRAIL_FAULT_SYNC_DELAY_MS";

// Registers the VFS the first time (not as SQLite's default) and returns
// its name, for sqlite3_open_v2. Null when SQLite refused to register it:
// connections then open with the default VFS and count nothing.
const char* SyncCountingVfs();

// The counters of the database at `path` (as SQLite names it: the full path
// from the default VFS's xFullPathname), created on the first call and
// alive for the process (one small entry per database file ever counted).
// Two stores on one file share them.
SyncCounts* SyncCountsOf(const std::string& path);

}  // namespace loadtest::storage::internal

#endif  // LOADTEST_STORAGE_INTERNAL_SYNC_COUNTING_VFS_H_
