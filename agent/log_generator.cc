#include "agent/log_generator.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace loadtest::agent {
namespace {

constexpr int kFacilities[] = {0, 1, 2, 3, 16, 17, 18, 19};
constexpr const char* kHostnames[] = {"web01", "web02", "db01", "cache01",
                                      "api01"};
constexpr const char* kAppNames[] = {"nginx", "mysql", "redis", "api-server",
                                     "worker"};
constexpr const char* kWords[] = {
    "processing",     "request",       "response",   "error",   "success",
    "timeout",        "connection",    "database",   "query",   "transaction",
    "batch",          "cache",         "memory",     "disk",    "network",
    "authentication", "authorization", "validation", "parsing", "encoding",
    "decoding"};

template <typename T, size_t N>
const T& Pick(const T (&items)[N], std::mt19937_64& rng) {
  return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

const ReadQuery kQueries[] = {
    {QueryKind::kText, "load test", 10},
    {QueryKind::kHostname, "web01", 5},
    {QueryKind::kAppName, "nginx", 5},
    {QueryKind::kRecent, nullptr, 20},
    {QueryKind::kText, "message", 15},
};

}  // namespace

LogGenerator::LogGenerator(int writer_id, uint64_t seed)
    : writer_id_(writer_id),
      rng_(seed),
      structured_{{"writer_id", writer_id},
                  {"count", 0},
                  {"timestamp", 0},
                  {"random_val", 0.0},
                  {"test_type", "load_test"}} {}

storage::LogEntry LogGenerator::Next() {
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  storage::LogEntry e;
  e.facility = Pick(kFacilities, rng_);
  e.severity = std::uniform_int_distribution<int>(0, 7)(rng_);
  e.priority = e.facility * 8 + e.severity;
  e.version = 1;
  e.timestamp_ns = now_ns;
  e.hostname = Pick(kHostnames, rng_);
  e.app_name = Pick(kAppNames, rng_);
  e.proc_id = absl::StrCat(writer_id_);
  e.msg_id = absl::StrCat("loadtest-", count_);
  e.message = absl::StrCat("Load test message from writer ", writer_id_,
                           ", count ", count_, ": ");
  const int words = std::uniform_int_distribution<int>(3, 7)(rng_);
  for (int i = 0; i < words; ++i) {
    absl::StrAppend(&e.message, i > 0 ? " " : "", Pick(kWords, rng_));
  }
  // The structured data's object is kept and only its values change: a new
  // object per row cost about as much again as the rest of the row
  // (a tree of five nodes allocated and freed each time).
  structured_["count"] = count_;
  structured_["timestamp"] = now_ns / 1000000000;
  structured_["random_val"] =
      std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  e.structured_data = structured_.dump();
  ++count_;
  return e;
}

storage::LogEntry LogGenerator::At(int writer_id, int64_t count,
                                   uint64_t writer_seed) {
  if (writer_id != writer_id_) {
    writer_id_ = writer_id;
    structured_["writer_id"] = writer_id;
  }
  count_ = count;
  rng_.seed(EntrySeed(writer_seed, count));
  return Next();
}

const ReadQuery& QueryForIteration(int64_t n) {
  constexpr int64_t kCount = sizeof(kQueries) / sizeof(kQueries[0]);
  return kQueries[n % kCount];
}

}  // namespace loadtest::agent
