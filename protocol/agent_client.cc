#include "protocol/agent_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "protocol/peer_text.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace loadtest::protocol {
namespace {


grpc::ChannelArguments AgentChannelArguments(const security::ClientAuth& auth) {
  grpc::ChannelArguments args;
  auth.ApplyTo(&args);
  // A cut-off agent fails its Run stream within seconds rather than TCP's
  // minutes (protocol/wire.h says why these figures).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepalivePingMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // An update is a few kB (two sparse histograms of at most a few thousand
  // buckets, short strings): a bigger message is refused by gRPC
  // (RESOURCE_EXHAUSTED) and the agent is lost, instead of being held.
  args.SetMaxReceiveMessageSize(kMaxUpdateBytes);
  return args;
}

// "UNAVAILABLE: failed to connect to all addresses".
std::string Describe(const grpc::Status& status) {
  return absl::StrCat(
      absl::StatusCodeToString(FromGrpcStatus(status).code()), ": ",
      status.error_message());
}

// Unreachable or silent agents are Unavailable whatever gRPC called it;
// other failures (e.g. UNIMPLEMENTED: not a loadtest agent) keep their code.
absl::Status CallError(const std::string& target, const char* call,
                       const grpc::Status& status) {
  const std::string message =
      absl::StrCat("agent ", target, ": ", call, " failed: ",
                   PeerText(Describe(status)));
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::UnavailableError(message);
    default:
      return absl::Status(FromGrpcStatus(status).code(), message);
  }
}

// The strings an agent sends, made safe to show (protocol/peer_text.h): the
// controller prints them, writes them to CSV and reports.
void MakeShowable(IntervalUpdate* u) {
  u->stop_reason = PeerText(u->stop_reason);
  u->first_error = PeerText(u->first_error);
  if (u->host.has_value()) {
    u->host->disk_device = PeerText(u->host->disk_device, kMaxShownNameBytes);
    u->host->disk_unavailable = PeerText(u->host->disk_unavailable);
  }
  if (u->audit.has_value()) {
    u->audit->integrity_message = PeerText(u->audit->integrity_message);
    u->audit->error = PeerText(u->audit->error);
  }
}

void MakeShowable(pb::AgentStatus* s) {
  s->set_agent_id(PeerText(s->agent_id(), kMaxShownNameBytes));
  s->set_hostname(PeerText(s->hostname(), kMaxShownNameBytes));
  s->set_version(PeerText(s->version(), kMaxShownNameBytes));
  s->set_run_id(PeerText(s->run_id(), kMaxShownNameBytes));
}

}  // namespace

AgentClient::AgentClient(std::string target, security::ClientAuth auth)
    : target_(std::move(target)),
      auth_(std::move(auth)),
      channel_(grpc::CreateCustomChannel(target_, auth_.credentials(),
                                         AgentChannelArguments(auth_))),
      stub_(pb::LoadAgent::NewStub(channel_)) {}

AgentClient::AgentClient(std::string target,
                         std::shared_ptr<grpc::Channel> channel)
    : target_(std::move(target)),
      channel_(std::move(channel)),
      stub_(pb::LoadAgent::NewStub(channel_)) {}

AgentClient::~AgentClient() {
  Cancel();
  Join();
}

absl::StatusOr<pb::AgentStatus> AgentClient::GetStatus(Deadline deadline) {
  pb::StatusRequest request;
  pb::AgentStatus reply;
  // A connection attempt can fail transiently when hundreds start at once
  // (a full accept backlog): try twice more, 200 ms apart, within the
  // deadline, before calling the agent unreachable.
  grpc::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) {
      const auto retry_at =
          std::chrono::system_clock::now() + std::chrono::milliseconds(200);
      if (retry_at >= deadline) break;
      std::this_thread::sleep_until(retry_at);
    }
    grpc::ClientContext context;
    auth_.ApplyTo(&context);
    context.set_deadline(deadline);
    status = stub_->GetStatus(&context, request, &reply);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  if (!status.ok()) return CallError(target_, "GetStatus", status);
  MakeShowable(&reply);
  return reply;
}

absl::Status AgentClient::StartRun(const pb::RunSpec& spec,
                                   RunCallbacks callbacks) {
  sync::MutexLock lock(&mu_);
  if (run_context_ != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", target_, ": a run was already started"));
  }
  run_context_ = std::make_unique<grpc::ClientContext>();
  auth_.ApplyTo(run_context_.get());
  if (cancelled_) run_context_->TryCancel();
  run_thread_ = std::thread(&AgentClient::ReadRun, this, spec,
                            std::move(callbacks));
  return absl::OkStatus();
}

void AgentClient::ReadRun(pb::RunSpec spec, RunCallbacks callbacks) {
  grpc::ClientContext* context;
  {
    sync::MutexLock lock(&mu_);
    context = run_context_.get();
  }
  std::unique_ptr<grpc::ClientReader<pb::RunUpdate>> reader =
      stub_->Run(context, spec);
  pb::RunUpdate message;
  bool finished = false;
  std::string failure;  // Set when the controller gave up on the stream.
  while (reader->Read(&message)) {
    // Past the final update or a bad one, read on only to let the call end.
    if (finished || !failure.empty()) continue;
    absl::StatusOr<IntervalUpdate> update = FromProto(message);
    if (!update.ok()) {
      failure = absl::StrCat("decoding failed: ", update.status().message());
    } else if (!message.run_id().empty() && message.run_id() != spec.run_id()) {
      failure = absl::StrCat("decoding failed: update for run \"",
                             message.run_id(), "\", expected \"",
                             spec.run_id(), "\"");
    }
    if (!failure.empty()) {
      failure = PeerText(failure);
      context->TryCancel();
      continue;
    }
    MakeShowable(&*update);
    callbacks.on_update(*update);
    if (update->final) {
      finished = true;
      callbacks.on_finished();
    }
  }
  const grpc::Status status = reader->Finish();
  if (finished) return;
  absl::Status agent_status;
  if (failure.empty()) {
    failure = status.ok() ? "stream ended before the final update"
                          : PeerText(Describe(status));
    agent_status = FromGrpcStatus(status);
  }
  callbacks.on_lost(failure, agent_status);
}

absl::Status AgentClient::Stop(const std::string& run_id,
                               const std::string& reason, Deadline deadline) {
  grpc::ClientContext context;
  auth_.ApplyTo(&context);
  context.set_deadline(deadline);
  pb::StopRequest request;
  request.set_run_id(run_id);
  request.set_reason(reason);
  pb::StopReply reply;
  const grpc::Status status = stub_->Stop(&context, request, &reply);
  if (!status.ok()) return CallError(target_, "Stop", status);
  return absl::OkStatus();
}

void AgentClient::Cancel() {
  sync::MutexLock lock(&mu_);
  cancelled_ = true;
  if (run_context_ != nullptr) run_context_->TryCancel();
}

void AgentClient::Join() {
  if (run_thread_.joinable()) run_thread_.join();
}

}  // namespace loadtest::protocol
