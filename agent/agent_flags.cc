#include "agent/agent_flags.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace loadtest::agent {

const char kAgentIntro[] =
    "loadtest-agent: runs OpenTrail load tests for a `loadtest` controller.\n"
    "\n"
    "Serves the LoadAgent gRPC service on -listen and its own Prometheus\n"
    "/metrics on -metrics-port until SIGTERM or SIGINT. Runs one scenario at a\n"
    "time, with its SQLite database inside -data-dir. On SIGTERM during a run\n"
    "it stops the run, drains the queue, sends the final update with the\n"
    "audit, and exits 0. A second signal exits at once.\n"
    "\n"
    "  loadtest-agent --listen=0.0.0.0:7070 --metrics-port=8080 "
    "--data-dir=/var/lib/opentrail-load \\\n"
    "      --auth-token-file=/run/secrets/agent-token\n"
    "  loadtest-agent --healthcheck=127.0.0.1:7070   # exit 0 if it answers\n"
    "  loadtest-agent --auth-token-file=/run/secrets/agent-token \\\n"
    "      --tls-cert=agent.pem --tls-key=agent.key --tls-client-ca=ca.pem\n"
    "\n"
    "Anyone who can reach -listen can start a run that writes to -data-dir:\n"
    "off loopback, require a token (--auth-token-file) and/or a client\n"
    "certificate (--tls-client-ca); off loopback the agent refuses to start\n"
    "without either unless --insecure is given. Refused calls get\n"
    "UNAUTHENTICATED with the reason, and are logged.\n"
    "\n"
    "Exit codes: 0 clean shutdown (or healthy); 1 usage or setup error (bad\n"
    "flag, port in use, unwritable data directory; or unhealthy), or the\n"
    "gRPC listening socket broke (so a supervisor restarts the agent).\n";

void RegisterAgentFlags(cli::FlagSet* flags, AgentCommandLine* cl) {
  flags->AddString("listen", &cl->listen,
                  "host:port of the gRPC service (port 0 picks a free port; "
                  "the port is printed).");
  flags->AddInt("metrics-port", &cl->metrics_port,
               "Port of the Prometheus /metrics endpoint (0 picks a free "
               "port). A port in use is an error.");
  flags->AddString("metrics-address", &cl->metrics_address,
                  "Address the /metrics endpoint binds to (default: the host "
                  "of -listen). Off loopback without "
                  "--metrics-basic-auth-file the agent warns at start.");
  flags->AddString("data-dir", &cl->data_dir,
                  "Directory for the databases; a run names a plain file "
                  "inside it (created when missing).");
  flags->AddString("agent-id", &cl->agent_id,
                  "Name of this agent in reports and metrics (default: the "
                  "host name).");
  flags->AddString("healthcheck", &cl->healthcheck,
                  "Instead of serving, ask the agent at this host:port for its "
                  "status and exit 0 if it answers, 1 if not (for container "
                  "health checks).");
  flags->AddString("metrics-listen", &cl->metrics_listen,
                  "host:port of /metrics, instead of -metrics-address and "
                  "-metrics-port (e.g. 127.0.0.1:8080 to keep it local).");
  flags->AddString("metrics-basic-auth-file", &cl->metrics_basic_auth_file,
                  "A file holding user:password (neither empty): /metrics "
                  "then requires HTTP basic auth with them (Prometheus: "
                  "basic_auth with password_file).");

  flags->AddSection("Who may start runs");
  flags->AddString("auth-token-file", &cl->auth.token_file,
                  "Require this shared token (the file's content, trimmed) "
                  "on every call; loadtest sends it with its own "
                  "--auth-token-file. Compared in constant time.");
  flags->AddString("tls-cert", &cl->auth.tls_cert_file,
                  "Serve gRPC over TLS with this certificate (PEM; with "
                  "--tls-key).");
  flags->AddString("tls-key", &cl->auth.tls_key_file,
                  "The private key of --tls-cert (PEM).");
  flags->AddString("tls-client-ca", &cl->auth.tls_client_ca_file,
                  "Mutual TLS: require every caller to present a client "
                  "certificate signed by this CA (PEM; needs --tls-cert).");
  flags->AddBool("insecure", &cl->insecure,
                "Accept a -listen address off loopback with neither "
                "--auth-token-file nor --tls-client-ca (refused otherwise): "
                "anyone who reaches the port can then start runs.");
  flags->AddString("tls-ca", &cl->healthcheck_ca,
                  "For --healthcheck only: the CA that signed the agent's "
                  "certificate (then --tls-cert/--tls-key are presented as "
                  "the client certificate, and --auth-token-file is sent).");

  flags->AddSection("Limits (0 = none); a run beyond one is refused, naming it");
  flags->AddInt("max-writers", &cl->limits.max_writers, "Most writers a run may ask for.");
  flags->AddInt("max-readers", &cl->limits.max_readers, "Most readers a run may ask for.");
  flags->AddDuration("max-duration", &cl->limits.max_duration,
                    "Longest run accepted.");
  flags->AddInt("max-db-bytes", &cl->limits.max_db_bytes,
               "A run stops (its final update says why) once the files in "
               "-data-dir (every database, with its WAL and journal while "
               "they exist) reach this many bytes in total, checked every "
               "10 ms; a run is refused when they already do. The WAL "
               "counts: a run may stop before the databases alone reach "
               "the limit.");

}

absl::Status ValidateAgentCommandLine(const AgentCommandLine& cl) {
  const std::pair<const char*, std::string> limit_values[] = {
      {"max-writers", std::to_string(cl.limits.max_writers)},
      {"max-readers", std::to_string(cl.limits.max_readers)},
      {"max-db-bytes", std::to_string(cl.limits.max_db_bytes)},
      {"max-duration", cli::FormatDuration(cl.limits.max_duration)}};
  for (const auto& [flag, value] : limit_values) {
    if (value.front() == '-') {  // Negative.
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be >= 0 (0 = no limit), got ", value));
    }
  }
  if (cl.metrics_port < 0 || cl.metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics-port must be between 0 and 65535, got ", cl.metrics_port));
  }
  return absl::OkStatus();
}

}  // namespace loadtest::agent
