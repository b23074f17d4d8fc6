#include "tests/deploy/prometheus_process.h"

#include <poll.h>
#include <signal.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "tests/e2e/e2e_util.h"

namespace loadtest::testing {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// How often WaitFor and Start ask again: a tenth of the 1 s scrape interval
// the tests configure, so a condition is seen soon after it holds.
constexpr int kPollMillis = 100;

void PollPause() { poll(nullptr, 0, kPollMillis); }


}  // namespace

// The `data` member of a Prometheus API answer, or an error.
json PrometheusApiData(const HttpResponse& response, std::string* error) {
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

QueryResult QueryPrometheus(int port, const std::string& expr, double time) {
  std::string path = "/api/v1/query?query=" + UrlEncode(expr);
  if (time > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.3f", time);
    path += "&time=";
    path += seconds;
  }
  QueryResult result;
  const json data = PrometheusApiData(HttpGet(port, path), &result.error);
  if (!result.error.empty()) return result;
  if (data.value("resultType", "") != "vector") {
    result.error = "expected a vector, got " + data.dump();
    return result;
  }
  result.series = data["result"];
  return result;
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                       c == '.' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

PrometheusProcess::PrometheusProcess(std::string binary,
                                     std::string config_path,
                                     std::string storage_dir)
    : binary_(std::move(binary)),
      config_path_(std::move(config_path)),
      storage_dir_(std::move(storage_dir)) {}

bool PrometheusProcess::Start(std::chrono::seconds deadline,
                              std::string* error) {
  {
    // Held only to learn a free port; released just before Prometheus binds
    // it (nothing else on this machine picks ports from the same range in
    // that instant).
    const ListeningSocket probe;
    port_ = probe.port();
  }
  if (port_ == 0) {
    *error = "no free port for Prometheus";
    return false;
  }
  process_ = std::make_unique<Subprocess>(std::vector<std::string>{
      binary_, "--config.file=" + config_path_,
      "--storage.tsdb.path=" + storage_dir_,
      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
      "--log.level=warn"});
  if (!process_->Start(error)) return false;
  const Clock::time_point until = Clock::now() + deadline;
  while (Clock::now() < until) {
    const HttpResponse ready = HttpGet(port_, "/-/ready");
    if (ready.error.empty() &&
        ready.status_line.find(" 200") != std::string::npos) {
      return true;
    }
    PollPause();
  }
  process_->SendSignal(SIGKILL);
  process_->Wait();
  *error = "prometheus on 127.0.0.1:" + std::to_string(port_) +
           " not ready within " + std::to_string(deadline.count()) +
           " s; its log:\n" + process_->stderr_text();
  return false;
}

QueryResult PrometheusProcess::Query(const std::string& expr,
                                     double time) const {
  return QueryPrometheus(port_, expr, time);
}

bool PrometheusProcess::WaitFor(
    const std::string& expr,
    const std::function<bool(const QueryResult&)>& done,
    std::chrono::seconds deadline, QueryResult* last) const {
  const Clock::time_point until = Clock::now() + deadline;
  while (true) {
    QueryResult result = Query(expr);
    const bool held = result.error.empty() && done(result);
    if (last != nullptr) *last = std::move(result);
    if (held) return true;
    if (Clock::now() >= until) return false;
    PollPause();
  }
}

json PrometheusProcess::Targets() const {
  std::string error;
  json data = PrometheusApiData(HttpGet(port_, "/api/v1/targets"), &error);
  return error.empty() ? data : json(json::value_t::discarded);
}

int PrometheusProcess::Stop() {
  if (process_ == nullptr) return kNoExitCode;
  process_->SendSignal(SIGTERM);
  return process_->Wait();
}

std::string PrometheusProcess::log() const {
  return process_ == nullptr ? "" : process_->stderr_text();
}

}  // namespace loadtest::testing
