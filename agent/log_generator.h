// LogGenerator: produces RFC5424 log entries with the distributions of the
// original OpenTrail load test (facilities 0-3 and 16-19, severities 0-7,
// five hostnames, five app names, a 3-7 word message, structured data with
// writer id, count, timestamp and a random value).
//
// Deterministic for a given seed. Not thread-safe: one generator per writer
// thread.
#ifndef LOADTEST_AGENT_LOG_GENERATOR_H_
#define LOADTEST_AGENT_LOG_GENERATOR_H_

#include <cstdint>
#include <random>

#include "nlohmann/json.hpp"
#include "storage/log_entry.h"

namespace loadtest::agent {

// The seed of writer `writer` of an agent whose workload seed is
// `agent_seed`: the same seed and writer index give the same messages.
inline uint64_t WriterSeed(uint64_t agent_seed, int writer) {
  return agent_seed * 1000003 + static_cast<uint64_t>(writer);
}

// The seed of entry `count` of a writer whose seed is `writer_seed`, for
// entries made out of order (LogGenerator::At): a splitmix64 step, so
// neighbouring counts get unrelated streams.
inline uint64_t EntrySeed(uint64_t writer_seed, int64_t count) {
  uint64_t z = writer_seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(count) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class LogGenerator {
 public:
  // `writer_id` goes into proc_id, the message and the structured data.
  LogGenerator(int writer_id, uint64_t seed);

  // The next entry, stamped with the current wall-clock time. Counts up.
  storage::LogEntry Next();

  // Entry `count` of writer `writer_id`, whose seed is `writer_seed`,
  // whatever was made before: its random draws come from
  // EntrySeed(writer_seed, count) alone, so any thread can make any entry
  // and a seed still gives the same rows. (Open-loop writers, which take
  // whichever operation is due next; Next() keeps one stream per writer.)
  storage::LogEntry At(int writer_id, int64_t count, uint64_t writer_seed);

 private:
  int writer_id_;
  int64_t count_ = 0;
  std::mt19937_64 rng_;
  // The structured data's object, its values replaced for each entry.
  nlohmann::json structured_;
};

// The original's five reader queries, rotated by each reader.
enum class QueryKind { kText, kHostname, kAppName, kRecent };
struct ReadQuery {
  QueryKind kind;
  const char* argument;  // FTS text, hostname or app name; null for recent.
  int limit;
};
// Query number `n` of the rotation: FTS "load test" limit 10; hostname web01
// limit 5; app nginx limit 5; recent 20; FTS "message" limit 15.
const ReadQuery& QueryForIteration(int64_t n);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_LOG_GENERATOR_H_
