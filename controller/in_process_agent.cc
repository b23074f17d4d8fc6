#include "controller/in_process_agent.h"

#include "absl/strings/str_cat.h"
#include "cli/version.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "protocol/run_spec.h"

namespace loadtest::controller {

absl::StatusOr<std::unique_ptr<InProcessAgent>> InProcessAgent::Start(
    const std::string& metrics_listen, const std::string& data_dir) {
  const std::string hostname = agent::LocalHostname();
  const agent::AgentIdentity identity{hostname, cli::kVersion, hostname};
  auto metrics =
      agent::MetricsServer::Start(metrics_listen, identity, "", data_dir);
  if (!metrics.ok()) {
    return absl::Status(metrics.status().code(),
                        absl::StrCat(metrics.status().message(),
                                     "; choose another with -metrics-port"));
  }
  std::unique_ptr<InProcessAgent> agent(new InProcessAgent());
  agent->metrics_ = std::move(*metrics);
  agent::AgentServiceOptions options;
  // The controller reports every run event itself.
  options.log_runs = false;
  // -db names the file, through whatever folders the user chose.
  options.refuse_symlinks = false;
  agent->service_ = std::make_unique<agent::AgentService>(
      identity, data_dir, agent->metrics_.get(), options);
  grpc::ServerBuilder builder;
  // A RunSpec carries a messages file (protocol::kMaxMessagesFileBytes).
  builder.SetMaxReceiveMessageSize(protocol::kMaxRunSpecBytes);
  builder.RegisterService(agent->service_.get());
  agent->server_ = builder.BuildAndStart();
  if (agent->server_ == nullptr) {
    return absl::InternalError("cannot start the in-process agent");
  }
  return agent;
}

InProcessAgent::~InProcessAgent() {
  if (server_ == nullptr) return;
  service_->Shutdown("the controller is exiting");
  server_->Shutdown();
  server_->Wait();
}

std::shared_ptr<grpc::Channel> InProcessAgent::channel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

}  // namespace loadtest::controller
