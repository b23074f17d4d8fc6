#include "tests/e2e/agent_process.h"

#include <utility>

#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace loadtest::testing {
namespace {

constexpr std::chrono::seconds kStartDeadline{60};

// The port after the last ':' of the "HOST:PORT" that follows `label` in
// `line`, or 0.
int PortAfter(const std::string& line, const std::string& label) {
  const size_t at = line.find(label);
  if (at == std::string::npos) return 0;
  const size_t begin = at + label.size();
  const size_t end = line.find_first_of(",/ ", begin);
  const std::string address = line.substr(begin, end - begin);
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string Unbracketed(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

AgentProcess::AgentProcess(Options options)
    : launcher_(options.launcher),
      extra_args_(options.extra_args),
      host_(options.host),
      id_(options.id),
      process_(Argv(options)) {}

AgentProcess::AgentProcess(const std::string& data_dir, const std::string& id,
                           const std::string& host)
    : AgentProcess(Options{data_dir, id, host, 0, "", {}, {}}) {}

std::vector<std::string> AgentProcess::Argv(const Options& options) {
  std::vector<std::string> argv = options.launcher;
  const std::string metrics_host = options.metrics_host.empty()
                                       ? Unbracketed(options.host)
                                       : options.metrics_host;
  for (std::string arg :
       {std::string(LOADTEST_AGENT_BIN),
        "--listen=" + options.host + ":" + std::to_string(options.port),
        std::string("--metrics-port=0"), "--data-dir=" + options.data_dir,
        "--agent-id=" + options.id}) {
    argv.push_back(std::move(arg));
  }
  // An IPv6 host without a metrics host: the agent's own choice (its
  // /metrics may not bind IPv6).
  if (!options.metrics_host.empty() || options.host.empty() ||
      options.host.front() != '[') {
    argv.push_back("--metrics-address=" + metrics_host);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

bool AgentProcess::Start() {
  std::string error, line;
  if (!process_.Start(&error)) {
    ADD_FAILURE() << error;
    return false;
  }
  if (!process_.WaitForLine("listening on", kStartDeadline, &line)) {
    ADD_FAILURE() << "agent " << id_
                  << " did not start: " << process_.stderr_text();
    return false;
  }
  port_ = PortAfter(line, "listening on ");
  metrics_port_ = PortAfter(line, "metrics on ");
  if (port_ == 0 || metrics_port_ == 0) {
    ADD_FAILURE() << "no ports in the agent's first line: " << line;
    return false;
  }
  return true;
}

ProcessResult AgentProcess::HealthCheck() const {
  std::vector<std::string> argv = launcher_;
  argv.push_back(LOADTEST_AGENT_BIN);
  argv.push_back("--healthcheck=" + address());
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  return RunAndWait(argv);
}

bool AgentProcess::WaitUntilIdle(std::chrono::milliseconds deadline,
                                 std::string* last_answer) const {
  return WaitUntil(
      [&] {
        const ProcessResult answer = HealthCheck();
        if (last_answer != nullptr) {
          *last_answer = answer.stdout_text + answer.stderr_text;
        }
        return answer.exit_code == 0 &&
               answer.stdout_text.find("(idle)") != std::string::npos;
      },
      deadline);
}

::opentrail::loadtest::v1::RunSpec SmallRunSpec(const std::string& run_id,
                                                std::chrono::seconds duration) {
  protocol::RunSpec spec;
  spec.run_id = run_id;
  spec.workload.writers = 4;
  spec.workload.readers = 2;
  spec.duration = duration;
  spec.log_interval = std::chrono::milliseconds(500);
  ::opentrail::loadtest::v1::RunSpec wire;
  protocol::ToProto(spec, &wire);
  wire.set_db_name("agent.db");
  return wire;
}

}  // namespace loadtest::testing
