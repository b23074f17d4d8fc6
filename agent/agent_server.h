// ServeAgent: the `loadtest-agent` process once its flags are read. Checks
// the data directory, starts /metrics and the LoadAgent gRPC service (on
// connections it accepts itself: agent_listener.h), prints where it
// listens, and serves until SIGINT or SIGTERM (or until its listening
// socket breaks: exit 1), then stops any run (it drains, audits and sends
// its final update) and shuts the server down.
#ifndef LOADTEST_AGENT_AGENT_SERVER_H_
#define LOADTEST_AGENT_AGENT_SERVER_H_

#include "absl/status/status.h"
#include "agent/agent_flags.h"

namespace loadtest::agent {

// Must be called from the main thread before any other thread starts (it
// installs the SIGINT/SIGTERM handling). OK after a clean shutdown; an
// error naming the flag, file or address when the agent cannot start
// (unreadable credentials, an unwritable data directory, a port in use).
absl::Status ServeAgent(const AgentCommandLine& cl);

// --healthcheck: asks the agent at `address` for its status with the
// credentials a controller would use. OK (the status line printed) when it
// answers; Unavailable naming the address otherwise.
absl::Status CheckAgentHealth(const AgentCommandLine& cl);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_SERVER_H_
