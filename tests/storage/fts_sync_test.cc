// The full schema's FTS index filled per row (FtsSync::kTrigger, OpenTrail's
// schema) or once per batch (kBatch): the same rows give the same search
// results; a batch that fails part-way leaves neither its rows nor their
// index entries; a file switches mode at open; FTS5's settings reach the file.
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/batched_store.h"
#include "tests/storage/wait_until.h"

namespace loadtest::storage {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Rows shaped like the original generator's: its hostnames, app names and
// words, "Load test message" in every third row.
LogEntry MakeRow(int i) {
  static const char* const kHosts[] = {"web01", "web02", "db01", "cache01",
                                       "api01"};
  static const char* const kApps[] = {"nginx", "mysql", "redis", "api-server",
                                      "worker"};
  static const char* const kWords[] = {"processing", "request", "error",
                                       "timeout",    "connection", "database",
                                       "query",      "disk",    "network",
                                       "cache",      "batch"};
  LogEntry e;
  e.facility = i % 24;
  e.severity = i % 8;
  e.priority = e.facility * 8 + e.severity;
  e.timestamp_ns = 1795752445000000000 + i;
  e.hostname = kHosts[i % 5];
  e.app_name = kApps[(i / 5) % 5];
  e.proc_id = std::to_string(1000 + i % 7);
  e.msg_id = absl::StrCat("loadtest-", i);
  e.structured_data = absl::StrCat("{\"count\":", i, "}");
  e.message = absl::StrCat(i % 3 == 0 ? "Load test message" : "Entry", " row",
                           i, ": ", kWords[(i * 7) % 11], " ",
                           kWords[(i * 3 + 1) % 11], " ", kWords[(i * i) % 11]);
  return e;
}

// A plain connection to the store's file, for what the store does not say.
class Sql {
 public:
  explicit Sql(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~Sql() { sqlite3_close(db_); }
  // "" on success, else SQLite's message.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) {
      return "";
    }
    std::string message = error != nullptr ? error : "error";
    sqlite3_free(error);
    return message;
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr),
              SQLITE_OK)
        << sql;
    int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Whether the FTS index holds exactly the rows of `logs` with their
// messages (FTS5's integrity check against the content table).
std::string IndexCheck(const std::string& path) {
  Sql sql(path);
  return sql.Exec(
      "INSERT INTO logs_fts(logs_fts, rank) VALUES ('integrity-check', 1)");
}

std::string Describe(const StoredLog& row) {
  const LogEntry& e = row.entry;
  return absl::StrCat(row.id, "|", e.priority, "|", e.facility, "|",
                      e.severity, "|", e.version, "|", e.timestamp_ns, "|",
                      e.hostname, "|", e.app_name, "|", e.proc_id, "|",
                      e.msg_id, "|", e.structured_data, "|", e.message);
}

class FtsSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "ftstest.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    options_.path = dir_ + "/logs.db";
    options_.busy_timeout = std::chrono::minutes(1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BatchedStore> OpenStore() {
    auto store = BatchedStore::Open(options_, nullptr);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Writes `rows` so that they commit in this order, in batches of up to
  // batch_size: a second connection holds the write lock while the rows
  // queue one after the other behind the first, which the writer has taken.
  void WriteInOrder(BatchedStore* store, const std::vector<LogEntry>& rows) {
    sqlite3* lock = nullptr;
    ASSERT_EQ(sqlite3_open(options_.path.c_str(), &lock), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
              SQLITE_OK);
    const int64_t submitted = store->counters().submitted;
    std::vector<std::thread> threads;
    for (size_t k = 0; k < rows.size(); ++k) {
      threads.emplace_back(
          [store, &rows, k] { EXPECT_TRUE(store->Write(rows[k]).ok()); });
      // The first row taken into a batch (blocked in BEGIN), the others
      // queued behind it in order.
      ASSERT_TRUE(WaitUntil([&] {
        return store->counters().submitted == submitted + int64_t(k) + 1 &&
               store->queue_depth() == static_cast<int>(k);
      }));
    }
    EXPECT_EQ(sqlite3_exec(lock, "COMMIT", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(lock);
    for (std::thread& t : threads) t.join();
  }

  std::string dir_;
  StoreOptions options_;
};

// Every search a reader makes: the original's five (with its limits), the
// same without a binding limit, and more FTS5 queries (OR, prefix, phrase).
std::vector<std::vector<std::string>> AllSearches(StoreReader& reader) {
  std::vector<absl::StatusOr<std::vector<StoredLog>>> results = {
      reader.SearchText("load test", 10),
      reader.ByHostname("web01", 5),
      reader.ByAppName("nginx", 5),
      reader.Recent(20),
      reader.SearchText("message", 15),
      reader.SearchText("load test", 1000),
      reader.ByHostname("web01", 1000),
      reader.ByAppName("nginx", 1000),
      reader.Recent(1000),
      reader.SearchText("message", 1000),
      reader.SearchText("timeout OR disk", 1000),
      reader.SearchText("data*", 1000),
      reader.SearchText("\"test message\"", 1000),
      reader.SearchText("row17", 1000),
  };
  std::vector<std::vector<std::string>> out;
  for (const auto& result : results) {
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<std::string>& rows = out.emplace_back();
    if (!result.ok()) continue;
    for (const StoredLog& row : *result) rows.push_back(Describe(row));
  }
  return out;
}

TEST_F(FtsSyncTest, BatchAndTriggerGiveIdenticalResultsForEverySearch) {
  std::vector<LogEntry> rows;
  for (int i = 0; i < 300; ++i) rows.push_back(MakeRow(i));
  std::map<FtsSync, std::vector<std::vector<std::string>>> searches;
  for (FtsSync mode : {FtsSync::kTrigger, FtsSync::kBatch}) {
    SCOPED_TRACE(FtsSyncName(mode));
    options_.fts_sync = mode;
    options_.batch_size = 40;
    options_.path = absl::StrCat(dir_, "/", FtsSyncName(mode), ".db");
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    // Three rounds, so batches start at ids well past the first.
    for (int round = 0; round < 3; ++round) {
      WriteInOrder(store.get(), std::vector<LogEntry>(rows.begin() + round * 100,
                                                      rows.begin() + round * 100 + 100));
    }
    const StoreCounters c = store->counters();
    EXPECT_EQ(c.ok, 300);
    // Batches of several rows each (not a row at a time).
    EXPECT_LE(c.batches, 15);
    auto reader = store->NewReader();
    ASSERT_TRUE(reader.ok()) << reader.status();
    searches[mode] = AllSearches(**reader);
    reader->reset();
    ASSERT_TRUE(store->Close().ok());
    EXPECT_EQ(IndexCheck(options_.path), "");
    Sql sql(options_.path);
    EXPECT_EQ(sql.Int("SELECT count(*) FROM sqlite_master WHERE "
                      "type='trigger' AND name='logs_ai'"),
              mode == FtsSync::kTrigger ? 1 : 0);
    EXPECT_EQ(sql.Int("SELECT count(*) FROM logs_fts_docsize"), 300);
  }
  const auto& trigger = searches[FtsSync::kTrigger];
  const auto& batch = searches[FtsSync::kBatch];
  ASSERT_EQ(trigger.size(), batch.size());
  for (size_t q = 0; q < trigger.size(); ++q) {
    SCOPED_TRACE(q);
    EXPECT_FALSE(trigger[q].empty());  // Each search finds something.
    EXPECT_EQ(trigger[q], batch[q]);
  }
  // Written in order: the newest match of "load test" is row 297, id 298.
  ASSERT_FALSE(batch[0].empty());
  EXPECT_EQ(batch[0][0].substr(0, 4), "298|");
  EXPECT_EQ(batch[0].size(), 10u);
}

// A batch of five in which one row fails, either as it is inserted or as
// its message is indexed: the batch rolls back and is written row by row;
// the bad row leaves neither the row nor an index entry, the four others
// commit with theirs.
TEST_F(FtsSyncTest, ABatchFailingPartWayLeavesNeitherItsRowsNorTheirIndexEntries) {
  const std::map<std::string, std::string> failures = {
      {"insert",
       "CREATE TRIGGER reject_poison BEFORE INSERT ON logs WHEN new.message "
       "LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"},
      // The index's per-row table refuses the bad row's entry: the row is
      // in, its indexing fails (under kBatch: the batch's one statement).
      {"index",
       "CREATE TRIGGER reject_poison BEFORE INSERT ON logs_fts_docsize WHEN "
       "(SELECT message FROM logs WHERE id = new.id) LIKE '%poison%' BEGIN "
       "SELECT RAISE(ABORT, 'poisoned index entry'); END"},
  };
  for (FtsSync mode : {FtsSync::kTrigger, FtsSync::kBatch}) {
    for (const auto& [where, trigger_sql] : failures) {
      SCOPED_TRACE(absl::StrCat(FtsSyncName(mode), ", fails at ", where));
      options_.fts_sync = mode;
      options_.path =
          absl::StrCat(dir_, "/", FtsSyncName(mode), "-", where, ".db");
      options_.batch_policy = BatchPolicy::kLinger;
      options_.batch_size = 5;
      options_.batch_timeout = std::chrono::minutes(1);
      {
        auto store = OpenStore();  // Creates the schema.
        ASSERT_NE(store, nullptr);
        ASSERT_TRUE(store->Close().ok());
        Sql sql(options_.path);
        ASSERT_EQ(sql.Exec(trigger_sql), "");
      }
      auto store = OpenStore();
      ASSERT_NE(store, nullptr);
      std::vector<absl::StatusOr<int64_t>> results(5);
      std::vector<std::thread> threads;
      for (int i = 0; i < 5; ++i) {
        threads.emplace_back([&, i] {
          LogEntry row = MakeRow(i);
          if (i == 2) row.message = "poison pill";
          results[i] = store->Write(row);
        });
      }
      for (auto& t : threads) t.join();
      for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(results[i].ok(), i != 2) << i << ": " << results[i].status();
      }
      const StoreCounters c = store->counters();
      EXPECT_EQ(c.ok, 4);
      EXPECT_EQ(c.failed, 1);
      // The batch of five did not commit; four rows did, one at a time.
      EXPECT_EQ(c.batches, 4);
      auto reader = store->NewReader();
      ASSERT_TRUE(reader.ok()) << reader.status();
      auto poison = (*reader)->SearchText("poison", 10);
      ASSERT_TRUE(poison.ok()) << poison.status();
      EXPECT_TRUE(poison->empty());
      for (int i : {0, 1, 3, 4}) {
        auto found = (*reader)->SearchText(absl::StrCat("row", i), 10);
        ASSERT_TRUE(found.ok()) << found.status();
        ASSERT_EQ(found->size(), 1u) << i;
        EXPECT_EQ((*found)[0].id, *results[i]);
      }
      reader->reset();
      ASSERT_TRUE(store->Close().ok());
      Sql sql(options_.path);
      ASSERT_EQ(sql.Exec("DROP TRIGGER reject_poison"), "");
      EXPECT_EQ(sql.Int("SELECT count(*) FROM logs"), 4);
      EXPECT_EQ(sql.Int("SELECT count(*) FROM logs_fts_docsize"), 4);
      EXPECT_EQ(IndexCheck(options_.path), "");
    }
  }
}

TEST_F(FtsSyncTest, OpeningInTheOtherModeSwitchesTheTriggerAndKeepsEveryRowFound) {
  int next = 0;
  for (FtsSync mode : {FtsSync::kTrigger, FtsSync::kBatch, FtsSync::kTrigger}) {
    SCOPED_TRACE(FtsSyncName(mode));
    options_.fts_sync = mode;
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Write(MakeRow(next++)).ok());
    auto reader = store->NewReader();
    ASSERT_TRUE(reader.ok()) << reader.status();
    // Every row written so far, in either mode, is found by its own word.
    for (int i = 0; i < next; ++i) {
      auto found = (*reader)->SearchText(absl::StrCat("row", i), 10);
      ASSERT_TRUE(found.ok()) << found.status();
      EXPECT_EQ(found->size(), 1u) << i;
    }
    reader->reset();
    ASSERT_TRUE(store->Close().ok());
    Sql sql(options_.path);
    EXPECT_EQ(sql.Int("SELECT count(*) FROM sqlite_master WHERE "
                      "type='trigger' AND name='logs_ai'"),
              mode == FtsSync::kTrigger ? 1 : 0);
    EXPECT_EQ(IndexCheck(options_.path), "");
  }
}

TEST_F(FtsSyncTest, FtsSettingsReachTheFileAndUnsetMeansSqlitesDefault) {
  auto config = [this](const char* key) {
    Sql sql(options_.path);
    return sql.Int(
        absl::StrCat("SELECT v FROM logs_fts_config WHERE k = '", key, "'"));
  };
  options_.fts_automerge = 0;
  options_.fts_crisismerge = 64;
  options_.fts_pgsz = 8000;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Write(MakeRow(1)).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  EXPECT_EQ(config("automerge"), 0);
  EXPECT_EQ(config("crisismerge"), 64);
  EXPECT_EQ(config("pgsz"), 8000);
  // Unset again: the next run gets SQLite's defaults, not the last run's.
  options_.fts_automerge = kFtsDefault;
  options_.fts_crisismerge = kFtsDefault;
  options_.fts_pgsz = kFtsDefault;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Close().ok());
  }
  EXPECT_EQ(config("automerge"), 4);
  EXPECT_EQ(config("crisismerge"), 16);
  EXPECT_EQ(config("pgsz"), 4050);
}

TEST_F(FtsSyncTest, TheLeanSchemaHasNoIndexToFillInEitherMode) {
  options_.schema = Schema::kLean;
  options_.fts_sync = FtsSync::kBatch;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(MakeRow(3)).ok());
  auto reader = store->NewReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto found = (*reader)->SearchText("row3", 10);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), 1u);
  reader->reset();
  ASSERT_TRUE(store->Close().ok());
  Sql sql(options_.path);
  EXPECT_EQ(sql.Int("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                    "'logs_fts%'"),
            0);
}

}  // namespace
}  // namespace loadtest::storage
