// store_bench: how close the batched store comes to SQLite's own ceiling.
//
// In one run, on the same schema, row generator, batch size and pragmas:
//  1. ceiling: one thread inserting straight into SQLite with a prepared
//     statement, batch_size rows per transaction, no queue, SQLite's default
//     auto-checkpoint (what a straightforward program gets);
//  2. store: N producer threads calling BatchedStore::Write in a closed loop
//     (write, then sleep --think-time), latency measured around each Write.
// The figure that matters is the ratio store/ceiling, measured in the same
// sitting on the same machine. Prints a table, or one JSON object (--json).
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"
#include "cli/flag_set.h"
#include "nlohmann/json.hpp"
#include "stats/latency_histogram.h"
#include "storage/batched_store.h"
#include "storage/internal/sqlite_util.h"
#include "storage/schema.h"

namespace {

using loadtest::agent::LogGenerator;
using loadtest::stats::LatencyHistogram;
using loadtest::storage::BatchedStore;
using loadtest::storage::StoreOptions;
using Clock = std::chrono::steady_clock;

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

struct CeilingResult {
  int64_t rows = 0;
  double seconds = 0;
  LatencyHistogram commit_latency;  // One sample per transaction.
};

CeilingResult RunCeiling(const StoreOptions& options, int seconds) {
  namespace internal = loadtest::storage::internal;
  auto db = OrFail(internal::OpenConnection(
      options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000));
  OrFail(internal::QueryText(db.get(), "PRAGMA journal_mode=WAL", options.path)
             .status());
  OrFail(internal::Exec(
      db.get(),
      absl::StrCat("PRAGMA synchronous=",
                   loadtest::storage::SyncModeName(options.sync)),
      options.path));
  OrFail(loadtest::storage::ApplySchema(db.get(), options.schema, true,
                                        options.path));
  auto insert = OrFail(
      internal::Prepare(db.get(), loadtest::storage::kInsertSql, options.path));
  LogGenerator generator(0, 1);
  CeilingResult result;
  std::string timestamp;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const Clock::time_point t0 = Clock::now();
    OrFail(internal::Exec(db.get(), "BEGIN IMMEDIATE", options.path));
    for (int i = 0; i < options.batch_size; ++i) {
      const loadtest::storage::LogEntry entry = generator.Next();
      loadtest::storage::BindInsert(insert.get(), entry, &timestamp);
      const int rc = sqlite3_step(insert.get());
      sqlite3_reset(insert.get());
      if (rc != SQLITE_DONE) {
        OrFail(internal::SqliteError(rc, db.get(), "ceiling insert",
                                     options.path));
      }
    }
    OrFail(internal::Exec(db.get(), "COMMIT", options.path));
    result.commit_latency.Record(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0)
            .count());
    result.rows += options.batch_size;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

struct StoreResult {
  int64_t acknowledged = 0, errors = 0;
  double seconds = 0;
  LatencyHistogram write_latency;
  loadtest::storage::StoreCounters counters;
  int64_t rows_in_db = 0;
};

StoreResult RunStore(const StoreOptions& options, int producers,
                     std::chrono::nanoseconds think_time, int seconds) {
  auto store = OrFail(BatchedStore::Open(options, nullptr));
  struct PerThread {
    LatencyHistogram latency;
    int64_t ok = 0, errors = 0;
  };
  std::vector<PerThread> per_thread(producers);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      LogGenerator generator(p, 1000 + p);
      PerThread& mine = per_thread[p];
      while (!stop.load(std::memory_order_relaxed)) {
        loadtest::storage::LogEntry entry = generator.Next();
        const Clock::time_point t0 = Clock::now();
        auto id = store->Write(std::move(entry));
        const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               Clock::now() - t0)
                               .count();
        if (id.ok()) {
          ++mine.ok;
          mine.latency.Record(ns);
        } else {
          ++mine.errors;
        }
        if (think_time.count() > 0) std::this_thread::sleep_for(think_time);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  StoreResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  OrFail(store->Close());
  result.counters = store->counters();
  for (const PerThread& t : per_thread) {
    result.acknowledged += t.ok;
    result.errors += t.errors;
    result.write_latency.Merge(t.latency);
  }
  namespace internal = loadtest::storage::internal;
  auto db = OrFail(
      internal::OpenConnection(options.path, SQLITE_OPEN_READONLY, 5000));
  result.rows_in_db = OrFail(
      internal::QueryInt(db.get(), "SELECT count(*) FROM logs", options.path));
  return result;
}

constexpr char kIntro[] =
    "store_bench: how close the batched store comes to SQLite's own ceiling.\n"
    "\n"
    "Runs two phases in one sitting, on the same schema, rows, batch size and\n"
    "pragmas, --seconds each:\n"
    "  1. ceiling: one thread inserting --batch-size rows per transaction\n"
    "     straight into SQLite with a prepared statement (no queue);\n"
    "  2. store: --producers threads calling BatchedStore::Write in a closed\n"
    "     loop (write, then sleep --think-time), latency timed around Write.\n"
    "Prints both rates, their ratio (the figure that matters) and the write\n"
    "latency, as a table or as one JSON object (--json). Exits 2 when the\n"
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
  int producers = 100;
  std::chrono::nanoseconds think_time = std::chrono::milliseconds(1);
  int seconds = 20;
  bool skip_ceiling = false;
  std::string dir;
  bool json = false;

  loadtest::cli::FlagSet flags("store_bench", kIntro);
  flags.AddSection("Store (both phases)");
  flags.AddString("schema", &schema,
                  "Table layout: full (the original's: FTS5 on message, "
                  "twelve indexes, triggers) or lean (primary key and a "
                  "timestamp index)");
  flags.AddString("sync", &sync,
                  "PRAGMA synchronous in WAL mode: off, normal (no fsync on "
                  "commit) or full (fsync on every commit)");
  flags.AddInt("batch-size", &batch_size,
               "Rows per transaction, 1 to 100000; the ceiling commits "
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
  flags.AddSection("Load");
  flags.AddInt("producers", &producers,
               "Threads calling Write in the store phase, at least 1");
  flags.AddDuration("think-time", &think_time,
                    "Sleep after each Write in each producer (0 for none); "
                    "with --producers it sets the offered load");
  flags.AddInt("seconds", &seconds, "Length of each phase, at least 1");
  flags.AddBool("skip-ceiling", &skip_ceiling,
                "Run only the store phase (the ratio is then reported as 0)");
  flags.AddSection("Output");
  flags.AddString("dir", &dir,
                  "Directory for the two database files, kept afterwards "
                  "(default: a fresh temporary directory, removed "
                  "afterwards)");
  flags.AddBool("json", &json, "Print one JSON object instead of a table");

  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }

  StoreOptions options;
  options.schema = OrFail(loadtest::storage::ParseSchema(schema));
  options.sync = OrFail(loadtest::storage::ParseSyncMode(sync));
  options.batch_policy =
      OrFail(loadtest::storage::ParseBatchPolicy(batch_policy));
  options.batch_size = batch_size;
  options.batch_timeout = batch_timeout;
  options.queue_size = queue_size;
  options.fresh = true;
  if (producers < 1)
    Fail(absl::StrCat("--producers must be >= 1, got ", producers));
  if (seconds < 1) Fail(absl::StrCat("--seconds must be >= 1, got ", seconds));

  const bool temporary = dir.empty();
  if (temporary) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "store_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Fail("cannot create a temporary directory");
    dir = tmpl;
  }
  options.path = dir + "/store_ceiling.db";
  OrFail(loadtest::storage::ValidateStoreOptions(options));

  CeilingResult ceiling;
  if (!skip_ceiling) ceiling = RunCeiling(options, seconds);
  options.path = dir + "/store.db";
  const StoreResult store = RunStore(options, producers, think_time, seconds);
  if (temporary) std::filesystem::remove_all(dir);

  const double ceiling_rate = ceiling.seconds > 0 ? ceiling.rows / ceiling.seconds : 0;
  const double store_rate = store.counters.rows_committed / store.seconds;
  const auto& c = store.counters;
  nlohmann::json out = {
      {"schema", loadtest::storage::SchemaName(options.schema)},
      {"sync", loadtest::storage::SyncModeName(options.sync)},
      {"batch_policy", loadtest::storage::BatchPolicyName(options.batch_policy)},
      {"batch_size", options.batch_size},
      {"producers", producers},
      {"think_time_ms", std::chrono::duration<double, std::milli>(think_time).count()},
      {"seconds", seconds},
      {"ceiling_rows_per_s", ceiling_rate},
      {"ceiling_commit_p99_ms", Ms(ceiling.commit_latency.Quantile(0.99))},
      {"ceiling_commit_max_ms", Ms(ceiling.commit_latency.max())},
      {"store_rows_per_s", store_rate},
      {"ratio", ceiling_rate > 0 ? store_rate / ceiling_rate : 0.0},
      {"write_p50_ms", Ms(store.write_latency.Quantile(0.50))},
      {"write_p95_ms", Ms(store.write_latency.Quantile(0.95))},
      {"write_p99_ms", Ms(store.write_latency.Quantile(0.99))},
      {"write_max_ms", Ms(store.write_latency.max())},
      {"acknowledged", store.acknowledged},
      {"rows_in_db", store.rows_in_db},
      {"late_commits", c.late_commits},
      {"write_errors", store.errors},
      {"queue_full", c.queue_full},
      {"timeouts", c.timeouts},
      {"batches", c.batches},
      {"mean_batch_size",
       c.batches > 0 ? static_cast<double>(c.rows_committed) / c.batches : 0.0},
      {"checkpoints", c.checkpoints},
  };
  if (json) {
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "schema=%s sync=%s policy=%s batch=%d producers=%d think=%.1fms "
        "seconds=%d\n",
        out["schema"].get<std::string>().c_str(),
        out["sync"].get<std::string>().c_str(),
        out["batch_policy"].get<std::string>().c_str(), options.batch_size,
        producers, out["think_time_ms"].get<double>(), seconds);
    std::printf("  ceiling  %10.0f rows/s   commit p99 %.1f ms, max %.1f ms\n",
                ceiling_rate, out["ceiling_commit_p99_ms"].get<double>(),
                out["ceiling_commit_max_ms"].get<double>());
    std::printf("  store    %10.0f rows/s   ratio %.3f\n", store_rate,
                out["ratio"].get<double>());
    std::printf("  write latency ms  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n",
                out["write_p50_ms"].get<double>(), out["write_p95_ms"].get<double>(),
                out["write_p99_ms"].get<double>(), out["write_max_ms"].get<double>());
    std::printf(
        "  acknowledged %lld, rows in db %lld, late commits %lld, errors %lld, "
        "batches %lld (mean %.1f rows), checkpoints %lld\n",
        static_cast<long long>(store.acknowledged),
        static_cast<long long>(store.rows_in_db),
        static_cast<long long>(c.late_commits),
        static_cast<long long>(store.errors), static_cast<long long>(c.batches),
        out["mean_batch_size"].get<double>(),
        static_cast<long long>(c.checkpoints));
  }
  // The durability promise, checked every run.
  if (store.rows_in_db != store.acknowledged + c.late_commits) {
    std::cerr << "store_bench: rows in the database (" << store.rows_in_db
              << ") differ from acknowledged + late commits ("
              << store.acknowledged + c.late_commits << ")\n";
    return 2;
  }
  return 0;
}
