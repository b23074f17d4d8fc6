// RealisticGenerator: log entries with real logs' statistics, for
// --messages=realistic (docs/messages.md has the model and how it was
// checked).
//
// Six families of templates as real hosts emit them (sshd authentication,
// the kernel, an HTTP access log, systemd units, an application's JSON
// line, database slow queries), each with its own app name, facility,
// severities, msg_id and host pool. Their fields come from high-cardinality
// pools (IPv4 and IPv6 addresses, ports, user names, paths with ids, pids,
// durations, byte counts) drawn with a Zipf-like skew: value of rank k with
// probability about 1 / (k ln N), so a few values are hot and the tail
// keeps growing with the number of rows; request and trace ids are unique
// per row. A value of a given rank is the same in every writer and agent
// (a pool is a fixed function of the rank), as the same users and hosts
// recur across a fleet.
//
// Entry `count` of a writer is made from EntrySeed(writer_seed, count)
// alone: Next() and At() give the same rows. Deterministic; not
// thread-safe: one generator per writer thread.
#ifndef LOADTEST_AGENT_REALISTIC_GENERATOR_H_
#define LOADTEST_AGENT_REALISTIC_GENERATOR_H_

#include <cstdint>

#include "storage/log_entry.h"

namespace loadtest::agent {

class RealisticGenerator {
 public:
  // `writer_seed`: WriterSeed(agent seed, writer) (log_generator.h).
  explicit RealisticGenerator(uint64_t writer_seed) : seed_(writer_seed) {}

  // The next entry, stamped with the current wall-clock time.
  storage::LogEntry Next();

  // Entry `count` of the writer seeded `writer_seed`, whatever was made
  // before, stamped now.
  storage::LogEntry At(int64_t count, uint64_t writer_seed);

  // Entry `count` of the writer seeded `writer_seed` with the given
  // timestamp: a pure function of its arguments (tests, benchmarks).
  static storage::LogEntry Make(uint64_t writer_seed, int64_t count,
                                int64_t timestamp_ns);

 private:
  uint64_t seed_;
  int64_t count_ = 0;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_REALISTIC_GENERATOR_H_
