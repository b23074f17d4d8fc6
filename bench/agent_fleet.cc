// agent_fleet: one process serving N fake agents (bench/fake_agent.h), each
// a gRPC server of its own on its own port, for measuring the `loadtest`
// controller against hundreds of agents on one machine. Prints the
// controller's --agents list on one line, serves until SIGINT/SIGTERM, and
// reports its own CPU use on stderr so a measurement can show that the
// fleet was not the bottleneck.
#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/agent_service.h"
#include "bench/fake_agent.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "cli/version.h"
#include "grpcpp/grpcpp.h"
#include "report/report_file.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kIntro[] =
    "agent_fleet: N fake loadtest agents in one process, for measuring the\n"
    "controller (bench/controller_scale).\n"
    "\n"
    "Each agent is a gRPC server of its own on --address, speaking the\n"
    "LoadAgent protocol as loadtest-agent does, but synthesizing its interval\n"
    "updates (counters and latency histograms shaped like a real run) instead\n"
    "of running SQLite. Prints the comma-separated host:port list for\n"
    "`loadtest --agents=` on one line on stdout (and to --agents-file), then\n"
    "serves until SIGINT or SIGTERM, which stop any active runs (each sends\n"
    "its final update) and print the fleet's own CPU use on stderr.\n"
    "\n"
    "  agent_fleet --agents=500 --agents-file=/tmp/agents.txt\n"
    "  loadtest --agents=$(cat /tmp/agents.txt) --duration=30s "
    "--log-interval=1s\n"
    "\n"
    "Exit codes: 0 clean shutdown; 1 usage or setup error (bad flag, a port\n"
    "that cannot be bound, an unwritable --agents-file).\n";

void Fail(const std::string& message) {
  std::fprintf(stderr, "agent_fleet: %s\n", message.c_str());
}

std::string HostPort(const std::string& host, int port) {
  return host.find(':') != std::string::npos
             ? absl::StrCat("[", host, "]:", port)
             : absl::StrCat(host, ":", port);
}

// User + system CPU seconds and peak RSS of this process so far.
struct ProcessUsage {
  double cpu_seconds = 0;
  double peak_rss_mb = 0;
};

ProcessUsage Usage() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return {seconds(usage.ru_utime) + seconds(usage.ru_stime),
          usage.ru_maxrss / 1024.0};
}

}  // namespace

int main(int argc, char** argv) {
  int agents = 10;
  std::string address = "127.0.0.1";
  int base_port = 0;
  std::string agents_file;
  std::string id_prefix = "fleet";
  int samples = 2000;
  int64_t seed = 1;
  double capacity = 0;
  double capacity_per_batch_row = 0;
  std::chrono::nanoseconds stats_interval{0};

  loadtest::cli::FlagSet flags("agent_fleet", kIntro);
  flags.AddInt("agents", &agents, "Number of fake agents (1..5000).");
  flags.AddString("address", &address,
                  "Address every agent listens on (loopback by default).");
  flags.AddInt("base-port", &base_port,
               "Agent i listens on base-port + i; 0 picks free ports.");
  flags.AddString("agents-file", &agents_file,
                  "Also write the --agents list to this file (replaced "
                  "whole, before it is printed).");
  flags.AddString("id-prefix", &id_prefix,
                  "Agent ids are <prefix>-0001, <prefix>-0002, ...");
  flags.AddInt("samples", &samples,
               "Latency samples drawn per agent, interval and kind (write, "
               "read); the histogram counts are exact regardless.");
  flags.AddInt("seed", &seed, "Seed of the synthesized figures.");
  flags.AddDouble("capacity", &capacity,
                  "Writes per second each agent's simulated store serves "
                  "(open-loop runs): below it every write is served with the "
                  "healthy latency; past it the excess queues, latency grows "
                  "with the backlog and the served rate stays at the "
                  "capacity (a backlog beyond -queue-size is refused). 0: no "
                  "limit. For testing find-max against a known answer.");
  flags.AddDouble("capacity-per-batch-row", &capacity_per_batch_row,
                  "Writes per second each agent's simulated store serves "
                  "per row of the run's -batch-size, added to --capacity: "
                  "with 25, a run at -batch-size=100 meets a store of 2500 "
                  "writes/s and one at 200 a store of 5000. 0: off. For "
                  "testing `loadtest tune` against a known best setting.");
  flags.AddDuration("stats-interval", &stats_interval,
                    "Print the fleet's CPU use on stderr this often (0: only "
                    "at exit).");
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  if (agents < 1 || agents > 5000) {
    Fail(absl::StrCat("agents must be between 1 and 5000, got ", agents));
    return 1;
  }
  if (base_port < 0 || base_port + agents - 1 > 65535) {
    Fail(absl::StrCat("base-port must leave room for ", agents,
                      " ports below 65536, got ", base_port));
    return 1;
  }
  if (!(capacity >= 0)) {
    Fail(absl::StrCat("capacity must be >= 0 writes/s, got ", capacity));
    return 1;
  }
  if (!(capacity_per_batch_row >= 0)) {
    Fail(absl::StrCat("capacity-per-batch-row must be >= 0 writes/s, got ",
                      capacity_per_batch_row));
    return 1;
  }
  if (samples < 1) {
    Fail(absl::StrCat("samples must be >= 1, got ", samples));
    return 1;
  }
  if (stats_interval.count() < 0) {
    Fail(absl::StrCat("stats-interval must be >= 0, got ",
                      loadtest::cli::FormatDuration(stats_interval)));
    return 1;
  }

  // Signals first: before any thread starts.
  std::mutex mu;
  std::condition_variable cv;
  int signal_received = 0;
  loadtest::cli::SignalWatcher signals([&](int signal_number) {
    std::lock_guard<std::mutex> lock(mu);
    signal_received = signal_number;
    cv.notify_all();
  });

  const Clock::time_point began = Clock::now();
  loadtest::bench::TickScheduler scheduler;
  std::vector<std::unique_ptr<loadtest::bench::FakeAgent>> fleet;
  std::vector<std::unique_ptr<grpc::Server>> servers;
  std::vector<std::string> targets;
  const int width = std::max<int>(4, std::to_string(agents).size());
  const std::string hostname = loadtest::agent::LocalHostname();
  for (int i = 0; i < agents; ++i) {
    loadtest::bench::FakeAgentOptions options;
    options.identity = {absl::StrFormat("%s-%0*d", id_prefix, width, i + 1),
                        loadtest::cli::kVersion, hostname};
    options.seed = static_cast<uint64_t>(seed) + i;
    options.histogram_samples = samples;
    options.capacity = capacity;
    options.capacity_per_batch_row = capacity_per_batch_row;
    fleet.push_back(std::make_unique<loadtest::bench::FakeAgent>(
        std::move(options), &scheduler));

    const std::string listen =
        HostPort(address, base_port == 0 ? 0 : base_port + i);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(fleet.back().get());
    loadtest::agent::ConfigureAgentServer(&builder);  // As loadtest-agent.
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (server == nullptr || port == 0) {
      Fail(absl::StrCat("cannot listen on ", listen,
                        ": the address is in use or cannot be bound"));
      for (auto& s : servers) s->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
    servers.push_back(std::move(server));
    targets.push_back(HostPort(address, port));
  }

  const std::string list = absl::StrJoin(targets, ",");
  if (absl::Status written =
          agents_file.empty()
              ? absl::OkStatus()
              : loadtest::report::WriteTextFile(agents_file, list + "\n");
      !written.ok()) {
    Fail(absl::StrCat("--agents-file: ", written.message()));
    for (auto& s : servers) s->Shutdown(std::chrono::system_clock::now());
    return 1;
  }
  const ProcessUsage startup = Usage();
  std::fprintf(stderr,
               "agent_fleet: %d agents (%s .. %s) serving, started in %.2fs "
               "(%.2f CPU s)\n",
               agents, fleet.front()->options().identity.agent_id.c_str(),
               fleet.back()->options().identity.agent_id.c_str(),
               std::chrono::duration<double>(Clock::now() - began).count(),
               startup.cpu_seconds);
  std::printf("%s\n", list.c_str());
  std::fflush(stdout);

  // Serve; print the fleet's own CPU use now and then if asked.
  const Clock::time_point serving = Clock::now();
  auto report = [&](const char* when) {
    const ProcessUsage now = Usage();
    const double wall =
        std::chrono::duration<double>(Clock::now() - serving).count();
    int64_t runs = 0, updates = 0;
    for (const auto& agent : fleet) {
      runs += agent->runs_started();
      updates += agent->updates_sent();
    }
    const double cpu = now.cpu_seconds - startup.cpu_seconds;
    std::fprintf(stderr,
                 "agent_fleet: %s: %.1fs serving, %lld runs, %lld updates; "
                 "CPU %.2fs (%.1f%% of one core), peak RSS %.1f MB\n",
                 when, wall, static_cast<long long>(runs),
                 static_cast<long long>(updates), cpu,
                 wall > 0 ? 100 * cpu / wall : 0.0, now.peak_rss_mb);
  };
  int signal_number;
  {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (stats_interval.count() > 0) {
        cv.wait_for(lock, stats_interval, [&] { return signal_received != 0; });
      } else {
        cv.wait(lock, [&] { return signal_received != 0; });
      }
      if (signal_received != 0) break;
      lock.unlock();
      report("so far");
      lock.lock();
    }
    signal_number = signal_received;
  }

  const std::string reason = absl::StrCat(
      "agent shutting down (", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
      ")");
  const auto stop_deadline = Clock::now() + std::chrono::seconds(5);
  for (auto& agent : fleet) agent->Shutdown(reason, stop_deadline);
  report("at exit");
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(5);
  for (auto& server : servers) server->Shutdown(deadline);
  for (auto& server : servers) server->Wait();
  return 0;
}
