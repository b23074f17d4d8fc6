// Stability: whether a run's performance held steady from start to end, the
// verdict of the guide's `sustained` scenario ("Stable performance over 30
// minutes") and of every run long enough to judge. docs/stability.md gives
// the rules and why their bounds are what they are.
//
// StabilitySeries keeps what the verdict needs of each interval's TOTAL in
// bounded memory (at most kCapacity points: when full, neighbouring points
// merge and each point covers twice as many intervals); JudgeStability fits
// the trends and gives the verdict. Both are pure (no I/O, no clock):
// StabilitySeries is one thread at a time, JudgeStability safe from any
// thread.
#ifndef LOADTEST_REPORT_STABILITY_H_
#define LOADTEST_REPORT_STABILITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stats/latency_histogram.h"

namespace loadtest::report {

// What the verdict reads of one interval's TOTAL (or, once merged, of
// several neighbouring intervals).
struct StabilitySample {
  double start_s = 0;  // Seconds since the run began.
  double end_s = 0;
  double seconds = 0;   // Time covered (the intervals' lengths added).
  int64_t intervals = 1;
  int64_t writes_ok = 0;
  // The lowest write rate of any one interval in it (a stall stays visible
  // however many intervals a point merges).
  double min_writes_per_s = 0;
  stats::LatencyHistogram write_latency;
  // The agents' resident memory at the end (the largest, once merged);
  // -1 when no agent reported it.
  int64_t rss_bytes = -1;
  // The store, when reported (-1 otherwise): the WAL's largest length, its
  // restart point, and the database file's size at the end.
  int64_t wal_bytes_max = -1;
  int64_t wal_restart_bytes = -1;
  int64_t db_bytes = -1;

  double writes_per_s() const { return seconds > 0 ? writes_ok / seconds : 0; }
  // Adds the next sample in time (`later` starts where this one ends).
  void Append(const StabilitySample& later);
};

class StabilitySeries {
 public:
  // Points kept at most: a point holds one latency histogram (a few KB),
  // so the series stays under about 1 MB however long the run.
  static constexpr size_t kCapacity = 128;

  explicit StabilitySeries(size_t capacity = kCapacity);

  // Takes the next interval's sample. The latest one is held back from
  // points() until another follows: the run's final interval includes the
  // drain (and may be cut short), so it is never judged.
  void Add(const StabilitySample& interval);

  // Every interval but the latest, oldest first, `intervals_per_point()`
  // intervals a point (the last point may hold fewer).
  const std::vector<StabilitySample>& points() const { return points_; }
  int64_t intervals_per_point() const { return per_point_; }
  // Intervals added, the held-back latest included.
  int64_t intervals() const { return intervals_; }

 private:
  void Push(const StabilitySample& sample);
  void Halve();  // Merges neighbouring points pairwise.

  const size_t capacity_;  // Even, at least 2.
  std::vector<StabilitySample> points_;
  std::optional<StabilitySample> latest_;
  int64_t per_point_ = 1;
  int64_t intervals_ = 0;
};

// A straight line fitted by least squares, y = intercept + slope * t, with
// the slope's standard error and its two-sided 95% interval (Student t,
// n - 2 degrees of freedom).
struct LinearTrend {
  int64_t points = 0;
  double mean = 0;  // Of y.
  double intercept = 0;
  double slope = 0;  // Per second.
  double slope_se = 0;
  double slope_ci_low = 0;
  double slope_ci_high = 0;

  double At(double t) const { return intercept + slope * t; }
};
// Needs at least 3 points with different t (otherwise all zero but
// `points` and `mean`).
LinearTrend FitLine(const std::vector<double>& t, const std::vector<double>& y);

// The bounds a stable run stays within (docs/stability.md says why).
inline constexpr int64_t kMinJudgedIntervals = 12;
inline constexpr double kWarmupFraction = 0.10;  // Of the run's intervals.
inline constexpr double kMaxThroughputDrift = 0.05;  // Per 10 minutes.
inline constexpr double kMaxP99Rise = 0.20;          // Last third vs first.
inline constexpr double kStallFraction = 0.25;       // Of the median rate.
inline constexpr double kMaxRssGrowth = 0.10;        // Per 10 minutes,
inline constexpr double kMinRssRise = 0.10;  // and risen this much in fact
inline constexpr int64_t kMinRssRiseBytes = int64_t{8} << 20;  // and this.
inline constexpr double kMaxWalGrowth = 2.0;  // Last third vs first third.
inline constexpr double kConfidence = 0.95;

enum class StabilityState { kStable, kUnstable, kTooShort, kNotJudged };
// "stable", "unstable", "too_short", "not_judged" (the reports' words).
const char* StabilityStateName(StabilityState state);

struct StabilityVerdict {
  StabilityState state = StabilityState::kTooShort;
  // One sentence: "stable: ...", "UNSTABLE: ...", "too short to judge
  // stability: ...", "not judged: ...".
  std::string headline;
  // Why it is unstable, one plain sentence per failed rule.
  std::vector<std::string> reasons;

  int64_t intervals = 0;          // In the run, the final one included.
  int64_t warmup_intervals = 0;   // Left out at the start.
  int64_t judged_intervals = 0;   // After the warm-up, before the final one.
  int64_t intervals_per_point = 1;
  double from_s = 0;  // The judged span.
  double to_s = 0;

  // Write throughput per point: its fitted line, the drift (the slope as a
  // fraction of the mean per 10 minutes, signed) and its 95% interval.
  LinearTrend throughput;
  double drift = 0;
  double drift_ci_low = 0;
  double drift_ci_high = 0;
  bool drift_beyond = false;  // Beyond the bound and beyond its interval.

  // Write p99 of the first and last third of the judged points (their
  // merged histograms), the third's spans, and the change (signed
  // fraction of the first).
  double p99_first_ms = 0;
  double p99_last_ms = 0;
  double p99_change = 0;
  double first_third_end_s = 0;
  double last_third_start_s = 0;

  // Stalls: points with an interval under kStallFraction of the median
  // point's write rate.
  double median_writes_per_s = 0;
  int64_t stalls = 0;
  double first_stall_s = 0;  // Start of the first stalled point.
  double lowest_writes_per_s = 0;

  // The agents' resident memory (summed over agents): a fitted line and its
  // growth per 10 minutes as a fraction of the mean, with its interval.
  bool has_rss = false;
  LinearTrend rss;
  double rss_growth = 0;
  double rss_growth_ci_low = 0;
  double rss_growth_ci_high = 0;
  int64_t rss_first_bytes = 0;
  int64_t rss_last_bytes = 0;

  // The store: the WAL's largest length in the first and last third, its
  // restart point, and the database's growth (informative: a log store
  // grows with the rows written).
  bool has_store = false;
  int64_t wal_first_third_bytes = 0;
  int64_t wal_last_third_bytes = 0;
  int64_t wal_restart_bytes = 0;
  double db_growth_bytes_per_10min = 0;
  double db_bytes_per_write = 0;

  bool stable() const { return state == StabilityState::kStable; }
  bool judged() const {
    return state == StabilityState::kStable ||
           state == StabilityState::kUnstable;
  }
};

// The verdict's figures in plain lines for the text summary, e.g. "write
// throughput: mean 4012/s, drift -0.4% per 10 minutes (95% interval -1.1%
// to +0.3%; stable within +-5%)"; none when it was not judged.
std::vector<std::string> StabilityFigureLines(const StabilityVerdict& v);

// Judges `series`. `load_varies`: the offered load follows a plan of stages
// (--stages), so a changing rate is the plan, not instability: not judged.
StabilityVerdict JudgeStability(const StabilitySeries& series,
                                bool load_varies = false);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_STABILITY_H_
