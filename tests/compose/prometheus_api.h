// PrometheusApi: the HTTP API of a Prometheus server that something else
// started (here: the compose deployment's, published on 127.0.0.1), for
// instant queries and the targets list.
//
// Thread-safety: one thread at a time; it belongs to the test that made it.
#ifndef LOADTEST_TESTS_COMPOSE_PROMETHEUS_API_H_
#define LOADTEST_TESTS_COMPOSE_PROMETHEUS_API_H_

#include <chrono>
#include <functional>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/deploy/prometheus_process.h"

namespace loadtest::testing {

class PrometheusApi {
 public:
  // The server listening on 127.0.0.1:`port`.
  explicit PrometheusApi(int port) : port_(port) {}

  // Whether /-/ready answers 200.
  bool Ready() const;

  // Runs `expr` as an instant query evaluated at `time` (seconds since the
  // epoch; 0 means now). A result that is not a vector is an error.
  QueryResult Query(const std::string& expr, double time = 0) const;

  // Repeats Query(expr, now) until `done` holds for its result or `deadline`
  // passes; returns whether it held, and the last result in *last if given.
  bool WaitFor(const std::string& expr,
               const std::function<bool(const QueryResult&)>& done,
               std::chrono::seconds deadline,
               QueryResult* last = nullptr) const;

  // GET /api/v1/targets: {"activeTargets": [...], "droppedTargets": [...]},
  // or a discarded value (and the reason in *error) if the call failed.
  nlohmann::json Targets(std::string* error) const;

 private:
  const int port_;
};

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_COMPOSE_PROMETHEUS_API_H_
