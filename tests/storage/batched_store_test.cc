#include "storage/batched_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "sync/mutex.h"
#include "tests/storage/wait_until.h"
#include "tests/storage/write_lock.h"

namespace loadtest::storage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

LogEntry MakeEntry(int i, const std::string& message = "") {
  LogEntry e;
  e.facility = i % 24;
  e.severity = i % 8;
  e.priority = e.facility * 8 + e.severity;
  e.timestamp_ns = 1795752445000000000 + i;
  e.hostname = "web0" + std::to_string(i % 3);
  e.app_name = i % 2 == 0 ? "nginx" : "worker";
  e.proc_id = std::to_string(1000 + i);
  e.msg_id = "ID" + std::to_string(i);
  e.structured_data = "{\"i\":" + std::to_string(i) + "}";
  e.message = message.empty() ? "entry number " + std::to_string(i) : message;
  return e;
}

int64_t CountRowsWithSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM logs", -1, &stmt, nullptr);
  int64_t count = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

class BatchedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "storetest.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    options_.path = dir_ + "/logs.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BatchedStore> OpenStore(StoreMetrics* metrics = nullptr) {
    auto store = BatchedStore::Open(options_, metrics);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Creates the schema by opening and closing a store once.
  void CreateSchema() {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Close().ok());
  }

  // Writes rows first..last from one thread each, expecting each to commit;
  // with `taken_first`, waits until the writer has taken row `first` into
  // a batch (blocked in BEGIN behind an ExternalWriteLock) before the rest.
  static void WriteConcurrently(BatchedStore* store, int first, int last,
                                bool taken_first,
                                std::vector<std::thread>* threads) {
    for (int i = first; i <= last; ++i) {
      threads->emplace_back(
          [store, i] { EXPECT_TRUE(store->Write(MakeEntry(i)).ok()); });
      if (i == first && taken_first) {
        ASSERT_TRUE(WaitUntil([&] {
          return store->counters().submitted == 1 && store->queue_depth() == 0;
        }));
      }
    }
  }

  static void ExpectIdentity(const StoreCounters& c) {
    EXPECT_EQ(c.submitted, c.ok + c.queue_full + c.timeouts + c.failed +
                               c.pending);
    EXPECT_EQ(c.timeouts, c.late_commits + c.late_failures + c.abandoned +
                              c.timeouts_unresolved);
    EXPECT_EQ(c.rows_committed, c.ok + c.late_commits);
  }

  std::string dir_;
  StoreOptions options_;
};

TEST_F(BatchedStoreTest, WriteReturnsIdOfCommittedRow) {
  auto store = OpenStore();
  auto id = store->Write(MakeEntry(1));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 1);
  // Visible to another process the moment Write returned: it committed.
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 1);
  EXPECT_EQ(store->counters().ok, 1);
}

TEST_F(BatchedStoreTest, CommitsWhenBatchIsFull) {
  options_.batch_policy = BatchPolicy::kLinger;
  options_.batch_size = 5;
  options_.batch_timeout = std::chrono::minutes(1);
  options_.write_timeout = std::chrono::minutes(5);
  auto store = OpenStore();
  std::vector<std::thread> threads;
  WriteConcurrently(store.get(), 0, 9, /*taken_first=*/false, &threads);
  for (auto& t : threads) t.join();
  // Ten rows in batches of exactly five: each closed by size, long before
  // its one-minute timeout.
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.ok, 10);
  EXPECT_EQ(c.batches, 2);
}

TEST_F(BatchedStoreTest, ClosesBatchByTimeoutWhenItDoesNotFill) {
  options_.batch_policy = BatchPolicy::kLinger;
  options_.batch_size = 100;
  options_.batch_timeout = milliseconds(50);
  auto store = OpenStore();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store->Write(MakeEntry(1)).ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // A lone row waits out the whole batch timeout, then commits alone.
  EXPECT_GE(elapsed, milliseconds(50));
  EXPECT_EQ(store->counters().batches, 1);
  EXPECT_EQ(store->counters().rows_committed, 1);
}

TEST_F(BatchedStoreTest, GroupCommitNeverWaitsForRowsNobodySends) {
  options_.batch_size = 100;
  options_.batch_timeout = std::chrono::minutes(1);
  options_.write_timeout = std::chrono::minutes(10);
  auto store = OpenStore();
  // Each write commits at once: had the writer lingered for the batch
  // timeout, these five writes would take five minutes and the test time out.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  EXPECT_EQ(store->counters().batches, 5);
}

TEST_F(BatchedStoreTest, GroupCommitTakesRowsQueuedWhileItWritesIntoTheSameBatch) {
  CreateSchema();
  options_.batch_size = 100;
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  std::vector<std::thread> threads;
  // The writer takes row 0 and blocks in BEGIN; rows 1..20 queue behind it
  // and join its open transaction: one COMMIT for all 21.
  WriteConcurrently(store.get(), 0, 20, /*taken_first=*/true, &threads);
  ASSERT_TRUE(WaitUntil([&] { return store->queue_depth() == 20; }));
  lock.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->counters().batches, 1);
  EXPECT_EQ(store->counters().ok, 21);
}

TEST_F(BatchedStoreTest, GroupCommitStillClosesABatchAtBatchSize) {
  CreateSchema();
  options_.batch_size = 5;
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  std::vector<std::thread> threads;
  // Row 0 blocked in BEGIN, rows 1..20 queued: 21 rows in batches of at
  // most five.
  WriteConcurrently(store.get(), 0, 20, /*taken_first=*/true, &threads);
  ASSERT_TRUE(WaitUntil([&] { return store->queue_depth() == 20; }));
  lock.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->counters().batches, 5);
  EXPECT_EQ(store->counters().ok, 21);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 21);
}

TEST_F(BatchedStoreTest, RefusesAtOnceWhenQueueIsFullAndCountsIt) {
  CreateSchema();
  options_.batch_size = 2;
  options_.queue_size = 2;
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  std::vector<std::thread> threads;
  WriteConcurrently(store.get(), 0, 2, /*taken_first=*/true, &threads);
  ASSERT_TRUE(WaitUntil([&] { return store->queue_depth() == 2; }));
  auto refused = store->Write(MakeEntry(3));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(IsQueueFull(refused.status()));
  EXPECT_NE(refused.status().message().find("queue-size"), std::string::npos);
  EXPECT_EQ(store->counters().queue_full, 1);
  lock.Release();
  for (auto& t : threads) t.join();
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.ok, 3);
  EXPECT_EQ(c.submitted, 4);
  ExpectIdentity(c);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 3);
}

TEST_F(BatchedStoreTest, ReportsTimeoutAndCountsLateCommitAndAbandonedWrite) {
  CreateSchema();
  options_.write_timeout = milliseconds(50);
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  absl::StatusOr<int64_t> in_batch, queued;
  std::thread a([&] { in_batch = store->Write(MakeEntry(0)); });
  ASSERT_TRUE(WaitUntil([&] { return store->counters().submitted == 1 &&
                                     store->queue_depth() == 0; }));
  std::thread b([&] { queued = store->Write(MakeEntry(1)); });
  a.join();
  b.join();
  EXPECT_EQ(in_batch.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(in_batch.status().message().find("batch is running"),
            std::string::npos);
  EXPECT_EQ(queued.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(queued.status().message().find("still queued"), std::string::npos);
  EXPECT_EQ(store->counters().timeouts, 2);
  EXPECT_EQ(store->counters().timeouts_unresolved, 2);

  lock.Release();
  ASSERT_TRUE(WaitUntil([&] { return store->counters().timeouts_unresolved == 0; }));
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.late_commits, 1);  // Row 0 was in the batch: it committed.
  EXPECT_EQ(c.abandoned, 1);     // Row 1 was still queued: never written.
  EXPECT_EQ(c.ok, 0);
  ExpectIdentity(c);
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 1);
}

// What WriteAsync's callbacks were given, from whichever thread called them.
class AsyncOutcomes {
 public:
  WriteDone Callback(int key) {
    return [this, key](absl::StatusOr<int64_t> id) {
      sync::MutexLock lock(&mu_);
      calls_[key].push_back(id.ok() ? absl::OkStatus() : id.status());
      if (id.ok()) ids_.push_back(*id);
    };
  }
  int calls(int key) {
    sync::MutexLock lock(&mu_);
    return static_cast<int>(calls_[key].size());
  }
  absl::Status status(int key) {
    sync::MutexLock lock(&mu_);
    return calls_[key].empty() ? absl::UnknownError("not called")
                               : calls_[key].front();
  }
  std::vector<int64_t> ids() {
    sync::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  sync::Mutex mu_;
  std::map<int, std::vector<absl::Status>> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> ids_ ABSL_GUARDED_BY(mu_);
};

TEST_F(BatchedStoreTest, AsyncWritesAnswerEachWriteOnceWithItsCommittedId) {
  options_.batch_size = 7;
  auto store = OpenStore();
  AsyncOutcomes outcomes;
  for (int i = 0; i < 100; ++i) {
    store->WriteAsync(MakeEntry(i), outcomes.Callback(i));
  }
  // Close answers every write still in flight before it returns.
  ASSERT_TRUE(store->Close().ok());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(outcomes.calls(i), 1) << i;
    EXPECT_TRUE(outcomes.status(i).ok()) << i << ": " << outcomes.status(i);
  }
  std::vector<int64_t> ids = outcomes.ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.ok, 100);
  EXPECT_EQ(c.pending, 0);
  ExpectIdentity(c);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 100);
}

TEST_F(BatchedStoreTest, AsyncWriteRefusedByAFullQueueIsAnsweredAtOnce) {
  CreateSchema();
  options_.batch_size = 2;
  options_.queue_size = 2;
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  AsyncOutcomes outcomes;
  store->WriteAsync(MakeEntry(0), outcomes.Callback(0));
  // The writer took row 0 and waits in BEGIN; two more fill the queue.
  ASSERT_TRUE(WaitUntil([&] { return store->queue_depth() == 0; }));
  store->WriteAsync(MakeEntry(1), outcomes.Callback(1));
  store->WriteAsync(MakeEntry(2), outcomes.Callback(2));
  store->WriteAsync(MakeEntry(3), outcomes.Callback(3));
  // Answered on this thread, before WriteAsync returned.
  EXPECT_EQ(outcomes.calls(3), 1);
  EXPECT_TRUE(IsQueueFull(outcomes.status(3))) << outcomes.status(3);
  EXPECT_EQ(outcomes.calls(0) + outcomes.calls(1) + outcomes.calls(2), 0);
  lock.Release();
  ASSERT_TRUE(store->Close().ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(outcomes.status(i).ok()) << i;
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.ok, 3);
  EXPECT_EQ(c.queue_full, 1);
  ExpectIdentity(c);
  AsyncOutcomes after;
  store->WriteAsync(MakeEntry(9), after.Callback(9));
  EXPECT_EQ(after.status(9).code(), absl::StatusCode::kFailedPrecondition);
}

// With no thread waiting, the store itself answers at the deadline: the
// write in the blocked batch commits late, the queued one is abandoned,
// counted exactly as Write()'s timeouts are.
TEST_F(BatchedStoreTest, AsyncWritesTimeOutAtTheDeadlineAndCountLikeWrite) {
  CreateSchema();
  options_.write_timeout = milliseconds(50);
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  AsyncOutcomes outcomes;
  store->WriteAsync(MakeEntry(0), outcomes.Callback(0));
  ASSERT_TRUE(WaitUntil([&] { return store->queue_depth() == 0; }));
  store->WriteAsync(MakeEntry(1), outcomes.Callback(1));
  ASSERT_TRUE(WaitUntil(
      [&] { return outcomes.calls(0) == 1 && outcomes.calls(1) == 1; }));
  EXPECT_EQ(store->counters().timeouts, 2);
  EXPECT_EQ(outcomes.status(0).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(outcomes.status(0).message().find("batch is running"),
            std::string::npos);
  EXPECT_EQ(outcomes.status(1).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(outcomes.status(1).message().find("still queued"),
            std::string::npos);

  lock.Release();
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(outcomes.calls(0), 1);  // Not answered again at the commit.
  EXPECT_EQ(outcomes.calls(1), 1);
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.late_commits, 1);
  EXPECT_EQ(c.abandoned, 1);
  EXPECT_EQ(c.ok, 0);
  ExpectIdentity(c);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 1);
}

// Blocking and asynchronous writers side by side, from many threads: every
// write has exactly one outcome and the counts add up.
TEST_F(BatchedStoreTest, AsyncAndBlockingWritesMixUnderManyThreads) {
  options_.batch_size = 16;
  options_.queue_size = 64;
  auto store = OpenStore();
  AsyncOutcomes outcomes;
  std::atomic<int> blocking_ok{0}, blocking_full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int key = t * 1000 + i;
        if (t % 2 == 0) {
          store->WriteAsync(MakeEntry(key), outcomes.Callback(key));
        } else {
          auto id = store->Write(MakeEntry(key));
          if (id.ok()) ++blocking_ok;
          if (IsQueueFull(id.status())) ++blocking_full;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store->Close().ok());
  int async_ok = 0, async_full = 0;
  for (int t = 0; t < 8; t += 2) {
    for (int i = 0; i < 200; ++i) {
      const int key = t * 1000 + i;
      ASSERT_EQ(outcomes.calls(key), 1) << key;
      async_ok += outcomes.status(key).ok();
      async_full += IsQueueFull(outcomes.status(key));
    }
  }
  EXPECT_EQ(async_ok + async_full, 800);
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.submitted, 1600);
  EXPECT_EQ(c.ok, async_ok + blocking_ok.load());
  EXPECT_EQ(c.queue_full, async_full + blocking_full.load());
  ExpectIdentity(c);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), c.ok);
}

TEST_F(BatchedStoreTest, ALockHeldPastTheBusyTimeoutFailsTheWriteClearly) {
  CreateSchema();
  options_.busy_timeout = milliseconds(50);
  auto store = OpenStore();
  {
    ExternalWriteLock lock(options_.path);
    auto refused = store->Write(MakeEntry(1));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(refused.status().message().find(options_.path), std::string::npos);
    EXPECT_NE(refused.status().message().find("locked"), std::string::npos);
  }
  EXPECT_TRUE(store->Write(MakeEntry(2)).ok());  // Lock gone: writes resume.
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.ok, 1);
  ExpectIdentity(c);
}

TEST_F(BatchedStoreTest, OneBadRowFailsAloneAndItsNeighboursCommit) {
  CreateSchema();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER reject_poison BEFORE INSERT ON logs "
                           "WHEN new.message = 'poison' BEGIN "
                           "SELECT RAISE(ABORT, 'poisoned row'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  options_.batch_policy = BatchPolicy::kLinger;
  options_.batch_size = 5;
  options_.batch_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  std::vector<absl::StatusOr<int64_t>> results(5);
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      results[i] = store->Write(MakeEntry(i, i == 2 ? "poison" : ""));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 5; ++i) {
    if (i == 2) {
      EXPECT_EQ(results[i].status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(results[i].status().message().find("poisoned row"),
                std::string::npos);
    } else {
      EXPECT_TRUE(results[i].ok()) << results[i].status();
    }
  }
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.ok, 4);
  EXPECT_EQ(c.failed, 1);
  ExpectIdentity(c);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 4);
}

TEST_F(BatchedStoreTest, CloseCommitsEverythingStillQueued) {
  CreateSchema();
  options_.batch_size = 4;
  options_.busy_timeout = std::chrono::minutes(1);
  auto store = OpenStore();
  ExternalWriteLock lock(options_.path);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] { ok += store->Write(MakeEntry(i)).ok(); });
  }
  // A first batch is blocked in BEGIN, the other rows wait in the queue.
  ASSERT_TRUE(WaitUntil([&] { return store->counters().submitted == 20; }));
  EXPECT_GE(store->queue_depth(), 16);
  std::thread closer([&] { EXPECT_TRUE(store->Close().ok()); });
  lock.Release();
  closer.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(CountRowsWithSqlite(options_.path), 20);
  // Close checkpointed with TRUNCATE: the WAL is empty.
  std::error_code ec;
  const auto wal_size = std::filesystem::file_size(options_.path + "-wal", ec);
  EXPECT_TRUE(ec || wal_size == 0);
  EXPECT_EQ(store->Write(MakeEntry(99)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(BatchedStoreTest, ReopeningKeepsRowsAndFreshClearsThem) {
  {
    auto store = OpenStore();
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  }
  {
    auto store = OpenStore();
    auto id = store->Write(MakeEntry(7));
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, 8);
    auto reader = store->NewReader();
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(*(*reader)->CountRows(), 8);
    // Old rows are still found by full-text search.
    EXPECT_EQ((*reader)->SearchText("number", 100)->size(), 8u);
  }
  options_.fresh = true;
  {
    auto store = OpenStore();
    auto reader = store->NewReader();
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(*(*reader)->CountRows(), 0);
    EXPECT_TRUE((*reader)->SearchText("number", 100)->empty());
  }
}

TEST_F(BatchedStoreTest, SearchesReturnMatchingRowsNewestFirstWithinLimit) {
  for (Schema schema : {Schema::kFull, Schema::kLean}) {
    SCOPED_TRACE(SchemaName(schema));
    options_.schema = schema;
    options_.fresh = true;
    options_.path = dir_ + "/" + SchemaName(schema) + ".db";
    auto store = OpenStore();
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(store
                      ->Write(MakeEntry(i, i % 3 == 0 ? "load test message"
                                                      : "other words here"))
                      .ok());
    }
    auto reader_or = store->NewReader();
    ASSERT_TRUE(reader_or.ok()) << reader_or.status();
    StoreReader& reader = **reader_or;

    auto text = reader.SearchText("load test", 4);
    ASSERT_TRUE(text.ok()) << text.status();
    ASSERT_EQ(text->size(), 4u);
    EXPECT_EQ((*text)[0].id, 28);  // Row 27 (0-based) is the newest match.
    EXPECT_EQ((*text)[1].id, 25);
    EXPECT_EQ((*text)[0].entry.message, "load test message");

    auto hosts = reader.ByHostname("web01", 100);
    ASSERT_TRUE(hosts.ok());
    EXPECT_EQ(hosts->size(), 10u);
    for (const StoredLog& row : *hosts) EXPECT_EQ(row.entry.hostname, "web01");
    for (size_t i = 1; i < hosts->size(); ++i) {
      EXPECT_GT((*hosts)[i - 1].id, (*hosts)[i].id);
    }

    auto apps = reader.ByAppName("nginx", 5);
    ASSERT_TRUE(apps.ok());
    ASSERT_EQ(apps->size(), 5u);
    EXPECT_EQ((*apps)[0].id, 29);  // Row 28: even, so nginx.

    auto recent = reader.Recent(3);
    ASSERT_TRUE(recent.ok());
    ASSERT_EQ(recent->size(), 3u);
    EXPECT_EQ((*recent)[0].id, 30);
    // Every field reads back as written.
    const LogEntry expected = MakeEntry(29, "other words here");
    const LogEntry& got = (*recent)[0].entry;
    EXPECT_EQ(got.priority, expected.priority);
    EXPECT_EQ(got.facility, expected.facility);
    EXPECT_EQ(got.severity, expected.severity);
    EXPECT_EQ(got.timestamp_ns, expected.timestamp_ns);
    EXPECT_EQ(got.hostname, expected.hostname);
    EXPECT_EQ(got.app_name, expected.app_name);
    EXPECT_EQ(got.proc_id, expected.proc_id);
    EXPECT_EQ(got.msg_id, expected.msg_id);
    EXPECT_EQ(got.structured_data, expected.structured_data);

    EXPECT_EQ(reader.Recent(0).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(BatchedStoreTest, MalformedFullTextQueryIsInvalidArgument) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Write(MakeEntry(1)).ok());
  auto reader = store->NewReader();
  ASSERT_TRUE(reader.ok());
  auto result = (*reader)->SearchText("\"unbalanced", 5);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("unbalanced"), std::string::npos);
}

TEST_F(BatchedStoreTest, ReadersSeeCommittedRowsWhileWritesGoOn) {
  auto store = OpenStore();
  std::atomic<int64_t> last_acknowledged{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) {
        auto id = store->Write(MakeEntry(w * 1000 + i));
        ASSERT_TRUE(id.ok());
        int64_t seen = last_acknowledged.load();
        while (*id > seen && !last_acknowledged.compare_exchange_weak(seen, *id)) {
        }
      }
    });
  }
  std::thread reader_thread([&] {
    auto reader = store->NewReader();
    ASSERT_TRUE(reader.ok());
    int checks = 0;
    while (!done.load() || checks == 0) {
      // Any id acknowledged before the read started must be visible.
      const int64_t acknowledged = last_acknowledged.load();
      auto recent = (*reader)->Recent(1);
      ASSERT_TRUE(recent.ok()) << recent.status();
      if (acknowledged > 0) {
        ASSERT_FALSE(recent->empty());
        EXPECT_GE((*recent)[0].id, acknowledged);
      }
      ++checks;
    }
  });
  for (auto& t : writers) t.join();
  done = true;
  reader_thread.join();
  EXPECT_EQ(store->counters().ok, 400);
}

TEST_F(BatchedStoreTest, MetricValuesMatchAKnownWorkload) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = StoreMetrics::Create(*registry);
  ASSERT_TRUE(metrics.ok());
  options_.batch_size = 10;
  auto store = OpenStore(metrics->get());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->Write(MakeEntry(t * 100 + i)).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto reader = store->NewReader();
  ASSERT_TRUE(reader.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*reader)->Recent(5).ok());
  ASSERT_TRUE((*reader)->SearchText("\"bad", 5).status().code() ==
              absl::StatusCode::kInvalidArgument);
  const StoreCounters c = store->counters();

  std::map<std::string, double> values;
  std::map<std::string, uint64_t> samples;
  for (const auto& family : registry->Collect()) {
    for (const auto& metric : family.metric) {
      if (family.type == prometheus::MetricType::Counter) {
        values[family.name] = metric.counter.value;
      } else if (family.type == prometheus::MetricType::Gauge) {
        values[family.name] = metric.gauge.value;
      } else if (family.type == prometheus::MetricType::Histogram) {
        samples[family.name] = metric.histogram.sample_count;
        values[family.name] = metric.histogram.sample_sum;
      }
    }
  }
  EXPECT_EQ(values["opentrail_storage_write_requests_total"], 100);
  EXPECT_EQ(values["opentrail_storage_rows_committed_total"], 100);
  EXPECT_EQ(values["opentrail_storage_batches_processed_total"], c.batches);
  EXPECT_EQ(values["opentrail_storage_read_requests_total"], 4);
  EXPECT_EQ(values["opentrail_storage_read_errors_total"], 1);
  EXPECT_EQ(values["opentrail_storage_queue_full_errors_total"], 0);
  EXPECT_EQ(values["opentrail_storage_write_timeouts_total"], 0);
  EXPECT_EQ(values["opentrail_storage_write_errors_total"], 0);
  EXPECT_EQ(values["opentrail_storage_batch_queue_size"], 0);
  EXPECT_EQ(samples["opentrail_storage_write_duration_seconds"], 100u);
  EXPECT_EQ(samples["opentrail_storage_queue_wait_seconds"], 100u);
  EXPECT_EQ(samples["opentrail_storage_read_duration_seconds"], 3u);
  EXPECT_EQ(samples["opentrail_storage_batch_size"],
            static_cast<uint64_t>(c.batches));
  EXPECT_EQ(values["opentrail_storage_batch_size"], 100);  // Sum of sizes.
  EXPECT_EQ(samples["opentrail_storage_batch_processing_seconds"],
            static_cast<uint64_t>(c.batches));
}

TEST_F(BatchedStoreTest, AccountingAddsUpUnderFiftyThreads) {
  // A small queue and a short timeout make every outcome happen.
  options_.batch_size = 10;
  options_.queue_size = 20;
  options_.write_timeout = milliseconds(3);
  auto store = OpenStore();
  struct Seen {
    int64_t ok = 0, queue_full = 0, timeouts = 0, failed = 0;
  };
  std::vector<Seen> seen(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto id = store->Write(MakeEntry(t * 1000 + i));
        if (id.ok()) {
          ++seen[t].ok;
        } else if (IsQueueFull(id.status())) {
          ++seen[t].queue_full;
        } else if (id.status().code() == absl::StatusCode::kDeadlineExceeded) {
          ++seen[t].timeouts;
        } else {
          ++seen[t].failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store->Close().ok());
  Seen total;
  for (const Seen& s : seen) {
    total.ok += s.ok;
    total.queue_full += s.queue_full;
    total.timeouts += s.timeouts;
    total.failed += s.failed;
  }
  const StoreCounters c = store->counters();
  EXPECT_EQ(c.submitted, 5000);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.timeouts_unresolved, 0);
  EXPECT_EQ(c.ok, total.ok);
  EXPECT_EQ(c.queue_full, total.queue_full);
  EXPECT_EQ(c.timeouts, total.timeouts);
  EXPECT_EQ(c.failed, total.failed);
  ExpectIdentity(c);
  // Nothing acknowledged is lost, nothing unacknowledged appears unaccounted.
  EXPECT_EQ(CountRowsWithSqlite(options_.path), c.ok + c.late_commits);
}

TEST_F(BatchedStoreTest, FileThatIsNotSqliteGivesClearError) {
  {
    std::ofstream out(options_.path);
    out << "this is a text file, not a database, and it is long enough to "
           "fill the header SQLite reads first.........................\n";
  }
  auto store = BatchedStore::Open(options_, nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find(options_.path), std::string::npos);
  EXPECT_NE(store.status().message().find("not an SQLite database"),
            std::string::npos);
  // The file was left as it was.
  EXPECT_GT(std::filesystem::file_size(options_.path), 100u);
}

TEST_F(BatchedStoreTest, IncompatibleLogsTableGivesClearError) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE logs (id INTEGER PRIMARY KEY, line TEXT)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = BatchedStore::Open(options_, nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find(options_.path), std::string::npos);
  EXPECT_NE(store.status().message().find("message"), std::string::npos);
}

TEST_F(BatchedStoreTest, UnopenablePathGivesErrorNamingTheFile) {
  options_.path = dir_ + "/no/such/dir/logs.db";
  auto store = BatchedStore::Open(options_, nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(options_.path), std::string::npos);
}

TEST_F(BatchedStoreTest, RefusingSymlinksRefusesALinkedFolderAndCreatesNothing) {
  std::filesystem::create_directory(dir_ + "/real");
  std::filesystem::create_directory_symlink(dir_ + "/real", dir_ + "/link");
  options_.path = dir_ + "/link/logs.db";
  options_.refuse_symlinks = true;
  auto refused = BatchedStore::Open(options_, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("symbolic link"), std::string::npos)
      << refused.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/real/logs.db"));
  // Without the option the link is followed, as for any other program.
  options_.refuse_symlinks = false;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(MakeEntry(1)).ok());
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(CountRowsWithSqlite(dir_ + "/real/logs.db"), 1);
}

TEST_F(BatchedStoreTest, InvalidOptionsAreRefusedBeforeTouchingTheFile) {
  options_.batch_size = 0;
  auto store = BatchedStore::Open(options_, nullptr);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(options_.path));
}

// --- SQLite's internals (TakeInternals) tied to known workloads ---

class StoreInternalsTest : public BatchedStoreTest {
 protected:
  void SetUp() override {
    BatchedStoreTest::SetUp();
    options_.schema = Schema::kLean;
  }

  // The interval figures since the previous take, added to `sum_`.
  StoreInternals Take(BatchedStore* store) {
    StoreInternals taken = store->TakeInternals();
    sum_.AddInterval(taken);
    return taken;
  }

  // A connection of its own in a read transaction on the logs table: the
  // WAL frames of its snapshot stay in use until ReleaseSnapshot.
  sqlite3* HoldSnapshot() {
    sqlite3* reader = nullptr;
    EXPECT_EQ(sqlite3_open(options_.path.c_str(), &reader), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM logs;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    return reader;
  }
  static void ReleaseSnapshot(sqlite3* reader) {
    EXPECT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(reader);
  }

  // Bytes per WAL frame, from the restart point the store reports.
  int64_t FrameBytes(BatchedStore* store) {
    const int64_t restart = store->TakeInternals().wal_restart_bytes;
    return (restart - 32) / options_.restart_pages;
  }

  StoreInternals sum_;
};

// Each Write() from one thread waits for its own COMMIT: N writes are N
// transactions, and each COMMIT is one sample.
TEST_F(StoreInternalsTest, NCommitsGiveNCommitSamples) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  (void)Take(store.get());  // Opening's own work.
  sum_ = StoreInternals();
  constexpr int kWrites = 25;
  for (int i = 0; i < kWrites; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  const StoreInternals taken = Take(store.get());
  EXPECT_EQ(store->counters().batches, kWrites);
  EXPECT_EQ(taken.commit_latency.count(), static_cast<uint64_t>(kWrites));
  EXPECT_GT(taken.commit_latency.min(), 0);
  EXPECT_GT(taken.wal_bytes_max, 0);
  EXPECT_GT(taken.db_bytes, 0);
  EXPECT_GT(taken.writer.cache_hits + taken.writer.cache_misses, 0);
  EXPECT_GT(taken.writer.cache_writes, 0);
  EXPECT_EQ(taken.writer.busy_events, 0);
  // The writer thread's CPU time for 25 transactions: some, and far from
  // a core-second each.
  EXPECT_GT(taken.writer_cpu_ns, 0);
  // Taken means gone: the next interval starts empty.
  const StoreInternals next = Take(store.get());
  EXPECT_EQ(next.commit_latency.count(), 0u);
  EXPECT_EQ(next.writer.cache_writes, 0);
  EXPECT_EQ(next.writer_cpu_ns, 0);
  ASSERT_TRUE(store->Close().ok());
}

// The WAL crosses checkpoint_pages once, on one commit: the background
// checkpointer runs once, copies every frame, and the next commit starts
// the WAL over, so no second checkpoint follows.
TEST_F(StoreInternalsTest, AForcedCheckpointIsCountedOnce) {
  options_.checkpoint_pages = 20;
  options_.restart_pages = 100000;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t frame = FrameBytes(store.get());
  (void)Take(store.get());
  sum_ = StoreInternals();
  const int64_t threshold = 32 + 20 * frame;
  int i = 0;
  while (sum_.wal_bytes_max < threshold) {
    ASSERT_LT(i, 10000) << "the WAL never reached 20 frames";
    ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
    (void)Take(store.get());
  }
  ASSERT_TRUE(WaitUntil([&] {
    (void)Take(store.get());
    return sum_.checkpoints >= 1;
  }));
  // The WAL is fully copied and nobody reads: this commit restarts it (an
  // interval's largest WAL includes the length it started with, so the one
  // after shows the short WAL).
  ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
  (void)Take(store.get());
  ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
  const StoreInternals after = Take(store.get());
  EXPECT_LT(after.wal_bytes_max, threshold);
  EXPECT_EQ(sum_.checkpoints, 1);
  EXPECT_EQ(sum_.checkpoint_latency.count(), 1u);
  EXPECT_GE(sum_.checkpoint_frames, 20);
  EXPECT_EQ(sum_.checkpoints_blocked, 0);
  EXPECT_EQ(store->counters().checkpoints, 1);
  ASSERT_TRUE(store->Close().ok());
}

// Background checkpoints come every checkpoint_pages new frames, not after
// every commit once the WAL is that long: a reader holding a snapshot keeps
// the WAL from starting over while a few hundred one-row commits (two or
// three frames each) go by, and at most one checkpoint per 20 frames runs.
TEST_F(StoreInternalsTest, ACheckpointEveryCheckpointPagesNewFrames) {
  options_.checkpoint_pages = 20;
  options_.restart_pages = 100000;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t frame = FrameBytes(store.get());
  ASSERT_TRUE(store->Write(MakeEntry(0)).ok());
  (void)Take(store.get());
  sum_ = StoreInternals();

  sqlite3* reader = HoldSnapshot();
  constexpr int64_t kFrames = 400;
  int i = 1;
  while (sum_.wal_bytes_max < 32 + kFrames * frame) {
    ASSERT_LT(i, 20000) << "the WAL never reached " << kFrames << " frames";
    ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
    (void)Take(store.get());
  }
  const int commits = i - 1;  // One row each.
  ASSERT_TRUE(WaitUntil([&] {
    (void)Take(store.get());
    return sum_.checkpoints >= 1;
  }));
  ReleaseSnapshot(reader);
  ASSERT_TRUE(store->Close().ok());
  (void)Take(store.get());
  // Once a commit would be several times as many checkpoints.
  constexpr int64_t kMostCheckpoints = kFrames / 20 + 1;
  EXPECT_GT(commits, 3 * kMostCheckpoints);
  EXPECT_LE(sum_.checkpoints, kMostCheckpoints) << commits << " commits";
}

// A reader holding a read transaction keeps its snapshot's frames in use:
// checkpoints cannot copy past them, the WAL grows past its restart point
// and stays there until the reader lets go.
TEST_F(StoreInternalsTest, AReaderHoldingASnapshotBlocksCheckpointsAndTheWal) {
  options_.checkpoint_pages = 10;
  options_.restart_pages = 40;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(MakeEntry(0)).ok());
  (void)Take(store.get());
  sum_ = StoreInternals();

  sqlite3* reader = HoldSnapshot();
  int i = 1;
  int64_t restart_bytes = 0;
  while (sum_.checkpoints_blocked == 0 ||
         sum_.wal_bytes_max < 2 * std::max<int64_t>(restart_bytes, 1)) {
    ASSERT_LT(i, 20000) << "no blocked checkpoint or no WAL growth";
    ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
    restart_bytes = Take(store.get()).wal_restart_bytes;
  }
  EXPECT_GT(sum_.wal_stuck_ns_max, 0);
  const int64_t stuck_while_held = sum_.wal_stuck_ns_max;

  ReleaseSnapshot(reader);
  // Released: the next completion attempt copies everything and a later
  // commit starts the WAL over.
  StoreInternals taken;
  do {
    ASSERT_LT(i, 40000) << "the WAL never started over";
    ASSERT_TRUE(store->Write(MakeEntry(i++)).ok());
    taken = Take(store.get());
  } while (taken.wal_bytes_max >= restart_bytes);
  EXPECT_GE(sum_.wal_stuck_ns_max, stuck_while_held);
  ASSERT_TRUE(store->Close().ok());
}

// A writer held off by another connection's write lock waits in the busy
// handler: one lock wait, with time slept, on the writer's figures.
TEST_F(StoreInternalsTest, TheWritersLockWaitIsCounted) {
  options_.busy_timeout = seconds(60);
  CreateSchema();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  (void)Take(store.get());
  sum_ = StoreInternals();
  ExternalWriteLock lock(options_.path);
  std::thread writer([&] { EXPECT_TRUE(store->Write(MakeEntry(1)).ok()); });
  ASSERT_TRUE(WaitUntil([&] {
    (void)Take(store.get());
    return sum_.writer.busy_events >= 1;
  }));
  lock.Release();
  writer.join();
  (void)Take(store.get());
  EXPECT_EQ(sum_.writer.busy_events, 1);
  EXPECT_GT(sum_.writer.busy_wait_ns, 0);
  EXPECT_EQ(sum_.readers.busy_events, 0);
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(StoreInternalsTest, ReadersCountTheirPageCache) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  (void)Take(store.get());
  auto reader = store->NewReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*reader)->Recent(20).ok());
  const StoreInternals taken = Take(store.get());
  EXPECT_GT(taken.readers.cache_hits + taken.readers.cache_misses, 0);
  EXPECT_GT(taken.cache_hit_ratio(), 0);
  EXPECT_LE(taken.cache_hit_ratio(), 1);
  reader->reset();
  ASSERT_TRUE(store->Close().ok());
}

// synchronous=FULL syncs the WAL at every commit; with checkpoints out of
// reach nothing else syncs but the WAL's header once when it starts over.
// The shim VFS counts each sync of the database's files.
TEST_F(StoreInternalsTest, EachCommitUnderSynchronousFullIsAnFsync) {
  options_.sync = SyncMode::kFull;
  options_.checkpoint_pages = 100000;
  options_.restart_pages = 100000;
  prometheus::Registry registry;
  auto metrics = StoreMetrics::Create(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto store = OpenStore(metrics->get());
  ASSERT_NE(store, nullptr);
  (void)Take(store.get());  // Opening's own work.
  const double fsyncs_before = (*metrics)->fsyncs.Value();
  constexpr int kWrites = 25;
  for (int i = 0; i < kWrites; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  const StoreInternals taken = Take(store.get());
  EXPECT_EQ(store->counters().batches, kWrites);
  EXPECT_EQ(taken.checkpoints, 0);
  EXPECT_GE(taken.fsyncs, kWrites);
  EXPECT_LE(taken.fsyncs, kWrites + 1);
  EXPECT_GT(taken.fsync_ns, 0);
  EXPECT_EQ((*metrics)->fsyncs.Value() - fsyncs_before,
            static_cast<double>(taken.fsyncs));
  EXPECT_GT((*metrics)->fsync_seconds.Value(), 0);
  // Taken means gone.
  EXPECT_EQ(Take(store.get()).fsyncs, 0);
  ASSERT_TRUE(store->Close().ok());
}

// synchronous=NORMAL in WAL mode does not sync on commit: the same commits
// count no fsync.
TEST_F(StoreInternalsTest, CommitsUnderSynchronousNormalAreNoFsync) {
  options_.sync = SyncMode::kNormal;
  options_.checkpoint_pages = 100000;
  options_.restart_pages = 100000;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  (void)Take(store.get());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  const StoreInternals taken = Take(store.get());
  EXPECT_EQ(taken.checkpoints, 0);
  EXPECT_EQ(taken.fsyncs, 0);
  EXPECT_EQ(taken.fsync_ns, 0);
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(StoreInternalsTest, NothingIsCollectedWithCollectionOff) {
  options_.collect_internals = false;
  options_.sync = SyncMode::kFull;  // Syncs happen, uncounted.
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  const StoreInternals taken = store->TakeInternals();
  EXPECT_EQ(taken.commit_latency.count(), 0u);
  EXPECT_EQ(taken.wal_bytes_max, 0);
  EXPECT_EQ(taken.writer.cache_writes, 0);
  EXPECT_EQ(taken.fsyncs, 0);
  EXPECT_GT(taken.db_bytes, 0);
  ASSERT_TRUE(store->Close().ok());
}

// The metrics follow the same figures.
TEST_F(StoreInternalsTest, MetricsCountCommitsAndTheWal) {
  prometheus::Registry registry;
  auto metrics = StoreMetrics::Create(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto store = OpenStore(metrics->get());
  ASSERT_NE(store, nullptr);
  const uint64_t before =
      (*metrics)->commit_duration.Collect().histogram.sample_count;
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store->Write(MakeEntry(i)).ok());
  EXPECT_EQ((*metrics)->commit_duration.Collect().histogram.sample_count,
            before + 7);
  EXPECT_GT((*metrics)->wal_bytes.Value(), 0);
  EXPECT_GT((*metrics)->writer.cache_hits->Value() +
                (*metrics)->writer.cache_misses->Value(),
            0);
  ASSERT_TRUE(store->Close().ok());
}

// A cancelled reader ends a long query part-way with Cancelled (the scan of
// 600 rows for a text none holds runs far past the 1,000-step check), while
// a short query still completes; the store's counts are untouched.
TEST_F(BatchedStoreTest, ACancelledReaderEndsItsLongQueryWithCancelled) {
  options_.schema = Schema::kLean;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  WriteConcurrently(store.get(), 1, 600, false, &threads);
  for (std::thread& t : threads) t.join();
  auto reader = store->NewReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto before = (*reader)->SearchText("no row holds this text", 10);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->empty());

  (*reader)->Cancel();
  auto scan = (*reader)->SearchText("no row holds this text", 10);
  EXPECT_TRUE(absl::IsCancelled(scan.status())) << scan.status();
  EXPECT_NE(std::string(scan.status().message()).find("cancelled"), std::string::npos);
  auto recent = (*reader)->Recent(1);
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_EQ(recent->size(), 1u);
  EXPECT_EQ(store->counters().ok, 600);
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace loadtest::storage
