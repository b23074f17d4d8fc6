// How much open-loop concurrency an agent gets when --writers is not given
// (find-max, --write-rate runs), and what a step or run needed by Little's
// law.
//
// The rule: writers per agent = ceil(2 x rate x bound), at least
// kMinAutoWriters and at most kMaxAutoWriters, where `bound` is the loosest
// write-latency SLO (write_p99<100ms gives 100 ms), or
// kDefaultLatencyBound without one. Little's law says the writes in flight
// average rate x mean latency; with every write within the bound that is
// at most rate x bound, and the factor 2 leaves room for bursts. When all
// of them are busy the writes queue for a writer, their latency (counted
// from the schedule) grows and shows in the percentiles: it is the store's
// latency as long as the writers provided cover rate x bound (the store
// held each write past the bound), the generator's cap otherwise.
//
// Threads per agent therefore never exceed kMaxAutoWriters (+ readers),
// whatever the rate. Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_CONCURRENCY_H_
#define LOADTEST_REPORT_CONCURRENCY_H_

#include <chrono>
#include <vector>

#include "report/thresholds.h"

namespace loadtest::report {

inline constexpr int kMinAutoWriters = 8;
inline constexpr int kMaxAutoWriters = 1024;
inline constexpr std::chrono::milliseconds kDefaultLatencyBound{100};

// The loosest upper bound on a write latency among `slos` (write_p50 ...
// write_max with < or <=, any scope), or kDefaultLatencyBound when none.
std::chrono::nanoseconds WriteLatencyBound(const std::vector<Threshold>& slos);

// Writers for an agent offered `rate_per_agent` writes/s (the rule above),
// at most `cap` (an agent's --max-writers when lower than kMaxAutoWriters).
int AutoWriters(double rate_per_agent, std::chrono::nanoseconds bound,
                int cap = kMaxAutoWriters);

// Writes in flight that `rate_per_agent` needs when each takes up to
// `bound`: rate x bound (Little's law), rounded up.
int NeededInFlight(double rate_per_agent, std::chrono::nanoseconds bound);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_CONCURRENCY_H_
