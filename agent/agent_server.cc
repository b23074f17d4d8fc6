#include "agent/agent_server.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/agent_service.h"
#include "agent/metrics_server.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "protocol/agent_client.h"
#include "security/auth.h"
#include "sync/mutex.h"

namespace loadtest::agent {
namespace {

// The user:password line of --metrics-basic-auth-file.
absl::StatusOr<std::string> ReadBasicAuth(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  line = std::string(absl::StripAsciiWhitespace(line));
  if (!in || line.find(':') == std::string::npos || line.front() == ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-basic-auth-file ", path,
                     " must hold user:password on its first line"));
  }
  return line;
}

// The first SIGINT or SIGTERM.
class SignalLatch {
 public:
  void Set(int signal_number) ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    if (signal_number_ == 0) signal_number_ = signal_number;
    set_.NotifyAll();
  }
  int Wait() ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    while (signal_number_ == 0) set_.Wait(&mu_);
    return signal_number_;
  }

 private:
  sync::Mutex mu_;
  sync::CondVar set_;
  int signal_number_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

absl::Status CheckAgentHealth(const AgentCommandLine& cl) {
  security::ClientAuthOptions client;
  client.token_file = cl.auth.token_file;
  if (!cl.healthcheck_ca.empty()) {
    client.tls_ca_file = cl.healthcheck_ca;
    client.tls_cert_file = cl.auth.tls_cert_file;
    client.tls_key_file = cl.auth.tls_key_file;
  }
  absl::StatusOr<security::ClientAuth> auth = security::ClientAuth::Create(client);
  if (!auth.ok()) return auth.status();
  protocol::AgentClient agent(cl.healthcheck, *auth);
  absl::StatusOr<protocol::pb::AgentStatus> status = agent.GetStatus(
      std::chrono::system_clock::now() + std::chrono::seconds(3));
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "agent at ", cl.healthcheck, " is not healthy: ", status.status().message()));
  }
  std::printf("agent %s at %s is healthy (%s)\n", status->agent_id().c_str(),
              cl.healthcheck.c_str(),
              status->state() == protocol::pb::AgentStatus::RUNNING
                  ? ("running " + status->run_id()).c_str()
                  : "idle");
  return absl::OkStatus();
}

absl::Status ServeAgent(const AgentCommandLine& cl) {
  absl::StatusOr<std::unique_ptr<security::ServerAuth>> auth =
      security::ServerAuth::Create(cl.auth);
  if (!auth.ok()) return auth.status();
  std::string basic_auth;
  if (!cl.metrics_basic_auth_file.empty()) {
    absl::StatusOr<std::string> line = ReadBasicAuth(cl.metrics_basic_auth_file);
    if (!line.ok()) return line.status();
    basic_auth = *line;
  }

  // Signals first: before any thread starts.
  SignalLatch latch;
  cli::SignalWatcher signals(
      [&latch](int signal_number) { latch.Set(signal_number); });

  std::error_code ec;
  std::filesystem::create_directories(cl.data_dir, ec);
  const std::string probe = cl.data_dir + "/.loadtest-agent-probe";
  if (!std::ofstream(probe)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", cl.data_dir, " is missing or not writable"));
  }
  std::filesystem::remove(probe, ec);

  const std::string hostname = LocalHostname();
  const AgentIdentity identity{cl.agent_id.empty() ? hostname : cl.agent_id,
                               cli::kVersion, hostname};
  std::string metrics_listen = cl.metrics_listen;
  std::string metrics_address = cl.metrics_address;
  if (metrics_listen.empty()) {
    metrics_listen = absl::StrCat(metrics_address, ":", cl.metrics_port);
  } else {
    metrics_address = metrics_listen.substr(0, metrics_listen.rfind(':'));
  }
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start(metrics_listen, identity, basic_auth);
  if (!metrics.ok()) return metrics.status();

  AgentServiceOptions service_options;
  service_options.auth = auth->get();
  service_options.limits = cl.limits;
  AgentService service(identity, cl.data_dir, metrics->get(), service_options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(cl.listen, (*auth)->credentials(), &port);
  builder.RegisterService(&service);
  ConfigureAgentServer(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", cl.listen,
        ": the address is in use or cannot be bound"));
  }
  const std::string host = cl.listen.substr(0, cl.listen.rfind(':'));
  std::printf(
      "loadtest-agent %s (%s): listening on %s:%d, metrics on %s:%d/metrics, "
      "data in %s\n",
      identity.agent_id.c_str(), cli::kVersion, host.c_str(), port,
      metrics_address.c_str(), (*metrics)->port(), cl.data_dir.c_str());
  std::fflush(stdout);
  // The warning first: the "control channel" line then always comes last
  // of the start-up lines.
  if (!(*auth)->authenticates() && !security::IsLoopbackHost(host)) {
    std::fprintf(
        stderr,
        "loadtest-agent: WARNING: listening on %s with no authentication: "
        "anyone who can reach this port can start a run that writes to %s. "
        "Set --auth-token-file and/or --tls-cert, --tls-key and "
        "--tls-client-ca (see --help).\n",
        cl.listen.c_str(), cl.data_dir.c_str());
  }
  std::fprintf(stderr, "loadtest-agent: control channel: %s%s\n",
               (*auth)->Describe().c_str(),
               basic_auth.empty() ? "" : "; /metrics: basic auth");
  std::fflush(stderr);

  const int signal_number = latch.Wait();
  const char* name = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
  std::fprintf(stderr, "loadtest-agent: %s, shutting down\n", name);
  server->GetHealthCheckService()->SetServingStatus(false);
  service.Shutdown(absl::StrCat("agent shutting down (", name, ")"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return absl::OkStatus();
}

}  // namespace loadtest::agent
