#include "agent/agent_service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/accept_run.h"
#include "cli/flag_set.h"
#include "grpcpp/resource_quota.h"
#include "protocol/peer_text.h"
#include "protocol/validity.h"
#include "stats/health.h"
#include "protocol/wire.h"

namespace loadtest::agent {

namespace pb = protocol::pb;
using protocol::ToProto;
using protocol::ToGrpcStatus;
using protocol::RunSpec;
using protocol::IntervalUpdate;
using protocol::kDurationReached;
namespace {

void LogLine(const std::string& line) {
  std::fprintf(stderr, "loadtest-agent: %s\n", line.c_str());
  std::fflush(stderr);
}

// The std::system_error of a thread the system refused, as a status.
grpc::Status ThreadRefused(const std::system_error& e) {
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("cannot start a thread: ", e.what(),
                   "; the agent's thread limit (RLIMIT_NPROC, a container's "
                   "pids limit, systemd's TasksMax) is too low for this run"));
}

}  // namespace


void ConfigureAgentServer(grpc::ServerBuilder* builder) {
  // A RunSpec carries a messages file (protocol::kMaxMessagesFileBytes).
  builder->SetMaxReceiveMessageSize(protocol::kMaxRunSpecBytes);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                              protocol::kKeepalivePingMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              protocol::kKeepaliveTimeoutMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 8);
  grpc::ResourceQuota quota("loadtest-agent");
  quota.SetMaxThreads(kMaxServerThreads);
  builder->SetResourceQuota(quota);
}

// Clears the service's active run when the Run call leaves by any path.
class AgentService::ActiveRunGuard {
 public:
  explicit ActiveRunGuard(AgentService* service) : service_(service) {}
  ~ActiveRunGuard() {
    service_->metrics_->SetRunActive(false);
    service_->metrics_->SetHealth(nullptr);
    sync::MutexLock lock(&service_->mu_);
    service_->active_ = nullptr;
    service_->active_run_id_.clear();
    service_->changed_.NotifyAll();
  }
  ActiveRunGuard(const ActiveRunGuard&) = delete;
  ActiveRunGuard& operator=(const ActiveRunGuard&) = delete;

 private:
  AgentService* const service_;
};

void AgentService::Log(const std::string& line) const {
  if (options_.log_runs) LogLine(line);
}

AgentService::AgentService(AgentIdentity identity, std::string data_dir,
                           MetricsServer* metrics, AgentServiceOptions options)
    : identity_(std::move(identity)),
      data_dir_(std::move(data_dir)),
      metrics_(metrics),
      options_(std::move(options)) {}

grpc::Status AgentService::Authenticate(const grpc::ServerContext& context,
                                        const char* method) {
  if (options_.auth == nullptr || !options_.auth->authenticates()) {
    return grpc::Status::OK;
  }
  // An address that failed too often is refused before its credentials are
  // looked at, and not logged again (one line when it was held off).
  const std::string host = security::PeerHost(context.peer());
  if (const auto wait = failed_attempts_.Wait(host);
      wait > std::chrono::seconds::zero()) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        absl::StrCat("too many failed attempts from ", host,
                                     "; try again in ", seconds, "s"));
  }
  grpc::Status status = options_.auth->Check(context);
  if (!status.ok()) {
    Log(absl::StrCat("refused ", method, " from ", context.peer(),
                     ": UNAUTHENTICATED: ", status.error_message()));
    if (failed_attempts_.RecordFailure(host)) {
      Log(absl::StrCat("refusing calls from ", host,
                       " for a while: ", security::FailedAttemptLimiter::kBurst,
                       " failed attempts (then one more every ",
                       security::FailedAttemptLimiter::kRefill.count(), "s)"));
    }
  }
  return status;
}

grpc::Status AgentService::GetStatus(grpc::ServerContext* context,
                                     const pb::StatusRequest*,
                                     pb::AgentStatus* reply) {
  if (grpc::Status s = Authenticate(*context, "GetStatus"); !s.ok()) return s;
  pb::AgentLimits* limits = reply->mutable_limits();
  limits->set_max_writers(options_.limits.max_writers);
  limits->set_max_readers(options_.limits.max_readers);
  limits->set_max_duration_ns(options_.limits.max_duration.count());
  limits->set_max_db_bytes(options_.limits.max_db_bytes);
  reply->set_agent_id(identity_.agent_id);
  reply->set_version(identity_.version);
  reply->set_hostname(identity_.hostname);
  reply->set_metrics_port(metrics_->port());
  sync::MutexLock lock(&mu_);
  reply->set_state(active_ != nullptr ? pb::AgentStatus::RUNNING
                                      : pb::AgentStatus::IDLE);
  reply->set_run_id(active_run_id_);
  return grpc::Status::OK;
}

grpc::Status AgentService::Stop(grpc::ServerContext* context,
                                const pb::StopRequest* request,
                                pb::StopReply*) {
  if (grpc::Status s = Authenticate(*context, "Stop"); !s.ok()) return s;
  // The reason goes into the run's final update and the agent's log.
  if (request->reason().size() > kMaxStopReasonBytes ||
      !protocol::IsPrintableText(request->reason())) {
    Log(absl::StrCat("refused Stop from ", context->peer(),
                     ": reason not printable: \"",
                     protocol::PeerText(request->reason(), 200), "\""));
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("reason must be at most ", kMaxStopReasonBytes,
                     " printable characters, got \"",
                     protocol::PeerText(request->reason(), 200), "\""));
  }
  sync::MutexLock lock(&mu_);
  if (active_ == nullptr || request->run_id() != active_run_id_) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("agent ", identity_.agent_id,
                                     " has no active run \"",
                                     protocol::PeerText(request->run_id(), 200),
                                     "\""));
  }
  Log(absl::StrCat("run ", active_run_id_, ": Stop from ", context->peer(),
                   request->reason().empty() ? "" : ": ", request->reason()));
  active_->RequestStop(request->reason().empty() ? "stopped by the controller"
                                                 : request->reason());
  return grpc::Status::OK;
}

grpc::Status AgentService::Run(grpc::ServerContext* context,
                               const pb::RunSpec* wire_spec,
                               grpc::ServerWriter<pb::RunUpdate>* writer) {
  if (grpc::Status s = Authenticate(*context, "Run"); !s.ok()) return s;
  const absl::StatusOr<RunSpec> spec = AcceptRunSpec(
      *wire_spec, RunAcceptance{data_dir_, options_.limits, identity_.agent_id,
                                options_.refuse_symlinks});
  if (!spec.ok()) {
    Log(absl::StrCat("refused run ", protocol::PeerText(wire_spec->run_id(), 200),
                     " from ", context->peer(), ": ", spec.status().message()));
    return ToGrpcStatus(spec.status());
  }
  AgentRun run(*spec, metrics_->store_metrics());
  const int64_t max_db_bytes = options_.limits.max_db_bytes;
  // gRPC marks the call cancelled when the controller cancels it or its
  // connection dies (keepalive): stop within 100 ms of that.
  const std::string data_dir = data_dir_;
  run.StopWhen([context, data_dir, max_db_bytes]() -> std::string {
    if (context->IsCancelled()) return "the controller went away";
    if (max_db_bytes > 0) {
      const int64_t bytes = DataDirBytes(data_dir);
      if (bytes >= max_db_bytes) return DataDirOverLimit(bytes, max_db_bytes);
    }
    return "";
  });
  {
    sync::MutexLock lock(&mu_);
    if (shutting_down_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("agent ", identity_.agent_id,
                                       " is shutting down"));
    }
    if (active_ != nullptr) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("agent ", identity_.agent_id, " is busy with run ",
                       active_run_id_));
    }
    active_ = &run;
    active_run_id_ = spec->run_id;
  }
  const ActiveRunGuard guard(this);
  try {
    return RunActive(context, *wire_spec, *spec, &run, writer);
  } catch (const std::system_error& e) {
    // A thread the store could not start (its batch writer): the run never
    // began; the guard leaves the agent idle.
    Log(absl::StrCat("run ", spec->run_id, " could not start: ", e.what()));
    return ThreadRefused(e);
  }
}

grpc::Status AgentService::RunActive(grpc::ServerContext* context,
                                     const pb::RunSpec& wire_spec,
                                     const RunSpec& spec, AgentRun* run,
                                     grpc::ServerWriter<pb::RunUpdate>* writer) {
  Log(absl::StrCat("run ", spec.run_id, " from ", context->peer(), ": ",
                   spec.workload.writers, " writers, ", spec.workload.readers,
                   " readers on ", spec.store.path));

  // Start together with the other agents: the controller sent the same
  // delay to all of them. A caller that leaves meanwhile ends the wait (the
  // sync API has no cancellation callback: looked at every 50 ms).
  {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start_at =
        Clock::now() + std::chrono::nanoseconds(wire_spec.start_after_ns());
    sync::MutexLock lock(&mu_);
    while (!shutting_down_ && Clock::now() < start_at) {
      if (context->IsCancelled()) {
        Log(absl::StrCat("run ", spec.run_id,
                         " not started: the controller went away"));
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "the controller went away before the start");
      }
      changed_.WaitUntil(&mu_, std::min(start_at, Clock::now() +
                                                    std::chrono::milliseconds(50)));
    }
  }

  metrics_->SetRunActive(true);
  bool controller_gone = false;
  stats::HealthJudge health;
  const absl::Status status = run->Run([&](const IntervalUpdate& update) {
    const stats::HealthState state =
        health.Judge(protocol::HealthSampleOf(update)).state;
    metrics_->SetHealth(&state);
    if (context->IsCancelled()) {
      controller_gone = true;
    } else {
      pb::RunUpdate message;
      ToProto(update, &message);
      message.set_agent_id(identity_.agent_id);
      message.set_run_id(spec.run_id);
      if (!writer->Write(message)) controller_gone = true;
    }
    if (controller_gone && !update.final) {
      run->RequestStop("the controller went away");
    }
    if (update.final) {
      Log(absl::StrCat("run ", spec.run_id, " ended (", update.stop_reason,
                       "); audit ",
                       update.audit.has_value() && update.audit->passed()
                           ? "passed"
                           : "FAILED",
                       controller_gone ? "; controller gone, final update not delivered"
                                       : ""));
    }
  });
  if (!status.ok()) {
    Log(absl::StrCat("run ", spec.run_id, " could not start: ",
                     status.message()));
  }
  return ToGrpcStatus(status);
}

void AgentService::Shutdown(const std::string& reason) {
  sync::MutexLock lock(&mu_);
  shutting_down_ = true;
  changed_.NotifyAll();
  if (active_ != nullptr) active_->RequestStop(reason);
  while (active_ != nullptr) changed_.Wait(&mu_);
}

}  // namespace loadtest::agent
