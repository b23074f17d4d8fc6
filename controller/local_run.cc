#include "controller/local_run.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/agent_run.h"
#include "agent/metrics_server.h"
#include "cli/flag_set.h"
#include "cli/version.h"
#include "controller/aggregator.h"
#include "controller/display.h"
#include "controller/json_report.h"
#include "cli/signal_watcher.h"

namespace loadtest::controller {
namespace {

void Error(const std::string& message) {
  std::fprintf(stderr, "loadtest: %s\n", message.c_str());
}

}  // namespace

int RunLocal(const Scenario& scenario, const protocol::RunSpec& spec,
             const LocalRunOptions& options) {
  std::vector<std::string> paths = options.output.Paths();
  paths.push_back(options.prometheus_targets_path);
  if (absl::Status s = CheckReportsWritable(paths); !s.ok()) {
    Error(std::string(s.message()));
    return kExitUsage;
  }
  // Signals are blocked before any thread starts (the metrics server starts
  // some), so only the watcher ever sees them. A signal that comes before
  // the run exists is kept for it.
  std::mutex stop_mu;
  agent::AgentRun* active_run = nullptr;  // Guarded by stop_mu.
  std::string early_stop;                 // Guarded by stop_mu.
  cli::SignalWatcher signals([&](int signal_number) {
    const std::string reason = absl::StrCat(
        "interrupted by ",
        signal_number == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM");
    std::lock_guard<std::mutex> lock(stop_mu);
    if (active_run != nullptr) {
      active_run->RequestStop(reason);
    } else {
      early_stop = reason;
    }
  });

  const agent::AgentIdentity identity{agent::LocalHostname(), cli::kVersion,
                                      agent::LocalHostname()};
  auto metrics = agent::MetricsServer::Start(options.metrics_listen, identity);
  if (!metrics.ok()) {
    Error(absl::StrCat(metrics.status().message(),
                       "; choose another with -metrics-port"));
    return kExitUsage;
  }

  agent::AgentRun run(spec, (*metrics)->store_metrics());
  {
    std::lock_guard<std::mutex> lock(stop_mu);
    active_run = &run;
    if (!early_stop.empty()) run.RequestStop(early_stop);
  }

  Display display(stdout, isatty(STDOUT_FILENO) == 1, spec.duration);
  std::printf(
      "loadtest %s: %d writers, %d readers for %s on %s (schema %s, sync %s, "
      "batch %d / %s, queue %d)\n",
      cli::kVersion, spec.workload.writers, spec.workload.readers,
      cli::FormatDuration(spec.duration).c_str(), spec.store.path.c_str(),
      storage::SchemaName(spec.store.schema),
      storage::SyncModeName(spec.store.sync), spec.store.batch_size,
      cli::FormatDuration(spec.store.batch_timeout).c_str(),
      spec.store.queue_size);
  const std::string metrics_host =
      options.metrics_listen.substr(0, options.metrics_listen.rfind(':'));
  std::printf("metrics: http://%s:%d/metrics\n", metrics_host.c_str(),
              (*metrics)->port());
  if (!options.prometheus_targets_path.empty()) {
    // A wildcard bind address is scraped on loopback.
    std::string host = metrics_host;
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    const absl::Status written = WriteJsonFile(
        options.prometheus_targets_path,
        PrometheusTargetsJson({{identity.agent_id,
                                absl::StrCat(host, ":", (*metrics)->port()),
                                cli::kVersion, identity.hostname,
                                (*metrics)->port()}}));
    if (!written.ok()) {
      Error(std::string(written.message()));
      return kExitUsage;
    }
    std::printf("prometheus targets: %s\n",
                options.prometheus_targets_path.c_str());
  }
  std::fflush(stdout);

  Aggregator aggregator({identity.agent_id});
  std::vector<IntervalRow> intervals;
  std::optional<AbortInfo> aborted;
  const OutputOptions& output = options.output;
  const double grace_s = std::chrono::duration<double>(output.abort_grace).count();
  RunEnd end;
  end.mode = "in-process";
  end.started_at = std::chrono::system_clock::now();
  (*metrics)->SetRunActive(true);
  display.Start();
  const absl::Status status = run.Run([&](const protocol::IntervalUpdate& u) {
    if (!u.first_error.empty()) {
      display.Warning(absl::StrCat("loadtest: a write failed: ", u.first_error));
    }
    for (IntervalRow& row : aggregator.Add(identity.agent_id, u)) {
      display.Row(row);
      const double at_s = row.end_s;
      intervals.push_back(std::move(row));
      if (!output.abort_on_fail || aborted.has_value() || u.final) continue;
      if (auto failed = FirstLiveFailure(output.thresholds, aggregator.Summary(),
                                         at_s >= grace_s)) {
        aborted = AbortInfo{*failed, at_s};
        const std::string reason = absl::StrCat(
            "aborted: threshold ", failed->text, " failed at ",
            absl::StrFormat("%.1fs", at_s), " (--abort-on-fail)");
        display.Message(absl::StrCat("loadtest: ", reason, "; stopping"));
        run.RequestStop(reason);
      }
    }
  });
  end.ended_at = std::chrono::system_clock::now();
  (*metrics)->SetRunActive(false);
  {
    std::lock_guard<std::mutex> lock(stop_mu);
    active_run = nullptr;
  }
  if (!status.ok()) {
    display.Stop();
    Error(std::string(status.message()));
    return kExitUsage;
  }

  end.output = output;
  end.aborted = aborted;
  end.signal_number = signals.received();
  end.decorate_report = [&](nlohmann::json* report) {
    AddAgentManifest("", {{identity.agent_id, "in-process", cli::kVersion,
                           identity.hostname, (*metrics)->port()}},
                     report);
  };
  return FinishRun(scenario, intervals, aggregator.Summary(), display, end);
}

}  // namespace loadtest::controller
