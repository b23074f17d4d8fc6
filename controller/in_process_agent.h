// InProcessAgent: the embedded default's agent. The same AgentService that
// `loadtest-agent` serves, with its own /metrics endpoint, run inside the
// controller's process and reached over gRPC's in-process channel, so an
// in-process run takes exactly the path of a distributed run with one agent.
//
// Thread-safety: construct and destroy on one thread; channel() and the
// accessors are safe from any thread.
#ifndef LOADTEST_CONTROLLER_IN_PROCESS_AGENT_H_
#define LOADTEST_CONTROLLER_IN_PROCESS_AGENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/agent_service.h"
#include "agent/metrics_server.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"

namespace loadtest::controller {

class InProcessAgent {
 public:
  // Serves /metrics on `metrics_listen` ("0.0.0.0:8080") and the LoadAgent
  // service on an in-process channel; databases are resolved in `data_dir`.
  // Unavailable naming the address when /metrics cannot be bound (the
  // message says to choose another -metrics-port).
  static absl::StatusOr<std::unique_ptr<InProcessAgent>> Start(
      const std::string& metrics_listen, const std::string& data_dir);
  ~InProcessAgent();  // Stops any run still going, then the server.

  InProcessAgent(const InProcessAgent&) = delete;
  InProcessAgent& operator=(const InProcessAgent&) = delete;

  std::shared_ptr<grpc::Channel> channel();
  int metrics_port() const { return metrics_->port(); }

 private:
  InProcessAgent() = default;

  std::unique_ptr<agent::MetricsServer> metrics_;
  std::unique_ptr<agent::AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_IN_PROCESS_AGENT_H_
