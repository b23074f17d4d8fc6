#include "agent/workload.h"

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"
#include "agent/message_source.h"

namespace loadtest::agent {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace


// The operations of one kind. Open loop: operation n (0, 1, ...) of the
// plan's schedule is due at plan.TimeOfOperation(n) after the start; a free
// thread takes the next n from `next_` (one relaxed fetch_add, no lock), so
// the threads together offer the planned rate and none owns an operation
// before it is free. Closed loop: no schedule. In both: the count in
// flight. Safe from any thread.
class Workload::Dispatch {
 public:
  Dispatch(const protocol::RatePlan& plan, Clock::time_point start)
      : plan_(plan), start_(start) {}
  bool open_loop() const { return plan_.open_loop(); }
  // The next operation of the schedule, taken for the caller.
  int64_t Take() { return next_.fetch_add(1, std::memory_order_relaxed); }
  // For dispatchers that take an operation only once it is due: the next
  // one nobody took, and taking exactly that one (false: another took it).
  int64_t Next() const { return next_.load(std::memory_order_relaxed); }
  bool TryTake(int64_t n) {
    return next_.compare_exchange_strong(n, n + 1, std::memory_order_relaxed);
  }
  // When operation `n` is due; nullopt: never (the rate stays 0 from some
  // point on).
  std::optional<Clock::time_point> Due(int64_t n) const {
    const double at_s = plan_.TimeOfOperation(static_cast<double>(n));
    // Beyond any run (168h) it will not come.
    if (!(at_s < kNeverSeconds)) return std::nullopt;
    return start_ + std::chrono::nanoseconds(std::llround(at_s * 1e9));
  }
  // An operation begins (returns how many are in flight, itself included)
  // or ends (returns how many are still in flight).
  int Begin() { return in_flight_.fetch_add(1, std::memory_order_relaxed) + 1; }
  int End() { return in_flight_.fetch_sub(1, std::memory_order_relaxed) - 1; }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  static constexpr double kNeverSeconds = 1e7;
  const protocol::RatePlan plan_;
  const Clock::time_point start_;
  std::atomic<int64_t> next_{0};
  std::atomic<int> in_flight_{0};
};

Workload::Workload(const WorkloadOptions& options, storage::BatchedStore* store,
                   BeforeWrite before_write)
    : options_(options),
      store_(store),
      before_write_(std::move(before_write)),
      write_plan_(options.write_plan()),
      read_plan_(options.read_plan()),
      async_writes_(AsyncWrites(options)) {}

bool Workload::AsyncWrites(const WorkloadOptions& options) {
  return options.write_plan().open_loop() &&
         options.write_dispatch == protocol::WriteDispatch::kAsync;
}

int Workload::WriterThreads(const WorkloadOptions& options) {
  return AsyncWrites(options) ? std::min(options.writers, kAsyncDispatchers)
                              : options.writers;
}

Workload::~Workload() { Stop(); }

absl::Status Workload::Start() {
  // A messages file is parsed here, before any thread starts.
  auto source = MessageSource::Create(options_.messages, options_.seed);
  if (!source.ok()) return source.status();
  source_ = std::move(*source);
  for (int i = 0; i < options_.readers; ++i) {
    auto reader = store_->NewReader();
    if (!reader.ok()) return reader.status();
    readers_.push_back(std::move(*reader));
  }
  const int writer_threads = this->writer_threads();
  for (int i = 0; i < writer_threads + options_.readers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
  }
  const int total = writer_threads + options_.readers;
  threads_.reserve(total);
  // std::thread throws std::system_error when the system refuses a thread
  // (EAGAIN: RLIMIT_NPROC, a cgroup's pids.max); it must not escape.
  try {
    for (int i = 0; i < writer_threads; ++i) {
      Worker* worker = workers_[i].get();
      if (async_writes_) {
        threads_.emplace_back([this, worker, i] { DispatchLoop(worker, i); });
      } else {
        threads_.emplace_back([this, worker, i] { WriterLoop(worker, i); });
      }
    }
    for (int i = 0; i < options_.readers; ++i) {
      Worker* worker = workers_[writer_threads + i].get();
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
        writer_threads, async_writes_ ? " write dispatchers, " : " writers, ",
        options_.readers, " readers): ",
        e.what(), "; the agent's thread limit (RLIMIT_NPROC, a container's "
        "pids limit, systemd's TasksMax) is too low for this run"));
  }
  {
    sync::MutexLock lock(&gate_mu_);
    start_ = Clock::now();
    write_dispatch_ = std::make_unique<Dispatch>(write_plan_, start_);
    read_dispatch_ = std::make_unique<Dispatch>(read_plan_, start_);
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
  // The writes submitted without a thread: the store answers each by its
  // write timeout at the latest (OnWriteDone ends each under async_mu_).
  if (!async_writes_ || write_dispatch_ == nullptr) return;
  sync::MutexLock lock(&async_mu_);
  while (write_dispatch_->in_flight() > 0) async_idle_.Wait(&async_mu_);
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
  sync::MutexLock lock(&async_mu_);
  total.Merge(async_recorder_.TakeInterval());
  return total;
}

bool Workload::AwaitTurn(Worker* worker, Dispatch* dispatch,
                         int64_t own_count, Turn* turn) {
  turn->late = false;
  turn->operation = own_count;
  turn->intended = Clock::now();
  if (!dispatch->open_loop()) return true;
  // Free from now on: an operation due before this moment waited for a
  // free thread (every one was busy, i.e. waiting on the store).
  const Clock::time_point free_at = turn->intended;
  turn->operation = dispatch->Take();
  const std::optional<Clock::time_point> due = dispatch->Due(turn->operation);
  if (!due.has_value()) {
    // Nothing more is planned: wait for the end.
    while (SleepUntil(worker, Clock::now() + std::chrono::hours(1))) {
    }
    return false;
  }
  turn->intended = *due;
  if (*due > Clock::now() && !SleepUntil(worker, *due)) return false;
  const Clock::time_point started = Clock::now();
  const Clock::duration lag = started - *due;
  turn->late = lag > kLateSlack;
  worker->recorder.RecordScheduleLag(Nanos(lag));
  worker->recorder.RecordWakeLag(Nanos(started - std::max(free_at, *due)));
  return true;
}

bool Workload::PauseAfter(Worker* worker, const Dispatch& dispatch,
                          std::chrono::nanoseconds delay) {
  if (dispatch.open_loop() || delay.count() <= 0) return true;
  return SleepUntil(worker, Clock::now() + delay);
}

void Workload::WriterLoop(Worker* worker, int index) {
  // Named so that top, perf and dispatch_bench can tell their CPU apart.
  pthread_setname_np(pthread_self(), "load-writer");
  if (!AwaitGate()) return;
  stats::IntervalRecorder& recorder = worker->recorder;
  Dispatch* dispatch = write_dispatch_.get();
  const uint64_t own_seed = WriterSeed(options_.seed, index);
  std::unique_ptr<MessageStream> stream = source_->NewStream(index, own_seed);
  const int writers = std::max(1, options_.writers);
  for (int64_t k = 0; !stopping_.load(std::memory_order_relaxed); ++k) {
    Turn turn;
    if (!AwaitTurn(worker, dispatch, k, &turn)) return;
    if (turn.late) recorder.RecordWriteLate();
    recorder.RecordWriteInFlight(dispatch->Begin());
    if (before_write_) before_write_(turn.operation);
    storage::LogEntry entry;
    if (dispatch->open_loop()) {
      const int owner = static_cast<int>(turn.operation % writers);
      entry = stream->At(owner, turn.operation / writers,
                         WriterSeed(options_.seed, owner));
    } else {
      entry = stream->Next();
    }
    auto id = store_->Write(std::move(entry));
    const int64_t latency = Nanos(Clock::now() - turn.intended);
    dispatch->End();
    if (id.ok()) {
      recorder.RecordWriteOk(latency);
    } else if (storage::IsQueueFull(id.status())) {
      recorder.RecordQueueFull();
    } else if (absl::IsDeadlineExceeded(id.status())) {
      recorder.RecordWriteTimeout();
    } else {
      recorder.RecordWriteError();
    }
    if (!PauseAfter(worker, *dispatch, options_.write_delay)) return;
  }
}

namespace {

// Keeps dispatcher `index` on a CPU of its own: the index-th CPU the
// process may use (modulo their number), none when it may use one only.
// A kernel without preemption (PREEMPT_NONE, common on virtual machines)
// runs a long system call to its end: a checkpoint's write held a CPU for
// 9.4 ms while both dispatchers waited on that CPU's queue and the other
// CPU was idle. Apart, the backup keeps the schedule meanwhile.
void PinToOwnCpu(int index) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  const int count = CPU_COUNT(&allowed);
  if (count < 2) return;
  int nth = index % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || nth-- > 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    return;
  }
}

// The calling thread's timer slack: the kernel's default, or
// Workload::kDispatchSlack while writes are due closer together than that.
class TimerSlack {
 public:
  TimerSlack() : default_(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) {}
  void Set(bool coalesce) {
    if (coalesce == coalescing_ || default_ < 0) return;
    coalescing_ = coalesce;
    const long ns =
        coalesce ? std::chrono::nanoseconds(Workload::kDispatchSlack).count()
                 : default_;
    (void)prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(ns), 0, 0, 0);
  }

 private:
  const long default_;
  bool coalescing_ = false;
};

}  // namespace

void Workload::DispatchLoop(Worker* worker, int index) {
  pthread_setname_np(pthread_self(), "load-dispatch");
  // A dispatcher runs for microseconds per write but must run on time: it
  // asks for a higher priority than the store's threads (allowed to root or
  // with CAP_SYS_NICE; otherwise it keeps the process's).
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)),
                    kDispatcherNice);
  PinToOwnCpu(index);
  if (!AwaitGate()) return;
  stats::IntervalRecorder& recorder = worker->recorder;
  Dispatch* dispatch = write_dispatch_.get();
  std::unique_ptr<MessageStream> stream =
      source_->NewStream(index, WriterSeed(options_.seed, index));
  const int writers = std::max(1, options_.writers);
  // Dispatcher 0 wakes when the next write is due; dispatcher i only
  // i x kDispatchBackup later, and then takes whatever is still waiting:
  // a dispatcher kept off its core delays the schedule by that much, not
  // by as long as it waits, and the backups wake once per
  // kDispatchBackup, not once per write.
  const Clock::duration backup = index * kDispatchBackup;
  TimerSlack slack;
  while (!stopping_.load(std::memory_order_relaxed)) {
    const int64_t n = dispatch->Next();
    const std::optional<Clock::time_point> due = dispatch->Due(n);
    if (!due.has_value()) {
      // Nothing more is planned: wait for the end.
      while (SleepUntil(worker, Clock::now() + std::chrono::hours(1))) {
      }
      return;
    }
    Clock::time_point now = Clock::now();
    if (*due + backup > now) {
      // Where the next write is due within kDispatchSlack of this one, the
      // kernel may wake the dispatcher that late, and both start in one
      // wake-up: half the CPU per write at 6,000/s (bench/dispatch_bench),
      // each such write starting at most kDispatchSlack later, which its
      // latency (counted from the schedule) includes. Writes further apart
      // keep the kernel's default precision.
      const std::optional<Clock::time_point> after = dispatch->Due(n + 1);
      slack.Set(after.has_value() && *after - *due < kDispatchSlack);
      if (!SleepUntil(worker, *due + backup)) return;
      continue;
    }
    if (!dispatch->TryTake(n)) continue;  // Another dispatcher took it.
    const Clock::duration lag = now - *due;
    // A dispatcher never waits for the store: its lag is the generator's.
    recorder.RecordScheduleLag(Nanos(lag));
    recorder.RecordWakeLag(Nanos(lag));
    if (lag > kLateSlack) recorder.RecordWriteLate();
    if (before_write_) before_write_(n);
    const int owner = static_cast<int>(n % writers);
    storage::LogEntry entry =
        stream->At(owner, n / writers, WriterSeed(options_.seed, owner));
    recorder.RecordWriteInFlight(dispatch->Begin());
    const Clock::time_point intended = *due;
    store_->WriteAsync(std::move(entry),
                       [this, intended](absl::StatusOr<int64_t> id) {
                         OnWriteDone(intended, id);
                       });
  }
}

void Workload::OnWriteDone(Clock::time_point intended,
                           const absl::StatusOr<int64_t>& id) {
  const int64_t latency = Nanos(Clock::now() - intended);
  sync::MutexLock lock(&async_mu_);
  if (id.ok()) {
    async_recorder_.RecordWriteOk(latency);
  } else if (storage::IsQueueFull(id.status())) {
    async_recorder_.RecordQueueFull();
  } else if (absl::IsDeadlineExceeded(id.status())) {
    async_recorder_.RecordWriteTimeout();
  } else {
    async_recorder_.RecordWriteError();
  }
  // Ended and notified under the lock: once nothing is in flight, Stop may
  // return and the workload go while this call still runs.
  if (write_dispatch_->End() == 0) async_idle_.NotifyAll();
}

void Workload::ReaderLoop(Worker* worker, int /*index*/,
                          storage::StoreReader* reader) {
  pthread_setname_np(pthread_self(), "load-reader");
  if (!AwaitGate()) return;
  stats::IntervalRecorder& recorder = worker->recorder;
  Dispatch* dispatch = read_dispatch_.get();
  for (int64_t k = 0; !stopping_.load(std::memory_order_relaxed); ++k) {
    Turn turn;
    if (!AwaitTurn(worker, dispatch, k, &turn)) return;
    if (turn.late) recorder.RecordReadLate();
    recorder.RecordReadInFlight(dispatch->Begin());
    const ReadQuery query = source_->Query(turn.operation);
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
    dispatch->End();
    if (status.ok()) {
      recorder.RecordReadOk(Nanos(Clock::now() - turn.intended));
    } else if (absl::IsCancelled(status) && stopping_.load()) {
      return;  // Cut short by Stop(): neither a read nor an error.
    } else {
      recorder.RecordReadError();
    }
    if (!PauseAfter(worker, *dispatch, options_.read_delay)) return;
  }
}

}  // namespace loadtest::agent
