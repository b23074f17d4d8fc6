// Helpers shared by the end-to-end tests: files, the JSON report, SQLite
// queries made with SQLite itself, a held TCP port, a plain HTTP GET, and
// Prometheus text parsing. Each belongs to the test that uses it.
#ifndef LOADTEST_TESTS_E2E_E2E_UTIL_H_
#define LOADTEST_TESTS_E2E_E2E_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace loadtest::testing {

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);
// The JSON report at `path`, or a discarded value (and a test failure) if it
// is missing or not JSON.
nlohmann::json ReadReport(const std::string& path);
// One value of `sql` on the database, read with SQLite itself, as text; an
// "error: ..." string if it fails.
std::string QueryOne(const std::string& db, const std::string& sql);
int64_t CountLogRows(const std::string& db);
std::string IntegrityCheck(const std::string& db);
// An interval line of loadtest's output starts with "[".
bool IsIntervalLine(const std::string& line);

// A TCP socket listening on 0.0.0.0 at a port the kernel picked, holding that
// port for as long as it lives.
class ListeningSocket {
 public:
  ListeningSocket() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = 0;
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    socklen_t length = sizeof(address);
    if (bind(fd_, generic, length) != 0 || listen(fd_, 1) != 0 ||
        getsockname(fd_, generic, &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~ListeningSocket() {
    if (fd_ >= 0) close(fd_);
  }
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;

  int port() const { return port_; }  // 0 if the socket could not be set up.

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A TCP socket bound to 127.0.0.1 at a port the kernel picked but NOT
// listening: for as long as it lives, nobody else can take the port and a
// connection to 127.0.0.1:port() is refused at once.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    socklen_t length = sizeof(address);
    if (bind(fd_, generic, length) != 0 ||
        getsockname(fd_, generic, &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  int port() const { return port_; }  // 0 if the socket could not be set up.

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Evaluates `condition` every 50 ms until it holds (true) or `deadline`
// passes (false, after one last evaluation).
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds deadline);

struct HttpResponse {
  std::string error;  // Empty if a response arrived.
  std::string status_line;
  std::string body;
};

// A plain HTTP/1.0 GET of http://127.0.0.1:<port><path>, given up (an
// error) when the server is silent for `timeout`.
HttpResponse HttpGet(int port, const std::string& path,
                     std::chrono::seconds timeout = std::chrono::seconds(30));
// The sample lines of a Prometheus text exposition (no comments).
std::vector<std::string> SampleLines(const std::string& exposition);
// The first sample of metric `name` (with or without labels), or "".
std::string FindSample(const std::vector<std::string>& samples,
                       const std::string& name);

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_E2E_E2E_UTIL_H_
