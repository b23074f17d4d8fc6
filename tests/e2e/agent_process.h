// A `loadtest-agent` child process for end-to-end tests (started, its ports
// read from its first line, health-checked), and a valid wire RunSpec to send
// one directly over gRPC.
//
// Thread-safety: an AgentProcess belongs to the test that made it; one thread
// at a time.
#ifndef LOADTEST_TESTS_E2E_AGENT_PROCESS_H_
#define LOADTEST_TESTS_E2E_AGENT_PROCESS_H_

#include <chrono>
#include <string>
#include <vector>

#include "proto/loadtest.pb.h"
#include "tests/e2e/subprocess.h"

namespace loadtest::testing {

// One loadtest-agent with free ports (unless `port` is given), killed with
// SIGKILL by the destructor if it still runs.
class AgentProcess {
 public:
  struct Options {
    std::string data_dir;
    std::string id;
    // --listen host as a target names it: "127.0.0.2", "[::1]".
    std::string host = "127.0.0.1";
    int port = 0;  // 0: the agent picks a free port.
    // --metrics-address; empty: `host`, or for an IPv6 host ("[::1]") the
    // agent's default.
    std::string metrics_host;
    // Prepended to the agent's command line (and its health check), e.g.
    // {"/usr/sbin/ip", "netns", "exec", "ns1"}; argv[0] must be a path.
    std::vector<std::string> launcher;
    // Appended to the agent's command line and to its health check's (e.g.
    // --auth-token-file=..., --tls-cert=...).
    std::vector<std::string> extra_args;
  };

  explicit AgentProcess(Options options);
  AgentProcess(const std::string& data_dir, const std::string& id,
               const std::string& host = "127.0.0.1");

  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Starts it and reads the ports it printed. False (with a test failure)
  // when it did not come up.
  bool Start();

  // host:port, as a controller's --agents names this agent.
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& id() const { return id_; }
  Subprocess& process() { return process_; }

  // Runs `loadtest-agent --healthcheck=address()` (through the launcher):
  // exit 0 and "... is healthy (idle)" or "(running RUNID)" when it answers.
  ProcessResult HealthCheck() const;
  // Polls HealthCheck() until it reports idle; false if `deadline` passes
  // first. *last_answer (if not null) gets the last answer's output.
  bool WaitUntilIdle(std::chrono::milliseconds deadline,
                     std::string* last_answer = nullptr) const;

 private:
  static std::vector<std::string> Argv(const Options& options);

  const std::vector<std::string> launcher_;
  const std::vector<std::string> extra_args_;
  const std::string host_;
  const std::string id_;
  Subprocess process_;
  int port_ = 0;
  int metrics_port_ = 0;
};

// A valid RunSpec on the wire for database "agent.db": 4 writers, 2 readers,
// 500 ms interval, no start delay.
::opentrail::loadtest::v1::RunSpec SmallRunSpec(const std::string& run_id,
                                                std::chrono::seconds duration);

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_E2E_AGENT_PROCESS_H_
