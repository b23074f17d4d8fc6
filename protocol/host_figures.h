// HostFigures: what the agent's host did over a span of time, next to the
// store's and the process's figures: the CPU split of all its CPUs (user,
// system, iowait, steal, idle: iostat's avg-cpu, top's %Cpu line), the load
// average, and the block device holding the database (iostat -x's %util,
// await and aqu-sz). The guide's `htop` and `iostat -x 1`, on the run's
// timeline.
//
// The agent fills one per interval (agent/host_stats.h); the figures are
// the interval's raw amounts (seconds, requests, bytes), so spans add up
// exactly and the ratios are computed from the sums. Plain value type.
#ifndef LOADTEST_PROTOCOL_HOST_FIGURES_H_
#define LOADTEST_PROTOCOL_HOST_FIGURES_H_

#include <cstdint>
#include <string>

namespace loadtest::protocol {

struct HostFigures {
  double wall_seconds = 0;  // The span these figures cover.
  int64_t cpus = 0;         // CPUs online (the host's, not the process's).
  // CPU time of all the host's CPUs in the span, by kind (/proc/stat).
  double cpu_user_seconds = 0;    // user + nice (guests included)
  double cpu_system_seconds = 0;  // system + irq + softirq
  double cpu_iowait_seconds = 0;  // idle with a disk request outstanding
  double cpu_steal_seconds = 0;   // a runnable vCPU not run by the hypervisor
  double cpu_idle_seconds = 0;
  // /proc/loadavg at the span's end (over several spans: the highest).
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;

  // The block device holding the database: the disk's name as
  // /proc/diskstats spells it ("sda", "nvme0n1", "dm-0"; a partition is
  // reported as its whole disk), or empty when there is none, with
  // `disk_unavailable` saying why ("not a block device: ... tmpfs ...").
  std::string disk_device;
  std::string disk_unavailable;
  // /proc/diskstats over the span:
  double disk_busy_seconds = 0;     // io_ticks: time with a request in flight
  double disk_queue_seconds = 0;    // time_in_queue: request-seconds in flight
  double disk_request_seconds = 0;  // read + write + discard time, summed
  int64_t disk_requests = 0;        // reads + writes + discards completed
  int64_t disk_read_bytes = 0;
  int64_t disk_write_bytes = 0;

  // Each kind's share of all CPU time in the span, 0..1; 0 when unknown.
  double cpu_user_fraction() const { return CpuShare(cpu_user_seconds); }
  double cpu_system_fraction() const { return CpuShare(cpu_system_seconds); }
  double cpu_iowait_fraction() const { return CpuShare(cpu_iowait_seconds); }
  double cpu_steal_fraction() const { return CpuShare(cpu_steal_seconds); }
  double cpu_idle_fraction() const { return CpuShare(cpu_idle_seconds); }
  // iostat -x: %util / 100 (0..1), await (ms per request, queueing
  // included), aqu-sz (requests in flight on average).
  double disk_utilization() const;
  double disk_await_ms() const;
  double disk_queue_depth() const;

  // Adds a later span of the same host: amounts add, cpus and the load
  // average keep the highest, the disk is the later one's.
  void AddInterval(const HostFigures& later);
  // Adds another agent's host over the same span (a total across agents):
  // the CPU amounts add, so the split is the average over all their CPUs
  // weighted by CPU count (agents sharing a host leave it unchanged); cpus
  // and the load average keep the highest agent's; the disk figures are
  // the busiest disk's (highest utilization), whole.
  void AddHost(const HostFigures& other);

 private:
  double CpuShare(double seconds) const;
};

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_HOST_FIGURES_H_
