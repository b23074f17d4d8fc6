// host_stats_bench: what the agent's per-interval collection of the host's
// and the process's figures costs (HostSampler::Take reads /proc/stat,
// /proc/diskstats and /proc/loadavg; ProcessSampler::Take reads
// /proc/self/{status,stat,io,fd,task/*/schedstat} and getrusage). Each runs
// once per log interval; this prints the mean time of one call.
//
// Usage: host_stats_bench [PATH [CALLS]]: the disk of PATH (default ".")
// and how many calls of each (default 2000).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/host_stats.h"
#include "agent/process_stats.h"

namespace {

template <typename Fn>
double MicrosecondsPerCall(int calls, Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) fn();
  const std::chrono::duration<double, std::micro> took =
      std::chrono::steady_clock::now() - start;
  return took.count() / calls;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : ".";
  const int calls = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (calls < 1) {
    std::fprintf(stderr, "host_stats_bench: CALLS must be at least 1\n");
    return 1;
  }
  loadtest::agent::HostSampler host(path);
  loadtest::agent::ProcessSampler process;
  const double host_us = MicrosecondsPerCall(calls, [&] { (void)host.Take(); });
  const double process_us =
      MicrosecondsPerCall(calls, [&] { (void)process.Take(); });
  const std::string disk = host.device().name.empty()
                               ? host.device().unavailable
                               : host.device().name;
  std::printf("disk of %s: %s\n", path.c_str(), disk.c_str());
  std::printf("HostSampler::Take     %8.1f us per call\n", host_us);
  std::printf("ProcessSampler::Take  %8.1f us per call (%d threads)\n",
              process_us, static_cast<int>(process.Take().threads));
  return 0;
}
