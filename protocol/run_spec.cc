#include "protocol/run_spec.h"

#include <initializer_list>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "duration/duration.h"
#include "openssl/evp.h"
#include "status/status_macros.h"

namespace loadtest::protocol {
namespace {

// The longest run, and the longest interval, timeout or pause in one.
constexpr std::chrono::nanoseconds kMaxDuration = std::chrono::hours(24 * 7);

// The slowest open-loop rate, per second (see ValidateRunSpec).
constexpr double kMinRate = 0.001;

// The most stages of one ramp.
constexpr size_t kMaxStages = 1000;

// Exact, as the flag takes it: 168h+1ns is "168h0m0.000000001s", not a
// rounded "604800s" that reads as within the limit.
std::string Seconds(std::chrono::nanoseconds d) { return duration::FormatDuration(d); }

template <typename Enum, size_t N>
absl::StatusOr<Enum> ParseName(const std::string& flag, const std::string& text,
                               const std::pair<const char*, Enum> (&names)[N]) {
  std::string accepted;
  for (const auto& [name, value] : names) {
    if (text == name) return value;
    absl::StrAppend(&accepted, accepted.empty() ? "" : ", ", name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, " must be one of ", accepted, ", got \"", text, "\""));
}

constexpr std::pair<const char*, MessageSource> kSourceNames[] = {
    {"original", MessageSource::kOriginal},
    {"realistic", MessageSource::kRealistic},
    {"file", MessageSource::kFile}};
constexpr std::pair<const char*, MessageFormat> kFormatNames[] = {
    {"auto", MessageFormat::kAuto},
    {"rfc5424", MessageFormat::kRfc5424},
    {"rfc3164", MessageFormat::kRfc3164},
    {"plain", MessageFormat::kPlain},
    {"jsonl", MessageFormat::kJsonl}};
constexpr std::pair<const char*, SearchTerms> kTermNames[] = {
    {"original", SearchTerms::kOriginal},
    {"common", SearchTerms::kCommon},
    {"rare", SearchTerms::kRare},
    {"mixed", SearchTerms::kMixed}};
constexpr std::pair<const char*, WriteDispatch> kDispatchNames[] = {
    {"async", WriteDispatch::kAsync}, {"threads", WriteDispatch::kThreads}};

template <typename Enum, size_t N>
const char* NameOf(Enum value, const std::pair<const char*, Enum> (&names)[N]) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return "?";
}

absl::Status ValidateMessageOptions(const MessageOptions& m) {
  if (m.source != MessageSource::kFile) {
    if (!m.file_content.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a messages file's content came with messages=",
          MessageSourceName(m.source), ", not file"));
    }
    return absl::OkStatus();
  }
  if (m.file_content.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages file ", m.file_path, " is empty: nothing to replay"));
  }
  if (static_cast<int64_t>(m.file_content.size()) > kMaxMessagesFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages file ", m.file_path, " has ", m.file_content.size(),
        " bytes, at most ", kMaxMessagesFileBytes, " (64 MiB) are sent to "
        "the agents"));
  }
  const std::string hash = ContentHash(m.file_content);
  if (hash != m.content_hash) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages file ", m.file_path, ": the content received has hash ",
        hash, ", the controller sent ", m.content_hash));
  }
  return absl::OkStatus();
}

}  // namespace

const char* MessageSourceName(MessageSource source) {
  return NameOf(source, kSourceNames);
}
const char* MessageFormatName(MessageFormat format) {
  return NameOf(format, kFormatNames);
}
const char* SearchTermsName(SearchTerms terms) {
  return NameOf(terms, kTermNames);
}
absl::StatusOr<MessageSource> ParseMessageSource(const std::string& flag,
                                                 const std::string& text) {
  return ParseName(flag, text, kSourceNames);
}
absl::StatusOr<MessageFormat> ParseMessageFormat(const std::string& flag,
                                                 const std::string& text) {
  return ParseName(flag, text, kFormatNames);
}
absl::StatusOr<SearchTerms> ParseSearchTerms(const std::string& flag,
                                             const std::string& text) {
  return ParseName(flag, text, kTermNames);
}
const char* WriteDispatchName(WriteDispatch dispatch) {
  return NameOf(dispatch, kDispatchNames);
}
absl::StatusOr<WriteDispatch> ParseWriteDispatch(const std::string& flag,
                                                 const std::string& text) {
  return ParseName(flag, text, kDispatchNames);
}

std::string ContentHash(const std::string& content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(),
             nullptr);
  std::string hex = "sha256:";
  constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

absl::Status ValidateRunSpec(const RunSpec& spec) {
  if (spec.duration <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration must be > 0, got ", Seconds(spec.duration)));
  }
  if (spec.duration > kMaxDuration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration must be at most 168h, got ", Seconds(spec.duration)));
  }
  if (spec.log_interval < std::chrono::milliseconds(100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("log-interval must be at least 100ms, got ",
                     Seconds(spec.log_interval)));
  }
  RETURN_IF_ERROR(storage::ValidateStoreOptions(spec.store));
  RETURN_IF_ERROR(ValidateWorkloadOptions(spec.workload));
  // The agent adds these to clock readings (the next interval's end, a
  // write's deadline, the end of a pause). Beyond the longest run they
  // cannot matter, and near 2^63 ns the sum overflows: a huge write-timeout
  // would time every write out at once.
  for (const auto& [name, value] :
       {std::pair<const char*, std::chrono::nanoseconds>{"log-interval",
                                                         spec.log_interval},
        std::pair<const char*, std::chrono::nanoseconds>{
            "write-timeout", spec.store.write_timeout},
        std::pair<const char*, std::chrono::nanoseconds>{
            "write-delay", spec.workload.write_delay},
        std::pair<const char*, std::chrono::nanoseconds>{
            "read-delay", spec.workload.read_delay}}) {
    if (value > kMaxDuration) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be at most 168h, got ", Seconds(value)));
    }
  }
  // An open-loop thread is due every 1e9 / (rate / threads) ns after its
  // start. Below about 1e-10/s per thread that period no longer fits in the
  // clock and every operation would be "due" at once, flat out and late: the
  // opposite of a slow rate. 0.001/s keeps it within 4 months even with
  // 10000 threads.
  for (const auto& [name, rate] :
       {std::pair<const char*, double>{"write-rate", spec.workload.write_rate},
        std::pair<const char*, double>{"read-rate", spec.workload.read_rate}}) {
    if (rate > 0 && rate < kMinRate) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be 0 (closed loop) or at least ", kMinRate,
                       " per second, got ", rate));
    }
  }
  return absl::OkStatus();
}

uint64_t AgentSeed(uint64_t run_seed, size_t index) {
  // SplitMix64's finalizer over the seed and the index.
  uint64_t z = run_seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

absl::Status ValidateWorkloadOptions(const WorkloadOptions& o) {
  if (o.writers < 0 || o.writers > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("writers must be between 0 and 10000, got ", o.writers));
  }
  if (o.readers < 0 || o.readers > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("readers must be between 0 and 10000, got ", o.readers));
  }
  if (o.writers == 0 && o.readers == 0) {
    return absl::InvalidArgumentError(
        "writers and readers are both 0: nothing to run");
  }
  if (o.write_delay.count() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "write-delay must be >= 0, got ", o.write_delay.count(), "ns"));
  }
  if (o.read_delay.count() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "read-delay must be >= 0, got ", o.read_delay.count(), "ns"));
  }
  for (const auto& [name, rate, threads] :
       {std::tuple<const char*, double, int>{"write-rate", o.write_rate,
                                             o.writers},
        std::tuple<const char*, double, int>{"read-rate", o.read_rate,
                                             o.readers}}) {
    if (!(rate >= 0) || rate > 1e7) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must be between 0 and 10000000 per second, got ", rate));
    }
    if (rate > 0 && threads == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " is ", rate, "/s but there are no ",
          std::string(name) == "write-rate" ? "writers" : "readers",
          " to carry it"));
    }
  }
  for (const auto& [name, stages, threads] :
       {std::tuple<const char*, const std::vector<RateStage>&, int>{
            "stages", o.write_stages, o.writers},
        std::tuple<const char*, const std::vector<RateStage>&, int>{
            "read-stages", o.read_stages, o.readers}}) {
    if (stages.size() > kMaxStages) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " has ", stages.size(), " stages, at most ", kMaxStages));
    }
    for (const RateStage& stage : stages) {
      if (stage.duration.count() < 0 || stage.duration > kMaxDuration) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": a stage's duration must be between 0 and "
                               "168h, got ",
                         Seconds(stage.duration)));
      }
      if (!(stage.target >= 0) || stage.target > 1e7) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": a stage's rate must be between 0 and 10000000 per "
                  "second, got ",
            stage.target));
      }
      // As for -write-rate: a slower rate's period no longer fits the
      // clock (see ValidateRunSpec).
      if (stage.target > 0 && stage.target < kMinRate) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": a stage's rate must be 0 or at least ", kMinRate,
            " per second, got ", stage.target));
      }
      if (stage.target > 0 && threads == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, " ramp to ", stage.target, "/s but there are no ",
            std::string(name) == "stages" ? "writers" : "readers",
            " to carry it"));
      }
    }
    if (StagesDuration(stages) > kMaxDuration) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " last ", Seconds(StagesDuration(stages)),
                       ", at most 168h"));
    }
  }
  return ValidateMessageOptions(o.messages);
}

absl::Status AgentLimits::Check(const RunSpec& spec,
                                const std::string& agent_id) const {
  auto refuse = [&agent_id](const std::string& asks, const std::string& allows,
                            const char* flag) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the run asks for ", asks, "; agent ", agent_id, " allows at most ",
        allows, " (", flag, ")"));
  };
  if (max_writers > 0 && spec.workload.writers > max_writers) {
    return refuse(absl::StrCat(spec.workload.writers, " writers"),
                  absl::StrCat(max_writers), "--max-writers");
  }
  if (max_readers > 0 && spec.workload.readers > max_readers) {
    return refuse(absl::StrCat(spec.workload.readers, " readers"),
                  absl::StrCat(max_readers), "--max-readers");
  }
  if (max_duration > std::chrono::nanoseconds(0) && spec.duration > max_duration) {
    return refuse(duration::FormatDuration(spec.duration),
                  duration::FormatDuration(max_duration), "--max-duration");
  }
  return absl::OkStatus();
}

}  // namespace loadtest::protocol
