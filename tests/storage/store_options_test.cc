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

TEST(StoreOptionsTest, ParsesTextualForms) {
  EXPECT_EQ(*ParseSchema("lean"), Schema::kLean);
  EXPECT_EQ(*ParseSyncMode("full"), SyncMode::kFull);
  EXPECT_EQ(*ParseBatchPolicy("linger"), BatchPolicy::kLinger);
  EXPECT_EQ(ParseSchema("fat").status().message(),
            "schema must be full or lean, got \"fat\"");
  EXPECT_FALSE(ParseSyncMode("always").ok());
  EXPECT_FALSE(ParseBatchPolicy("").ok());
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
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000000000Z");
}

}  // namespace
}  // namespace loadtest::storage
