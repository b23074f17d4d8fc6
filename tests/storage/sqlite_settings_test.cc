// The SQLite settings the store chose by measurement reach SQLite: the write
// connection's pragmas follow StoreOptions, and the first connection turns
// SQLite's process-wide memory statistics off.
#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "storage/internal/sqlite_util.h"
#include "storage/internal/wal_checkpointer.h"
#include "storage/store_options.h"
#include "tests/agent/test_dir.h"

namespace loadtest::storage {
namespace {

TEST(WriterPragmasTest, TempStoreFollowsTheOption) {
  // PRAGMA temp_store reads 2 for MEMORY, 1 for FILE.
  for (const auto& [temp_store, expected] :
       {std::pair{TempStore::kMemory, 2}, std::pair{TempStore::kFile, 1}}) {
    agent::TestDir dir;
    StoreOptions options;
    options.path = dir.path() + "/pragmas.db";
    options.temp_store = temp_store;
    auto db = internal::OpenConnection(
        options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(internal::ApplyWriterPragmas(db->get(), options).ok());
    auto value =
        internal::QueryInt(db->get(), "PRAGMA temp_store", options.path);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, expected) << TempStoreName(temp_store);
  }
}

// 0 when SQLite's memory statistics are off after a connection opened and
// allocated, 1 when they are on. The connection is closed before it
// returns, so that a leak checker at the child's exit finds nothing.
int MemoryStatisticsAfterAConnection() {
  int64_t used = 0;
  {
    auto db = internal::OpenConnection(
        ":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    if (!db.ok()) return 2;
    if (!internal::Exec(
             db->get(),
             "CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(1e5))",
             ":memory:")
             .ok()) {
      return 3;
    }
    // With statistics on, SQLite counts every byte it holds: far above 0.
    used = sqlite3_memory_used();
  }
  return used == 0 ? 0 : 1;
}

// In a process of its own (the death test re-runs this binary for this test
// alone), so that no other test has initialized SQLite first.
TEST(SqliteSettingsDeathTest, TheFirstConnectionTurnsMemoryStatisticsOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(MemoryStatisticsAfterAConnection()),
              ::testing::ExitedWithCode(0), "");
}

// The counter-check: with SQLite initialized earlier with statistics on, the
// same figure is above 0, so the test above can tell the two apart.
int MemoryStatisticsWhenInitializedEarlier() {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
  sqlite3_initialize();
  return MemoryStatisticsAfterAConnection();
}

TEST(SqliteSettingsDeathTest, SqliteInitializedEarlierKeepsItsStatistics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(MemoryStatisticsWhenInitializedEarlier()),
              ::testing::ExitedWithCode(1), "");
}

}  // namespace
}  // namespace loadtest::storage
