#include "agent/agent_run.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/host_stats.h"
#include "agent/process_stats.h"
#include "agent/workload.h"
#include "status/status_macros.h"
#include "storage/audit.h"
#include "storage/batched_store.h"

namespace loadtest::agent {

using protocol::IntervalUpdate;
using protocol::RunAudit;
using protocol::RunSpec;
using protocol::ValidateRunSpec;
using protocol::kDurationReached;
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start, Clock::time_point t) {
  return std::chrono::duration<double>(t - start).count();
}

}  // namespace

AgentRun::AgentRun(RunSpec spec, storage::StoreMetrics* metrics)
    : spec_(std::move(spec)), metrics_(metrics) {}

void AgentRun::StopWhen(std::function<std::string()> check) {
  check_ = std::move(check);
}

std::string AgentRun::FileProblem() const {
  if (!watch_file_) return "";
  struct stat st {};
  if (stat(spec_.store.path.c_str(), &st) != 0) {
    return absl::StrCat("the database file ", spec_.store.path,
                        " disappeared during the run (deleted or moved)");
  }
  if (st.st_dev != file_device_ || st.st_ino != file_inode_) {
    return absl::StrCat("the database file ", spec_.store.path,
                        " was replaced during the run");
  }
  return "";
}

void AgentRun::RequestStop(const std::string& reason) {
  sync::MutexLock lock(&mu_);
  if (!stop_requested_) {
    stop_requested_ = true;
    stop_reason_ = reason;
  }
  stop_cv_.NotifyAll();
}

bool AgentRun::WaitForStop(std::chrono::steady_clock::time_point until) {
  // How often the file and `check_` are looked at: a fast run writes
  // megabytes in 100 ms, so --max-db-bytes overshot its limit 3-9x at 1 MB
  // with a 100 ms poll; a look costs a few system calls.
  constexpr auto kPoll = std::chrono::milliseconds(10);
  sync::MutexLock lock(&mu_);
  for (;;) {
    const auto wake = std::min(until, Clock::now() + kPoll);
    while (!stop_requested_) {
      if (stop_cv_.WaitUntil(&mu_, wake)) break;
    }
    if (stop_requested_) return true;
    if (Clock::now() >= until) return false;
    std::string file_problem = FileProblem();
    if (!file_problem.empty()) {
      stop_requested_ = true;
      stop_reason_ = std::move(file_problem);
      return true;
    }
    if (check_) {
      std::string reason = check_();
      if (!reason.empty()) {
        stop_requested_ = true;
        stop_reason_ = std::move(reason);
        return true;
      }
    }
  }
}

absl::Status AgentRun::Run(const UpdateCallback& on_update) {
  RETURN_IF_ERROR(ValidateRunSpec(spec_));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BatchedStore> store,
                   storage::BatchedStore::Open(spec_.store, metrics_));
  ASSIGN_OR_RETURN(const storage::TableMark mark,
                   storage::MarkTable(spec_.store.path));
  {
    struct stat st {};
    if (stat(spec_.store.path.c_str(), &st) == 0) {
      file_device_ = st.st_dev;
      file_inode_ = st.st_ino;
      watch_file_ = true;
    }
  }
  // Counted from before the first write, so interval deltas add up to the
  // store's totals.
  storage::StoreCounters previous = store->counters();
  (void)store->TakeInternals();  // Opening's own checkpoint and reads.
  ProcessSampler process;
  HostSampler host(spec_.store.path);
  Workload workload(spec_.workload, store.get());
  RETURN_IF_ERROR(workload.Start());
  // The run's clock starts when every worker thread exists (thousands of
  // readers take a while to connect and start): its intervals and its
  // duration are load, not setup.
  const Clock::time_point start = workload.started_at();
  const Clock::time_point end = start + spec_.duration;
  double interval_start_s = 0;
  int64_t sequence = 0;

  // Fills the store-side figures of `update` since the previous one.
  bool error_reported = false;
  auto fill_store_figures = [&](IntervalUpdate* update) {
    if (!error_reported) {
      update->first_error = store->first_error();
      error_reported = !update->first_error.empty();
    }
    const storage::StoreCounters now = store->counters();
    update->batches = now.batches - previous.batches;
    update->rows_committed = now.rows_committed - previous.rows_committed;
    update->late_commits = now.late_commits - previous.late_commits;
    update->peak_queue_depth = store->TakePeakQueueDepth();
    update->queue_size = spec_.store.queue_size;
    update->store = store->TakeInternals();
    previous = now;
  };

  // The open-loop load offered in an interval: what the schedules made due
  // by its end, minus what was due by the previous one.
  Workload::Offered offered_before;
  auto fill_offered = [&](IntervalUpdate* update, Clock::time_point at) {
    const Workload::Offered by = workload.OfferedBy(at);
    update->offered_writes = std::max(0.0, by.writes - offered_before.writes);
    update->offered_reads = std::max(0.0, by.reads - offered_before.reads);
    offered_before = by;
  };

  std::string reason = kDurationReached;
  for (;;) {
    const Clock::time_point next =
        std::min(end, start + spec_.log_interval * (sequence + 1));
    if (WaitForStop(next)) {
      sync::MutexLock lock(&mu_);
      reason = stop_reason_;
      break;
    }
    if (next >= end) break;
    IntervalUpdate update;
    update.sequence = ++sequence;
    update.start_s = interval_start_s;
    const Clock::time_point at = Clock::now();
    update.end_s = SecondsSince(start, at);
    interval_start_s = update.end_s;
    update.stats = workload.TakeInterval();
    update.process = process.Take();
    update.host = host.Take();
    fill_store_figures(&update);
    fill_offered(&update, at);
    on_update(update);
  }

  // The end: stop producing, drain, and account for everything.
  const Clock::time_point stopped_at = Clock::now();
  workload.Stop();
  // The process figures of the last interval end with the workload: the
  // drain, close and audit after it are the store's work, not load.
  const protocol::ProcessFigures last_process = process.Take();
  const protocol::HostFigures last_host = host.Take();
  const absl::Status close_status = store->Close();
  IntervalUpdate last;
  last.process = last_process;
  last.host = last_host;
  last.sequence = ++sequence;
  last.start_s = interval_start_s;
  last.end_s = SecondsSince(start, Clock::now());
  last.stats = workload.TakeInterval();
  fill_store_figures(&last);
  fill_offered(&last, stopped_at);
  last.final = true;
  last.stop_reason = reason;

  const storage::StoreCounters counters = store->counters();
  RunAudit audit;
  audit.rows_before = mark.rows;
  audit.acknowledged = counters.ok;
  audit.late_commits = counters.late_commits;
  if (!close_status.ok()) audit.error = close_status.ToString();
  const std::string file_problem = FileProblem();
  auto db_audit =
      file_problem.empty()
          ? storage::AuditDatabase(spec_.store.path, mark)
          : absl::StatusOr<storage::DatabaseAudit>(absl::DataLossError(
                absl::StrCat("cannot audit: ", file_problem,
                             "; the rows acknowledged went to the old file")));
  if (db_audit.ok()) {
    audit.rows_in_db = db_audit->rows_after_mark;
    audit.integrity_ok = db_audit->integrity_ok;
    audit.integrity_message = db_audit->integrity_message;
    audit.fts_index_bytes = db_audit->fts_index_bytes;
    const int64_t expected = audit.acknowledged + audit.late_commits;
    audit.lost = std::max<int64_t>(0, expected - audit.rows_in_db);
    audit.unexplained = std::max<int64_t>(0, audit.rows_in_db - expected);
  } else if (audit.error.empty()) {
    audit.error = db_audit.status().ToString();
  }
  last.audit = std::move(audit);
  on_update(last);
  return absl::OkStatus();
}

}  // namespace loadtest::agent
