// StoreOptions: everything BatchedStore::Open needs to know, validated by
// ValidateStoreOptions before any file is touched.
#ifndef LOADTEST_STORAGE_STORE_OPTIONS_H_
#define LOADTEST_STORAGE_STORE_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadtest::storage {

// `full` is the original OpenTrail schema (FTS5 on message, twelve indexes,
// insert/update/delete triggers) so figures compare with the original;
// `lean` keeps only the primary key and a timestamp index.
enum class Schema { kFull, kLean };

// SQLite `PRAGMA synchronous` in WAL mode. kNormal (default) does not fsync on
// commit: a power loss may lose the last commits, an application crash cannot.
enum class SyncMode { kOff, kNormal, kFull };

// How the writer decides a batch is complete.
//  kGroupCommit (default): take everything queued (up to batch_size) and
//    start the transaction at once; rows queued while its rows are being
//    inserted join it (up to batch_size), and the batch commits when the
//    queue is empty or the batch is full. So it never waits for rows that
//    nobody is about to send (when every producer is blocked on this very
//    batch, lingering only adds latency), yet the callers acknowledged by
//    the previous batch, who come back while this one is written, share its
//    COMMIT instead of paying one of their own. Under load the queue never
//    empties and batches fill up.
//  kLinger: the original's rule: a batch closes at batch_size rows or
//    batch_timeout after its first row was queued, even when nobody else can
//    contribute. Kept to measure the difference
//    (store_bench --batch-policy=linger).
enum class BatchPolicy { kGroupCommit, kLinger };

// Where the write connection keeps SQLite's statement journals and temporary
// tables (PRAGMA temp_store).
//  kMemory (default): in memory. On the full schema every INSERT fires the
//    FTS5 trigger, so SQLite journals each page the statement changes (about
//    fifteen pages of 4 KiB a row, one per B-tree it touches) to be able to
//    undo the statement alone. Past 64 KiB such a journal spills to a
//    temporary file, and from then on until the COMMIT every journaled page
//    costs two system calls. In memory it is a copy. Measured: the full
//    schema's ceiling +60 % (docs/store-performance.md).
//  kFile: SQLite's default, spilling to a file in the temporary directory.
//    Kept to measure the difference (--temp-store=file).
enum class TempStore { kMemory, kFile };

// How the full schema's FTS5 index (logs_fts) learns of new rows.
//  kTrigger (default): OpenTrail's schema as it is: an AFTER INSERT trigger
//    indexes each row as it is inserted.
//  kBatch: no insert trigger; the writer indexes a batch's rows with one
//    INSERT ... SELECT just before the batch's COMMIT, in the same
//    transaction (kFtsFillSql), so a batch commits with its index entries
//    or not at all. FTS5 flushes its pending terms at the end of every
//    statement that opened a savepoint, which each trigger insert does; one
//    statement per batch writes them once. Searches return the same rows.
// The mode belongs to the file: opening a database in one mode creates or
// drops the insert trigger to match (both modes leave the index complete,
// so switching is safe); two stores writing one file at the same time must
// use the same mode.
enum class FtsSync { kTrigger, kBatch };

// An FTS5 setting left to SQLite (StoreOptions::fts_automerge etc.).
inline constexpr int kFtsDefault = -1;
// SQLite's own values of those settings (fts5_config.c), which the store
// writes into the file when a setting is left unset, so that a run's
// settings never depend on what an earlier run stored in the file.
inline constexpr int kFtsDefaultAutomerge = 4;
inline constexpr int kFtsDefaultCrisismerge = 16;
inline constexpr int kFtsDefaultPgsz = 4050;

struct StoreOptions {
  std::string path;  // Database file; created when missing.
  Schema schema = Schema::kFull;
  SyncMode sync = SyncMode::kNormal;
  BatchPolicy batch_policy = BatchPolicy::kGroupCommit;
  TempStore temp_store = TempStore::kMemory;
  FtsSync fts_sync = FtsSync::kTrigger;
  // FTS5's own settings of logs_fts (full schema), set with FTS5's
  // configuration commands at open and kept in the file; kFtsDefault (unset)
  // writes SQLite's default. automerge 0..64 (segments of one level merged
  // in the background of a write; 0 = never), crisismerge 2..1999 (segments
  // at which a level is merged at once, inside the write), pgsz 32..65536
  // (bytes of an index leaf page).
  int fts_automerge = kFtsDefault;
  int fts_crisismerge = kFtsDefault;
  int fts_pgsz = kFtsDefault;
  bool fresh = false;  // Drop existing log tables first (never deletes files).
  // Refuse a path with a symbolic link anywhere in it (SQLITE_OPEN_NOFOLLOW
  // on every connection the store opens), so a link planted beside the
  // database between a check and the open cannot lead writes elsewhere.
  // The agent sets it for the databases in its (canonical) data directory.
  bool refuse_symlinks = false;

  int batch_size = 100;                                   // 1..100000
  std::chrono::nanoseconds batch_timeout = std::chrono::milliseconds(10);
  int queue_size = 10000;                                 // >= batch_size
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds busy_timeout = std::chrono::seconds(5);

  // Every checkpoint_pages new WAL frames the background checkpointer runs a
  // PASSIVE checkpoint on its own connection; the writer never waits for it.
  // (Not after every commit once the WAL is that long: the pages every
  // commit rewrites are then copied once per checkpoint, not once a commit;
  // the checkpointer's CPU halved, docs/store-performance.md; 500 rather
  // than 1000 measured write p99 35 against 42 ms at the same rate.) With
  // commits going on, a PASSIVE checkpoint never quite catches up, and SQLite
  // starts the WAL over only when a write begins with the WAL fully copied,
  // so the WAL would grow without bound. Once it holds restart_pages frames
  // the writer, between two batches, copies the few frames still missing
  // itself (a short pause instead of SQLite's inline auto-checkpoint of
  // everything), and the next batch starts the WAL from its beginning.
  int checkpoint_pages = 500;
  int restart_pages = 8000;

  // SQLite page cache of the write connection, in KiB (PRAGMA cache_size=-N),
  // 1024..4194304. SQLite's own default is 2000 KiB; the full schema's twelve
  // indexes and FTS segments are re-read from the OS page cache every commit
  // at that size. Chosen by measurement: docs/store-performance.md.
  int cache_size_kib = 2000;

  // Read side. Each reader connection maps up to this many MiB of the
  // database file (PRAGMA mmap_size), 0..65536, 0 = off: a reader's page
  // cache is discarded whenever a commit changed the file, so without a map
  // every search copies its pages from the OS again (a system call and an
  // allocation per page).
  int reader_mmap_mib = 0;
  // Writer priority over readers, 0..19, 0 = off: the thread that runs a
  // StoreReader's searches lowers its own scheduling priority to this nice
  // value (Linux, per thread; the thread keeps it afterwards), so that on a
  // busy machine the writer thread wins the CPU. Raising one's own nice
  // needs no privilege. 5 measured: burst scenario store/ceiling 0.587 ->
  // 0.623, reads/s 2,438 -> 2,283 (docs/store-performance.md).
  int reader_nice = 5;

  // Collect SQLite's internals (StoreInternals: commit and checkpoint times,
  // WAL length, lock waits, page cache) and their metrics. Off only to
  // measure what collecting costs (store_bench --no-internals).
  bool collect_internals = true;
};

// Returns InvalidArgument naming the first bad field and its value.
absl::Status ValidateStoreOptions(const StoreOptions& options);

// Parsers for the textual forms used by flags ("full"/"lean",
// "off"/"normal"/"full", "group"/"linger", "memory"/"file",
// "trigger"/"batch"). InvalidArgument
// on anything else, naming the flag.
absl::StatusOr<Schema> ParseSchema(const std::string& text);
absl::StatusOr<SyncMode> ParseSyncMode(const std::string& text);
absl::StatusOr<BatchPolicy> ParseBatchPolicy(const std::string& text);
absl::StatusOr<TempStore> ParseTempStore(const std::string& text);
absl::StatusOr<FtsSync> ParseFtsSync(const std::string& text);
const char* SchemaName(Schema schema);
const char* SyncModeName(SyncMode sync);
const char* BatchPolicyName(BatchPolicy policy);
const char* TempStoreName(TempStore temp_store);
const char* FtsSyncName(FtsSync fts_sync);
// The FTS settings that differ from the defaults, for a run's header:
// "" with all defaults, else e.g. "fts batch, automerge 8".
std::string FtsSettingsText(const StoreOptions& options);

}  // namespace loadtest::storage

#endif  // LOADTEST_STORAGE_STORE_OPTIONS_H_
