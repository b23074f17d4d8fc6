#include "agent/agent_server.h"

#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/agent_listener.h"
#include "agent/agent_service.h"
#include "agent/metrics_server.h"
#include "agent/process_limits.h"
#include "cli/allocator.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "protocol/agent_client.h"
#include "protocol/peer_text.h"
#include "security/auth.h"
#include "sync/mutex.h"

namespace loadtest::agent {
namespace {

namespace pb = protocol::pb;

// Warns when a credential file can be read by users other than its owner
// (a token or password anyone on the host may copy).
void WarnIfReadableByOthers(const std::string& path, const char* flag) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0) return;
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    std::fprintf(stderr,
                 "loadtest-agent: WARNING: %s %s is readable by other users "
                 "(mode %04o); chmod 600 it\n",
                 flag, protocol::PeerText(path).c_str(),
                 static_cast<unsigned>(st.st_mode & 07777));
  }
}

// The user:password line of --metrics-basic-auth-file.
absl::StatusOr<std::string> ReadBasicAuth(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  line = std::string(absl::StripAsciiWhitespace(line));
  const size_t colon = line.find(':');
  if (!in || colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-basic-auth-file ", path,
                     " must hold user:password on its first line"));
  }
  if (colon + 1 == line.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-basic-auth-file ", path,
                     " has an empty password (user:password, neither empty)"));
  }
  return line;
}

// Why the agent stops serving: the first SIGINT or SIGTERM, or its gRPC
// listening socket broken.
class StopLatch {
 public:
  void Set(int signal_number, std::string listener_failure = "")
      ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    if (set_) return;
    set_ = true;
    signal_number_ = signal_number;
    listener_failure_ = std::move(listener_failure);
    changed_.NotifyAll();
  }
  // Waits until set; returns the signal (0 for a listener failure).
  int Wait(std::string* listener_failure) ABSL_LOCKS_EXCLUDED(mu_) {
    sync::MutexLock lock(&mu_);
    while (!set_) changed_.Wait(&mu_);
    *listener_failure = listener_failure_;
    return signal_number_;
  }

 private:
  sync::Mutex mu_;
  sync::CondVar changed_;
  bool set_ ABSL_GUARDED_BY(mu_) = false;
  int signal_number_ ABSL_GUARDED_BY(mu_) = 0;
  std::string listener_failure_ ABSL_GUARDED_BY(mu_);
};

std::string Unbracketed(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Where /metrics listens: --metrics-listen, else --metrics-address (default:
// the host of --listen) and --metrics-port. Returns HOST:PORT and HOST. An
// IPv6 --listen host of "::" or "::1" becomes 0.0.0.0 or 127.0.0.1 when
// civetweb has no IPv6 (said on stderr); an explicit IPv6 address stays,
// for MetricsServer::Start to refuse with the reason.
std::pair<std::string, std::string> MetricsListen(const AgentCommandLine& cl,
                                                  const std::string& host) {
  if (!cl.metrics_listen.empty()) {
    return {cl.metrics_listen,
            cl.metrics_listen.substr(0, cl.metrics_listen.rfind(':'))};
  }
  std::string address = cl.metrics_address.empty() ? host : cl.metrics_address;
  if (cl.metrics_address.empty() && !MetricsCanServeIpv6()) {
    const std::string unbracketed = Unbracketed(host);
    const char* v4 = unbracketed == "::"    ? "0.0.0.0"
                     : unbracketed == "::1" ? "127.0.0.1"
                                            : nullptr;
    if (v4 != nullptr) {
      std::fprintf(
          stderr,
          "loadtest-agent: /metrics on %s instead of %s: this "
          "build's civetweb has no IPv6 (--metrics-listen to choose)\n",
          v4, host.c_str());
      address = v4;
    }
  }
  if (address.find(':') != std::string::npos && address.front() != '[') {
    address = absl::StrCat("[", address, "]");  // IPv6.
  }
  return {absl::StrCat(address, ":", cl.metrics_port), address};
}

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
  const std::string host = cl.listen.substr(0, cl.listen.rfind(':'));
  absl::StatusOr<std::unique_ptr<security::ServerAuth>> auth =
      security::ServerAuth::Create(cl.auth);
  if (!auth.ok()) return auth.status();
  if (!(*auth)->authenticates() && !security::IsLoopbackHost(host) &&
      !cl.insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on ", cl.listen,
        " with no authentication: anyone who can reach this port could "
        "start a run that writes to ", cl.data_dir,
        ". Set --auth-token-file and/or --tls-cert, --tls-key and "
        "--tls-client-ca (see --help), listen on loopback, or pass "
        "--insecure to accept that"));
  }
  std::string basic_auth;
  if (!cl.metrics_basic_auth_file.empty()) {
    absl::StatusOr<std::string> line = ReadBasicAuth(cl.metrics_basic_auth_file);
    if (!line.ok()) return line.status();
    basic_auth = *line;
  }
  WarnIfReadableByOthers(cl.auth.token_file, "--auth-token-file");
  if (const size_t length = (*auth)->token_length();
      length > 0 && length < security::kMinTokenLength) {
    std::fprintf(stderr,
                 "loadtest-agent: WARNING: --auth-token-file %s holds a "
                 "%zu-character token, easy to guess; use at least %zu "
                 "(openssl rand -hex 32)\n",
                 protocol::PeerText(cl.auth.token_file).c_str(), length,
                 security::kMinTokenLength);
  }
  WarnIfReadableByOthers(cl.auth.tls_key_file, "--tls-key");
  WarnIfReadableByOthers(cl.metrics_basic_auth_file, "--metrics-basic-auth-file");
  // Connections and readers need descriptors: the hard limit, not the
  // soft one (often 1024).
  RaiseFileLimit();
  // Databases, their WAL and the data directory: the agent's user only.
  umask(077);

  // Signals first: before any thread starts.
  StopLatch latch;
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
  // Its canonical path: the store refuses a database path with a symbolic
  // link in it, so a data directory reached through one is resolved here.
  std::string data_dir = std::filesystem::canonical(cl.data_dir, ec);
  if (ec) data_dir = cl.data_dir;

  const std::string hostname = LocalHostname();
  const AgentIdentity identity{cl.agent_id.empty() ? hostname : cl.agent_id,
                               cli::kVersion, hostname};
  const auto [metrics_listen, metrics_address] = MetricsListen(cl, host);
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start(metrics_listen, identity, basic_auth, data_dir);
  if (!metrics.ok()) return metrics.status();

  AgentServiceOptions service_options;
  service_options.auth = auth->get();
  service_options.limits = cl.limits;
  AgentService service(identity, data_dir, metrics->get(), service_options);
  // The agent accepts connections itself (caps per address and in all,
  // descriptors kept in reserve) and hands them to gRPC: agent_listener.h.
  absl::StatusOr<std::unique_ptr<AgentListener>> listener =
      AgentListener::Bind(cl.listen);
  if (!listener.ok()) return listener.status();
  const int port = (*listener)->port();
  // No grpc.health.v1 service: it would answer anyone, before any
  // credential check. Liveness is --healthcheck, a GetStatus with them.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  (*listener)->AddTo(&builder, (*auth)->credentials());
  builder.RegisterService(&service);
  ConfigureAgentServer(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", cl.listen));
  }
  (*listener)->Start([&latch](const std::string& failure) {
    latch.Set(0, absl::StrCat("the gRPC listener failed (", failure,
                              "); exiting so that the agent is restarted"));
  });
  std::printf(
      "loadtest-agent %s (%s, allocator %s): listening on %s:%d, metrics on "
      "%s:%d/metrics, data in %s\n",
      identity.agent_id.c_str(), cli::kVersion, cli::AllocatorName(),
      host.c_str(), port,
      metrics_address.c_str(), (*metrics)->port(), cl.data_dir.c_str());
  std::fflush(stdout);
  // The warnings first: the "control channel" line then always comes last
  // of the start-up lines.
  if (!(*auth)->authenticates() && !security::IsLoopbackHost(host)) {
    std::fprintf(
        stderr,
        "loadtest-agent: WARNING: listening on %s with no authentication "
        "(--insecure): anyone who can reach this port can start a run that "
        "writes to %s. Set --auth-token-file and/or --tls-cert, --tls-key and "
        "--tls-client-ca (see --help).\n",
        cl.listen.c_str(), cl.data_dir.c_str());
  }
  if (basic_auth.empty() && !security::IsLoopbackHost(metrics_address)) {
    std::fprintf(stderr,
                 "loadtest-agent: WARNING: /metrics on %s:%d is open to "
                 "anyone who can reach it; set --metrics-basic-auth-file or "
                 "--metrics-address=127.0.0.1\n",
                 metrics_address.c_str(), (*metrics)->port());
  }
  std::fprintf(stderr, "loadtest-agent: control channel: %s%s\n",
               (*auth)->Describe().c_str(),
               basic_auth.empty() ? "" : "; /metrics: basic auth");
  std::fflush(stderr);

  std::string listener_failure;
  const int signal_number = latch.Wait(&listener_failure);
  (*listener)->Stop();
  std::string why;
  if (!listener_failure.empty()) {
    std::fprintf(stderr, "loadtest-agent: %s\n", listener_failure.c_str());
    why = "agent shutting down (its listener failed)";
  } else {
    const char* name = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
    std::fprintf(stderr, "loadtest-agent: %s, shutting down\n", name);
    why = absl::StrCat("agent shutting down (", name, ")");
  }
  service.Shutdown(why);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  if (!listener_failure.empty()) {
    return absl::UnavailableError("exiting: the gRPC listener failed");
  }
  return absl::OkStatus();
}

}  // namespace loadtest::agent
