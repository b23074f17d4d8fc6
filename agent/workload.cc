#include "agent/workload.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"

namespace loadtest::agent {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace


// Per-thread pacing: of `threads` threads sharing a plan, thread `index`
// carries operations index, index + threads, index + 2 * threads, ... of
// the plan's schedule, so the threads take turns and together offer the
// planned rate. Closed-loop threads have no schedule.
class Workload::Schedule {
 public:
  Schedule(const protocol::RatePlan& plan, int threads, int index,
           Clock::time_point start)
      : plan_(plan), threads_(std::max(1, threads)), index_(index),
        start_(start) {}
  bool open_loop() const { return plan_.open_loop(); }
  // When operation `k` of this thread is due; nullopt: never (the rate
  // stays 0 from some point on).
  std::optional<Clock::time_point> Due(int64_t k) const {
    const double at_s = plan_.TimeOfOperation(
        static_cast<double>(k) * threads_ + index_);
    // Beyond any run (168h) it will not come.
    if (!(at_s < kNeverSeconds)) return std::nullopt;
    return start_ + std::chrono::nanoseconds(std::llround(at_s * 1e9));
  }

 private:
  static constexpr double kNeverSeconds = 1e7;
  const protocol::RatePlan plan_;
  const int threads_;
  const int index_;
  const Clock::time_point start_;
};

Workload::Workload(const WorkloadOptions& options, storage::BatchedStore* store)
    : options_(options),
      store_(store),
      write_plan_(options.write_plan()),
      read_plan_(options.read_plan()) {}

Workload::~Workload() { Stop(); }

absl::Status Workload::Start() {
  for (int i = 0; i < options_.readers; ++i) {
    auto reader = store_->NewReader();
    if (!reader.ok()) return reader.status();
    readers_.push_back(std::move(*reader));
  }
  for (int i = 0; i < options_.writers + options_.readers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
  }
  const int total = options_.writers + options_.readers;
  threads_.reserve(total);
  // std::thread throws std::system_error when the system refuses a thread
  // (EAGAIN: RLIMIT_NPROC, a cgroup's pids.max); it must not escape.
  try {
    for (int i = 0; i < options_.writers; ++i) {
      threads_.emplace_back([this, i] { WriterLoop(workers_[i].get(), i); });
    }
    for (int i = 0; i < options_.readers; ++i) {
      Worker* worker = workers_[options_.writers + i].get();
      threads_.emplace_back(
          [this, worker, i, reader = readers_[i].get()] {
            ReaderLoop(worker, i, reader);
          });
    }
  } catch (const std::system_error& e) {
    const size_t started = threads_.size();
    Stop();
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot start thread ", started + 1, " of ", total, " (",
        options_.writers, " writers, ", options_.readers, " readers): ",
        e.what(), "; the agent's thread limit (RLIMIT_NPROC, a container's "
        "pids limit, systemd's TasksMax) is too low for this run"));
  }
  {
    sync::MutexLock lock(&gate_mu_);
    start_ = Clock::now();
    gate_open_ = true;
  }
  gate_cv_.NotifyAll();
  return absl::OkStatus();
}

bool Workload::AwaitGate() {
  sync::MutexLock lock(&gate_mu_);
  while (!gate_open_ && !stopping_.load()) gate_cv_.Wait(&gate_mu_);
  return gate_open_ && !stopping_.load();
}

void Workload::Stop() {
  {
    // Under the gate's lock, so a thread between its check and its wait
    // sees the flag.
    sync::MutexLock lock(&gate_mu_);
    stopping_ = true;
  }
  gate_cv_.NotifyAll();
  // A reader in a long search ends it now rather than when it finishes.
  for (auto& reader : readers_) reader->Cancel();
  for (auto& worker : workers_) {
    // Taking the worker's lock orders the flag before its next wait.
    sync::MutexLock lock(&worker->mu);
    worker->wake.NotifyOne();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool Workload::SleepUntil(Worker* worker, Clock::time_point deadline) {
  sync::MutexLock lock(&worker->mu);
  while (!stopping_.load()) {
    if (worker->wake.WaitUntil(&worker->mu, deadline)) break;
  }
  return !stopping_.load();
}

Workload::Offered Workload::OfferedBy(Clock::time_point when) const {
  const double t = std::chrono::duration<double>(when - start_).count();
  return {write_plan_.OperationsBy(t), read_plan_.OperationsBy(t)};
}

stats::IntervalStats Workload::TakeInterval() {
  stats::IntervalStats total;
  for (auto& worker : workers_) total.Merge(worker->recorder.TakeInterval());
  return total;
}

bool Workload::AwaitTurn(Worker* worker, const Schedule& schedule, int64_t k,
                         Clock::time_point* intended, bool* late) {
  *late = false;
  *intended = Clock::now();
  if (!schedule.open_loop()) return true;
  const std::optional<Clock::time_point> due = schedule.Due(k);
  if (!due.has_value()) {
    // Nothing more is planned for this thread: wait for the end.
    while (SleepUntil(worker, Clock::now() + std::chrono::hours(1))) {
    }
    return false;
  }
  *intended = *due;
  if (*intended > Clock::now() && !SleepUntil(worker, *intended)) return false;
  const Clock::duration lag = Clock::now() - *intended;
  *late = lag > kLateSlack;
  worker->recorder.RecordScheduleLag(Nanos(lag));
  return true;
}

bool Workload::PauseAfter(Worker* worker, const Schedule& schedule,
                          std::chrono::nanoseconds delay) {
  if (schedule.open_loop() || delay.count() <= 0) return true;
  return SleepUntil(worker, Clock::now() + delay);
}

void Workload::WriterLoop(Worker* worker, int index) {
  if (!AwaitGate()) return;
  stats::IntervalRecorder& recorder = worker->recorder;
  LogGenerator generator(index, WriterSeed(options_.seed, index));
  const Schedule schedule(write_plan_, options_.writers, index, start_);
  for (int64_t k = 0; !stopping_.load(std::memory_order_relaxed); ++k) {
    Clock::time_point intended;
    bool late;
    if (!AwaitTurn(worker, schedule, k, &intended, &late)) return;
    if (late) recorder.RecordWriteLate();
    auto id = store_->Write(generator.Next());
    const int64_t latency = Nanos(Clock::now() - intended);
    if (id.ok()) {
      recorder.RecordWriteOk(latency);
    } else if (storage::IsQueueFull(id.status())) {
      recorder.RecordQueueFull();
    } else if (absl::IsDeadlineExceeded(id.status())) {
      recorder.RecordWriteTimeout();
    } else {
      recorder.RecordWriteError();
    }
    if (!PauseAfter(worker, schedule, options_.write_delay)) return;
  }
}

void Workload::ReaderLoop(Worker* worker, int index,
                          storage::StoreReader* reader) {
  if (!AwaitGate()) return;
  stats::IntervalRecorder& recorder = worker->recorder;
  const Schedule schedule(read_plan_, options_.readers, index, start_);
  for (int64_t k = 0; !stopping_.load(std::memory_order_relaxed); ++k) {
    Clock::time_point intended;
    bool late;
    if (!AwaitTurn(worker, schedule, k, &intended, &late)) return;
    if (late) recorder.RecordReadLate();
    const ReadQuery& query = QueryForIteration(k);
    absl::Status status;
    switch (query.kind) {
      case QueryKind::kText:
        status = reader->SearchText(query.argument, query.limit).status();
        break;
      case QueryKind::kHostname:
        status = reader->ByHostname(query.argument, query.limit).status();
        break;
      case QueryKind::kAppName:
        status = reader->ByAppName(query.argument, query.limit).status();
        break;
      case QueryKind::kRecent:
        status = reader->Recent(query.limit).status();
        break;
    }
    if (status.ok()) {
      recorder.RecordReadOk(Nanos(Clock::now() - intended));
    } else if (absl::IsCancelled(status) && stopping_.load()) {
      return;  // Cut short by Stop(): neither a read nor an error.
    } else {
      recorder.RecordReadError();
    }
    if (!PauseAfter(worker, schedule, options_.read_delay)) return;
  }
}

}  // namespace loadtest::agent
