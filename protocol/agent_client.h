// AgentClient: the controller's connection to one `loadtest-agent` (the
// LoadAgent service of proto/loadtest.proto). It owns the channel (with
// keepalive, so a vanished agent fails the stream within a few seconds) and,
// once a run is started, the thread that reads the agent's Run stream and
// hands each decoded update to the caller, then exactly one terminal event:
// finished (the final update came) or lost (the stream ended or failed
// before it).
//
// Every string that came from the agent (its status's ids and names, an
// update's stop reason, first error and audit messages, a failure's text)
// is handed over already escaped and capped (protocol/peer_text.h), so the
// controller may print it, write it to CSV or log it as it is.
//
// Thread-safety: GetStatus, Stop and Cancel are safe from any thread, also
// while the run thread is reading. StartRun is called at most once. The
// destructor cancels the run call and joins the run thread; it must not run
// on the run thread (i.e. not from a callback).
#ifndef LOADTEST_PROTOCOL_AGENT_CLIENT_H_
#define LOADTEST_PROTOCOL_AGENT_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "proto/loadtest.grpc.pb.h"
#include "security/auth.h"
#include "sync/mutex.h"

namespace loadtest::protocol {

// The largest RunUpdate the controller accepts, in bytes.
inline constexpr int kMaxUpdateBytes = 1 << 20;
// Agent ids, host names, versions and run ids longer than this are cut
// when shown.
inline constexpr size_t kMaxShownNameBytes = 128;

class AgentClient {
 public:
  using Deadline = std::chrono::system_clock::time_point;

  // What the run thread reports. Each is called on the run thread, one at a
  // time, in stream order; after on_finished or on_lost nothing more comes.
  struct RunCallbacks {
    // One decoded update (the final one too, before on_finished).
    std::function<void(const IntervalUpdate&)> on_update;
    // The final update arrived.
    std::function<void()> on_finished;
    // The stream ended or failed before the final update: `reason` is the
    // gRPC status code name and message ("UNAVAILABLE: Socket closed"),
    // "decoding failed: ..." or "stream ended before the final update";
    // `agent_status` is the call's status as the agent (or gRPC) ended it,
    // OK when the stream ended cleanly or the controller gave up on it.
    std::function<void(const std::string& reason,
                       const absl::Status& agent_status)>
        on_lost;
  };

  // Creates the channel to `target` ("host:port", "[v6]:port") with `auth`
  // (TLS, token; default plaintext); connecting happens on the first call.
  explicit AgentClient(std::string target, security::ClientAuth auth = {});
  // Talks to an agent over `channel` (e.g. an in-process server's);
  // `target` names it in messages ("in-process").
  AgentClient(std::string target, std::shared_ptr<grpc::Channel> channel);
  ~AgentClient();

  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  const std::string& target() const { return target_; }

  // The agent's identity and state. Unavailable naming the target and
  // gRPC's message when the agent cannot be reached or does not answer by
  // `deadline`; other failures keep their code, also naming the target.
  absl::StatusOr<pb::AgentStatus> GetStatus(Deadline deadline);

  // Starts the server-streaming Run call on a thread this client owns and
  // returns at once; results come through `callbacks` (each must be set).
  // The call has no deadline (a run lasts as long as it lasts): keepalive
  // and Cancel() end it. FailedPrecondition when a run was already started.
  absl::Status StartRun(const pb::RunSpec& spec, RunCallbacks callbacks);

  // Asks the agent to end run `run_id` early (it drains, audits and sends
  // the final update on the Run stream). The agent's NotFound (no such run
  // active) and transport errors are returned with the target named.
  absl::Status Stop(const std::string& run_id, const std::string& reason,
                    Deadline deadline);

  // Cancels the Run call (no-op without one, or once it ended). Unless the
  // final update already came, the run thread then reports on_lost.
  void Cancel();

  // Waits until the run thread has delivered its terminal event and ended.
  // Returns at once when no run was started.
  void Join();

 private:
  void ReadRun(pb::RunSpec spec, RunCallbacks callbacks);

  const std::string target_;
  const security::ClientAuth auth_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<pb::LoadAgent::Stub> stub_;

  sync::Mutex mu_;
  // The Run call's context, created by StartRun before the thread starts and
  // destroyed only with the client, so Cancel() may always use it.
  std::unique_ptr<grpc::ClientContext> run_context_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::thread run_thread_;  // Started by StartRun; joined by Join/~.
};

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_AGENT_CLIENT_H_
