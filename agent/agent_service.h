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
#include "security/auth.h"

namespace loadtest::agent {

// What an agent accepts (loadtest-agent --max-*); 0 means no limit.
struct AgentLimits {
  int max_writers = 0;
  int max_readers = 0;
  std::chrono::nanoseconds max_duration{0};
  int64_t max_db_bytes = 0;

  // OK, or PermissionDenied naming the limit and its flag: "the run asks
  // for 50 writers; agent a1 allows at most 20 (--max-writers)".
  absl::Status Check(const RunSpec& spec, const std::string& agent_id) const;
};

// The channel settings of every server that serves LoadAgent (the agent,
// the fake fleet): a vanished controller is noticed within seconds
// (keepalive 1 s / 1 s), and controllers may ping every second, also
// between updates.
void ConfigureAgentServer(grpc::ServerBuilder* builder);

// The limits an agent announces in its AgentStatus.
AgentLimits LimitsFromProto(const opentrail::loadtest::v1::AgentLimits& limits);

struct AgentServiceOptions {
  // Checks every call; null: anyone may call (plaintext, no token).
  const security::ServerAuth* auth = nullptr;
  AgentLimits limits;
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
