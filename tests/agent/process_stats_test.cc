#include "agent/process_stats.h"

#include <unistd.h>

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

TEST(ProcessStatsTest, ASamplerCountsTheCpuAndThreadsOfItsSpan) {
  ProcessSampler sampler;
  (void)sampler.Take();
  Burn(200'000'000);
  std::thread extra([] { Burn(10'000); });
  const protocol::ProcessFigures during = sampler.Take();
  extra.join();
  EXPECT_GT(during.cpu_seconds, 0);
  EXPECT_GT(during.wall_seconds, 0);
  EXPECT_GT(during.cpu_fraction(), 0);
  EXPECT_GE(during.threads, 1);
  EXPECT_GT(during.rss_bytes, 0);
  EXPECT_EQ(during.usable_cores, UsableCores());
  EXPECT_GE(during.voluntary_switches + during.involuntary_switches, 0);
}

TEST(ProcessStatsTest, TheCollectorExposesTheStandardProcessSeries) {
  const std::vector<prometheus::MetricFamily> families =
      ProcessCollector().Collect();
  std::vector<std::string> names;
  for (const auto& f : families) {
    names.push_back(f.name);
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "process_cpu_seconds_total",
                       "process_resident_memory_bytes", "process_open_fds",
                       "process_start_time_seconds", "process_threads"}));
  EXPECT_EQ(families[0].type, prometheus::MetricType::Counter);
  EXPECT_GT(families[1].metric[0].gauge.value, 0);
}

}  // namespace
}  // namespace loadtest::agent
