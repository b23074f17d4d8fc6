#include "report/diagnosis.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/aggregator.h"
#include "protocol/validity.h"

namespace loadtest::report {
namespace {

// The rules in the order findings are listed: the store refusing work
// first, then the causes of slowness, then what limits the measurement.
const char* const kOrder[] = {
    "queue_full",         "write_failures",   "slow_commit",
    "checkpoint_starved", "checkpoints_behind", "writer_saturated",
    "readers_compete",    "batches_capped",   "batch_timeout_latency",
    "queue_high",         "host_cpu_contended", "high_latency",
    "low_throughput",
    "memory_growth",      "generator_bound"};

struct RuleText {
  const char* id;
  const char* symptom;
  const char* guide;
};
const RuleText kRules[] = {
    {"queue_full", "writes refused: queue full",
     "Troubleshooting / Queue Full Errors: increase queue size, reduce write "
     "rate, optimize batch processing"},
    {"write_failures", "writes failed in SQLite", ""},
    {"slow_commit", "slow COMMIT: the disk syncs slowly",
     "Troubleshooting / High Latency: check disk I/O"},
    {"checkpoint_starved", "WAL growing: checkpoints starved by a reader",
     "Troubleshooting / Low Throughput: check WAL mode configuration"},
    {"checkpoints_behind", "WAL growing: checkpoints fall behind",
     "Troubleshooting / Low Throughput: check WAL mode configuration; High "
     "Latency: check disk I/O"},
    {"writer_saturated", "the store's writer thread is CPU-bound",
     "Troubleshooting / Low Throughput: increase batch size"},
    {"readers_compete", "readers compete with the writer for the CPU", ""},
    {"batches_capped", "batches too small for the writers: every write pays "
                       "for a COMMIT",
     "Troubleshooting / Low Throughput: increase batch size, add more writers"},
    {"batch_timeout_latency", "the batch timeout adds latency",
     "Troubleshooting / High Latency: reduce batch timeout"},
    {"queue_high", "queue over 80% full",
     "Troubleshooting / Queue Full Errors: increase queue size, reduce write "
     "rate"},
    {"host_cpu_contended", "the host's CPUs were taken by others",
     "Monitoring During Load Tests / Real-time Monitoring: monitor system "
     "resources (htop)"},
    {"high_latency", "high write latency",
     "Troubleshooting / High Latency: reduce batch timeout, increase batch "
     "size, check disk I/O"},
    {"low_throughput", "throughput degraded",
     "Troubleshooting / Low Throughput: increase batch size, reduce batch "
     "timeout, add more writers, check WAL mode configuration"},
    {"memory_growth", "the agent's memory keeps growing",
     "Troubleshooting / Memory Issues: reduce queue size, reduce batch size, "
     "monitor batch buffer size"},
    {"generator_bound", "the load generator, not the store, was the limit",
     ""},
};

const RuleText& Rule(const std::string& id) {
  for (const RuleText& r : kRules) {
    if (id == r.id) return r;
  }
  return kRules[0];
}

constexpr double kMiB = 1024.0 * 1024.0;
// A COMMIT this slow at p99 is the disk (a WAL append without fsync takes
// well under 1 ms; an fsync on an SSD 1-5 ms).
constexpr int64_t kSlowCommitNs = 25'000'000;
constexpr double kWriterSaturated = 0.85;    // Of one core.
constexpr double kReadersBusyCores = 0.5;    // Of the usable cores.
constexpr double kProcessSaturated = 0.90;   // Of the usable cores.
constexpr double kBatchesCappedRate = 5000;  // The guide's target, writes/s.
constexpr double kMemoryGrowth = 0.5;        // RSS +50% ...
constexpr double kMemoryGrowthBytes = 64 * kMiB;  // ... and at least 64 MiB.
constexpr double kStolenCpu = 0.10;    // Of the host's CPU time.
constexpr double kOthersCores = 0.5;   // Cores used by other processes.

std::string Ms(int64_t ns) {
  return absl::StrFormat("%.1f ms", static_cast<double>(ns) / 1e6);
}

int RoundUpNice(double v) {
  // 1, 2, 5 x 10^k at or above v.
  double step = 1;
  while (true) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * step >= v) return static_cast<int>(m * step);
    }
    step *= 10;
  }
}

// "; disk vda 93% busy, await 41.2 ms" when the host figures name the
// database's disk; "" otherwise.
std::string DiskEvidence(const Figures& f) {
  if (!f.host.has_value() || f.host->disk_device.empty()) return "";
  return absl::StrFormat("; disk %s %.0f%% busy, await %.1f ms",
                         f.host->disk_device, 100 * f.host->disk_utilization(),
                         f.host->disk_await_ms());
}

bool Unhealthy(const stats::Health& h) {
  return h.state == stats::HealthState::kUnderStress ||
         h.state == stats::HealthState::kOverloaded;
}

}  // namespace

DiagnosisSettings DiagnosisSettingsOf(const protocol::RunSpec& spec) {
  DiagnosisSettings s;
  s.writers = spec.workload.writers;
  s.readers = spec.workload.readers;
  s.batch_size = spec.store.batch_size;
  s.queue_size = spec.store.queue_size;
  s.batch_timeout = spec.store.batch_timeout;
  s.linger = spec.store.batch_policy == storage::BatchPolicy::kLinger;
  s.sync_full = spec.store.sync == storage::SyncMode::kFull;
  s.open_loop =
      spec.workload.write_rate > 0 || !spec.workload.write_stages.empty();
  s.async_writes = spec.workload.write_dispatch ==
                   protocol::WriteDispatch::kAsync;
  s.reader_nice = spec.store.reader_nice;
  return s;
}

void Diagnoser::Fire(const std::string& id, const std::string& agent_id,
                     int64_t sequence, double start_s, double end_s,
                     double measure, std::string cause, std::string evidence,
                     std::vector<std::string> advice) {
  Track& t = tracks_[id];
  if (t.count == 0) {
    t.first = sequence;
    t.first_s = start_s;
  }
  t.first = std::min(t.first, sequence);
  t.first_s = std::min(t.first_s, start_s);
  t.last = std::max(t.last, sequence);
  t.last_s = std::max(t.last_s, end_s);
  ++t.count;
  if (std::find(t.agents.begin(), t.agents.end(), agent_id) == t.agents.end()) {
    t.agents.push_back(agent_id);
  }
  if (measure > t.worst) {
    t.worst = measure;
    t.cause = std::move(cause);
    t.evidence = absl::StrCat("agent ", agent_id, ", interval ", sequence,
                              absl::StrFormat(" (%.1f-%.1f s)", start_s, end_s),
                              ": ", evidence);
    t.advice = std::move(advice);
  }
}

void Diagnoser::Observe(const std::string& agent_id, int64_t sequence,
                        double start_s, double end_s, const Figures& f,
                        const stats::Health& health) {
  if (std::find(agent_order_.begin(), agent_order_.end(), agent_id) ==
      agent_order_.end()) {
    agent_order_.push_back(agent_id);
  }
  const DiagnosisSettings& s = settings_;
  const stats::IntervalCounters& c = f.counters;
  const double seconds = std::max(1e-9, f.seconds);
  auto fire = [&](const char* id, double measure, std::string cause,
                  std::string evidence, std::vector<std::string> advice) {
    Fire(id, agent_id, sequence, start_s, end_s, measure, std::move(cause),
         std::move(evidence), std::move(advice));
  };
  bool explained_latency = false;
  bool explained_throughput = false;

  if (c.queue_full > 0) {
    std::string cause =
        s.open_loop
            ? "writes arrive faster than the store commits them, and the "
              "queue holding the difference filled up"
            : "the writers keep more writes waiting than the queue holds";
    if (!s.open_loop && s.writers > s.queue_size) {
      cause = absl::StrFormat(
          "more writers (%d) than queue slots (%d): each writer keeps one "
          "write waiting, so the queue cannot hold them all",
          s.writers, s.queue_size);
    }
    std::vector<std::string> advice = {absl::StrCat(
        "--queue-size=",
        RoundUpNice(std::max(2.0 * s.queue_size, 2.0 * s.writers)))};
    if (s.open_loop) {
      advice.push_back(absl::StrFormat(
          "--write-rate=%.0f (what this agent committed)",
          std::floor(f.writes_per_s())));
    }
    advice.push_back(absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size),
                                  " (fewer COMMITs per row)"));
    fire("queue_full", static_cast<double>(c.queue_full), cause,
         absl::StrFormat("%d writes refused, queue peak %d of %d",
                         c.queue_full, f.peak_queue_depth, f.queue_size),
         std::move(advice));
    explained_throughput = explained_latency = true;
  } else if (f.queue_utilization() >= 0.8) {
    fire("queue_high", f.queue_utilization(),
         "writes wait in the queue: the store commits more slowly than they "
         "arrive",
         absl::StrFormat("queue peak %d of %d (%.0f%%)", f.peak_queue_depth,
                         f.queue_size, 100 * f.queue_utilization()),
         {absl::StrCat("--queue-size=", RoundUpNice(2.0 * s.queue_size)),
          absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size))});
  }
  if (c.write_errors > 0) {
    fire("write_failures", static_cast<double>(c.write_errors),
         "SQLite refused writes (the summary's first failed write says why: "
         "a full disk, a read-only or locked file)",
         absl::StrFormat("%d writes failed", c.write_errors),
         {"read the first failed write above and fix its cause"});
    explained_throughput = true;
  }

  if (f.store.has_value()) {
    const storage::StoreInternals& st = *f.store;
    const stats::LatencyHistogram& commit = st.commit_latency;
    if (commit.count() > 0 && Unhealthy(health) &&
        commit.Quantile(0.99) >= kSlowCommitNs) {
      std::vector<std::string> advice = {
          "check disk I/O (iostat -x 1: %util and w_await of the database's "
          "disk); a faster disk",
          absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size),
                       " (fewer COMMITs per row)")};
      if (s.sync_full) {
        advice.push_back(
            "--sync=normal (no fsync per COMMIT: survives an application "
            "crash, not a power loss)");
      }
      std::string evidence = absl::StrFormat(
          "COMMIT p99 %s, max %s over %d COMMITs; write p95 %s",
          Ms(commit.Quantile(0.99)), Ms(commit.max()), commit.count(),
          Ms(f.write_latency.Quantile(0.95)));
      if (st.fsyncs > 0) {
        absl::StrAppendFormat(&evidence, "; %d fsyncs of %s on average",
                              st.fsyncs, Ms(st.fsync_ns / st.fsyncs));
      }
      absl::StrAppend(&evidence, DiskEvidence(f));
      fire("slow_commit", static_cast<double>(commit.Quantile(0.99)),
           "each COMMIT waits for the disk, and the writes of its batch with "
           "it",
           std::move(evidence), std::move(advice));
      explained_latency = explained_throughput = true;
    }
    // Starved needs a snapshot: with no reader in the run, blocked
    // checkpoints met each other (the writer's and the background one) and
    // the WAL outgrew them: checkpoints behind. (A reader in another
    // process would show as starvation only with readers in the run.)
    if (f.starved_intervals > 0 && s.readers > 0) {
      fire("checkpoint_starved",
           static_cast<double>(st.wal_bytes_max),
           "a reader holds a read transaction (a snapshot) open, so "
           "checkpoints cannot copy the WAL back and it cannot start over",
           f.starvation_reason,
           {absl::StrCat("--readers=", std::max(1, s.readers / 2),
                         " (or shorter reads)"),
            "end long read transactions in other processes using the "
            "database"});
      explained_latency = explained_throughput = true;
    } else if (st.wal_restart_bytes > 0 &&
               st.wal_bytes_max >= 2 * st.wal_restart_bytes) {
      fire("checkpoints_behind", static_cast<double>(st.wal_bytes_max),
           "checkpoints copy WAL frames into the database more slowly than "
           "COMMITs append them, so the WAL keeps growing",
           absl::StrFormat("WAL %.1f MiB, %.1fx its %.1f MiB restart point; "
                           "%d checkpoints (%d blocked), %d frames copied",
                           st.wal_bytes_max / kMiB,
                           double(st.wal_bytes_max) / st.wal_restart_bytes,
                           st.wal_restart_bytes / kMiB, st.checkpoints,
                           st.checkpoints_blocked, st.checkpoint_frames),
           {"check disk I/O (iostat -x 1) of the database's disk",
            absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size),
                         " (fewer WAL pages per row)"),
            absl::StrCat("--write-rate=", std::floor(0.8 * f.writes_per_s()),
                         " (a rate the checkpoints keep up with)")});
      explained_latency = explained_throughput = true;
    }
    const double writer_share = st.writer_cpu_ns / (seconds * 1e9);
    if (writer_share >= kWriterSaturated &&
        (Unhealthy(health) || f.queue_utilization() >= 0.5)) {
      std::vector<std::string> advice;
      if (f.mean_batch_size() >= 0.9 * s.batch_size) {
        advice.push_back(absl::StrCat("--batch-size=",
                                      RoundUpNice(2.0 * s.batch_size)));
      }
      if (s.readers > 0) {
        advice.push_back(absl::StrCat("--readers=", std::max(1, s.readers / 2),
                                      " (they share the CPU)"));
      }
      advice.push_back(
          "a faster CPU, or spread the load over more hosts (--agents)");
      fire("writer_saturated", writer_share,
           "one writer thread commits every batch; it used the whole of a "
           "core, which is the store's limit on this CPU",
           absl::StrFormat("writer thread %.0f%% of a core, %.0f writes/s in "
                           "batches of %.1f rows",
                           100 * writer_share, f.writes_per_s(),
                           f.mean_batch_size()),
           std::move(advice));
      explained_latency = explained_throughput = true;
    }
  }

  if (f.process.has_value() && s.readers > 0 && Unhealthy(health) &&
      f.read_latency.count() > 0) {
    const protocol::ProcessFigures& p = *f.process;
    const double cores = std::max(1.0, p.usable_cores);
    const double readers_busy =
        f.reads_per_s() * f.read_latency.mean() / 1e9;
    if (p.cpu_fraction() >= kProcessSaturated &&
        readers_busy >= kReadersBusyCores * cores) {
      std::vector<std::string> advice = {
          absl::StrCat("--readers=", std::max(1, s.readers / 2))};
      if (s.reader_nice < 10) advice.push_back("--reader-nice=10");
      advice.push_back(absl::StrFormat("--read-rate=%.0f",
                                       std::floor(f.reads_per_s() / 2)));
      fire("readers_compete", readers_busy / cores,
           "searches kept the CPUs busy that the writer needs",
           absl::StrFormat("readers busy %.1f of %s on average (%.0f reads/s x "
                           "%s mean), process CPU %.0f%%",
                           readers_busy, protocol::CoresText(p.usable_cores),
                           f.reads_per_s(),
                           Ms(static_cast<int64_t>(f.read_latency.mean())),
                           100 * p.cpu_fraction()),
           std::move(advice));
      explained_latency = explained_throughput = true;
    }
  }

  // Closed loop: each writer has one write outstanding, so a batch cap
  // below the writer count makes every batch full and small.
  // (With the queue full, the queue is the limit first: a batch never
  // holds more than the queue, and that finding's advice names both.)
  if (!s.open_loop && s.batch_size < s.writers && f.batches > 0 &&
      c.queue_full == 0 &&
      f.mean_batch_size() >= 0.9 * s.batch_size &&
      f.writes_per_s() < kBatchesCappedRate) {
    fire("batches_capped", f.batches / seconds,
         absl::StrFormat("batches close at %d rows while %d writers wait, so "
                         "COMMITs, not rows, set the pace",
                         s.batch_size, s.writers),
         absl::StrFormat("%.0f COMMITs/s of %.1f rows (cap %d), %.0f writes/s",
                         f.batches / seconds, f.mean_batch_size(),
                         s.batch_size, f.writes_per_s()),
         {absl::StrCat("--batch-size=",
                       RoundUpNice(std::max(100, s.writers)))});
    explained_throughput = true;
  }
  if (s.linger && f.batches > 0 && s.batch_timeout.count() >= 2'000'000 &&
      f.mean_batch_size() < 0.5 * s.batch_size &&
      f.write_latency.count() > 0 &&
      f.write_latency.Quantile(0.5) >= s.batch_timeout.count() / 2) {
    fire("batch_timeout_latency",
         static_cast<double>(f.write_latency.Quantile(0.5)),
         "at this rate batches close on the timeout, not full, so writes "
         "wait for it",
         absl::StrFormat("write p50 %s with --batch-timeout %s, batches of "
                         "%.1f rows (cap %d)",
                         Ms(f.write_latency.Quantile(0.5)),
                         Ms(s.batch_timeout.count()), f.mean_batch_size(),
                         s.batch_size),
         {absl::StrCat("--batch-timeout=",
                       std::max<int64_t>(1, s.batch_timeout.count() / 4'000'000),
                       "ms"),
          "--batch-policy=group"});
    explained_latency = true;
  }

  // The host's CPUs taken by the hypervisor (steal) or by other processes
  // (the host's user + system time beyond the agent's own).
  if (f.host.has_value() && f.process.has_value() && Unhealthy(health) &&
      f.host->cpus > 0 && f.host->wall_seconds > 0) {
    const protocol::HostFigures& h = *f.host;
    const double steal = h.cpu_steal_fraction();
    const double busy_cores =
        (h.cpu_user_fraction() + h.cpu_system_fraction()) * h.cpus;
    const double own_cores = f.process->cpu_seconds / h.wall_seconds;
    const double others = busy_cores - own_cores;
    if (steal >= kStolenCpu || others >= kOthersCores) {
      fire("host_cpu_contended", std::max(steal * h.cpus, others),
           steal >= kStolenCpu
               ? "the hypervisor ran other guests on this VPS's CPUs (steal)"
               : "other processes on the host used the CPUs the store needs",
           absl::StrFormat("host CPU steal %.0f%%, other processes %.1f of %d "
                           "CPUs, the agent %.1f; load average %.1f",
                           100 * steal, std::max(0.0, others), h.cpus,
                           own_cores, h.load1),
           {"run on a quiet host (htop shows what else runs); on a VPS, a "
            "plan with dedicated CPUs",
            "spread the load over more hosts (--agents)"});
      explained_latency = explained_throughput = true;
    }
  }

  // Only where the health state says so: an interval in which the store
  // refused writes is the store's overload even on a busy generator.
  if (health.state == stats::HealthState::kGeneratorBound) {
    std::vector<std::string> advice = {
        "spread the load over more hosts (--agents)"};
    if (!s.open_loop && s.writers > 100) {
      advice.push_back(absl::StrCat("--writers=", std::max(10, s.writers / 2),
                                    " (fewer threads)"));
    }
    if (s.open_loop && !s.async_writes) {
      advice.push_back(
          "--write-dispatch=async (no thread waits in a write)");
    }
    if (s.open_loop && s.async_writes) {
      advice.push_back(
          "run on a quieter host: no write waited for a thread, so the "
          "process itself did not get a core on time");
    }
    fire("generator_bound", 1,
         "the agent process could not generate the load on time: figures in "
         "these intervals describe the generator, not the store",
         f.generator_bound_reason, std::move(advice));
  }
  if (Unhealthy(health) && !explained_latency && health.latency) {
    fire("high_latency",
         static_cast<double>(f.write_latency.Quantile(0.95)),
         "no specific cause found in the store's figures",
         absl::StrFormat("write p95 %s, p99 %s",
                         Ms(f.write_latency.Quantile(0.95)),
                         Ms(f.write_latency.Quantile(0.99))),
         {absl::StrCat("--batch-timeout=",
                       std::max<int64_t>(1, s.batch_timeout.count() / 2'000'000),
                       "ms"),
          absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size)),
          "check disk I/O (iostat -x 1)"});
  }
  if (Unhealthy(health) && !explained_throughput &&
      health.throughput) {
    fire("low_throughput", 1, "no specific cause found in the store's figures",
         absl::StrFormat("%.0f writes/s", f.writes_per_s()),
         {absl::StrCat("--batch-size=", RoundUpNice(2.0 * s.batch_size)),
          "check disk I/O (iostat -x 1)"});
  }

  if (f.process.has_value() && f.process->rss_bytes > 0) {
    Memory& m = memory_[agent_id];
    if (m.first == 0) {
      m.first = sequence;
      m.first_s = start_s;
      m.first_rss = f.process->rss_bytes;
    }
    m.last = sequence;
    m.last_s = end_s;
    m.last_rss = f.process->rss_bytes;
  }
}

std::vector<Finding> Diagnoser::Findings() const {
  std::map<std::string, Track> tracks = tracks_;
  for (const std::string& agent : agent_order_) {
    auto it = memory_.find(agent);
    if (it == memory_.end()) continue;
    const Memory& m = it->second;
    const double grown = static_cast<double>(m.last_rss - m.first_rss);
    if (m.first_rss <= 0 || grown < kMemoryGrowthBytes ||
        grown < kMemoryGrowth * m.first_rss) {
      continue;
    }
    Track& t = tracks["memory_growth"];
    if (t.count == 0) {
      t.first = m.first;
      t.first_s = m.first_s;
    }
    t.last = std::max(t.last, m.last);
    t.last_s = std::max(t.last_s, m.last_s);
    t.count += m.last - m.first + 1;
    t.agents.push_back(agent);
    if (grown > t.worst) {
      t.worst = grown;
      t.cause =
          "the process holds ever more memory: queued writes and batches "
          "waiting, or a leak";
      t.evidence = absl::StrFormat(
          "agent %s: RSS %.0f MiB in interval %d, %.0f MiB in interval %d",
          agent, m.first_rss / kMiB, m.first, m.last_rss / kMiB, m.last);
      t.advice = {
          absl::StrCat("--queue-size=",
                       std::max(settings_.batch_size, settings_.queue_size / 2)),
          absl::StrCat("--batch-size=", std::max(1, settings_.batch_size / 2))};
    }
  }
  std::vector<Finding> out;
  for (const char* id : kOrder) {
    auto it = tracks.find(id);
    if (it == tracks.end()) continue;
    const Track& t = it->second;
    const RuleText& rule = Rule(id);
    Finding f;
    f.id = id;
    f.symptom = rule.symptom;
    f.guide = rule.guide;
    f.cause = t.cause;
    f.evidence = t.evidence;
    f.advice = t.advice;
    // Agents in the run's order.
    for (const std::string& agent : agent_order_) {
      if (std::find(t.agents.begin(), t.agents.end(), agent) != t.agents.end()) {
        f.agents.push_back(agent);
      }
    }
    f.first_interval = t.first;
    f.last_interval = t.last;
    f.intervals = t.count;
    f.first_s = t.first_s;
    f.last_s = t.last_s;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace loadtest::report
