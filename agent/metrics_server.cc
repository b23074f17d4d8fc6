#include "agent/metrics_server.h"

#include <unistd.h>

#include <exception>
#include <limits.h>

#include "absl/strings/str_cat.h"
#include "agent/process_stats.h"
#include "security/auth.h"

namespace loadtest::agent {

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "unknown";
  }
  return name;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen_address, const AgentIdentity& identity,
    const std::string& basic_auth) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->registry_ = std::make_shared<prometheus::Registry>();
  auto store_metrics = storage::StoreMetrics::Create(*server->registry_);
  if (!store_metrics.ok()) return store_metrics.status();
  server->store_metrics_ = std::move(*store_metrics);
  try {
    prometheus::BuildGauge()
        .Name("opentrail_agent_info")
        .Help("Identity of this load-test agent; always 1.")
        .Register(*server->registry_)
        .Add({{"agent_id", identity.agent_id},
              {"version", identity.version},
              {"hostname", identity.hostname}})
        .Set(1);
    server->run_active_ = &prometheus::BuildGauge()
                               .Name("opentrail_agent_run_active")
                               .Help("1 while a load-test run is active.")
                               .Register(*server->registry_)
                               .Add({});
  } catch (const std::invalid_argument& e) {
    return absl::InternalError(
        absl::StrCat("cannot register agent metrics: ", e.what()));
  }
  try {
    // Several workers and a request timeout: one slow or idle connection
    // (a slowloris) must not hold the only worker and with it every scrape.
    server->exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listen_address,
                                 "num_threads", std::to_string(kWorkerThreads),
                                 "request_timeout_ms",
                                 std::to_string(kRequestTimeoutMs)});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve /metrics on ", listen_address,
        ": the address is in use or cannot be bound (", e.what(), ")"));
  }
  if (!basic_auth.empty()) {
    server->exposer_->RegisterAuth(
        [basic_auth](const std::string& user, const std::string& password) {
          return security::ConstantTimeEquals(absl::StrCat(user, ":", password),
                                              basic_auth);
        },
        "opentrail-load");
  }
  server->exposer_->RegisterCollectable(server->registry_);
  server->process_collector_ = std::make_shared<ProcessCollector>();
  server->exposer_->RegisterCollectable(server->process_collector_);
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

}  // namespace loadtest::agent
