#include "agent/process_stats.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace loadtest::agent {
namespace {

// Work the optimiser cannot drop: `rounds` of arithmetic.
uint64_t Burn(uint64_t rounds) {
  volatile uint64_t x = 1;
  for (uint64_t i = 0; i < rounds; ++i) x = x * 6364136223846793005ull + i;
  return x;
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  const ProcessReading r = ReadProcess();
  EXPECT_GE(r.threads, 1);
  EXPECT_GT(r.rss_bytes, 0);
  EXPECT_GE(r.open_fds, 3);  // At least stdin, stdout, stderr.
  EXPECT_GT(r.start_time_seconds, 1e9);
  EXPECT_GE(UsableCores(), 0.01);
}

TEST(ProcessStatsTest, ASamplerCountsTheCpuThreadsAndSwitchesOfItsSpan) {
  ProcessSampler sampler;
  (void)sampler.Take();
  Burn(200'000'000);
  // A second thread, alive when the sample is taken.
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  std::thread extra([&] {
    started = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!started.load()) std::this_thread::yield();
  // A sleep blocks this thread: at least one voluntary context switch.
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const protocol::ProcessFigures during = sampler.Take();
  release = true;
  extra.join();
  EXPECT_GT(during.cpu_seconds, 0);
  EXPECT_GT(during.wall_seconds, 0);
  EXPECT_GT(during.cpu_fraction(), 0);
  EXPECT_GE(during.threads, 2);  // This one and `extra`.
  EXPECT_GT(during.rss_bytes, 0);
  EXPECT_EQ(during.usable_cores, UsableCores());
  EXPECT_GE(during.voluntary_switches, 1);
}

// More busy threads than CPUs: some of them wait in the run queue. The
// sample is taken while they are still alive (a thread's wait is read from
// its own /proc entry).
TEST(ProcessStatsTest, ThreadsBeyondTheCoresWaitForACpu) {
  ProcessSampler sampler;
  const int threads =
      4 * static_cast<int>(std::thread::hardware_concurrency()) + 4;
  std::atomic<int> done{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < threads; ++i) {
    busy.emplace_back([&] {
      Burn(100'000'000);
      done.fetch_add(1);
      while (!release.load()) std::this_thread::yield();
    });
  }
  while (done.load() < threads) std::this_thread::yield();
  const protocol::ProcessFigures f = sampler.Take();
  release = true;
  for (std::thread& t : busy) t.join();
  EXPECT_GT(f.run_queue_wait_seconds, 0);
  EXPECT_GT(f.waiting_threads(), 0);
}

}  // namespace
}  // namespace loadtest::agent
