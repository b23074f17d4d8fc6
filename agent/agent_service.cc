#include "agent/agent_service.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/wire.h"

namespace loadtest::agent {
namespace {

void Log(const std::string& line) {
  std::fprintf(stderr, "loadtest-agent: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

AgentService::AgentService(AgentIdentity identity, std::string data_dir,
                           MetricsServer* metrics)
    : identity_(std::move(identity)),
      data_dir_(std::move(data_dir)),
      metrics_(metrics) {}

grpc::Status AgentService::GetStatus(grpc::ServerContext*,
                                     const pb::StatusRequest*,
                                     pb::AgentStatus* reply) {
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

grpc::Status AgentService::Stop(grpc::ServerContext*,
                                const pb::StopRequest* request,
                                pb::StopReply*) {
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
  absl::StatusOr<RunSpec> spec = FromProto(*wire_spec, data_dir_);
  if (!spec.ok()) {
    Log(absl::StrCat("refused run ", wire_spec->run_id(), " from ",
                     context->peer(), ": ", spec.status().message()));
    return ToGrpcStatus(spec.status());
  }
  AgentRun run(*spec, metrics_->store_metrics());
  // gRPC marks the call cancelled when the controller cancels it or its
  // connection dies (keepalive): stop within 100 ms of that.
  run.StopWhen([context] { return context->IsCancelled(); },
               "the controller went away");
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
