#include "controller/scenario.h"

#include <limits>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/flag_set.h"
#include "status/status_macros.h"

namespace loadtest::controller {

const std::vector<Preset>& Presets() {
  using std::chrono::seconds;
  static const auto* presets = new std::vector<Preset>{
      {"light", "baseline", 5, 2, 50, seconds(60)},
      {"medium", "medium load", 25, 10, 150, seconds(300)},
      {"heavy", "heavy load", 75, 25, 250, seconds(600)},
      {"stress", "stress test", 150, 50, 500, seconds(300)},
      {"moderate", "guide scenario 1, expects 1000-2000 writes/s", 20, 10,
       100, seconds(300)},
      {"high", "guide scenario 2, expects 3000-5000 writes/s", 50, 20, 200,
       seconds(300)},
      {"burst", "guide scenario 3, expects 5000+ writes/s", 100, 30, 300,
       seconds(300)},
      {"sustained", "guide scenario 4, stable over 30 minutes", 30, 15, 150,
       seconds(1800)},
  };
  return *presets;
}

absl::Status ApplyPreset(const std::string& name,
                         const std::function<bool(const char*)>& is_set,
                         Scenario* scenario) {
  for (const Preset& p : Presets()) {
    if (name != p.name) continue;
    if (!is_set("writers")) scenario->writers = p.writers;
    if (!is_set("readers")) scenario->readers = p.readers;
    if (!is_set("batch-size")) scenario->batch_size = p.batch_size;
    if (!is_set("duration")) scenario->duration = p.duration;
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const Preset& p : Presets()) names.push_back(p.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scenario \"", name,
                   "\"; known: ", absl::StrJoin(names, ", ")));
}

namespace {

absl::StatusOr<int> ToInt(const char* flag, int64_t value) {
  if (value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " is out of range, got ", value));
  }
  return static_cast<int>(value);
}

}  // namespace

absl::StatusOr<protocol::RunSpec> ToRunSpec(const Scenario& s) {
  protocol::RunSpec spec;
  if (s.db.empty()) return absl::InvalidArgumentError("db must not be empty");
  if (s.metrics_port < 0 || s.metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics-port must be between 0 and 65535, got ", s.metrics_port));
  }
  if (s.writers < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("writers must be >= 0, got ", s.writers));
  }
  if (s.readers < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("readers must be >= 0, got ", s.readers));
  }
  spec.duration = s.duration;
  spec.log_interval = s.log_interval;
  storage::StoreOptions& store = spec.store;
  store.path = s.db;
  ASSIGN_OR_RETURN(store.schema, storage::ParseSchema(s.schema));
  ASSIGN_OR_RETURN(store.sync, storage::ParseSyncMode(s.sync));
  ASSIGN_OR_RETURN(store.batch_policy, storage::ParseBatchPolicy(s.batch_policy));
  ASSIGN_OR_RETURN(store.temp_store, storage::ParseTempStore(s.temp_store));
  store.fresh = s.fresh;
  ASSIGN_OR_RETURN(store.batch_size, ToInt("batch-size", s.batch_size));
  ASSIGN_OR_RETURN(store.queue_size, ToInt("queue-size", s.queue_size));
  store.batch_timeout = s.batch_timeout;
  store.write_timeout = s.write_timeout;
  ASSIGN_OR_RETURN(store.cache_size_kib, ToInt("cache-size-kib", s.cache_size_kib));
  ASSIGN_OR_RETURN(store.reader_mmap_mib, ToInt("reader-mmap-mib", s.reader_mmap_mib));
  ASSIGN_OR_RETURN(store.reader_nice, ToInt("reader-nice", s.reader_nice));
  protocol::WorkloadOptions& w = spec.workload;
  ASSIGN_OR_RETURN(w.writers, ToInt("writers", s.writers));
  ASSIGN_OR_RETURN(w.readers, ToInt("readers", s.readers));
  w.write_delay = s.write_delay;
  w.read_delay = s.read_delay;
  w.write_rate = s.write_rate;
  w.read_rate = s.read_rate;
  if (s.seed < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed must be >= 0, got ", s.seed));
  }
  w.seed = static_cast<uint64_t>(s.seed);
  if (!s.stages.empty()) {
    ASSIGN_OR_RETURN(w.write_stages, protocol::ParseStages("stages", s.stages));
  }
  if (!s.read_stages.empty()) {
    ASSIGN_OR_RETURN(w.read_stages,
                     protocol::ParseStages("read-stages", s.read_stages));
  }
  for (const auto& [flag, stages, rate_flag, rate] :
       {std::tuple<const char*, const std::vector<protocol::RateStage>&,
                   const char*, double>{"stages", w.write_stages, "write-rate",
                                        w.write_rate},
        std::tuple<const char*, const std::vector<protocol::RateStage>&,
                   const char*, double>{"read-stages", w.read_stages,
                                        "read-rate", w.read_rate}}) {
    if (stages.empty()) continue;
    if (rate > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " and --", rate_flag,
          " exclude each other: the stages start from 0 (begin with a stage "
          "0s:RATE to start elsewhere)"));
    }
    if (!protocol::RatePlan::Ramp(0, stages).open_loop()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " never rise above 0: nothing would run (leave it out "
          "for a closed loop)"));
    }
    if (protocol::StagesDuration(stages) > s.duration) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duration ", cli::FormatDuration(s.duration), " is shorter than --",
          flag, " (", cli::FormatDuration(protocol::StagesDuration(stages)),
          "); leave -duration out to run exactly the stages"));
    }
  }
  if (s.stages_per_agent && w.write_stages.empty() && w.read_stages.empty()) {
    return absl::InvalidArgumentError(
        "--stages-per-agent needs --stages or --read-stages");
  }
  RETURN_IF_ERROR(protocol::ValidateRunSpec(spec));
  return spec;
}

}  // namespace loadtest::controller
