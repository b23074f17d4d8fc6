#include "agent/host_stats.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace loadtest::agent {
namespace {

// The whole of a small /proc or /sys file ("" when it cannot be read):
// read() in a loop, no stream, so a look costs a few system calls.
std::string ReadProcFile(const std::string& path) {
  std::string text;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

std::vector<absl::string_view> Words(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

// words[i] as a number, 0 when it is missing or not one.
uint64_t Number(const std::vector<absl::string_view>& words, size_t i) {
  uint64_t value = 0;
  if (i >= words.size() || !absl::SimpleAtoi(words[i], &value)) return 0;
  return value;
}

// A counter that only grows: a fall (the kernel's iowait may step back) is
// no progress.
uint64_t Rise(uint64_t before, uint64_t now) {
  return now >= before ? now - before : 0;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// The file system type of device MAJ:MIN from /proc/self/mountinfo ("36 35
// 0:45 / /tmp rw - tmpfs tmpfs rw"), or "" when no line has it.
std::string FsType(absl::string_view mountinfo, unsigned major,
                   unsigned minor) {
  const std::string dev = absl::StrCat(major, ":", minor);
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    const std::vector<absl::string_view> words = Words(line);
    if (words.size() < 3 || words[2] != dev) continue;
    const size_t dash = line.find(" - ");
    if (dash == absl::string_view::npos) continue;
    const std::vector<absl::string_view> rest = Words(line.substr(dash + 3));
    if (!rest.empty()) return std::string(rest[0]);
  }
  return "";
}

std::string LastPathPart(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

double Seconds(uint64_t ms) { return static_cast<double>(ms) / 1e3; }

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

void AddValue(prometheus::MetricFamily* family, double value,
              std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family->type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family->metric.push_back(std::move(metric));
}

double TicksPerSecond() {
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<double>(hz) : 100.0;
}

}  // namespace

std::optional<CpuTimes> ParseProcStat(absl::string_view text) {
  std::optional<CpuTimes> cpu;
  int64_t cpus = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "cpu ")) {
      // cpu user nice system idle iowait irq softirq steal guest guest_nice
      const std::vector<absl::string_view> w = Words(line);
      CpuTimes t;
      t.user = Number(w, 1);
      t.nice = Number(w, 2);
      t.system = Number(w, 3);
      t.idle = Number(w, 4);
      t.iowait = Number(w, 5);
      t.irq = Number(w, 6);
      t.softirq = Number(w, 7);
      t.steal = Number(w, 8);
      cpu = t;
    } else if (absl::StartsWith(line, "cpu")) {
      ++cpus;
    }
  }
  if (cpu.has_value()) cpu->cpus = cpus;
  return cpu;
}

std::optional<DiskCounters> ParseDiskstats(absl::string_view text,
                                           absl::string_view device) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // major minor name, then the figures (Documentation/admin-guide/
    // iostats.rst): 11 since 2.6.25, 15 with discards, 17 with flushes.
    const std::vector<absl::string_view> w = Words(line);
    if (w.size() < 3 || w[2] != device) continue;
    if (w.size() < 14) return std::nullopt;
    DiskCounters d;
    d.reads = Number(w, 3);
    d.read_sectors = Number(w, 5);
    d.read_ms = Number(w, 6);
    d.writes = Number(w, 7);
    d.write_sectors = Number(w, 9);
    d.write_ms = Number(w, 10);
    d.io_ms = Number(w, 12);
    d.weighted_ms = Number(w, 13);
    d.discards = Number(w, 14);
    d.discard_ms = Number(w, 17);
    return d;
  }
  return std::nullopt;
}

std::optional<LoadAverage> ParseLoadavg(absl::string_view text) {
  const std::vector<absl::string_view> w = Words(text);
  LoadAverage load;
  if (w.size() < 3 || !absl::SimpleAtod(w[0], &load.load1) ||
      !absl::SimpleAtod(w[1], &load.load5) ||
      !absl::SimpleAtod(w[2], &load.load15)) {
    return std::nullopt;
  }
  return load;
}

uint64_t DiskCounterDelta(uint64_t before, uint64_t now) {
  if (now >= before) return now - before;
  constexpr uint64_t kWrap = uint64_t{1} << 32;
  return before < kWrap ? now + kWrap - before : 0;
}

BlockDevice BlockDeviceOf(unsigned major, unsigned minor,
                          const std::string& sys_root,
                          absl::string_view mountinfo) {
  BlockDevice device;
  const std::string entry =
      absl::StrCat(sys_root, "/dev/block/", major, ":", minor);
  char resolved[PATH_MAX];
  if (realpath(entry.c_str(), resolved) == nullptr) {
    const std::string fs = FsType(mountinfo, major, minor);
    if (major == 0) {
      device.unavailable = absl::StrCat(
          "not a block device: the database is on ",
          fs.empty() ? "a file system" : fs, " (device ", major, ":", minor,
          "), which has no disk of its own");
    } else {
      device.unavailable =
          absl::StrCat("no ", entry, " for the database's device",
                       fs.empty() ? "" : absl::StrCat(" (", fs, ")"),
                       " (is /sys mounted?)");
    }
    return device;
  }
  std::string path = resolved;
  // A partition's queue, and so its utilization, is its disk's.
  if (Exists(path + "/partition")) path = path.substr(0, path.rfind('/'));
  device.name = LastPathPart(path);
  return device;
}

BlockDevice FindBlockDevice(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return {"", absl::StrCat("cannot stat ", path)};
  }
  BlockDevice device =
      BlockDeviceOf(major(st.st_dev), minor(st.st_dev), "/sys",
                    ReadProcFile("/proc/self/mountinfo"));
  if (!device.name.empty() &&
      !ParseDiskstats(ReadProcFile("/proc/diskstats"), device.name)) {
    device.unavailable =
        absl::StrCat(device.name, " has no line in /proc/diskstats");
    device.name.clear();
  }
  return device;
}

protocol::HostFigures HostFiguresBetween(const HostReading& before,
                                         const HostReading& now,
                                         double wall_seconds,
                                         double ticks_per_s,
                                         const BlockDevice& device) {
  protocol::HostFigures h;
  h.wall_seconds = wall_seconds;
  h.load1 = now.load.load1;
  h.load5 = now.load.load5;
  h.load15 = now.load.load15;
  if (before.cpu.has_value() && now.cpu.has_value()) {
    const CpuTimes& a = *before.cpu;
    const CpuTimes& b = *now.cpu;
    auto seconds = [&](uint64_t ticks) {
      return static_cast<double>(ticks) / ticks_per_s;
    };
    h.cpus = b.cpus;
    h.cpu_user_seconds = seconds(Rise(a.user, b.user) + Rise(a.nice, b.nice));
    h.cpu_system_seconds =
        seconds(Rise(a.system, b.system) + Rise(a.irq, b.irq) +
                Rise(a.softirq, b.softirq));
    h.cpu_iowait_seconds = seconds(Rise(a.iowait, b.iowait));
    h.cpu_steal_seconds = seconds(Rise(a.steal, b.steal));
    h.cpu_idle_seconds = seconds(Rise(a.idle, b.idle));
  }
  if (device.name.empty() || !before.disk.has_value() ||
      !now.disk.has_value()) {
    h.disk_unavailable = device.name.empty()
                             ? device.unavailable
                             : absl::StrCat("cannot read ", device.name,
                                            " in /proc/diskstats");
    return h;
  }
  const DiskCounters& a = *before.disk;
  const DiskCounters& b = *now.disk;
  auto d = [](uint64_t x, uint64_t y) { return DiskCounterDelta(x, y); };
  h.disk_device = device.name;
  h.disk_busy_seconds = Seconds(d(a.io_ms, b.io_ms));
  h.disk_queue_seconds = Seconds(d(a.weighted_ms, b.weighted_ms));
  h.disk_request_seconds = Seconds(d(a.read_ms, b.read_ms) +
                                   d(a.write_ms, b.write_ms) +
                                   d(a.discard_ms, b.discard_ms));
  h.disk_requests = static_cast<int64_t>(d(a.reads, b.reads) +
                                         d(a.writes, b.writes) +
                                         d(a.discards, b.discards));
  h.disk_read_bytes =
      static_cast<int64_t>(d(a.read_sectors, b.read_sectors) * 512);
  h.disk_write_bytes =
      static_cast<int64_t>(d(a.write_sectors, b.write_sectors) * 512);
  // Busier than the interval was long: the counters started over (the
  // device was re-added), so what fell was no wrap. Nothing is known.
  if (h.disk_busy_seconds > wall_seconds + 1) {
    h.disk_busy_seconds = h.disk_queue_seconds = h.disk_request_seconds = 0;
    h.disk_requests = h.disk_read_bytes = h.disk_write_bytes = 0;
  }
  return h;
}

HostSampler::HostSampler(const std::string& db_path)
    : device_(FindBlockDevice(db_path)),
      previous_(Read()),
      previous_at_(std::chrono::steady_clock::now()) {}

HostReading HostSampler::Read() const {
  HostReading r;
  r.cpu = ParseProcStat(ReadProcFile("/proc/stat"));
  if (!device_.name.empty()) {
    r.disk = ParseDiskstats(ReadProcFile("/proc/diskstats"), device_.name);
  }
  if (std::optional<LoadAverage> load =
          ParseLoadavg(ReadProcFile("/proc/loadavg"))) {
    r.load = *load;
  }
  return r;
}

protocol::HostFigures HostSampler::Take() {
  HostReading now = Read();
  const auto at = std::chrono::steady_clock::now();
  protocol::HostFigures h = HostFiguresBetween(
      previous_, now, std::chrono::duration<double>(at - previous_at_).count(),
      TicksPerSecond(), device_);
  previous_ = std::move(now);
  previous_at_ = at;
  return h;
}

HostCollector::HostCollector(const std::string& data_dir)
    : device_(FindBlockDevice(data_dir)) {}

std::vector<prometheus::MetricFamily> HostCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double hz = TicksPerSecond();
  if (std::optional<CpuTimes> cpu =
          ParseProcStat(ReadProcFile("/proc/stat"))) {
    prometheus::MetricFamily seconds = Family(
        "opentrail_host_cpu_seconds_total",
        "CPU time of all the host's CPUs by mode (/proc/stat): user (with "
        "nice), system (with irq and softirq), iowait, steal, idle.",
        MetricType::Counter);
    const std::pair<const char*, uint64_t> modes[] = {
        {"user", cpu->user + cpu->nice},
        {"system", cpu->system + cpu->irq + cpu->softirq},
        {"iowait", cpu->iowait},
        {"steal", cpu->steal},
        {"idle", cpu->idle}};
    for (const auto& [mode, ticks] : modes) {
      AddValue(&seconds, static_cast<double>(ticks) / hz, {{"mode", mode}});
    }
    out.push_back(std::move(seconds));
    prometheus::MetricFamily cpus =
        Family("opentrail_host_cpus", "CPUs online on the host.",
               MetricType::Gauge);
    AddValue(&cpus, static_cast<double>(cpu->cpus));
    out.push_back(std::move(cpus));
  }
  if (std::optional<LoadAverage> load =
          ParseLoadavg(ReadProcFile("/proc/loadavg"))) {
    const std::pair<const char*, double> loads[] = {
        {"opentrail_host_load1", load->load1},
        {"opentrail_host_load5", load->load5},
        {"opentrail_host_load15", load->load15}};
    for (const auto& [name, value] : loads) {
      prometheus::MetricFamily family =
          Family(name, "The host's load average (/proc/loadavg).",
                 MetricType::Gauge);
      AddValue(&family, value);
      out.push_back(std::move(family));
    }
  }
  if (device_.name.empty()) return out;
  std::optional<DiskCounters> disk =
      ParseDiskstats(ReadProcFile("/proc/diskstats"), device_.name);
  if (!disk.has_value()) return out;
  const std::vector<prometheus::ClientMetric::Label> labels = {
      {"device", device_.name}};
  const struct {
    const char* name;
    const char* help;
    double value;
  } disk_figures[] = {
      {"opentrail_host_disk_io_time_seconds_total",
       "Time the database's disk had a request in flight (its rate is "
       "iostat's %util / 100).",
       Seconds(disk->io_ms)},
      {"opentrail_host_disk_io_time_weighted_seconds_total",
       "Request-seconds in flight on the database's disk (its rate is "
       "iostat's aqu-sz).",
       Seconds(disk->weighted_ms)},
      {"opentrail_host_disk_request_seconds_total",
       "Time the database's disk's reads, writes and discards took, summed "
       "(over the requests' rate: iostat's await).",
       Seconds(disk->read_ms + disk->write_ms + disk->discard_ms)},
      {"opentrail_host_disk_requests_total",
       "Reads, writes and discards the database's disk completed.",
       static_cast<double>(disk->reads + disk->writes + disk->discards)},
      {"opentrail_host_disk_read_bytes_total",
       "Bytes read from the database's disk.",
       static_cast<double>(disk->read_sectors * 512)},
      {"opentrail_host_disk_written_bytes_total",
       "Bytes written to the database's disk.",
       static_cast<double>(disk->write_sectors * 512)},
  };
  for (const auto& figure : disk_figures) {
    prometheus::MetricFamily family =
        Family(figure.name, figure.help, MetricType::Counter);
    AddValue(&family, figure.value, labels);
    out.push_back(std::move(family));
  }
  return out;
}

}  // namespace loadtest::agent
