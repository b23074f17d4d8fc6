#include "agent/process_stats.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace loadtest::agent {
namespace {

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of `key:` in /proc/self/status ("Threads:", "VmRSS:"), as the
// first number after it.
int64_t StatusField(const std::string& status, const std::string& key) {
  const size_t at = status.find("\n" + key);
  if (at == std::string::npos) return 0;
  return std::strtoll(status.c_str() + at + key.size() + 1, nullptr, 10);
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return std::max(0, count - 1);  // Not the descriptor reading the folder.
}

// Field 22 of /proc/self/stat (start time in clock ticks after boot) plus
// the boot time of /proc/stat.
double StartTimeSeconds() {
  const std::string stat = ReadSmallFile("/proc/self/stat");
  // The command name (field 2) may hold spaces: fields count from its ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); field 22 is fields[19].
  int64_t ticks = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &ticks)) return 0;
  const std::string proc_stat = ReadSmallFile("/proc/stat");
  const size_t btime = proc_stat.find("\nbtime ");
  if (btime == std::string::npos) return 0;
  const int64_t boot = std::strtoll(proc_stat.c_str() + btime + 7, nullptr, 10);
  const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(boot) +
         static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

// The cgroup v2 cpu.max quota of this process in CPUs, or 0 when there is
// none ("max") or it cannot be read.
double CgroupCpuQuota() {
  std::string group;
  for (absl::string_view line :
       absl::StrSplit(ReadSmallFile("/proc/self/cgroup"), '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) group = std::string(line);
  }
  for (const std::string& path :
       {"/sys/fs/cgroup" + group + "/cpu.max", std::string("/sys/fs/cgroup/cpu.max")}) {
    const std::string text = ReadSmallFile(path);
    if (text.empty()) continue;
    std::vector<std::string> parts =
        absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    double quota = 0, period = 0;
    if (parts.size() >= 2 && absl::SimpleAtod(parts[0], &quota) &&
        absl::SimpleAtod(parts[1], &period) && quota > 0 && period > 0) {
      return quota / period;
    }
    return 0;  // "max": no quota.
  }
  return 0;
}

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// A running total that only grows; a fall is no progress.
int64_t Rise(int64_t before, int64_t now) { return std::max<int64_t>(0, now - before); }

}  // namespace

IoCounters ParseProcIo(const std::string& text) {
  IoCounters io;
  const std::pair<const char*, int64_t*> fields[] = {
      {"rchar:", &io.rchar},           {"wchar:", &io.wchar},
      {"syscr:", &io.syscr},           {"syscw:", &io.syscw},
      {"read_bytes:", &io.read_bytes}, {"write_bytes:", &io.write_bytes}};
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    for (const auto& [key, value] : fields) {
      if (!absl::ConsumePrefix(&line, key)) continue;
      int64_t n = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &n)) *value = n;
      break;
    }
  }
  return io;
}

ProcessReading ReadProcess() {
  ProcessReading r;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    r.cpu_seconds = Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
    r.voluntary_switches = usage.ru_nvcsw;
    r.involuntary_switches = usage.ru_nivcsw;
  }
  const std::string status = ReadSmallFile("/proc/self/status");
  r.threads = static_cast<int>(StatusField(status, "Threads:"));
  r.rss_bytes = StatusField(status, "VmRSS:") * 1024;
  r.open_fds = CountOpenFds();
  r.start_time_seconds = StartTimeSeconds();
  r.io = ParseProcIo(ReadSmallFile("/proc/self/io"));
  return r;
}

double UsableCores() {
  double cores = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    cores = std::max(1, CPU_COUNT(&set));
  } else {
    cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  }
  const double quota = CgroupCpuQuota();
  return quota > 0 ? std::min(cores, quota) : cores;
}

ProcessSampler::ProcessSampler()
    : previous_(ReadProcess()), previous_at_(std::chrono::steady_clock::now()) {
  (void)TakeRunQueueWaitSeconds();
}

double ProcessSampler::TakeRunQueueWaitSeconds() {
  std::map<int64_t, int64_t> now;
  int64_t added_ns = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (const dirent* entry = readdir(dir)) {
    int64_t tid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &tid)) continue;
    // "time on CPU" "time waiting on a run queue" "time slices", in ns.
    const std::string text =
        ReadSmallFile(absl::StrCat("/proc/self/task/", tid, "/schedstat"));
    std::vector<std::string> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    int64_t waited = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &waited)) continue;
    auto before = waited_ns_.find(tid);
    added_ns += std::max<int64_t>(
        0, waited - (before != waited_ns_.end() ? before->second : 0));
    now[tid] = waited;
  }
  closedir(dir);
  waited_ns_ = std::move(now);
  return static_cast<double>(added_ns) / 1e9;
}

protocol::ProcessFigures ProcessSampler::Take() {
  const ProcessReading now = ReadProcess();
  const auto at = std::chrono::steady_clock::now();
  protocol::ProcessFigures f;
  f.wall_seconds = std::chrono::duration<double>(at - previous_at_).count();
  f.cpu_seconds = std::max(0.0, now.cpu_seconds - previous_.cpu_seconds);
  f.usable_cores = UsableCores();
  f.threads = now.threads;
  f.rss_bytes = now.rss_bytes;
  f.open_fds = now.open_fds;
  f.voluntary_switches = now.voluntary_switches - previous_.voluntary_switches;
  f.involuntary_switches =
      now.involuntary_switches - previous_.involuntary_switches;
  f.run_queue_wait_seconds = TakeRunQueueWaitSeconds();
  f.read_chars = Rise(previous_.io.rchar, now.io.rchar);
  f.write_chars = Rise(previous_.io.wchar, now.io.wchar);
  f.read_calls = Rise(previous_.io.syscr, now.io.syscr);
  f.write_calls = Rise(previous_.io.syscw, now.io.syscw);
  f.read_bytes = Rise(previous_.io.read_bytes, now.io.read_bytes);
  f.write_bytes = Rise(previous_.io.write_bytes, now.io.write_bytes);
  previous_ = now;
  previous_at_ = at;
  return f;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  const ProcessReading r = ReadProcess();
  using prometheus::MetricType;
  return {
      Family("process_cpu_seconds_total",
             "Total user and system CPU time spent in seconds.",
             MetricType::Counter, r.cpu_seconds),
      Family("process_resident_memory_bytes", "Resident memory size in bytes.",
             MetricType::Gauge, static_cast<double>(r.rss_bytes)),
      Family("process_open_fds", "Number of open file descriptors.",
             MetricType::Gauge, r.open_fds),
      Family("process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, r.start_time_seconds),
      Family("process_threads", "Number of OS threads in the process.",
             MetricType::Gauge, r.threads),
      Family("opentrail_process_read_chars_total",
             "Bytes the process read through read()-like calls, page cache "
             "hits included (/proc/self/io rchar).",
             MetricType::Counter, static_cast<double>(r.io.rchar)),
      Family("opentrail_process_written_chars_total",
             "Bytes the process wrote through write()-like calls "
             "(/proc/self/io wchar).",
             MetricType::Counter, static_cast<double>(r.io.wchar)),
      Family("opentrail_process_read_calls_total",
             "read()-like system calls (/proc/self/io syscr).",
             MetricType::Counter, static_cast<double>(r.io.syscr)),
      Family("opentrail_process_write_calls_total",
             "write()-like system calls (/proc/self/io syscw).",
             MetricType::Counter, static_cast<double>(r.io.syscw)),
      Family("opentrail_process_read_bytes_total",
             "Bytes the storage layer read for the process (/proc/self/io "
             "read_bytes).",
             MetricType::Counter, static_cast<double>(r.io.read_bytes)),
      Family("opentrail_process_written_bytes_total",
             "Bytes the process caused to be written to storage "
             "(/proc/self/io write_bytes).",
             MetricType::Counter, static_cast<double>(r.io.write_bytes)),
  };
}

}  // namespace loadtest::agent
