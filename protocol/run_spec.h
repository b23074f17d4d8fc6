// RunSpec: everything one agent needs to run one load test, and the updates
// it reports while running. Plain value types, copied freely. The gRPC wire
// form (proto/) maps onto these.
#ifndef LOADTEST_PROTOCOL_RUN_SPEC_H_
#define LOADTEST_PROTOCOL_RUN_SPEC_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/host_figures.h"
#include "protocol/rate_plan.h"
#include "stats/interval_counters.h"
#include "storage/store_internals.h"
#include "storage/store_options.h"

namespace loadtest::protocol {

// Where the writers' messages come from (--messages; docs/messages.md).
enum class MessageSource {
  kOriginal,   // The original tool's generator (agent/log_generator.h).
  kRealistic,  // Real logs' statistics (agent/realistic_generator.h).
  kFile,       // The user's own log file, replayed (agent/log_replay.h).
};
// How a replayed file's lines are read (--messages-format).
enum class MessageFormat { kAuto, kRfc5424, kRfc3164, kPlain, kJsonl };
// What the readers' text, hostname and app name searches look for
// (--search-terms): the original's five fixed queries, or values from the
// head (common), the tail (rare) or both (mixed) of the source's frequency
// distribution.
enum class SearchTerms { kOriginal, kCommon, kRare, kMixed };

// The largest messages file the controller sends to its agents.
inline constexpr int64_t kMaxMessagesFileBytes = int64_t{64} << 20;
// The largest RunSpec an agent's server accepts: the file and 1 MiB for the
// rest (gRPC's default, 4 MiB, would refuse most files).
inline constexpr int kMaxRunSpecBytes =
    static_cast<int>(kMaxMessagesFileBytes + (1 << 20));

struct MessageOptions {
  MessageSource source = MessageSource::kOriginal;
  MessageFormat format = MessageFormat::kAuto;
  SearchTerms search_terms = SearchTerms::kOriginal;
  // kFile: the path as the user gave it (shown, never opened by an agent),
  // the file's bytes (sent to every agent in the RunSpec) and their
  // ContentHash, which the agent checks against what it received.
  std::string file_path;
  std::string file_content;
  std::string content_hash;
};

// The names the flags and the wire use: "original", "realistic", "file";
// "auto", "rfc5424", "rfc3164", "plain", "jsonl"; "original", "common",
// "rare", "mixed".
const char* MessageSourceName(MessageSource source);
const char* MessageFormatName(MessageFormat format);
const char* SearchTermsName(SearchTerms terms);
// InvalidArgument naming `flag` and listing the accepted values.
absl::StatusOr<MessageSource> ParseMessageSource(const std::string& flag,
                                                 const std::string& text);
absl::StatusOr<MessageFormat> ParseMessageFormat(const std::string& flag,
                                                 const std::string& text);
absl::StatusOr<SearchTerms> ParseSearchTerms(const std::string& flag,
                                             const std::string& text);

// "sha256:" and the SHA-256 of `content` in hex: what identifies a messages
// file's content in the run header, the report and the agent's check.
std::string ContentHash(const std::string& content);

// How open-loop writes reach the store (--write-dispatch;
// docs/find-max.md): kAsync, a few dispatch threads submit each due write
// without waiting for it (BatchedStore::WriteAsync), so the writes in
// flight are bounded by the store's queue, not by threads; kThreads, one
// thread per writer blocks in each write it took. Closed-loop writers
// always block: the original's model.
enum class WriteDispatch { kAsync, kThreads };
// "async", "threads".
const char* WriteDispatchName(WriteDispatch dispatch);
absl::StatusOr<WriteDispatch> ParseWriteDispatch(const std::string& flag,
                                                 const std::string& text);

struct WorkloadOptions {
  int writers = 10;
  int readers = 5;
  // Closed loop: pause after each operation.
  std::chrono::nanoseconds write_delay = std::chrono::milliseconds(1);
  std::chrono::nanoseconds read_delay = std::chrono::milliseconds(10);
  // Open loop when > 0: operations per second for the whole workload.
  double write_rate = 0;
  double read_rate = 0;
  // Open loop ramped from write_rate (read_rate) through these stages
  // (rate_plan.h); empty: the constant rate.
  std::vector<RateStage> write_stages;
  std::vector<RateStage> read_stages;
  // Every writer's message generator derives from it (writer i of this
  // agent: LogGenerator seed derived from seed and i).
  uint64_t seed = 1;
  // The writers' messages and the readers' search terms.
  MessageOptions messages;
  // Open loop only. With kAsync, `writers` is the number of row streams
  // (operation n is entry n / writers of writer n % writers), not threads.
  WriteDispatch write_dispatch = WriteDispatch::kAsync;

  RatePlan write_plan() const { return RatePlan::Ramp(write_rate, write_stages); }
  RatePlan read_plan() const { return RatePlan::Ramp(read_rate, read_stages); }
};

// The workload seed of agent `index` (0, 1, ...) of a run seeded
// `run_seed`: distinct per agent, the same for the same seed and index.
uint64_t AgentSeed(uint64_t run_seed, size_t index);

// InvalidArgument naming the field and value: negative counts, no writers
// and no readers, negative delays, negative or absurd rates, a rate given
// with no thread to carry it; a messages file that is empty, larger than
// kMaxMessagesFileBytes or whose content does not match its hash.
absl::Status ValidateWorkloadOptions(const WorkloadOptions& options);

struct RunSpec {
  std::string run_id;
  storage::StoreOptions store;  // store.path: the database file.
  WorkloadOptions workload;
  std::chrono::nanoseconds duration = std::chrono::seconds(60);
  std::chrono::nanoseconds log_interval = std::chrono::seconds(5);
};

// Checks store, workload and timing; InvalidArgument names the flag and the
// value (`duration must be > 0, got 0s`). The duration, log-interval,
// write-timeout and the write and read delays are at most 168h; a positive
// write or read rate is at least 0.001 per second.
absl::Status ValidateRunSpec(const RunSpec& spec);

// What an agent accepts (loadtest-agent --max-*); 0 means no limit.
struct AgentLimits {
  int max_writers = 0;
  int max_readers = 0;
  std::chrono::nanoseconds max_duration{0};
  int64_t max_db_bytes = 0;

  // OK, or PermissionDenied naming the limit and its flag: "the run asks
  // for 50 writers; agent a1 allows at most 20 (--max-writers)".
  absl::Status Check(const RunSpec& spec, const std::string& agent_id) const;
};


// The durability audit at the end of a run: rows this run left in the
// database versus the writes the store acknowledged (plus timed-out writes
// that committed late), and SQLite's integrity check.
struct RunAudit {
  int64_t rows_before = 0;   // Rows in the database when the run began.
  int64_t rows_in_db = 0;    // Rows the run added.
  int64_t acknowledged = 0;  // Writes acknowledged (the store's ok count).
  int64_t late_commits = 0;  // Timed out, committed afterwards.
  int64_t lost = 0;          // acknowledged + late_commits - rows_in_db, if > 0.
  int64_t unexplained = 0;   // rows_in_db - (acknowledged + late_commits), if > 0.
  bool integrity_ok = false;
  std::string integrity_message;  // "ok" or SQLite's first complaint.
  // The FTS5 index's bytes at the end (every row's, not only this run's).
  int64_t fts_index_bytes = 0;
  std::string error;  // Set when the audit itself could not run.
  bool passed() const {
    return error.empty() && lost == 0 && unexplained == 0 && integrity_ok;
  }
};

// One interval of one agent: deltas since the previous update, never
// running totals, so updates from many agents merge by addition.
// The stop reason of a run that ran its whole duration; any other reason
// means it ended early (a Stop, a signal, a limit, a fault).
inline constexpr char kDurationReached[] = "duration reached";

// The agent process over one interval (agent/process_stats.h).
struct ProcessFigures {
  double wall_seconds = 0;  // The span these figures cover.
  double cpu_seconds = 0;   // User + system CPU time used in it.
  double usable_cores = 0;  // CPUs the process may use (affinity, cgroup).
  // 64 bits: the controller adds them across agents.
  int64_t threads = 0;      // At the span's end.
  int64_t rss_bytes = 0;    // At the span's end.
  int64_t open_fds = 0;     // At the span's end.
  int64_t voluntary_switches = 0;    // Waits (locks, sleeps, I/O) in the span.
  int64_t involuntary_switches = 0;  // Preemptions: a runnable thread lost its CPU.
  // Time its threads spent runnable but waiting for a CPU, summed over the
  // threads: divided by wall_seconds, how many threads waited on average.
  double run_queue_wait_seconds = 0;
  // /proc/self/io over the span: bytes passed through read()/write()-like
  // calls (rchar, wchar; page cache hits included), those calls (syscr,
  // syscw), and the bytes the process made the storage layer read and
  // write (read_bytes, write_bytes; 0 on tmpfs, which has no storage).
  int64_t read_chars = 0;
  int64_t write_chars = 0;
  int64_t read_calls = 0;
  int64_t write_calls = 0;
  int64_t read_bytes = 0;
  int64_t write_bytes = 0;

  // cpu_seconds over what the usable cores could have given in the span,
  // 0..1 (slightly above 1 through rounding); 0 when unknown.
  double cpu_fraction() const {
    return wall_seconds > 0 && usable_cores > 0
               ? cpu_seconds / (wall_seconds * usable_cores)
               : 0;
  }
  // Threads runnable but without a CPU, on average over the span.
  double waiting_threads() const {
    return wall_seconds > 0 ? run_queue_wait_seconds / wall_seconds : 0;
  }
};

struct IntervalUpdate {
  int64_t sequence = 0;      // 1, 2, ... per run.
  double start_s = 0;        // Interval bounds, seconds since the run began.
  double end_s = 0;
  stats::IntervalStats stats;  // Workload counters and latency histograms.
  int peak_queue_depth = 0;    // Highest store queue depth in the interval.
  int queue_size = 0;
  int64_t batches = 0;         // Transactions committed in the interval.
  int64_t rows_committed = 0;  // Rows those transactions committed.
  int64_t late_commits = 0;    // Timed-out writes that committed, this interval.
  bool final = false;          // Last update of the run; carries the audit.
  std::string stop_reason;     // On the final update: why the run ended.
  // The run's first failed write, once, on the update of its interval.
  std::string first_error;
  // Operations the open-loop schedule made due in the interval (the
  // integral of the planned rate); 0 in a closed loop.
  double offered_writes = 0;
  double offered_reads = 0;
  std::optional<RunAudit> audit;
  // SQLite's internals and the agent process in the interval; absent from
  // an agent that does not report them.
  std::optional<storage::StoreInternals> store;
  std::optional<ProcessFigures> process;
  // The agent's host in the interval (CPU split, load, the database's
  // disk); absent from an agent that does not report it.
  std::optional<HostFigures> host;
};

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_RUN_SPEC_H_
