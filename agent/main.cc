// loadtest-agent: serves the LoadAgent gRPC service and its own /metrics
// until SIGTERM (agent/agent_server.h), or with --healthcheck asks another
// agent whether it answers. Parses flags, runs, maps the result to an exit
// code.
#include <cstdio>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "agent/agent_flags.h"
#include "agent/agent_server.h"
#include "cli/flag_set.h"

int main(int argc, char** argv) {
  namespace agent = loadtest::agent;
  agent::AgentCommandLine command_line;
  loadtest::cli::FlagSet flags("loadtest-agent", agent::kAgentIntro);
  agent::RegisterAgentFlags(&flags, &command_line);
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;  // 0 after --help, 1 on a bad command line.
  }
  if (flags.IsSet("healthcheck") && command_line.healthcheck.empty()) {
    // Not "serve": a supervisor's probe that lost its address must fail.
    std::fprintf(stderr,
                 "loadtest-agent: --healthcheck needs the agent's address "
                 "(HOST:PORT), got an empty value\n");
    return 1;
  }
  absl::Status status = command_line.healthcheck.empty()
                            ? agent::ValidateAgentCommandLine(command_line)
                            : agent::CheckAgentHealth(command_line);
  if (status.ok() && command_line.healthcheck.empty()) {
    status = agent::ServeAgent(command_line);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "loadtest-agent: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
