// store_bench: how close the batched store comes to SQLite's writer limit.
//
// Each sitting runs, on the same schema, rows, batch size and pragmas:
//  1. naive ceiling: one thread generating rows and inserting them straight
//     into SQLite, batch_size per transaction, with SQLite's default inline
//     auto-checkpoint (what a straightforward program gets);
//  2. ceiling (the writer's limit): one thread inserting rows generated
//     before the clock starts (the producers' generators and seeds), the
//     prepared insert, batch_size rows per transaction, exactly the store's
//     pragmas (internal::ApplyWriterPragmas) and checkpoints handled as the
//     store handles them (internal::WalCheckpointer, off the measured thread);
//     with fewer producers than batch_size, or a think time, also at the
//     load's shape (the reachable ceiling): producers rows per transaction
//     (each producer has one write outstanding, so no batch of the store
//     can hold more) and, when the producers fit in one batch, a sleep of
//     the think time after each transaction (they are all in it, and all
//     think before writing again);
//  3. store: N producer threads calling BatchedStore::Write in a closed loop
//     (write, then sleep --think-time), latency measured around each Write,
//     and optionally M readers running the original's five queries.
// The figure that matters is ratio = store / ceiling, measured in the same
// sitting on the same machine; with --sittings=N the median of N sittings.
// Prints a table, or one JSON object (--json).
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"
#include "agent/log_replay.h"
#include "agent/message_source.h"
#include "cli/allocator.h"
#include "cli/flag_set.h"
#include "nlohmann/json.hpp"
#include "prometheus/registry.h"
#include "stats/latency_histogram.h"
#include "storage/batched_store.h"
#include "storage/internal/sqlite_util.h"
#include "storage/internal/wal_checkpointer.h"
#include "storage/schema.h"
#include "storage/store_metrics.h"

namespace {

using loadtest::agent::MessageSource;
using loadtest::agent::MessageStream;
using loadtest::stats::LatencyHistogram;
using loadtest::storage::BatchedStore;
using loadtest::storage::LogEntry;
using loadtest::storage::StoreOptions;
using Clock = std::chrono::steady_clock;
namespace internal = loadtest::storage::internal;

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "store_bench: " << message << "\n";
  std::exit(1);
}

template <typename T>
T OrFail(absl::StatusOr<T> value) {
  if (!value.ok()) Fail(value.status().ToString());
  return std::move(value).value();
}

void OrFail(const absl::Status& status) {
  if (!status.ok()) Fail(status.ToString());
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }
int64_t Ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}
double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds the calling thread has run.
double ThisThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// What /proc says about one thread.
struct ThreadSample {
  std::string name;
  double cpu_ns = 0;        // Time on a CPU.
  double voluntary = 0;     // Context switches: blocked (waits, I/O).
  double involuntary = 0;   // Context switches: preempted.
};
using ThreadCpu = std::map<std::string, ThreadSample>;  // By thread id.

// Every thread of this process, from /proc/self/task/*/{comm,schedstat,
// status}. Linux only; empty elsewhere.
ThreadCpu SnapshotThreadCpu() {
  ThreadCpu out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm"), sched(task.path() / "schedstat"),
        status(task.path() / "status");
    ThreadSample sample;
    if (!std::getline(comm, sample.name) || !(sched >> sample.cpu_ns)) continue;
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        sample.voluntary = std::stod(line.substr(line.find(':') + 1));
      } else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        sample.involuntary = std::stod(line.substr(line.find(':') + 1));
      }
    }
    out[task.path().filename().string()] = sample;
  }
  return out;
}

// Per thread name, what happened between two snapshots.
std::map<std::string, ThreadSample> ThreadDelta(const ThreadCpu& before,
                                                const ThreadCpu& after) {
  std::map<std::string, ThreadSample> out;
  for (const auto& [tid, now] : after) {
    auto it = before.find(tid);
    const ThreadSample start = it == before.end() ? ThreadSample() : it->second;
    ThreadSample& sum = out[now.name];
    sum.cpu_ns += now.cpu_ns - start.cpu_ns;
    sum.voluntary += now.voluntary - start.voluntary;
    sum.involuntary += now.involuntary - start.involuntary;
  }
  return out;
}

void NameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

struct CeilingResult {
  int64_t rows = 0;
  double seconds = 0;
  bool pool_exhausted = false;
  int64_t checkpoints = 0;
  double thread_cpu_seconds = 0;  // Of the measured (inserting) thread.
  LatencyHistogram commit_latency;  // One sample per transaction.
  double Rate() const { return seconds > 0 ? rows / seconds : 0; }
};

// The store's way of filling the FTS index, for the ceilings: nothing to do
// under --fts-sync=trigger (the schema's trigger indexes each row); under
// batch, the store's statement (kFtsFillSql) once per transaction, before
// its COMMIT, from the transaction's first row on.
class FtsFill {
 public:
  FtsFill(sqlite3* db, const StoreOptions& options) : db_(db), path_(options.path) {
    if (options.schema == loadtest::storage::Schema::kFull &&
        options.fts_sync == loadtest::storage::FtsSync::kBatch) {
      stmt_ = OrFail(
          internal::Prepare(db, loadtest::storage::kFtsFillSql, options.path));
    }
  }
  void FirstRow(int64_t id) { first_id_ = id; }
  void Run() {
    if (stmt_ == nullptr) return;
    sqlite3_bind_int64(stmt_.get(), 1, first_id_ - 1);
    const int rc = sqlite3_step(stmt_.get());
    sqlite3_reset(stmt_.get());
    if (rc != SQLITE_DONE) {
      OrFail(internal::SqliteError(rc, db_, "ceiling FTS fill", path_));
    }
  }

 private:
  sqlite3* const db_;
  const std::string path_;
  internal::Statement stmt_;
  int64_t first_id_ = 0;
};

// Today's first figure: rows generated inline, SQLite's inline
// auto-checkpoint, pragmas other than WAL and synchronous left default.
CeilingResult RunNaiveCeiling(const StoreOptions& options, int seconds,
                              const MessageSource& messages) {
  auto db = OrFail(internal::OpenConnection(
      options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000));
  OrFail(internal::QueryText(db.get(), "PRAGMA journal_mode=WAL", options.path)
             .status());
  OrFail(internal::Exec(
      db.get(),
      absl::StrCat("PRAGMA synchronous=",
                   loadtest::storage::SyncModeName(options.sync)),
      options.path));
  OrFail(loadtest::storage::ApplySchema(db.get(), options, true));
  auto insert = OrFail(
      internal::Prepare(db.get(), loadtest::storage::kInsertSql, options.path));
  FtsFill fts_fill(db.get(), options);
  std::unique_ptr<MessageStream> generator = messages.NewStream(0, 1);
  CeilingResult result;
  std::string timestamp;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const Clock::time_point t0 = Clock::now();
    OrFail(internal::Exec(db.get(), "BEGIN IMMEDIATE", options.path));
    for (int i = 0; i < options.batch_size; ++i) {
      const LogEntry entry = generator->Next();
      loadtest::storage::BindInsert(insert.get(), entry, &timestamp);
      const int rc = sqlite3_step(insert.get());
      sqlite3_reset(insert.get());
      if (rc != SQLITE_DONE) {
        OrFail(internal::SqliteError(rc, db.get(), "naive ceiling insert",
                                     options.path));
      }
      if (i == 0) fts_fill.FirstRow(sqlite3_last_insert_rowid(db.get()));
    }
    fts_fill.Run();
    OrFail(internal::Exec(db.get(), "COMMIT", options.path));
    result.commit_latency.Record(Ns(Clock::now() - t0));
    result.rows += options.batch_size;
  }
  result.seconds = SecondsSince(start);
  return result;
}

// The rows the store phase's producers would write, in an interleaving of
// their generators (producer p: stream (p, 1000 + p) of --messages).
std::vector<LogEntry> GenerateRows(int producers, int64_t count,
                                   const MessageSource& messages) {
  std::vector<std::unique_ptr<MessageStream>> generators;
  generators.reserve(producers);
  for (int p = 0; p < producers; ++p) {
    generators.push_back(messages.NewStream(p, 1000 + p));
  }
  std::vector<LogEntry> rows;
  rows.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    rows.push_back(generators[i % producers]->Next());
  }
  return rows;
}

// The writer's limit: what BatchedStore's writer thread could do if rows
// cost it nothing to receive and acknowledge. With `pause`, it sleeps that
// long after each transaction, as a writer whose every producer is in the
// transaction just committed and then thinks before writing again.
CeilingResult RunCeiling(const StoreOptions& options,
                         const std::vector<LogEntry>& rows, int seconds,
                         std::chrono::nanoseconds pause =
                             std::chrono::nanoseconds::zero()) {
  auto db = OrFail(internal::OpenConnection(
      options.path,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      static_cast<int>(options.busy_timeout.count())));
  OrFail(internal::ApplyWriterPragmas(db.get(), options));
  OrFail(loadtest::storage::ApplySchema(db.get(), options, true));
  auto insert = OrFail(
      internal::Prepare(db.get(), loadtest::storage::kInsertSql, options.path));
  FtsFill fts_fill(db.get(), options);
  auto begin =
      OrFail(internal::Prepare(db.get(), "BEGIN IMMEDIATE", options.path));
  auto commit = OrFail(internal::Prepare(db.get(), "COMMIT", options.path));
  auto checkpointer =
      OrFail(internal::WalCheckpointer::Start(db.get(), options, nullptr));
  auto step = [&](sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
      OrFail(internal::SqliteError(rc, db.get(), what, options.path));
    }
  };
  CeilingResult result;
  std::string timestamp;
  size_t next = 0;
  const double cpu_start = ThisThreadCpuSeconds();
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    if (next + options.batch_size > rows.size()) {
      result.pool_exhausted = true;
      break;
    }
    const Clock::time_point t0 = Clock::now();
    step(begin.get(), "ceiling begin");
    for (int i = 0; i < options.batch_size; ++i) {
      loadtest::storage::BindInsert(insert.get(), rows[next++], &timestamp);
      step(insert.get(), "ceiling insert");
      if (i == 0) fts_fill.FirstRow(sqlite3_last_insert_rowid(db.get()));
    }
    fts_fill.Run();
    step(commit.get(), "ceiling commit");
    checkpointer->AfterCommit();
    result.commit_latency.Record(Ns(Clock::now() - t0));
    result.rows += options.batch_size;
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  result.seconds = SecondsSince(start);
  result.thread_cpu_seconds = ThisThreadCpuSeconds() - cpu_start;
  checkpointer->Stop();
  result.checkpoints = checkpointer->checkpoints();
  return result;
}

struct StoreResult {
  int64_t acknowledged = 0, errors = 0;
  int64_t reads = 0, read_errors = 0;
  double seconds = 0;
  LatencyHistogram write_latency;
  LatencyHistogram read_latency;
  loadtest::storage::StoreCounters counters;
  int64_t rows_in_db = 0;
  // A producer ran out of pregenerated rows and stopped early.
  bool pool_exhausted = false;
  std::map<std::string, ThreadSample> threads;  // By thread name.
};

struct LoadOptions {
  int producers = 100;
  std::chrono::nanoseconds think_time = std::chrono::milliseconds(1);
  int readers = 0;
  std::chrono::nanoseconds read_delay = std::chrono::milliseconds(10);
  int seconds = 20;
  // Producers run under SCHED_BATCH: one woken by its acknowledgement
  // then does not preempt the store's writer or acknowledger.
  bool batch_sched = false;
  // Producers generate each row as they go (as an agent's writers do)
  // instead of taking it from the rows generated before the clock started.
  bool live_rows = false;
  // The rows and search terms (--messages, --search-terms); set by main.
  const MessageSource* messages = nullptr;
};

// Runs one of the original's five queries, as agent/workload.cc's readers do.
absl::Status RunQuery(loadtest::storage::StoreReader& reader, int64_t k,
                      const MessageSource& messages) {
  using loadtest::agent::QueryKind;
  const loadtest::agent::ReadQuery query = messages.Query(k);
  switch (query.kind) {
    case QueryKind::kText:
      return reader.SearchText(query.argument, query.limit).status();
    case QueryKind::kHostname:
      return reader.ByHostname(query.argument, query.limit).status();
    case QueryKind::kAppName:
      return reader.ByAppName(query.argument, query.limit).status();
    case QueryKind::kRecent:
      return reader.Recent(query.limit).status();
  }
  return absl::OkStatus();
}

// `metrics` may be null (none, the default) or the metrics an agent keeps.
// With `pool` (rows from GenerateRows, interleaved by producer), producer p
// writes pool[p], pool[p + producers], ... moving each row out; without it,
// each producer generates its rows as it goes.
StoreResult RunStore(const StoreOptions& options, const LoadOptions& load,
                     loadtest::storage::StoreMetrics* metrics,
                     std::vector<LogEntry>* pool) {
  auto store = OrFail(BatchedStore::Open(options, metrics));
  struct PerThread {
    LatencyHistogram latency;
    int64_t ok = 0, errors = 0;
  };
  std::vector<PerThread> per_producer(load.producers);
  std::vector<PerThread> per_reader(load.readers);
  std::vector<std::unique_ptr<loadtest::storage::StoreReader>> readers;
  for (int r = 0; r < load.readers; ++r) {
    readers.push_back(OrFail(store->NewReader()));
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> pool_exhausted{false};
  std::vector<std::thread> threads;
  const ThreadCpu cpu_before = SnapshotThreadCpu();
  const Clock::time_point start = Clock::now();
  for (int p = 0; p < load.producers; ++p) {
    threads.emplace_back([&, p] {
      NameThisThread("producer");
      if (load.batch_sched) {
        const sched_param param{};  // SCHED_BATCH takes priority 0.
        if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
          Fail(absl::StrCat("--producer-sched=batch: sched_setscheduler: ",
                            strerror(errno)));
        }
      }
      std::unique_ptr<MessageStream> generator =
          load.messages->NewStream(p, 1000 + p);
      PerThread& mine = per_producer[p];
      size_t next = static_cast<size_t>(p);
      while (!stop.load(std::memory_order_relaxed)) {
        LogEntry entry;
        if (pool == nullptr) {
          entry = generator->Next();
        } else if (next < pool->size()) {
          entry = std::move((*pool)[next]);
          next += static_cast<size_t>(load.producers);
        } else {
          pool_exhausted = true;
          break;
        }
        const Clock::time_point t0 = Clock::now();
        auto id = store->Write(std::move(entry));
        const int64_t ns = Ns(Clock::now() - t0);
        if (id.ok()) {
          ++mine.ok;
          mine.latency.Record(ns);
        } else {
          ++mine.errors;
        }
        if (load.think_time.count() > 0) {
          std::this_thread::sleep_for(load.think_time);
        }
      }
    });
  }
  for (int r = 0; r < load.readers; ++r) {
    threads.emplace_back([&, r] {
      NameThisThread("reader");
      PerThread& mine = per_reader[r];
      for (int64_t k = 0; !stop.load(std::memory_order_relaxed); ++k) {
        const Clock::time_point t0 = Clock::now();
        if (RunQuery(*readers[r], k, *load.messages).ok()) {
          ++mine.ok;
          mine.latency.Record(Ns(Clock::now() - t0));
        } else {
          ++mine.errors;
        }
        if (load.read_delay.count() > 0) {
          std::this_thread::sleep_for(load.read_delay);
        }
      }
    });
  }
  // Once a second, as an agent reports its intervals, the store's internals
  // are taken (with --internals; they cost nothing to take otherwise).
  for (int second = 0; second < load.seconds; ++second) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    (void)store->TakeInternals();
  }
  StoreResult result;
  // While every thread still runs.
  result.threads = ThreadDelta(cpu_before, SnapshotThreadCpu());
  stop = true;
  for (auto& t : threads) t.join();
  result.seconds = SecondsSince(start);
  result.pool_exhausted = pool_exhausted;
  readers.clear();
  OrFail(store->Close());
  result.counters = store->counters();
  for (const PerThread& t : per_producer) {
    result.acknowledged += t.ok;
    result.errors += t.errors;
    result.write_latency.Merge(t.latency);
  }
  for (const PerThread& t : per_reader) {
    result.reads += t.ok;
    result.read_errors += t.errors;
    result.read_latency.Merge(t.latency);
  }
  auto db = OrFail(
      internal::OpenConnection(options.path, SQLITE_OPEN_READONLY, 5000));
  result.rows_in_db = OrFail(
      internal::QueryInt(db.get(), "SELECT count(*) FROM logs", options.path));
  return result;
}

// An FTS5 setting: its value, or null when left to SQLite.
nlohmann::json FtsSettingJson(int value) {
  return value == loadtest::storage::kFtsDefault ? nlohmann::json()
                                                 : nlohmann::json(value);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

constexpr char kIntro[] =
    "store_bench: how close the batched store comes to SQLite's writer "
    "limit.\n"
    "\n"
    "Each sitting runs three phases on the same schema, rows, batch size and\n"
    "pragmas, --seconds each:\n"
    "  1. naive ceiling: one thread generating rows and inserting them with\n"
    "     SQLite's inline auto-checkpoint (naive_ceiling_rows_per_s);\n"
    "  2. ceiling, the writer's limit: one thread inserting rows generated\n"
    "     before the clock starts (the producers' generators and seeds),\n"
    "     --batch-size rows per transaction, the store's pragmas, checkpoints\n"
    "     off the measured thread as the store does (ceiling_rows_per_s);\n"
    "     with fewer --producers than --batch-size or a --think-time, also\n"
    "     at the load's shape: --producers rows per transaction, the most\n"
    "     the store's closed loop can batch, and, when the producers fit in\n"
    "     one batch, a sleep of --think-time after each transaction, as the\n"
    "     store waits for producers that all think at once\n"
    "     (reachable_ceiling_rows_per_s, reachable_ratio);\n"
    "  3. store: --producers threads calling BatchedStore::Write in a closed\n"
    "     loop (write, then sleep --think-time), latency timed around Write,\n"
    "     writing the ceiling's rows (or generating their own: --rows=live),\n"
    "     and --readers threads running the original's five queries.\n"
    "Prints the rates, ratio = store / ceiling (the figure that matters; with\n"
    "--sittings=N the median of N sittings), write latency and CPU seconds\n"
    "by thread, as a table or as one JSON object (--json). Exits 2 when the\n"
    "rows in the database differ from acknowledged + late commits.\n"
    "\n"
    "Usage: store_bench [flags]\n";

}  // namespace

int main(int argc, char** argv) {
  std::string schema = "full";
  std::string sync = "normal";
  int batch_size = 100;
  std::string batch_policy = "group";
  std::chrono::nanoseconds batch_timeout = std::chrono::milliseconds(10);
  int queue_size = 10000;
  int cache_size_kib = StoreOptions().cache_size_kib;
  int checkpoint_pages = StoreOptions().checkpoint_pages;
  int restart_pages = StoreOptions().restart_pages;
  std::string temp_store =
      loadtest::storage::TempStoreName(StoreOptions().temp_store);
  bool sqlite_memstatus = false;
  std::string fts_sync =
      loadtest::storage::FtsSyncName(StoreOptions().fts_sync);
  int fts_automerge = StoreOptions().fts_automerge;
  int fts_crisismerge = StoreOptions().fts_crisismerge;
  int fts_pgsz = StoreOptions().fts_pgsz;
  int reader_mmap_mib = StoreOptions().reader_mmap_mib;
  int reader_nice = StoreOptions().reader_nice;
  LoadOptions load;
  std::string producer_sched = "normal";
  std::string rows_source = "pregenerated";
  std::string messages_flag = "original";
  std::string search_terms;
  int sittings = 1;
  bool skip_ceiling = false;
  bool skip_store = false;
  bool internals = true;
  bool with_metrics = false;
  std::string dir;
  bool json = false;

  loadtest::cli::FlagSet flags("store_bench", kIntro);
  flags.AddSection("Store (every phase)");
  flags.AddString("schema", &schema,
                  "Table layout: full (the original's: FTS5 on message, "
                  "twelve indexes, triggers) or lean (primary key and a "
                  "timestamp index)");
  flags.AddString("sync", &sync,
                  "PRAGMA synchronous in WAL mode: off, normal (no fsync on "
                  "commit) or full (fsync on every commit)");
  flags.AddInt("batch-size", &batch_size,
               "Rows per transaction, 1 to 100000; the ceilings commit "
               "exactly this many, the store at most this many");
  flags.AddString("batch-policy", &batch_policy,
                  "When the store closes a batch: group (when the queue is "
                  "empty or the batch is full) or linger (the original's: "
                  "wait up to --batch-timeout for a full batch)");
  flags.AddDuration("batch-timeout", &batch_timeout,
                    "Longest a batch waits for more rows under "
                    "--batch-policy=linger; ignored by group");
  flags.AddInt("queue-size", &queue_size,
               "Rows the store queues before Write fails with queue full; at "
               "least --batch-size");
  flags.AddInt("cache-size-kib", &cache_size_kib,
               "SQLite page cache of the write connection in KiB, 1024 to "
               "4194304 (store and ceiling)");
  flags.AddInt("checkpoint-pages", &checkpoint_pages,
               "New WAL frames between two background checkpoints, at least "
               "1 (store and ceiling)");
  flags.AddInt("restart-pages", &restart_pages,
               "WAL frames at which the writer completes a checkpoint itself "
               "so that the WAL starts over, at least --checkpoint-pages");
  flags.AddString("temp-store", &temp_store,
                  "Where the write connection keeps statement journals: "
                  "memory (the store's default) or file (SQLite's: spilled "
                  "to a temporary file past 64 KiB)");
  flags.AddString("fts-sync", &fts_sync,
                  "How the full schema's FTS5 index is filled, in every "
                  "phase: trigger (OpenTrail's: a trigger per row) or batch "
                  "(one INSERT ... SELECT per transaction, before its "
                  "COMMIT)");
  flags.AddInt("fts-automerge", &fts_automerge,
               "FTS5's automerge, 0 to 64 (0 = never merge in the "
               "background); -1: SQLite's default (4)");
  flags.AddInt("fts-crisismerge", &fts_crisismerge,
               "FTS5's crisismerge, 2 to 1999; -1: SQLite's default (16)");
  flags.AddInt("fts-pgsz", &fts_pgsz,
               "FTS5's leaf page size in bytes, 32 to 65536; -1: SQLite's "
               "default (4050)");
  flags.AddBool("sqlite-memstatus", &sqlite_memstatus,
                "Initialize SQLite with its memory statistics on (SQLite's "
                "default; the store turns them off), to measure what they "
                "cost");
  flags.AddInt("reader-mmap-mib", &reader_mmap_mib,
               "MiB of the database each reader maps (PRAGMA mmap_size), 0 "
               "to 65536, 0 = off");
  flags.AddInt("reader-nice", &reader_nice,
               "Writer priority: reader threads lower their own priority to "
               "this nice value, 0 to 19, 0 = off");
  flags.AddBool("internals", &internals,
                "Collect SQLite's internals (COMMIT and checkpoint times, WAL, "
                "lock waits, page cache); --internals=false measures what "
                "collecting them costs");
  flags.AddBool("metrics", &with_metrics,
                "Give the store its Prometheus metrics, as an agent does");
  flags.AddSection("Load");
  flags.AddInt("producers", &load.producers,
               "Threads calling Write in the store phase, at least 1");
  flags.AddDuration("think-time", &load.think_time,
                    "Sleep after each Write in each producer (0 for none); "
                    "with --producers it sets the offered load");
  flags.AddString("producer-sched", &producer_sched,
                  "Scheduling of the producers: normal (as an agent's writer "
                  "threads) or batch (SCHED_BATCH: a producer woken by its "
                  "acknowledgement does not preempt the store's threads), to "
                  "measure what the load generator's own wake-ups cost");
  flags.AddString("messages", &messages_flag,
                  "The rows: original, realistic or file:PATH "
                  "(docs/messages.md; a file's format is detected)");
  flags.AddString("search-terms", &search_terms,
                  "What the readers search: original, common, rare or mixed "
                  "(default: original with --messages=original, else mixed)");
  flags.AddString("rows", &rows_source,
                  "Where the store phase's producers get their rows: "
                  "pregenerated (the ceilings' rows, generated before the "
                  "clock starts, so that both sides of the ratio leave "
                  "generating out) or live (each producer generates its rows "
                  "as it goes, as an agent's writer threads do); "
                  "--skip-ceiling means live");
  flags.AddInt("readers", &load.readers,
               "Threads running the original's five queries in the store "
               "phase, each on its own reader, 0 to 1000");
  flags.AddDuration("read-delay", &load.read_delay,
                    "Sleep after each query in each reader (loadtest's "
                    "--read-delay)");
  flags.AddInt("seconds", &load.seconds, "Length of each phase, at least 1");
  flags.AddInt("sittings", &sittings,
               "Repeat all phases this many times, 1 to 100; the headline "
               "figures are medians");
  flags.AddBool("skip-ceiling", &skip_ceiling,
                "Run only the store phase (the ratio is then reported as 0)");
  flags.AddBool("skip-store", &skip_store,
                "Run only the ceilings (to compare pragmas)");
  flags.AddSection("Output");
  flags.AddString("dir", &dir,
                  "Directory for the database files, kept afterwards "
                  "(default: a fresh temporary directory, removed "
                  "afterwards)");
  flags.AddBool("json", &json,
                "Print one JSON object instead of a table, with every "
                "sitting's figures under \"sittings\"");

  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }

  if (sqlite_memstatus) {
    // Before any connection: SQLite then keeps these settings for the
    // process (internal::InitializeSqliteOnce leaves them).
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
    sqlite3_initialize();
  }
  StoreOptions options;
  options.temp_store = OrFail(loadtest::storage::ParseTempStore(temp_store));
  options.fts_sync = OrFail(loadtest::storage::ParseFtsSync(fts_sync));
  options.fts_automerge = fts_automerge;
  options.fts_crisismerge = fts_crisismerge;
  options.fts_pgsz = fts_pgsz;
  options.schema = OrFail(loadtest::storage::ParseSchema(schema));
  options.sync = OrFail(loadtest::storage::ParseSyncMode(sync));
  options.batch_policy =
      OrFail(loadtest::storage::ParseBatchPolicy(batch_policy));
  options.batch_size = batch_size;
  options.batch_timeout = batch_timeout;
  options.queue_size = queue_size;
  options.cache_size_kib = cache_size_kib;
  options.checkpoint_pages = checkpoint_pages;
  options.restart_pages = restart_pages;
  options.reader_mmap_mib = reader_mmap_mib;
  options.reader_nice = reader_nice;
  options.collect_internals = internals;
  options.fresh = true;
  if (load.producers < 1) {
    Fail(absl::StrCat("--producers must be >= 1, got ", load.producers));
  }
  if (producer_sched != "normal" && producer_sched != "batch") {
    Fail(absl::StrCat("--producer-sched must be normal or batch, got \"",
                      producer_sched, "\""));
  }
  load.batch_sched = producer_sched == "batch";
  if (rows_source != "pregenerated" && rows_source != "live") {
    Fail(absl::StrCat("--rows must be pregenerated or live, got \"",
                      rows_source, "\""));
  }
  load.live_rows = rows_source == "live" || skip_ceiling;
  loadtest::protocol::MessageOptions message_options;
  if (messages_flag.rfind("file:", 0) == 0) {
    message_options.source = loadtest::protocol::MessageSource::kFile;
    message_options.file_path = messages_flag.substr(5);
    message_options.file_content =
        OrFail(loadtest::agent::ReadMessagesFile(message_options.file_path));
    message_options.content_hash =
        loadtest::protocol::ContentHash(message_options.file_content);
  } else {
    message_options.source = OrFail(
        loadtest::protocol::ParseMessageSource("messages", messages_flag));
  }
  message_options.search_terms =
      !search_terms.empty()
          ? OrFail(loadtest::protocol::ParseSearchTerms("search-terms",
                                                        search_terms))
      : message_options.source == loadtest::protocol::MessageSource::kOriginal
          ? loadtest::protocol::SearchTerms::kOriginal
          : loadtest::protocol::SearchTerms::kMixed;
  const std::unique_ptr<MessageSource> messages =
      OrFail(MessageSource::Create(message_options, 1));
  load.messages = messages.get();
  if (load.readers < 0 || load.readers > 1000) {
    Fail(absl::StrCat("--readers must be between 0 and 1000, got ",
                      load.readers));
  }
  if (load.read_delay.count() < 0) {
    Fail(absl::StrCat("--read-delay must be >= 0, got ",
                      load.read_delay.count(), "ns"));
  }
  if (load.seconds < 1) {
    Fail(absl::StrCat("--seconds must be >= 1, got ", load.seconds));
  }
  if (sittings < 1 || sittings > 100) {
    Fail(absl::StrCat("--sittings must be between 1 and 100, got ", sittings));
  }

  const bool temporary = dir.empty();
  if (temporary) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "store_bench.XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      Fail("cannot create a temporary directory");
    }
    dir = tmpl;
  }
  options.path = dir + "/store.db";
  OrFail(loadtest::storage::ValidateStoreOptions(options));
  NameThisThread("store_bench");

  prometheus::Registry registry;
  std::unique_ptr<loadtest::storage::StoreMetrics> metrics;
  if (with_metrics) {
    metrics = OrFail(loadtest::storage::StoreMetrics::Create(registry));
  }
  nlohmann::json per_sitting = nlohmann::json::array();
  std::vector<double> naive_rates, ceiling_rates, store_rates, ratios, p99s,
      read_rates, cpu_ratios, reachable_ratios;
  // The load's shape, at which the ceiling is measured again (what the
  // writer could do with the load's own batches): producers each have one
  // write outstanding, so no transaction of the store holds more than
  // --producers rows; and when every producer fits in one batch, each
  // transaction holds them all and they all think before writing again, so
  // that a writer serving them in one group waits out the think time after
  // each COMMIT.
  const int reachable_batch = std::min(options.batch_size, load.producers);
  const std::chrono::nanoseconds reachable_pause =
      load.producers <= options.batch_size ? load.think_time
                                           : std::chrono::nanoseconds::zero();
  const bool measure_reachable =
      !skip_ceiling && (reachable_batch < options.batch_size ||
                        reachable_pause.count() > 0);
  bool lost_rows = false;
  for (int sitting = 0; sitting < sittings; ++sitting) {
    CeilingResult naive, ceiling, reachable;
    std::vector<LogEntry> rows;
    if (!skip_ceiling) {
      StoreOptions o = options;
      o.path = dir + "/naive_ceiling.db";
      // Each phase on a thread of its own, named for perf and /proc.
      std::thread([&] {
        NameThisThread("naive-ceiling");
        naive = RunNaiveCeiling(o, load.seconds, *load.messages);
      }).join();
      // Enough rows for the ceiling at four times the naive rate (the lean
      // schema's ceiling runs at about 2.5 times); should it run out, it
      // stops early and says so (pool_exhausted).
      const int64_t pool =
          static_cast<int64_t>(4 * naive.Rate() * load.seconds) +
          options.batch_size;
      rows = GenerateRows(load.producers, pool, *load.messages);
      o.path = dir + "/ceiling.db";
      std::thread([&] {
        NameThisThread("ceiling");
        ceiling = RunCeiling(o, rows, load.seconds);
      }).join();
      if (measure_reachable) {
        o.path = dir + "/reachable_ceiling.db";
        o.batch_size = reachable_batch;
        std::thread([&] {
          NameThisThread("ceiling");
          reachable = RunCeiling(o, rows, load.seconds, reachable_pause);
        }).join();
      }
    }
    // The store phase writes the ceiling's rows (it comes last, so it may
    // move them out), unless --rows=live or there were no ceilings.
    const StoreResult store =
        skip_store ? StoreResult()
                   : RunStore(options, load, metrics.get(),
                              load.live_rows || rows.empty() ? nullptr
                                                             : &rows);
    const auto& c = store.counters;
    const double store_rate =
        store.seconds > 0 ? c.rows_committed / store.seconds : 0;
    const double ratio =
        ceiling.Rate() > 0 ? store_rate / ceiling.Rate() : 0.0;
    // Equal to ratio when the load can fill a batch.
    const double reachable_ratio =
        !measure_reachable ? ratio
        : reachable.Rate() > 0 ? store_rate / reachable.Rate()
                               : 0.0;
    const double reads_per_s =
        store.seconds > 0 ? store.reads / store.seconds : 0;
    nlohmann::json cpu = nlohmann::json::object();
    nlohmann::json switches = nlohmann::json::object();
    for (const auto& [name, t] : store.threads) {
      cpu[name] = t.cpu_ns / 1e9 / store.seconds;  // Cores used on average.
      switches[name] = {{"voluntary_per_s", t.voluntary / store.seconds},
                        {"involuntary_per_s", t.involuntary / store.seconds}};
    }
    // CPU per row of the thread that runs SQLite's inserts and commits: the
    // ceiling's one thread, the store's writer. Less noisy than rates on a
    // shared machine: it does not count time spent waiting for a core.
    const auto writer = store.threads.find("store-writer");
    const double writer_us_per_row =
        writer != store.threads.end() && c.rows_committed > 0
            ? writer->second.cpu_ns / 1e3 / c.rows_committed
            : 0;
    const double ceiling_us_per_row =
        ceiling.rows > 0 ? ceiling.thread_cpu_seconds * 1e6 / ceiling.rows : 0;
    nlohmann::json s = {
        {"naive_ceiling_rows_per_s", naive.Rate()},
        {"ceiling_rows_per_s", ceiling.Rate()},
        {"ceiling_pool_exhausted", ceiling.pool_exhausted},
        {"store_pool_exhausted", store.pool_exhausted},
        {"ceiling_commit_p99_ms", Ms(ceiling.commit_latency.Quantile(0.99))},
        {"ceiling_commit_max_ms", Ms(ceiling.commit_latency.max())},
        {"ceiling_checkpoints", ceiling.checkpoints},
        {"ceiling_cpu_us_per_row", ceiling_us_per_row},
        {"reachable_batch_size", reachable_batch},
        {"reachable_pause_ms",
         std::chrono::duration<double, std::milli>(reachable_pause).count()},
        {"reachable_ceiling_rows_per_s",
         measure_reachable ? reachable.Rate() : ceiling.Rate()},
        {"reachable_ratio", reachable_ratio},
        {"store_rows_per_s", store_rate},
        {"ratio", ratio},
        {"writer_cpu_us_per_row", writer_us_per_row},
        // ratio's noise-resistant companion: how much more CPU per row the
        // store's writer needs than the ceiling's thread (1 = none). Not
        // affected by how many cores the machine lent each phase.
        {"cpu_ratio", writer_us_per_row > 0
                          ? ceiling_us_per_row / writer_us_per_row
                          : 0.0},
        {"write_p50_ms", Ms(store.write_latency.Quantile(0.50))},
        {"write_p95_ms", Ms(store.write_latency.Quantile(0.95))},
        {"write_p99_ms", Ms(store.write_latency.Quantile(0.99))},
        {"write_max_ms", Ms(store.write_latency.max())},
        {"reads_per_s", reads_per_s},
        {"read_errors", store.read_errors},
        {"read_p50_ms", Ms(store.read_latency.Quantile(0.50))},
        {"read_p99_ms", Ms(store.read_latency.Quantile(0.99))},
        {"acknowledged", store.acknowledged},
        {"rows_in_db", store.rows_in_db},
        {"late_commits", c.late_commits},
        {"write_errors", store.errors},
        {"queue_full", c.queue_full},
        {"timeouts", c.timeouts},
        {"batches", c.batches},
        {"mean_batch_size", c.batches > 0 ? static_cast<double>(
                                                c.rows_committed) /
                                                c.batches
                                          : 0.0},
        {"checkpoints", c.checkpoints},
        {"cpu_cores_by_thread", cpu},
        {"context_switches_by_thread", switches},
    };
    per_sitting.push_back(s);
    naive_rates.push_back(naive.Rate());
    ceiling_rates.push_back(ceiling.Rate());
    store_rates.push_back(store_rate);
    ratios.push_back(ratio);
    reachable_ratios.push_back(reachable_ratio);
    p99s.push_back(s["write_p99_ms"].get<double>());
    read_rates.push_back(reads_per_s);
    cpu_ratios.push_back(s["cpu_ratio"].get<double>());
    // The durability promise, checked every sitting.
    if (!skip_store &&
        store.rows_in_db != store.acknowledged + c.late_commits) {
      std::cerr << "store_bench: rows in the database (" << store.rows_in_db
                << ") differ from acknowledged + late commits ("
                << store.acknowledged + c.late_commits << ")\n";
      lost_rows = true;
    }
    if (!json) {
      std::printf(
          "sitting %d: naive %.0f  ceiling %.0f%s  store %.0f%s rows/s  "
          "ratio %.3f  write p50 %.1f p99 %.1f max %.1f ms  batch %.1f",
          sitting + 1, naive.Rate(), ceiling.Rate(),
          ceiling.pool_exhausted ? " (pool exhausted)" : "", store_rate,
          store.pool_exhausted ? " (pool exhausted)" : "", ratio,
          s["write_p50_ms"].get<double>(), s["write_p99_ms"].get<double>(),
          s["write_max_ms"].get<double>(),
          s["mean_batch_size"].get<double>());
      if (load.readers > 0) {
        std::printf("  reads %.0f/s p99 %.1f ms", reads_per_s,
                    s["read_p99_ms"].get<double>());
      }
      std::printf("\n  cpu us/row: ceiling %.0f, writer %.0f;  cores:",
                  ceiling_us_per_row, writer_us_per_row);
      for (const auto& [name, cores] : cpu.items()) {
        std::printf(" %s %.2f", name.c_str(), cores.get<double>());
      }
      if (writer != store.threads.end()) {
        std::printf("\n  writer context switches/s: %.0f blocked, %.0f "
                    "preempted",
                    writer->second.voluntary / store.seconds,
                    writer->second.involuntary / store.seconds);
      }
      std::printf("\n  acknowledged %lld, rows in db %lld, errors %lld\n",
                  static_cast<long long>(store.acknowledged),
                  static_cast<long long>(store.rows_in_db),
                  static_cast<long long>(store.errors));
      std::fflush(stdout);
    }
  }
  if (temporary) std::filesystem::remove_all(dir);

  nlohmann::json out = {
      {"schema", loadtest::storage::SchemaName(options.schema)},
      {"sync", loadtest::storage::SyncModeName(options.sync)},
      {"batch_policy",
       loadtest::storage::BatchPolicyName(options.batch_policy)},
      {"batch_size", options.batch_size},
      {"cache_size_kib", options.cache_size_kib},
      {"temp_store", loadtest::storage::TempStoreName(options.temp_store)},
      {"fts_sync", loadtest::storage::FtsSyncName(options.fts_sync)},
      {"fts_automerge", FtsSettingJson(options.fts_automerge)},
      {"fts_crisismerge", FtsSettingJson(options.fts_crisismerge)},
      {"fts_pgsz", FtsSettingJson(options.fts_pgsz)},
      {"checkpoint_pages", options.checkpoint_pages},
      {"restart_pages", options.restart_pages},
      {"sqlite_memstatus", sqlite_memstatus},
      {"reader_mmap_mib", options.reader_mmap_mib},
      {"reader_nice", options.reader_nice},
      {"internals", options.collect_internals},
      {"metrics", with_metrics},
      {"producers", load.producers},
      {"producer_sched", producer_sched},
      {"rows", load.live_rows ? "live" : "pregenerated"},
      {"allocator", loadtest::cli::AllocatorName()},
      {"think_time_ms",
       std::chrono::duration<double, std::milli>(load.think_time).count()},
      {"readers", load.readers},
      {"read_delay_ms",
       std::chrono::duration<double, std::milli>(load.read_delay).count()},
      {"seconds", load.seconds},
      {"sittings", per_sitting},
      // Medians over the sittings, each figure on its own.
      {"naive_ceiling_rows_per_s", Median(naive_rates)},
      {"ceiling_rows_per_s", Median(ceiling_rates)},
      {"store_rows_per_s", Median(store_rates)},
      {"ratio", Median(ratios)},
      {"reachable_ratio", Median(reachable_ratios)},
      {"write_p99_ms", Median(p99s)},
      {"reads_per_s", Median(read_rates)},
      {"cpu_ratio", Median(cpu_ratios)},
      {"rows_match_acknowledged", !lost_rows},
  };
  if (json) {
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "schema=%s sync=%s policy=%s batch=%d cache=%dKiB temp-store=%s "
        "fts-sync=%s memstatus=%s producers=%d think=%.1fms rows=%s readers=%d "
        "seconds=%d sittings=%d allocator=%s\n"
        "median: naive ceiling %.0f  ceiling %.0f  store %.0f rows/s  "
        "ratio %.3f  write p99 %.1f ms",
        out["schema"].get<std::string>().c_str(),
        out["sync"].get<std::string>().c_str(),
        out["batch_policy"].get<std::string>().c_str(), options.batch_size,
        options.cache_size_kib,
        loadtest::storage::TempStoreName(options.temp_store),
        loadtest::storage::FtsSyncName(options.fts_sync),
        sqlite_memstatus ? "on" : "off", load.producers,
        out["think_time_ms"].get<double>(),
        out["rows"].get<std::string>().c_str(), load.readers, load.seconds,
        sittings, loadtest::cli::AllocatorName(), Median(naive_rates),
        Median(ceiling_rates), Median(store_rates), Median(ratios),
        Median(p99s));
    if (load.readers > 0) std::printf("  reads %.0f/s", Median(read_rates));
    if (measure_reachable) {
      std::printf("  ratio at batch %d", reachable_batch);
      if (reachable_pause.count() > 0) {
        std::printf(" pausing %.1f ms",
                    std::chrono::duration<double, std::milli>(reachable_pause)
                        .count());
      }
      std::printf(": %.3f", Median(reachable_ratios));
    }
    std::printf("\n");
  }
  return lost_rows ? 2 : 0;
}
