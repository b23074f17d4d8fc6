#include "agent/agent_service.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "protocol/wire.h"
#include "cli/flag_set.h"

namespace loadtest::agent {

namespace pb = protocol::pb;
using protocol::FromProto;
using protocol::ToProto;
using protocol::ToGrpcStatus;
using protocol::DatabasePath;
using protocol::RunSpec;
using protocol::IntervalUpdate;
using protocol::kDurationReached;
namespace {

void LogLine(const std::string& line) {
  std::fprintf(stderr, "loadtest-agent: %s\n", line.c_str());
  std::fflush(stderr);
}

// The database file and its WAL, in bytes (missing files count 0).
int64_t DatabaseBytes(const std::string& path) {
  int64_t total = 0;
  for (const std::string& file : {path, path + "-wal"}) {
    struct stat st {};
    if (stat(file.c_str(), &st) == 0) total += st.st_size;
  }
  return total;
}

}  // namespace


void ConfigureAgentServer(grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
}


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
                                        const char* method) const {
  if (options_.auth == nullptr) return grpc::Status::OK;
  grpc::Status status = options_.auth->Check(context);
  if (!status.ok()) {
    Log(absl::StrCat("refused ", method, " from ", context.peer(),
                     ": UNAUTHENTICATED: ", status.error_message()));
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
  std::lock_guard<std::mutex> lock(mu_);
  reply->set_state(active_ != nullptr ? pb::AgentStatus::RUNNING
                                      : pb::AgentStatus::IDLE);
  reply->set_run_id(active_run_id_);
  return grpc::Status::OK;
}

grpc::Status AgentService::Stop(grpc::ServerContext* context,
                                const pb::StopRequest* request,
                                pb::StopReply*) {
  if (grpc::Status s = Authenticate(*context, "Stop"); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (active_ == nullptr || request->run_id() != active_run_id_) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("agent ", identity_.agent_id,
                                     " has no active run \"",
                                     request->run_id(), "\""));
  }
  active_->RequestStop(request->reason().empty() ? "stopped by the controller"
                                                 : request->reason());
  return grpc::Status::OK;
}

grpc::Status AgentService::Run(grpc::ServerContext* context,
                               const pb::RunSpec* wire_spec,
                               grpc::ServerWriter<pb::RunUpdate>* writer) {
  if (grpc::Status s = Authenticate(*context, "Run"); !s.ok()) return s;
  absl::StatusOr<RunSpec> spec = FromProto(*wire_spec, data_dir_);
  if (spec.ok()) {
    if (absl::Status limit = options_.limits.Check(*spec, identity_.agent_id);
        !limit.ok()) {
      spec = limit;
    }
  }
  if (!spec.ok()) {
    Log(absl::StrCat("refused run ", wire_spec->run_id(), " from ",
                     context->peer(), ": ", spec.status().message()));
    return ToGrpcStatus(spec.status());
  }
  AgentRun run(*spec, metrics_->store_metrics());
  // gRPC marks the call cancelled when the controller cancels it or its
  // connection dies (keepalive): stop within 100 ms of that.
  const std::string db_path = spec->store.path;
  const int64_t max_db_bytes = options_.limits.max_db_bytes;
  run.StopWhen([context, db_path, max_db_bytes]() -> std::string {
    if (context->IsCancelled()) return "the controller went away";
    if (max_db_bytes > 0) {
      const int64_t bytes = DatabaseBytes(db_path);
      if (bytes >= max_db_bytes) {
        return absl::StrCat("the database reached ", bytes,
                            " bytes, this agent's limit (--max-db-bytes ",
                            max_db_bytes, ")");
      }
    }
    return "";
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
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
  Log(absl::StrCat("run ", spec->run_id, " from ", context->peer(), ": ",
                   spec->workload.writers, " writers, ", spec->workload.readers,
                   " readers on ", spec->store.path));

  // Start together with the other agents: the controller sent the same
  // delay to all of them.
  {
    const auto start_at = std::chrono::steady_clock::now() +
                          std::chrono::nanoseconds(wire_spec->start_after_ns());
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_until(lock, start_at, [this] { return shutting_down_; });
  }

  metrics_->SetRunActive(true);
  bool controller_gone = false;
  const absl::Status status = run.Run([&](const IntervalUpdate& update) {
    if (context->IsCancelled()) {
      controller_gone = true;
    } else {
      pb::RunUpdate message;
      ToProto(update, &message);
      message.set_agent_id(identity_.agent_id);
      message.set_run_id(spec->run_id);
      if (!writer->Write(message)) controller_gone = true;
    }
    if (controller_gone && !update.final) {
      run.RequestStop("the controller went away");
    }
    if (update.final) {
      Log(absl::StrCat("run ", spec->run_id, " ended (", update.stop_reason,
                       "); audit ",
                       update.audit.has_value() && update.audit->passed()
                           ? "passed"
                           : "FAILED",
                       controller_gone ? "; controller gone, final update not delivered"
                                       : ""));
    }
  });
  metrics_->SetRunActive(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
    active_run_id_.clear();
  }
  changed_.notify_all();
  if (!status.ok()) {
    Log(absl::StrCat("run ", spec->run_id, " could not start: ",
                     status.message()));
  }
  return ToGrpcStatus(status);
}

void AgentService::Shutdown(const std::string& reason) {
  std::unique_lock<std::mutex> lock(mu_);
  shutting_down_ = true;
  changed_.notify_all();
  if (active_ != nullptr) active_->RequestStop(reason);
  changed_.wait(lock, [this] { return active_ == nullptr; });
}

}  // namespace loadtest::agent
