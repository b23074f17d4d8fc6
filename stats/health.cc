#include "stats/health.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace loadtest::stats {
namespace {

template <typename T>
T Median(const std::deque<T>& values) {
  std::vector<T> sorted(values.begin(), values.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2,
                   sorted.end());
  return sorted[sorted.size() / 2];
}

template <typename T>
void Remember(T value, size_t window, std::deque<T>* values) {
  values->push_back(value);
  while (values->size() > window) values->pop_front();
}

std::string Ms(int64_t ns) {
  return absl::StrFormat("%.1f ms", static_cast<double>(ns) / 1e6);
}

std::string Percent(double fraction) {
  return absl::StrFormat("%.1f%%", fraction * 100);
}

int Index(HealthState state) { return static_cast<int>(state); }

// Collects the rules that fired and the worst state among them.
struct Verdict {
  Health health;
  void Fire(HealthState state, std::string reason) {
    health.state = std::max(health.state, state);
    health.reasons.push_back(std::move(reason));
  }
};

}  // namespace

const char* HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kUnderStress:
      return "under_stress";
    case HealthState::kOverloaded:
      return "overloaded";
    case HealthState::kGeneratorBound:
      return "generator_bound";
  }
  return "unknown";
}

double HealthSample::writes_per_s() const {
  return seconds > 0 ? writes_ok / seconds : 0;
}

double HealthSample::error_rate() const {
  const int64_t failed = write_errors + write_timeouts + queue_full + read_errors;
  const int64_t attempted = failed + writes_ok + reads_ok;
  return attempted > 0 ? static_cast<double>(failed) / attempted : 0;
}

Health HealthJudge::Judge(const HealthSample& s) {
  const HealthRules& r = rules_;
  Verdict v;
  const int64_t writes_tried =
      s.writes_ok + s.write_errors + s.write_timeouts + s.queue_full;
  const bool idle =
      writes_tried + s.reads_ok + s.read_errors == 0 && s.offered_writes < 1;

  // Overloaded: the store refused or dropped work, or latency passed 1 s.
  if (s.queue_full > 0) {
    v.Fire(HealthState::kOverloaded,
           absl::StrFormat("%d writes refused: queue full", s.queue_full));
  }
  if (writes_tried > 0 &&
      s.write_timeouts >= r.overload_timeout_rate * writes_tried &&
      s.write_timeouts > 0) {
    v.Fire(HealthState::kOverloaded,
           absl::StrFormat("%s of writes timed out (overloaded from %s)",
                           Percent(double(s.write_timeouts) / writes_tried),
                           Percent(r.overload_timeout_rate)));
  }
  if (s.write_p95_ns >= r.stress_write_p95_ns) v.health.latency = true;
  if (s.write_p95_ns >= r.overload_write_p95_ns) {
    v.Fire(HealthState::kOverloaded,
           absl::StrFormat("write p95 %s (overloaded from %s)",
                           Ms(s.write_p95_ns), Ms(r.overload_write_p95_ns)));
  } else if (s.write_p95_ns >= r.stress_write_p95_ns) {
    v.Fire(HealthState::kUnderStress,
           absl::StrFormat("write p95 %s (healthy below %s)",
                           Ms(s.write_p95_ns), Ms(r.stress_write_p95_ns)));
  }
  if (!p99s_.empty() && s.write_p99_ns >= r.spike_floor_ns) {
    const int64_t median = Median(p99s_);
    if (s.write_p99_ns >= r.spike_factor * median) {
      v.health.latency = true;
      v.Fire(HealthState::kUnderStress,
             absl::StrFormat("latency spike: write p99 %s, %.0fx the run's "
                             "median %s",
                             Ms(s.write_p99_ns),
                             double(s.write_p99_ns) / std::max<int64_t>(1, median),
                             Ms(median)));
    }
  }
  if (s.queue_utilization >= r.stress_queue_utilization && s.queue_full == 0) {
    v.Fire(HealthState::kUnderStress,
           absl::StrFormat("queue %s full (healthy below %s)",
                           Percent(s.queue_utilization),
                           Percent(r.stress_queue_utilization)));
  }
  const double error_rate = s.error_rate();
  if (error_rate >= r.stress_error_rate) {
    v.Fire(HealthState::kUnderStress,
           absl::StrFormat("error rate %s (healthy below %s)",
                           Percent(error_rate), Percent(r.stress_error_rate)));
  } else if (error_rate > r.rising_error_rate_floor &&
             error_rates_.size() >= size_t(r.rising_error_intervals)) {
    // Higher than the interval before, in each of the last
    // rising_error_intervals intervals.
    bool rising = true;
    double later = error_rate;
    for (int i = 1; i <= r.rising_error_intervals && rising; ++i) {
      const double earlier = error_rates_[error_rates_.size() - i];
      rising = earlier < later;
      later = earlier;
    }
    if (rising) {
      v.Fire(HealthState::kUnderStress,
             absl::StrFormat("error rate rising for %d intervals, now %s",
                             r.rising_error_intervals, Percent(error_rate)));
    }
  }

  // Throughput against what was offered (open loop) or the run so far.
  const double rate = s.writes_per_s();
  if (s.final) {
    // Not judged: see HealthSample::final.
  } else if (s.offered_writes >= r.min_reference_writes) {
    const double offered = s.offered_writes / s.seconds;
    const double ratio = rate / offered;
    v.health.throughput = ratio < r.open_degraded;
    if (ratio < r.open_collapsed) {
      v.Fire(HealthState::kOverloaded,
             absl::StrFormat("throughput collapse: %.0f writes/s of %.0f "
                             "offered (%s)",
                             rate, offered, Percent(ratio)));
    } else if (ratio < r.open_degraded) {
      v.Fire(HealthState::kUnderStress,
             absl::StrFormat("throughput degraded: %.0f writes/s of %.0f "
                             "offered (%s)",
                             rate, offered, Percent(ratio)));
    }
  } else if (s.offered_writes == 0 &&
             rates_.size() >= size_t(r.min_reference_intervals)) {
    const double median = Median(rates_);
    if (median * s.seconds >= r.min_reference_writes) {
      const double ratio = rate / median;
      v.health.throughput = ratio < r.closed_degraded;
      if (ratio < r.closed_collapsed) {
        v.Fire(HealthState::kOverloaded,
               absl::StrFormat("throughput collapse: %.0f writes/s, %s of "
                               "the run's median %.0f",
                               rate, Percent(ratio), median));
      } else if (ratio < r.closed_degraded) {
        v.Fire(HealthState::kUnderStress,
               absl::StrFormat("throughput degraded: %.0f writes/s, %s of "
                               "the run's median %.0f",
                               rate, Percent(ratio), median));
      }
    }
  }

  // A limited generator makes the figures its own, unless the store itself
  // refused or dropped writes, which a slower generator cannot cause.
  if (!s.generator_bound_reason.empty()) {
    if (v.health.state == HealthState::kOverloaded &&
        (s.queue_full > 0 || s.write_timeouts > 0)) {
      v.health.reasons.push_back("the load generator was also limited: " +
                                 s.generator_bound_reason);
    } else {
      v.health.state = HealthState::kGeneratorBound;
      v.health.reasons = {s.generator_bound_reason};
    }
  }
  if (idle && v.health.reasons.empty()) v.health.reasons.push_back("idle");

  if (!idle) {
    if (s.seconds > 0) Remember(rate, r.window, &rates_);
    if (s.write_p99_ns > 0) Remember(s.write_p99_ns, r.window, &p99s_);
    Remember(error_rate, r.window, &error_rates_);
  }
  return v.health;
}

void HealthTally::Add(HealthState state, double span_seconds) {
  ++intervals[Index(state)];
  seconds[Index(state)] += span_seconds;
}

void HealthTally::Add(const HealthTally& other) {
  for (int i = 0; i < 4; ++i) {
    intervals[i] += other.intervals[i];
    seconds[i] += other.seconds[i];
  }
}

int64_t HealthTally::total_intervals() const {
  return intervals[0] + intervals[1] + intervals[2] + intervals[3];
}

double HealthTally::fraction(HealthState state) const {
  const int64_t all = total_intervals();
  return all > 0 ? double(intervals[Index(state)]) / all : 0;
}

}  // namespace loadtest::stats
