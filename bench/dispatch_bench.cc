// dispatch_bench: what the load generator costs per write against what the
// store costs per row, measured in the same run (docs/find-max.md).
//
// It runs the agent's open-loop Workload at a fixed write rate against a
// BatchedStore in a scratch folder, once per dispatch mode asked for
// (async: two dispatchers submit with WriteAsync; threads: a thread per
// writer waits in each write), and reads each thread's CPU time from
// /proc/self/task/*/schedstat by the threads' names: the generator's
// threads (load-dispatch or load-writer) against the store's commits
// (store-writer, store-ckpt), with the acknowledger (store-ack: waking
// writer threads, or running the async callbacks) shown apart. Printed per
// mode: rows, write p99, CPU per write of each, the generator/store ratio,
// and the threads that wrote.
//
// Usage: dispatch_bench [--rate=3000] [--seconds=10] [--writers=200]
//   [--dispatch=both|async|threads] [--schema=full|lean]
//   [--messages=original|realistic] [--dir=PATH]
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/workload.h"
#include "cli/flag_set.h"
#include "protocol/run_spec.h"
#include "storage/batched_store.h"

namespace {

using loadtest::protocol::WorkloadOptions;
using loadtest::protocol::WriteDispatch;

// CPU nanoseconds per thread name, summed over the process's threads.
std::map<std::string, int64_t> CpuByThreadName() {
  std::map<std::string, int64_t> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    const std::string tid = entry->d_name;
    if (tid == "." || tid == "..") continue;
    const std::string base = "/proc/self/task/" + tid;
    std::string name;
    int64_t cpu_ns = 0;
    std::ifstream comm(base + "/comm");
    std::ifstream schedstat(base + "/schedstat");
    if (!std::getline(comm, name) || !(schedstat >> cpu_ns)) continue;
    out[name] += cpu_ns;
  }
  closedir(dir);
  return out;
}

int64_t Sum(const std::map<std::string, int64_t>& cpu,
            const std::vector<std::string>& names) {
  int64_t total = 0;
  for (const std::string& name : names) {
    auto it = cpu.find(name);
    if (it != cpu.end()) total += it->second;
  }
  return total;
}

struct Options {
  double rate = 3000;
  std::chrono::nanoseconds seconds = std::chrono::seconds(10);
  int64_t writers = 200;
  std::string dispatch = "both";
  std::string schema = "full";
  std::string messages = "original";
  std::string dir;
};

int RunOnce(const Options& o, WriteDispatch dispatch) {
  namespace storage = loadtest::storage;
  const std::string path = absl::StrCat(
      o.dir, "/dispatch_bench_",
      loadtest::protocol::WriteDispatchName(dispatch), ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
  storage::StoreOptions store_options;
  store_options.path = path;
  auto schema = storage::ParseSchema(o.schema);
  if (!schema.ok()) {
    std::fprintf(stderr, "dispatch_bench: %s\n",
                 std::string(schema.status().message()).c_str());
    return 1;
  }
  store_options.schema = *schema;
  auto store = storage::BatchedStore::Open(store_options, nullptr);
  if (!store.ok()) {
    std::fprintf(stderr, "dispatch_bench: %s\n",
                 std::string(store.status().message()).c_str());
    return 1;
  }
  WorkloadOptions w;
  w.writers = static_cast<int>(o.writers);
  w.readers = 0;
  w.write_rate = o.rate;
  w.write_dispatch = dispatch;
  auto source =
      loadtest::protocol::ParseMessageSource("messages", o.messages);
  if (!source.ok()) {
    std::fprintf(stderr, "dispatch_bench: %s\n",
                 std::string(source.status().message()).c_str());
    return 1;
  }
  w.messages.source = *source;
  loadtest::agent::Workload workload(w, store->get());
  if (absl::Status s = workload.Start(); !s.ok()) {
    std::fprintf(stderr, "dispatch_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  const auto before = CpuByThreadName();
  std::this_thread::sleep_for(o.seconds);
  // Read before Stop: the threads' figures go with them.
  const auto after = CpuByThreadName();
  workload.Stop();
  const loadtest::stats::IntervalStats stats = workload.TakeInterval();
  (void)(*store)->Close();
  auto delta = [&](const std::vector<std::string>& names) {
    return static_cast<double>(Sum(after, names) - Sum(before, names));
  };
  const double writes = static_cast<double>(stats.counters.writes_ok);
  if (writes <= 0) {
    std::fprintf(stderr, "dispatch_bench: no write committed\n");
    return 1;
  }
  const double generator_ns = delta({"load-dispatch", "load-writer"});
  // The acknowledger wakes the writers (threads) or runs the callbacks
  // (async): shown apart, as neither the generator's nor the commits'.
  const double ack_ns = delta({"store-ack"});
  const double store_ns = delta({"store-writer", "store-ckpt"});
  std::printf(
      "%-7s %6.0f writes/s  p99 %7.2f ms  threads %4d  generator %6.2f "
      "us/write  acknowledger %5.2f us/write  store %6.2f us/row  "
      "generator/store %.3f\n",
      loadtest::protocol::WriteDispatchName(dispatch),
      writes / std::chrono::duration<double>(o.seconds).count(),
      stats.write_latency.Quantile(0.99) / 1e6, workload.writer_threads(),
      generator_ns / writes / 1e3, ack_ns / writes / 1e3,
      store_ns / writes / 1e3, generator_ns / store_ns);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.dir = std::filesystem::temp_directory_path().string();
  loadtest::cli::FlagSet flags(
      "dispatch_bench",
      "What the load generator costs per open-loop write against what the "
      "store costs per row, in the same run, for each dispatch mode.");
  flags.AddDouble("rate", &o.rate, "Writes per second offered.");
  flags.AddDuration("seconds", &o.seconds, "How long each mode runs.");
  flags.AddInt("writers", &o.writers,
               "Writers (threads with --dispatch=threads; row streams with "
               "async).");
  flags.AddString("dispatch", &o.dispatch, "both, async or threads.");
  flags.AddString("schema", &o.schema, "full or lean.");
  flags.AddString("messages", &o.messages, "original or realistic.");
  flags.AddString("dir", &o.dir, "Folder for the scratch databases.");
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  std::vector<WriteDispatch> modes;
  if (o.dispatch == "both" || o.dispatch == "async") {
    modes.push_back(WriteDispatch::kAsync);
  }
  if (o.dispatch == "both" || o.dispatch == "threads") {
    modes.push_back(WriteDispatch::kThreads);
  }
  if (modes.empty() || o.rate <= 0 || o.writers < 1) {
    std::fprintf(stderr,
                 "dispatch_bench: --dispatch must be both, async or threads, "
                 "--rate > 0 and --writers >= 1\n");
    return 1;
  }
  std::printf("dispatch_bench: %.0f writes/s for %s per mode, %lld writers, "
              "schema %s, messages %s\n",
              o.rate, loadtest::cli::FormatDuration(o.seconds).c_str(),
              static_cast<long long>(o.writers), o.schema.c_str(),
              o.messages.c_str());
  for (WriteDispatch mode : modes) {
    if (int rc = RunOnce(o, mode); rc != 0) return rc;
  }
  return 0;
}
