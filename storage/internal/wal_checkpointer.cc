#include "storage/internal/wal_checkpointer.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"

namespace loadtest::storage::internal {
namespace {

const char* SynchronousPragma(SyncMode sync) {
  switch (sync) {
    case SyncMode::kOff:
      return "PRAGMA synchronous=OFF";
    case SyncMode::kFull:
      return "PRAGMA synchronous=FULL";
    case SyncMode::kNormal:
      break;
  }
  return "PRAGMA synchronous=NORMAL";
}

}  // namespace

absl::Status ApplyWriterPragmas(sqlite3* db, const StoreOptions& options) {
  const std::string& path = options.path;
  ASSIGN_OR_RETURN(std::string mode,
                   QueryText(db, "PRAGMA journal_mode=WAL", path));
  if (mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": cannot switch to WAL journal mode (got \"", mode, "\")"));
  }
  RETURN_IF_ERROR(Exec(db, SynchronousPragma(options.sync), path));
  // When the WAL restarts, a file grown past 64 MiB is cut back.
  RETURN_IF_ERROR(
      QueryText(db, "PRAGMA journal_size_limit=67108864", path).status());
  // A negative cache_size is in KiB.
  RETURN_IF_ERROR(Exec(
      db, absl::StrCat("PRAGMA cache_size=-", options.cache_size_kib), path));
  // Statement journals in memory or in temporary files (StoreOptions).
  RETURN_IF_ERROR(Exec(db,
                       options.temp_store == TempStore::kMemory
                           ? "PRAGMA temp_store=MEMORY"
                           : "PRAGMA temp_store=FILE",
                       path));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    sqlite3* write_db, const StoreOptions& options, StoreMetrics* metrics,
    ConnectionCounters* writer, ConnectionCounters* checkpointer) {
  ASSIGN_OR_RETURN(
      Connection db,
      OpenConnection(options.path,
                     OpenFlags(options, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX),
                     static_cast<int>(options.busy_timeout.count()),
                     checkpointer, StoreVfs(options)));
  // A connection learns the file is in WAL mode when it first reads it;
  // until then a checkpoint on it is a silent no-op.
  RETURN_IF_ERROR(
      QueryText(db.get(), "PRAGMA journal_mode=WAL", options.path).status());
  ASSIGN_OR_RETURN(const int64_t page_size,
                   QueryInt(write_db, "PRAGMA page_size", options.path));
  std::unique_ptr<WalCheckpointer> self(new WalCheckpointer(
      write_db, options, std::move(db), static_cast<int>(page_size), metrics,
      writer, checkpointer));
  // Replaces SQLite's auto-checkpoint with the hand-off to our thread.
  sqlite3_wal_hook(write_db, &WalCheckpointer::WalHook, self.get());
  WalCheckpointer* raw = self.get();
  self->thread_ = std::thread([raw] { raw->Loop(); });
  return self;
}

WalCheckpointer::WalCheckpointer(sqlite3* write_db, const StoreOptions& options,
                                 Connection checkpoint_db, int page_size,
                                 StoreMetrics* metrics,
                                 ConnectionCounters* writer,
                                 ConnectionCounters* checkpointer)
    : write_db_(write_db),
      checkpoint_pages_(options.checkpoint_pages),
      restart_pages_(options.restart_pages),
      collect_(options.collect_internals),
      page_size_(page_size),
      metrics_(metrics),
      writer_counters_(writer),
      checkpointer_counters_(checkpointer),
      checkpoint_db_(std::move(checkpoint_db)) {}

WalCheckpointer::~WalCheckpointer() { Stop(); }

int64_t WalCheckpointer::WalBytes(int64_t frames) const {
  // The WAL's 32-byte header, then each frame's 24-byte header and page.
  return frames > 0 ? 32 + frames * (int64_t{page_size_} + 24) : 0;
}

int WalCheckpointer::WalHook(void* self, sqlite3*, const char*, int pages) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  checkpointer->wal_pages_ = pages;  // On the writer thread, inside COMMIT.
  if (checkpointer->collect_) {
    const int64_t bytes = checkpointer->WalBytes(pages);
    if (checkpointer->metrics_ != nullptr) {
      checkpointer->metrics_->wal_bytes.Set(static_cast<double>(bytes));
    }
    sync::MutexLock lock(&checkpointer->figures_mu_);
    StoreInternals& f = checkpointer->figures_;
    checkpointer->wal_bytes_ = bytes;
    f.wal_bytes_max = std::max(f.wal_bytes_max, bytes);
    const bool stuck = pages >= checkpointer->restart_pages_;
    if (stuck != checkpointer->stuck_) {
      const Clock::time_point now = Clock::now();
      if (stuck) {
        checkpointer->stuck_since_ = now;
      } else {
        // The WAL started over: the span it could not ends here.
        f.wal_stuck_ns_max = std::max<int64_t>(
            f.wal_stuck_ns_max,
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                now - checkpointer->stuck_since_)
                .count());
      }
      checkpointer->stuck_ = stuck;
    }
  }
  // A checkpoint every checkpoint_pages new frames (counted from the last
  // request, or from the WAL's start once it started over), not after every
  // commit: a hot page (an index's last leaf, the FTS structure) rewritten
  // by each of those commits is then copied once rather than once a commit.
  if (pages < checkpointer->requested_at_) checkpointer->requested_at_ = 0;
  if (pages - checkpointer->requested_at_ >= checkpointer->checkpoint_pages_) {
    checkpointer->requested_at_ = pages;
    sync::MutexLock lock(&checkpointer->mu_);
    if (!checkpointer->wanted_) {
      checkpointer->wanted_ = true;
      checkpointer->cv_.NotifyOne();
    }
  }
  return SQLITE_OK;
}

int WalCheckpointer::Checkpoint(sqlite3* db, ConnectionCounters* counters) {
  const Clock::time_point start = collect_ ? Clock::now() : Clock::time_point();
  int wal_frames = 0, checkpointed = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &wal_frames, &checkpointed);
  const bool ran = rc == SQLITE_OK && wal_frames >= 0;
  if (ran) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
    if (metrics_ != nullptr) metrics_->checkpoints.Increment();
  }
  if (!collect_) return rc;
  const int primary = rc & 0xff;
  if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) &&
      counters != nullptr) {
    counters->CountBusy();  // PASSIVE never calls the busy handler.
  }
  if (counters != nullptr) counters->AddCacheStatus(db);
  if (!ran) return rc;
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         Clock::now() - start)
                         .count();
  // Frames the WAL holds that this checkpoint could not copy: a reader
  // still reads older frames (PASSIVE copies only what no reader needs).
  const bool blocked = checkpointed < wal_frames;
  int64_t copied = 0;
  {
    sync::MutexLock lock(&figures_mu_);
    // A smaller backfill than last time: the WAL started over since.
    copied = checkpointed >= backfilled_ ? checkpointed - backfilled_
                                         : checkpointed;
    backfilled_ = checkpointed;
    ++figures_.checkpoints;
    figures_.checkpoint_frames += copied;
    figures_.checkpoints_blocked += blocked ? 1 : 0;
    figures_.checkpoint_latency.Record(ns);
  }
  if (metrics_ != nullptr) {
    metrics_->checkpoint_duration.Observe(static_cast<double>(ns) / 1e9);
    metrics_->checkpoint_frames.Increment(static_cast<double>(copied));
    if (blocked) metrics_->checkpoints_blocked.Increment();
  }
  return rc;
}

void WalCheckpointer::Loop() {
  pthread_setname_np(pthread_self(), "store-ckpt");
  sync::MutexLock lock(&mu_);
  while (true) {
    while (!wanted_ && !stop_) cv_.Wait(&mu_);
    if (stop_) return;
    wanted_ = false;
    mu_.Unlock();
    // PASSIVE never takes the write lock: commits go on beside it. Errors
    // (e.g. BUSY while readers hold old snapshots) only delay the next one.
    (void)Checkpoint(checkpoint_db_.get(), checkpointer_counters_);
    mu_.Lock();
  }
}

void WalCheckpointer::AfterCommit() {
  if (wal_pages_ < restart_pages_) {
    next_completion_attempt_ = 0;
    return;
  }
  if (wal_pages_ < next_completion_attempt_) return;
  // Between transactions, as the only writer: this copies the frames the
  // background checkpointer has not reached yet (a few commits' worth) and
  // so completes. The next BEGIN then finds the WAL fully copied and starts
  // it over from the beginning, unless a reader still uses old frames; in
  // that case try again after another checkpoint_pages frames.
  const int rc = Checkpoint(write_db_, writer_counters_);
  if (rc == SQLITE_BUSY) return;  // The checkpointer is at it; next batch.
  next_completion_attempt_ = wal_pages_ + checkpoint_pages_;
}

StoreInternals WalCheckpointer::TakeFigures() {
  StoreInternals taken;
  const Clock::time_point now = Clock::now();
  sync::MutexLock lock(&figures_mu_);
  std::swap(taken, figures_);
  taken.wal_restart_bytes = WalBytes(restart_pages_);
  if (stuck_) {
    taken.wal_stuck_ns_max = std::max<int64_t>(
        taken.wal_stuck_ns_max,
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - stuck_since_)
            .count());
  }
  // The WAL is still as long as the last commit left it.
  figures_.wal_bytes_max = wal_bytes_;
  taken.wal_bytes_max = std::max(taken.wal_bytes_max, wal_bytes_);
  return taken;
}

void WalCheckpointer::Stop() {
  {
    sync::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
    cv_.NotifyOne();
  }
  if (thread_.joinable()) thread_.join();
  sqlite3_wal_hook(write_db_, nullptr, nullptr);
  checkpoint_db_.reset();
}

}  // namespace loadtest::storage::internal
