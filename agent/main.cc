// loadtest-agent: serves the LoadAgent gRPC service and its own /metrics
// until SIGTERM. Parses flags, wires the pieces, waits.
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/agent_service.h"
#include "agent/metrics_server.h"
#include "protocol/wire.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/loadtest.grpc.pb.h"
#include "security/auth.h"

namespace {

constexpr char kIntro[] =
    "loadtest-agent: runs OpenTrail load tests for a `loadtest` controller.\n"
    "\n"
    "Serves the LoadAgent gRPC service on -listen and its own Prometheus\n"
    "/metrics on -metrics-port until SIGTERM or SIGINT. Runs one scenario at a\n"
    "time, with its SQLite database inside -data-dir. On SIGTERM during a run\n"
    "it stops the run, drains the queue, sends the final update with the\n"
    "audit, and exits 0. A second signal exits at once.\n"
    "\n"
    "  loadtest-agent --listen=0.0.0.0:7070 --metrics-port=8080 "
    "--data-dir=/var/lib/opentrail-load\n"
    "  loadtest-agent --healthcheck=127.0.0.1:7070   # exit 0 if it answers\n"
    "  loadtest-agent --auth-token-file=/run/secrets/agent-token \\\n"
    "      --tls-cert=agent.pem --tls-key=agent.key --tls-client-ca=ca.pem\n"
    "\n"
    "Anyone who can reach -listen can start a run that writes to -data-dir:\n"
    "off loopback, require a token (--auth-token-file) and/or a client\n"
    "certificate (--tls-client-ca); the agent warns at start when neither is\n"
    "set. Refused calls get UNAUTHENTICATED with the reason, and are logged.\n"
    "\n"
    "Exit codes: 0 clean shutdown (or healthy); 1 usage or setup error (bad\n"
    "flag, port in use, unwritable data directory; or unhealthy).\n";

void Fail(const std::string& message) {
  std::fprintf(stderr, "loadtest-agent: %s\n", message.c_str());
}

// --healthcheck: asks the agent at `address` for its status, with the
// credentials a controller would use.
int HealthCheck(const std::string& address,
                const loadtest::security::ClientAuth& auth) {
  grpc::ChannelArguments arguments;
  auth.ApplyTo(&arguments);
  auto channel =
      grpc::CreateCustomChannel(address, auth.credentials(), arguments);
  auto stub = opentrail::loadtest::v1::LoadAgent::NewStub(channel);
  grpc::ClientContext context;
  auth.ApplyTo(&context);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  opentrail::loadtest::v1::AgentStatus status;
  const grpc::Status rpc =
      stub->GetStatus(&context, opentrail::loadtest::v1::StatusRequest(),
                      &status);
  if (!rpc.ok()) {
    Fail(absl::StrCat("agent at ", address, " is not healthy: ",
                      absl::StatusCodeToString(loadtest::protocol::FromGrpcStatus(rpc).code()), ": ",
                      rpc.error_message()));
    return 1;
  }
  std::printf("agent %s at %s is healthy (%s)\n", status.agent_id().c_str(),
              address.c_str(),
              status.state() ==
                      opentrail::loadtest::v1::AgentStatus::RUNNING
                  ? ("running " + status.run_id()).c_str()
                  : "idle");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "0.0.0.0:7070";
  int64_t metrics_port = 8080;
  std::string metrics_address = "0.0.0.0";
  std::string data_dir = "/var/lib/opentrail-load";
  std::string agent_id;
  std::string healthcheck;
  std::string metrics_listen;
  std::string metrics_basic_auth_file;
  loadtest::security::ServerAuthOptions auth_options;
  std::string healthcheck_ca;
  loadtest::protocol::AgentLimits limits;

  loadtest::cli::FlagSet flags("loadtest-agent", kIntro);
  flags.AddString("listen", &listen,
                  "host:port of the gRPC service (port 0 picks a free port; "
                  "the port is printed).");
  flags.AddInt("metrics-port", &metrics_port,
               "Port of the Prometheus /metrics endpoint (0 picks a free "
               "port). A port in use is an error.");
  flags.AddString("metrics-address", &metrics_address,
                  "Address the /metrics endpoint binds to.");
  flags.AddString("data-dir", &data_dir,
                  "Directory for the databases; a run names a plain file "
                  "inside it (created when missing).");
  flags.AddString("agent-id", &agent_id,
                  "Name of this agent in reports and metrics (default: the "
                  "host name).");
  flags.AddString("healthcheck", &healthcheck,
                  "Instead of serving, ask the agent at this host:port for its "
                  "status and exit 0 if it answers, 1 if not (for container "
                  "health checks).");
  flags.AddString("metrics-listen", &metrics_listen,
                  "host:port of /metrics, instead of -metrics-address and "
                  "-metrics-port (e.g. 127.0.0.1:8080 to keep it local).");
  flags.AddString("metrics-basic-auth-file", &metrics_basic_auth_file,
                  "A file holding user:password: /metrics then requires "
                  "HTTP basic auth with them (Prometheus: basic_auth with "
                  "password_file).");

  flags.AddSection("Who may start runs");
  flags.AddString("auth-token-file", &auth_options.token_file,
                  "Require this shared token (the file's content, trimmed) "
                  "on every call; loadtest sends it with its own "
                  "--auth-token-file. Compared in constant time.");
  flags.AddString("tls-cert", &auth_options.tls_cert_file,
                  "Serve gRPC over TLS with this certificate (PEM; with "
                  "--tls-key).");
  flags.AddString("tls-key", &auth_options.tls_key_file,
                  "The private key of --tls-cert (PEM).");
  flags.AddString("tls-client-ca", &auth_options.tls_client_ca_file,
                  "Mutual TLS: require every caller to present a client "
                  "certificate signed by this CA (PEM; needs --tls-cert).");
  flags.AddString("tls-ca", &healthcheck_ca,
                  "For --healthcheck only: the CA that signed the agent's "
                  "certificate (then --tls-cert/--tls-key are presented as "
                  "the client certificate, and --auth-token-file is sent).");

  flags.AddSection("Limits (0 = none); a run beyond one is refused, naming it");
  flags.AddInt("max-writers", &limits.max_writers, "Most writers a run may ask for.");
  flags.AddInt("max-readers", &limits.max_readers, "Most readers a run may ask for.");
  flags.AddDuration("max-duration", &limits.max_duration,
                    "Longest run accepted.");
  flags.AddInt("max-db-bytes", &limits.max_db_bytes,
               "A run stops (its final update says why) once its database "
               "and WAL reach this many bytes.");

  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  if (!healthcheck.empty()) {
    loadtest::security::ClientAuthOptions client;
    client.token_file = auth_options.token_file;
    if (!healthcheck_ca.empty()) {
      client.tls_ca_file = healthcheck_ca;
      client.tls_cert_file = auth_options.tls_cert_file;
      client.tls_key_file = auth_options.tls_key_file;
    }
    auto auth = loadtest::security::ClientAuth::Create(client);
    if (!auth.ok()) {
      Fail(std::string(auth.status().message()));
      return 1;
    }
    return HealthCheck(healthcheck, *auth);
  }
  const std::pair<const char*, std::string> limit_values[] = {
      {"max-writers", std::to_string(limits.max_writers)},
      {"max-readers", std::to_string(limits.max_readers)},
      {"max-db-bytes", std::to_string(limits.max_db_bytes)},
      {"max-duration", loadtest::cli::FormatDuration(limits.max_duration)}};
  for (const auto& [flag, value] : limit_values) {
    if (value.front() == '-') {  // Negative.
      Fail(absl::StrCat(flag, " must be >= 0 (0 = no limit), got ", value));
      return 1;
    }
  }
  auto auth = loadtest::security::ServerAuth::Create(auth_options);
  if (!auth.ok()) {
    Fail(std::string(auth.status().message()));
    return 1;
  }
  std::string basic_auth;
  if (!metrics_basic_auth_file.empty()) {
    std::ifstream in(metrics_basic_auth_file);
    std::getline(in, basic_auth);
    basic_auth = std::string(absl::StripAsciiWhitespace(basic_auth));
    if (!in || basic_auth.find(':') == std::string::npos ||
        basic_auth.front() == ':') {
      Fail(absl::StrCat("--metrics-basic-auth-file ", metrics_basic_auth_file,
                        " must hold user:password on its first line"));
      return 1;
    }
  }
  if (metrics_port < 0 || metrics_port > 65535) {
    Fail(absl::StrCat("metrics-port must be between 0 and 65535, got ",
                      metrics_port));
    return 1;
  }

  // Signals first: before any thread starts.
  std::mutex mu;
  std::condition_variable cv;
  int signal_received = 0;
  loadtest::cli::SignalWatcher signals([&](int signal_number) {
    std::lock_guard<std::mutex> lock(mu);
    signal_received = signal_number;
    cv.notify_all();
  });

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  const std::string probe = data_dir + "/.loadtest-agent-probe";
  if (!std::ofstream(probe)) {
    Fail(absl::StrCat("data directory ", data_dir,
                      " is missing or not writable"));
    return 1;
  }
  std::filesystem::remove(probe, ec);

  const std::string hostname = loadtest::agent::LocalHostname();
  const loadtest::agent::AgentIdentity identity{
      agent_id.empty() ? hostname : agent_id, loadtest::cli::kVersion,
      hostname};
  if (metrics_listen.empty()) {
    metrics_listen = absl::StrCat(metrics_address, ":", metrics_port);
  } else {
    metrics_address = metrics_listen.substr(0, metrics_listen.rfind(':'));
  }
  auto metrics = loadtest::agent::MetricsServer::Start(metrics_listen, identity,
                                                       basic_auth);
  if (!metrics.ok()) {
    Fail(std::string(metrics.status().message()));
    return 1;
  }

  loadtest::agent::AgentServiceOptions service_options;
  service_options.auth = auth->get();
  service_options.limits = limits;
  loadtest::agent::AgentService service(identity, data_dir, metrics->get(),
                                        service_options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, (*auth)->credentials(), &port);
  builder.RegisterService(&service);
  loadtest::agent::ConfigureAgentServer(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Fail(absl::StrCat("cannot listen on ", listen,
                      ": the address is in use or cannot be bound"));
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf(
      "loadtest-agent %s (%s): listening on %s:%d, metrics on %s:%d/metrics, "
      "data in %s\n",
      identity.agent_id.c_str(), loadtest::cli::kVersion, host.c_str(), port,
      metrics_address.c_str(), (*metrics)->port(), data_dir.c_str());
  std::fflush(stdout);
  // The warning first: the "control channel" line then always comes last
  // of the start-up lines.
  if (!(*auth)->authenticates() && !loadtest::security::IsLoopbackHost(host)) {
    std::fprintf(
        stderr,
        "loadtest-agent: WARNING: listening on %s with no authentication: "
        "anyone who can reach this port can start a run that writes to %s. "
        "Set --auth-token-file and/or --tls-cert, --tls-key and "
        "--tls-client-ca (see --help).\n",
        listen.c_str(), data_dir.c_str());
  }
  std::fprintf(stderr, "loadtest-agent: control channel: %s%s\n",
               (*auth)->Describe().c_str(),
               basic_auth.empty() ? "" : "; /metrics: basic auth");
  std::fflush(stderr);

  int signal_number;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return signal_received != 0; });
    signal_number = signal_received;
  }
  std::fprintf(stderr, "loadtest-agent: %s, shutting down\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  server->GetHealthCheckService()->SetServingStatus(false);
  service.Shutdown(absl::StrCat("agent shutting down (",
                                signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                                ")"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}
