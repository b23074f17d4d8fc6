// Agent discovery: turns the `--agents` flag into the list of gRPC targets
// the controller connects to, one per agent. Entries are `host:port`
// (IPv6 literals in brackets: `[::1]:7070`) or `dns:///name:port`, which
// stands for every A/AAAA record of `name` (docker compose `--scale`, a
// Kubernetes headless service). gRPC's own dns:/// resolver would balance
// one channel over those addresses and so reach just one agent; here each
// address becomes its own target, hence its own channel and agent.
//
// Pure apart from DNS lookups (getaddrinfo); safe from any thread.
#ifndef LOADTEST_CONTROLLER_AGENT_DISCOVERY_H_
#define LOADTEST_CONTROLLER_AGENT_DISCOVERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loadtest::controller {

// One `--agents` entry, parsed but not resolved.
struct AgentEntry {
  std::string text;  // The entry as given, for messages.
  bool dns = false;  // `dns:///name:port`: every address of `host`.
  std::string host;  // Without brackets: "agent1", "10.0.0.7", "::1".
  int port = 0;      // 1..65535.
};

// Splits and checks `--agents` (comma-separated; blanks around entries are
// ignored). InvalidArgument naming the offending entry: an empty list or
// entry, a missing, non-numeric or out-of-range port, an IPv6 address
// without brackets, a dns: form other than `dns:///name:port`.
absl::StatusOr<std::vector<AgentEntry>> ParseAgentEntries(
    absl::string_view agents_flag);

// The gRPC target of one address: "host:port", "[v6]:port".
std::string FormatTarget(const std::string& host, int port);

// ParseAgentEntries, then one target per agent: a host:port entry as given,
// a dns:/// entry as every address its name resolves to (numeric, so each
// channel reaches exactly that agent). Targets are deduplicated, first
// occurrence kept, in flag order. Errors: those of ParseAgentEntries, and
// Unavailable naming the entry when a name does not resolve.
absl::StatusOr<std::vector<std::string>> ResolveAgentTargets(
    absl::string_view agents_flag);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_AGENT_DISCOVERY_H_
