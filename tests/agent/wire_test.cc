#include "agent/wire.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::agent {
namespace {

using ::testing::HasSubstr;

TEST(WireTest, DatabaseMustBeAPlainFileNameInsideTheDataDir) {
  EXPECT_EQ(*DatabasePath("/data", "load.db"), "/data/load.db");
  for (const char* bad : {"", ".", "..", "../x.db", "/etc/passwd", "a/b.db",
                          "sub/../x.db"}) {
    auto path = DatabasePath("/data", bad);
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(path.status().message(), HasSubstr("plain file name"));
  }
}

TEST(WireTest, RunSpecRoundTripsAndIsValidated) {
  RunSpec spec;
  spec.run_id = "r1";
  spec.store.path = "ignored";
  spec.store.schema = storage::Schema::kLean;
  spec.store.batch_size = 77;
  spec.workload.writers = 3;
  spec.workload.write_rate = 250;
  spec.duration = std::chrono::seconds(9);
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  auto back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->store.path, "/d/x.db");
  EXPECT_EQ(back->store.schema, storage::Schema::kLean);
  EXPECT_EQ(back->store.batch_size, 77);
  EXPECT_EQ(back->workload.writers, 3);
  EXPECT_EQ(back->workload.write_rate, 250);
  EXPECT_EQ(back->duration, std::chrono::seconds(9));

  wire.set_batch_size(0);
  EXPECT_THAT(FromProto(wire, "/d").status().message(),
              HasSubstr("batch-size must be between 1 and 100000, got 0"));
  wire.set_batch_size(10);
  wire.set_db_name("../escape.db");
  EXPECT_EQ(FromProto(wire, "/d").status().code(),
            absl::StatusCode::kInvalidArgument);
  wire.set_db_name("x.db");
  wire.set_schema("fat");
  EXPECT_THAT(FromProto(wire, "/d").status().message(), HasSubstr("fat"));
}

TEST(WireTest, UpdateRoundTripsExactly) {
  IntervalUpdate u;
  u.sequence = 4;
  u.start_s = 1.5;
  u.end_s = 2.5;
  u.stats.counters.writes_ok = 3;
  u.stats.counters.queue_full = 2;
  for (int64_t ns : {1000, 250000, 7000000}) u.stats.write_latency.Record(ns);
  u.stats.read_latency.Record(42000);
  u.peak_queue_depth = 9;
  u.queue_size = 100;
  u.batches = 2;
  u.rows_committed = 3;
  u.final = true;
  u.stop_reason = "duration reached";
  RunAudit audit;
  audit.acknowledged = 3;
  audit.rows_in_db = 3;
  audit.integrity_ok = true;
  audit.integrity_message = "ok";
  u.audit = audit;
  pb::RunUpdate wire;
  ToProto(u, &wire);
  auto back = FromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sequence, 4);
  EXPECT_EQ(back->stats.counters, u.stats.counters);
  EXPECT_EQ(back->stats.write_latency.ToSparse(), u.stats.write_latency.ToSparse());
  EXPECT_EQ(back->stats.write_latency.max(), 7000000);
  EXPECT_EQ(back->stats.read_latency.count(), 1u);
  EXPECT_EQ(back->peak_queue_depth, 9);
  EXPECT_TRUE(back->final);
  ASSERT_TRUE(back->audit.has_value());
  EXPECT_TRUE(back->audit->passed());
}

TEST(WireTest, MalformedHistogramIsRejected) {
  pb::RunUpdate wire;
  wire.set_sequence(1);
  wire.mutable_write_latency()->add_bucket_index(5);  // No matching count.
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("1 bucket indexes but 0 counts"));
  wire.mutable_write_latency()->add_bucket_count(0);  // Zero count.
  EXPECT_EQ(FromProto(wire).status().code(), absl::StatusCode::kInvalidArgument);
  pb::RunUpdate no_sequence;
  EXPECT_EQ(FromProto(no_sequence).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WireTest, StatusCodesSurviveTheConversion) {
  const absl::Status s = absl::FailedPreconditionError("busy with run r1");
  const grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(FromGrpcStatus(g), s);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace loadtest::agent
