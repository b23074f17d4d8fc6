#include "controller/remote_run.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/agent_service.h"
#include "protocol/wire.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "protocol/agent_client.h"
#include "controller/aggregator.h"
#include "controller/display.h"
#include "controller/json_report.h"
#include "controller/local_run.h"

namespace loadtest::controller {
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
// audits its store, which takes up to about -write-timeout plus the audit,
// so it gets -write-timeout + kAuditAllowance more. A cut-off connection
// still fails within seconds then (keepalive); this only bounds how long a
// live but stuck agent is waited for.
constexpr seconds kAuditAllowance(60);

void Error(const std::string& message) {
  std::fprintf(stderr, "loadtest: %s\n", message.c_str());
}

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

// One agent of the run.
struct RemoteAgent {
  std::unique_ptr<AgentClient> client;
  std::string id;  // Distinct across the run.
  pb::AgentStatus status;
  // Guarded by RemoteRun::mu_ once the runs started.
  Clock::time_point last_heard;
  int64_t updates = 0;
  bool finished = false;
  bool lost = false;
  bool stop_acknowledged = false;
  bool stop_failure_shown = false;
  bool done() const { return finished || lost; }
};

// One distributed run once every agent said it is ready: starts the Run
// calls, takes the updates the client threads deliver, and on the main
// thread watches for silent agents and forwards a signal as Stop.
// Thread-safety: Run() and the accessors on the main thread; OnSignal from
// any thread; the client callbacks come from the clients' run threads. All
// shared state is behind mu_.
class RemoteRun {
 public:
  // `spec` and `options` must outlive the run.
  RemoteRun(std::string run_id, const protocol::RunSpec& spec,
            const RemoteRunOptions& options, std::vector<RemoteAgent> agents)
      : run_id_(std::move(run_id)),
        spec_(spec),
        options_(options),
        silence_limit_(2 * spec.log_interval + seconds(2)),
        drain_allowance_(spec.store.write_timeout + kAuditAllowance),
        agents_(std::move(agents)),
        aggregator_(Ids(agents_)),
        display_(stdout, isatty(STDOUT_FILENO) == 1,
                 spec.duration + options.start_delay,
                 /*per_agent=*/agents_.size() > 1) {}

  // From the signal watcher's thread.
  void OnSignal(int signal_number) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_reason_.empty()) {
        stop_reason_ = absl::StrCat("interrupted by ", SignalName(signal_number));
        display_.Message(absl::StrCat(
            stop_reason_,
            ": stopping the agents (they drain, audit and report; signal "
            "again to exit at once)"));
      }
    }
    changed_.notify_all();
  }

  // Starts Run on every agent, then watches them until each finished or
  // was lost. Returns false when no agent sent a single update.
  bool Run(const pb::RunSpec& wire) {
    const Clock::time_point start = Clock::now();
    planned_end_ = start + options_.start_delay + spec_.duration;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (RemoteAgent& a : agents_) a.last_heard = start + options_.start_delay;
    }
    display_.Start();
    for (size_t i = 0; i < agents_.size(); ++i) {
      AgentClient::RunCallbacks callbacks;
      callbacks.on_update = [this, i](const protocol::IntervalUpdate& u) {
        OnUpdate(i, u);
      };
      callbacks.on_finished = [this, i] { OnFinished(i); };
      callbacks.on_lost = [this, i](const std::string& reason) {
        std::lock_guard<std::mutex> lock(mu_);
        DeclareLostLocked(i, reason);
      };
      if (absl::Status s = agents_[i].client->StartRun(wire, std::move(callbacks));
          !s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        DeclareLostLocked(i, std::string(s.message()));
      }
    }
    Watch();
    // Every agent finished or was lost: end the calls still open (a lost
    // agent's, or a finished one's whose stream has not closed yet).
    for (RemoteAgent& a : agents_) {
      a.client->Cancel();
      a.client->Join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const RemoteAgent& a : agents_) {
      if (a.updates > 0) return true;
    }
    return false;
  }

  // Only after Run() returned (the client threads have ended):
  Display& display() { return display_; }
  const Aggregator& aggregator() const { return aggregator_; }
  const std::vector<IntervalRow>& intervals() const { return intervals_; }
  const std::optional<AbortInfo>& aborted() const { return aborted_; }
  // Why the controller stopped the agents early, or "".
  const std::string& stop_reason() const { return stop_reason_; }
  // The controller's own cost: per completed interval, the time spent
  // aggregating that interval's updates and printing its row.
  nlohmann::json ControllerJson() const {
    std::vector<double> work_ms;
    for (const IntervalRow& row : intervals_) {
      auto it = work_ns_.find(row.sequence);
      if (it != work_ns_.end()) work_ms.push_back(it->second / 1e6);
    }
    std::sort(work_ms.begin(), work_ms.end());
    auto quantile = [&work_ms](double q) {
      if (work_ms.empty()) return 0.0;
      const size_t rank = static_cast<size_t>(
          std::ceil(q * static_cast<double>(work_ms.size())));
      return work_ms[std::min(work_ms.size() - 1, rank == 0 ? 0 : rank - 1)];
    };
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const double cpu_seconds =
        usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
        usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    return {{"interval_work_ms",
             {{"count", work_ms.size()},
              {"p50", quantile(0.50)},
              {"p99", quantile(0.99)},
              {"max", work_ms.empty() ? 0.0 : work_ms.back()}}},
            {"cpu_seconds", cpu_seconds},
            {"peak_rss_mb", usage.ru_maxrss / 1024.0}};
  }

 private:
  static std::vector<std::string> Ids(const std::vector<RemoteAgent>& agents) {
    std::vector<std::string> ids;
    for (const RemoteAgent& a : agents) ids.push_back(a.id);
    return ids;
  }

  void OnUpdate(size_t i, const protocol::IntervalUpdate& update) {
    std::lock_guard<std::mutex> lock(mu_);
    RemoteAgent& a = agents_[i];
    if (a.done()) return;  // Declared lost by the watchdog meanwhile.
    const Clock::time_point began = Clock::now();
    a.last_heard = began;
    ++a.updates;
    if (!update.first_error.empty()) {
      display_.Warning(absl::StrCat("loadtest: agent ", a.id,
                                    ": a write failed: ", update.first_error));
    }
    const bool completed = EmitLocked(aggregator_.Add(a.id, update));
    if (completed && !update.final) CheckThresholdsLocked();
    work_ns_[update.sequence] +=
        duration_cast<nanoseconds>(Clock::now() - began).count();
  }

  // Requires mu_. --abort-on-fail: after a completed interval, stops every
  // agent once a threshold can no longer hold.
  void CheckThresholdsLocked() {
    const OutputOptions& output = options_.output;
    if (!output.abort_on_fail || aborted_.has_value() || intervals_.empty()) {
      return;
    }
    const double at_s = intervals_.back().end_s;
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
      display_.Message(absl::StrCat("loadtest: ", stop_reason_,
                                    "; stopping the agents"));
    }
    changed_.notify_all();
  }

  void OnFinished(size_t i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (agents_[i].lost) return;
      agents_[i].finished = true;
    }
    changed_.notify_all();
  }

  // Requires mu_. True when `rows` held at least one row.
  bool EmitLocked(std::vector<IntervalRow> rows) {
    for (IntervalRow& row : rows) {
      display_.Row(row);
      intervals_.push_back(std::move(row));
    }
    return !rows.empty();
  }

  // Requires mu_. No-op for an agent already finished or lost, so the
  // client's own report after a watchdog cancel is not counted twice.
  void DeclareLostLocked(size_t i, const std::string& reason) {
    RemoteAgent& a = agents_[i];
    if (a.done()) return;
    a.lost = true;
    display_.Warning(absl::StrCat("loadtest: agent ", a.id, " (",
                                  a.client->target(), ") lost: ", reason));
    EmitLocked(aggregator_.MarkLost(a.id, reason));
    changed_.notify_all();
  }

  // The main thread's loop: forwards a signal as Stop to every agent and
  // declares silent agents lost, until every agent finished or was lost.
  void Watch() {
    std::unique_lock<std::mutex> lock(mu_);
    Clock::time_point next_stop = Clock::time_point::min();
    for (;;) {
      bool all_done = true;
      for (const RemoteAgent& a : agents_) all_done = all_done && a.done();
      if (all_done) return;

      const Clock::time_point now = Clock::now();
      const bool stopping = !stop_reason_.empty();
      if (stopping && now >= next_stop) {
        lock.unlock();
        SendStops();
        lock.lock();
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
      for (size_t i = 0; i < agents_.size(); ++i) {
        RemoteAgent& a = agents_[i];
        if (a.done()) continue;
        const Clock::duration silent = now - a.last_heard;
        if (silent > allowed) {
          DeclareLostLocked(
              i, absl::StrCat("no update for ", FormatSeconds(silent),
                              " (one expected every ",
                              cli::FormatDuration(spec_.log_interval), ")"));
          a.client->Cancel();
        } else {
          wake = std::min(wake, a.last_heard + allowed + milliseconds(1));
        }
      }
      if (stopping) wake = std::min(wake, next_stop);
      changed_.wait_until(lock, wake);
    }
  }

  // Sends Stop, concurrently, to every agent still running that has not
  // acknowledged one. An agent that does not know the run yet (its Run call
  // still on the way: NotFound) is asked again on the next round.
  void SendStops() {
    std::vector<size_t> pending;
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(mu_);
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
      std::vector<std::thread> threads;
      for (size_t k = 0; k < pending.size(); ++k) {
        threads.emplace_back([this, &results, &reason, &pending, deadline, k] {
          results[k] =
              agents_[pending[k]].client->Stop(run_id_, reason, deadline);
        });
      }
      for (std::thread& t : threads) t.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < pending.size(); ++k) {
      RemoteAgent& a = agents_[pending[k]];
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
  const RemoteRunOptions& options_;
  const nanoseconds silence_limit_;
  const nanoseconds drain_allowance_;
  Clock::time_point planned_end_;  // Set by Run(); read by the main thread.

  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<RemoteAgent> agents_;    // Per-agent state guarded by mu_.
  Aggregator aggregator_;              // Guarded by mu_.
  Display display_;                    // Rows written under mu_, in order.
  std::vector<IntervalRow> intervals_;  // Guarded by mu_.
  // Why the agents are being stopped early (a signal, --abort-on-fail);
  // empty while the run goes to its planned end. Guarded by mu_.
  std::string stop_reason_;
  std::optional<AbortInfo> aborted_;    // Guarded by mu_.
  // Controller time per interval sequence number. Guarded by mu_.
  std::map<int64_t, int64_t> work_ns_;
};

}  // namespace

pb::RunSpec ToWireRunSpec(const Scenario& scenario, const protocol::RunSpec& spec,
                          const std::string& run_id,
                          std::chrono::nanoseconds start_delay) {
  pb::RunSpec wire;
  protocol::ToProto(spec, &wire);
  wire.set_run_id(run_id);
  wire.set_db_name(scenario.db);
  wire.set_start_after_ns(start_delay.count());
  return wire;
}

absl::Status CheckRemoteScenario(const Scenario& scenario,
                                 const RemoteRunOptions& options) {
  if (absl::StatusOr<std::string> path =
          protocol::DatabasePath("data-dir", scenario.db);
      !path.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "with --agents, -db must be a plain file name (each agent keeps it "
        "in its own --data-dir), got \"",
        scenario.db, "\""));
  }
  if (options.start_delay < nanoseconds(0) || options.start_delay > seconds(60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("start-delay must be between 0s and 1m0s, got ",
                     cli::FormatDuration(options.start_delay)));
  }
  return absl::OkStatus();
}

int RunRemote(const Scenario& scenario, const protocol::RunSpec& spec,
              const std::vector<std::string>& targets,
              const RemoteRunOptions& options) {
  if (absl::Status s = CheckRemoteScenario(scenario, options); !s.ok()) {
    Error(std::string(s.message()));
    return kExitUsage;
  }
  if (targets.empty()) {
    Error("--agents names no agent");
    return kExitUsage;
  }
  std::vector<std::string> paths = options.output.Paths();
  paths.push_back(options.prometheus_targets_path);
  if (absl::Status s = CheckReportsWritable(paths); !s.ok()) {
    Error(std::string(s.message()));
    return kExitUsage;
  }

  // Before any thread (gRPC's included) starts, so that only the watcher
  // sees SIGINT/SIGTERM. Until the run starts a signal just ends the setup.
  std::mutex run_mu;
  RemoteRun* run = nullptr;  // Guarded by run_mu.
  std::atomic<int> early_signal{0};
  cli::SignalWatcher signals([&](int signal_number) {
    std::lock_guard<std::mutex> lock(run_mu);
    if (run != nullptr) {
      run->OnSignal(signal_number);
    } else {
      early_signal = signal_number;
    }
  });

  std::vector<RemoteAgent> agents(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    agents[i].client = std::make_unique<AgentClient>(targets[i], options.auth);
  }

  // Every agent's status, concurrently, under one deadline.
  std::vector<absl::StatusOr<pb::AgentStatus>> statuses(
      targets.size(), absl::UnknownError("not asked"));
  {
    const auto deadline = std::chrono::system_clock::now() + kStatusTimeout;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < agents.size(); ++i) {
      threads.emplace_back([&agents, &statuses, deadline, i] {
        statuses[i] = agents[i].client->GetStatus(deadline);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  if (early_signal != 0) {
    Error(absl::StrCat("interrupted by ", SignalName(early_signal),
                       " before the run started"));
    return 128 + early_signal;
  }
  int unusable = 0;
  for (size_t i = 0; i < agents.size(); ++i) {
    if (!statuses[i].ok()) {
      Error(std::string(statuses[i].status().message()));
      ++unusable;
    } else if (statuses[i]->state() == pb::AgentStatus::RUNNING) {
      Error(absl::StrCat("agent ", targets[i], " (", statuses[i]->agent_id(),
                         ") is busy with run ", statuses[i]->run_id(),
                         "; wait for it to end or stop it"));
      ++unusable;
    } else if (absl::Status limit =
                   protocol::LimitsFromProto(statuses[i]->limits())
                       .Check(spec, absl::StrCat(statuses[i]->agent_id(), " (",
                                                 targets[i], ")"));
               !limit.ok()) {
      Error(std::string(limit.message()));
      ++unusable;
    } else {
      agents[i].status = *statuses[i];
    }
  }
  if (unusable > 0) {
    Error(absl::StrCat("not starting: ", unusable, " of ", agents.size(),
                       " agents unreachable, refusing or busy"));
    return kExitUsage;
  }

  // Agent ids as the agents name themselves; two agents with the same name
  // (e.g. the same --agent-id on two hosts) are told apart by their target.
  std::map<std::string, int> id_count;
  for (RemoteAgent& a : agents) {
    a.id = a.status.agent_id().empty() ? a.client->target()
                                       : a.status.agent_id();
    ++id_count[a.id];
  }
  for (RemoteAgent& a : agents) {
    if (id_count[a.id] > 1) a.id = absl::StrCat(a.id, "@", a.client->target());
  }

  const std::string run_id = NewRunId();
  const pb::RunSpec wire =
      ToWireRunSpec(scenario, spec, run_id, options.start_delay);

  std::printf(
      "loadtest %s: run %s on %zu agent%s, each %d writers, %d readers for %s "
      "on %s (schema %s, sync %s, batch %d / %s, queue %d)\n",
      cli::kVersion, run_id.c_str(), agents.size(),
      agents.size() == 1 ? "" : "s", spec.workload.writers,
      spec.workload.readers, cli::FormatDuration(spec.duration).c_str(),
      scenario.db.c_str(), storage::SchemaName(spec.store.schema),
      storage::SyncModeName(spec.store.sync), spec.store.batch_size,
      cli::FormatDuration(spec.store.batch_timeout).c_str(),
      spec.store.queue_size);
  std::vector<AgentInfo> manifest;
  for (const RemoteAgent& a : agents) {
    std::printf("agent %s at %s: version %s, host %s, metrics http://%s:%d/metrics\n",
                a.id.c_str(), a.client->target().c_str(),
                a.status.version().c_str(), a.status.hostname().c_str(),
                HostOf(a.client->target()).c_str(), a.status.metrics_port());
    manifest.push_back({a.id, a.client->target(), a.status.version(),
                        a.status.hostname(), a.status.metrics_port()});
  }
  if (!options.prometheus_targets_path.empty()) {
    if (absl::Status s = WriteJsonFile(options.prometheus_targets_path,
                                       PrometheusTargetsJson(manifest));
        !s.ok()) {
      Error(std::string(s.message()));
      return kExitUsage;
    }
    std::printf("prometheus targets: %s\n",
                options.prometheus_targets_path.c_str());
  }
  std::fflush(stdout);

  RunEnd end;
  end.mode = "distributed";
  end.started_at = std::chrono::system_clock::now();
  RemoteRun remote(run_id, spec, options, std::move(agents));
  {
    std::lock_guard<std::mutex> lock(run_mu);
    run = &remote;
    if (early_signal != 0) remote.OnSignal(early_signal);
  }
  const bool started = remote.Run(wire);
  end.ended_at = std::chrono::system_clock::now();
  {
    std::lock_guard<std::mutex> lock(run_mu);
    run = nullptr;
  }
  const int signal_number = signals.received();
  if (!started) {
    remote.display().Stop();
    Error("no agent ran the scenario (see the reasons above)");
    return signal_number != 0 ? 128 + signal_number : kExitUsage;
  }

  // An agent that ended on its own before the planned end (its
  // --max-db-bytes, its own shutdown) ran less than asked: a partial result.
  RunSummary summary = remote.aggregator().Summary();
  for (const AgentSummary& a : summary.agents) {
    if (a.finished && !a.lost && a.stop_reason != protocol::kDurationReached &&
        a.stop_reason != remote.stop_reason()) {
      remote.display().Warning(absl::StrCat("loadtest: agent ", a.agent_id,
                                            " ended its run early: ",
                                            a.stop_reason));
      summary.partial = true;
    }
  }
  end.output = options.output;
  end.signal_number = signal_number;
  end.aborted = remote.aborted();
  end.decorate_report = [&](nlohmann::json* report) {
    AddAgentManifest(run_id, manifest, report);
    (*report)["controller"] = remote.ControllerJson();
  };
  return FinishRun(scenario, remote.intervals(), summary, remote.display(),
                   end);
}

}  // namespace loadtest::controller
