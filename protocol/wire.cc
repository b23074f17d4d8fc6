#include "protocol/wire.h"

#include <chrono>
#include <cmath>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "protocol/peer_text.h"
#include "protocol/stats_proto.h"
#include "status/status_macros.h"

namespace loadtest::protocol {
namespace {

using std::chrono::nanoseconds;

// The most of anything (writes, reads, errors, batches, rows, audited rows)
// one update may count: 2^43, more than an agent at the top rate (10^7/s)
// does in the longest run (168h, 6 * 10^12). The controller adds these up
// across intervals and agents in int64; bounding each keeps those sums far
// from overflowing.
constexpr int64_t kMaxUpdateCount = int64_t{1} << 43;

// 168h and a day for the drain and audit, in seconds.
constexpr double kMaxIntervalEndS = (168.0 + 24.0) * 3600.0;

constexpr size_t kMaxRunIdBytes = 128;

absl::Status CheckCount(const char* name, int64_t value) {
  if (value < 0 || value > kMaxUpdateCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("update ", name, " must be between 0 and ",
                     kMaxUpdateCount, ", got ", value));
  }
  return absl::OkStatus();
}

// Rejects counts no agent can have sent: negative or beyond kMaxUpdateCount.
absl::Status CheckCounts(const IntervalUpdate& u) {
  const stats::IntervalCounters& c = u.stats.counters;
  RETURN_IF_ERROR(CheckCount("writes_ok", c.writes_ok));
  RETURN_IF_ERROR(CheckCount("write_errors", c.write_errors));
  RETURN_IF_ERROR(CheckCount("write_timeouts", c.write_timeouts));
  RETURN_IF_ERROR(CheckCount("queue_full", c.queue_full));
  RETURN_IF_ERROR(CheckCount("writes_late", c.writes_late));
  RETURN_IF_ERROR(CheckCount("reads_ok", c.reads_ok));
  RETURN_IF_ERROR(CheckCount("read_errors", c.read_errors));
  RETURN_IF_ERROR(CheckCount("reads_late", c.reads_late));
  RETURN_IF_ERROR(CheckCount("peak_queue_depth", u.peak_queue_depth));
  RETURN_IF_ERROR(CheckCount("queue_size", u.queue_size));
  RETURN_IF_ERROR(CheckCount("batches", u.batches));
  RETURN_IF_ERROR(CheckCount("rows_committed", u.rows_committed));
  RETURN_IF_ERROR(CheckCount("late_commits", u.late_commits));
  if (u.audit.has_value()) {
    const RunAudit& a = *u.audit;
    RETURN_IF_ERROR(CheckCount("audit rows_before", a.rows_before));
    RETURN_IF_ERROR(CheckCount("audit rows_in_db", a.rows_in_db));
    RETURN_IF_ERROR(CheckCount("audit acknowledged", a.acknowledged));
    RETURN_IF_ERROR(CheckCount("audit late_commits", a.late_commits));
    RETURN_IF_ERROR(CheckCount("audit lost", a.lost));
    RETURN_IF_ERROR(CheckCount("audit unexplained", a.unexplained));
    // A size, bounded as the store's db_bytes is: the controller sums it
    // across agents.
    RETURN_IF_ERROR(CheckCount("audit fts_index_bytes", a.fts_index_bytes));
  }
  return absl::OkStatus();
}

// Times summed over many connections (busy waits) may pass 2^43 ns in one
// interval; this still keeps sums across agents and intervals in int64.
constexpr int64_t kMaxUpdateNanos = int64_t{1} << 56;

absl::Status CheckNanos(const char* name, int64_t value) {
  if (value < 0 || value > kMaxUpdateNanos) {
    return absl::InvalidArgumentError(
        absl::StrCat("update ", name, " must be between 0 and ",
                     kMaxUpdateNanos, " ns, got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckReal(const char* name, double value, double max) {
  if (!std::isfinite(value) || value < 0 || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "update ", name, " must be between 0 and ", max, ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckConnection(const char* kind,
                             const storage::ConnectionActivity& c) {
  RETURN_IF_ERROR(CheckCount(kind, c.busy_events));
  RETURN_IF_ERROR(CheckNanos(kind, c.busy_wait_ns));
  RETURN_IF_ERROR(CheckCount(kind, c.cache_hits));
  RETURN_IF_ERROR(CheckCount(kind, c.cache_misses));
  RETURN_IF_ERROR(CheckCount(kind, c.cache_writes));
  RETURN_IF_ERROR(CheckCount(kind, c.cache_spills));
  return absl::OkStatus();
}

// The host's figures: amounts of time finite and within what the most CPUs
// (2^20) give over the longest interval, counts as counts.
absl::Status CheckHost(const HostFigures& h) {
  constexpr double kMaxCpus = 1 << 20;
  constexpr double kMaxCpuSeconds = kMaxCpus * kMaxIntervalEndS;
  RETURN_IF_ERROR(
      CheckReal("host wall_seconds", h.wall_seconds, kMaxIntervalEndS));
  RETURN_IF_ERROR(CheckReal("host cpus", static_cast<double>(h.cpus), kMaxCpus));
  RETURN_IF_ERROR(
      CheckReal("host cpu_user_seconds", h.cpu_user_seconds, kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host cpu_system_seconds", h.cpu_system_seconds,
                            kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host cpu_iowait_seconds", h.cpu_iowait_seconds,
                            kMaxCpuSeconds));
  RETURN_IF_ERROR(
      CheckReal("host cpu_steal_seconds", h.cpu_steal_seconds, kMaxCpuSeconds));
  RETURN_IF_ERROR(
      CheckReal("host cpu_idle_seconds", h.cpu_idle_seconds, kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host load1", h.load1, kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host load5", h.load5, kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host load15", h.load15, kMaxCpuSeconds));
  // Seconds of request time: up to a queue of 2^20 over the interval.
  RETURN_IF_ERROR(CheckReal("host disk_busy_seconds", h.disk_busy_seconds,
                            kMaxIntervalEndS));
  RETURN_IF_ERROR(CheckReal("host disk_queue_seconds", h.disk_queue_seconds,
                            kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckReal("host disk_request_seconds",
                            h.disk_request_seconds, kMaxCpuSeconds));
  RETURN_IF_ERROR(CheckCount("host disk_requests", h.disk_requests));
  RETURN_IF_ERROR(CheckCount("host disk_read_bytes", h.disk_read_bytes));
  RETURN_IF_ERROR(CheckCount("host disk_write_bytes", h.disk_write_bytes));
  return absl::OkStatus();
}

// The store's and the process's figures: counts and sizes as counts,
// times as times, the process's reals finite and in range.
absl::Status CheckInternals(const IntervalUpdate& u) {
  if (u.store.has_value()) {
    const storage::StoreInternals& s = *u.store;
    RETURN_IF_ERROR(CheckCount("store wal_bytes_max", s.wal_bytes_max));
    RETURN_IF_ERROR(CheckCount("store wal_restart_bytes", s.wal_restart_bytes));
    RETURN_IF_ERROR(CheckCount("store db_bytes", s.db_bytes));
    RETURN_IF_ERROR(CheckCount("store checkpoints", s.checkpoints));
    RETURN_IF_ERROR(CheckCount("store checkpoint_frames", s.checkpoint_frames));
    RETURN_IF_ERROR(
        CheckCount("store checkpoints_blocked", s.checkpoints_blocked));
    RETURN_IF_ERROR(CheckNanos("store wal_stuck_ns_max", s.wal_stuck_ns_max));
    RETURN_IF_ERROR(CheckNanos("store writer_cpu_ns", s.writer_cpu_ns));
    RETURN_IF_ERROR(CheckConnection("store writer", s.writer));
    RETURN_IF_ERROR(CheckConnection("store readers", s.readers));
    RETURN_IF_ERROR(CheckConnection("store checkpointer", s.checkpointer));
    RETURN_IF_ERROR(CheckCount("store fsyncs", s.fsyncs));
    RETURN_IF_ERROR(CheckNanos("store fsync_ns", s.fsync_ns));
  }
  if (u.process.has_value()) {
    const ProcessFigures& p = *u.process;
    RETURN_IF_ERROR(
        CheckReal("process wall_seconds", p.wall_seconds, kMaxIntervalEndS));
    RETURN_IF_ERROR(CheckReal("process cpu_seconds", p.cpu_seconds,
                              static_cast<double>(kMaxUpdateCount)));
    RETURN_IF_ERROR(CheckReal("process usable_cores", p.usable_cores, 1e6));
    RETURN_IF_ERROR(CheckCount("process threads", p.threads));  // int32 on the wire.
    RETURN_IF_ERROR(CheckCount("process rss_bytes", p.rss_bytes));
    RETURN_IF_ERROR(CheckCount("process open_fds", p.open_fds));
    RETURN_IF_ERROR(
        CheckCount("process voluntary_switches", p.voluntary_switches));
    RETURN_IF_ERROR(
        CheckCount("process involuntary_switches", p.involuntary_switches));
    RETURN_IF_ERROR(CheckReal("process run_queue_wait_seconds",
                              p.run_queue_wait_seconds,
                              static_cast<double>(kMaxUpdateCount)));
    RETURN_IF_ERROR(CheckCount("process read_chars", p.read_chars));
    RETURN_IF_ERROR(CheckCount("process write_chars", p.write_chars));
    RETURN_IF_ERROR(CheckCount("process read_calls", p.read_calls));
    RETURN_IF_ERROR(CheckCount("process write_calls", p.write_calls));
    RETURN_IF_ERROR(CheckCount("process read_bytes", p.read_bytes));
    RETURN_IF_ERROR(CheckCount("process write_bytes", p.write_bytes));
  }
  if (u.host.has_value()) RETURN_IF_ERROR(CheckHost(*u.host));
  return absl::OkStatus();
}

void ToProto(const HostFigures& h, pb::HostStats* out) {
  out->set_wall_seconds(h.wall_seconds);
  out->set_cpus(static_cast<int32_t>(h.cpus));
  out->set_cpu_user_seconds(h.cpu_user_seconds);
  out->set_cpu_system_seconds(h.cpu_system_seconds);
  out->set_cpu_iowait_seconds(h.cpu_iowait_seconds);
  out->set_cpu_steal_seconds(h.cpu_steal_seconds);
  out->set_cpu_idle_seconds(h.cpu_idle_seconds);
  out->set_load1(h.load1);
  out->set_load5(h.load5);
  out->set_load15(h.load15);
  out->set_disk_device(h.disk_device);
  out->set_disk_unavailable(h.disk_unavailable);
  out->set_disk_busy_seconds(h.disk_busy_seconds);
  out->set_disk_queue_seconds(h.disk_queue_seconds);
  out->set_disk_request_seconds(h.disk_request_seconds);
  out->set_disk_requests(h.disk_requests);
  out->set_disk_read_bytes(h.disk_read_bytes);
  out->set_disk_write_bytes(h.disk_write_bytes);
}

HostFigures FromProto(const pb::HostStats& w) {
  HostFigures h;
  h.wall_seconds = w.wall_seconds();
  h.cpus = w.cpus();
  h.cpu_user_seconds = w.cpu_user_seconds();
  h.cpu_system_seconds = w.cpu_system_seconds();
  h.cpu_iowait_seconds = w.cpu_iowait_seconds();
  h.cpu_steal_seconds = w.cpu_steal_seconds();
  h.cpu_idle_seconds = w.cpu_idle_seconds();
  h.load1 = w.load1();
  h.load5 = w.load5();
  h.load15 = w.load15();
  h.disk_device = w.disk_device();
  h.disk_unavailable = w.disk_unavailable();
  h.disk_busy_seconds = w.disk_busy_seconds();
  h.disk_queue_seconds = w.disk_queue_seconds();
  h.disk_request_seconds = w.disk_request_seconds();
  h.disk_requests = w.disk_requests();
  h.disk_read_bytes = w.disk_read_bytes();
  h.disk_write_bytes = w.disk_write_bytes();
  return h;
}

void ToProto(const storage::ConnectionActivity& c, pb::ConnectionStats* out) {
  out->set_busy_events(c.busy_events);
  out->set_busy_wait_ns(c.busy_wait_ns);
  out->set_cache_hits(c.cache_hits);
  out->set_cache_misses(c.cache_misses);
  out->set_cache_writes(c.cache_writes);
  out->set_cache_spills(c.cache_spills);
}

storage::ConnectionActivity FromProto(const pb::ConnectionStats& p) {
  storage::ConnectionActivity c;
  c.busy_events = p.busy_events();
  c.busy_wait_ns = p.busy_wait_ns();
  c.cache_hits = p.cache_hits();
  c.cache_misses = p.cache_misses();
  c.cache_writes = p.cache_writes();
  c.cache_spills = p.cache_spills();
  return c;
}

// An FTS5 setting sent on the wire: a value, never the store's "unset"
// (an absent field is that); the range is checked with the other options.
absl::Status SetFtsSetting(const char* flag, int32_t value, int* out) {
  if (value == storage::kFtsDefault) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " must be a value when sent (absent: SQLite's default), got ",
        value));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> DatabasePath(const std::string& data_dir,
                                         const std::string& db_name) {
  if (db_name.empty() || db_name == "." || db_name == ".." ||
      db_name.find('/') != std::string::npos || !IsPrintableText(db_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "db must be a plain file name of printable characters inside the "
        "agent's data directory (no path, no \"..\"), got \"",
        PeerText(db_name), "\""));
  }
  // SQLite keeps the database's WAL, shared memory and rollback journal
  // beside it under these suffixes: a database of such a name would be
  // another database's side file (its rows vanish when that one reopens).
  for (const char* suffix : kSideFileSuffixes) {
    if (absl::EndsWith(db_name, suffix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "db must not end in ", suffix, " (SQLite's name for a side file of "
          "another database), got \"", db_name, "\""));
    }
  }
  // The longest side file name ("NAME-journal") must fit in a file name too.
  if (db_name.size() > kMaxDbNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "db must be at most ", kMaxDbNameBytes,
        " bytes (with SQLite's \"-journal\" suffix a file name may have 255), "
        "got ", db_name.size(), " bytes"));
  }
  return absl::StrCat(data_dir, "/", db_name);
}

void ToProto(const RunSpec& s, pb::RunSpec* out) {
  out->set_run_id(s.run_id);
  out->set_duration_ns(s.duration.count());
  out->set_log_interval_ns(s.log_interval.count());
  out->set_schema(storage::SchemaName(s.store.schema));
  out->set_sync(storage::SyncModeName(s.store.sync));
  out->set_batch_policy(storage::BatchPolicyName(s.store.batch_policy));
  out->set_fresh(s.store.fresh);
  out->set_batch_size(s.store.batch_size);
  out->set_batch_timeout_ns(s.store.batch_timeout.count());
  out->set_queue_size(s.store.queue_size);
  out->set_write_timeout_ns(s.store.write_timeout.count());
  out->set_cache_size_kib(s.store.cache_size_kib);
  out->set_reader_mmap_mib(s.store.reader_mmap_mib);
  out->set_reader_nice(s.store.reader_nice);
  out->set_temp_store(storage::TempStoreName(s.store.temp_store));
  out->set_fts_sync(storage::FtsSyncName(s.store.fts_sync));
  if (s.store.fts_automerge != storage::kFtsDefault) {
    out->set_fts_automerge(s.store.fts_automerge);
  }
  if (s.store.fts_crisismerge != storage::kFtsDefault) {
    out->set_fts_crisismerge(s.store.fts_crisismerge);
  }
  if (s.store.fts_pgsz != storage::kFtsDefault) {
    out->set_fts_pgsz(s.store.fts_pgsz);
  }
  out->set_writers(s.workload.writers);
  out->set_readers(s.workload.readers);
  out->set_write_delay_ns(s.workload.write_delay.count());
  out->set_read_delay_ns(s.workload.read_delay.count());
  out->set_write_rate(s.workload.write_rate);
  out->set_read_rate(s.workload.read_rate);
  out->set_seed(s.workload.seed);
  const MessageOptions& m = s.workload.messages;
  out->set_messages(MessageSourceName(m.source));
  out->set_messages_format(MessageFormatName(m.format));
  out->set_search_terms(SearchTermsName(m.search_terms));
  out->set_messages_file_path(m.file_path);
  out->set_messages_file(m.file_content);
  out->set_messages_hash(m.content_hash);
  out->set_write_dispatch(WriteDispatchName(s.workload.write_dispatch));
  for (const RateStage& stage : s.workload.write_stages) {
    pb::RateStage* wire = out->add_write_stages();
    wire->set_duration_ns(stage.duration.count());
    wire->set_rate(stage.target);
  }
  for (const RateStage& stage : s.workload.read_stages) {
    pb::RateStage* wire = out->add_read_stages();
    wire->set_duration_ns(stage.duration.count());
    wire->set_rate(stage.target);
  }
}

absl::StatusOr<RunSpec> FromProto(const pb::RunSpec& p,
                                  const std::string& data_dir) {
  RunSpec s;
  if (p.run_id().size() > kMaxRunIdBytes || !IsPrintableText(p.run_id())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "run_id must be at most ", kMaxRunIdBytes,
        " printable characters, got \"", PeerText(p.run_id(), 80), "\""));
  }
  s.run_id = p.run_id();
  ASSIGN_OR_RETURN(s.store.path, DatabasePath(data_dir, p.db_name()));
  s.duration = nanoseconds(p.duration_ns());
  s.log_interval = nanoseconds(p.log_interval_ns());
  ASSIGN_OR_RETURN(s.store.schema, storage::ParseSchema(p.schema()));
  ASSIGN_OR_RETURN(s.store.sync, storage::ParseSyncMode(p.sync()));
  ASSIGN_OR_RETURN(s.store.batch_policy,
                   storage::ParseBatchPolicy(p.batch_policy()));
  s.store.fresh = p.fresh();
  s.store.batch_size = p.batch_size();
  s.store.batch_timeout = nanoseconds(p.batch_timeout_ns());
  s.store.queue_size = p.queue_size();
  s.store.write_timeout = nanoseconds(p.write_timeout_ns());
  // 0 from a controller that does not send it: the store's default.
  if (p.cache_size_kib() != 0) s.store.cache_size_kib = p.cache_size_kib();
  s.store.reader_mmap_mib = p.reader_mmap_mib();
  s.store.reader_nice = p.reader_nice();
  // "" from a controller that does not send it: the store's default.
  if (!p.temp_store().empty()) {
    ASSIGN_OR_RETURN(s.store.temp_store,
                     storage::ParseTempStore(p.temp_store()));
  }
  if (!p.fts_sync().empty()) {
    ASSIGN_OR_RETURN(s.store.fts_sync, storage::ParseFtsSync(p.fts_sync()));
  }
  // Absent: SQLite's default. A value sent is checked with the rest
  // (storage::ValidateStoreOptions), so -1 on the wire is refused too.
  if (p.has_fts_automerge()) {
    RETURN_IF_ERROR(SetFtsSetting("fts-automerge", p.fts_automerge(),
                                  &s.store.fts_automerge));
  }
  if (p.has_fts_crisismerge()) {
    RETURN_IF_ERROR(SetFtsSetting("fts-crisismerge", p.fts_crisismerge(),
                                  &s.store.fts_crisismerge));
  }
  if (p.has_fts_pgsz()) {
    RETURN_IF_ERROR(
        SetFtsSetting("fts-pgsz", p.fts_pgsz(), &s.store.fts_pgsz));
  }
  s.workload.writers = p.writers();
  s.workload.readers = p.readers();
  s.workload.write_delay = nanoseconds(p.write_delay_ns());
  s.workload.read_delay = nanoseconds(p.read_delay_ns());
  s.workload.write_rate = p.write_rate();
  s.workload.read_rate = p.read_rate();
  s.workload.seed = p.seed();
  MessageOptions& m = s.workload.messages;
  // "" from a controller that does not send them: the original's.
  if (!p.messages().empty()) {
    ASSIGN_OR_RETURN(m.source, ParseMessageSource("messages", p.messages()));
  }
  if (!p.messages_format().empty()) {
    ASSIGN_OR_RETURN(m.format,
                     ParseMessageFormat("messages-format", p.messages_format()));
  }
  if (!p.search_terms().empty()) {
    ASSIGN_OR_RETURN(m.search_terms,
                     ParseSearchTerms("search-terms", p.search_terms()));
  }
  // "" from a controller that does not send it: its writers were threads.
  s.workload.write_dispatch = WriteDispatch::kThreads;
  if (!p.write_dispatch().empty()) {
    ASSIGN_OR_RETURN(s.workload.write_dispatch,
                     ParseWriteDispatch("write-dispatch", p.write_dispatch()));
  }
  m.file_path = PeerText(p.messages_file_path(), 4096);
  m.file_content = p.messages_file();
  m.content_hash = p.messages_hash();
  for (const pb::RateStage& stage : p.write_stages()) {
    s.workload.write_stages.push_back(
        {nanoseconds(stage.duration_ns()), stage.rate()});
  }
  for (const pb::RateStage& stage : p.read_stages()) {
    s.workload.read_stages.push_back(
        {nanoseconds(stage.duration_ns()), stage.rate()});
  }
  if (p.start_after_ns() < 0 ||
      p.start_after_ns() > nanoseconds(std::chrono::minutes(1)).count()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_after must be between 0 and 60s, got ", p.start_after_ns(),
        "ns"));
  }
  RETURN_IF_ERROR(ValidateRunSpec(s));
  return s;
}

void ToProto(const IntervalUpdate& u, pb::RunUpdate* out) {
  out->set_sequence(u.sequence);
  out->set_start_s(u.start_s);
  out->set_end_s(u.end_s);
  ToProto(u.stats.counters, out->mutable_counters());
  ToProto(u.stats.write_latency, out->mutable_write_latency());
  ToProto(u.stats.read_latency, out->mutable_read_latency());
  out->set_peak_queue_depth(u.peak_queue_depth);
  out->set_queue_size(u.queue_size);
  out->set_batches(u.batches);
  out->set_rows_committed(u.rows_committed);
  out->set_late_commits(u.late_commits);
  out->set_final(u.final);
  out->set_stop_reason(u.stop_reason);
  out->set_first_error(u.first_error);
  out->set_offered_writes(u.offered_writes);
  out->set_offered_reads(u.offered_reads);
  if (u.stats.schedule_lag.count() > 0) {
    ToProto(u.stats.schedule_lag, out->mutable_schedule_lag());
  }
  if (u.stats.wake_lag.count() > 0) {
    ToProto(u.stats.wake_lag, out->mutable_wake_lag());
  }
  if (u.stats.writes_in_flight.count() > 0) {
    ToProto(u.stats.writes_in_flight, out->mutable_writes_in_flight());
  }
  if (u.stats.reads_in_flight.count() > 0) {
    ToProto(u.stats.reads_in_flight, out->mutable_reads_in_flight());
  }
  if (u.store.has_value()) {
    const storage::StoreInternals& s = *u.store;
    pb::StoreStats* p = out->mutable_store();
    p->set_wal_bytes_max(s.wal_bytes_max);
    p->set_wal_restart_bytes(s.wal_restart_bytes);
    p->set_db_bytes(s.db_bytes);
    p->set_checkpoints(s.checkpoints);
    p->set_checkpoint_frames(s.checkpoint_frames);
    p->set_checkpoints_blocked(s.checkpoints_blocked);
    p->set_wal_stuck_ns_max(s.wal_stuck_ns_max);
    p->set_writer_cpu_ns(s.writer_cpu_ns);
    ToProto(s.checkpoint_latency, p->mutable_checkpoint_latency());
    ToProto(s.commit_latency, p->mutable_commit_latency());
    ToProto(s.writer, p->mutable_writer());
    ToProto(s.readers, p->mutable_readers());
    ToProto(s.checkpointer, p->mutable_checkpointer());
    p->set_fsyncs(s.fsyncs);
    p->set_fsync_ns(s.fsync_ns);
  }
  if (u.process.has_value()) {
    const ProcessFigures& f = *u.process;
    pb::ProcessStats* p = out->mutable_process();
    p->set_wall_seconds(f.wall_seconds);
    p->set_cpu_seconds(f.cpu_seconds);
    p->set_usable_cores(f.usable_cores);
    p->set_threads(static_cast<int32_t>(f.threads));
    p->set_rss_bytes(f.rss_bytes);
    p->set_open_fds(static_cast<int32_t>(f.open_fds));
    p->set_voluntary_switches(f.voluntary_switches);
    p->set_involuntary_switches(f.involuntary_switches);
    p->set_run_queue_wait_seconds(f.run_queue_wait_seconds);
    p->set_read_chars(f.read_chars);
    p->set_write_chars(f.write_chars);
    p->set_read_calls(f.read_calls);
    p->set_write_calls(f.write_calls);
    p->set_read_bytes(f.read_bytes);
    p->set_write_bytes(f.write_bytes);
  }
  if (u.host.has_value()) ToProto(*u.host, out->mutable_host());
  if (u.audit.has_value()) {
    const RunAudit& a = *u.audit;
    pb::Audit* p = out->mutable_audit();
    p->set_rows_before(a.rows_before);
    p->set_rows_in_db(a.rows_in_db);
    p->set_acknowledged(a.acknowledged);
    p->set_late_commits(a.late_commits);
    p->set_lost(a.lost);
    p->set_unexplained(a.unexplained);
    p->set_integrity_ok(a.integrity_ok);
    p->set_integrity_message(a.integrity_message);
    p->set_fts_index_bytes(a.fts_index_bytes);
    p->set_error(a.error);
  }
}

absl::StatusOr<IntervalUpdate> FromProto(const pb::RunUpdate& p) {
  IntervalUpdate u;
  u.sequence = p.sequence();
  if (u.sequence < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("update sequence must be >= 1, got ", u.sequence));
  }
  u.start_s = p.start_s();
  u.end_s = p.end_s();
  // Seconds since the run began: finite, ordered, within the longest run
  // (168h) plus its drain.
  if (!std::isfinite(u.start_s) || !std::isfinite(u.end_s) ||
      u.start_s < 0 || u.end_s < u.start_s || u.end_s > kMaxIntervalEndS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "update interval must satisfy 0 <= start <= end <= ", kMaxIntervalEndS,
        " s, got start ", u.start_s, " s, end ", u.end_s, " s"));
  }
  u.stats.counters = FromProto(p.counters());
  ASSIGN_OR_RETURN(u.stats.write_latency, FromProto(p.write_latency()));
  ASSIGN_OR_RETURN(u.stats.read_latency, FromProto(p.read_latency()));
  u.peak_queue_depth = p.peak_queue_depth();
  u.queue_size = p.queue_size();
  u.batches = p.batches();
  u.rows_committed = p.rows_committed();
  u.late_commits = p.late_commits();
  u.final = p.final();
  u.stop_reason = p.stop_reason();
  u.first_error = p.first_error();
  u.offered_writes = p.offered_writes();
  u.offered_reads = p.offered_reads();
  // At most the fastest rate (1e7/s, per kind) over the longest interval.
  for (const double offered : {u.offered_writes, u.offered_reads}) {
    if (!(offered >= 0) || offered > 1e7 * kMaxIntervalEndS) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update's offered operations must be between 0 and ",
          1e7 * kMaxIntervalEndS, ", got ", offered));
    }
  }
  ASSIGN_OR_RETURN(u.stats.schedule_lag, FromProto(p.schedule_lag()));
  ASSIGN_OR_RETURN(u.stats.wake_lag, FromProto(p.wake_lag()));
  ASSIGN_OR_RETURN(u.stats.writes_in_flight, FromProto(p.writes_in_flight()));
  ASSIGN_OR_RETURN(u.stats.reads_in_flight, FromProto(p.reads_in_flight()));
  if (p.has_store()) {
    const pb::StoreStats& w = p.store();
    storage::StoreInternals s;
    s.wal_bytes_max = w.wal_bytes_max();
    s.wal_restart_bytes = w.wal_restart_bytes();
    s.db_bytes = w.db_bytes();
    s.checkpoints = w.checkpoints();
    s.checkpoint_frames = w.checkpoint_frames();
    s.checkpoints_blocked = w.checkpoints_blocked();
    s.wal_stuck_ns_max = w.wal_stuck_ns_max();
    s.writer_cpu_ns = w.writer_cpu_ns();
    ASSIGN_OR_RETURN(s.checkpoint_latency, FromProto(w.checkpoint_latency()));
    ASSIGN_OR_RETURN(s.commit_latency, FromProto(w.commit_latency()));
    s.writer = FromProto(w.writer());
    s.readers = FromProto(w.readers());
    s.checkpointer = FromProto(w.checkpointer());
    s.fsyncs = w.fsyncs();
    s.fsync_ns = w.fsync_ns();
    u.store = std::move(s);
  }
  if (p.has_process()) {
    const pb::ProcessStats& w = p.process();
    ProcessFigures f;
    f.wall_seconds = w.wall_seconds();
    f.cpu_seconds = w.cpu_seconds();
    f.usable_cores = w.usable_cores();
    f.threads = w.threads();
    f.rss_bytes = w.rss_bytes();
    f.open_fds = w.open_fds();
    f.voluntary_switches = w.voluntary_switches();
    f.involuntary_switches = w.involuntary_switches();
    f.run_queue_wait_seconds = w.run_queue_wait_seconds();
    f.read_chars = w.read_chars();
    f.write_chars = w.write_chars();
    f.read_calls = w.read_calls();
    f.write_calls = w.write_calls();
    f.read_bytes = w.read_bytes();
    f.write_bytes = w.write_bytes();
    u.process = f;
  }
  if (p.has_host()) u.host = FromProto(p.host());
  if (p.has_audit()) {
    const pb::Audit& a = p.audit();
    RunAudit audit;
    audit.rows_before = a.rows_before();
    audit.rows_in_db = a.rows_in_db();
    audit.acknowledged = a.acknowledged();
    audit.late_commits = a.late_commits();
    audit.lost = a.lost();
    audit.unexplained = a.unexplained();
    audit.integrity_ok = a.integrity_ok();
    audit.integrity_message = a.integrity_message();
    audit.fts_index_bytes = a.fts_index_bytes();
    audit.error = a.error();
    u.audit = audit;
  }
  RETURN_IF_ERROR(CheckCounts(u));
  RETURN_IF_ERROR(CheckInternals(u));
  return u;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

AgentLimits LimitsFromProto(const pb::AgentLimits& limits) {
  AgentLimits out;
  out.max_writers = limits.max_writers();
  out.max_readers = limits.max_readers();
  out.max_duration = std::chrono::nanoseconds(limits.max_duration_ns());
  out.max_db_bytes = limits.max_db_bytes();
  return out;
}

}  // namespace loadtest::protocol
