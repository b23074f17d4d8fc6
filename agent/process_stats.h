// What the agent process itself uses (CPU, threads, memory, context
// switches, open files), read from getrusage and /proc/self: per interval
// for the run's updates (ProcessSampler), and at each scrape for /metrics
// under the standard process collector's names (ProcessCollector), so that
// a load generator short of CPU is told apart from a slow store.
//
// Linux. A figure that cannot be read is 0. Thread-safety: ReadProcess and
// UsableCores are safe from any thread; a ProcessSampler is used by one
// thread at a time; ProcessCollector::Collect from any thread.
#ifndef LOADTEST_AGENT_PROCESS_STATS_H_
#define LOADTEST_AGENT_PROCESS_STATS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "protocol/run_spec.h"

namespace loadtest::agent {

// /proc/self/io: bytes through read()/write()-like calls (rchar, wchar),
// the calls (syscr, syscw), and bytes the storage layer read and wrote for
// the process (read_bytes, write_bytes). A field the kernel lacks is 0.
struct IoCounters {
  int64_t rchar = 0, wchar = 0, syscr = 0, syscw = 0, read_bytes = 0,
          write_bytes = 0;
};
IoCounters ParseProcIo(const std::string& text);

// Running totals and current values of this process.
struct ProcessReading {
  double cpu_seconds = 0;  // User + system, all threads, since start.
  int64_t voluntary_switches = 0;
  int64_t involuntary_switches = 0;
  int threads = 0;
  int64_t rss_bytes = 0;
  int open_fds = 0;
  double start_time_seconds = 0;  // Since the Unix epoch.
  IoCounters io;
};

ProcessReading ReadProcess();

// CPUs this process may use: the CPUs of its affinity mask, or fewer when
// its cgroup's cpu.max quota allows fewer (e.g. 1.5 for 150000/100000).
// At least 1 would be wrong for a fractional quota, so it may be below 1;
// never 0.
double UsableCores();

// Per-interval figures of this process: each Take() covers the time since
// the previous one (or construction). The time its threads waited for a
// CPU comes from each thread's /proc/self/task/TID/schedstat (one small
// read per thread per Take: a run's threads, once per log interval).
class ProcessSampler {
 public:
  ProcessSampler();
  protocol::ProcessFigures Take();

 private:
  // Adds each thread's run-queue wait since the previous call (a thread
  // that started since counts from its start) and returns the total.
  double TakeRunQueueWaitSeconds();

  ProcessReading previous_;
  std::chrono::steady_clock::time_point previous_at_;
  std::map<int64_t, int64_t> waited_ns_;  // By thread id, at the last Take.
};

// /metrics: process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, process_start_time_seconds, process_threads (the
// standard process collector's), and /proc/self/io, which it has no names
// for, as opentrail_process_read_chars_total, ..._written_chars_total,
// ..._read_calls_total, ..._write_calls_total, ..._read_bytes_total,
// ..._written_bytes_total; read at each scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_PROCESS_STATS_H_
