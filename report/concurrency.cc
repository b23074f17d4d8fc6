#include "report/concurrency.h"

#include <algorithm>
#include <cmath>

namespace loadtest::report {

std::chrono::nanoseconds WriteLatencyBound(const std::vector<Threshold>& slos) {
  double loosest_ms = 0;
  for (const Threshold& t : slos) {
    const bool write_latency =
        t.metric == "write_max" ||
        (t.metric.rfind("write_p", 0) == 0 && t.metric.size() > 7 &&
         t.metric[7] >= '0' && t.metric[7] <= '9');
    const bool upper =
        t.op == Threshold::Op::kLess || t.op == Threshold::Op::kLessEqual;
    if (write_latency && upper && t.limit > 0) {
      loosest_ms = std::max(loosest_ms, t.limit);
    }
  }
  if (loosest_ms <= 0) return kDefaultLatencyBound;
  // At most an hour: the longest write timeout worth sizing for.
  loosest_ms = std::min(loosest_ms, 3600e3);
  return std::chrono::nanoseconds(std::llround(loosest_ms * 1e6));
}

int NeededInFlight(double rate_per_agent, std::chrono::nanoseconds bound) {
  const double needed =
      std::ceil(std::max(0.0, rate_per_agent) *
                std::chrono::duration<double>(bound).count());
  return static_cast<int>(std::min(needed, 1e9));
}

int AutoWriters(double rate_per_agent, std::chrono::nanoseconds bound,
                int cap) {
  const double wanted = 2.0 * NeededInFlight(rate_per_agent, bound);
  const double most = std::max(1, std::min(cap, kMaxAutoWriters));
  return static_cast<int>(
      std::min(std::max(wanted, double{kMinAutoWriters}), most));
}

}  // namespace loadtest::report
