#include "report/stability.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/compare.h"

namespace loadtest::report {
namespace {

constexpr double kTenMinutes = 600;

std::string Percent(double fraction) {
  return absl::StrFormat("%+.1f%%", 100 * fraction);
}

std::string Mib(int64_t bytes) {
  return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0));
}

// Whether a drift's interval lies wholly on one side of zero.
bool Significant(double low, double high) {
  return (low > 0 && high > 0) || (low < 0 && high < 0);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid]
                                : (values[mid - 1] + values[mid]) / 2;
}

double P99Ms(const std::vector<StabilitySample>& points, size_t begin,
             size_t end) {
  stats::LatencyHistogram merged;
  for (size_t i = begin; i < end; ++i) merged.Merge(points[i].write_latency);
  return merged.count() > 0 ? merged.Quantile(0.99) / 1e6 : 0;
}

// The judged points: after the warm-up (whole points), before the held-back
// final interval (never in points()).
struct Judged {
  std::vector<StabilitySample> points;
  int64_t warmup_intervals = 0;
  int64_t intervals = 0;
};

Judged JudgedPoints(const StabilitySeries& series) {
  Judged j;
  j.warmup_intervals = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(kWarmupFraction * series.intervals())));
  int64_t first = 0;  // Index of the point's first interval.
  for (const StabilitySample& p : series.points()) {
    if (first >= j.warmup_intervals) {
      j.points.push_back(p);
      j.intervals += p.intervals;
    }
    first += p.intervals;
  }
  // The warm-up is what was left out, whole points at a time.
  j.warmup_intervals = first - j.intervals;
  return j;
}

void JudgeThroughput(const std::vector<double>& t, const std::vector<double>& y,
                     StabilityVerdict* v) {
  v->throughput = FitLine(t, y);
  const LinearTrend& tr = v->throughput;
  if (tr.mean <= 0) return;
  const double scale = kTenMinutes / tr.mean;
  v->drift = tr.slope * scale;
  v->drift_ci_low = tr.slope_ci_low * scale;
  v->drift_ci_high = tr.slope_ci_high * scale;
  v->drift_beyond = std::fabs(v->drift) > kMaxThroughputDrift &&
                    Significant(v->drift_ci_low, v->drift_ci_high);
  if (v->drift_beyond) {
    v->reasons.push_back(absl::StrFormat(
        "write throughput drifts %s per 10 minutes (95%% interval %s to %s), "
        "beyond +-%.0f%%",
        Percent(v->drift), Percent(v->drift_ci_low), Percent(v->drift_ci_high),
        100 * kMaxThroughputDrift));
  }
}

void JudgeP99(const std::vector<StabilitySample>& points, StabilityVerdict* v) {
  const size_t third = points.size() / 3;
  v->p99_first_ms = P99Ms(points, 0, third);
  v->p99_last_ms = P99Ms(points, points.size() - third, points.size());
  v->first_third_end_s = points[third - 1].end_s;
  v->last_third_start_s = points[points.size() - third].start_s;
  if (v->p99_first_ms <= 0) return;
  v->p99_change = (v->p99_last_ms - v->p99_first_ms) / v->p99_first_ms;
  if (v->p99_change > kMaxP99Rise) {
    v->reasons.push_back(absl::StrFormat(
        "write p99 rose %s from the first third (%.2f ms) to the last "
        "(%.2f ms), beyond +%.0f%%",
        Percent(v->p99_change), v->p99_first_ms, v->p99_last_ms,
        100 * kMaxP99Rise));
  }
}

void JudgeStalls(const std::vector<StabilitySample>& points,
                 const std::vector<double>& rates, StabilityVerdict* v) {
  v->median_writes_per_s = Median(rates);
  v->lowest_writes_per_s = points.front().min_writes_per_s;
  for (const StabilitySample& p : points) {
    v->lowest_writes_per_s = std::min(v->lowest_writes_per_s, p.min_writes_per_s);
    if (p.min_writes_per_s < kStallFraction * v->median_writes_per_s) {
      if (v->stalls == 0) v->first_stall_s = p.start_s;
      ++v->stalls;
    }
  }
  if (v->stalls > 0) {
    v->reasons.push_back(absl::StrFormat(
        "%d stall%s: interval%s under %.0f%% of the median write rate "
        "(%.0f/s), the first at %.1fs (lowest %.0f/s)",
        v->stalls, v->stalls == 1 ? "" : "s", v->stalls == 1 ? "" : "s",
        100 * kStallFraction, v->median_writes_per_s, v->first_stall_s,
        v->lowest_writes_per_s));
  }
}

void JudgeMemory(const std::vector<StabilitySample>& points,
                 const std::vector<double>& t, StabilityVerdict* v) {
  std::vector<double> rss;
  for (const StabilitySample& p : points) {
    if (p.rss_bytes < 0) return;  // Some interval without it: not judged.
    rss.push_back(static_cast<double>(p.rss_bytes));
  }
  v->has_rss = true;
  v->rss = FitLine(t, rss);
  v->rss_first_bytes = points.front().rss_bytes;
  v->rss_last_bytes = points.back().rss_bytes;
  if (v->rss.mean <= 0) return;
  const double scale = kTenMinutes / v->rss.mean;
  v->rss_growth = v->rss.slope * scale;
  v->rss_growth_ci_low = v->rss.slope_ci_low * scale;
  v->rss_growth_ci_high = v->rss.slope_ci_high * scale;
  // A short run's memory still settling (the allocator, SQLite's page
  // caches, the in-process controller's bounded series) extrapolates to a
  // steep growth per 10 minutes: a leak must also have grown the memory by
  // kMinRssRise and kMinRssRiseBytes over the judged span.
  const int64_t rise = v->rss_last_bytes - v->rss_first_bytes;
  const bool risen = rise > kMinRssRise * v->rss_first_bytes &&
                     rise > kMinRssRiseBytes;
  if (v->rss_growth > kMaxRssGrowth && v->rss_growth_ci_low > 0 && risen) {
    v->reasons.push_back(absl::StrFormat(
        "agent memory (RSS) grows %s per 10 minutes (95%% interval %s to %s; "
        "%s to %s), beyond +%.0f%%: a leak?",
        Percent(v->rss_growth), Percent(v->rss_growth_ci_low),
        Percent(v->rss_growth_ci_high), Mib(v->rss_first_bytes),
        Mib(v->rss_last_bytes), 100 * kMaxRssGrowth));
  }
}

void JudgeStore(const std::vector<StabilitySample>& points,
                StabilityVerdict* v) {
  for (const StabilitySample& p : points) {
    if (p.wal_bytes_max < 0 || p.db_bytes < 0) return;
  }
  v->has_store = true;
  const size_t third = points.size() / 3;
  for (size_t i = 0; i < points.size(); ++i) {
    const StabilitySample& p = points[i];
    v->wal_restart_bytes = std::max(v->wal_restart_bytes, p.wal_restart_bytes);
    if (i < third) {
      v->wal_first_third_bytes = std::max(v->wal_first_third_bytes, p.wal_bytes_max);
    }
    if (i >= points.size() - third) {
      v->wal_last_third_bytes = std::max(v->wal_last_third_bytes, p.wal_bytes_max);
    }
  }
  const double span = points.back().end_s - points.front().start_s;
  // The database's growth from the end of the first point to the end of
  // the last: the writes of every point but the first.
  const double grown =
      static_cast<double>(points.back().db_bytes - points.front().db_bytes);
  int64_t writes = 0;
  for (size_t i = 1; i < points.size(); ++i) writes += points[i].writes_ok;
  if (span > 0) v->db_growth_bytes_per_10min = grown * kTenMinutes / span;
  if (writes > 0) v->db_bytes_per_write = grown / writes;
  const int64_t reference =
      std::max(v->wal_first_third_bytes, v->wal_restart_bytes);
  if (reference > 0 && v->wal_last_third_bytes > kMaxWalGrowth * reference) {
    v->reasons.push_back(absl::StrCat(
        "the WAL grows: up to ", Mib(v->wal_last_third_bytes),
        " in the last third against ", Mib(v->wal_first_third_bytes),
        " in the first (restart point ", Mib(v->wal_restart_bytes),
        "): checkpoints fall behind"));
  }
}

}  // namespace

void StabilitySample::Append(const StabilitySample& later) {
  end_s = later.end_s;
  seconds += later.seconds;
  intervals += later.intervals;
  writes_ok += later.writes_ok;
  min_writes_per_s = std::min(min_writes_per_s, later.min_writes_per_s);
  write_latency.Merge(later.write_latency);
  rss_bytes = later.rss_bytes < 0 ? -1 : std::max(rss_bytes, later.rss_bytes);
  wal_bytes_max =
      later.wal_bytes_max < 0 ? -1 : std::max(wal_bytes_max, later.wal_bytes_max);
  wal_restart_bytes = std::max(wal_restart_bytes, later.wal_restart_bytes);
  db_bytes = later.db_bytes;
}

StabilitySeries::StabilitySeries(size_t capacity)
    : capacity_(std::max<size_t>(2, capacity & ~size_t{1})) {
  points_.reserve(capacity_);
}

void StabilitySeries::Add(const StabilitySample& interval) {
  ++intervals_;
  if (latest_.has_value()) Push(*latest_);
  latest_ = interval;
  latest_->intervals = 1;
  latest_->min_writes_per_s = interval.writes_per_s();
}

void StabilitySeries::Push(const StabilitySample& sample) {
  if (!points_.empty() && points_.back().intervals < per_point_) {
    points_.back().Append(sample);
    return;
  }
  if (points_.size() == capacity_) {
    Halve();  // Every point is full then: the sample starts a new one.
  }
  points_.push_back(sample);
}

void StabilitySeries::Halve() {
  std::vector<StabilitySample> halved;
  halved.reserve(capacity_);
  for (size_t i = 0; i + 1 < points_.size(); i += 2) {
    halved.push_back(points_[i]);
    halved.back().Append(points_[i + 1]);
  }
  points_ = std::move(halved);
  per_point_ *= 2;
}

LinearTrend FitLine(const std::vector<double>& t, const std::vector<double>& y) {
  LinearTrend tr;
  const size_t n = std::min(t.size(), y.size());
  tr.points = static_cast<int64_t>(n);
  if (n == 0) return tr;
  double t_mean = 0;
  for (size_t i = 0; i < n; ++i) {
    t_mean += t[i];
    tr.mean += y[i];
  }
  t_mean /= n;
  tr.mean /= n;
  double stt = 0, sty = 0;
  for (size_t i = 0; i < n; ++i) {
    stt += (t[i] - t_mean) * (t[i] - t_mean);
    sty += (t[i] - t_mean) * (y[i] - tr.mean);
  }
  if (n < 3 || stt <= 0) return tr;
  tr.slope = sty / stt;
  tr.intercept = tr.mean - tr.slope * t_mean;
  double residuals = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = y[i] - tr.At(t[i]);
    residuals += r * r;
  }
  const double df = static_cast<double>(n) - 2;
  tr.slope_se = std::sqrt(residuals / df / stt);
  const double half = StudentTQuantile(0.5 + kConfidence / 2, df) * tr.slope_se;
  tr.slope_ci_low = tr.slope - half;
  tr.slope_ci_high = tr.slope + half;
  return tr;
}

const char* StabilityStateName(StabilityState state) {
  switch (state) {
    case StabilityState::kStable:
      return "stable";
    case StabilityState::kUnstable:
      return "unstable";
    case StabilityState::kTooShort:
      return "too_short";
    case StabilityState::kNotJudged:
      break;
  }
  return "not_judged";
}

std::vector<std::string> StabilityFigureLines(const StabilityVerdict& v) {
  std::vector<std::string> lines;
  if (!v.judged()) return lines;
  // Per 10 minutes is the bound's scale; over the judged span is what a
  // short run's chart shows.
  const double span_fraction = (v.to_s - v.from_s) / kTenMinutes;
  lines.push_back(absl::StrFormat(
      "write throughput: mean %.0f/s, drift %s per 10 minutes (95%% interval "
      "%s to %s; stable within +-%.0f%%), %s over the judged %.0fs",
      v.throughput.mean, Percent(v.drift), Percent(v.drift_ci_low),
      Percent(v.drift_ci_high), 100 * kMaxThroughputDrift,
      Percent(v.drift * span_fraction), v.to_s - v.from_s));
  lines.push_back(absl::StrFormat(
      "write p99: %.2f ms in the first third, %.2f ms in the last (%s; "
      "stable up to +%.0f%%)",
      v.p99_first_ms, v.p99_last_ms, Percent(v.p99_change), 100 * kMaxP99Rise));
  lines.push_back(absl::StrFormat(
      "stalls: %d (intervals under %.0f%% of the median %.0f/s; lowest "
      "%.0f/s)",
      v.stalls, 100 * kStallFraction, v.median_writes_per_s,
      v.lowest_writes_per_s));
  if (v.has_rss) {
    lines.push_back(absl::StrFormat(
        "agent memory (RSS): %s to %s, %s per 10 minutes (95%% interval %s "
        "to %s; stable up to +%.0f%%)",
        Mib(v.rss_first_bytes), Mib(v.rss_last_bytes), Percent(v.rss_growth),
        Percent(v.rss_growth_ci_low), Percent(v.rss_growth_ci_high),
        100 * kMaxRssGrowth));
  }
  if (v.has_store) {
    lines.push_back(absl::StrFormat(
        "store: WAL up to %s in the first third, %s in the last (restart "
        "point %s); database %+.1f MiB per 10 minutes, %.0f bytes per write",
        Mib(v.wal_first_third_bytes), Mib(v.wal_last_third_bytes),
        Mib(v.wal_restart_bytes), v.db_growth_bytes_per_10min / (1024.0 * 1024.0),
        v.db_bytes_per_write));
  }
  return lines;
}

StabilityVerdict JudgeStability(const StabilitySeries& series,
                                bool load_varies) {
  StabilityVerdict v;
  v.intervals = series.intervals();
  v.intervals_per_point = series.intervals_per_point();
  if (load_varies) {
    v.state = StabilityState::kNotJudged;
    v.headline =
        "not judged: the offered load follows a plan of stages (--stages), "
        "so its rate changes by design";
    return v;
  }
  const Judged judged = JudgedPoints(series);
  v.warmup_intervals = judged.warmup_intervals;
  v.judged_intervals = judged.intervals;
  const std::vector<StabilitySample>& points = judged.points;
  if (points.size() < static_cast<size_t>(kMinJudgedIntervals)) {
    v.state = StabilityState::kTooShort;
    v.headline = absl::StrCat(
        "too short to judge stability: ", v.judged_intervals,
        v.judged_intervals == 1 ? " interval" : " intervals",
        " after the warm-up and before the final one, ",
        kMinJudgedIntervals,
        " needed (a longer --duration or a shorter -log-interval)");
    return v;
  }
  v.from_s = points.front().start_s;
  v.to_s = points.back().end_s;
  std::vector<double> t, rates;
  for (const StabilitySample& p : points) {
    t.push_back((p.start_s + p.end_s) / 2);
    rates.push_back(p.writes_per_s());
  }
  JudgeThroughput(t, rates, &v);
  if (v.throughput.mean <= 0) {
    v.state = StabilityState::kNotJudged;
    v.headline = "not judged: no write was acknowledged after the warm-up";
    v.reasons.clear();
    return v;
  }
  JudgeP99(points, &v);
  JudgeStalls(points, rates, &v);
  JudgeMemory(points, t, &v);
  JudgeStore(points, &v);
  v.state = v.reasons.empty() ? StabilityState::kStable
                              : StabilityState::kUnstable;
  const std::string span = absl::StrFormat(
      "%.0fs to %.0fs, %d intervals", v.from_s, v.to_s, v.judged_intervals);
  v.headline =
      v.stable()
          ? absl::StrFormat(
                "stable (%s): write throughput drift %s per 10 minutes, "
                "write p99 %s, no stall",
                span, Percent(v.drift), Percent(v.p99_change))
          : absl::StrFormat("UNSTABLE (%s): %s", span, v.reasons.front());
  return v;
}

}  // namespace loadtest::report
