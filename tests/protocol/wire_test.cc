#include "protocol/wire.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "protocol/stats_proto.h"
#include "stats/latency_histogram.h"
#include "gtest/gtest.h"

namespace loadtest::protocol {
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
  spec.workload.readers = 1;
  spec.workload.read_stages = {{std::chrono::seconds(2), 40},
                               {std::chrono::seconds(0), 10}};
  spec.workload.seed = 0xfeedface12345678ULL;
  spec.duration = std::chrono::seconds(9);
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  auto back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->workload.read_stages, spec.workload.read_stages);
  EXPECT_TRUE(back->workload.write_stages.empty());
  EXPECT_EQ(back->workload.seed, 0xfeedface12345678ULL);
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

TEST(WireTest, TempStoreTravelsAndAnOlderControllersSpecGetsTheDefault) {
  RunSpec spec;
  spec.store.temp_store = storage::TempStore::kFile;
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  EXPECT_EQ(wire.temp_store(), "file");
  auto back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->store.temp_store, storage::TempStore::kFile);

  wire.clear_temp_store();  // A controller that predates the field.
  back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->store.temp_store, storage::TempStore::kMemory);

  wire.set_temp_store("disk");
  EXPECT_EQ(FromProto(wire, "/d").status().message(),
            "temp-store must be memory or file, got \"disk\"");
}

TEST(WireTest, FtsSettingsTravelAndAnOlderControllersSpecGetsTheDefaults) {
  RunSpec spec;
  spec.store.fts_sync = storage::FtsSync::kBatch;
  spec.store.fts_automerge = 0;  // A value, not "unset".
  spec.store.fts_pgsz = 8000;
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  EXPECT_EQ(wire.fts_sync(), "batch");
  EXPECT_TRUE(wire.has_fts_automerge());
  EXPECT_FALSE(wire.has_fts_crisismerge());  // Unset: not sent.
  auto back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->store.fts_sync, storage::FtsSync::kBatch);
  EXPECT_EQ(back->store.fts_automerge, 0);
  EXPECT_EQ(back->store.fts_crisismerge, storage::kFtsDefault);
  EXPECT_EQ(back->store.fts_pgsz, 8000);

  // A controller that predates the fields.
  wire.clear_fts_sync();
  wire.clear_fts_automerge();
  wire.clear_fts_pgsz();
  back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->store.fts_sync, storage::FtsSync::kTrigger);
  EXPECT_EQ(back->store.fts_automerge, storage::kFtsDefault);
  EXPECT_EQ(back->store.fts_pgsz, storage::kFtsDefault);

  // The agent refuses what the store would.
  wire.set_fts_sync("per-row");
  EXPECT_EQ(FromProto(wire, "/d").status().message(),
            "fts-sync must be trigger or batch, got \"per-row\"");
  wire.clear_fts_sync();
  wire.set_fts_crisismerge(1);
  EXPECT_EQ(FromProto(wire, "/d").status().message(),
            "fts-crisismerge must be between 2 and 1999 (or -1: SQLite's "
            "default), got 1");
  wire.set_fts_crisismerge(-1);
  EXPECT_EQ(FromProto(wire, "/d").status().message(),
            "fts-crisismerge must be a value when sent (absent: SQLite's "
            "default), got -1");
  wire.clear_fts_crisismerge();
  wire.set_fts_pgsz(65537);
  EXPECT_THAT(std::string(FromProto(wire, "/d").status().message()),
              HasSubstr("fts-pgsz must be between 32 and 65536"));
}

TEST(WireTest, MessagesTravelAndTheAgentChecksTheFilesHash) {
  RunSpec spec;
  MessageOptions& m = spec.workload.messages;
  m.source = MessageSource::kFile;
  m.format = MessageFormat::kRfc3164;
  m.search_terms = SearchTerms::kRare;
  m.file_path = "/var/log/syslog";
  m.file_content = "Dec  7 06:56:49 h cron[9]: a line\n";
  m.content_hash = ContentHash(m.file_content);
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  auto back = FromProto(wire, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->workload.messages.source, MessageSource::kFile);
  EXPECT_EQ(back->workload.messages.format, MessageFormat::kRfc3164);
  EXPECT_EQ(back->workload.messages.search_terms, SearchTerms::kRare);
  EXPECT_EQ(back->workload.messages.file_path, "/var/log/syslog");
  EXPECT_EQ(back->workload.messages.file_content, m.file_content);
  EXPECT_EQ(back->workload.messages.content_hash, m.content_hash);

  // Content that is not what the controller hashed is refused.
  wire.set_messages_file("Dec  7 06:56:49 h cron[9]: another line\n");
  EXPECT_THAT(FromProto(wire, "/d").status().message(),
              HasSubstr("messages file /var/log/syslog: the content received "
                        "has hash sha256:"));
  // An older controller sends none of the fields: the original's.
  pb::RunSpec old;
  ToProto(RunSpec(), &old);
  old.set_db_name("x.db");
  old.clear_messages();
  old.clear_messages_format();
  old.clear_search_terms();
  back = FromProto(old, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->workload.messages.source, MessageSource::kOriginal);
  EXPECT_EQ(back->workload.messages.search_terms, SearchTerms::kOriginal);
  old.set_messages("poetry");
  EXPECT_EQ(FromProto(old, "/d").status().message(),
            "messages must be one of original, realistic, file, got "
            "\"poetry\"");
}

// Issue 27: how open-loop writes reach the store travels to the agent; an
// older controller (no field) had writer threads.
TEST(WireTest, WriteDispatchTravelsAndAnOlderControllerMeansThreads) {
  RunSpec spec;
  EXPECT_EQ(spec.workload.write_dispatch, WriteDispatch::kAsync);
  for (WriteDispatch d : {WriteDispatch::kAsync, WriteDispatch::kThreads}) {
    spec.workload.write_dispatch = d;
    pb::RunSpec wire;
    ToProto(spec, &wire);
    wire.set_db_name("x.db");
    auto back = FromProto(wire, "/d");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->workload.write_dispatch, d);
  }
  pb::RunSpec old;
  ToProto(RunSpec(), &old);
  old.set_db_name("x.db");
  old.clear_write_dispatch();
  auto back = FromProto(old, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->workload.write_dispatch, WriteDispatch::kThreads);
  old.set_write_dispatch("fibers");
  EXPECT_EQ(FromProto(old, "/d").status().message(),
            "write-dispatch must be one of async, threads, got \"fibers\"");
}

// Found by fuzz/run_spec_fields_fuzzer: these passed validation, and the
// agent then added them to clock readings (overflow: a huge write-timeout
// timed every write out at once) or paced "every 10^228 s" (flat out).
TEST(WireTest, TimingBeyondTheLongestRunAndTinyRatesAreRefused) {
  RunSpec spec;
  spec.workload.writers = 2;
  spec.workload.readers = 1;
  pb::RunSpec valid;
  ToProto(spec, &valid);
  valid.set_db_name("x.db");
  ASSERT_TRUE(FromProto(valid, "/d").ok());
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const struct {
    void (pb::RunSpec::*set)(int64_t);
    const char* message;
  } timings[] = {
      {&pb::RunSpec::set_log_interval_ns, "log-interval must be at most 168h"},
      {&pb::RunSpec::set_write_timeout_ns,
       "write-timeout must be at most 168h"},
      {&pb::RunSpec::set_write_delay_ns, "write-delay must be at most 168h"},
      {&pb::RunSpec::set_read_delay_ns, "read-delay must be at most 168h"},
  };
  for (const auto& t : timings) {
    pb::RunSpec wire = valid;
    (wire.*t.set)(kMax);
    const absl::Status status = FromProto(wire, "/d").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << t.message;
    EXPECT_THAT(status.message(), HasSubstr(t.message));
    (wire.*t.set)(int64_t{168} * 3600 * 1000 * 1000 * 1000);
    EXPECT_TRUE(FromProto(wire, "/d").ok()) << t.message;
  }
  pb::RunSpec wire = valid;
  wire.set_read_rate(1.4169535215219311e-219);
  EXPECT_THAT(FromProto(wire, "/d").status().message(),
              HasSubstr("read-rate must be 0 (closed loop) or at least 0.001 "
                        "per second, got 1.41695e-219"));
  wire.set_read_rate(0.001);
  EXPECT_TRUE(FromProto(wire, "/d").ok());
  wire.set_write_rate(std::numeric_limits<double>::denorm_min());
  EXPECT_THAT(FromProto(wire, "/d").status().message(),
              HasSubstr("write-rate must be 0 (closed loop)"));
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
  u.offered_writes = 2.75;
  u.offered_reads = 0.5;
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
  EXPECT_EQ(back->offered_writes, 2.75);
  EXPECT_EQ(back->offered_reads, 0.5);
  EXPECT_TRUE(back->final);
  // Offered counts no agent could have offered are refused.
  pb::RunUpdate bad = wire;
  bad.set_offered_writes(-1);
  EXPECT_THAT(FromProto(bad).status().message(), HasSubstr("offered"));
  bad.set_offered_writes(std::nan(""));
  EXPECT_THAT(FromProto(bad).status().message(), HasSubstr("offered"));
  ASSERT_TRUE(back->audit.has_value());
  EXPECT_TRUE(back->audit->passed());
}

TEST(WireTest, StoreAndProcessFiguresRoundTripExactly) {
  IntervalUpdate u;
  u.sequence = 2;
  u.end_s = 1;
  for (int64_t ns : {0, 2'000'000}) u.stats.schedule_lag.Record(ns);
  storage::StoreInternals s;
  s.wal_bytes_max = 4'128'800;
  s.wal_restart_bytes = 32'960'032;
  s.db_bytes = 1 << 20;
  s.checkpoints = 3;
  s.checkpoint_frames = 2400;
  s.checkpoints_blocked = 1;
  s.wal_stuck_ns_max = 1'500'000'000;
  s.writer_cpu_ns = 870'000'000;
  s.checkpoint_latency.Record(3'000'000);
  for (int64_t ns : {100'000, 200'000, 900'000}) s.commit_latency.Record(ns);
  s.writer = {1, 300'000, 5000, 40, 900, 2};
  s.readers = {7, 9'000'000, 80000, 1200, 0, 0};
  s.checkpointer = {2, 0, 10, 1, 0, 0};
  u.store = s;
  ProcessFigures p;
  p.wall_seconds = 1;
  p.cpu_seconds = 1.75;
  p.usable_cores = 2;
  p.threads = 2074;
  p.rss_bytes = 391045120;
  p.open_fds = 4017;
  p.voluntary_switches = 12251;
  p.involuntary_switches = 1309;
  p.read_chars = 7;
  p.write_chars = 8 << 20;
  p.read_calls = 3;
  p.write_calls = 2048;
  p.read_bytes = 4096;
  p.write_bytes = 9 << 20;
  u.process = p;
  s.fsyncs = 250;
  s.fsync_ns = 1'250'000'000;
  u.store = s;
  HostFigures h;
  h.wall_seconds = 1;
  h.cpus = 2;
  h.cpu_user_seconds = 0.5;
  h.cpu_system_seconds = 0.25;
  h.cpu_iowait_seconds = 0.5;
  h.cpu_steal_seconds = 0.25;
  h.cpu_idle_seconds = 0.5;
  h.load1 = 3.5;
  h.load5 = 2.25;
  h.load15 = 1.125;
  h.disk_device = "vda";
  h.disk_busy_seconds = 0.75;
  h.disk_queue_seconds = 1.5;
  h.disk_request_seconds = 0.5;
  h.disk_requests = 250;
  h.disk_read_bytes = 4096;
  h.disk_write_bytes = 10 << 20;
  u.host = h;
  pb::RunUpdate wire;
  ToProto(u, &wire);
  auto back = FromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->stats.schedule_lag.ToSparse(), u.stats.schedule_lag.ToSparse());
  ASSERT_TRUE(back->store.has_value());
  const storage::StoreInternals& b = *back->store;
  EXPECT_EQ(b.wal_bytes_max, s.wal_bytes_max);
  EXPECT_EQ(b.wal_restart_bytes, s.wal_restart_bytes);
  EXPECT_EQ(b.db_bytes, s.db_bytes);
  EXPECT_EQ(b.checkpoints, 3);
  EXPECT_EQ(b.checkpoint_frames, 2400);
  EXPECT_EQ(b.checkpoints_blocked, 1);
  EXPECT_EQ(b.wal_stuck_ns_max, s.wal_stuck_ns_max);
  EXPECT_EQ(b.writer_cpu_ns, s.writer_cpu_ns);
  EXPECT_EQ(b.checkpoint_latency.ToSparse(), s.checkpoint_latency.ToSparse());
  EXPECT_EQ(b.commit_latency.ToSparse(), s.commit_latency.ToSparse());
  EXPECT_EQ(b.commit_latency.sum(), s.commit_latency.sum());
  EXPECT_EQ(b.writer.busy_wait_ns, 300'000);
  EXPECT_EQ(b.readers.cache_misses, 1200);
  EXPECT_EQ(b.checkpointer.busy_events, 2);
  ASSERT_TRUE(back->process.has_value());
  EXPECT_EQ(back->process->cpu_seconds, 1.75);
  EXPECT_EQ(back->process->threads, 2074);
  EXPECT_EQ(back->process->involuntary_switches, 1309);
  EXPECT_DOUBLE_EQ(back->process->cpu_fraction(), 0.875);
  EXPECT_EQ(back->process->read_chars, 7);
  EXPECT_EQ(back->process->write_chars, 8 << 20);
  EXPECT_EQ(back->process->read_calls, 3);
  EXPECT_EQ(back->process->write_calls, 2048);
  EXPECT_EQ(back->process->read_bytes, 4096);
  EXPECT_EQ(back->process->write_bytes, 9 << 20);
  EXPECT_EQ(b.fsyncs, 250);
  EXPECT_EQ(b.fsync_ns, 1'250'000'000);
  ASSERT_TRUE(back->host.has_value());
  const HostFigures& hb = *back->host;
  EXPECT_EQ(hb.cpus, 2);
  EXPECT_DOUBLE_EQ(hb.cpu_iowait_fraction(), 0.25);
  EXPECT_DOUBLE_EQ(hb.cpu_steal_fraction(), 0.125);
  EXPECT_DOUBLE_EQ(hb.cpu_user_fraction(), 0.25);
  EXPECT_EQ(hb.load1, 3.5);
  EXPECT_EQ(hb.load15, 1.125);
  EXPECT_EQ(hb.disk_device, "vda");
  EXPECT_DOUBLE_EQ(hb.disk_utilization(), 0.75);
  EXPECT_DOUBLE_EQ(hb.disk_queue_depth(), 1.5);
  EXPECT_DOUBLE_EQ(hb.disk_await_ms(), 2.0);
  EXPECT_EQ(hb.disk_requests, 250);
  EXPECT_EQ(hb.disk_write_bytes, 10 << 20);

  // An update without them (an older agent) has none.
  IntervalUpdate plain;
  plain.sequence = 1;
  pb::RunUpdate plain_wire;
  ToProto(plain, &plain_wire);
  auto plain_back = FromProto(plain_wire);
  ASSERT_TRUE(plain_back.ok());
  EXPECT_FALSE(plain_back->store.has_value());
  EXPECT_FALSE(plain_back->process.has_value());
  EXPECT_FALSE(plain_back->host.has_value());
}

TEST(WireTest, AHostWithoutADiskSaysWhy) {
  IntervalUpdate u;
  u.sequence = 1;
  u.host = HostFigures();
  u.host->disk_unavailable = "not a block device: the database is on tmpfs";
  pb::RunUpdate wire;
  ToProto(u, &wire);
  auto back = FromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->host.has_value());
  EXPECT_EQ(back->host->disk_device, "");
  EXPECT_EQ(back->host->disk_unavailable, u.host->disk_unavailable);
  EXPECT_EQ(back->host->disk_utilization(), 0);
  EXPECT_EQ(back->host->disk_await_ms(), 0);
}

TEST(WireTest, StoreAndProcessFiguresNoAgentCanSendAreRejected) {
  IntervalUpdate u;
  u.sequence = 1;
  u.store = storage::StoreInternals();
  u.store->readers.cache_hits = -1;
  pb::RunUpdate wire;
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(), HasSubstr("store readers"));
  u.store.reset();
  u.process = ProcessFigures();
  u.process->cpu_seconds = std::numeric_limits<double>::infinity();
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("process cpu_seconds"));
  u.process->cpu_seconds = 1;
  u.process->usable_cores = -2;
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("process usable_cores"));
  u.process->usable_cores = 1;
  u.process->write_bytes = -1;
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("process write_bytes"));
  u.process.reset();
  u.store = storage::StoreInternals();
  u.store->fsync_ns = -5;
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(), HasSubstr("store fsync_ns"));
  u.store.reset();
  u.host = HostFigures();
  u.host->cpu_steal_seconds = std::nan("");
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("host cpu_steal_seconds"));
  u.host->cpu_steal_seconds = 0;
  u.host->disk_requests = -1;
  wire.Clear();
  ToProto(u, &wire);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("host disk_requests"));
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

// Found by fuzz/histogram_fuzzer: the controller adds counts up in int64,
// so a count near 2^63 from one agent overflowed the sum (undefined
// behaviour). No agent can send a negative count or one beyond 2^43.
TEST(WireTest, UpdateWithCountsNoAgentCanSendIsRejected) {
  pb::RunUpdate wire;
  wire.set_sequence(1);
  wire.set_batches(int64_t{1} << 43);
  wire.mutable_counters()->set_writes_ok(5);
  EXPECT_TRUE(FromProto(wire).ok());
  wire.set_batches(9223372036854775688);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("update batches must be between 0 and 8796093022208, "
                        "got 9223372036854775688"));
  wire.set_batches(1);
  wire.mutable_counters()->set_read_errors(-1);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("update read_errors must be between 0"));
  wire.mutable_counters()->set_read_errors(0);
  wire.mutable_audit()->set_acknowledged(int64_t{1} << 62);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("update audit acknowledged must be between 0"));
  // The FTS index's size is summed across agents too (a fuzzer found two
  // agents' 2^63 - 120 overflowing that sum).
  wire.mutable_audit()->set_acknowledged(0);
  wire.mutable_audit()->set_fts_index_bytes(int64_t{1} << 43);
  EXPECT_TRUE(FromProto(wire).ok());
  wire.mutable_audit()->set_fts_index_bytes(9223372036854775688);
  EXPECT_THAT(FromProto(wire).status().message(),
              HasSubstr("update audit fts_index_bytes must be between 0 and "
                        "8796093022208, got 9223372036854775688"));
}

TEST(WireTest, StatusCodesSurviveTheConversion) {
  const absl::Status s = absl::FailedPreconditionError("busy with run r1");
  const grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(FromGrpcStatus(g), s);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

// Issue 17 (names): a name SQLite uses for another database's side file,
// a name whose "-journal" would pass 255 bytes, and control characters are
// refused, naming the value (escaped).
TEST(WireTest, SideFileNamesLongNamesAndControlCharactersAreRefused) {
  for (const char* bad : {"c.db-wal", "c.db-shm", "c.db-journal"}) {
    auto path = DatabasePath("/data", bad);
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(path.status().message(), HasSubstr("side file")) << bad;
  }
  EXPECT_TRUE(DatabasePath("/data", std::string(kMaxDbNameBytes, 'a')).ok());
  auto long_name = DatabasePath("/data", std::string(kMaxDbNameBytes + 1, 'a'));
  EXPECT_THAT(long_name.status().message(), HasSubstr("at most 247 bytes"));
  auto escape = DatabasePath("/data", "a\x1b[2Jb.db");
  EXPECT_EQ(escape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(escape.status().message(), HasSubstr("a\\e[2Jb.db"));
  EXPECT_THAT(std::string(escape.status().message()),
              ::testing::Not(HasSubstr("\x1b")));
}

TEST(WireTest, RunIdMustBePrintable) {
  RunSpec spec;
  pb::RunSpec wire;
  ToProto(spec, &wire);
  wire.set_db_name("x.db");
  wire.set_run_id("r1\nloadtest-agent: forged line");
  auto refused = FromProto(wire, "/d");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("run_id"));
  EXPECT_THAT(refused.status().message(), HasSubstr("r1\\nloadtest-agent"));
  wire.set_run_id(std::string(129, 'r'));
  EXPECT_THAT(FromProto(wire, "/d").status().message(), HasSubstr("run_id"));
  wire.set_run_id("0123abcd");
  EXPECT_TRUE(FromProto(wire, "/d").ok());
}

// Issue 17 (controller): two 2^63 buckets wrapped the merged count to 0;
// NaN, infinite and negative interval times reached the console and reports.
TEST(WireTest, HugeHistogramCountsAndBadIntervalTimesAreRefused) {
  pb::RunUpdate good;
  good.set_sequence(1);
  good.set_start_s(0);
  good.set_end_s(1);
  ASSERT_TRUE(FromProto(good).ok());

  pb::RunUpdate huge = good;
  stats::LatencyHistogram recorded;
  recorded.Record(1000);
  recorded.Record(5000000);
  pb::Histogram* h = huge.mutable_write_latency();
  ToProto(recorded, h);
  ASSERT_EQ(h->bucket_count_size(), 2);
  h->set_bucket_count(0, uint64_t{1} << 63);
  h->set_bucket_count(1, uint64_t{1} << 63);
  EXPECT_THAT(FromProto(huge).status().message(),
              HasSubstr("histogram bucket counts must add up to at most"));
  // Each within 2^43, their total beyond it.
  h->set_bucket_count(0, uint64_t{1} << 42);
  h->set_bucket_count(1, (uint64_t{1} << 42) + 1);
  EXPECT_THAT(FromProto(huge).status().message(),
              HasSubstr("histogram bucket counts must add up to at most"));
  ToProto(recorded, h);
  EXPECT_TRUE(FromProto(huge).ok()) << FromProto(huge).status();

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (auto [start, end] : std::vector<std::pair<double, double>>{
           {nan, 1}, {0, nan}, {0, inf}, {-inf, 1}, {-1, 1}, {2, 1},
           {0, 1e12}}) {
    pb::RunUpdate bad = good;
    bad.set_start_s(start);
    bad.set_end_s(end);
    auto decoded = FromProto(bad);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << start << " " << end;
    EXPECT_THAT(decoded.status().message(), HasSubstr("update interval"));
  }
}

}  // namespace
}  // namespace loadtest::protocol
