#include "tests/e2e/e2e_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::testing {

using nlohmann::json;
using ::testing::Not;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The JSON report at `path`, or a discarded value (and a test failure) if it
// is missing or not JSON. A run's report keeps each interval's total only
// and names the JSON Lines file of the per-agent rows (`intervals_file`):
// those rows are read back into each interval's `agents`, in the order the
// file gives them, so a test sees whole interval rows.
json ReadReport(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "no report at " << path;
    return json(json::value_t::discarded);
  }
  json report = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) {
    ADD_FAILURE() << path << " is not valid JSON";
    return report;
  }
  if (!report.contains("intervals_file")) return report;
  std::map<int64_t, json> agents_by_sequence;
  std::ifstream lines(report["intervals_file"].get<std::string>());
  EXPECT_TRUE(lines.good()) << "no intervals file " << report["intervals_file"];
  for (std::string line; std::getline(lines, line);) {
    json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.contains("sequence")) {
      ADD_FAILURE() << "not an interval row: " << line;
      continue;
    }
    json& agents = agents_by_sequence[row["sequence"].get<int64_t>()];
    if (agents.is_null()) agents = json::array();
    agents.push_back(std::move(row));
  }
  for (json& interval : report["intervals"]) {
    EXPECT_FALSE(interval.contains("agents"))
        << "--out holds per-agent interval rows";
    interval["agents"] =
        std::move(agents_by_sequence[interval["sequence"].get<int64_t>()]);
    agents_by_sequence.erase(interval["sequence"].get<int64_t>());
  }
  EXPECT_TRUE(agents_by_sequence.empty())
      << "the intervals file has rows of intervals the report lacks";
  return report;
}

// Runs a query returning one value on the database with SQLite itself (not
// through the store), as text; an "error: ..." string if it fails.
std::string QueryOne(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    std::string error = "error: cannot open " + db + ": " +
                        (handle ? sqlite3_errmsg(handle) : "out of memory");
    sqlite3_close(handle);
    return error;
  }
  sqlite3_stmt* statement = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &statement, nullptr) !=
      SQLITE_OK) {
    result = std::string("error: ") + sqlite3_errmsg(handle);
  } else if (sqlite3_step(statement) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    result = text ? reinterpret_cast<const char*>(text) : "NULL";
  } else {
    result = std::string("error: no row: ") + sqlite3_errmsg(handle);
  }
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return result;
}

int64_t CountLogRows(const std::string& db) {
  const std::string count = QueryOne(db, "SELECT count(*) FROM logs");
  EXPECT_THAT(count, Not(StartsWith("error"))) << db;
  return count.rfind("error", 0) == 0 ? -1 : std::stoll(count);
}

std::string IntegrityCheck(const std::string& db) {
  return QueryOne(db, "PRAGMA integrity_check");
}

bool IsIntervalLine(const std::string& line) {
  return !line.empty() && line[0] == '[';
}

bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return condition();
    // The pace of the polling, not a wait for the condition itself.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// A plain HTTP/1.0 GET of http://127.0.0.1:<port><path> (no keep-alive, no
// chunking, no compression), with a 30 s limit on each send and receive.
HttpResponse HttpGet(int port, const std::string& path,
                     std::chrono::seconds timeout) {
  HttpResponse response;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    response.error = std::string("socket: ") + std::strerror(errno);
    return response;
  }
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(timeout.count());
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    response.error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return response;
  }
  const std::string request = "GET " + path +
                              " HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      response.error = std::string("send: ") + std::strerror(errno);
      close(fd);
      return response;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[8192];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      response.error = std::string("recv: ") + std::strerror(errno);
      close(fd);
      return response;
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    response.error = "no complete HTTP header in: " + raw;
    return response;
  }
  response.status_line = raw.substr(0, raw.find("\r\n"));
  response.body = raw.substr(header_end + 4);
  return response;
}

// The sample lines of a Prometheus text exposition (no comments).
std::vector<std::string> SampleLines(const std::string& exposition) {
  std::vector<std::string> lines;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// The first sample of metric `name` (with or without labels), or "".
std::string FindSample(const std::vector<std::string>& samples,
                       const std::string& name) {
  for (const std::string& line : samples) {
    if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) {
      return line;
    }
  }
  return "";
}

}  // namespace loadtest::testing
