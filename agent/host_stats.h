// The agent's host per interval, as `htop` and `iostat -x 1` show it: the
// CPU split of all CPUs and the load average (/proc/stat, /proc/loadavg),
// and the block device holding the database (/proc/diskstats, found from
// the file's device through /sys/dev/block). HostSampler fills
// protocol::HostFigures once per log interval; HostCollector exports the
// same counters to /metrics at each scrape. The parsers are separate, pure
// functions of the files' text, so they are tested on fixtures.
//
// Linux. A file that cannot be read gives 0s, never an error: the figures
// stand beside the run, they do not stop it. Thread-safety: the free
// functions are safe from any thread; a HostSampler is used by one thread
// at a time; HostCollector::Collect from any thread.
#ifndef LOADTEST_AGENT_HOST_STATS_H_
#define LOADTEST_AGENT_HOST_STATS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "protocol/host_figures.h"

namespace loadtest::agent {

// The aggregate "cpu" line of /proc/stat, in clock ticks (USER_HZ), and how
// many "cpuN" lines follow it. Fields an old kernel lacks are 0.
struct CpuTimes {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
           softirq = 0, steal = 0;
  int64_t cpus = 0;
};
// Empty when the text has no "cpu " line.
std::optional<CpuTimes> ParseProcStat(absl::string_view text);

// One device's line of /proc/diskstats: completed requests, sectors (512
// bytes whatever the device's block size), and milliseconds. Discard
// fields are 0 on kernels before 4.18.
struct DiskCounters {
  uint64_t reads = 0, read_sectors = 0, read_ms = 0;
  uint64_t writes = 0, write_sectors = 0, write_ms = 0;
  uint64_t io_ms = 0;        // Time with at least one request in flight.
  uint64_t weighted_ms = 0;  // Time in flight summed over the requests.
  uint64_t discards = 0, discard_ms = 0;
};
// The line of `device` (its name, third column); empty when there is none
// or it has fewer than the 11 figures of a kernel since 2.6.25.
std::optional<DiskCounters> ParseDiskstats(absl::string_view text,
                                           absl::string_view device);

struct LoadAverage {
  double load1 = 0, load5 = 0, load15 = 0;
};
std::optional<LoadAverage> ParseLoadavg(absl::string_view text);

// now - before for a /proc/diskstats figure. The kernel prints its times as
// 32-bit milliseconds (they wrap after 49.7 days) and, on 32-bit kernels,
// its counts too: a figure that fell from a value that fits in 32 bits
// wrapped once; one that fell from beyond restarted (the device was
// re-added), and counts 0.
uint64_t DiskCounterDelta(uint64_t before, uint64_t now);

// The disk behind a file, or why there is none.
struct BlockDevice {
  std::string name;         // As /proc/diskstats spells it; empty if none.
  std::string unavailable;  // Why there is no name, in plain words.
};
// The disk holding `path`: its st_dev's /sys/dev/block/MAJ:MIN entry, a
// partition's parent disk. A file system with no block device (tmpfs,
// overlay, a btrfs subvolume: device major 0) is named from
// /proc/self/mountinfo in `unavailable`.
BlockDevice FindBlockDevice(const std::string& path);
// The same from the device numbers, with `sys_root` standing for /sys and
// `mountinfo` for the text of /proc/self/mountinfo (for tests).
BlockDevice BlockDeviceOf(unsigned major, unsigned minor,
                          const std::string& sys_root,
                          absl::string_view mountinfo);

// What one look at the host's files found.
struct HostReading {
  std::optional<CpuTimes> cpu;
  std::optional<DiskCounters> disk;
  LoadAverage load;
};
// The figures between two readings `wall_seconds` apart, with `ticks_per_s`
// the kernel's USER_HZ. `device` names the disk (its `unavailable` is
// copied when it has no name, or no line was read). Disk counters that
// started over (more busy time than wall time) give the interval no disk
// amounts rather than a wrap's.
protocol::HostFigures HostFiguresBetween(const HostReading& before,
                                         const HostReading& now,
                                         double wall_seconds,
                                         double ticks_per_s,
                                         const BlockDevice& device);

// Per-interval figures of the host: each Take() covers the time since the
// previous one (or construction). The disk is found once, at construction,
// from `db_path` (the database file, or the directory it will be in).
class HostSampler {
 public:
  explicit HostSampler(const std::string& db_path);
  protocol::HostFigures Take();
  const BlockDevice& device() const { return device_; }

 private:
  HostReading Read() const;

  const BlockDevice device_;
  HostReading previous_;
  std::chrono::steady_clock::time_point previous_at_;
};

// /metrics, read at each scrape: opentrail_host_cpu_seconds_total{mode},
// opentrail_host_cpus, opentrail_host_load1 (5, 15), and for the disk
// holding `data_dir` opentrail_host_disk_io_time_seconds_total,
// opentrail_host_disk_io_time_weighted_seconds_total,
// opentrail_host_disk_request_seconds_total,
// opentrail_host_disk_requests_total, opentrail_host_disk_read_bytes_total,
// opentrail_host_disk_written_bytes_total, each labelled {device}. The
// names follow node_exporter's node_* figures, under our own prefix.
class HostCollector : public prometheus::Collectable {
 public:
  explicit HostCollector(const std::string& data_dir);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const BlockDevice device_;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_HOST_STATS_H_
