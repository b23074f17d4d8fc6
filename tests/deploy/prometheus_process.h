// PrometheusProcess: a real `prometheus` server (the Debian package's
// binary) run as a child process on 127.0.0.1 for a test, with its own
// configuration file and a scratch storage directory, queried through its
// HTTP API (/api/v1/query, /api/v1/targets).
//
// Thread-safety: one thread at a time; it belongs to the test that made it.
#ifndef LOADTEST_TESTS_DEPLOY_PROMETHEUS_PROCESS_H_
#define LOADTEST_TESTS_DEPLOY_PROMETHEUS_PROCESS_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest::testing {

// The answer to one instant query.
struct QueryResult {
  std::string error;  // Empty when Prometheus answered "success".
  // data.result: for a vector, one {"metric": {...}, "value": [t, "v"]}
  // object per series.
  nlohmann::json series = nlohmann::json::array();
};

// `text` percent-encoded for a URL query component.
std::string UrlEncode(const std::string& text);

// The `data` member of a Prometheus HTTP API answer, or "" and `error` set
// (transport error, not JSON, or Prometheus' own errorType and error).
nlohmann::json PrometheusApiData(const HttpResponse& response,
                                 std::string* error);

// An instant query of the Prometheus on 127.0.0.1:`port` (at `time`, Unix
// seconds, when > 0); the series of its vector result.
QueryResult QueryPrometheus(int port, const std::string& expr, double time = 0);

class PrometheusProcess {
 public:
  // `binary`: the prometheus executable; `config_path`: its configuration
  // (paths inside are resolved relative to the file's folder, as Prometheus
  // does); `storage_dir`: an empty scratch folder. Both must outlive this.
  PrometheusProcess(std::string binary, std::string config_path,
                    std::string storage_dir);
  // Stops the server (SIGKILL) if Stop() was not called.
  ~PrometheusProcess() = default;

  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  // Starts the server on a free port of 127.0.0.1 and waits until /-/ready
  // answers 200. False, with the reason (and Prometheus' stderr) in *error,
  // if it did not start or get ready within `deadline`.
  bool Start(std::chrono::seconds deadline, std::string* error);

  // Runs `expr` as an instant query evaluated at `time` (seconds since the
  // epoch; 0 means now).
  QueryResult Query(const std::string& expr, double time = 0) const;

  // Repeats Query(expr, now) until `done` holds for its result or `deadline`
  // passes; returns whether it held, and the last result in *last if given.
  bool WaitFor(const std::string& expr,
               const std::function<bool(const QueryResult&)>& done,
               std::chrono::seconds deadline,
               QueryResult* last = nullptr) const;

  // GET /api/v1/targets: {"activeTargets": [...], "droppedTargets": [...]},
  // or a discarded value if the call failed.
  nlohmann::json Targets() const;

  // SIGTERM, then waits for the exit. Returns the exit code.
  int Stop();

  int port() const { return port_; }
  // Prometheus' stderr so far (its log), for failure messages.
  std::string log() const;

 private:
  const std::string binary_;
  const std::string config_path_;
  const std::string storage_dir_;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_DEPLOY_PROMETHEUS_PROCESS_H_
