// RatePlan: an open-loop rate over time, constant (--write-rate) or ramped
// through stages (--stages=30s:500,2m:5000,30s:0), and the schedule it
// implies: when the n-th operation is due and how many were due by a time.
//
// A plan starts at `start` operations per second at time 0 and ramps
// linearly to each stage's target over the stage's duration, one stage
// after the other; after the last stage the last target holds. A stage of
// duration 0 jumps. The operations due by time t are the integral of the
// rate from 0 to t: OperationsBy(t). Operation n (from 0) is due at the
// first t with OperationsBy(t) >= n: TimeOfOperation(n). While the rate is
// 0 nothing is due; if it stays 0 to the end, operation n is never due
// (infinity).
//
// Plain value, pure functions; safe from any thread.
#ifndef LOADTEST_PROTOCOL_RATE_PLAN_H_
#define LOADTEST_PROTOCOL_RATE_PLAN_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace loadtest::protocol {

// Ramp to `target` operations per second over `duration`.
struct RateStage {
  std::chrono::nanoseconds duration{0};
  double target = 0;
  bool operator==(const RateStage& other) const {
    return duration == other.duration && target == other.target;
  }
};

// "30s:500,2m:5000,30s:0" -> stages. InvalidArgument naming `flag` and the
// bad part: a missing ':', a bad duration, a negative or non-numeric rate.
absl::StatusOr<std::vector<RateStage>> ParseStages(const std::string& flag,
                                                   const std::string& text);
// The inverse of ParseStages ("30s:500,2m:5000,30s:0").
std::string FormatStages(const std::vector<RateStage>& stages);
// The stages' total duration (negative ones count 0; saturates at
// nanoseconds::max()).
std::chrono::nanoseconds StagesDuration(const std::vector<RateStage>& stages);
// Every target divided by `parts` (a total split evenly across agents).
std::vector<RateStage> SplitStages(const std::vector<RateStage>& stages,
                                   int parts);

class RatePlan {
 public:
  RatePlan() = default;  // Rate 0 throughout: closed loop.
  // `rate` throughout.
  static RatePlan Constant(double rate);
  // From `start`, through `stages`.
  static RatePlan Ramp(double start, const std::vector<RateStage>& stages);

  // Some operation is ever due: the plan paces its threads (open loop).
  bool open_loop() const { return open_loop_; }
  // Operations per second at `t_s` seconds.
  double RateAt(double t_s) const;
  // Operations due in [0, t_s]: the integral of the rate.
  double OperationsBy(double t_s) const;
  // Seconds at which operation `n` (0, 1, ...) is due; infinity if never.
  double TimeOfOperation(double n) const;

 private:
  // Linear from (start_s, rate0) to (end_s, rate1); `ops_before`: the
  // operations due before start_s.
  struct Segment {
    double start_s;
    double end_s;
    double rate0;
    double rate1;
    double ops_before;
  };
  std::vector<Segment> segments_;
  double final_rate_ = 0;   // Holds after the last segment.
  double final_start_s_ = 0;
  double final_ops_ = 0;    // Operations due before final_start_s_.
  bool open_loop_ = false;
};

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_RATE_PLAN_H_
