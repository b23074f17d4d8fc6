#include "report/find_max_result.h"

#include <algorithm>

namespace loadtest::report {

const char* LimitName(Limit limit) {
  switch (limit) {
    case Limit::kNone:
      return "";
    case Limit::kGenerator:
      return "generator";
    case Limit::kSlo:
      return "slo";
    case Limit::kErrors:
      return "errors";
    case Limit::kThroughput:
      return "throughput";
    case Limit::kMaxRate:
      return "max-rate";
  }
  return "";
}

double StepResult::needed_in_flight() const {
  const Figures& t = measured.total;
  if (t.seconds <= 0 || t.write_latency.count() == 0) return 0;
  return t.writes_per_s() / std::max(1, agents) * t.write_latency.mean() / 1e9;
}

int64_t StepResult::max_in_flight() const {
  return measured.total.writes_in_flight.max();
}

}  // namespace loadtest::report
