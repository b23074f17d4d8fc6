#include "tests/compose/prometheus_api.h"

#include <cstdio>
#include <utility>

#include "tests/e2e/e2e_util.h"

namespace loadtest::testing {
using nlohmann::json;

bool PrometheusApi::Ready() const {
  const HttpResponse ready = HttpGet(port_, "/-/ready");
  return ready.error.empty() &&
         ready.status_line.find(" 200") != std::string::npos;
}

QueryResult PrometheusApi::Query(const std::string& expr, double time) const {
  return QueryPrometheus(port_, expr, time);
}

bool PrometheusApi::WaitFor(const std::string& expr,
                            const std::function<bool(const QueryResult&)>& done,
                            std::chrono::seconds deadline,
                            QueryResult* last) const {
  QueryResult result;
  const bool held = WaitUntil(
      [&] {
        result = Query(expr);
        return result.error.empty() && done(result);
      },
      deadline);
  if (last != nullptr) *last = std::move(result);
  return held;
}

json PrometheusApi::Targets(std::string* error) const {
  json data = PrometheusApiData(HttpGet(port_, "/api/v1/targets"), error);
  return error->empty() ? data : json(json::value_t::discarded);
}

}  // namespace loadtest::testing
