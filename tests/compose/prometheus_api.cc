#include "tests/compose/prometheus_api.h"

#include <cstdio>
#include <utility>

#include "tests/e2e/e2e_util.h"

namespace loadtest::testing {
namespace {

using nlohmann::json;

// The `data` member of a Prometheus API answer, or an error.
json ApiData(const HttpResponse& response, std::string* error) {
  if (!response.error.empty()) {
    *error = response.error;
    return json();
  }
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    *error = response.status_line + ": not JSON: " + response.body;
    return json();
  }
  if (body.value("status", "") != "success") {
    *error = response.status_line + ": " + body.value("errorType", "") + ": " +
             body.value("error", response.body);
    return json();
  }
  return body["data"];
}

}  // namespace

bool PrometheusApi::Ready() const {
  const HttpResponse ready = HttpGet(port_, "/-/ready");
  return ready.error.empty() &&
         ready.status_line.find(" 200") != std::string::npos;
}

QueryResult PrometheusApi::Query(const std::string& expr, double time) const {
  std::string path = "/api/v1/query?query=" + UrlEncode(expr);
  if (time > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.3f", time);
    path += "&time=";
    path += seconds;
  }
  QueryResult result;
  const json data = ApiData(HttpGet(port_, path), &result.error);
  if (!result.error.empty()) return result;
  if (data.value("resultType", "") != "vector") {
    result.error = "expected a vector, got " + data.dump();
    return result;
  }
  result.series = data["result"];
  return result;
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
  json data = ApiData(HttpGet(port_, "/api/v1/targets"), error);
  return error->empty() ? data : json(json::value_t::discarded);
}

}  // namespace loadtest::testing
