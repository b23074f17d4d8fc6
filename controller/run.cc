#include "controller/run.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "report/aggregator.h"
#include "report/csv_report.h"
#include "report/display.h"
#include "controller/in_process_agent.h"
#include "report/interval_log.h"
#include "report/json_report.h"
#include "protocol/agent_client.h"
#include "report/report_file.h"
#include "status/status_macros.h"
#include "sync/mutex.h"

namespace loadtest::controller {

using report::AddAgentManifest;
using report::AgentInfo;
using report::AgentSummary;
using report::Aggregator;
using report::ControllerCost;
using report::ControllerCostJson;
using report::DiagnosisSettingsOf;
using report::Display;
using report::FirstLiveFailure;
using report::IntervalLog;
using report::IntervalRow;
using report::IntervalsCsvPath;
using report::PrometheusTargetsJson;
using report::RunSummary;
using report::ThresholdResult;
using report::WriteJsonFile;

namespace {

namespace pb = protocol::pb;
using protocol::AgentClient;
using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr seconds kStatusTimeout(5);
constexpr seconds kStopTimeout(5);
constexpr seconds kStopRetry(1);
// While running, an agent silent for 2 x log-interval + 2 s is lost. After
// the planned end (or a Stop) it sends nothing while it drains, closes and
// audits its store: FinishAllowance (run.h). A cut-off connection still
// fails within seconds then (keepalive); this only bounds how long a live
// but stuck agent is waited for.
// Before its first update an agent is also setting up: it opens its store
// and one connection per reader and starts every thread (thousands of
// readers beside other work on two cores take seconds), and its run's clock
// starts only then. Its first update may come this much later.
constexpr seconds kStartAllowance(30);
constexpr char kInProcessTarget[] = "in-process";

std::string SignalName(int signal_number) {
  return signal_number == SIGINT    ? "SIGINT (Ctrl-C)"
         : signal_number == SIGTERM ? "SIGTERM"
                                    : absl::StrCat("signal ", signal_number);
}

std::string NewRunId() {
  std::random_device random;
  const uint64_t high = random(), low = random();
  return absl::StrFormat("%08x%08x", high & 0xffffffffu, low & 0xffffffffu);
}

std::string HostOf(const std::string& target) {
  return target.substr(0, target.rfind(':'));
}

std::string FormatSeconds(Clock::duration d) {
  return absl::StrFormat("%.1fs", std::chrono::duration<double>(d).count());
}

void Say(const std::string& message) {
  std::fprintf(stderr, "loadtest: %s\n", message.c_str());
}

// While running, an agent silent this long is lost.
nanoseconds SilenceLimit(const protocol::RunSpec& spec) {
  return 2 * spec.log_interval + seconds(2);
}

// The most updates a run of spec.duration sends: one per log interval
// (the last one final), and one more for an interval boundary that fell on
// the clock's tick.
int64_t MaxUpdates(const protocol::RunSpec& spec) {
  const int64_t interval = std::max<int64_t>(1, spec.log_interval.count());
  return (spec.duration.count() + interval - 1) / interval + 1;
}

// One agent of the run.
struct RunAgent {
  std::unique_ptr<AgentClient> client;
  std::string id;  // Distinct across the run.
  pb::AgentStatus status;
  // Where its /metrics is scraped from ("127.0.0.1:8080").
  std::string metrics_address;
  // Set once the run started, under AgentRuns::mu_:
  Clock::time_point last_heard;
  int64_t updates = 0;
  double last_end_s = 0;  // The end of its latest interval.
  bool first_error_shown = false;
  bool finished = false;
  bool lost = false;
  bool stop_acknowledged = false;
  bool stop_failure_shown = false;
  std::string lost_reason;  // Why it was declared lost, once it was.
  // How the agent ended its Run call when it was lost (OK otherwise): for
  // an agent that refused to start, its reason.
  absl::Status agent_status;
  bool done() const { return finished || lost; }
};

// The agents of one run once every one said it is ready: starts the Run
// calls, takes the updates the client threads deliver, and on the main
// thread watches for silent agents and forwards a stop (signal,
// --abort-on-fail) as Stop to every agent.
// Thread-safety: Run() and the accessors on the main thread; OnSignal from
// any thread; the client callbacks come from the clients' run threads.
class AgentRuns {
 public:
  // `spec`, `options` and `log` must outlive the run.
  AgentRuns(std::string run_id, const protocol::RunSpec& spec,
            const RunOptions& options, std::chrono::nanoseconds start_delay,
            std::vector<RunAgent> agents, IntervalLog* log)
      : run_id_(std::move(run_id)),
        spec_(spec),
        options_(options),
        start_delay_(start_delay),
        in_process_(options.agent_targets.empty()),
        silence_limit_(SilenceLimit(spec)),
        drain_allowance_(FinishAllowance(spec) - SilenceLimit(spec)),
        max_updates_(MaxUpdates(spec)),
        agent_count_(agents.size()),
        clients_(Clients(agents)),
        aggregator_(Ids(agents), DiagnosisSettingsOf(spec)),
        quiet_sink_(options.quiet ? std::fopen("/dev/null", "w") : nullptr),
        display_(quiet_sink_ != nullptr ? quiet_sink_.get() : stdout,
                 !options.quiet && isatty(STDOUT_FILENO) == 1,
                 spec.duration + start_delay,
                 /*per_agent=*/agents.size() > 1),
        agents_(std::move(agents)),
        log_(log) {}

  // From the signal watcher's thread.
  void OnSignal(int signal_number) {
    sync::MutexLock lock(&mu_);
    if (stop_reason_.empty()) {
      stop_reason_ = absl::StrCat("interrupted by ", SignalName(signal_number));
      display_.Message(absl::StrCat(
          stop_reason_,
          in_process_ ? ": stopping (the store drains, is audited and "
                        "reported; signal again to exit at once)"
                      : ": stopping the agents (they drain, audit and report; "
                        "signal again to exit at once)"));
      changed_.NotifyAll();
    }
  }

  // Starts Run on every agent (agent i with wires[i]), then watches them
  // until each finished or was lost.
  void Run(const std::vector<pb::RunSpec>& wires) {
    const Clock::time_point start = Clock::now();
    run_start_ = start + start_delay_;
    planned_end_ = start + start_delay_ + spec_.duration;
    hard_deadline_ = planned_end_ +
                     duration_cast<Clock::duration>(silence_limit_ + drain_allowance_ +
                                                    kStartAllowance);
    {
      sync::MutexLock lock(&mu_);
      for (RunAgent& a : agents_) a.last_heard = start + start_delay_;
    }
    display_.Start();
    for (size_t i = 0; i < agent_count_; ++i) {
      AgentClient::RunCallbacks callbacks;
      callbacks.on_update = [this, i](const protocol::IntervalUpdate& u) {
        OnUpdate(i, u);
      };
      callbacks.on_finished = [this, i] {
        sync::MutexLock lock(&mu_);
        if (!agents_[i].lost) agents_[i].finished = true;
        changed_.NotifyAll();
      };
      callbacks.on_lost = [this, i](const std::string& reason,
                                    const absl::Status& agent_status) {
        {
          sync::MutexLock lock(&mu_);
          agents_[i].agent_status = agent_status;
          DeclareLostLocked(i, reason);
        }
        WriteCompletedRows();
      };
      if (absl::Status s = clients_[i]->StartRun(wires[i], std::move(callbacks));
          !s.ok()) {
        {
          sync::MutexLock lock(&mu_);
          DeclareLostLocked(i, std::string(s.message()));
        }
        WriteCompletedRows();
      }
    }
    Watch();
    // Every agent finished or was lost: end the calls still open (a lost
    // agent's, or a finished one's whose stream has not closed yet).
    for (size_t i = 0; i < agent_count_; ++i) {
      clients_[i]->Cancel();
      clients_[i]->Join();
    }
    // No row completes any more: the log holds every one when Run returns,
    // for the run's end to read.
    WriteCompletedRows();
  }

  // After Run() returned (the client threads have ended); the figures are
  // read under the lock all the same, so the lock analysis checks them.
  Display& display() { return display_; }
  RunSummary Summary() const ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    return aggregator_.Summary();
  }
  std::optional<AbortInfo> aborted() const ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    return aborted_;
  }
  // Why the controller stopped the agents early, or "".
  std::string stop_reason() const ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    return stop_reason_;
  }
  bool any_update() const ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    for (const RunAgent& a : agents_) {
      if (a.updates > 0) return true;
    }
    return false;
  }
  // How agent i's Run call ended (OK unless it was lost) and why it was
  // declared lost ("" if it was not).
  std::pair<absl::Status, std::string> EndOf(size_t i) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    return {agents_[i].agent_status, agents_[i].lost_reason};
  }
  // The controller's own cost: per completed interval, the time spent
  // aggregating that interval's updates, printing its row and writing it to
  // the interval log.
  ControllerCost Cost() const ABSL_LOCKS_EXCLUDED(mu_) {
    ControllerCost cost;
    {
      sync::MutexLock lock(&mu_);
      for (const auto& [sequence, ns] : work_ns_) {
        if (sequence <= completed_rows_) {
          cost.interval_work_ms.push_back(ns / 1e6);
        }
      }
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    cost.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                       usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    cost.peak_rss_mb = usage.ru_maxrss / 1024.0;
    return cost;
  }

 private:
  static std::vector<AgentClient*> Clients(
      const std::vector<RunAgent>& agents) {
    std::vector<AgentClient*> clients;
    for (const RunAgent& a : agents) clients.push_back(a.client.get());
    return clients;
  }

  static std::vector<std::string> Ids(const std::vector<RunAgent>& agents) {
    std::vector<std::string> ids;
    for (const RunAgent& a : agents) ids.push_back(a.id);
    return ids;
  }

  // "agent a1: " before an agent's message, nothing for the in-process one.
  std::string Who(const RunAgent& a) const {
    return in_process_ ? "" : absl::StrCat("agent ", a.id, ": ");
  }

  // Why `update` cannot come next from agent `a`, or "": the sequence
  // must go 1, 2, ... (a gap or a repeat means lost or forged updates),
  // update k cannot come before about k log intervals have passed, nor
  // beyond the run's count, and intervals follow each other in time.
  std::string ProtocolErrorLocked(const RunAgent& a,
                                  const protocol::IntervalUpdate& update,
                                  Clock::time_point now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (update.sequence != a.updates + 1) {
      return absl::StrCat("update sequence ", update.sequence, ", expected ",
                          a.updates + 1);
    }
    if (update.sequence > max_updates_) {
      return absl::StrCat("update ", update.sequence, " of a run of ",
                          cli::FormatDuration(spec_.duration),
                          " that sends at most ", max_updates_, " (one every ",
                          cli::FormatDuration(spec_.log_interval), ")");
    }
    // Update k (not the final one) is sent k log intervals after the
    // agent's start, which is not before run_start_. One interval of slack.
    const double elapsed =
        std::chrono::duration<double>(now - run_start_).count();
    const double interval =
        std::chrono::duration<double>(spec_.log_interval).count();
    if (!update.final &&
        static_cast<double>(update.sequence) > elapsed / interval + 1) {
      return absl::StrCat("update ", update.sequence, " after only ",
                          absl::StrFormat("%.1fs", std::max(0.0, elapsed)),
                          " (one expected every ",
                          cli::FormatDuration(spec_.log_interval), ")");
    }
    if (update.start_s < a.last_end_s) {
      return absl::StrCat("update ", update.sequence, " starts at ",
                          update.start_s, "s, before the previous one ended (",
                          a.last_end_s, "s)");
    }
    return "";
  }

  // From agent i's client thread: takes the update, then writes the rows
  // it completed to the interval log outside the run's lock.
  void OnUpdate(size_t i, const protocol::IntervalUpdate& update)
      ABSL_LOCKS_EXCLUDED(mu_, log_mu_) {
    if (TakeUpdate(i, update)) WriteCompletedRows();
  }

  // True when rows wait for the interval log (this update, or a loss it
  // caused, completed an interval), so that an update completing none
  // takes no second lock.
  bool TakeUpdate(size_t i, const protocol::IntervalUpdate& update)
      ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    RunAgent& a = agents_[i];
    if (a.done()) return false;  // Declared lost by the watchdog meanwhile.
    const Clock::time_point began = Clock::now();
    if (std::string error = ProtocolErrorLocked(a, update, began);
        !error.empty()) {
      DeclareLostLocked(i, absl::StrCat("protocol error: ", error));
      a.client->Cancel();
      return !unlogged_.empty();
    }
    a.last_heard = began;
    a.last_end_s = update.end_s;
    ++a.updates;
    // Once per agent: the client already escaped and capped it.
    if (!update.first_error.empty() && !a.first_error_shown) {
      a.first_error_shown = true;
      display_.Warning(absl::StrCat("loadtest: ", Who(a),
                                    "a write failed: ", update.first_error));
    }
    if (options_.on_update) options_.on_update(a.id, update);
    const bool completed = EmitLocked(aggregator_.Add(a.id, update));
    if (completed && !update.final) CheckThresholdsLocked();
    work_ns_[update.sequence] +=
        duration_cast<nanoseconds>(Clock::now() - began).count();
    return !unlogged_.empty();
  }

  // --abort-on-fail: after a completed interval, stops every agent once a
  // threshold can no longer hold.
  void CheckThresholdsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const OutputOptions& output = options_.output;
    if (!output.abort_on_fail || aborted_.has_value()) return;
    const double at_s = last_row_end_s_;
    const double grace_s =
        std::chrono::duration<double>(output.abort_grace).count();
    std::optional<ThresholdResult> failed = FirstLiveFailure(
        output.thresholds, aggregator_.Summary(), at_s >= grace_s);
    if (!failed.has_value()) return;
    aborted_ = AbortInfo{*failed, at_s};
    if (stop_reason_.empty()) {
      stop_reason_ = absl::StrCat("aborted: threshold ", failed->text, " (",
                                  failed->scope, ") failed at ",
                                  absl::StrFormat("%.1fs", at_s),
                                  " (--abort-on-fail)");
      display_.Message(absl::StrCat(
          "loadtest: ", stop_reason_,
          in_process_ ? "; stopping" : "; stopping the agents"));
      changed_.NotifyAll();
    }
  }

  // Prints the completed rows and queues them for the interval log
  // (WriteCompletedRows, once mu_ is released). True when `rows` held at
  // least one row.
  bool EmitLocked(std::vector<IntervalRow> rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (IntervalRow& row : rows) {
      display_.Row(row);
      last_row_end_s_ = row.end_s;
      completed_rows_ = row.sequence;
      unlogged_.push_back(std::move(row));
    }
    return !rows.empty();
  }

  // Renders and writes the rows completed so far to the interval log under
  // log_mu_ alone, so the updates never wait for a file. They are taken
  // from unlogged_ while log_mu_ is held: whichever thread writes, the log
  // gets them in sequence order. Their time counts as their intervals' work.
  void WriteCompletedRows() ABSL_LOCKS_EXCLUDED(mu_, log_mu_) {
    sync::MutexLock log_lock(&log_mu_);
    std::vector<IntervalRow> rows;
    {
      sync::MutexLock lock(&mu_);
      rows.swap(unlogged_);
    }
    if (rows.empty()) return;
    std::vector<std::pair<int64_t, int64_t>> work;  // Sequence, nanoseconds.
    for (const IntervalRow& row : rows) {
      const Clock::time_point began = Clock::now();
      log_->Add(row);
      work.emplace_back(
          row.sequence,
          duration_cast<nanoseconds>(Clock::now() - began).count());
    }
    sync::MutexLock lock(&mu_);
    for (const auto& [sequence, ns] : work) work_ns_[sequence] += ns;
  }

  // No-op for an agent already finished or lost, so the client's own report
  // after a watchdog cancel is not counted twice. The in-process agent's
  // refusal to start is the run's error (RunLoadTest), not shown here.
  void DeclareLostLocked(size_t i, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    RunAgent& a = agents_[i];
    if (a.done()) return;
    a.lost = true;
    a.lost_reason = reason;
    if (!(in_process_ && a.updates == 0)) {
      display_.Warning(absl::StrCat("loadtest: agent ", a.id, " (",
                                    a.client->target(), ") lost: ", reason));
    }
    EmitLocked(aggregator_.MarkLost(a.id, reason));
    changed_.NotifyAll();
  }

  bool AllDoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const RunAgent& a : agents_) {
      if (!a.done()) return false;
    }
    return true;
  }

  // The main thread's loop: forwards a stop as Stop to every agent and
  // declares silent agents lost, until every agent finished or was lost.
  void Watch() {
    sync::MutexLock lock(&mu_);
    Clock::time_point next_stop = Clock::time_point::min();
    for (;;) {
      if (AllDoneLocked()) return;
      const Clock::time_point now = Clock::now();
      const bool stopping = !stop_reason_.empty();
      if (stopping && now >= next_stop) {
        mu_.Unlock();
        SendStops();
        mu_.Lock();
        next_stop = Clock::now() + kStopRetry;
        continue;
      }

      // After the planned end, or once stopping, an agent is silent while it
      // drains and audits: allow for that.
      const bool ending = now >= planned_end_ || stopping;
      const Clock::duration allowed =
          ending ? duration_cast<Clock::duration>(silence_limit_ + drain_allowance_)
                 : duration_cast<Clock::duration>(silence_limit_);
      Clock::time_point wake = now + milliseconds(500);
      if (now >= hard_deadline_) {
        // However chatty: no agent runs past the planned end plus the start
        // and drain allowances. It is asked to stop, its call cancelled, and
        // it is lost.
        std::vector<AgentClient*> overdue;
        for (size_t i = 0; i < agents_.size(); ++i) {
          RunAgent& a = agents_[i];
          if (a.done()) continue;
          DeclareLostLocked(
              i, absl::StrCat("still running ",
                              FormatSeconds(now - planned_end_),
                              " after the planned end (the controller waits "
                              "at most ",
                              FormatSeconds(hard_deadline_ - planned_end_),
                              " for a late start, the drain and the audit)"));
          a.client->Cancel();
          overdue.push_back(a.client.get());
        }
        mu_.Unlock();
        for (AgentClient* client : overdue) {
          client->Stop(run_id_, "the controller's deadline passed",
                       std::chrono::system_clock::now() + kStopRetry)
              .IgnoreError();
        }
        mu_.Lock();
        continue;
      }
      wake = std::min(wake, hard_deadline_);
      for (size_t i = 0; i < agents_.size(); ++i) {
        RunAgent& a = agents_[i];
        if (a.done()) continue;
        const Clock::duration silent = now - a.last_heard;
        const Clock::duration allowed_here =
            a.updates == 0 ? allowed + kStartAllowance : allowed;
        if (silent > allowed_here) {
          DeclareLostLocked(
              i, absl::StrCat("no update for ", FormatSeconds(silent),
                              " (one expected every ",
                              cli::FormatDuration(spec_.log_interval), ")"));
          a.client->Cancel();
        } else {
          wake = std::min(wake, a.last_heard + allowed_here + milliseconds(1));
        }
      }
      if (stopping) wake = std::min(wake, next_stop);
      if (!unlogged_.empty()) {  // Rows of the agents declared lost here.
        mu_.Unlock();
        WriteCompletedRows();
        mu_.Lock();
        continue;
      }
      // Woken early by any change: an agent done, a stop to send.
      changed_.WaitUntil(&mu_, wake);
    }
  }

  // Sends Stop, concurrently, to every agent still running that has not
  // acknowledged one. An agent that does not know the run yet (its Run call
  // still on the way: NotFound) is asked again on the next round.
  void SendStops() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<size_t> pending;
    std::string reason;
    {
      sync::MutexLock lock(&mu_);
      reason = stop_reason_;
      for (size_t i = 0; i < agents_.size(); ++i) {
        if (!agents_[i].done() && !agents_[i].stop_acknowledged) {
          pending.push_back(i);
        }
      }
    }
    if (pending.empty()) return;
    const auto deadline = std::chrono::system_clock::now() + kStopTimeout;
    std::vector<absl::Status> results(pending.size());
    {
      // clients_ is fixed before the run starts: read without the lock.
      std::vector<AgentClient*> clients;
      for (size_t k : pending) clients.push_back(clients_[k]);
      std::vector<std::thread> threads;
      for (size_t k = 0; k < pending.size(); ++k) {
        threads.emplace_back([this, &results, &reason, &clients, deadline, k] {
          results[k] = clients[k]->Stop(run_id_, reason, deadline);
        });
      }
      for (std::thread& t : threads) t.join();
    }
    sync::MutexLock lock(&mu_);
    for (size_t k = 0; k < pending.size(); ++k) {
      RunAgent& a = agents_[pending[k]];
      if (results[k].ok()) {
        a.stop_acknowledged = true;
      } else if (!absl::IsNotFound(results[k]) && !a.done() &&
                 !a.stop_failure_shown) {
        a.stop_failure_shown = true;
        display_.Warning(absl::StrCat("loadtest: ", results[k].message()));
      }
    }
  }

  const std::string run_id_;
  const protocol::RunSpec& spec_;
  const RunOptions& options_;
  const nanoseconds start_delay_;
  const bool in_process_;
  const nanoseconds silence_limit_;
  const nanoseconds drain_allowance_;
  const int64_t max_updates_;  // Per agent (MaxUpdates).
  const size_t agent_count_;
  // The agents' clients, fixed before the run starts: read without the
  // lock (agents_[i].client is the same, owned there).
  const std::vector<AgentClient*> clients_;
  // Set by Run() before the client threads start; read-only afterwards.
  Clock::time_point run_start_;  // When the agents start, at the earliest.
  Clock::time_point planned_end_;
  Clock::time_point hard_deadline_;  // After it, every agent left is lost.

  mutable sync::Mutex mu_;
  sync::CondVar changed_;  // Signalled when an agent is done or a stop begins.
  Aggregator aggregator_ ABSL_GUARDED_BY(mu_);
  // Where a quiet run's display writes (nothing kept); null otherwise.
  struct CloseFile {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, CloseFile> quiet_sink_;
  Display display_;  // Thread-safe; rows are written under mu_, in order.
  // The agents; their clients are set before the run starts and never
  // replaced (clients_ holds them for reading without the lock).
  std::vector<RunAgent> agents_ ABSL_GUARDED_BY(mu_);
  // Completed rows not yet written to the interval log, in order.
  std::vector<IntervalRow> unlogged_ ABSL_GUARDED_BY(mu_);
  // The interval log's lock: held while rows are rendered and written, with
  // mu_ taken inside it only to take them from unlogged_.
  sync::Mutex log_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  IntervalLog* const log_ ABSL_PT_GUARDED_BY(log_mu_);
  double last_row_end_s_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completed_rows_ ABSL_GUARDED_BY(mu_) = 0;
  // Why the agents are being stopped early (a signal, --abort-on-fail);
  // empty while the run goes to its planned end.
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
  std::optional<AbortInfo> aborted_ ABSL_GUARDED_BY(mu_);
  // Controller time per interval sequence number.
  std::map<int64_t, int64_t> work_ns_ ABSL_GUARDED_BY(mu_);
};

// Where the signal watcher sends a signal: to the run once it exists, else
// kept for it.
class SignalRelay {
 public:
  void OnSignal(int signal_number) ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    if (run_ != nullptr) {
      run_->OnSignal(signal_number);
    } else {
      early_signal_ = signal_number;
    }
  }
  // Hands signals to `run` (null: keep them again); one that came before
  // is passed on at once.
  void Attach(AgentRuns* run) ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    run_ = run;
    if (run_ != nullptr && early_signal_ != 0) run_->OnSignal(early_signal_);
  }
  int early_signal() const ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    return early_signal_;
  }

 private:
  mutable sync::Mutex mu_;
  AgentRuns* run_ ABSL_GUARDED_BY(mu_) = nullptr;
  int early_signal_ ABSL_GUARDED_BY(mu_) = 0;
};

// Every agent's status, concurrently, under one deadline; refuses (printing
// each reason) when one is unreachable, busy or its limits refuse the run.
absl::Status CheckAgents(const protocol::RunSpec& spec,
                         std::vector<RunAgent>* agents) {
  std::vector<absl::StatusOr<pb::AgentStatus>> statuses(
      agents->size(), absl::UnknownError("not asked"));
  {
    const auto deadline = std::chrono::system_clock::now() + kStatusTimeout;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < agents->size(); ++i) {
      threads.emplace_back([agents, &statuses, deadline, i] {
        statuses[i] = (*agents)[i].client->GetStatus(deadline);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  int unusable = 0;
  for (size_t i = 0; i < agents->size(); ++i) {
    const std::string& target = (*agents)[i].client->target();
    if (!statuses[i].ok()) {
      Say(std::string(statuses[i].status().message()));
      ++unusable;
    } else if (statuses[i]->state() == pb::AgentStatus::RUNNING) {
      Say(absl::StrCat("agent ", target, " (", statuses[i]->agent_id(),
                       ") is busy with run ", statuses[i]->run_id(),
                       "; wait for it to end or stop it"));
      ++unusable;
    } else if (absl::Status limit =
                   protocol::LimitsFromProto(statuses[i]->limits())
                       .Check(spec, absl::StrCat(statuses[i]->agent_id(), " (",
                                                 target, ")"));
               !limit.ok()) {
      Say(std::string(limit.message()));
      ++unusable;
    } else {
      (*agents)[i].status = *statuses[i];
    }
  }
  if (unusable > 0) {
    return absl::UnavailableError(
        absl::StrCat("not starting: ", unusable, " of ", agents->size(),
                     " agents unreachable, refusing or busy"));
  }
  // Agent ids as the agents name themselves; two agents with the same name
  // (e.g. the same --agent-id on two hosts) are told apart by their target.
  std::map<std::string, int> id_count;
  for (RunAgent& a : *agents) {
    a.id = a.status.agent_id().empty() ? a.client->target()
                                       : a.status.agent_id();
    ++id_count[a.id];
  }
  for (RunAgent& a : *agents) {
    if (id_count[a.id] > 1) a.id = absl::StrCat(a.id, "@", a.client->target());
  }
  return absl::OkStatus();
}

// The load's shape and seed: "seed 42; writes ramped 30s:500,2m:5000
// (total, split across 3 agents); reads closed loop".
std::string LoadLine(const Scenario& scenario, const protocol::RunSpec& spec,
                     size_t agents) {
  auto shape = [&](const char* kind, double rate,
                   const std::vector<protocol::RateStage>& stages) {
    if (!stages.empty()) {
      return absl::StrCat(
          kind, " ramped ", protocol::FormatStages(stages), " per second",
          scenario.stages_per_agent || agents == 1
              ? (agents == 1 ? "" : " per agent")
              : absl::StrCat(" in total, split across ", agents, " agents"));
    }
    if (rate > 0) {
      return absl::StrCat(kind, " at ", rate, "/s",
                          agents == 1 ? "" : " per agent");
    }
    return absl::StrCat(kind, " closed loop");
  };
  const protocol::WorkloadOptions& w = spec.workload;
  const std::string dispatch =
      !w.write_plan().open_loop() ? ""
      : w.write_dispatch == protocol::WriteDispatch::kAsync
          ? " (async dispatch: the store's queue bounds the writes in "
            "flight)"
          : " (one thread per writer)";
  return absl::StrCat("seed ", spec.workload.seed, " (--seed to repeat); ",
                      shape("writes", spec.workload.write_rate,
                            spec.workload.write_stages),
                      dispatch,
                      "; ",
                      shape("reads", spec.workload.read_rate,
                            spec.workload.read_stages));
}

// "messages: realistic, searches mixed; over 10000 rows: message mean
// 140 B, p99 260 B, 21001 distinct tokens", and for a file its format,
// lines, malformed lines and content hash.
std::string MessagesLine(const Scenario& scenario) {
  const MessagesFacts& f = scenario.messages_facts;
  std::string source = scenario.messages;
  if (!f.content_hash.empty()) {
    source = absl::StrCat(scenario.messages, " (", f.format, ", ", f.lines,
                          " lines, ", f.malformed, " malformed skipped, ",
                          f.content_hash, ", sent to every agent)");
  }
  return absl::StrFormat(
      "messages: %s, searches %s; over %d rows: message mean %.0f B, p99 %d "
      "B, %d distinct tokens",
      source, f.search_terms, f.rows, f.mean_message_bytes,
      f.p99_message_bytes, f.distinct_tokens);
}

void PrintBanner(const Scenario& scenario, const protocol::RunSpec& spec,
                 const std::string& run_id, const std::vector<RunAgent>& agents,
                 bool in_process, const std::string& metrics_host) {
  const std::string load = absl::StrCat(LoadLine(scenario, spec, agents.size()),
                                        "\n", MessagesLine(scenario));
  // FTS settings other than the defaults, e.g. ", fts batch, pgsz 8000".
  std::string fts = storage::FtsSettingsText(spec.store);
  if (!fts.empty()) fts.insert(0, ", ");
  // In process: "loadtest V: 8 writers, ..."; on agents: "loadtest V: run
  // ID on 2 agents, each 8 writers, ...".
  const std::string where =
      in_process ? ""
                 : absl::StrCat("run ", run_id, " on ", agents.size(), " agent",
                                agents.size() == 1 ? "" : "s", ", each ");
  std::printf(
      "loadtest %s: %s%d writers, %d readers for %s on %s (schema %s, sync "
      "%s, batch %d / %s, queue %d%s)\n",
      cli::kVersion, where.c_str(), spec.workload.writers,
      spec.workload.readers, cli::FormatDuration(spec.duration).c_str(),
      scenario.db.c_str(), storage::SchemaName(spec.store.schema),
      storage::SyncModeName(spec.store.sync), spec.store.batch_size,
      cli::FormatDuration(spec.store.batch_timeout).c_str(),
      spec.store.queue_size, fts.c_str());
  std::printf("%s\n", load.c_str());
  if (in_process) {
    std::printf("metrics: http://%s:%d/metrics\n", metrics_host.c_str(),
                agents.front().status.metrics_port());
    return;
  }
  for (const RunAgent& a : agents) {
    std::printf(
        "agent %s at %s: version %s, host %s, metrics http://%s/metrics\n",
        a.id.c_str(), a.client->target().c_str(), a.status.version().c_str(),
        a.status.hostname().c_str(), a.metrics_address.c_str());
  }
}

}  // namespace

protocol::RunSpec SpecForAgent(const protocol::RunSpec& spec,
                               bool stages_per_agent, size_t index,
                               size_t count) {
  protocol::RunSpec agent = spec;
  agent.workload.seed = protocol::AgentSeed(spec.workload.seed, index);
  if (!stages_per_agent) {
    const int parts = static_cast<int>(std::max<size_t>(1, count));
    agent.workload.write_stages =
        protocol::SplitStages(spec.workload.write_stages, parts);
    agent.workload.read_stages =
        protocol::SplitStages(spec.workload.read_stages, parts);
  }
  return agent;
}

pb::RunSpec ToWireRunSpec(const protocol::RunSpec& spec,
                          const std::string& db_name, const std::string& run_id,
                          std::chrono::nanoseconds start_delay) {
  pb::RunSpec wire;
  protocol::ToProto(spec, &wire);
  wire.set_run_id(run_id);
  wire.set_db_name(db_name);
  wire.set_start_after_ns(start_delay.count());
  return wire;
}

std::chrono::nanoseconds FinishAllowance(const protocol::RunSpec& spec) {
  return SilenceLimit(spec) +
         std::min<nanoseconds>(spec.store.write_timeout, kMaxDrainWait) +
         kAuditAllowance;
}

absl::Status CheckDistributedRun(const Scenario& scenario,
                                 std::chrono::nanoseconds start_delay) {
  if (absl::StatusOr<std::string> path =
          protocol::DatabasePath("data-dir", scenario.db);
      !path.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "with --agents, -db must be a plain file name (each agent keeps it "
        "in its own --data-dir), got \"",
        scenario.db, "\""));
  }
  if (start_delay < nanoseconds(0) || start_delay > seconds(60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("start-delay must be between 0s and 1m0s, got ",
                     cli::FormatDuration(start_delay)));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunOutcome> RunLoadTest(const RunPlan& plan,
                                       const RunOptions& options) {
  const Scenario& scenario = plan.scenario;
  const protocol::RunSpec& spec = plan.spec;
  const bool in_process = options.agent_targets.empty();
  std::vector<report::OutputFile> files = options.output.Files();
  files.push_back({"--prometheus-targets", options.prometheus_targets_path});
  // In process, the database is a local file no report may replace.
  std::vector<report::OutputFile> kept;
  if (in_process) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      kept.push_back({"-db", scenario.db + suffix});
    }
  }
  RETURN_IF_ERROR(report::CheckOutputFiles(files, kept));

  // Before any thread (gRPC's, the metrics server's) starts, so that only
  // the watcher sees SIGINT/SIGTERM. Until the run starts a signal just ends
  // the setup.
  SignalRelay relay;
  cli::SignalWatcher signals(
      [&relay](int signal_number) { relay.OnSignal(signal_number); });

  // The agents: the in-process one (its database resolved in the -db's
  // folder), or a client per target.
  std::unique_ptr<InProcessAgent> local;
  std::vector<RunAgent> agents;
  std::string db_name = scenario.db;
  const std::string metrics_host =
      options.metrics_listen.substr(0, options.metrics_listen.rfind(':'));
  if (in_process) {
    const size_t slash = scenario.db.rfind('/');
    const std::string data_dir =
        slash == std::string::npos ? "." : scenario.db.substr(0, slash);
    if (slash != std::string::npos) db_name = scenario.db.substr(slash + 1);
    ASSIGN_OR_RETURN(local, InProcessAgent::Start(options.metrics_listen,
                                                  slash == 0 ? "" : data_dir));
    agents.resize(1);
    agents[0].client =
        std::make_unique<AgentClient>(kInProcessTarget, local->channel());
  } else {
    agents.resize(options.agent_targets.size());
    for (size_t i = 0; i < agents.size(); ++i) {
      agents[i].client = std::make_unique<AgentClient>(
          options.agent_targets[i], options.auth);
    }
  }
  absl::Status checked = CheckAgents(spec, &agents);
  if (const int signal_number = relay.early_signal(); signal_number != 0) {
    Say(absl::StrCat("interrupted by ", SignalName(signal_number),
                     " before the run started"));
    RunOutcome outcome;
    outcome.started = false;
    outcome.signal_number = signal_number;
    return outcome;
  }
  RETURN_IF_ERROR(checked);
  for (RunAgent& a : agents) {
    // A wildcard bind address is scraped on loopback.
    std::string host = in_process ? metrics_host : HostOf(a.client->target());
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    a.metrics_address = absl::StrCat(host, ":", a.status.metrics_port());
  }

  // The interval log (and --out's spool) before anything is announced: a
  // folder that cannot take them stops the run here.
  std::vector<std::string> ids;
  for (const RunAgent& a : agents) ids.push_back(a.id);
  ASSIGN_OR_RETURN(
      std::unique_ptr<IntervalLog> log,
      IntervalLog::Open(
          ids, options.output.IntervalsPath(),
          options.output.csv_prefix.empty()
              ? ""
              : IntervalsCsvPath(options.output.csv_prefix),
          /*spool_totals=*/!options.output.out_path.empty(),
          MaxUpdates(spec)));

  const std::string run_id = NewRunId();
  const nanoseconds start_delay = in_process ? nanoseconds(0) : options.start_delay;
  std::vector<pb::RunSpec> wires;
  for (size_t i = 0; i < agents.size(); ++i) {
    wires.push_back(ToWireRunSpec(
        SpecForAgent(spec, scenario.stages_per_agent, i, agents.size()),
        db_name, run_id, start_delay));
  }
  if (!options.quiet) {
    PrintBanner(scenario, spec, run_id, agents, in_process, metrics_host);
  }
  std::vector<AgentInfo> manifest;
  for (const RunAgent& a : agents) {
    manifest.push_back({a.id, a.client->target(), a.status.version(),
                        a.status.hostname(), a.status.metrics_port()});
  }
  if (!options.prometheus_targets_path.empty()) {
    std::vector<AgentInfo> scraped = manifest;
    for (size_t i = 0; i < scraped.size(); ++i) {
      scraped[i].target = agents[i].metrics_address;
    }
    RETURN_IF_ERROR(WriteJsonFile(options.prometheus_targets_path,
                                  PrometheusTargetsJson(scraped)));
    std::printf("prometheus targets: %s\n",
                options.prometheus_targets_path.c_str());
  }
  std::fflush(stdout);

  RunEnd end;
  end.mode = in_process ? "in-process" : "distributed";
  end.started_at = std::chrono::system_clock::now();
  AgentRuns run(run_id, spec, options, start_delay, std::move(agents), log.get());
  relay.Attach(&run);
  run.Run(wires);
  relay.Attach(nullptr);
  end.ended_at = std::chrono::system_clock::now();
  const int signal_number = signals.received();
  if (!run.any_update()) {
    run.display().Stop();
    if (signal_number != 0) {
      RunOutcome outcome;
      outcome.started = false;
      outcome.signal_number = signal_number;
      return outcome;
    }
    if (in_process) {
      // The agent's own refusal is the run's error; a call the controller
      // cancelled (the agent silent too long) is not: its reason is.
      const auto [agent_status, lost_reason] = run.EndOf(0);
      if (!agent_status.ok() && !absl::IsCancelled(agent_status)) {
        return agent_status;
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "the in-process agent sent no update: ", lost_reason));
    }
    return absl::UnavailableError(
        "no agent ran the scenario (see the reasons above)");
  }

  // An agent that ended on its own before the planned end with its store
  // intact (its --max-db-bytes, its own shutdown) ran less than asked: a
  // partial result. One whose store failed (a deleted database) fails its
  // audit instead.
  RunSummary summary = run.Summary();
  const std::string stop_reason = run.stop_reason();
  for (const AgentSummary& a : summary.agents) {
    if (a.finished && !a.lost && a.stop_reason != protocol::kDurationReached &&
        a.stop_reason != stop_reason && a.audit.has_value() &&
        a.audit->passed()) {
      run.display().Warning(absl::StrCat("loadtest: agent ", a.agent_id,
                                         " ended its run early: ",
                                         a.stop_reason));
      summary.partial = true;
    }
  }
  end.output = options.output;
  end.signal_number = signal_number;
  end.aborted = run.aborted();
  end.decorate_report = [&](nlohmann::json* report) {
    AddAgentManifest(run_id, manifest, report);
    (*report)["controller"] = ControllerCostJson(run.Cost());
  };
  return FinishRun(scenario, *log, summary, run.display(), end);
}

}  // namespace loadtest::controller
