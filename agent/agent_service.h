// AgentService: the LoadAgent gRPC service of `loadtest-agent`. Runs one load
// test at a time (AgentRun), streaming one RunUpdate per log interval.
//
// A second Run while one is active gets FAILED_PRECONDITION naming the
// active run; a bad RunSpec gets INVALID_ARGUMENT with the reason. When the
// controller goes away (call cancelled, stream broken, keepalive failure),
// the run is stopped at the next interval boundary, audited, and the agent
// returns to idle. Thread-safety: gRPC calls the handlers from its threads;
// Shutdown() may be called from any thread.
#ifndef LOADTEST_AGENT_AGENT_SERVICE_H_
#define LOADTEST_AGENT_AGENT_SERVICE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/agent_run.h"
#include "agent/metrics_server.h"
#include "grpcpp/server_builder.h"
#include "proto/loadtest.grpc.pb.h"
#include "protocol/run_spec.h"
#include "security/auth.h"

namespace loadtest::agent {


// The channel settings of every server that serves LoadAgent (the agent,
// the fake fleet): a vanished controller is noticed within seconds
// (keepalive 1 s / 1 s), and controllers may ping every second, also
// between updates.
void ConfigureAgentServer(grpc::ServerBuilder* builder);


struct AgentServiceOptions {
  // Checks every call; null: anyone may call (plaintext, no token).
  const security::ServerAuth* auth = nullptr;
  protocol::AgentLimits limits;
  // Log each run's start, end and refusals on stderr (loadtest-agent); off
  // for the controller's in-process agent, which reports them itself.
  bool log_runs = true;
};

class AgentService final : public opentrail::loadtest::v1::LoadAgent::Service {
 public:
  // `metrics` (and options.auth, when set) must outlive the service.
  AgentService(AgentIdentity identity, std::string data_dir,
               MetricsServer* metrics, AgentServiceOptions options = {});

  grpc::Status GetStatus(grpc::ServerContext* context,
                         const opentrail::loadtest::v1::StatusRequest* request,
                         opentrail::loadtest::v1::AgentStatus* reply) override;
  grpc::Status Run(
      grpc::ServerContext* context,
      const opentrail::loadtest::v1::RunSpec* spec,
      grpc::ServerWriter<opentrail::loadtest::v1::RunUpdate>* writer) override;
  grpc::Status Stop(grpc::ServerContext* context,
                    const opentrail::loadtest::v1::StopRequest* request,
                    opentrail::loadtest::v1::StopReply* reply) override;

  // Refuses new runs, asks the active run (if any) to stop with `reason`,
  // and returns once it has sent its final update.
  void Shutdown(const std::string& reason);

 private:
  // OK, or (logged) UNAUTHENTICATED from options_.auth.
  grpc::Status Authenticate(const grpc::ServerContext& context,
                            const char* method) const;

  // `line` on stderr, prefixed, when options_.log_runs.
  void Log(const std::string& line) const;

  const AgentIdentity identity_;
  const std::string data_dir_;
  MetricsServer* const metrics_;
  const AgentServiceOptions options_;

  std::mutex mu_;
  std::condition_variable changed_;
  AgentRun* active_ = nullptr;     // Guarded by mu_. Owned by its Run call.
  std::string active_run_id_;      // Guarded by mu_.
  bool shutting_down_ = false;     // Guarded by mu_.
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_SERVICE_H_
