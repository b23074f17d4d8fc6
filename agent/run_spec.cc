#include "agent/run_spec.h"

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"

namespace loadtest::agent {
namespace {

std::string Seconds(std::chrono::nanoseconds d) {
  return absl::StrCat(std::chrono::duration<double>(d).count(), "s");
}

}  // namespace

absl::Status ValidateRunSpec(const RunSpec& spec) {
  if (spec.duration <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration must be > 0, got ", Seconds(spec.duration)));
  }
  if (spec.duration > std::chrono::hours(24 * 7)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration must be at most 168h, got ", Seconds(spec.duration)));
  }
  if (spec.log_interval < std::chrono::milliseconds(100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("log-interval must be at least 100ms, got ",
                     Seconds(spec.log_interval)));
  }
  RETURN_IF_ERROR(storage::ValidateStoreOptions(spec.store));
  return ValidateWorkloadOptions(spec.workload);
}

}  // namespace loadtest::agent
