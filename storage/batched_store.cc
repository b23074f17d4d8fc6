#include "storage/batched_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "status/status_macros.h"
#include "storage/internal/sqlite_util.h"
#include "storage/internal/sync_counting_vfs.h"
#include "storage/internal/wal_checkpointer.h"
#include "storage/schema.h"
#include "sync/completion.h"
#include "sync/mutex.h"

namespace loadtest::storage {
namespace {

// Marks Write()'s refusal of a full queue (IsQueueFull).
constexpr char kQueueFullPayload[] = "opentrail.load/store-queue-full";

using Clock = std::chrono::steady_clock;
using internal::Connection;
using internal::Statement;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One Write() or WriteAsync() call. Shared by the caller and the writer
// thread so that a caller that timed out can return while the writer still
// holds the entry.
struct Request {
  enum class State { kQueued, kInBatch, kDone };

  explicit Request(LogEntry e) : entry(std::move(e)) {}

  // Who may touch what (an ownership hand-over the compiler's lock
  // annotations cannot express, since the mutex is the store's, not the
  // request's):
  //   - `entry`: set before the request is queued, then only read;
  //     `enqueued`: set as it is queued (under the store's mutex), then
  //     only read.
  //   - `state`, `abandoned`, `on_done`: under the store's mutex only once
  //     queued; whoever moves `on_done` out (the acknowledger delivering or
  //     timing out the write) calls it, so it is called once.
  //   - `status`, `id`: written by the writer thread alone while `state` is
  //     kInBatch (no lock: no one else reads them then), published by
  //     setting `state` to kDone under the store's mutex and then setting
  //     `done`; read by the caller only after `done` was set, or after it
  //     saw kDone under that mutex.
  LogEntry entry;
  Clock::time_point enqueued;
  State state = State::kQueued;
  bool abandoned = false;  // The caller timed out and left.
  WriteDone on_done;       // WriteAsync's callback; empty for Write().
  absl::Status status;
  int64_t id = 0;
  // Set by the acknowledger once the outcome is counted. The caller waits
  // on it without the store's mutex, so a woken caller does not queue on
  // that lock again before its next Write().
  sync::Completion done;
};

using RequestPtr = std::shared_ptr<Request>;

constexpr char kSelectColumns[] =
    "SELECT id, priority, facility, severity, version, timestamp, hostname, "
    "app_name, proc_id, msg_id, structured_data, message FROM logs ";

// Assigns into `out`, reusing its buffer.
void ColumnText(sqlite3_stmt* stmt, int column, std::string* out) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) {
    out->clear();
  } else {
    out->assign(reinterpret_cast<const char*>(text),
                sqlite3_column_bytes(stmt, column));
  }
}

absl::string_view ColumnView(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  return text == nullptr
             ? absl::string_view()
             : absl::string_view(reinterpret_cast<const char*>(text),
                                 sqlite3_column_bytes(stmt, column));
}

// Lowers the calling thread's scheduling priority to `nice` once (Linux: a
// per-thread nice value). Best effort: a failure leaves the priority as is.
void LowerThisThreadPriority(int nice) {
  thread_local int applied = 0;
  if (nice <= applied) return;
  applied = nice;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && current >= nice) return;
  (void)setpriority(PRIO_PROCESS, tid, nice);
}

// A read-only connection with its prepared searches.
class SqliteReader : public StoreReader {
 public:
  // `counters` (may be null: not collected) must outlive the reader.
  SqliteReader(std::string path, Connection db, bool has_fts, int nice,
               StoreMetrics* metrics, internal::ConnectionCounters* counters)
      : path_(std::move(path)),
        db_(std::move(db)),
        has_fts_(has_fts),
        nice_(nice),
        metrics_(metrics),
        counters_(counters) {
    // SQLite calls this every kCancelCheckSteps VM steps of a query; a
    // non-zero return ends the query with SQLITE_INTERRUPT.
    sqlite3_progress_handler(
        db_.get(), kCancelCheckSteps,
        [](void* cancelled) -> int {
          return static_cast<std::atomic<bool>*>(cancelled)->load(
                     std::memory_order_relaxed)
                     ? 1
                     : 0;
        },
        &cancelled_);
  }

  void Cancel() override { cancelled_.store(true, std::memory_order_relaxed); }

  absl::Status Prepare() {
    ASSIGN_OR_RETURN(
        text_,
        internal::Prepare(
            db_.get(),
            has_fts_
                ? absl::StrCat(kSelectColumns,
                               "WHERE id IN (SELECT rowid FROM logs_fts WHERE "
                               "logs_fts MATCH ?1 ORDER BY rowid DESC LIMIT "
                               "?2) ORDER BY id DESC")
                // The lean schema has no FTS index: a substring scan from
                // the newest row, stopping at the limit.
                : absl::StrCat(kSelectColumns,
                               "WHERE instr(message, ?1) > 0 "
                               "ORDER BY id DESC LIMIT ?2"),
            path_));
    ASSIGN_OR_RETURN(
        hostname_,
        internal::Prepare(db_.get(),
                          absl::StrCat(kSelectColumns,
                                       "WHERE hostname = ?1 ORDER BY id DESC "
                                       "LIMIT ?2"),
                          path_));
    ASSIGN_OR_RETURN(
        app_name_,
        internal::Prepare(db_.get(),
                          absl::StrCat(kSelectColumns,
                                       "WHERE app_name = ?1 ORDER BY id DESC "
                                       "LIMIT ?2"),
                          path_));
    ASSIGN_OR_RETURN(
        recent_,
        internal::Prepare(db_.get(),
                          absl::StrCat(kSelectColumns,
                                       "ORDER BY id DESC LIMIT ?2"),
                          path_));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<StoredLog>> SearchText(
      const std::string& fts_query, int limit) override {
    return Run(text_.get(), &fts_query, limit, "text search");
  }
  absl::StatusOr<std::vector<StoredLog>> ByHostname(
      const std::string& hostname, int limit) override {
    return Run(hostname_.get(), &hostname, limit, "hostname search");
  }
  absl::StatusOr<std::vector<StoredLog>> ByAppName(const std::string& app_name,
                                                   int limit) override {
    return Run(app_name_.get(), &app_name, limit, "app name search");
  }
  absl::StatusOr<std::vector<StoredLog>> Recent(int limit) override {
    return Run(recent_.get(), nullptr, limit, "recent search");
  }

  absl::StatusOr<int64_t> CountRows() override {
    return internal::QueryInt(db_.get(), "SELECT count(*) FROM logs", path_);
  }

 private:
  absl::StatusOr<std::vector<StoredLog>> Run(sqlite3_stmt* stmt,
                                             const std::string* arg, int limit,
                                             const char* what) {
    if (nice_ > 0) LowerThisThreadPriority(nice_);
    const Clock::time_point start = Clock::now();
    auto result = RunQuery(stmt, arg, limit, what);
    if (counters_ != nullptr) counters_->AddCacheStatus(db_.get());
    if (metrics_ != nullptr) {
      metrics_->read_requests.Increment();
      if (result.ok()) {
        metrics_->read_duration.Observe(Seconds(Clock::now() - start));
      } else {
        metrics_->read_errors.Increment();
      }
    }
    return result;
  }

  absl::StatusOr<std::vector<StoredLog>> RunQuery(sqlite3_stmt* stmt,
                                                  const std::string* arg,
                                                  int limit, const char* what) {
    if (limit < 1 || limit > 100000) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " limit must be between 1 and 100000, got ", limit));
    }
    sqlite3_reset(stmt);
    if (arg != nullptr) {
      sqlite3_bind_text(stmt, 1, arg->data(), static_cast<int>(arg->size()),
                        SQLITE_STATIC);
    }
    sqlite3_bind_int(stmt, 2, limit);
    std::vector<StoredLog> rows;
    rows.reserve(static_cast<size_t>(std::min(limit, 64)));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      StoredLog& row = rows.emplace_back();
      row.id = sqlite3_column_int64(stmt, 0);
      row.entry.priority = sqlite3_column_int(stmt, 1);
      row.entry.facility = sqlite3_column_int(stmt, 2);
      row.entry.severity = sqlite3_column_int(stmt, 3);
      row.entry.version = sqlite3_column_int(stmt, 4);
      ParseTimestamp(ColumnView(stmt, 5), &row.entry.timestamp_ns);
      ColumnText(stmt, 6, &row.entry.hostname);
      ColumnText(stmt, 7, &row.entry.app_name);
      ColumnText(stmt, 8, &row.entry.proc_id);
      ColumnText(stmt, 9, &row.entry.msg_id);
      ColumnText(stmt, 10, &row.entry.structured_data);
      ColumnText(stmt, 11, &row.entry.message);
    }
    absl::Status status;
    if ((rc & 0xff) == SQLITE_INTERRUPT && cancelled_.load()) {
      status = absl::CancelledError(
          absl::StrCat(what, " on ", path_, " cancelled: the reader is stopping"));
    } else if (rc != SQLITE_DONE) {
      status = internal::SqliteError(rc, db_.get(), what, path_);
      // A malformed FTS5 query (SQLITE_ERROR from the MATCH) is the
      // caller's input, not a store failure.
      if (stmt == text_.get() && has_fts_ && (rc & 0xff) == SQLITE_ERROR) {
        status = absl::InvalidArgumentError(
            absl::StrCat(what, " query \"", arg != nullptr ? *arg : "",
                         "\" is not valid FTS5: ", sqlite3_errmsg(db_.get())));
      }
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!status.ok()) return status;
    return rows;
  }

  static constexpr int kCancelCheckSteps = 1000;

  const std::string path_;
  const Connection db_;
  const bool has_fts_;
  const int nice_;
  std::atomic<bool> cancelled_{false};
  StoreMetrics* const metrics_;
  internal::ConnectionCounters* const counters_;
  Statement text_, hostname_, app_name_, recent_;
};

}  // namespace

class BatchedStore::Impl {
 public:
  Impl(const StoreOptions& options, StoreMetrics* metrics)
      : options_(options), metrics_(metrics) {
    if (metrics_ != nullptr && options_.collect_internals) {
      writer_counters_.metrics = metrics_->writer;
      reader_counters_.metrics = metrics_->readers;
      checkpointer_counters_.metrics = metrics_->checkpointer;
    }
  }

  ~Impl() { (void)Close(); }

  absl::Status Start();
  absl::StatusOr<int64_t> Write(LogEntry entry);
  void WriteAsync(LogEntry entry, WriteDone done);
  absl::StatusOr<std::unique_ptr<StoreReader>> NewReader();
  absl::Status Close();
  StoreCounters counters() const;
  int queue_depth() const;
  int TakePeakQueueDepth();
  const StoreOptions& options() const { return options_; }
  std::string first_error() const {
    sync::MutexLock lock(&mu_);
    return first_error_;
  }
  StoreInternals TakeInternals();

 private:
  // Counts a Write() and queues its request, or refuses it (closed, queue
  // full) with the error Write() returns. A WriteAsync() request is also
  // kept in async_pending_; `*first_async` tells whether it is the only
  // one there (the acknowledger may be waiting without a deadline).
  absl::Status Enqueue(const RequestPtr& request, bool* first_async = nullptr);
  // Enqueue's part under mu_: *wake_writer says whether the writer waits
  // for this write (it is notified once the lock is released).
  absl::Status AddToQueue(const RequestPtr& request, bool* first_async,
                          bool* wake_writer);
  // Acknowledger thread: answers every WriteAsync() request whose deadline
  // passed without an outcome with DeadlineExceeded, as Write() would have
  // (counted a timeout; the row may still commit late). Returns the next
  // deadline of a request still waiting, if any.
  std::optional<Clock::time_point> ExpireAsyncWrites();
  // Writer thread: forms batches and commits them until closed and drained.
  void WriterLoop();
  // Takes live entries from the queue into `batch`, up to batch_size.
  void TakeQueued(std::vector<RequestPtr>* batch,
                  std::vector<Clock::time_point>* taken_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `batch` in one transaction; on failure rolls back and writes each
  // row alone. Sets each request's status and id (not yet visible: the
  // caller publishes them under mu_). Returns the transactions committed.
  // Under BatchPolicy::kGroupCommit, rows queued while the batch's rows are
  // being inserted join the open transaction (up to batch_size), so `batch`
  // and `taken_at` grow.
  int CommitBatch(std::vector<RequestPtr>* batch,
                  std::vector<Clock::time_point>* taken_at);
  int CommitRowsOneByOne(const std::vector<RequestPtr>& batch);
  int InsertRow(Request* request);  // Returns the SQLite result code.
  // Writes one row in a transaction of its own, with its index entry under
  // FtsSync::kBatch. False, with the request's status set, when it failed:
  // then neither the row nor an index entry of it remains.
  bool CommitOneRow(Request* request);
  // FtsSync::kBatch: indexes the open transaction's rows, those from
  // `first_id` on (kFtsFillSql).
  absl::Status FillFts(int64_t first_id);
  // Writer thread: one committed transaction's COMMIT took `took`; also
  // reads the write connection's page cache counters.
  void RecordCommit(Clock::duration took);
  absl::Status RunStatement(sqlite3_stmt* stmt, const char* what);
  // Counts the outcomes of a written batch and wakes its callers.
  void Deliver(const std::vector<RequestPtr>& batch, int transactions);
  // Acknowledger thread: Deliver()s committed batches in order, so that the
  // writer starts the next transaction instead of waking a caller per row
  // (each wake-up a system call on the writer's core, and often a caller
  // preempting the writer there).
  void AcknowledgerLoop();
  // Writer thread: if the acknowledger is still waking callers, waits until
  // it is done and returns true (those callers are about to write again);
  // returns false at once when it is idle.
  bool AwaitAcknowledgements();

  const StoreOptions options_;
  StoreMetrics* const metrics_;

  // Lock waits and page cache of each kind of connection; declared before
  // the connections, which count into them until they close.
  internal::ConnectionCounters writer_counters_;
  internal::ConnectionCounters reader_counters_;
  internal::ConnectionCounters checkpointer_counters_;
  // With collect_internals, the counters to give each kind of connection;
  // null otherwise.
  internal::ConnectionCounters* Counters(internal::ConnectionCounters* kind) {
    return options_.collect_internals ? kind : nullptr;
  }

  // The writer thread's CPU time, read by TakeInternals() from the
  // thread's CPU clock (one call per interval, none per batch). The thread
  // publishes its clock when it starts and, as it ends, its final CPU time
  // in place of the clock, both under internals_mu_: the clock is read
  // only while the thread is alive.
  struct WriterCpuClock {
    explicit WriterCpuClock(Impl* impl) : impl_(impl) {
      clockid_t clock;
      if (pthread_getcpuclockid(pthread_self(), &clock) != 0) return;
      sync::MutexLock lock(&impl_->internals_mu_);
      impl_->writer_clock_ = clock;
      impl_->writer_clock_valid_ = true;
    }
    ~WriterCpuClock() {
      const int64_t final_ns = CpuNs(CLOCK_THREAD_CPUTIME_ID);
      sync::MutexLock lock(&impl_->internals_mu_);
      impl_->writer_clock_valid_ = false;
      impl_->writer_cpu_final_ns_ = final_ns;
    }
    Impl* const impl_;
  };
  static int64_t CpuNs(clockid_t clock) {
    timespec ts{};
    if (clock_gettime(clock, &ts) != 0) return 0;
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
  clockid_t writer_clock_ ABSL_GUARDED_BY(internals_mu_){};
  bool writer_clock_valid_ ABSL_GUARDED_BY(internals_mu_) = false;
  int64_t writer_cpu_final_ns_ ABSL_GUARDED_BY(internals_mu_) = 0;
  int64_t taken_writer_cpu_ns_ ABSL_GUARDED_BY(internals_mu_) = 0;

  // The interval's COMMIT times (writer thread), and what TakeInternals()
  // last saw of the connection counters (its caller only).
  sync::Mutex internals_mu_;
  stats::LatencyHistogram commit_latency_ ABSL_GUARDED_BY(internals_mu_);
  ConnectionActivity taken_writer_ ABSL_GUARDED_BY(internals_mu_);
  ConnectionActivity taken_readers_ ABSL_GUARDED_BY(internals_mu_);
  ConnectionActivity taken_checkpointer_ ABSL_GUARDED_BY(internals_mu_);
  // With collect_internals, the syncs of the database's files (set by
  // Start, alive for the process), and their totals at the last take.
  internal::SyncCounts* sync_counts_ = nullptr;
  int64_t taken_fsyncs_ ABSL_GUARDED_BY(internals_mu_) = 0;
  int64_t taken_fsync_ns_ ABSL_GUARDED_BY(internals_mu_) = 0;

  // Owned by the writer thread once started (before: by Start, after: by
  // Close once the writer has been joined).
  Connection write_db_;
  Statement insert_, begin_, commit_, rollback_;
  Statement fts_fill_;  // Only under FtsSync::kBatch on the full schema.
  std::unique_ptr<internal::WalCheckpointer> checkpointer_;

  mutable sync::Mutex mu_;
  sync::CondVar writer_cv_;
  std::deque<RequestPtr> queue_ ABSL_GUARDED_BY(mu_);
  // WriteAsync() requests in the order they were queued, which is their
  // deadlines' order (one write_timeout for all), until answered; those
  // answered are dropped from the front.
  std::deque<RequestPtr> async_pending_ ABSL_GUARDED_BY(mu_);
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // The writer waits on writer_cv_ and nobody has woken it yet: the first
  // write queued since clears it and wakes the writer.
  bool writer_waiting_ ABSL_GUARDED_BY(mu_) = false;
  int peak_queue_depth_ ABSL_GUARDED_BY(mu_) = 0;
  StoreCounters counters_ ABSL_GUARDED_BY(mu_);
  absl::Status close_status_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;

  // Batches the writer has finished (committed or failed), for the
  // acknowledger thread.
  struct WrittenBatch {
    std::vector<RequestPtr> requests;
    int transactions = 0;
  };
  sync::Mutex ack_mu_;
  sync::CondVar ack_cv_;
  std::deque<WrittenBatch> written_ ABSL_GUARDED_BY(ack_mu_);
  bool delivering_ ABSL_GUARDED_BY(ack_mu_) = false;
  bool ack_stop_ ABSL_GUARDED_BY(ack_mu_) = false;
  // Set when a WriteAsync() request arrived while none was waiting: the
  // acknowledger looks at the deadlines again.
  bool async_arrived_ ABSL_GUARDED_BY(ack_mu_) = false;
  // The writer waits on this for the acknowledger to become idle.
  sync::CondVar ack_idle_cv_;
  bool writer_awaits_ack_ ABSL_GUARDED_BY(ack_mu_) = false;
  std::thread acknowledger_;

  std::once_flag close_once_;
};

absl::Status BatchedStore::Impl::Start() {
  const std::string& path = options_.path;
  if (options_.collect_internals) {
    sync_counts_ = internal::SyncCountsOf(path);
    sync::MutexLock lock(&internals_mu_);
    taken_fsyncs_ = sync_counts_->syncs.load(std::memory_order_relaxed);
    taken_fsync_ns_ = sync_counts_->sync_ns.load(std::memory_order_relaxed);
  }
  const int busy_ms = static_cast<int>(options_.busy_timeout.count());
  ASSIGN_OR_RETURN(
      write_db_,
      internal::OpenConnection(
          path,
          internal::OpenFlags(options_, SQLITE_OPEN_READWRITE |
                                            SQLITE_OPEN_CREATE |
                                            SQLITE_OPEN_NOMUTEX),
          busy_ms, Counters(&writer_counters_), internal::StoreVfs(options_)));
  if (sqlite3_db_readonly(write_db_.get(), "main") == 1) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, " is not writable (check the file's permissions)"));
  }
  RETURN_IF_ERROR(internal::ApplyWriterPragmas(write_db_.get(), options_));
  RETURN_IF_ERROR(ApplySchema(write_db_.get(), options_, options_.fresh));
  ASSIGN_OR_RETURN(insert_, internal::Prepare(write_db_.get(), kInsertSql, path));
  if (options_.schema == Schema::kFull &&
      options_.fts_sync == FtsSync::kBatch) {
    ASSIGN_OR_RETURN(fts_fill_,
                     internal::Prepare(write_db_.get(), kFtsFillSql, path));
  }
  ASSIGN_OR_RETURN(begin_,
                   internal::Prepare(write_db_.get(), "BEGIN IMMEDIATE", path));
  ASSIGN_OR_RETURN(commit_, internal::Prepare(write_db_.get(), "COMMIT", path));
  ASSIGN_OR_RETURN(rollback_,
                   internal::Prepare(write_db_.get(), "ROLLBACK", path));
  ASSIGN_OR_RETURN(
      checkpointer_,
      internal::WalCheckpointer::Start(write_db_.get(), options_, metrics_,
                                       Counters(&writer_counters_),
                                       Counters(&checkpointer_counters_)));
  acknowledger_ = std::thread([this] { AcknowledgerLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::Status BatchedStore::Impl::Enqueue(const RequestPtr& request,
                                         bool* first_async) {
  bool wake_writer = false;
  RETURN_IF_ERROR(AddToQueue(request, first_async, &wake_writer));
  // After the lock is released, so the writer does not wake into a lock
  // still held (a second futex call per write).
  if (wake_writer) writer_cv_.NotifyOne();
  return absl::OkStatus();
}

absl::Status BatchedStore::Impl::AddToQueue(const RequestPtr& request,
                                            bool* first_async,
                                            bool* wake_writer) {
  sync::MutexLock lock(&mu_);
  if (closing_) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", options_.path, " is closed"));
  }
  ++counters_.submitted;
  if (metrics_ != nullptr) metrics_->write_requests.Increment();
  const int depth = static_cast<int>(queue_.size());
  if (depth >= options_.queue_size) {
    ++counters_.queue_full;
    if (metrics_ != nullptr) metrics_->queue_full_errors.Increment();
    absl::Status full = absl::ResourceExhaustedError(
        absl::StrCat("write queue of ", options_.path, " is full (",
                     options_.queue_size, " entries, queue-size)"));
    full.SetPayload(kQueueFullPayload, absl::Cord("1"));
    return full;
  }
  // Stamped under the lock, so the queue (and async_pending_) is in the
  // order of the deadlines.
  request->enqueued = Clock::now();
  queue_.push_back(request);
  if (request->on_done) {
    *first_async = async_pending_.empty();
    async_pending_.push_back(request);
  }
  peak_queue_depth_ = std::max(peak_queue_depth_, depth + 1);
  if (metrics_ != nullptr) {
    metrics_->batch_queue_size.Set(depth + 1);
    metrics_->queue_utilization.Set(static_cast<double>(depth + 1) /
                                    options_.queue_size);
  }
  // One wake-up per wait: the writes queued before the writer runs again
  // need none.
  *wake_writer = writer_waiting_;
  writer_waiting_ = false;
  return absl::OkStatus();
}

namespace {

absl::Status TimeoutError(const StoreOptions& options, bool still_queued) {
  return absl::DeadlineExceededError(absl::StrCat(
      "write not committed within the write timeout of ",
      std::chrono::duration<double, std::milli>(options.write_timeout).count(),
      "ms (", still_queued ? "still queued" : "its batch is running", ")"));
}

}  // namespace

void BatchedStore::Impl::WriteAsync(LogEntry entry, WriteDone done) {
  auto request = std::make_shared<Request>(std::move(entry));
  request->on_done = std::move(done);
  bool first_async = false;
  absl::Status refused = Enqueue(request, &first_async);
  if (!refused.ok()) {
    // Never queued: nobody else holds the request.
    WriteDone on_done = std::move(request->on_done);
    on_done(std::move(refused));
    return;
  }
  if (first_async) {
    sync::MutexLock lock(&ack_mu_);
    async_arrived_ = true;
    ack_cv_.NotifyOne();
  }
}

std::optional<Clock::time_point> BatchedStore::Impl::ExpireAsyncWrites() {
  std::vector<std::pair<WriteDone, absl::Status>> expired;
  std::optional<Clock::time_point> next;
  {
    sync::MutexLock lock(&mu_);
    const Clock::time_point now = Clock::now();
    while (!async_pending_.empty()) {
      Request* r = async_pending_.front().get();
      if (r->on_done) {  // Not answered yet.
        const Clock::time_point deadline = r->enqueued + options_.write_timeout;
        if (deadline > now) {
          next = deadline;
          break;
        }
        r->abandoned = true;
        ++counters_.timeouts;
        if (metrics_ != nullptr) metrics_->write_timeouts.Increment();
        expired.emplace_back(
            std::move(r->on_done),
            TimeoutError(options_, r->state == Request::State::kQueued));
        r->on_done = nullptr;
      }
      async_pending_.pop_front();
    }
  }
  for (auto& [done, status] : expired) done(std::move(status));
  return next;
}

absl::StatusOr<int64_t> BatchedStore::Impl::Write(LogEntry entry) {
  auto request = std::make_shared<Request>(std::move(entry));
  RETURN_IF_ERROR(Enqueue(request));
  const Clock::time_point deadline = request->enqueued + options_.write_timeout;

  Request* r = request.get();
  // Done: nobody else reads the status any more, so the caller takes it
  // rather than sharing its error payload with the request.
  auto take = [r]() -> absl::StatusOr<int64_t> {
    if (!r->status.ok()) return std::move(r->status);
    return r->id;
  };
  if (r->done.WaitUntil(deadline)) return take();
  sync::MutexLock lock(&mu_);
  // Delivered between the deadline and this lock: still in time.
  if (r->state == Request::State::kDone) return take();
  r->abandoned = true;
  ++counters_.timeouts;
  if (metrics_ != nullptr) metrics_->write_timeouts.Increment();
  return TimeoutError(options_, r->state == Request::State::kQueued);
}

void BatchedStore::Impl::TakeQueued(std::vector<RequestPtr>* batch,
                                    std::vector<Clock::time_point>* taken_at) {
  const Clock::time_point now = Clock::now();
  while (!queue_.empty() &&
         static_cast<int>(batch->size()) < options_.batch_size) {
    RequestPtr request = std::move(queue_.front());
    queue_.pop_front();
    if (request->abandoned) {
      // Its caller timed out before the writer reached it: never written.
      ++counters_.abandoned;
      continue;
    }
    request->state = Request::State::kInBatch;
    taken_at->push_back(now);
    batch->push_back(std::move(request));
  }
  if (metrics_ != nullptr) {
    metrics_->batch_queue_size.Set(static_cast<double>(queue_.size()));
    metrics_->queue_utilization.Set(static_cast<double>(queue_.size()) /
                                    options_.queue_size);
  }
}

void BatchedStore::Impl::WriterLoop() {
  // Named so that top, perf and store_bench can tell its CPU time apart.
  pthread_setname_np(pthread_self(), "store-writer");
  const WriterCpuClock cpu_clock(this);
  std::vector<RequestPtr> batch;
  std::vector<Clock::time_point> taken_at;
  batch.reserve(std::min(options_.batch_size, 1024));
  taken_at.reserve(options_.batch_size);
  while (true) {
    batch.clear();
    taken_at.clear();
    {
      sync::MutexLock lock(&mu_);
      while (queue_.empty() && !closing_) {
        writer_waiting_ = true;
        writer_cv_.Wait(&mu_);
      }
      writer_waiting_ = false;
      if (queue_.empty()) return;  // Closing and drained.
      const Clock::time_point first_enqueued = queue_.front()->enqueued;
      TakeQueued(&batch, &taken_at);
      if (options_.batch_policy == BatchPolicy::kLinger) {
        const Clock::time_point close_at =
            first_enqueued + options_.batch_timeout;
        while (static_cast<int>(batch.size()) < options_.batch_size &&
               !closing_) {
          while (queue_.empty() && !closing_) {
            writer_waiting_ = true;
            if (writer_cv_.WaitUntil(&mu_, close_at)) break;
          }
          writer_waiting_ = false;
          if (queue_.empty()) break;  // The batch timeout passed, or closing.
          TakeQueued(&batch, &taken_at);
        }
      }
    }
    if (batch.empty()) continue;  // Everything taken had been abandoned.
    const int transactions = CommitBatch(&batch, &taken_at);
    if (metrics_ != nullptr) {
      for (size_t i = 0; i < batch.size(); ++i) {
        metrics_->queue_wait.Observe(Seconds(taken_at[i] - batch[i]->enqueued));
      }
    }
    {
      sync::MutexLock lock(&ack_mu_);
      written_.push_back({std::move(batch), transactions});
      ack_cv_.NotifyOne();
    }
    // The acknowledger owns the old vector now; a batch_size of up to
    // 100000 need not be reserved up front every time.
    batch = std::vector<RequestPtr>();
    batch.reserve(std::min(options_.batch_size, 1024));
    checkpointer_->AfterCommit();
  }
}

void BatchedStore::Impl::AcknowledgerLoop() {
  pthread_setname_np(pthread_self(), "store-ack");
  sync::MutexLock lock(&ack_mu_);
  while (true) {
    // The asynchronous writes past their deadline first (one look at the
    // oldest per batch delivered, or per wake-up at that deadline).
    ack_mu_.Unlock();
    const std::optional<Clock::time_point> deadline = ExpireAsyncWrites();
    ack_mu_.Lock();
    if (written_.empty()) {
      if (ack_stop_) return;  // Stopping, and everything delivered.
      if (async_arrived_) {
        async_arrived_ = false;
        continue;
      }
      if (deadline.has_value()) {
        ack_cv_.WaitUntil(&ack_mu_, *deadline);
      } else {
        ack_cv_.Wait(&ack_mu_);
      }
      continue;
    }
    WrittenBatch next = std::move(written_.front());
    written_.pop_front();
    delivering_ = true;
    ack_mu_.Unlock();
    Deliver(next.requests, next.transactions);
    ack_mu_.Lock();
    delivering_ = false;
    if (written_.empty() && writer_awaits_ack_) ack_idle_cv_.NotifyOne();
  }
}

bool BatchedStore::Impl::AwaitAcknowledgements() {
  sync::MutexLock lock(&ack_mu_);
  if (written_.empty() && !delivering_) return false;
  writer_awaits_ack_ = true;
  while (!written_.empty() || delivering_) ack_idle_cv_.Wait(&ack_mu_);
  writer_awaits_ack_ = false;
  return true;
}

int BatchedStore::Impl::InsertRow(Request* request) {
  sqlite3_stmt* stmt = insert_.get();
  std::string timestamp;
  BindInsert(stmt, request->entry, &timestamp);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    request->id = sqlite3_last_insert_rowid(write_db_.get());
    request->status = absl::OkStatus();
  } else {
    request->status = internal::SqliteError(rc, write_db_.get(),
                                            "cannot insert log row",
                                            options_.path);
  }
  sqlite3_reset(stmt);
  return rc;
}

absl::Status BatchedStore::Impl::RunStatement(sqlite3_stmt* stmt,
                                              const char* what) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE) return absl::OkStatus();
  return internal::SqliteError(rc, write_db_.get(), what, options_.path);
}

int BatchedStore::Impl::CommitBatch(std::vector<RequestPtr>* batch_ptr,
                                     std::vector<Clock::time_point>* taken_at) {
  std::vector<RequestPtr>& batch = *batch_ptr;
  const Clock::time_point start = Clock::now();
  absl::Status status = RunStatement(begin_.get(), "cannot begin a batch");
  if (!status.ok()) {
    for (const RequestPtr& request : batch) request->status = status;
    return 0;
  }
  size_t inserted = 0;
  while (true) {
    for (; inserted < batch.size(); ++inserted) {
      if (InsertRow(batch[inserted].get()) != SQLITE_DONE) {
        (void)RunStatement(rollback_.get(), "cannot roll back a batch");
        return CommitRowsOneByOne(batch);
      }
    }
    // Group commit keeps the transaction open while rows keep coming: the
    // callers acknowledged by the previous batch come back while this one
    // is being written, and joining it costs them nothing, whereas a batch
    // of their own would pay a second COMMIT (every dirty page of twelve
    // indexes written to the WAL again). Never waits: an empty queue
    // closes the batch.
    if (options_.batch_policy != BatchPolicy::kGroupCommit ||
        static_cast<int>(batch.size()) >= options_.batch_size) {
      break;
    }
    {
      sync::MutexLock lock(&mu_);
      TakeQueued(&batch, taken_at);
    }
    if (inserted == batch.size()) {
      // Queue empty. The callers the acknowledger is still waking are the
      // ones about to write again: let them in before closing the batch.
      if (!AwaitAcknowledgements()) break;
      sync::MutexLock lock(&mu_);
      TakeQueued(&batch, taken_at);
      if (inserted == batch.size()) break;
    }
  }
  // Every row is in: index them all with one statement, in the batch's
  // transaction, so the batch commits with its index entries or not at all.
  if (fts_fill_ != nullptr) {
    status = FillFts(batch.front()->id);
    if (!status.ok()) {
      (void)RunStatement(rollback_.get(), "cannot roll back a batch");
      return CommitRowsOneByOne(batch);
    }
  }
  const Clock::time_point commit_start = Clock::now();
  status = RunStatement(commit_.get(), "cannot commit a batch");
  if (status.ok()) RecordCommit(Clock::now() - commit_start);
  if (!status.ok()) {
    if (!sqlite3_get_autocommit(write_db_.get())) {
      (void)RunStatement(rollback_.get(), "cannot roll back a batch");
    }
    return CommitRowsOneByOne(batch);
  }
  if (metrics_ != nullptr) {
    metrics_->batch_processing.Observe(Seconds(Clock::now() - start));
    metrics_->batch_size.Observe(static_cast<double>(batch.size()));
  }
  return 1;
}

void BatchedStore::Impl::RecordCommit(Clock::duration took) {
  if (!options_.collect_internals) return;
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  writer_counters_.AddCacheStatus(write_db_.get());
  if (metrics_ != nullptr) metrics_->commit_duration.Observe(Seconds(took));
  sync::MutexLock lock(&internals_mu_);
  commit_latency_.Record(ns);
}

StoreInternals BatchedStore::Impl::TakeInternals() {
  StoreInternals taken;
  if (checkpointer_ != nullptr) taken = checkpointer_->TakeFigures();
  struct stat st {};
  if (stat(options_.path.c_str(), &st) == 0) {
    taken.db_bytes = static_cast<int64_t>(st.st_size);
    if (metrics_ != nullptr && options_.collect_internals) {
      metrics_->database_bytes.Set(static_cast<double>(st.st_size));
    }
  }
  // Counter totals as deltas against the previous take.
  auto delta = [](const ConnectionActivity& now, ConnectionActivity* before) {
    ConnectionActivity d;
    d.busy_events = now.busy_events - before->busy_events;
    d.busy_wait_ns = now.busy_wait_ns - before->busy_wait_ns;
    d.cache_hits = now.cache_hits - before->cache_hits;
    d.cache_misses = now.cache_misses - before->cache_misses;
    d.cache_writes = now.cache_writes - before->cache_writes;
    d.cache_spills = now.cache_spills - before->cache_spills;
    *before = now;
    return d;
  };
  const ConnectionActivity writer = writer_counters_.Snapshot();
  const ConnectionActivity readers = reader_counters_.Snapshot();
  const ConnectionActivity checkpointer = checkpointer_counters_.Snapshot();
  sync::MutexLock lock(&internals_mu_);
  std::swap(taken.commit_latency, commit_latency_);
  const int64_t writer_cpu_ns =
      writer_clock_valid_ ? CpuNs(writer_clock_) : writer_cpu_final_ns_;
  taken.writer_cpu_ns = std::max<int64_t>(0, writer_cpu_ns - taken_writer_cpu_ns_);
  taken_writer_cpu_ns_ = writer_cpu_ns;
  taken.writer = delta(writer, &taken_writer_);
  taken.readers = delta(readers, &taken_readers_);
  taken.checkpointer = delta(checkpointer, &taken_checkpointer_);
  if (sync_counts_ != nullptr) {
    const int64_t fsyncs = sync_counts_->syncs.load(std::memory_order_relaxed);
    const int64_t ns = sync_counts_->sync_ns.load(std::memory_order_relaxed);
    taken.fsyncs = fsyncs - taken_fsyncs_;
    taken.fsync_ns = ns - taken_fsync_ns_;
    taken_fsyncs_ = fsyncs;
    taken_fsync_ns_ = ns;
    if (metrics_ != nullptr) {
      metrics_->fsyncs.Increment(static_cast<double>(taken.fsyncs));
      metrics_->fsync_seconds.Increment(static_cast<double>(taken.fsync_ns) /
                                        1e9);
    }
  }
  return taken;
}

int BatchedStore::Impl::CommitRowsOneByOne(
    const std::vector<RequestPtr>& batch) {
  // Each row is its own transaction, so one bad row fails alone.
  int transactions = 0;
  for (const RequestPtr& request : batch) {
    const Clock::time_point start = Clock::now();
    if (!CommitOneRow(request.get())) continue;
    RecordCommit(Clock::now() - start);
    ++transactions;
    if (metrics_ != nullptr) {
      metrics_->batch_processing.Observe(Seconds(Clock::now() - start));
      metrics_->batch_size.Observe(1);
    }
  }
  return transactions;
}

bool BatchedStore::Impl::CommitOneRow(Request* request) {
  // Autocommit: the insert's statement includes the commit (the trigger, if
  // any, indexes the row in that statement).
  if (fts_fill_ == nullptr) return InsertRow(request) == SQLITE_DONE;
  absl::Status status = RunStatement(begin_.get(), "cannot begin a row");
  if (status.ok()) {
    if (InsertRow(request) != SQLITE_DONE) {
      (void)RunStatement(rollback_.get(), "cannot roll back a row");
      return false;
    }
    status = FillFts(request->id);
  }
  if (status.ok()) status = RunStatement(commit_.get(), "cannot commit a row");
  if (!status.ok()) {
    if (!sqlite3_get_autocommit(write_db_.get())) {
      (void)RunStatement(rollback_.get(), "cannot roll back a row");
    }
    request->status = status;
    return false;
  }
  return true;
}

absl::Status BatchedStore::Impl::FillFts(int64_t first_id) {
  sqlite3_bind_int64(fts_fill_.get(), 1, first_id - 1);
  return RunStatement(fts_fill_.get(),
                      "cannot index the batch's messages (fts-sync batch)");
}

void BatchedStore::Impl::Deliver(const std::vector<RequestPtr>& batch,
                                 int transactions) {
  const Clock::time_point now = Clock::now();
  int64_t committed = 0;
  for (const RequestPtr& request : batch) committed += request->status.ok();
  // Metrics before any caller can see its answer, so that an acknowledged
  // write is always already counted.
  if (metrics_ != nullptr) {
    for (const RequestPtr& request : batch) {
      if (request->status.ok()) {
        metrics_->write_duration.Observe(Seconds(now - request->enqueued));
      }
    }
    metrics_->batches_processed.Increment(static_cast<double>(transactions));
    metrics_->rows_committed.Increment(static_cast<double>(committed));
    const int64_t failed = static_cast<int64_t>(batch.size()) - committed;
    if (failed > 0) metrics_->write_errors.Increment(static_cast<double>(failed));
  }
  std::vector<std::pair<WriteDone, Request*>> answers;
  {
    sync::MutexLock lock(&mu_);
    for (const RequestPtr& request : batch) {
      const bool ok = request->status.ok();
      if (request->on_done && !request->abandoned) {
        answers.emplace_back(std::move(request->on_done), request.get());
        request->on_done = nullptr;
      }
      if (request->abandoned) {
        ++(ok ? counters_.late_commits : counters_.late_failures);
        if (ok && metrics_ != nullptr) metrics_->late_commits.Increment();
      } else {
        ++(ok ? counters_.ok : counters_.failed);
      }
      if (!ok && first_error_.empty()) {
        first_error_ = std::string(request->status.message());
      }
      request->state = Request::State::kDone;
    }
    counters_.batches += transactions;
    counters_.rows_committed += committed;
    // Answered now: no deadline to watch for them any more.
    while (!async_pending_.empty() &&
           async_pending_.front()->state == Request::State::kDone) {
      async_pending_.pop_front();
    }
  }
  // Wake callers outside the lock. `batch` keeps each request alive until
  // its Set() returned or its callback ran.
  for (auto& [done, request] : answers) {
    if (request->status.ok()) {
      done(request->id);
    } else {
      done(request->status);
    }
  }
  for (const RequestPtr& request : batch) request->done.Set();
}

absl::StatusOr<std::unique_ptr<StoreReader>> BatchedStore::Impl::NewReader() {
  ASSIGN_OR_RETURN(
      Connection db,
      internal::OpenConnection(options_.path,
                               internal::OpenFlags(options_, SQLITE_OPEN_READONLY |
                                                                 SQLITE_OPEN_NOMUTEX),
                               static_cast<int>(options_.busy_timeout.count()),
                               Counters(&reader_counters_),
                               internal::StoreVfs(options_)));
  ASSIGN_OR_RETURN(
      int64_t has_fts,
      internal::QueryInt(
          db.get(), "SELECT count(*) FROM sqlite_master WHERE name='logs_fts'",
          options_.path));
  if (options_.reader_mmap_mib > 0) {
    RETURN_IF_ERROR(
        internal::QueryText(db.get(),
                            absl::StrCat("PRAGMA mmap_size=",
                                         int64_t{options_.reader_mmap_mib}
                                             << 20),
                            options_.path)
            .status());
  }
  auto reader = std::make_unique<SqliteReader>(
      options_.path, std::move(db), has_fts > 0, options_.reader_nice,
      metrics_, Counters(&reader_counters_));
  RETURN_IF_ERROR(reader->Prepare());
  return std::unique_ptr<StoreReader>(std::move(reader));
}

absl::Status BatchedStore::Impl::Close() {
  std::call_once(close_once_, [this] {
    {
      sync::MutexLock lock(&mu_);
      closing_ = true;
      writer_cv_.NotifyOne();
    }
    if (writer_.joinable()) writer_.join();
    {
      sync::MutexLock lock(&ack_mu_);
      ack_stop_ = true;
      ack_cv_.NotifyOne();
    }
    if (acknowledger_.joinable()) acknowledger_.join();
    if (checkpointer_ != nullptr) checkpointer_->Stop();
    absl::Status status;
    if (write_db_ != nullptr) {
      insert_.reset();
      begin_.reset();
      commit_.reset();
      rollback_.reset();
      fts_fill_.reset();
      // Fold the WAL back into the database file. BUSY (a reader still
      // open) leaves a WAL behind, which SQLite replays: nothing is lost.
      const int rc = sqlite3_wal_checkpoint_v2(
          write_db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
          nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
        status = internal::SqliteError(rc, write_db_.get(),
                                       "cannot checkpoint on close",
                                       options_.path);
      }
    }
    write_db_.reset();
    sync::MutexLock lock(&mu_);
    close_status_ = status;
  });
  sync::MutexLock lock(&mu_);
  return close_status_;
}

StoreCounters BatchedStore::Impl::counters() const {
  sync::MutexLock lock(&mu_);
  StoreCounters c = counters_;
  c.pending = c.submitted - c.ok - c.queue_full - c.timeouts - c.failed;
  c.timeouts_unresolved =
      c.timeouts - c.late_commits - c.late_failures - c.abandoned;
  c.checkpoints = checkpointer_ != nullptr ? checkpointer_->checkpoints() : 0;
  return c;
}

int BatchedStore::Impl::queue_depth() const {
  sync::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

int BatchedStore::Impl::TakePeakQueueDepth() {
  sync::MutexLock lock(&mu_);
  const int peak = peak_queue_depth_;
  peak_queue_depth_ = static_cast<int>(queue_.size());
  return peak;
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<BatchedStore>> BatchedStore::Open(
    const StoreOptions& options, StoreMetrics* metrics) {
  RETURN_IF_ERROR(ValidateStoreOptions(options));
  auto impl = std::make_unique<Impl>(options, metrics);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<BatchedStore>(new BatchedStore(std::move(impl)));
}

BatchedStore::BatchedStore(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
BatchedStore::~BatchedStore() = default;

absl::StatusOr<int64_t> BatchedStore::Write(LogEntry entry) {
  return impl_->Write(std::move(entry));
}
void BatchedStore::WriteAsync(LogEntry entry, WriteDone done) {
  impl_->WriteAsync(std::move(entry), std::move(done));
}
absl::StatusOr<std::unique_ptr<StoreReader>> BatchedStore::NewReader() {
  return impl_->NewReader();
}
absl::Status BatchedStore::Close() { return impl_->Close(); }
StoreCounters BatchedStore::counters() const { return impl_->counters(); }
int BatchedStore::queue_depth() const { return impl_->queue_depth(); }
int BatchedStore::TakePeakQueueDepth() { return impl_->TakePeakQueueDepth(); }
const StoreOptions& BatchedStore::options() const { return impl_->options(); }
std::string BatchedStore::first_error() const { return impl_->first_error(); }
StoreInternals BatchedStore::TakeInternals() { return impl_->TakeInternals(); }

bool IsQueueFull(const absl::Status& status) {
  return absl::IsResourceExhausted(status) &&
         status.GetPayload(kQueueFullPayload).has_value();
}

}  // namespace loadtest::storage
