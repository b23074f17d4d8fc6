#include "report/find_max_result.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "duration/duration.h"

namespace loadtest::report {

absl::Status FindMaxOptions::Validate() const {
  if (!(start_rate > 0) || start_rate > 1e9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start-rate must be > 0 writes/s (and at most 1e9), got ", start_rate));
  }
  if (!(max_rate >= start_rate) || max_rate > 1e9) {
    return absl::InvalidArgumentError(
        absl::StrCat("max-rate must be between start-rate (", start_rate,
                     ") and 1e9 writes/s, got ", max_rate));
  }
  if (step_duration < std::chrono::seconds(1) ||
      step_duration > std::chrono::hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("step-duration must be between 1s and 24h, got ",
                     duration::FormatDuration(step_duration)));
  }
  if (warmup < std::chrono::nanoseconds(0) || warmup > std::chrono::hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup must be between 0s and 1h, got ",
                     duration::FormatDuration(warmup)));
  }
  if (max_steps < 1 || max_steps > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max-steps must be between 1 and 1000, got ", max_steps));
  }
  if (tries < 1 || tries > 9 || tries % 2 == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tries must be an odd number between 1 and 9, got ", tries));
  }
  if (!(precision > 0 && precision < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "precision must be between 0% and 100% (exclusive), got ",
        precision * 100, "%"));
  }
  if (step_db != "scratch" && step_db != "grow") {
    return absl::InvalidArgumentError(absl::StrCat(
        "step-db must be scratch or grow, got '", step_db, "'"));
  }
  return absl::OkStatus();
}

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

std::optional<double> Saturation::mean() const {
  if (before.has_value() && after.has_value()) return (*before + *after) / 2;
  return before.has_value() ? before : after;
}

std::optional<double> Saturation::change() const {
  if (!before.has_value() || !after.has_value()) return std::nullopt;
  const double larger = std::max(*before, *after);
  if (!(larger > 0)) return std::nullopt;
  return std::abs(*after - *before) / larger;
}

std::optional<std::string> Saturation::Warning() const {
  const std::optional<double> moved = change();
  if (!moved.has_value() || *moved <= kSaturationChangeWarning) {
    return std::nullopt;
  }
  return absl::StrFormat(
      "the store's saturated rate moved %.0f%% during the search (%.0f "
      "writes/s before, %.0f after): this host's speed changed, and another "
      "search here will differ from this one by as much",
      100 * *moved, *before, *after);
}

}  // namespace loadtest::report
