// Health: the load-testing guide's three states of the system under test
// ("Monitoring During Load Tests / Key Indicators"), judged for one log
// interval from its figures and the run's earlier intervals:
//   healthy       queue utilization < 80%, error rate < 1%, write p95
//                 < 100 ms, steady throughput;
//   under_stress  queue utilization > 90%, increasing error rate, latency
//                 spikes, throughput degradation;
//   overloaded    queue full errors, high timeout rate, latency > 1 s,
//                 throughput collapse;
// and a fourth label, generator_bound, for an interval whose figures
// describe the load generator rather than the store (protocol/validity.h).
// Every rule, with its number and why, is in docs/diagnosis.md; HealthRules
// holds the numbers.
//
// HealthJudge keeps what "steady", "increasing" and "spike" are measured
// against: the run's own earlier intervals (a bounded window). One judge per
// series (one agent, or the total); one thread at a time.
#ifndef LOADTEST_STATS_HEALTH_H_
#define LOADTEST_STATS_HEALTH_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace loadtest::stats {

// Ordered by severity; kGeneratorBound stands apart (not the store's state).
enum class HealthState { kHealthy, kUnderStress, kOverloaded, kGeneratorBound };

inline constexpr HealthState kAllHealthStates[] = {
    HealthState::kHealthy, HealthState::kUnderStress, HealthState::kOverloaded,
    HealthState::kGeneratorBound};

// "healthy", "under_stress", "overloaded", "generator_bound".
const char* HealthStateName(HealthState state);

// One interval's figures as the rules read them.
struct HealthSample {
  double seconds = 0;
  int64_t writes_ok = 0;
  int64_t write_errors = 0;
  int64_t write_timeouts = 0;
  int64_t queue_full = 0;
  int64_t reads_ok = 0;
  int64_t read_errors = 0;
  // Open loop: writes the schedule made due in the interval; 0 closed loop.
  double offered_writes = 0;
  int64_t write_p95_ns = 0;  // 0 without a write.
  int64_t write_p99_ns = 0;
  double queue_utilization = 0;  // Peak depth / queue size, 0..1.
  // Set when protocol/validity.h found the generator the limit.
  std::string generator_bound_reason;
  // The run's last interval: its span runs on through stopping, draining
  // and closing the store (a final checkpoint can take seconds), so its
  // throughput is not judged.
  bool final = false;

  double writes_per_s() const;
  // Failed operations over attempted ones, writes and reads, 0..1.
  double error_rate() const;
};

struct HealthRules {
  double stress_queue_utilization = 0.80;    // Healthy below it.
  double stress_error_rate = 0.01;           // Healthy below it.
  double rising_error_rate_floor = 0.001;    // "Increasing" counts above it.
  // Increasing: higher than the interval before in each of this many
  // intervals in a row (and above the floor).
  int rising_error_intervals = 3;
  int64_t stress_write_p95_ns = 100'000'000;     // 100 ms.
  int64_t overload_write_p95_ns = 1'000'000'000;  // 1 s.
  double spike_factor = 5;                   // p99 over the run's median.
  int64_t spike_floor_ns = 50'000'000;       // A spike is at least 50 ms.
  double overload_timeout_rate = 0.01;       // Timeouts over writes tried.
  // Throughput against the offered rate (open loop) ...
  double open_degraded = 0.90;
  double open_collapsed = 0.50;
  // ... or against the run's median so far (closed loop).
  double closed_degraded = 0.75;
  double closed_collapsed = 0.25;
  // Throughput is judged only when the reference is at least this many
  // writes in the interval, and (closed loop) after this many intervals.
  double min_reference_writes = 50;
  int min_reference_intervals = 2;
  size_t window = 60;  // Earlier intervals kept for medians.
};

struct Health {
  HealthState state = HealthState::kHealthy;
  // Plain words, one per rule that fired ("queue 93% full (healthy below
  // 80%)"); "idle" when nothing ran; empty when healthy.
  std::vector<std::string> reasons;
  // Which kinds of rule fired, for code that acts on them (the diagnosis).
  bool latency = false;     // Write p95 at 100 ms (or 1 s), or a spike.
  bool throughput = false;  // Degradation or collapse.
};

class HealthJudge {
 public:
  explicit HealthJudge(HealthRules rules = HealthRules()) : rules_(rules) {}

  // Judges `sample` against the earlier intervals, then remembers it.
  Health Judge(const HealthSample& sample);

 private:
  HealthRules rules_;
  std::deque<double> rates_;      // writes/s of earlier intervals.
  std::deque<int64_t> p99s_;      // write p99 of earlier intervals.
  std::deque<double> error_rates_;
};

// Intervals and seconds spent in each state.
struct HealthTally {
  int64_t intervals[4] = {0, 0, 0, 0};
  double seconds[4] = {0, 0, 0, 0};

  void Add(HealthState state, double span_seconds);
  void Add(const HealthTally& other);
  int64_t total_intervals() const;
  // Intervals in `state` over all intervals, 0..1; 0 without intervals.
  double fraction(HealthState state) const;
};

}  // namespace loadtest::stats

#endif  // LOADTEST_STATS_HEALTH_H_
