#include "protocol/host_figures.h"

#include <algorithm>

namespace loadtest::protocol {
namespace {

void AddCpu(const HostFigures& o, HostFigures* h) {
  h->cpu_user_seconds += o.cpu_user_seconds;
  h->cpu_system_seconds += o.cpu_system_seconds;
  h->cpu_iowait_seconds += o.cpu_iowait_seconds;
  h->cpu_steal_seconds += o.cpu_steal_seconds;
  h->cpu_idle_seconds += o.cpu_idle_seconds;
}

void KeepHighestLoad(const HostFigures& o, HostFigures* h) {
  h->cpus = std::max(h->cpus, o.cpus);
  h->load1 = std::max(h->load1, o.load1);
  h->load5 = std::max(h->load5, o.load5);
  h->load15 = std::max(h->load15, o.load15);
}

void CopyDisk(const HostFigures& from, HostFigures* to) {
  to->disk_device = from.disk_device;
  to->disk_unavailable = from.disk_unavailable;
  to->disk_busy_seconds = from.disk_busy_seconds;
  to->disk_queue_seconds = from.disk_queue_seconds;
  to->disk_request_seconds = from.disk_request_seconds;
  to->disk_requests = from.disk_requests;
  to->disk_read_bytes = from.disk_read_bytes;
  to->disk_write_bytes = from.disk_write_bytes;
}

}  // namespace

double HostFigures::CpuShare(double seconds) const {
  const double all = cpu_user_seconds + cpu_system_seconds +
                     cpu_iowait_seconds + cpu_steal_seconds + cpu_idle_seconds;
  return all > 0 ? seconds / all : 0;
}

double HostFigures::disk_utilization() const {
  return wall_seconds > 0 ? std::min(1.0, disk_busy_seconds / wall_seconds)
                          : 0;
}

double HostFigures::disk_await_ms() const {
  return disk_requests > 0 ? disk_request_seconds * 1e3 / disk_requests : 0;
}

double HostFigures::disk_queue_depth() const {
  return wall_seconds > 0 ? disk_queue_seconds / wall_seconds : 0;
}

void HostFigures::AddInterval(const HostFigures& later) {
  wall_seconds += later.wall_seconds;
  AddCpu(later, this);
  KeepHighestLoad(later, this);
  if (later.disk_device.empty() || later.disk_device != disk_device) {
    // Another disk (or none): the figures of one device only.
    CopyDisk(later, this);
    return;
  }
  disk_busy_seconds += later.disk_busy_seconds;
  disk_queue_seconds += later.disk_queue_seconds;
  disk_request_seconds += later.disk_request_seconds;
  disk_requests += later.disk_requests;
  disk_read_bytes += later.disk_read_bytes;
  disk_write_bytes += later.disk_write_bytes;
}

void HostFigures::AddHost(const HostFigures& other) {
  AddCpu(other, this);
  KeepHighestLoad(other, this);
  // Compared over each one's own span, before the spans merge.
  const bool other_busier =
      !other.disk_device.empty() &&
      (disk_device.empty() || other.disk_utilization() > disk_utilization());
  wall_seconds = std::max(wall_seconds, other.wall_seconds);
  if (other_busier) CopyDisk(other, this);
}

}  // namespace loadtest::protocol
