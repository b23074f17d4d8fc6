#include "controller/scenario.h"

#include <limits>
#include <memory>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/log_replay.h"
#include "agent/message_source.h"
#include "cli/flag_set.h"
#include "status/status_macros.h"

namespace loadtest::controller {

absl::Status ApplyPreset(const std::string& name,
                         const std::function<bool(const char*)>& is_set,
                         Scenario* scenario) {
  for (const Preset& p : Presets()) {
    if (name != p.name) continue;
    if (!is_set("writers")) scenario->writers = p.writers;
    if (!is_set("readers")) scenario->readers = p.readers;
    if (!is_set("batch-size")) scenario->batch_size = p.batch_size;
    if (!is_set("duration")) scenario->duration = p.duration;
    scenario->preset = p.name;
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const Preset& p : Presets()) names.push_back(p.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scenario \"", name,
                   "\"; known: ", absl::StrJoin(names, ", ")));
}

namespace {

// Rows of a source its statistics are measured over.
constexpr int64_t kMeasuredRows = 10000;

absl::StatusOr<int> ToInt(const char* flag, int64_t value) {
  if (value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " is out of range, got ", value));
  }
  return static_cast<int>(value);
}

absl::Status MessagesFromFlags(const Scenario& s,
                               protocol::MessageOptions* m) {
  constexpr absl::string_view kFile = "file:";
  if (absl::StartsWith(s.messages, kFile)) {
    m->source = protocol::MessageSource::kFile;
    m->file_path = s.messages.substr(kFile.size());
    if (m->file_path.empty()) {
      return absl::InvalidArgumentError(
          "messages=file: needs a path, e.g. --messages=file:/var/log/syslog");
    }
    ASSIGN_OR_RETURN(m->file_content, agent::ReadMessagesFile(m->file_path));
    m->content_hash = protocol::ContentHash(m->file_content);
  } else if (s.messages == "original" || s.messages == "realistic") {
    m->source = s.messages == "original" ? protocol::MessageSource::kOriginal
                                         : protocol::MessageSource::kRealistic;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages must be one of original, realistic, file:PATH, got \"",
        s.messages, "\""));
  }
  ASSIGN_OR_RETURN(m->format, protocol::ParseMessageFormat(
                                  "messages-format", s.messages_format));
  if (m->format != protocol::MessageFormat::kAuto &&
      m->source != protocol::MessageSource::kFile) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages-format=", s.messages_format,
        " needs --messages=file:PATH (it says how to read a file)"));
  }
  if (s.search_terms.empty()) {
    m->search_terms = m->source == protocol::MessageSource::kOriginal
                          ? protocol::SearchTerms::kOriginal
                          : protocol::SearchTerms::kMixed;
  } else {
    ASSIGN_OR_RETURN(m->search_terms, protocol::ParseSearchTerms(
                                          "search-terms", s.search_terms));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveMessages(Scenario* scenario, const protocol::RunSpec& spec) {
  const protocol::MessageOptions& m = spec.workload.messages;
  MessagesFacts& facts = scenario->messages_facts;
  facts.content_hash = m.content_hash;
  // The first agent's source, as it will make it (run.cc SpecForAgent).
  const uint64_t seed = protocol::AgentSeed(spec.workload.seed, 0);
  ASSIGN_OR_RETURN(std::unique_ptr<agent::MessageSource> source,
                   agent::MessageSource::Create(m, seed));
  if (const agent::ReplayCorpus* corpus = source->corpus()) {
    facts.format = protocol::MessageFormatName(corpus->format);
    facts.lines = static_cast<int64_t>(corpus->entries.size());
    facts.malformed = corpus->malformed;
  }
  facts.search_terms = protocol::SearchTermsName(m.search_terms);
  const agent::MessageStatistics stats =
      agent::MeasureMessages(*source, seed, kMeasuredRows);
  facts.rows = stats.rows;
  facts.mean_message_bytes = stats.mean_message_bytes;
  facts.p99_message_bytes = stats.p99_message_bytes;
  facts.distinct_tokens = stats.distinct_tokens;
  return absl::OkStatus();
}

absl::StatusOr<protocol::RunSpec> ToRunSpec(const Scenario& scenario) {
  Scenario copy = scenario;
  return ToRunSpec(&copy, /*duration_from_stages=*/false);
}

absl::StatusOr<RunPlan> PlanRun(Scenario scenario) {
  RunPlan plan;
  ASSIGN_OR_RETURN(plan.spec, ToRunSpec(scenario));
  plan.scenario = std::move(scenario);
  return plan;
}

absl::StatusOr<protocol::RunSpec> ToRunSpec(Scenario* scenario,
                                            bool duration_from_stages) {
  const Scenario& s = *scenario;
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
  ASSIGN_OR_RETURN(store.fts_sync, storage::ParseFtsSync(s.fts_sync));
  ASSIGN_OR_RETURN(store.fts_automerge, ToInt("fts-automerge", s.fts_automerge));
  ASSIGN_OR_RETURN(store.fts_crisismerge,
                   ToInt("fts-crisismerge", s.fts_crisismerge));
  ASSIGN_OR_RETURN(store.fts_pgsz, ToInt("fts-pgsz", s.fts_pgsz));
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
  ASSIGN_OR_RETURN(w.write_dispatch, protocol::ParseWriteDispatch(
                                         "write-dispatch", s.write_dispatch));
  RETURN_IF_ERROR(MessagesFromFlags(s, &w.messages));
  if (!s.stages.empty()) {
    ASSIGN_OR_RETURN(w.write_stages, protocol::ParseStages("stages", s.stages));
  }
  if (!s.read_stages.empty()) {
    ASSIGN_OR_RETURN(w.read_stages,
                     protocol::ParseStages("read-stages", s.read_stages));
  }
  if (duration_from_stages) {
    const std::chrono::nanoseconds longest =
        std::max(protocol::StagesDuration(w.write_stages),
                 protocol::StagesDuration(w.read_stages));
    if (longest > std::chrono::nanoseconds(0)) {
      scenario->duration = spec.duration = longest;
    }
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
