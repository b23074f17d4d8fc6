// The `loadtest-agent` command line: its flags and --help, and the checks of
// what was typed. Used by agent/main.cc; reads no file.
#ifndef LOADTEST_AGENT_AGENT_FLAGS_H_
#define LOADTEST_AGENT_AGENT_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "cli/flag_set.h"
#include "protocol/run_spec.h"
#include "security/auth.h"

namespace loadtest::agent {

// What the flags are bound to.
struct AgentCommandLine {
  std::string listen = "0.0.0.0:7070";
  int64_t metrics_port = 8080;
  std::string metrics_address;  // Default: the host of `listen`.
  std::string metrics_listen;  // host:port; overrides the two above.
  std::string metrics_basic_auth_file;
  std::string data_dir = "/var/lib/opentrail-load";
  std::string agent_id;     // Default: the host name.
  std::string healthcheck;  // host:port to probe instead of serving.
  std::string healthcheck_ca;
  security::ServerAuthOptions auth;
  // Serve a non-loopback --listen without a token or client certificates.
  bool insecure = false;
  protocol::AgentLimits limits;
};

// The intro of `loadtest-agent --help`.
extern const char kAgentIntro[];

// Adds every loadtest-agent flag to `flags`, bound to `cl` (which must
// outlive the parse).
void RegisterAgentFlags(cli::FlagSet* flags, AgentCommandLine* cl);

// InvalidArgument naming the flag and the value: a negative limit, a
// metrics port outside 0..65535.
absl::Status ValidateAgentCommandLine(const AgentCommandLine& cl);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_FLAGS_H_
