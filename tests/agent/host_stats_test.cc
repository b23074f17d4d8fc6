#include "agent/host_stats.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/process_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/test_dir.h"

namespace loadtest::agent {
namespace {

using ::testing::HasSubstr;

// /proc/stat of a two-CPU guest (Linux 6.1).
constexpr char kProcStat[] =
    "cpu  100 0 50 1000 10 0 0 5 0 0\n"
    "cpu0 50 0 25 500 5 0 0 3 0 0\n"
    "cpu1 50 0 25 500 5 0 0 2 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 9999\n"
    "btime 1700000000\n";

TEST(HostStatsTest, ParsesTheCpuLineAndCountsTheCpus) {
  const std::optional<CpuTimes> cpu = ParseProcStat(kProcStat);
  ASSERT_TRUE(cpu.has_value());
  EXPECT_EQ(cpu->user, 100u);
  EXPECT_EQ(cpu->system, 50u);
  EXPECT_EQ(cpu->idle, 1000u);
  EXPECT_EQ(cpu->iowait, 10u);
  EXPECT_EQ(cpu->steal, 5u);
  EXPECT_EQ(cpu->cpus, 2);
}

TEST(HostStatsTest, AnOldKernelsMissingCpuFieldsAreZero) {
  // Before 2.6.11 there is no steal, before 2.6 no iowait, irq, softirq.
  const std::optional<CpuTimes> cpu = ParseProcStat("cpu  7 1 3 90\ncpu0 7 1 3 90\n");
  ASSERT_TRUE(cpu.has_value());
  EXPECT_EQ(cpu->user, 7u);
  EXPECT_EQ(cpu->idle, 90u);
  EXPECT_EQ(cpu->iowait, 0u);
  EXPECT_EQ(cpu->steal, 0u);
  EXPECT_EQ(cpu->cpus, 1);
  EXPECT_FALSE(ParseProcStat("intr 1 2 3\n").has_value());
  EXPECT_FALSE(ParseProcStat("").has_value());
}

// /proc/diskstats: a disk with flush fields (5.5+), its partition, a
// device-mapper volume without discard fields (before 4.18), and a
// partition in the 4-figure form of kernels before 2.6.25.
constexpr char kDiskstats[] =
    " 254       0 vda 10 2 800 100 30 5 4000 300 0 1000 2000 1 0 8 7 4 9\n"
    " 254       1 vda1 9 2 790 99 30 5 4000 300 0 990 1990 0 0 0 0 0 0\n"
    " 253       0 dm-0 5 0 40 6 7 0 56 8 0 12 14\n"
    "   3       1 hda1 100 200 300 400\n";

TEST(HostStatsTest, ParsesADiskLineByName) {
  const std::optional<DiskCounters> vda = ParseDiskstats(kDiskstats, "vda");
  ASSERT_TRUE(vda.has_value());
  EXPECT_EQ(vda->reads, 10u);
  EXPECT_EQ(vda->read_sectors, 800u);
  EXPECT_EQ(vda->read_ms, 100u);
  EXPECT_EQ(vda->writes, 30u);
  EXPECT_EQ(vda->write_sectors, 4000u);
  EXPECT_EQ(vda->write_ms, 300u);
  EXPECT_EQ(vda->io_ms, 1000u);
  EXPECT_EQ(vda->weighted_ms, 2000u);
  EXPECT_EQ(vda->discards, 1u);
  EXPECT_EQ(vda->discard_ms, 7u);
  // The partition is its own line, not the disk's.
  const std::optional<DiskCounters> vda1 = ParseDiskstats(kDiskstats, "vda1");
  ASSERT_TRUE(vda1.has_value());
  EXPECT_EQ(vda1->io_ms, 990u);
}

TEST(HostStatsTest, MissingDiskFieldsAreZeroAndTooFewAreNoLine) {
  const std::optional<DiskCounters> dm = ParseDiskstats(kDiskstats, "dm-0");
  ASSERT_TRUE(dm.has_value());
  EXPECT_EQ(dm->weighted_ms, 14u);
  EXPECT_EQ(dm->discards, 0u);
  EXPECT_EQ(dm->discard_ms, 0u);
  EXPECT_FALSE(ParseDiskstats(kDiskstats, "hda1").has_value());
  EXPECT_FALSE(ParseDiskstats(kDiskstats, "sdz").has_value());
  EXPECT_FALSE(ParseDiskstats(kDiskstats, "vd").has_value());
}

TEST(HostStatsTest, ADiskFigureThatWrappedAt32BitsCountsOnAndAResetCountsNothing) {
  EXPECT_EQ(DiskCounterDelta(100, 350), 250u);
  EXPECT_EQ(DiskCounterDelta(4294967000u, 204), 500u);  // 2^32 - 296 → 204.
  EXPECT_EQ(DiskCounterDelta(uint64_t{1} << 40, 5), 0u);
  EXPECT_EQ(DiskCounterDelta(7, 7), 0u);
}

TEST(HostStatsTest, ParsesTheLoadAverage) {
  const std::optional<LoadAverage> load =
      ParseLoadavg("3.52 2.25 1.10 4/1234 56789\n");
  ASSERT_TRUE(load.has_value());
  EXPECT_DOUBLE_EQ(load->load1, 3.52);
  EXPECT_DOUBLE_EQ(load->load5, 2.25);
  EXPECT_DOUBLE_EQ(load->load15, 1.10);
  EXPECT_FALSE(ParseLoadavg("3.52\n").has_value());
}

TEST(HostStatsTest, ParsesProcSelfIoAndLeavesMissingFieldsZero) {
  const IoCounters io = ParseProcIo(
      "rchar: 6976\nwchar: 8388608\nsyscr: 10\nsyscw: 2048\n"
      "read_bytes: 4096\nwrite_bytes: 8392704\ncancelled_write_bytes: 0\n");
  EXPECT_EQ(io.rchar, 6976);
  EXPECT_EQ(io.wchar, 8388608);
  EXPECT_EQ(io.syscr, 10);
  EXPECT_EQ(io.syscw, 2048);
  EXPECT_EQ(io.read_bytes, 4096);
  EXPECT_EQ(io.write_bytes, 8392704);
  // Without task I/O accounting in the kernel only some lines exist.
  const IoCounters partial = ParseProcIo("rchar: 5\nwchar: 6\n");
  EXPECT_EQ(partial.wchar, 6);
  EXPECT_EQ(partial.write_bytes, 0);
  EXPECT_EQ(ParseProcIo("").rchar, 0);
}

// iostat -x's arithmetic: %util from io_ticks, aqu-sz from the weighted
// time, await from the requests' time over their count; the CPU split of
// all ticks.
TEST(HostStatsTest, FiguresBetweenTwoReadingsAreIostats) {
  HostReading before;
  before.cpu = ParseProcStat(kProcStat);
  before.disk = ParseDiskstats(kDiskstats, "vda");
  HostReading now = before;
  CpuTimes& c = *now.cpu;
  c.user += 20;
  c.nice += 10;
  c.system += 10;
  c.irq += 5;
  c.softirq += 5;
  c.idle += 100;
  c.iowait += 30;
  c.steal += 20;  // 200 ticks in all: 2 s at 100 per second.
  DiskCounters& d = *now.disk;
  d.io_ms += 500;
  d.weighted_ms += 1000;
  d.read_ms += 50;
  d.write_ms += 140;
  d.discard_ms += 10;
  d.reads += 10;
  d.writes += 39;
  d.discards += 1;
  d.write_sectors += 2048;
  now.load = {1.5, 1.0, 0.5};
  const protocol::HostFigures h =
      HostFiguresBetween(before, now, 1.0, 100, BlockDevice{"vda", ""});
  EXPECT_EQ(h.cpus, 2);
  EXPECT_DOUBLE_EQ(h.cpu_user_fraction(), 0.15);
  EXPECT_DOUBLE_EQ(h.cpu_system_fraction(), 0.10);
  EXPECT_DOUBLE_EQ(h.cpu_iowait_fraction(), 0.15);
  EXPECT_DOUBLE_EQ(h.cpu_steal_fraction(), 0.10);
  EXPECT_DOUBLE_EQ(h.cpu_idle_fraction(), 0.50);
  EXPECT_EQ(h.load1, 1.5);
  EXPECT_EQ(h.disk_device, "vda");
  EXPECT_DOUBLE_EQ(h.disk_utilization(), 0.5);
  EXPECT_DOUBLE_EQ(h.disk_queue_depth(), 1.0);
  EXPECT_DOUBLE_EQ(h.disk_await_ms(), 4.0);  // 200 ms over 50 requests.
  EXPECT_EQ(h.disk_write_bytes, 2048 * 512);
  EXPECT_EQ(h.disk_read_bytes, 0);

  // io_ticks wrapped past 2^32 ms in between; iowait stepped back.
  before.disk->io_ms = 4294967000u;
  now.disk->io_ms = 204;
  now.cpu->iowait = before.cpu->iowait - 3;
  const protocol::HostFigures wrapped =
      HostFiguresBetween(before, now, 1.0, 100, BlockDevice{"vda", ""});
  EXPECT_DOUBLE_EQ(wrapped.disk_busy_seconds, 0.5);
  EXPECT_EQ(wrapped.cpu_iowait_seconds, 0);

  // The device was re-added: its small counters fell, and read as a wrap
  // they would be 49 days of busy time in one second.
  before.disk->io_ms = 5000;
  now.disk->io_ms = 20;
  const protocol::HostFigures reset =
      HostFiguresBetween(before, now, 1.0, 100, BlockDevice{"vda", ""});
  EXPECT_EQ(reset.disk_device, "vda");
  EXPECT_EQ(reset.disk_busy_seconds, 0);
  EXPECT_EQ(reset.disk_requests, 0);
  EXPECT_EQ(reset.disk_write_bytes, 0);
}

TEST(HostStatsTest, WithoutADiskTheFiguresSayWhy) {
  HostReading r;
  r.cpu = ParseProcStat(kProcStat);
  const protocol::HostFigures h = HostFiguresBetween(
      r, r, 1.0, 100, BlockDevice{"", "not a block device: tmpfs"});
  EXPECT_EQ(h.disk_device, "");
  EXPECT_EQ(h.disk_unavailable, "not a block device: tmpfs");
  EXPECT_EQ(h.disk_utilization(), 0);
}

// A fake /sys: a disk, its partition, a device-mapper volume.
class FakeSys {
 public:
  explicit FakeSys(const std::string& root) : root_(root) {
    namespace fs = std::filesystem;
    const std::string disk = root + "/devices/pci0000:00/block/vda";
    fs::create_directories(disk + "/vda1");
    std::ofstream(disk + "/vda1/partition") << "1\n";
    fs::create_directories(root + "/devices/virtual/block/dm-0");
    fs::create_directories(root + "/dev/block");
    fs::create_directory_symlink("../../devices/pci0000:00/block/vda",
                                 root + "/dev/block/254:0");
    fs::create_directory_symlink("../../devices/pci0000:00/block/vda/vda1",
                                 root + "/dev/block/254:1");
    fs::create_directory_symlink("../../devices/virtual/block/dm-0",
                                 root + "/dev/block/253:0");
  }

 private:
  std::string root_;
};

constexpr char kMountinfo[] =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "45 22 0:45 / /tmp/t rw,nosuid shared:30 - tmpfs tmpfs rw,size=1024k\n"
    "46 22 0:52 / /var/lib/docker/x rw - overlay overlay rw,lowerdir=/a\n";

TEST(HostStatsTest, APartitionIsReportedAsItsDisk) {
  TestDir dir;
  FakeSys sys(dir.path());
  EXPECT_EQ(BlockDeviceOf(254, 1, dir.path(), kMountinfo).name, "vda");
  EXPECT_EQ(BlockDeviceOf(254, 0, dir.path(), kMountinfo).name, "vda");
  EXPECT_EQ(BlockDeviceOf(253, 0, dir.path(), kMountinfo).name, "dm-0");
}

TEST(HostStatsTest, AFileSystemWithoutABlockDeviceIsNamed) {
  TestDir dir;
  FakeSys sys(dir.path());
  const BlockDevice tmpfs = BlockDeviceOf(0, 45, dir.path(), kMountinfo);
  EXPECT_EQ(tmpfs.name, "");
  EXPECT_THAT(tmpfs.unavailable, HasSubstr("not a block device"));
  EXPECT_THAT(tmpfs.unavailable, HasSubstr("tmpfs"));
  EXPECT_THAT(BlockDeviceOf(0, 52, dir.path(), kMountinfo).unavailable,
              HasSubstr("overlay"));
  // A real device /sys does not show (no /sys in a container).
  EXPECT_THAT(BlockDeviceOf(8, 0, dir.path(), kMountinfo).unavailable,
              HasSubstr("/dev/block/8:0"));
}

// A tmpfs the test mounts itself: the database there has no disk, and the
// sampler's figures say so instead of showing another disk's.
TEST(HostStatsTest, ADatabaseOnTmpfsHasNoDiskFigures) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TestDir dir;
  const std::string mnt = dir.path() + "/mnt";
  std::filesystem::create_directory(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  const std::string db = mnt + "/test.db";
  std::ofstream(db) << "x";
  const BlockDevice device = FindBlockDevice(db);
  HostSampler sampler(db);
  const protocol::HostFigures h = sampler.Take();
  umount2(mnt.c_str(), MNT_DETACH);
  EXPECT_EQ(device.name, "");
  EXPECT_THAT(device.unavailable, HasSubstr("not a block device"));
  EXPECT_THAT(device.unavailable, HasSubstr("tmpfs"));
  EXPECT_EQ(h.disk_device, "");
  EXPECT_EQ(h.disk_unavailable, device.unavailable);
  EXPECT_GT(h.cpus, 0);
}

// Writes `mib` MiB to `path` in 64 KiB write() calls, then fsyncs it.
void WriteAndSync(const std::string& path, int mib) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const std::vector<char> block(64 << 10, 'x');
  for (int i = 0; i < mib * 16; ++i) {
    ASSERT_EQ(write(fd, block.data(), block.size()),
              static_cast<ssize_t>(block.size()));
  }
  ASSERT_EQ(fsync(fd), 0);
  close(fd);
}

// The known workload: N MiB written and synced show as at least N MiB in
// the process's write_bytes and in its disk's writes over the same span.
TEST(HostStatsTest, MebibytesWrittenAndSyncedShowInTheIntervalsFigures) {
  // The build tree: on the disk the project is on, unlike a tmpfs /tmp.
  const std::string path = std::filesystem::current_path().string() +
                           "/host_stats_test_write.bin";
  struct statfs fs {};
  if (statfs(std::filesystem::current_path().c_str(), &fs) == 0 &&
      fs.f_type == 0x01021994 /* TMPFS_MAGIC */) {
    GTEST_SKIP() << "the working directory is on tmpfs: no disk to measure";
  }
  if (access("/proc/self/io", R_OK) != 0) {
    GTEST_SKIP() << "no /proc/self/io (a kernel without task I/O accounting)";
  }
  constexpr int kMib = 8;
  std::ofstream(path) << "";  // The sampler finds the disk from the file.
  ProcessSampler process;
  HostSampler host(path);
  WriteAndSync(path, kMib);
  const protocol::ProcessFigures p = process.Take();
  const protocol::HostFigures h = host.Take();
  std::filesystem::remove(path);
  EXPECT_GE(p.write_chars, int64_t{kMib} << 20);
  EXPECT_GE(p.write_calls, kMib * 16);
  EXPECT_GE(p.write_bytes, int64_t{kMib} << 20);
  if (h.disk_device.empty()) {
    GTEST_SKIP() << "no disk figures for " << path << ": "
                 << h.disk_unavailable;
  }
  EXPECT_GE(h.disk_write_bytes, int64_t{kMib} << 20);
  EXPECT_GE(h.disk_requests, 1);
}

}  // namespace
}  // namespace loadtest::agent
