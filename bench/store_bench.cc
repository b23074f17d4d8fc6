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

// What one producer or reader thread counted.
struct ThreadTally {
  LatencyHistogram latency;
  int64_t ok = 0, errors = 0;
};

// Starts load.producers threads into *threads, each calling store.Write in a
// closed loop until `stop`, counting into its own tallies[p]. With `pool`
// (rows from GenerateRows, interleaved by producer), producer p writes
// pool[p], pool[p + producers], ... moving each row out, and sets
// *pool_exhausted when its rows run out; without it, each producer generates
// its rows as it goes. Everything passed must outlive the threads.
void StartProducers(BatchedStore& store, const LoadOptions& load,
                    std::vector<LogEntry>* pool, const std::atomic<bool>& stop,
                    std::atomic<bool>* pool_exhausted,
                    std::vector<ThreadTally>* tallies,
                    std::vector<std::thread>* threads) {
  tallies->resize(load.producers);
  for (int p = 0; p < load.producers; ++p) {
    threads->emplace_back([&store, &load, pool, &stop, pool_exhausted,
                           &mine = (*tallies)[p], p] {
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
      size_t next = static_cast<size_t>(p);
      while (!stop.load(std::memory_order_relaxed)) {
        LogEntry entry;
        if (pool == nullptr) {
          entry = generator->Next();
        } else if (next < pool->size()) {
          entry = std::move((*pool)[next]);
          next += static_cast<size_t>(load.producers);
        } else {
          *pool_exhausted = true;
          break;
        }
        const Clock::time_point t0 = Clock::now();
        auto id = store.Write(std::move(entry));
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
}

// Starts one thread per reader into *threads, each running the original's
// five queries in turn on its own readers[r] until `stop`, counting into
// tallies[r]. Everything passed must outlive the threads.
void StartReaders(
    const std::vector<std::unique_ptr<loadtest::storage::StoreReader>>&
        readers,
    const LoadOptions& load, const std::atomic<bool>& stop,
    std::vector<ThreadTally>* tallies, std::vector<std::thread>* threads) {
  tallies->resize(readers.size());
  for (size_t r = 0; r < readers.size(); ++r) {
    threads->emplace_back([&reader = *readers[r], &load, &stop,
                           &mine = (*tallies)[r]] {
      NameThisThread("reader");
      for (int64_t k = 0; !stop.load(std::memory_order_relaxed); ++k) {
        const Clock::time_point t0 = Clock::now();
        if (RunQuery(reader, k, *load.messages).ok()) {
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
}

// `metrics` may be null (none, the default) or the metrics an agent keeps.
// `pool` as for StartProducers.
StoreResult RunStore(const StoreOptions& options, const LoadOptions& load,
                     loadtest::storage::StoreMetrics* metrics,
                     std::vector<LogEntry>* pool) {
  auto store = OrFail(BatchedStore::Open(options, metrics));
  std::vector<std::unique_ptr<loadtest::storage::StoreReader>> readers;
  for (int r = 0; r < load.readers; ++r) {
    readers.push_back(OrFail(store->NewReader()));
  }
  std::vector<ThreadTally> per_producer, per_reader;
  std::atomic<bool> stop{false};
  std::atomic<bool> pool_exhausted{false};
  std::vector<std::thread> threads;
  const ThreadCpu cpu_before = SnapshotThreadCpu();
  const Clock::time_point start = Clock::now();
  StartProducers(*store, load, pool, stop, &pool_exhausted, &per_producer,
                 &threads);
  StartReaders(readers, load, stop, &per_reader, &threads);
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
  for (const ThreadTally& t : per_producer) {
    result.acknowledged += t.ok;
    result.errors += t.errors;
    result.write_latency.Merge(t.latency);
  }
  for (const ThreadTally& t : per_reader) {
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


// The flags as given, before MakeBench checks them.
struct Flags {
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
  std::string messages = "original";
  std::string search_terms;
  int sittings = 1;
  bool skip_ceiling = false;
  bool skip_store = false;
  bool internals = true;
  bool with_metrics = false;
  std::string dir;
  bool json = false;
};

// Registers every flag of store_bench on `flags`, bound to *f (which must
// outlive the parse).
void AddFlags(loadtest::cli::FlagSet& flags, Flags* f) {
  flags.AddSection("Store (every phase)");
  flags.AddString("schema", &f->schema,
                  "Table layout: full (the original's: FTS5 on message, "
                  "twelve indexes, triggers) or lean (primary key and a "
                  "timestamp index)");
  flags.AddString("sync", &f->sync,
                  "PRAGMA synchronous in WAL mode: off, normal (no fsync on "
                  "commit) or full (fsync on every commit)");
  flags.AddInt("batch-size", &f->batch_size,
               "Rows per transaction, 1 to 100000; the ceilings commit "
               "exactly this many, the store at most this many");
  flags.AddString("batch-policy", &f->batch_policy,
                  "When the store closes a batch: group (when the queue is "
                  "empty or the batch is full) or linger (the original's: "
                  "wait up to --batch-timeout for a full batch)");
  flags.AddDuration("batch-timeout", &f->batch_timeout,
                    "Longest a batch waits for more rows under "
                    "--batch-policy=linger; ignored by group");
  flags.AddInt("queue-size", &f->queue_size,
               "Rows the store queues before Write fails with queue full; at "
               "least --batch-size");
  flags.AddInt("cache-size-kib", &f->cache_size_kib,
               "SQLite page cache of the write connection in KiB, 1024 to "
               "4194304 (store and ceiling)");
  flags.AddInt("checkpoint-pages", &f->checkpoint_pages,
               "New WAL frames between two background checkpoints, at least "
               "1 (store and ceiling)");
  flags.AddInt("restart-pages", &f->restart_pages,
               "WAL frames at which the writer completes a checkpoint itself "
               "so that the WAL starts over, at least --checkpoint-pages");
  flags.AddString("temp-store", &f->temp_store,
                  "Where the write connection keeps statement journals: "
                  "memory (the store's default) or file (SQLite's: spilled "
                  "to a temporary file past 64 KiB)");
  flags.AddString("fts-sync", &f->fts_sync,
                  "How the full schema's FTS5 index is filled, in every "
                  "phase: trigger (OpenTrail's: a trigger per row) or batch "
                  "(one INSERT ... SELECT per transaction, before its "
                  "COMMIT)");
  flags.AddInt("fts-automerge", &f->fts_automerge,
               "FTS5's automerge, 0 to 64 (0 = never merge in the "
               "background); -1: SQLite's default (4)");
  flags.AddInt("fts-crisismerge", &f->fts_crisismerge,
               "FTS5's crisismerge, 2 to 1999; -1: SQLite's default (16)");
  flags.AddInt("fts-pgsz", &f->fts_pgsz,
               "FTS5's leaf page size in bytes, 32 to 65536; -1: SQLite's "
               "default (4050)");
  flags.AddBool("sqlite-memstatus", &f->sqlite_memstatus,
                "Initialize SQLite with its memory statistics on (SQLite's "
                "default; the store turns them off), to measure what they "
                "cost");
  flags.AddInt("reader-mmap-mib", &f->reader_mmap_mib,
               "MiB of the database each reader maps (PRAGMA mmap_size), 0 "
               "to 65536, 0 = off");
  flags.AddInt("reader-nice", &f->reader_nice,
               "Writer priority: reader threads lower their own priority to "
               "this nice value, 0 to 19, 0 = off");
  flags.AddBool("internals", &f->internals,
                "Collect SQLite's internals (COMMIT and checkpoint times, WAL, "
                "lock waits, page cache); --internals=false measures what "
                "collecting them costs");
  flags.AddBool("metrics", &f->with_metrics,
                "Give the store its Prometheus metrics, as an agent does");
  flags.AddSection("Load");
  flags.AddInt("producers", &f->load.producers,
               "Threads calling Write in the store phase, at least 1");
  flags.AddDuration("think-time", &f->load.think_time,
                    "Sleep after each Write in each producer (0 for none); "
                    "with --producers it sets the offered load");
  flags.AddString("producer-sched", &f->producer_sched,
                  "Scheduling of the producers: normal (as an agent's writer "
                  "threads) or batch (SCHED_BATCH: a producer woken by its "
                  "acknowledgement does not preempt the store's threads), to "
                  "measure what the load generator's own wake-ups cost");
  flags.AddString("messages", &f->messages,
                  "The rows: original, realistic or file:PATH "
                  "(docs/messages.md; a file's format is detected)");
  flags.AddString("search-terms", &f->search_terms,
                  "What the readers search: original, common, rare or mixed "
                  "(default: original with --messages=original, else mixed)");
  flags.AddString("rows", &f->rows_source,
                  "Where the store phase's producers get their rows: "
                  "pregenerated (the ceilings' rows, generated before the "
                  "clock starts, so that both sides of the ratio leave "
                  "generating out) or live (each producer generates its rows "
                  "as it goes, as an agent's writer threads do); "
                  "--skip-ceiling means live");
  flags.AddInt("readers", &f->load.readers,
               "Threads running the original's five queries in the store "
               "phase, each on its own reader, 0 to 1000");
  flags.AddDuration("read-delay", &f->load.read_delay,
                    "Sleep after each query in each reader (loadtest's "
                    "--read-delay)");
  flags.AddInt("seconds", &f->load.seconds, "Length of each phase, at least 1");
  flags.AddInt("sittings", &f->sittings,
               "Repeat all phases this many times, 1 to 100; the headline "
               "figures are medians");
  flags.AddBool("skip-ceiling", &f->skip_ceiling,
                "Run only the store phase (the ratio is then reported as 0)");
  flags.AddBool("skip-store", &f->skip_store,
                "Run only the ceilings (to compare pragmas)");
  flags.AddSection("Output");
  flags.AddString("dir", &f->dir,
                  "Directory for the database files, kept afterwards "
                  "(default: a fresh temporary directory, removed "
                  "afterwards)");
  flags.AddBool("json", &f->json,
                "Print one JSON object instead of a table, with every "
                "sitting's figures under \"sittings\"");
}

// What the sittings run, checked: the store's options (path: the store
// phase's file in dir), the load, and the load's shape at which the ceiling
// is measured again.
struct Bench {
  StoreOptions options;
  LoadOptions load;  // load.messages points into `messages`.
  std::unique_ptr<MessageSource> messages;
  Flags flags;  // As given, for the report.
  std::string dir;
  bool temporary_dir = false;  // Made here, removed at the end.
  // The load's shape (what the writer could do with the load's own
  // batches): producers each have one write outstanding, so no transaction
  // of the store holds more than --producers rows; and when every producer
  // fits in one batch, each transaction holds them all and they all think
  // before writing again, so that a writer serving them in one group waits
  // out the think time after each COMMIT.
  int reachable_batch = 0;
  std::chrono::nanoseconds reachable_pause{0};
  bool measure_reachable = false;
};

StoreOptions MakeStoreOptions(const Flags& f) {
  StoreOptions options;
  options.temp_store = OrFail(loadtest::storage::ParseTempStore(f.temp_store));
  options.fts_sync = OrFail(loadtest::storage::ParseFtsSync(f.fts_sync));
  options.fts_automerge = f.fts_automerge;
  options.fts_crisismerge = f.fts_crisismerge;
  options.fts_pgsz = f.fts_pgsz;
  options.schema = OrFail(loadtest::storage::ParseSchema(f.schema));
  options.sync = OrFail(loadtest::storage::ParseSyncMode(f.sync));
  options.batch_policy =
      OrFail(loadtest::storage::ParseBatchPolicy(f.batch_policy));
  options.batch_size = f.batch_size;
  options.batch_timeout = f.batch_timeout;
  options.queue_size = f.queue_size;
  options.cache_size_kib = f.cache_size_kib;
  options.checkpoint_pages = f.checkpoint_pages;
  options.restart_pages = f.restart_pages;
  options.reader_mmap_mib = f.reader_mmap_mib;
  options.reader_nice = f.reader_nice;
  options.collect_internals = f.internals;
  options.fresh = true;
  return options;
}

std::unique_ptr<MessageSource> MakeMessages(const Flags& f) {
  loadtest::protocol::MessageOptions message_options;
  if (f.messages.rfind("file:", 0) == 0) {
    message_options.source = loadtest::protocol::MessageSource::kFile;
    message_options.file_path = f.messages.substr(5);
    message_options.file_content =
        OrFail(loadtest::agent::ReadMessagesFile(message_options.file_path));
    message_options.content_hash =
        loadtest::protocol::ContentHash(message_options.file_content);
  } else {
    message_options.source = OrFail(
        loadtest::protocol::ParseMessageSource("messages", f.messages));
  }
  message_options.search_terms =
      !f.search_terms.empty()
          ? OrFail(loadtest::protocol::ParseSearchTerms("search-terms",
                                                        f.search_terms))
      : message_options.source == loadtest::protocol::MessageSource::kOriginal
          ? loadtest::protocol::SearchTerms::kOriginal
          : loadtest::protocol::SearchTerms::kMixed;
  return OrFail(MessageSource::Create(message_options, 1));
}

// Checks the flags in order, failing (exit 1) on the first bad one, and
// makes the database directory.
Bench MakeBench(const Flags& f) {
  if (f.sqlite_memstatus) {
    // Before any connection: SQLite then keeps these settings for the
    // process (internal::InitializeSqliteOnce leaves them).
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
    sqlite3_initialize();
  }
  Bench bench;
  bench.flags = f;
  bench.options = MakeStoreOptions(f);
  bench.load = f.load;
  if (bench.load.producers < 1) {
    Fail(absl::StrCat("--producers must be >= 1, got ", bench.load.producers));
  }
  if (f.producer_sched != "normal" && f.producer_sched != "batch") {
    Fail(absl::StrCat("--producer-sched must be normal or batch, got \"",
                      f.producer_sched, "\""));
  }
  bench.load.batch_sched = f.producer_sched == "batch";
  if (f.rows_source != "pregenerated" && f.rows_source != "live") {
    Fail(absl::StrCat("--rows must be pregenerated or live, got \"",
                      f.rows_source, "\""));
  }
  bench.load.live_rows = f.rows_source == "live" || f.skip_ceiling;
  bench.messages = MakeMessages(f);
  bench.load.messages = bench.messages.get();
  if (bench.load.readers < 0 || bench.load.readers > 1000) {
    Fail(absl::StrCat("--readers must be between 0 and 1000, got ",
                      bench.load.readers));
  }
  if (bench.load.read_delay.count() < 0) {
    Fail(absl::StrCat("--read-delay must be >= 0, got ",
                      bench.load.read_delay.count(), "ns"));
  }
  if (bench.load.seconds < 1) {
    Fail(absl::StrCat("--seconds must be >= 1, got ", bench.load.seconds));
  }
  if (f.sittings < 1 || f.sittings > 100) {
    Fail(absl::StrCat("--sittings must be between 1 and 100, got ",
                      f.sittings));
  }
  bench.dir = f.dir;
  bench.temporary_dir = bench.dir.empty();
  if (bench.temporary_dir) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "store_bench.XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      Fail("cannot create a temporary directory");
    }
    bench.dir = tmpl;
  }
  bench.options.path = bench.dir + "/store.db";
  OrFail(loadtest::storage::ValidateStoreOptions(bench.options));
  const int producers = bench.load.producers;
  bench.reachable_batch = std::min(bench.options.batch_size, producers);
  bench.reachable_pause = producers <= bench.options.batch_size
                              ? bench.load.think_time
                              : std::chrono::nanoseconds::zero();
  bench.measure_reachable =
      !f.skip_ceiling && (bench.reachable_batch < bench.options.batch_size ||
                          bench.reachable_pause.count() > 0);
  return bench;
}

// One sitting's ceilings (all zero under --skip-ceiling) and the rows the
// ceiling wrote, which the store phase writes again.
struct Ceilings {
  CeilingResult naive, ceiling, reachable;
  std::vector<LogEntry> rows;
};

Ceilings RunCeilings(const Bench& bench) {
  Ceilings out;
  if (bench.flags.skip_ceiling) return out;
  const LoadOptions& load = bench.load;
  StoreOptions o = bench.options;
  o.path = bench.dir + "/naive_ceiling.db";
  // Each phase on a thread of its own, named for perf and /proc.
  std::thread([&] {
    NameThisThread("naive-ceiling");
    out.naive = RunNaiveCeiling(o, load.seconds, *load.messages);
  }).join();
  // Enough rows for the ceiling at four times the naive rate (the lean
  // schema's ceiling runs at about 2.5 times); should it run out, it
  // stops early and says so (pool_exhausted).
  const int64_t pool =
      static_cast<int64_t>(4 * out.naive.Rate() * load.seconds) +
      o.batch_size;
  out.rows = GenerateRows(load.producers, pool, *load.messages);
  o.path = bench.dir + "/ceiling.db";
  std::thread([&] {
    NameThisThread("ceiling");
    out.ceiling = RunCeiling(o, out.rows, load.seconds);
  }).join();
  if (bench.measure_reachable) {
    o.path = bench.dir + "/reachable_ceiling.db";
    o.batch_size = bench.reachable_batch;
    std::thread([&] {
      NameThisThread("ceiling");
      out.reachable =
          RunCeiling(o, out.rows, load.seconds, bench.reachable_pause);
    }).join();
  }
  return out;
}

// The store phase writes the ceiling's rows (it comes last, so it moves
// them out of `ceilings`), unless --rows=live or there were no ceilings.
StoreResult RunStorePhase(const Bench& bench,
                          loadtest::storage::StoreMetrics* metrics,
                          Ceilings* ceilings) {
  if (bench.flags.skip_store) return StoreResult();
  const bool pregenerated =
      !bench.load.live_rows && !ceilings->rows.empty();
  return RunStore(bench.options, bench.load, metrics,
                  pregenerated ? &ceilings->rows : nullptr);
}

// One sitting's figures, as the JSON report's "sittings" holds them.
nlohmann::json SittingFigures(const Bench& bench, const Ceilings& ceilings,
                              const StoreResult& store) {
  const CeilingResult& ceiling = ceilings.ceiling;
  const auto& c = store.counters;
  const double store_rate =
      store.seconds > 0 ? c.rows_committed / store.seconds : 0;
  const double ratio = ceiling.Rate() > 0 ? store_rate / ceiling.Rate() : 0.0;
  // Equal to ratio when the load can fill a batch.
  const double reachable_ratio =
      !bench.measure_reachable       ? ratio
      : ceilings.reachable.Rate() > 0 ? store_rate / ceilings.reachable.Rate()
                                      : 0.0;
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
  return {
      {"naive_ceiling_rows_per_s", ceilings.naive.Rate()},
      {"ceiling_rows_per_s", ceiling.Rate()},
      {"ceiling_pool_exhausted", ceiling.pool_exhausted},
      {"store_pool_exhausted", store.pool_exhausted},
      {"ceiling_commit_p99_ms", Ms(ceiling.commit_latency.Quantile(0.99))},
      {"ceiling_commit_max_ms", Ms(ceiling.commit_latency.max())},
      {"ceiling_checkpoints", ceiling.checkpoints},
      {"ceiling_cpu_us_per_row", ceiling_us_per_row},
      {"reachable_batch_size", bench.reachable_batch},
      {"reachable_pause_ms",
       std::chrono::duration<double, std::milli>(bench.reachable_pause)
           .count()},
      {"reachable_ceiling_rows_per_s",
       bench.measure_reachable ? ceilings.reachable.Rate() : ceiling.Rate()},
      {"reachable_ratio", reachable_ratio},
      {"store_rows_per_s", store_rate},
      {"ratio", ratio},
      {"writer_cpu_us_per_row", writer_us_per_row},
      // ratio's noise-resistant companion: how much more CPU per row the
      // store's writer needs than the ceiling's thread (1 = none). Not
      // affected by how many cores the machine lent each phase.
      {"cpu_ratio",
       writer_us_per_row > 0 ? ceiling_us_per_row / writer_us_per_row : 0.0},
      {"write_p50_ms", Ms(store.write_latency.Quantile(0.50))},
      {"write_p95_ms", Ms(store.write_latency.Quantile(0.95))},
      {"write_p99_ms", Ms(store.write_latency.Quantile(0.99))},
      {"write_max_ms", Ms(store.write_latency.max())},
      {"reads_per_s", store.seconds > 0 ? store.reads / store.seconds : 0},
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
      {"mean_batch_size",
       c.batches > 0 ? static_cast<double>(c.rows_committed) / c.batches
                     : 0.0},
      {"checkpoints", c.checkpoints},
      {"cpu_cores_by_thread", cpu},
      {"context_switches_by_thread", switches},
  };
}

// The durability promise, checked every sitting: false (and says so) when
// the rows in the database differ from acknowledged + late commits.
bool RowsMatchAcknowledged(const Bench& bench, const StoreResult& store) {
  const int64_t expected = store.acknowledged + store.counters.late_commits;
  if (bench.flags.skip_store || store.rows_in_db == expected) return true;
  std::cerr << "store_bench: rows in the database (" << store.rows_in_db
            << ") differ from acknowledged + late commits (" << expected
            << ")\n";
  return false;
}

double Get(const nlohmann::json& figures, const char* name) {
  return figures[name].get<double>();
}

long long GetInt(const nlohmann::json& figures, const char* name) {
  return figures[name].get<long long>();
}

// The table's lines for one sitting (counted from 0).
void PrintSitting(int sitting, const LoadOptions& load,
                  const nlohmann::json& s) {
  std::printf(
      "sitting %d: naive %.0f  ceiling %.0f%s  store %.0f%s rows/s  "
      "ratio %.3f  write p50 %.1f p99 %.1f max %.1f ms  batch %.1f",
      sitting + 1, Get(s, "naive_ceiling_rows_per_s"),
      Get(s, "ceiling_rows_per_s"),
      s["ceiling_pool_exhausted"].get<bool>() ? " (pool exhausted)" : "",
      Get(s, "store_rows_per_s"),
      s["store_pool_exhausted"].get<bool>() ? " (pool exhausted)" : "",
      Get(s, "ratio"), Get(s, "write_p50_ms"), Get(s, "write_p99_ms"),
      Get(s, "write_max_ms"), Get(s, "mean_batch_size"));
  if (load.readers > 0) {
    std::printf("  reads %.0f/s p99 %.1f ms", Get(s, "reads_per_s"),
                Get(s, "read_p99_ms"));
  }
  std::printf("\n  cpu us/row: ceiling %.0f, writer %.0f;  cores:",
              Get(s, "ceiling_cpu_us_per_row"), Get(s, "writer_cpu_us_per_row"));
  for (const auto& [name, cores] : s["cpu_cores_by_thread"].items()) {
    std::printf(" %s %.2f", name.c_str(), cores.get<double>());
  }
  const nlohmann::json& switches = s["context_switches_by_thread"];
  if (switches.contains("store-writer")) {
    std::printf("\n  writer context switches/s: %.0f blocked, %.0f "
                "preempted",
                Get(switches["store-writer"], "voluntary_per_s"),
                Get(switches["store-writer"], "involuntary_per_s"));
  }
  std::printf("\n  acknowledged %lld, rows in db %lld, errors %lld\n",
              GetInt(s, "acknowledged"), GetInt(s, "rows_in_db"),
              GetInt(s, "write_errors"));
  std::fflush(stdout);
}

// Median over the sittings of one figure.
double MedianOf(const nlohmann::json& sittings, const char* name) {
  std::vector<double> values;
  for (const nlohmann::json& s : sittings) values.push_back(Get(s, name));
  return Median(std::move(values));
}

// The JSON report: the settings, every sitting, and the medians.
nlohmann::json Report(const Bench& bench, const nlohmann::json& sittings,
                      bool lost_rows) {
  const StoreOptions& options = bench.options;
  const LoadOptions& load = bench.load;
  return {
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
      {"sqlite_memstatus", bench.flags.sqlite_memstatus},
      {"reader_mmap_mib", options.reader_mmap_mib},
      {"reader_nice", options.reader_nice},
      {"internals", options.collect_internals},
      {"metrics", bench.flags.with_metrics},
      {"producers", load.producers},
      {"producer_sched", bench.flags.producer_sched},
      {"rows", load.live_rows ? "live" : "pregenerated"},
      {"allocator", loadtest::cli::AllocatorName()},
      {"think_time_ms",
       std::chrono::duration<double, std::milli>(load.think_time).count()},
      {"readers", load.readers},
      {"read_delay_ms",
       std::chrono::duration<double, std::milli>(load.read_delay).count()},
      {"seconds", load.seconds},
      {"sittings", sittings},
      // Medians over the sittings, each figure on its own.
      {"naive_ceiling_rows_per_s",
       MedianOf(sittings, "naive_ceiling_rows_per_s")},
      {"ceiling_rows_per_s", MedianOf(sittings, "ceiling_rows_per_s")},
      {"store_rows_per_s", MedianOf(sittings, "store_rows_per_s")},
      {"ratio", MedianOf(sittings, "ratio")},
      {"reachable_ratio", MedianOf(sittings, "reachable_ratio")},
      {"write_p99_ms", MedianOf(sittings, "write_p99_ms")},
      {"reads_per_s", MedianOf(sittings, "reads_per_s")},
      {"cpu_ratio", MedianOf(sittings, "cpu_ratio")},
      {"rows_match_acknowledged", !lost_rows},
  };
}

// The table's last lines: the settings and the medians of `report`.
void PrintSummary(const Bench& bench, const nlohmann::json& report) {
  const StoreOptions& options = bench.options;
  const LoadOptions& load = bench.load;
  std::printf(
      "schema=%s sync=%s policy=%s batch=%d cache=%dKiB temp-store=%s "
      "fts-sync=%s memstatus=%s producers=%d think=%.1fms rows=%s readers=%d "
      "seconds=%d sittings=%d allocator=%s\n"
      "median: naive ceiling %.0f  ceiling %.0f  store %.0f rows/s  "
      "ratio %.3f  write p99 %.1f ms",
      report["schema"].get<std::string>().c_str(),
      report["sync"].get<std::string>().c_str(),
      report["batch_policy"].get<std::string>().c_str(), options.batch_size,
      options.cache_size_kib,
      loadtest::storage::TempStoreName(options.temp_store),
      loadtest::storage::FtsSyncName(options.fts_sync),
      bench.flags.sqlite_memstatus ? "on" : "off", load.producers,
      Get(report, "think_time_ms"), report["rows"].get<std::string>().c_str(),
      load.readers, load.seconds, bench.flags.sittings,
      loadtest::cli::AllocatorName(), Get(report, "naive_ceiling_rows_per_s"),
      Get(report, "ceiling_rows_per_s"), Get(report, "store_rows_per_s"),
      Get(report, "ratio"), Get(report, "write_p99_ms"));
  if (load.readers > 0) {
    std::printf("  reads %.0f/s", Get(report, "reads_per_s"));
  }
  if (bench.measure_reachable) {
    std::printf("  ratio at batch %d", bench.reachable_batch);
    if (bench.reachable_pause.count() > 0) {
      std::printf(" pausing %.1f ms",
                  std::chrono::duration<double, std::milli>(
                      bench.reachable_pause)
                      .count());
    }
    std::printf(": %.3f", Get(report, "reachable_ratio"));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Flags given;
  loadtest::cli::FlagSet flags("store_bench", kIntro);
  AddFlags(flags, &given);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  const Bench bench = MakeBench(given);
  NameThisThread("store_bench");
  prometheus::Registry registry;
  std::unique_ptr<loadtest::storage::StoreMetrics> metrics;
  if (bench.flags.with_metrics) {
    metrics = OrFail(loadtest::storage::StoreMetrics::Create(registry));
  }
  nlohmann::json sittings = nlohmann::json::array();
  bool lost_rows = false;
  for (int sitting = 0; sitting < bench.flags.sittings; ++sitting) {
    Ceilings ceilings = RunCeilings(bench);
    const StoreResult store = RunStorePhase(bench, metrics.get(), &ceilings);
    sittings.push_back(SittingFigures(bench, ceilings, store));
    if (!RowsMatchAcknowledged(bench, store)) lost_rows = true;
    if (!bench.flags.json) PrintSitting(sitting, bench.load, sittings.back());
  }
  if (bench.temporary_dir) std::filesystem::remove_all(bench.dir);
  const nlohmann::json report = Report(bench, sittings, lost_rows);
  if (bench.flags.json) {
    std::cout << report.dump() << "\n";
  } else {
    PrintSummary(bench, report);
  }
  return lost_rows ? 2 : 0;
}
