#include "agent/agent_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/process_limits.h"
#include "security/auth.h"

namespace loadtest::agent {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The address of a peer without its port; an IPv4-mapped IPv6 address as
// IPv4 (one host, one count).
std::string PeerAddress(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

// The soft RLIMIT_NOFILE, or -1 when there is none.
int64_t FileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return -1;
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

// Binds and listens on one resolved address (port 0 or the port already
// chosen for the others); the descriptor, or -1 with *error set.
int ListenOn(const addrinfo& info, bool dual_stack, std::string* error) {
  const int fd =
      socket(info.ai_family, info.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
             info.ai_protocol);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (info.ai_family == AF_INET6) {
    const int v6_only = dual_stack ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof(v6_only));
  }
  if (bind(fd, info.ai_addr, info.ai_addrlen) != 0 || listen(fd, 1024) != 0) {
    *error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return 0;
  }
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentListener>> AgentListener::Bind(
    const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen must be HOST:PORT (e.g. 0.0.0.0:7070, [::1]:7070), got ",
        address));
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  // "[::]" is every address, IPv4 too (as gRPC's own listener did).
  const bool dual_stack = host == "::";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                 port.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<AgentListener> listener(new AgentListener());
  std::string error = "no address";
  for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
    if (dual_stack && info->ai_family != AF_INET6) continue;
    addrinfo chosen = *info;
    sockaddr_storage with_port{};
    std::memcpy(&with_port, info->ai_addr, info->ai_addrlen);
    if (listener->port_ != 0) {
      // Every address of the name on the port the first one got.
      const uint16_t net_port = htons(static_cast<uint16_t>(listener->port_));
      if (with_port.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&with_port)->sin_port = net_port;
      } else {
        reinterpret_cast<sockaddr_in6*>(&with_port)->sin6_port = net_port;
      }
    }
    chosen.ai_addr = reinterpret_cast<sockaddr*>(&with_port);
    const int fd = ListenOn(chosen, dual_stack, &error);
    if (fd < 0) continue;
    listener->listen_fds_.push_back(fd);
    if (listener->port_ == 0) listener->port_ = BoundPort(fd);
  }
  freeaddrinfo(found);
  if (listener->listen_fds_.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", error,
                     " (the address is in use or cannot be bound)"));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, ": pipe: ", std::strerror(errno)));
  }
  listener->wake_read_ = wake[0];
  listener->wake_write_ = wake[1];
  listener->spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return listener;
}

AgentListener::~AgentListener() {
  Stop();
  for (int fd : listen_fds_) close(fd);
  for (int fd : {wake_read_, wake_write_, spare_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void AgentListener::AddTo(
    grpc::ServerBuilder* builder,
    std::shared_ptr<grpc::ServerCredentials> credentials) {
  acceptor_ = builder->experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      std::move(credentials));
}

void AgentListener::Start(std::function<void(const std::string&)> on_failure) {
  on_failure_ = std::move(on_failure);
  thread_ = std::thread(&AgentListener::Serve, this);
}

void AgentListener::Stop() {
  if (!thread_.joinable()) return;
  const char byte = 0;
  while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
}

void AgentListener::Serve() {
  std::vector<pollfd> polled;
  for (int fd : listen_fds_) polled.push_back({fd, POLLIN, 0});
  polled.push_back({wake_read_, POLLIN, 0});
  bool paused = false;
  for (;;) {
    // After a transient failure only the wake pipe, for 100 ms: the
    // connection that failed is still queued and would wake poll at once.
    const size_t count = paused ? 1 : polled.size();
    pollfd* first = paused ? &polled.back() : polled.data();
    const int ready = poll(first, count, paused ? 100 : -1);
    if (ready < 0 && errno != EINTR) {
      if (on_failure_)
        on_failure_(absl::StrCat("poll: ", std::strerror(errno)));
      return;
    }
    if (polled.back().revents != 0) return;  // Stop().
    paused = false;
    for (size_t i = 0; i + 1 < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      if (!AcceptAll(polled[i].fd)) paused = true;
      if (listen_fds_.empty()) return;
    }
  }
}

bool AgentListener::AcceptAll(int listen_fd) {
  for (;;) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&address),
                           &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      switch (error) {
        case EINTR:
        case ECONNABORTED:
          continue;
        case EAGAIN:
          return true;
        case EMFILE:
        case ENFILE:
          // Out of descriptors: take the waiting connection with the spare
          // one and close it, so that it does not stay queued.
          if (spare_fd_ >= 0) {
            close(spare_fd_);
            spare_fd_ = -1;
            const int dropped =
                accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (dropped >= 0) close(dropped);
            spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
            NoteRefusal("?", "the agent is out of file descriptors");
            if (dropped >= 0) continue;
          }
          return false;
        case EBADF:
        case EINVAL:
        case ENOTSOCK:
        case EOPNOTSUPP:
        case EFAULT:
          if (on_failure_) {
            on_failure_(absl::StrCat("accept4 on the gRPC listening socket: ",
                                     std::strerror(error)));
          }
          listen_fds_.clear();
          return false;
        default:  // ENOBUFS, ENOMEM, EPERM (a firewall), EPROTO, ...
          NoteRefusal("?", absl::StrCat("accept4: ", std::strerror(error)));
          return false;
      }
    }
    const std::string peer = PeerAddress(address);
    std::string why;
    if (!Admit(fd, peer, &why)) {
      close(fd);
      NoteRefusal(peer, why);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters
        connection;
    connection.listener_fd = listen_fd;
    connection.fd = fd;
    acceptor_->HandleNewConnection(&connection);
  }
}

void AgentListener::Forget(const std::string& peer) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!peer.empty() && it->second.peer != peer) {
      ++it;
      continue;
    }
    struct stat st {};
    const bool open = fstat(it->first, &st) == 0 &&
                      static_cast<uint64_t>(st.st_dev) == it->second.device &&
                      static_cast<uint64_t>(st.st_ino) == it->second.inode;
    it = open ? std::next(it) : connections_.erase(it);
  }
}

bool AgentListener::Admit(int fd, const std::string& peer, std::string* why) {
  // The lowest free descriptor is the one handed out: `fd` this high means
  // every one below it is in use.
  if (const int64_t limit = FileLimit();
      limit > 0 && fd >= limit - kReservedFds) {
    *why = absl::StrCat("fewer than ", kReservedFds,
                        " file descriptors left (RLIMIT_NOFILE ", limit, ")");
    return false;
  }
  // A descriptor number gRPC closed and the kernel reused here: not the
  // connection it was.
  connections_.erase(fd);
  int from_peer = 0;
  Forget(peer);
  for (const auto& [open_fd, connection] : connections_) {
    if (connection.peer == peer) ++from_peer;
  }
  if (from_peer >= kMaxConnectionsPerPeer) {
    *why = absl::StrCat(from_peer, " connections from ", peer,
                        " already open (at most ", kMaxConnectionsPerPeer,
                        " per address)");
    return false;
  }
  // Loopback callers (the health check, a local controller) are not held
  // back by strangers' connections.
  if (!security::IsLoopbackHost(peer) &&
      connections_.size() >= static_cast<size_t>(kMaxConnections)) {
    Forget("");
    // Loopback callers (the health check, a local controller) are not held
    // back by strangers' connections.
    if (!security::IsLoopbackHost(peer) &&
        connections_.size() >= static_cast<size_t>(kMaxConnections)) {
      *why = absl::StrCat(connections_.size(),
                          " connections already open (at most ",
                          kMaxConnections, ")");
      return false;
    }
  }
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    connections_[fd] = Connection{peer, static_cast<uint64_t>(st.st_dev),
                                  static_cast<uint64_t>(st.st_ino)};
  }
  return true;
}

void AgentListener::NoteRefusal(const std::string& peer,
                                const std::string& why) {
  ++refused_since_log_;
  const int64_t now = NowMs();
  if (last_log_ms_ != 0 && now - last_log_ms_ < 10000) return;
  std::fprintf(stderr,
               "loadtest-agent: refused %lld connection%s to the gRPC port "
               "(the last from %s: %s)\n",
               static_cast<long long>(refused_since_log_),
               refused_since_log_ == 1 ? "" : "s", peer.c_str(), why.c_str());
  std::fflush(stderr);
  refused_since_log_ = 0;
  last_log_ms_ = now;
}

}  // namespace loadtest::agent
