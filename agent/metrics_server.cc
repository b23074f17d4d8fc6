#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <map>
#include <utility>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/str_cat.h"
#include "agent/host_stats.h"
#include "agent/process_stats.h"
#include "civetweb.h"
#include "security/auth.h"

namespace loadtest::agent {
namespace {

// The port of a TCP socket's `address`, and its host (IPv4-mapped IPv6 as
// IPv4); port 0 for anything else.
int PortAndHost(const sockaddr_storage& address, std::string* host) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    *host = text;
    return ntohs(v4->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
    *host = text;
    return ntohs(v6->sin6_port);
  }
  return 0;
}

// civetweb's init_connection, in the worker that took a new connection and
// before it reads a byte: every connection to this server's ports from an
// address that holds more than kMaxConnectionsPerPeer of them is shut down
// beyond that many, so that one address cannot hold every worker (civetweb
// has no per-address limit; its queue gives no say before a worker waits
// kRequestTimeoutMs for a request). The connections are found among the
// process's descriptors: civetweb keeps its sockets to itself.
int LimitConnectionsPerPeer(const mg_connection* connection, void** data) {
  *data = nullptr;
  mg_server_port ports[4];
  const int port_count =
      mg_get_server_ports(mg_get_context(connection), 4, ports);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr || port_count <= 0) {
    if (dir != nullptr) closedir(dir);
    return 0;
  }
  // Each connection with its socket's inode: a descriptor closed by another
  // worker meanwhile may be reused by a new connection from elsewhere, which
  // must not be shut down in its place.
  std::map<std::string, std::vector<std::pair<int, ino_t>>> by_peer;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    sockaddr_storage local{}, remote{};
    socklen_t local_length = sizeof(local), remote_length = sizeof(remote);
    std::string local_host, peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) !=
            0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) !=
            0) {
      continue;  // Not a connected socket (the listener, files, pipes).
    }
    const int local_port = PortAndHost(local, &local_host);
    bool ours = false;
    for (int i = 0; i < port_count; ++i) ours |= ports[i].port == local_port;
    struct stat st {};
    if (!ours || PortAndHost(remote, &peer) == 0 || fstat(fd, &st) != 0) {
      continue;
    }
    by_peer[peer].push_back({fd, st.st_ino});
  }
  closedir(dir);
  for (const auto& [peer, fds] : by_peer) {
    for (size_t i = MetricsServer::kMaxConnectionsPerPeer; i < fds.size();
         ++i) {
      struct stat st {};
      if (fstat(fds[i].first, &st) == 0 && st.st_ino == fds[i].second) {
        shutdown(fds[i].first, SHUT_RDWR);
      }
    }
  }
  return 0;
}

// Whether `host` (brackets allowed) is an IPv6 address.
bool IsIpv6(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1;
}

}  // namespace

// civetweb's feature bit 8 is IPv6 (USE_IPV6 at its build).
bool MetricsCanServeIpv6() { return mg_check_feature(8) != 0; }

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "unknown";
  }
  return name;
}

void MetricsServer::SetHealth(const stats::HealthState* state) {
  for (stats::HealthState s : stats::kAllHealthStates) {
    health_[static_cast<int>(s)]->Set(state != nullptr && *state == s ? 1 : 0);
  }
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen_address, const AgentIdentity& identity,
    const std::string& basic_auth, const std::string& data_dir) {
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
    auto& health = prometheus::BuildGauge()
                       .Name("opentrail_health_state")
                       .Help("The load-testing guide's health state of the "
                             "run's last interval: 1 for the current state, "
                             "0 for the others (all 0 between runs).")
                       .Register(*server->registry_);
    for (stats::HealthState state : stats::kAllHealthStates) {
      server->health_[static_cast<int>(state)] =
          &health.Add({{"state", stats::HealthStateName(state)}});
    }
  } catch (const std::invalid_argument& e) {
    return absl::InternalError(
        absl::StrCat("cannot register agent metrics: ", e.what()));
  }
  const std::string host = listen_address.substr(0, listen_address.rfind(':'));
  if (IsIpv6(host) && !MetricsCanServeIpv6()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot serve /metrics on ", listen_address,
        ": this build's civetweb (the HTTP server of prometheus-cpp) has no "
        "IPv6; give /metrics an IPv4 address (--metrics-listen=127.0.0.1:8080 "
        "or --metrics-address=0.0.0.0)"));
  }
  CivetCallbacks callbacks;
  callbacks.init_connection = LimitConnectionsPerPeer;
  try {
    // Several workers, a request timeout and a cap per address: slow or
    // idle connections (a slowloris) must not hold every worker and with
    // them every scrape.
    server->exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listen_address,
                                 "num_threads", std::to_string(kWorkerThreads),
                                 "request_timeout_ms",
                                 std::to_string(kRequestTimeoutMs)},
        &callbacks);
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
  server->host_collector_ = std::make_shared<HostCollector>(data_dir);
  server->exposer_->RegisterCollectable(server->host_collector_);
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

}  // namespace loadtest::agent
