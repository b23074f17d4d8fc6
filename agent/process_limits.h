// What this process may still open or start, from its limits: threads
// (RLIMIT_NPROC of its user, the pids.max of its cgroup: a container's pids
// limit, systemd's TasksMax) and file descriptors (RLIMIT_NOFILE). The
// agent refuses a run that would not fit (RESOURCE_EXHAUSTED naming the
// limit) instead of failing halfway through starting its threads or
// opening its readers' connections ("unable to open database file").
//
// Pure reads of /proc, /sys and getrlimit; safe from any thread.
#ifndef LOADTEST_AGENT_PROCESS_LIMITS_H_
#define LOADTEST_AGENT_PROCESS_LIMITS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace loadtest::agent {

// Threads kept free for gRPC, /metrics and the store, beyond a run's own.
inline constexpr int64_t kReservedThreads = 32;
// File descriptors kept free for connections, the store and the audit.
inline constexpr int64_t kReservedFds = 64;
// What one reader costs: its SQLite connection's database and WAL files.
inline constexpr int64_t kFdsPerReader = 2;

// How many more threads this process may start (limit minus what is in
// use minus kReservedThreads), and which limit says so
// ("RLIMIT_NPROC 500 of this user, 41 threads in use"); -1 with no limit.
struct Headroom {
  int64_t available = -1;
  std::string limit;
};
Headroom ThreadHeadroom();
Headroom FdHeadroom();

// OK when a run of `writer_threads` + `readers` threads (and a connection
// per reader) fits; ResourceExhausted naming the need and the limit
// otherwise: "the run needs 1002 threads (1000 writer threads, 0 readers,
// the store's writer); agent a1 can start 427 more (RLIMIT_NPROC 500 of
// this user, 41 threads in use)". Workload::WriterThreads gives the first.
absl::Status CheckRunFits(int writer_threads, int readers,
                          const std::string& agent_id);

// Raises the soft RLIMIT_NOFILE to the hard one (connections and readers
// need descriptors; the soft limit is often 1024). Returns the soft limit
// now in force.
int64_t RaiseFileLimit();

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_PROCESS_LIMITS_H_
