// AgentService: the LoadAgent gRPC service of `loadtest-agent`. Runs one load
// test at a time (AgentRun), streaming one RunUpdate per log interval.
//
// A second Run while one is active gets FAILED_PRECONDITION naming the
// active run; a bad RunSpec gets INVALID_ARGUMENT with the reason (also a
// run_id, db name or Stop reason that is not printable text); a run that
// does not fit the process's thread or file limits, or that cannot start
// its threads, gets RESOURCE_EXHAUSTED naming the limit, and the agent stays
// idle and usable. A database name that is a symbolic link in the data
// directory is refused (FAILED_PRECONDITION). When the
// controller goes away (call cancelled, stream broken, keepalive failure),
// the run is stopped at the next interval boundary, audited, and the agent
// returns to idle. An address whose calls fail authentication 10 times is
// held off (security::FailedAttemptLimiter): its calls get UNAUTHENTICATED
// unchecked until it may try again. Thread-safety: gRPC calls the handlers
// from its threads;
// Shutdown() may be called from any thread.
#ifndef LOADTEST_AGENT_AGENT_SERVICE_H_
#define LOADTEST_AGENT_AGENT_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "agent/agent_run.h"
#include "agent/metrics_server.h"
#include "grpcpp/server_builder.h"
#include "proto/loadtest.grpc.pb.h"
#include "protocol/run_spec.h"
#include "security/auth.h"
#include "security/failed_attempts.h"
#include "sync/mutex.h"

namespace loadtest::agent {


// The channel settings of every server that serves LoadAgent (the agent,
// the fake fleet): a vanished controller is noticed within about 11 s
// (keepalive: protocol::kKeepalivePingMs, kKeepaliveTimeoutMs), and
// controllers may ping every second, also between updates. Bounded against
// idle or hostile connections: a connection must finish its handshake
// within 10 s, one with no call for 5 minutes is closed, each carries at
// most 8 concurrent calls, and the server runs at most kMaxServerThreads
// handler threads (further calls get RESOURCE_EXHAUSTED). No maximum
// connection age: a run's stream lasts as long as the run (up to 168h).
void ConfigureAgentServer(grpc::ServerBuilder* builder);
inline constexpr int kMaxServerThreads = 64;

// The longest Stop reason an agent accepts, in bytes.
inline constexpr size_t kMaxStopReasonBytes = 1024;


struct AgentServiceOptions {
  // Checks every call; null: anyone may call (plaintext, no token).
  const security::ServerAuth* auth = nullptr;
  protocol::AgentLimits limits;
  // Log each run's start, end and refusals on stderr (loadtest-agent); off
  // for the controller's in-process agent, which reports them itself.
  bool log_runs = true;
  // Open each run's database with no symbolic link allowed anywhere in its
  // path (storage::StoreOptions::refuse_symlinks), so a link planted in the
  // data directory after the agent's own check cannot lead its writes
  // outside. `data_dir` must then be canonical (loadtest-agent resolves
  // --data-dir). Off for the controller's in-process agent: there the user
  // names the database file (-db) and its folder may be reached by a link.
  bool refuse_symlinks = true;
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
  void Shutdown(const std::string& reason) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // OK, or (logged) UNAUTHENTICATED from options_.auth; also
  // UNAUTHENTICATED, unchecked, for an address that failed too often
  // (security::FailedAttemptLimiter).
  grpc::Status Authenticate(const grpc::ServerContext& context,
                            const char* method);

  // `line` on stderr, prefixed, when options_.log_runs.
  void Log(const std::string& line) const;

  const AgentIdentity identity_;
  const std::string data_dir_;
  MetricsServer* const metrics_;
  const AgentServiceOptions options_;
  security::FailedAttemptLimiter failed_attempts_;

  // Runs `run` (already registered as active_) once its start time came;
  // returns how it ended.
  grpc::Status RunActive(grpc::ServerContext* context,
                         const opentrail::loadtest::v1::RunSpec& wire_spec,
                         const protocol::RunSpec& spec, AgentRun* run,
                         grpc::ServerWriter<opentrail::loadtest::v1::RunUpdate>*
                             writer) ABSL_LOCKS_EXCLUDED(mu_);

  // Clears the active run when its Run call leaves, however it leaves
  // (returned, refused while starting, threw).
  class ActiveRunGuard;

  sync::Mutex mu_;
  // Signalled when the active run ends or shutdown begins.
  sync::CondVar changed_;
  AgentRun* active_ ABSL_GUARDED_BY(mu_) = nullptr;  // Owned by its Run call.
  std::string active_run_id_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_SERVICE_H_
