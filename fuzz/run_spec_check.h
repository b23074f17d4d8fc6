// The checks run_spec_fuzzer and run_spec_fields_fuzzer share: one wire
// RunSpec through the agent's own acceptance (agent::AcceptRunSpec, which
// AgentService::Run calls: protocol::FromProto, which resolves db_name with
// protocol::DatabasePath and ends with ValidateRunSpec, then the agent's
// --max-* limits, this process's limits and the data directory), and what
// must hold of its answer. A failed check traps.
#ifndef LOADTEST_FUZZ_RUN_SPEC_CHECK_H_
#define LOADTEST_FUZZ_RUN_SPEC_CHECK_H_

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/accept_run.h"
#include "protocol/peer_text.h"
#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "fuzz/fuzz_check.h"

namespace loadtest::fuzz {

inline constexpr char kDataDir[] = "/var/lib/opentrail-load";

// A steady_clock reading the agent may see: 2^60 ns, 36 years of uptime.
inline constexpr int64_t kClockReading = int64_t{1} << 60;

// True when `clock + d` is representable: the agent adds every timing value
// of a run to a steady_clock reading (deadlines, the end of the run, the
// next interval, the next sleep).
inline bool FitsAfterClock(std::chrono::nanoseconds d) {
  return d.count() >= 0 &&
         d.count() <= std::numeric_limits<int64_t>::max() - kClockReading;
}

// An open-loop thread is due every 1e9 / (rate / threads) ns
// (agent/workload.cc): that period must be a finite time after the clock.
inline bool PeriodFits(double rate, int threads) {
  if (rate == 0 || threads == 0) return true;
  const double period_ns = 1e9 / (rate / threads);
  return period_ns > 0 &&
         period_ns <= static_cast<double>(std::numeric_limits<int64_t>::max() -
                                          kClockReading);
}

// A spec the agent accepted must be one it can run: every timing value fits
// after a clock reading, and the interval boundaries
// start + log_interval * k up to the end of the run do too.
inline void CheckRunnable(const protocol::RunSpec& s) {
  FUZZ_CHECK(FitsAfterClock(s.duration));
  FUZZ_CHECK(FitsAfterClock(s.log_interval));
  FUZZ_CHECK(s.log_interval.count() > 0);
  // The last boundary computed is the first at or after the end.
  const int64_t intervals = s.duration.count() / s.log_interval.count() + 1;
  int64_t last = 0;
  FUZZ_CHECK(!__builtin_mul_overflow(s.log_interval.count(), intervals, &last));
  FUZZ_CHECK(FitsAfterClock(std::chrono::nanoseconds(last)));
  FUZZ_CHECK(FitsAfterClock(s.store.batch_timeout));
  FUZZ_CHECK(FitsAfterClock(s.store.write_timeout));
  FUZZ_CHECK(FitsAfterClock(s.workload.write_delay));
  FUZZ_CHECK(FitsAfterClock(s.workload.read_delay));
  FUZZ_CHECK(PeriodFits(s.workload.write_rate, s.workload.writers));
  FUZZ_CHECK(PeriodFits(s.workload.read_rate, s.workload.readers));
  // A ramp's schedule (protocol::RatePlan) is computed in seconds and its
  // due times added to a clock reading: every stage, and all of them,
  // within the longest run.
  for (const auto* stages : {&s.workload.write_stages, &s.workload.read_stages}) {
    FUZZ_CHECK(FitsAfterClock(protocol::StagesDuration(*stages)));
    for (const protocol::RateStage& stage : *stages) {
      FUZZ_CHECK(stage.target >= 0 && stage.target <= 1e7);
    }
  }
}

// Every setting of two specs agrees (their run id and path aside).
inline bool SameSettings(const protocol::RunSpec& a, const protocol::RunSpec& b) {
  return a.duration == b.duration && a.log_interval == b.log_interval &&
         a.store.schema == b.store.schema && a.store.sync == b.store.sync &&
         a.store.batch_policy == b.store.batch_policy &&
         a.store.fresh == b.store.fresh &&
         a.store.batch_size == b.store.batch_size &&
         a.store.batch_timeout == b.store.batch_timeout &&
         a.store.queue_size == b.store.queue_size &&
         a.store.write_timeout == b.store.write_timeout &&
         a.store.cache_size_kib == b.store.cache_size_kib &&
         a.store.reader_mmap_mib == b.store.reader_mmap_mib &&
         a.store.reader_nice == b.store.reader_nice &&
         a.store.temp_store == b.store.temp_store &&
         a.store.fts_sync == b.store.fts_sync &&
         a.store.fts_automerge == b.store.fts_automerge &&
         a.store.fts_crisismerge == b.store.fts_crisismerge &&
         a.store.fts_pgsz == b.store.fts_pgsz &&
         a.workload.writers == b.workload.writers &&
         a.workload.readers == b.workload.readers &&
         a.workload.write_delay == b.workload.write_delay &&
         a.workload.read_delay == b.workload.read_delay &&
         a.workload.write_rate == b.workload.write_rate &&
         a.workload.read_rate == b.workload.read_rate &&
         a.workload.write_stages == b.workload.write_stages &&
         a.workload.read_stages == b.workload.read_stages &&
         a.workload.seed == b.workload.seed;
}

inline bool SameSpec(const protocol::RunSpec& a, const protocol::RunSpec& b) {
  return a.run_id == b.run_id && a.store.path == b.store.path &&
         SameSettings(a, b);
}

// The agent's limits on an accepted spec: refused (PermissionDenied, naming
// the --max-* flag) exactly when a limit above 0 is exceeded.
inline void CheckLimits(const protocol::RunSpec& spec,
                        const protocol::AgentLimits& limits) {
  const absl::Status status = limits.Check(spec, "agent-1");
  const bool within = (limits.max_writers <= 0 ||
                       spec.workload.writers <= limits.max_writers) &&
                      (limits.max_readers <= 0 ||
                       spec.workload.readers <= limits.max_readers) &&
                      (limits.max_duration.count() <= 0 ||
                       spec.duration <= limits.max_duration);
  FUZZ_CHECK(status.ok() == within);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kPermissionDenied);
    FUZZ_CHECK(absl::StrContains(status.message(), "(--max-"));
    FUZZ_CHECK(protocol::ToGrpcStatus(status).error_code() ==
               grpc::StatusCode::PERMISSION_DENIED);
  }
}

// The codes AcceptRunSpec may refuse a decoded spec with, after its
// --max-* limits: the process's limits, a symbolic link, a full data
// directory.
inline bool IsRefusalAfterLimits(absl::StatusCode code) {
  return code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kFailedPrecondition;
}

// What must hold of the agent's answer to `wire`:
//   - DatabasePath accepts exactly the plain file names and puts them
//     directly inside the data directory;
//   - the agent (agent::AcceptRunSpec) refuses what protocol::FromProto
//     refuses, with the same status, INVALID_ARGUMENT on the wire;
//   - a spec FromProto accepts has its database at DatabasePath, passes
//     ValidateRunSpec again, carries the wire's values, is runnable
//     (CheckRunnable), and its own wire form (ToProto plus db_name and
//     start_after, as the controller sends it) is accepted as the same spec;
//   - the agent with `limits` (as the controller decodes them from its
//     status) refuses it as CheckLimits says; otherwise it accepts that
//     same spec or refuses it for this process's limits or its files only;
//     with no limits it is never refused for a limit.
// Returns whether the agent with `limits` accepted the spec.
inline bool CheckAgentValidation(const protocol::pb::RunSpec& wire,
                                 const protocol::pb::AgentLimits& limits) {
  const std::string& name = wire.db_name();
  const absl::StatusOr<std::string> path = protocol::DatabasePath(kDataDir, name);
  // Plain: not empty, not "." or "..", no '/', printable text (no NUL or
  // other control character), not a SQLite side file's name, and short
  // enough that NAME-journal still fits in a file name (255 bytes).
  auto ends_with = [&name](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const bool plain = !name.empty() && name != "." && name != ".." &&
                     name.find('/') == std::string::npos &&
                     protocol::IsPrintableText(name) && !ends_with("-wal") &&
                     !ends_with("-shm") && !ends_with("-journal") &&
                     name.size() <= 255 - std::string("-journal").size();
  FUZZ_CHECK(path.ok() == plain);
  if (path.ok()) {
    FUZZ_CHECK(*path == absl::StrCat(kDataDir, "/", name));
  } else {
    FUZZ_CHECK(path.status().code() == absl::StatusCode::kInvalidArgument);
  }

  const protocol::AgentLimits agent_limits = protocol::LimitsFromProto(limits);
  const absl::StatusOr<protocol::RunSpec> accepted = agent::AcceptRunSpec(
      wire, agent::RunAcceptance{kDataDir, agent_limits, "agent-1", true});
  const absl::StatusOr<protocol::RunSpec> spec = protocol::FromProto(wire, kDataDir);
  if (!spec.ok()) {
    FUZZ_CHECK(accepted.status() == spec.status());
    FUZZ_CHECK(!accepted.status().message().empty());
    const grpc::Status answer = protocol::ToGrpcStatus(accepted.status());
    FUZZ_CHECK(answer.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    return false;
  }
  FUZZ_CHECK(path.ok() && spec->store.path == *path);
  FUZZ_CHECK(protocol::ValidateRunSpec(*spec).ok());
  FUZZ_CHECK(wire.start_after_ns() >= 0 &&
             wire.start_after_ns() <= int64_t{60} * 1000 * 1000 * 1000);
  FUZZ_CHECK(spec->run_id == wire.run_id() &&
             spec->duration.count() == wire.duration_ns() &&
             spec->log_interval.count() == wire.log_interval_ns() &&
             spec->store.batch_size == wire.batch_size() &&
             spec->store.queue_size == wire.queue_size() &&
             spec->workload.writers == wire.writers() &&
             spec->workload.readers == wire.readers() &&
             spec->workload.seed == wire.seed());
  // FTS5's settings: the value sent, or unset when absent.
  for (const auto& [has, sent, got] :
       {std::tuple<bool, int32_t, int>{wire.has_fts_automerge(),
                                       wire.fts_automerge(),
                                       spec->store.fts_automerge},
        {wire.has_fts_crisismerge(), wire.fts_crisismerge(),
         spec->store.fts_crisismerge},
        {wire.has_fts_pgsz(), wire.fts_pgsz(), spec->store.fts_pgsz}}) {
    FUZZ_CHECK(got == (has ? sent : storage::kFtsDefault));
  }
  CheckRunnable(*spec);

  protocol::pb::RunSpec again;
  protocol::ToProto(*spec, &again);
  again.set_db_name(name);
  again.set_start_after_ns(wire.start_after_ns());
  const absl::StatusOr<protocol::RunSpec> reparsed =
      protocol::FromProto(again, kDataDir);
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(SameSpec(*spec, *reparsed));

  // The agent's answer: its --max-* limits first, as CheckLimits says.
  CheckLimits(*spec, agent_limits);
  if (!agent_limits.Check(*spec, "agent-1").ok()) {
    FUZZ_CHECK(accepted.status() == agent_limits.Check(*spec, "agent-1"));
    return false;
  }
  if (accepted.ok()) {
    FUZZ_CHECK(SameSpec(*accepted, *spec) && accepted->store.refuse_symlinks);
  } else {
    FUZZ_CHECK(IsRefusalAfterLimits(accepted.status().code()));
  }
  const absl::StatusOr<protocol::RunSpec> unlimited = agent::AcceptRunSpec(
      wire, agent::RunAcceptance{kDataDir, protocol::AgentLimits(), "agent-1",
                                 false});
  FUZZ_CHECK(unlimited.ok() ||
             IsRefusalAfterLimits(unlimited.status().code()));
  if (unlimited.ok()) FUZZ_CHECK(!unlimited->store.refuse_symlinks);
  return accepted.ok();
}

}  // namespace loadtest::fuzz

#endif  // LOADTEST_FUZZ_RUN_SPEC_CHECK_H_
