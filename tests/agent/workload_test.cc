#include "agent/workload.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "tests/agent/test_dir.h"
#include "tests/storage/write_lock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/validity.h"
#include "storage/audit.h"
#include "sync/completion.h"

namespace loadtest::agent {
namespace {

using protocol::WorkloadOptions;
using protocol::ValidateWorkloadOptions;

using ::testing::HasSubstr;

class WorkloadTest : public ::testing::Test {
 protected:
  std::unique_ptr<storage::BatchedStore> OpenStore(
      storage::StoreOptions options = {}) {
    options.path = dir_.path() + "/load.db";
    auto store = storage::BatchedStore::Open(options, nullptr);
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }

  // Runs until `condition` holds for the accumulated stats (or 60 s pass),
  // taking intervals as a collector would.
  static stats::IntervalStats RunUntil(
      Workload& workload,
      const std::function<bool(const stats::IntervalStats&)>& condition) {
    stats::IntervalStats total;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!condition(total) && std::chrono::steady_clock::now() < deadline) {
      total.Merge(workload.TakeInterval());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return total;
  }

  // In a death test's child: opens the store, becomes nobody under
  // RLIMIT_NPROC 40, starts 200 writers, prints Start()'s status and exits
  // 0 when it is ResourceExhausted.
  void StartWorkloadAsNobodyAndExit() {
    std::unique_ptr<storage::BatchedStore> store = OpenStore();
    const rlimit limit{40, 40};
    if (setrlimit(RLIMIT_NPROC, &limit) != 0 || setgid(65534) != 0 ||
        setuid(65534) != 0) {
      std::fprintf(stderr, "cannot become nobody\n");
      _exit(2);
    }
    WorkloadOptions options;
    options.writers = 200;
    options.readers = 0;
    Workload workload(options, store.get());
    const absl::Status status = workload.Start();
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    workload.Stop();
    _exit(absl::IsResourceExhausted(status) ? 0 : 1);
  }

  TestDir dir_;
};

TEST_F(WorkloadTest, EveryWriteIsCountedOnceAndMatchesTheStore) {
  auto store = OpenStore();
  WorkloadOptions options;
  options.writers = 8;
  options.readers = 3;
  options.write_delay = std::chrono::milliseconds(0);
  options.read_delay = std::chrono::milliseconds(0);
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 2000 && s.counters.reads_ok >= 50;
  });
  workload.Stop();
  total.Merge(workload.TakeInterval());  // What completed while stopping.
  ASSERT_TRUE(store->Close().ok());
  const storage::StoreCounters c = store->counters();
  const stats::IntervalCounters& w = total.counters;
  EXPECT_GE(w.writes_ok, 2000);
  EXPECT_GE(w.reads_ok, 50);
  EXPECT_EQ(w.read_errors, 0);
  // The workload saw exactly the outcomes the store counted.
  EXPECT_EQ(w.writes_ok, c.ok);
  EXPECT_EQ(w.queue_full, c.queue_full);
  EXPECT_EQ(w.write_timeouts, c.timeouts);
  EXPECT_EQ(w.write_errors, c.failed);
  EXPECT_EQ(c.submitted, w.writes_ok + w.queue_full + w.write_timeouts + w.write_errors);
  EXPECT_EQ(total.write_latency.count(), static_cast<uint64_t>(w.writes_ok));
  EXPECT_EQ(total.read_latency.count(), static_cast<uint64_t>(w.reads_ok));
  auto audit = storage::AuditDatabase(dir_.path() + "/load.db", {});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->rows_after_mark, c.ok + c.late_commits);
}

TEST_F(WorkloadTest, QueueFullIsCountedNotLost) {
  storage::StoreOptions store_options;
  store_options.batch_size = 1;
  store_options.queue_size = 1;
  auto store = OpenStore(store_options);
  WorkloadOptions options;
  options.writers = 16;
  options.readers = 0;
  options.write_delay = std::chrono::milliseconds(0);
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.queue_full >= 100 && s.counters.writes_ok >= 100;
  });
  workload.Stop();
  total.Merge(workload.TakeInterval());
  ASSERT_TRUE(store->Close().ok());
  EXPECT_GE(total.counters.queue_full, 100);
  EXPECT_EQ(total.counters.queue_full, store->counters().queue_full);
  EXPECT_EQ(total.counters.writes_ok, store->counters().ok);
}

TEST_F(WorkloadTest, OpenLoopCountsOperationsThatStartBehindSchedule) {
  // Hold SQLite's write lock so every write stalls: a paced writer falls
  // behind its schedule and must say so, and its latency counts from the
  // scheduled time.
  storage::StoreOptions store_options;
  store_options.busy_timeout = std::chrono::seconds(30);
  auto store = OpenStore(store_options);
  storage::ExternalWriteLock lock(dir_.path() + "/load.db");
  WorkloadOptions options;
  options.writers = 1;
  options.readers = 0;
  options.write_rate = 1000;  // One write due every millisecond.
  // A writer thread waiting in each write (async dispatch never falls
  // behind for a stalled store: see AsyncDispatch* below).
  options.write_dispatch = protocol::WriteDispatch::kThreads;
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  // Wait until the writer is stuck inside its first write.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (store->counters().submitted < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Let it fall behind.
  lock.Release();
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 20;
  });
  workload.Stop();
  total.Merge(workload.TakeInterval());
  // At least the writes due during the 50 ms stall started late.
  EXPECT_GE(total.counters.writes_late, 10);
  // The first write was due at the start and committed after the stall.
  EXPECT_GE(total.write_latency.max(), 50'000'000);
}

// Issue 27: in open loop, operation k*writers+i belonged to writer i, so one
// slow write delayed that writer's later operations while the others sat
// idle, and the lateness was blamed on the load generator. Now a free
// writer takes the next due operation: with write 0 held by a slow store,
// the other writers carry operations 4 and 8 (writer 0's under the old
// rule), the slow write's latency counts from its schedule, and the
// verdict does not blame the generator.
TEST_F(WorkloadTest, OpenLoopOperationsGoToAFreeWriterWhileOneWriteIsSlow) {
  auto store = OpenStore();
  sync::Completion release;     // Ends the slow write.
  sync::Completion reached_8;   // Operation 8 reached the store.
  std::atomic<int64_t> slow_writes{0};
  Workload::BeforeWrite slow_store = [&](int64_t operation) {
    if (operation == 8) reached_8.Set();
    // One write in 50 is slow; the first until the test releases it.
    if (operation % 50 == 0) {
      ++slow_writes;
      if (operation == 0) {
        release.WaitUntil(std::chrono::steady_clock::now() +
                          std::chrono::seconds(60));
      }
    }
  };
  WorkloadOptions options;
  options.writers = 4;
  options.readers = 0;
  options.write_rate = 200;  // One write due every 5 ms.
  options.write_dispatch = protocol::WriteDispatch::kThreads;
  Workload workload(options, store.get(), slow_store);
  ASSERT_TRUE(workload.Start().ok());
  const bool carried = reached_8.WaitUntil(std::chrono::steady_clock::now() +
                                           std::chrono::seconds(30));
  release.Set();
  EXPECT_TRUE(carried) << "operation 8 never started while write 0 was slow";
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 120;
  });
  workload.Stop();
  total.Merge(workload.TakeInterval());
  EXPECT_GE(slow_writes.load(), 3);
  // Write 0 was due at the start and finished after write 8 was due (40
  // ms later): its latency counts from its schedule.
  EXPECT_GE(total.write_latency.max(), 40'000'000);
  // While it was held, another write was in flight beside it.
  EXPECT_GE(total.writes_in_flight.max(), 2);
  EXPECT_LE(total.writes_in_flight.max(), 4);
  // No operation waited for the held write: the typical one started well
  // within the 40 ms it was held. (Whether the generator is blamed is the
  // validity rule's, tested on exact histograms in
  // tests/protocol/validity_test.cc; here, on a loaded host, late wake-ups
  // are real generator lateness and would make that verdict vary.)
  EXPECT_LT(total.schedule_lag.Quantile(0.5), 40'000'000);
}

// Issue 27: with async dispatch no thread waits for the store. While SQLite's
// write lock stalls the store, the one row stream's due writes still enter
// the store on schedule (a writer thread would be stuck in its first), and
// their latency counts from their schedule.
TEST_F(WorkloadTest, AsyncDispatchKeepsSubmittingWhileTheStoreStalls) {
  storage::StoreOptions store_options;
  store_options.busy_timeout = std::chrono::seconds(60);
  auto store = OpenStore(store_options);
  storage::ExternalWriteLock lock(dir_.path() + "/load.db");
  WorkloadOptions options;
  options.writers = 1;
  options.readers = 0;
  options.write_rate = 1000;  // One write due every millisecond.
  ASSERT_EQ(options.write_dispatch, protocol::WriteDispatch::kAsync);
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  // Write 29 is due 29 ms after write 0, which cannot commit before the
  // lock goes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (store->counters().submitted < 30 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(store->counters().submitted, 30);
  EXPECT_EQ(store->counters().ok, 0);
  lock.Release();
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 40;
  });
  workload.Stop();
  total.Merge(workload.TakeInterval());
  EXPECT_GE(total.writes_in_flight.max(), 30);
  EXPECT_GE(total.write_latency.max(), 29'000'000);
  ASSERT_TRUE(store->Close().ok());
  const storage::StoreCounters c = store->counters();
  EXPECT_EQ(total.counters.writes_ok, c.ok);
  EXPECT_EQ(c.submitted, total.counters.writes_ok + total.counters.queue_full +
                             total.counters.write_timeouts +
                             total.counters.write_errors);
}

// The threads writing do not grow with the writers or the rate: two
// dispatchers carry 500 row streams.
TEST_F(WorkloadTest, AsyncDispatchUsesTwoThreadsWhateverTheWriters) {
  auto store = OpenStore();
  WorkloadOptions options;
  options.writers = 500;
  options.readers = 0;
  options.write_rate = 100;
  Workload workload(options, store.get());
  EXPECT_EQ(workload.writer_threads(), Workload::kAsyncDispatchers);
  auto threads = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                         std::filesystem::directory_iterator());
  };
  const auto before = threads();
  ASSERT_TRUE(workload.Start().ok());
  EXPECT_EQ(threads() - before, Workload::kAsyncDispatchers);
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 20;
  });
  workload.Stop();
  EXPECT_GE(total.counters.writes_ok, 20);
  // A closed loop keeps one thread per writer.
  options.write_rate = 0;
  EXPECT_EQ(Workload(options, store.get()).writer_threads(), 500);
}

// A line of a file under /proc ("" when it cannot be read).
std::string ProcText(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// The ids of this process's threads named `name`.
std::vector<std::string> ThreadsNamed(const std::string& name) {
  std::vector<std::string> tids;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    const std::string tid = task.path().filename();
    if (ProcText(task.path().string() + "/comm") == name) tids.push_back(tid);
  }
  return tids;
}

// The CPUs thread `tid` may run on, as /proc lists them ("0-1", "3").
std::string CpusAllowed(const std::string& tid) {
  std::ifstream in("/proc/self/task/" + tid + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) {
      return std::string(absl::StripAsciiWhitespace(line.substr(18)));
    }
  }
  return "";
}

// The two dispatchers run on different CPUs where the process has two or
// more (a CPU held by a long system call delays only one of them), and take
// the kernel's coarser timer slack only while writes are due closer
// together than Workload::kDispatchSlack.
TEST_F(WorkloadTest, AsyncDispatchersKeepCpusApartAndCoalesceOnlyCloseWrites) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  const std::string default_slack = ProcText("/proc/self/timerslack_ns");
  ASSERT_FALSE(default_slack.empty());
  const std::string coalescing = std::to_string(
      std::chrono::nanoseconds(Workload::kDispatchSlack).count());
  ASSERT_NE(default_slack, coalescing);
  // 2,500/s: writes 400 us apart, far enough for a dispatcher to catch up
  // and sleep (it sets its slack before each sleep) even in a sanitizer
  // build, close enough to share wake-ups.
  for (const double rate : {2500.0, 20.0}) {
    SCOPED_TRACE(rate);
    auto store = OpenStore();
    WorkloadOptions options;
    options.writers = 4;
    options.readers = 0;
    options.write_rate = rate;
    Workload workload(options, store.get());
    ASSERT_TRUE(workload.Start().ok());
    RunUntil(workload, [rate](const stats::IntervalStats& s) {
      return s.counters.writes_ok >= (rate > 100 ? 200 : 10);
    });
    const std::vector<std::string> dispatchers = ThreadsNamed("load-dispatch");
    ASSERT_EQ(dispatchers.size(), 2u);
    const std::string first = CpusAllowed(dispatchers[0]);
    const std::string second = CpusAllowed(dispatchers[1]);
    if (CPU_COUNT(&allowed) >= 2) {
      EXPECT_NE(first, second);
      EXPECT_EQ(first.find_first_of(",-"), std::string::npos) << first;
      EXPECT_EQ(second.find_first_of(",-"), std::string::npos) << second;
    } else {
      EXPECT_EQ(first, second);  // One CPU: nothing to keep apart.
    }
    // Each has slept at least once for a write due after the last taken.
    for (const std::string& tid : dispatchers) {
      EXPECT_EQ(ProcText("/proc/" + tid + "/timerslack_ns"),
                rate > 100 ? coalescing : default_slack)
          << "dispatcher " << tid;
    }
    workload.Stop();
  }
}

// Every write submitted without a thread has one outcome the workload
// counted as the store did: ok, queue full (a queue of 8 at 5,000/s), and
// timeouts when Stop comes while the store is stalled (Stop waits for the
// store's answers).
TEST_F(WorkloadTest, AsyncDispatchCountsEveryOutcomeAsTheStoreDoes) {
  storage::StoreOptions store_options;
  store_options.queue_size = 8;
  store_options.batch_size = 4;
  store_options.write_timeout = std::chrono::milliseconds(50);
  store_options.busy_timeout = std::chrono::seconds(60);
  auto store = OpenStore(store_options);
  WorkloadOptions options;
  options.writers = 3;
  options.readers = 0;
  options.write_rate = 5000;
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok >= 200;
  });
  storage::ExternalWriteLock lock(dir_.path() + "/load.db");  // The store is writing.
  // The queue fills behind the stalled writer; the writes in it time out.
  total.Merge(RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.queue_full >= 10;
  }));
  workload.Stop();
  total.Merge(workload.TakeInterval());
  const stats::IntervalCounters& w = total.counters;
  EXPECT_GE(w.queue_full, 10);
  EXPECT_GE(w.write_timeouts, 1);
  storage::StoreCounters c = store->counters();
  EXPECT_EQ(c.pending, 0) << "Stop returned before the store answered";
  EXPECT_GE(c.timeouts_unresolved, 1);  // Timed out, still in the store.
  lock.Release();
  ASSERT_TRUE(store->Close().ok());
  c = store->counters();
  EXPECT_EQ(w.writes_ok, c.ok);
  EXPECT_EQ(w.queue_full, c.queue_full);
  EXPECT_EQ(w.write_timeouts, c.timeouts);
  EXPECT_EQ(w.write_errors, c.failed);
  EXPECT_EQ(c.submitted, w.writes_ok + w.queue_full + w.write_timeouts + w.write_errors);
  EXPECT_EQ(total.write_latency.count(), static_cast<uint64_t>(w.writes_ok));
}

TEST_F(WorkloadTest, StopReturnsPromptlyFromLongPauses) {
  auto store = OpenStore();
  WorkloadOptions options;
  options.writers = 2;
  options.readers = 2;
  options.write_delay = std::chrono::hours(1);
  options.read_delay = std::chrono::hours(1);
  Workload workload(options, store.get());
  ASSERT_TRUE(workload.Start().ok());
  stats::IntervalStats total = RunUntil(workload, [](const stats::IntervalStats& s) {
    return s.counters.writes_ok == 2 && s.counters.reads_ok == 2;
  });
  // Every thread now sleeps for an hour; Stop must wake them (the test would
  // time out otherwise).
  workload.Stop();
  EXPECT_EQ(total.counters.writes_ok, 2);
}

TEST(WorkloadOptionsTest, RejectsBadValuesNamingThem) {
  WorkloadOptions o;
  o.writers = -1;
  EXPECT_THAT(ValidateWorkloadOptions(o).message(),
              HasSubstr("writers must be between 0 and 10000, got -1"));
  o = WorkloadOptions();
  o.writers = 0;
  o.readers = 0;
  EXPECT_THAT(ValidateWorkloadOptions(o).message(), HasSubstr("nothing to run"));
  o = WorkloadOptions();
  o.write_rate = -5;
  EXPECT_THAT(ValidateWorkloadOptions(o).message(), HasSubstr("write-rate"));
  o = WorkloadOptions();
  o.readers = 0;
  o.read_rate = 10;
  EXPECT_THAT(ValidateWorkloadOptions(o).message(),
              HasSubstr("read-rate is 10/s but there are no readers"));
  EXPECT_TRUE(ValidateWorkloadOptions(WorkloadOptions()).ok());
}

// Issue 17: std::thread's std::system_error escaped Workload::Start when the
// system refused a thread, and the agent stayed "running" forever. Run in a
// child process as the user nobody under RLIMIT_NPROC 40.
TEST_F(WorkloadTest, AThreadTheSystemRefusesIsResourceExhaustedAndAllStop) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root: RLIMIT_NPROC binds only another user "
                    "(the test switches to nobody)";
  }
  EXPECT_EXIT(StartWorkloadAsNobodyAndExit(), ::testing::ExitedWithCode(0),
              "RESOURCE_EXHAUSTED: cannot start thread");
}

}  // namespace
}  // namespace loadtest::agent
