// MetricsServer: one agent's Prometheus target. Serves GET /metrics from a
// prometheus-cpp registry that holds the store's metrics (registered once
// for the process, reused by every run) plus
//   opentrail_agent_info{agent_id,version,hostname} 1
//   opentrail_agent_run_active  (1 while a run is going, else 0)
//   opentrail_health_state{state="healthy|under_stress|overloaded|
//     generator_bound"}  (1 for the state of the run's last interval, 0 for
//     the others; all 0 between runs; stats/health.h)
// and the process collector's standard series (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds,
// process_start_time_seconds, process_threads; agent/process_stats.h) with
// the process's I/O (opentrail_process_*), and the host's CPU, load and
// data directory's disk (opentrail_host_*; agent/host_stats.h).
//
// Thread-safety: all methods are safe from any thread. The exposer's own
// threads serve scrapes until the object is destroyed.
#ifndef LOADTEST_AGENT_METRICS_SERVER_H_
#define LOADTEST_AGENT_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "stats/health.h"
#include "storage/store_metrics.h"

namespace loadtest::agent {

struct AgentIdentity {
  std::string agent_id;
  std::string version;
  std::string hostname;
};

// The machine's host name (gethostname), "unknown" if it cannot be read.
std::string LocalHostname();

// Whether the civetweb that serves /metrics was built with IPv6 (Debian
// bookworm's libcivetweb1 1.15 is not).
bool MetricsCanServeIpv6();

class MetricsServer {
 public:
  // Concurrent scrapes served; a connection that sends no complete request
  // within kRequestTimeoutMs is closed; an address holding more than
  // kMaxConnectionsPerPeer connections has the others shut down as soon as
  // a worker takes them, so one address holds at most that many workers.
  static constexpr int kWorkerThreads = 24;
  static constexpr int kRequestTimeoutMs = 10000;
  static constexpr size_t kMaxConnectionsPerPeer = 8;

  // Binds `listen_address` ("0.0.0.0:8080", "127.0.0.1:0" for any free
  // port, "[::1]:8080" where MetricsCanServeIpv6()) and starts serving.
  // Errors: Unavailable naming the address when it cannot be bound (port in
  // use, no permission); InvalidArgument for an IPv6 address when civetweb
  // has no IPv6; Internal when metrics cannot be registered.
  // With `basic_auth` ("user:password", not empty) a scrape must send those
  // credentials (HTTP basic auth, compared in constant time) or gets 401.
  // The disk figures are of the block device holding `data_dir` (none when
  // empty or not on one).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen_address, const AgentIdentity& identity,
      const std::string& basic_auth = "", const std::string& data_dir = "");

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  storage::StoreMetrics* store_metrics() { return store_metrics_.get(); }
  void SetRunActive(bool active) { run_active_->Set(active ? 1 : 0); }
  // The last interval's health state; nullptr: no run, every state 0.
  void SetHealth(const stats::HealthState* state);

 private:
  MetricsServer() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_collector_;
  std::shared_ptr<prometheus::Collectable> host_collector_;
  std::unique_ptr<storage::StoreMetrics> store_metrics_;
  prometheus::Gauge* run_active_ = nullptr;
  prometheus::Gauge* health_[4] = {};  // By stats::HealthState.
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_METRICS_SERVER_H_
