#include "protocol/rate_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "duration/duration.h"

namespace loadtest::protocol {
namespace {

double Seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

absl::StatusOr<std::vector<RateStage>> ParseStages(const std::string& flag,
                                                   const std::string& text) {
  std::vector<RateStage> stages;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": stage \"", part,
          "\" is not DURATION:RATE (e.g. 30s:500,2m:5000,30s:0)"));
    }
    absl::StatusOr<std::chrono::nanoseconds> duration =
        duration::ParseDuration(part.substr(0, colon));
    if (!duration.ok() || *duration < std::chrono::nanoseconds(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": stage \"", part, "\" has a bad duration \"",
                       part.substr(0, colon), "\" (e.g. 30s, 2m, 1m30s)"));
    }
    double target = 0;
    if (!absl::SimpleAtod(part.substr(colon + 1), &target) ||
        !(target >= 0) || std::isinf(target)) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": stage \"", part, "\" has a bad rate \"",
          part.substr(colon + 1), "\" (operations per second, >= 0)"));
    }
    stages.push_back({*duration, target});
  }
  return stages;
}

std::string FormatStages(const std::vector<RateStage>& stages) {
  return absl::StrJoin(stages, ",", [](std::string* out, const RateStage& s) {
    absl::StrAppend(out, duration::FormatDuration(s.duration), ":", s.target);
  });
}

std::chrono::nanoseconds StagesDuration(const std::vector<RateStage>& stages) {
  // Saturating: typed stages are summed before they are validated.
  int64_t total = 0;
  for (const RateStage& s : stages) {
    if (__builtin_add_overflow(total, std::max<int64_t>(0, s.duration.count()),
                               &total)) {
      return std::chrono::nanoseconds::max();
    }
  }
  return std::chrono::nanoseconds(total);
}

std::vector<RateStage> SplitStages(const std::vector<RateStage>& stages,
                                   int parts) {
  std::vector<RateStage> split = stages;
  if (parts > 1) {
    for (RateStage& s : split) s.target /= parts;
  }
  return split;
}

RatePlan RatePlan::Constant(double rate) { return Ramp(rate, {}); }

RatePlan RatePlan::Ramp(double start, const std::vector<RateStage>& stages) {
  RatePlan plan;
  double t = 0;
  double rate = start;
  double ops = 0;
  plan.open_loop_ = start > 0;
  for (const RateStage& stage : stages) {
    plan.open_loop_ = plan.open_loop_ || stage.target > 0;
    const double d = Seconds(stage.duration);
    if (d > 0) {
      plan.segments_.push_back({t, t + d, rate, stage.target, ops});
      ops += (rate + stage.target) / 2 * d;
      t += d;
    }
    rate = stage.target;
  }
  plan.final_rate_ = rate;
  plan.final_start_s_ = t;
  plan.final_ops_ = ops;
  return plan;
}

double RatePlan::RateAt(double t_s) const {
  for (const Segment& s : segments_) {
    if (t_s < s.end_s) {
      if (t_s <= s.start_s) return s.rate0;
      return s.rate0 + (s.rate1 - s.rate0) * (t_s - s.start_s) /
                           (s.end_s - s.start_s);
    }
  }
  return final_rate_;
}

double RatePlan::OperationsBy(double t_s) const {
  if (!(t_s > 0)) return 0;
  for (const Segment& s : segments_) {
    if (t_s < s.end_s) {
      const double x = t_s - s.start_s;
      const double slope = (s.rate1 - s.rate0) / (s.end_s - s.start_s);
      return s.ops_before + s.rate0 * x + slope * x * x / 2;
    }
  }
  return final_ops_ + final_rate_ * (t_s - final_start_s_);
}

double RatePlan::TimeOfOperation(double n) const {
  if (!(n > 0)) return open_loop_ ? 0 : std::numeric_limits<double>::infinity();
  for (const Segment& s : segments_) {
    const double ops_end = s.ops_before + (s.rate0 + s.rate1) / 2 * (s.end_s - s.start_s);
    if (n > ops_end) continue;
    const double due = n - s.ops_before;
    if (due <= 0) return s.start_s;
    // Solve rate0 * x + slope * x^2 / 2 = due for x in [0, length], in the
    // form that stays exact when the slope is 0 or negative.
    const double slope = (s.rate1 - s.rate0) / (s.end_s - s.start_s);
    const double root =
        std::sqrt(std::max(0.0, s.rate0 * s.rate0 + 2 * slope * due));
    const double x = 2 * due / (s.rate0 + root);
    return std::min(s.end_s, s.start_s + x);
  }
  if (final_rate_ <= 0) return std::numeric_limits<double>::infinity();
  return final_start_s_ + std::max(0.0, n - final_ops_) / final_rate_;
}

}  // namespace loadtest::protocol
