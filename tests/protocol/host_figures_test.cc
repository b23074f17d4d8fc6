#include "protocol/host_figures.h"

#include "gtest/gtest.h"

namespace loadtest::protocol {
namespace {

// One second of a host with `cpus` CPUs, `steal` of their time stolen, and
// a disk `busy` of the second.
HostFigures Second(int cpus, double steal, const char* disk, double busy) {
  HostFigures h;
  h.wall_seconds = 1;
  h.cpus = cpus;
  h.cpu_steal_seconds = steal * cpus;
  h.cpu_idle_seconds = (1 - steal) * cpus;
  h.load1 = cpus;
  h.disk_device = disk;
  h.disk_busy_seconds = busy;
  h.disk_queue_seconds = 2 * busy;
  h.disk_request_seconds = busy;
  h.disk_requests = 100;
  return h;
}

TEST(HostFiguresTest, LaterSpansAddUpToTheirTimeWeightedFigures) {
  HostFigures run = Second(2, 0.5, "vda", 1.0);
  run.AddInterval(Second(2, 0.0, "vda", 0.0));
  EXPECT_EQ(run.wall_seconds, 2);
  EXPECT_DOUBLE_EQ(run.cpu_steal_fraction(), 0.25);
  EXPECT_DOUBLE_EQ(run.disk_utilization(), 0.5);
  EXPECT_DOUBLE_EQ(run.disk_queue_depth(), 1.0);
  EXPECT_DOUBLE_EQ(run.disk_await_ms(), 5.0);  // 1 s over 200 requests.
  EXPECT_EQ(run.load1, 2);
}

TEST(HostFiguresTest, AcrossAgentsTheCpuIsPooledAndTheBusiestDiskKept) {
  HostFigures total = Second(2, 0.0, "vda", 0.2);
  total.AddHost(Second(6, 0.5, "nvme0n1", 0.9));
  EXPECT_EQ(total.wall_seconds, 1);
  EXPECT_DOUBLE_EQ(total.cpu_steal_fraction(), 3.0 / 8);  // 3 of 8 CPUs.
  EXPECT_EQ(total.cpus, 6);
  EXPECT_EQ(total.load1, 6);
  EXPECT_EQ(total.disk_device, "nvme0n1");
  EXPECT_DOUBLE_EQ(total.disk_utilization(), 0.9);
  // Two agents on one host: the split is the host's own.
  HostFigures shared = Second(4, 0.25, "vda", 0.5);
  shared.AddHost(Second(4, 0.25, "vda", 0.5));
  EXPECT_DOUBLE_EQ(shared.cpu_steal_fraction(), 0.25);
  EXPECT_DOUBLE_EQ(shared.disk_utilization(), 0.5);
}

TEST(HostFiguresTest, AnAgentWithoutADiskDoesNotHideAnothersDisk) {
  HostFigures none = Second(2, 0, "", 0);
  none.disk_unavailable = "not a block device: tmpfs";
  HostFigures total = none;
  total.AddHost(Second(2, 0, "sda", 0.3));
  EXPECT_EQ(total.disk_device, "sda");
  HostFigures other = Second(2, 0, "sda", 0.3);
  other.AddHost(none);
  EXPECT_EQ(other.disk_device, "sda");
  EXPECT_DOUBLE_EQ(other.disk_utilization(), 0.3);
}

TEST(HostFiguresTest, NothingMeasuredIsZeroNotADivisionByZero) {
  const HostFigures h;
  EXPECT_EQ(h.cpu_user_fraction(), 0);
  EXPECT_EQ(h.disk_utilization(), 0);
  EXPECT_EQ(h.disk_await_ms(), 0);
  EXPECT_EQ(h.disk_queue_depth(), 0);
}

}  // namespace
}  // namespace loadtest::protocol
