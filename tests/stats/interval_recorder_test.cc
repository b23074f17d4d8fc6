#include "stats/interval_recorder.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "stats/interval_counters.h"
#include "stats/latency_histogram.h"

namespace loadtest::stats {
namespace {

void ExpectSameStats(const IntervalStats& got, const IntervalStats& want) {
  EXPECT_EQ(got.counters, want.counters);
  EXPECT_EQ(got.write_latency.ToSparse(), want.write_latency.ToSparse());
  EXPECT_EQ(got.write_latency.count(), want.write_latency.count());
  EXPECT_EQ(got.write_latency.min(), want.write_latency.min());
  EXPECT_EQ(got.write_latency.max(), want.write_latency.max());
  EXPECT_EQ(got.write_latency.sum(), want.write_latency.sum());
  EXPECT_EQ(got.read_latency.ToSparse(), want.read_latency.ToSparse());
  EXPECT_EQ(got.read_latency.count(), want.read_latency.count());
  EXPECT_EQ(got.read_latency.min(), want.read_latency.min());
  EXPECT_EQ(got.read_latency.max(), want.read_latency.max());
  EXPECT_EQ(got.read_latency.sum(), want.read_latency.sum());
}

// Records event `i` of a fixed mix into `recorder`, and the same into
// `expected` so the test knows what the takes must add up to.
void RecordEvent(int64_t i, IntervalRecorder* recorder,
                 IntervalStats* expected) {
  const int64_t latency = 1'000 + (i * 7'919) % 50'000'000;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      recorder->RecordWriteOk(latency);
      ++expected->counters.writes_ok;
      expected->write_latency.Record(latency);
      break;
    case 4:
      recorder->RecordWriteError();
      ++expected->counters.write_errors;
      break;
    case 5:
      recorder->RecordWriteTimeout();
      ++expected->counters.write_timeouts;
      break;
    case 6:
      recorder->RecordQueueFull();
      recorder->RecordWriteLate();
      ++expected->counters.queue_full;
      ++expected->counters.writes_late;
      break;
    case 7:
      recorder->RecordReadError();
      ++expected->counters.read_errors;
      break;
    default:
      recorder->RecordReadOk(latency / 3);
      ++expected->counters.reads_ok;
      expected->read_latency.Record(latency / 3);
      if (i % 20 == 9) {
        recorder->RecordReadLate();
        ++expected->counters.reads_late;
      }
      break;
  }
}

TEST(IntervalRecorderTest, TakeOnANewRecorderIsEmpty) {
  IntervalRecorder recorder;
  ExpectSameStats(recorder.TakeInterval(), IntervalStats());
}

TEST(IntervalRecorderTest,
     TakeReturnsEverythingRecordedAndStartsAnEmptyInterval) {
  IntervalRecorder recorder;
  IntervalStats expected;
  for (int64_t i = 0; i < 1'000; ++i) RecordEvent(i, &recorder, &expected);
  ExpectSameStats(recorder.TakeInterval(), expected);
  ExpectSameStats(recorder.TakeInterval(), IntervalStats());

  recorder.RecordWriteOk(5'000);
  const IntervalStats next = recorder.TakeInterval();
  EXPECT_EQ(next.counters.writes_ok, 1);
  EXPECT_EQ(next.write_latency.count(), 1u);
  EXPECT_EQ(next.write_latency.min(), 5'000);
}

// Counts the collector's completed takes so the recording thread can wait for
// takes to happen mid-run, making the interleaving certain without sleeps.
// (std::mutex: the distribution's Abseil is not built for ThreadSanitizer.)
class TakeCounter {
 public:
  void Increment() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++takes_;
    }
    changed_.notify_all();
  }
  int takes() {
    std::lock_guard<std::mutex> lock(mu_);
    return takes_;
  }
  // Waits until more than `seen` takes completed; false after a generous
  // deadline (the collector hung).
  bool WaitForMoreThan(int seen) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(60),
                             [this, seen] { return takes_ > seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int takes_ = 0;
};

TEST(IntervalRecorderTest, ScheduleLagIsOneSamplePerPacedOperation) {
  IntervalRecorder a, b;
  a.RecordScheduleLag(0);
  a.RecordScheduleLag(3'000'000);
  b.RecordScheduleLag(500'000);
  IntervalStats total = a.TakeInterval();
  total.Merge(b.TakeInterval());
  EXPECT_EQ(total.schedule_lag.count(), 3u);
  EXPECT_EQ(total.schedule_lag.max(), 3'000'000);
  EXPECT_EQ(total.schedule_lag.sum(), 3'500'000);
  // Lag is not latency and counts no operation outcome.
  EXPECT_EQ(total.write_latency.count(), 0u);
  EXPECT_EQ(total.counters, IntervalCounters());
  EXPECT_EQ(a.TakeInterval().schedule_lag.count(), 0u);
}

TEST(IntervalRecorderTest, ConcurrentTakesLoseNothingAndCountNothingTwice) {
  constexpr int64_t kEvents = 200'000;
  IntervalRecorder recorder;
  IntervalStats expected;
  IntervalStats taken;
  TakeCounter take_counter;
  std::atomic<bool> done{false};

  std::thread collector([&] {
    while (!done.load(std::memory_order_acquire)) {
      taken.Merge(recorder.TakeInterval());
      take_counter.Increment();
    }
  });
  std::thread worker([&] {
    for (int64_t i = 0; i < kEvents; ++i) {
      RecordEvent(i, &recorder, &expected);
      if (i % 20'000 == 10'000) {
        // Ensure a take lands while this interval is half recorded.
        if (!take_counter.WaitForMoreThan(take_counter.takes())) {
          ADD_FAILURE() << "the collector made no progress";
          break;
        }
      }
    }
    done.store(true, std::memory_order_release);
  });
  worker.join();
  collector.join();
  taken.Merge(recorder.TakeInterval());

  EXPECT_GE(take_counter.takes(), 10);
  const IntervalCounters& c = taken.counters;
  EXPECT_EQ(c.writes_ok + c.write_errors + c.write_timeouts + c.queue_full +
                c.reads_ok + c.read_errors,
            kEvents);
  ExpectSameStats(taken, expected);
}

TEST(IntervalRecorderTest, SeveralWorkersMergeIntoExactTotals) {
  constexpr int kWorkers = 4;
  constexpr int64_t kEventsPerWorker = 50'000;
  std::vector<std::unique_ptr<IntervalRecorder>> recorders;
  std::vector<IntervalStats> expected(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    recorders.push_back(std::make_unique<IntervalRecorder>());
  }
  std::atomic<int> running{kWorkers};
  IntervalStats taken;

  std::thread collector([&] {
    while (running.load(std::memory_order_acquire) > 0) {
      for (auto& recorder : recorders) taken.Merge(recorder->TakeInterval());
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      for (int64_t i = 0; i < kEventsPerWorker; ++i) {
        RecordEvent(i * kWorkers + w, recorders[w].get(), &expected[w]);
      }
      running.fetch_sub(1, std::memory_order_release);
    });
  }
  for (std::thread& t : workers) t.join();
  collector.join();
  for (auto& recorder : recorders) taken.Merge(recorder->TakeInterval());

  IntervalStats total;
  for (const IntervalStats& e : expected) total.Merge(e);
  ExpectSameStats(taken, total);
}

}  // namespace
}  // namespace loadtest::stats
