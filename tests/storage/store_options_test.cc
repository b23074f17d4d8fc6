#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "storage/log_entry.h"
#include "storage/store_options.h"

namespace loadtest::storage {
namespace {

TEST(StoreOptionsTest, DefaultsAreValid) {
  StoreOptions options;
  options.path = "x.db";
  EXPECT_TRUE(ValidateStoreOptions(options).ok());
}

}  // namespace
}  // namespace loadtest::storage

namespace loadtest::storage {
namespace {

TEST(StoreOptionsTest, RejectsBadValuesNamingFieldAndValue) {
  StoreOptions options;
  options.path = "x.db";
  options.batch_size = 0;
  absl::Status status = ValidateStoreOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "batch-size must be between 1 and 100000, got 0");

  options.batch_size = 500;
  options.queue_size = 100;
  status = ValidateStoreOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "batch-size 500 is larger than queue-size 100");

  options = StoreOptions();
  options.path = "x.db";
  options.batch_timeout = std::chrono::nanoseconds(0);
  EXPECT_EQ(ValidateStoreOptions(options).code(),
            absl::StatusCode::kInvalidArgument);

  options = StoreOptions();
  EXPECT_EQ(ValidateStoreOptions(options).code(),
            absl::StatusCode::kInvalidArgument);  // Empty path.
}

TEST(StoreOptionsTest, PerformanceOptionsHaveMeasuredDefaults) {
  const StoreOptions options;
  EXPECT_EQ(options.cache_size_kib, 2000);
  EXPECT_EQ(options.reader_mmap_mib, 0);
  EXPECT_EQ(options.reader_nice, 5);
  EXPECT_EQ(options.temp_store, TempStore::kMemory);
  // OpenTrail's schema as it is, FTS5 left to SQLite.
  EXPECT_EQ(options.fts_sync, FtsSync::kTrigger);
  EXPECT_EQ(options.fts_automerge, kFtsDefault);
  EXPECT_EQ(options.fts_crisismerge, kFtsDefault);
  EXPECT_EQ(options.fts_pgsz, kFtsDefault);
  EXPECT_EQ(FtsSettingsText(options), "");
}

TEST(StoreOptionsTest, RefusesPerformanceOptionsOutOfRangeNamingFlagAndValue) {
  struct Case {
    void (*set)(StoreOptions*);
    const char* message;
  };
  const Case cases[] = {
      {[](StoreOptions* o) { o->cache_size_kib = 1023; },
       "cache-size-kib must be between 1024 and 4194304, got 1023"},
      {[](StoreOptions* o) { o->cache_size_kib = 4194305; },
       "cache-size-kib must be between 1024 and 4194304, got 4194305"},
      {[](StoreOptions* o) { o->reader_mmap_mib = -1; },
       "reader-mmap-mib must be between 0 and 65536, got -1"},
      {[](StoreOptions* o) { o->reader_mmap_mib = 65537; },
       "reader-mmap-mib must be between 0 and 65536, got 65537"},
      {[](StoreOptions* o) { o->reader_nice = -1; },
       "reader-nice must be between 0 and 19, got -1"},
      {[](StoreOptions* o) { o->reader_nice = 20; },
       "reader-nice must be between 0 and 19, got 20"},
      {[](StoreOptions* o) { o->fts_automerge = -2; },
       "fts-automerge must be between 0 and 64 (or -1: SQLite's default), "
       "got -2"},
      {[](StoreOptions* o) { o->fts_automerge = 65; },
       "fts-automerge must be between 0 and 64 (or -1: SQLite's default), "
       "got 65"},
      {[](StoreOptions* o) { o->fts_crisismerge = 1; },
       "fts-crisismerge must be between 2 and 1999 (or -1: SQLite's "
       "default), got 1"},
      {[](StoreOptions* o) { o->fts_crisismerge = 2000; },
       "fts-crisismerge must be between 2 and 1999 (or -1: SQLite's "
       "default), got 2000"},
      {[](StoreOptions* o) { o->fts_pgsz = 31; },
       "fts-pgsz must be between 32 and 65536 (or -1: SQLite's default), "
       "got 31"},
      {[](StoreOptions* o) { o->fts_pgsz = 65537; },
       "fts-pgsz must be between 32 and 65536 (or -1: SQLite's default), "
       "got 65537"},
  };
  for (const Case& c : cases) {
    StoreOptions options;
    options.path = "x.db";
    c.set(&options);
    const absl::Status status = ValidateStoreOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message);
  }
  // The ends of each range are accepted.
  StoreOptions options;
  options.path = "x.db";
  options.cache_size_kib = 1024;
  options.reader_mmap_mib = 65536;
  options.reader_nice = 19;
  options.fts_automerge = 0;
  options.fts_crisismerge = 2;
  options.fts_pgsz = 32;
  EXPECT_TRUE(ValidateStoreOptions(options).ok());
  options.fts_automerge = 64;
  options.fts_crisismerge = 1999;
  options.fts_pgsz = 65536;
  EXPECT_TRUE(ValidateStoreOptions(options).ok());
}

TEST(StoreOptionsTest, ParsesTextualForms) {
  EXPECT_EQ(*ParseSchema("lean"), Schema::kLean);
  EXPECT_EQ(*ParseSyncMode("full"), SyncMode::kFull);
  EXPECT_EQ(*ParseBatchPolicy("linger"), BatchPolicy::kLinger);
  EXPECT_EQ(ParseSchema("fat").status().message(),
            "schema must be full or lean, got \"fat\"");
  EXPECT_FALSE(ParseSyncMode("always").ok());
  EXPECT_FALSE(ParseBatchPolicy("").ok());
  EXPECT_EQ(*ParseTempStore("file"), TempStore::kFile);
  EXPECT_EQ(*ParseTempStore("memory"), TempStore::kMemory);
  EXPECT_EQ(TempStoreName(TempStore::kFile), std::string("file"));
  EXPECT_EQ(ParseTempStore("disk").status().message(),
            "temp-store must be memory or file, got \"disk\"");
  EXPECT_EQ(*ParseFtsSync("batch"), FtsSync::kBatch);
  EXPECT_EQ(*ParseFtsSync("trigger"), FtsSync::kTrigger);
  EXPECT_EQ(FtsSyncName(FtsSync::kBatch), std::string("batch"));
  EXPECT_EQ(ParseFtsSync("per-row").status().message(),
            "fts-sync must be trigger or batch, got \"per-row\"");
  EXPECT_EQ(ParseFtsSync("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StoreOptionsTest, FtsSettingsTextNamesWhatDiffersFromTheDefaults) {
  StoreOptions options;
  options.fts_sync = FtsSync::kBatch;
  EXPECT_EQ(FtsSettingsText(options), "fts batch");
  options.fts_automerge = 0;
  options.fts_pgsz = 8000;
  EXPECT_EQ(FtsSettingsText(options), "fts batch, automerge 0, pgsz 8000");
  options.fts_sync = FtsSync::kTrigger;
  options.fts_crisismerge = 64;
  options.fts_pgsz = kFtsDefault;
  EXPECT_EQ(FtsSettingsText(options), "automerge 0, crisismerge 64");
}

TEST(LogEntryTest, TimestampTextRoundTrips) {
  const int64_t ns = 1795752445123456789;  // 2026-11-27T...Z
  const std::string text = FormatTimestamp(ns);
  EXPECT_EQ(text.size(), 30u);
  EXPECT_EQ(text.back(), 'Z');
  int64_t parsed = 0;
  ASSERT_TRUE(ParseTimestamp(text, &parsed));
  EXPECT_EQ(parsed, ns);
  EXPECT_FALSE(ParseTimestamp("yesterday", &parsed));
  EXPECT_FALSE(ParseTimestamp("2026-11-27T03:47:25.12345678xZ", &parsed));
  EXPECT_FALSE(ParseTimestamp("2026-13-27T03:47:25.123456789Z", &parsed));
  for (int64_t t : {int64_t{0}, int64_t{951782400000000001},  // 2000-02-29
                    int64_t{4102444799999999999}}) {          // 2099-12-31
    ASSERT_TRUE(ParseTimestamp(FormatTimestamp(t), &parsed)) << t;
    EXPECT_EQ(parsed, t);
  }
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000000000Z");
}

}  // namespace
}  // namespace loadtest::storage
