#include "storage/internal/wal_checkpointer.h"

#include <pthread.h>

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
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    sqlite3* write_db, const StoreOptions& options,
    prometheus::Counter* checkpoints) {
  ASSIGN_OR_RETURN(
      Connection db,
      OpenConnection(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                     static_cast<int>(options.busy_timeout.count())));
  // A connection learns the file is in WAL mode when it first reads it;
  // until then a checkpoint on it is a silent no-op.
  RETURN_IF_ERROR(
      QueryText(db.get(), "PRAGMA journal_mode=WAL", options.path).status());
  std::unique_ptr<WalCheckpointer> checkpointer(
      new WalCheckpointer(write_db, options, std::move(db), checkpoints));
  // Replaces SQLite's auto-checkpoint with the hand-off to our thread.
  sqlite3_wal_hook(write_db, &WalCheckpointer::WalHook, checkpointer.get());
  WalCheckpointer* self = checkpointer.get();
  checkpointer->thread_ = std::thread([self] { self->Loop(); });
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(sqlite3* write_db, const StoreOptions& options,
                                 Connection checkpoint_db,
                                 prometheus::Counter* checkpoints)
    : write_db_(write_db),
      checkpoint_pages_(options.checkpoint_pages),
      restart_pages_(options.restart_pages),
      metric_(checkpoints),
      checkpoint_db_(std::move(checkpoint_db)) {}

WalCheckpointer::~WalCheckpointer() { Stop(); }

int WalCheckpointer::WalHook(void* self, sqlite3*, const char*, int pages) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  checkpointer->wal_pages_ = pages;  // On the writer thread, inside COMMIT.
  if (pages >= checkpointer->checkpoint_pages_) {
    sync::MutexLock lock(&checkpointer->mu_);
    if (!checkpointer->wanted_) {
      checkpointer->wanted_ = true;
      checkpointer->cv_.NotifyOne();
    }
  }
  return SQLITE_OK;
}

void WalCheckpointer::Count() {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  if (metric_ != nullptr) metric_->Increment();
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
    int wal_frames = 0, checkpointed = 0;
    const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_.get(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE,
                                             &wal_frames, &checkpointed);
    if (rc == SQLITE_OK && wal_frames >= 0) Count();
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
  int wal_frames = 0, checkpointed = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(write_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                &wal_frames, &checkpointed);
  if (rc == SQLITE_BUSY) return;  // The checkpointer is at it; next batch.
  next_completion_attempt_ = wal_pages_ + checkpoint_pages_;
  if (rc == SQLITE_OK && wal_frames >= 0) Count();
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
