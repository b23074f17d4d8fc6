// AgentListener: the listening socket of the agent's gRPC service, accepted
// by the agent itself and handed to gRPC (the ServerBuilder's external
// connection acceptor), so that the agent decides what it takes:
//   - at most kMaxConnectionsPerPeer open connections from one address and
//     kMaxConnections in all (a loopback caller, such as the health check,
//     is held to the first only); a connection beyond them is closed at
//     once, before any byte is read (no credentials are needed to open one,
//     so strangers could otherwise hold every descriptor);
//   - never one whose descriptor falls within the last kReservedFds of
//     RLIMIT_NOFILE (a run's databases, /metrics and the audit need them);
//   - a failed accept (EMFILE, ENFILE, ENOBUFS, ...) refuses that connection
//     and goes on. gRPC 1.51's own listener stops accepting for good after
//     one accept4 fails, which is why the agent does not use it.
// Only a listening socket that the kernel says is broken (EBADF, EINVAL,
// ENOTSOCK) ends accepting; Start's `on_failure` is then told, once.
//
// Thread-safety: Bind, AddTo, Start, then Stop (or the destructor), one
// thread at a time; the accepting thread is the listener's own.
#ifndef LOADTEST_AGENT_AGENT_LISTENER_H_
#define LOADTEST_AGENT_AGENT_LISTENER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace loadtest::agent {

class AgentListener {
 public:
  static constexpr int kMaxConnectionsPerPeer = 32;
  static constexpr int kMaxConnections = 512;

  // Binds and listens on `address`, HOST:PORT as --listen takes it
  // ("0.0.0.0:7070", "[::]:7070" for both IPv4 and IPv6, "[::1]:0",
  // "localhost:7070" for each of its addresses; port 0 picks a free port).
  // Unavailable naming the address when it cannot be bound (in use, no such
  // address); InvalidArgument when it is not HOST:PORT.
  static absl::StatusOr<std::unique_ptr<AgentListener>> Bind(
      const std::string& address);

  ~AgentListener();
  AgentListener(const AgentListener&) = delete;
  AgentListener& operator=(const AgentListener&) = delete;

  // The port bound (the one chosen, for port 0).
  int port() const { return port_; }

  // Makes `builder` serve the connections this listener accepts, with
  // `credentials`. Call before builder->BuildAndStart().
  void AddTo(grpc::ServerBuilder* builder,
             std::shared_ptr<grpc::ServerCredentials> credentials);

  // Starts accepting, after the server was built and started. `on_failure`
  // is called (from the accepting thread, at most once) with the reason if
  // the listening socket breaks for good.
  void Start(std::function<void(const std::string&)> on_failure);

  // Stops accepting and joins the accepting thread; connections already
  // handed to gRPC are gRPC's. Idempotent.
  void Stop();

 private:
  // One connection handed to gRPC, known by its descriptor and the socket's
  // inode: once gRPC closed it, the descriptor is gone or names another file.
  struct Connection {
    std::string peer;
    uint64_t device = 0;
    uint64_t inode = 0;
  };

  AgentListener() = default;

  void Serve();
  // Accepts what `listen_fd` has waiting; false when accepting should pause
  // (a transient failure) before the next try.
  bool AcceptAll(int listen_fd);
  // Whether connection `fd` from `peer` may be served; if not, why.
  bool Admit(int fd, const std::string& peer, std::string* why);
  // Forgets the connections gRPC closed (of `peer` only, unless empty).
  void Forget(const std::string& peer);
  // Logs a refused connection, at most one line every 10 s.
  void NoteRefusal(const std::string& peer, const std::string& why);

  std::vector<int> listen_fds_;
  int port_ = 0;
  int wake_read_ = -1;
  int wake_write_ = -1;
  // Held open so that running out of descriptors still lets one connection
  // be accepted and closed (otherwise it stays queued and poll spins).
  int spare_fd_ = -1;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::function<void(const std::string&)> on_failure_;
  std::thread thread_;
  // The accepting thread's own, from Start on.
  std::map<int, Connection> connections_;
  int64_t refused_since_log_ = 0;
  int64_t last_log_ms_ = 0;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_AGENT_LISTENER_H_
