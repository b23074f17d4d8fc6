#include "bench/fake_agent.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace loadtest::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A fake agent keeps no files: the spec's database is resolved inside this
// directory only so that the agent's own validation (a plain file name, no
// "..") applies unchanged.
constexpr char kDataDir[] = "/fake-agent";

// Latency shapes of a healthy run of the batched store: a write waits for its
// batch's commit, a read is one indexed or FTS query. About 1% of the samples
// land in a slow tail (a checkpoint or an fsync stalling the writer).
constexpr double kWriteMedianNs = 2.5e6;
constexpr double kWriteSigma = 0.5;
constexpr double kReadMedianNs = 1.2e6;
constexpr double kReadSigma = 0.7;
constexpr double kSlowTailShare = 0.01;
constexpr double kSlowTailFactor = 8;

double Seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

// ---------------------------------------------------------------------------
// TickScheduler

TickScheduler::TickScheduler() : thread_(&TickScheduler::Loop, this) {}

TickScheduler::~TickScheduler() {
  {
    sync::MutexLock lock(&mu_);
    stopping_ = true;
  }
  changed_.NotifyAll();
  thread_.join();
}

void TickScheduler::At(Clock::time_point when, std::function<void()> callback) {
  {
    sync::MutexLock lock(&mu_);
    queue_.push(Entry{when, next_order_++, std::move(callback)});
  }
  changed_.NotifyAll();
}

void TickScheduler::Loop() {
  sync::MutexLock lock(&mu_);
  for (;;) {
    if (stopping_) return;
    if (queue_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const Clock::time_point when = queue_.top().when;
    if (Clock::now() < when) {
      changed_.WaitUntil(&mu_, when);
      continue;
    }
    std::function<void()> callback = std::move(queue_.top().callback);
    queue_.pop();
    mu_.Unlock();
    callback();
    callback = nullptr;  // Drop what it holds before taking the lock again.
    mu_.Lock();
  }
}

// ---------------------------------------------------------------------------
// UpdateSynthesizer

UpdateSynthesizer::UpdateSynthesizer(const protocol::RunSpec& spec, uint64_t seed,
                                     int samples, double capacity)
    : spec_(spec),
      samples_(std::max(1, samples)),
      capacity_(std::max(0.0, capacity)),
      write_plan_(spec.workload.write_plan()),
      read_plan_(spec.workload.read_plan()),
      random_(seed) {
  const protocol::WorkloadOptions& w = spec_.workload;
  // Agents differ a little from each other, as real hosts do.
  const double agent_factor =
      std::uniform_real_distribution<double>(0.9, 1.1)(random_);
  if (w.writers > 0) {
    write_rate_ = w.write_rate > 0
                      ? w.write_rate
                      : w.writers / (Seconds(w.write_delay) + kWriteMedianNs * 1e-9);
  }
  if (w.readers > 0) {
    read_rate_ = w.read_rate > 0
                     ? w.read_rate
                     : w.readers / (Seconds(w.read_delay) + kReadMedianNs * 1e-9);
  }
  write_rate_ *= agent_factor;
  read_rate_ *= agent_factor;
  // A closed loop goes no faster than the store: each writer waits for
  // its write.
  if (capacity_ > 0 && !write_plan_.open_loop()) {
    write_rate_ = std::min(write_rate_, capacity_);
  }
}

void UpdateSynthesizer::Draw(double median_ns, double sigma, int64_t count,
                             stats::LatencyHistogram* out, double wait_from_ns,
                             double wait_to_ns) {
  if (count <= 0) return;
  const int64_t k = std::min<int64_t>(count, samples_);
  const uint64_t each = static_cast<uint64_t>(count / k);
  const int64_t extra = count % k;
  std::normal_distribution<double> normal(0, sigma);
  std::uniform_real_distribution<double> uniform(0, 1);
  for (int64_t i = 0; i < k; ++i) {
    double ns = median_ns * std::exp(normal(random_));
    if (uniform(random_) < kSlowTailShare) ns *= kSlowTailFactor;
    ns += wait_from_ns + (wait_to_ns - wait_from_ns) *
                             (static_cast<double>(i) + 0.5) /
                             static_cast<double>(k);
    out->RecordN(static_cast<int64_t>(ns), each + (i < extra ? 1 : 0));
  }
}

protocol::IntervalUpdate UpdateSynthesizer::Next(double seconds) {
  seconds = std::max(0.0, seconds);
  std::normal_distribution<double> noise(1.0, 0.03);
  std::uniform_real_distribution<double> uniform(0, 1);
  auto count = [&](double rate) {
    return static_cast<int64_t>(std::max(0.0, rate * seconds * noise(random_)));
  };
  const bool open_loop = write_plan_.open_loop();
  protocol::IntervalUpdate u;
  stats::IntervalCounters& c = u.stats.counters;
  // Open loop: what the plan made due in these seconds.
  const double from_s = elapsed_s_;
  elapsed_s_ += seconds;
  u.offered_writes = write_plan_.OperationsBy(elapsed_s_) -
                     write_plan_.OperationsBy(from_s);
  u.offered_reads =
      read_plan_.OperationsBy(elapsed_s_) - read_plan_.OperationsBy(from_s);
  double wait_from_ns = 0;
  double wait_to_ns = 0;
  if (capacity_ > 0 && open_loop) {
    // The store as a queue served at capacity_.
    const double backlog_before = backlog_;
    const double due = backlog_ + u.offered_writes;
    const double served = std::min(due, capacity_ * seconds);
    backlog_ = due - served;
    const double room = std::max(0, spec_.store.queue_size);
    if (backlog_ > room) {
      c.queue_full = static_cast<int64_t>(backlog_ - room);
      backlog_ = room;
    }
    c.writes_ok = static_cast<int64_t>(served);
    wait_from_ns = backlog_before / capacity_ * 1e9;
    wait_to_ns = backlog_ / capacity_ * 1e9;
  } else if (open_loop) {
    c.writes_ok = static_cast<int64_t>(u.offered_writes * noise(random_));
  } else {
    c.writes_ok = count(write_rate_);
  }
  c.reads_ok = read_plan_.open_loop()
                   ? static_cast<int64_t>(u.offered_reads * noise(random_))
                   : count(read_rate_);
  // Errors are rare in a healthy run: about one every 50 s per agent.
  if (capacity_ == 0 && c.writes_ok > 0 && uniform(random_) < 0.02 * seconds) {
    c.write_errors = 1;
  }
  if (c.reads_ok > 0 && uniform(random_) < 0.005 * seconds) c.read_errors = 1;
  if (open_loop) c.writes_late = static_cast<int64_t>(c.writes_ok * 0.001);
  if (read_plan_.open_loop()) {
    c.reads_late = static_cast<int64_t>(c.reads_ok * 0.001);
  }
  Draw(kWriteMedianNs, kWriteSigma, c.writes_ok, &u.stats.write_latency,
       wait_from_ns, wait_to_ns);
  Draw(kReadMedianNs, kReadSigma, c.reads_ok, &u.stats.read_latency);

  // Group commit: a batch holds about the writes in flight.
  const int writers = std::max(1, spec_.workload.writers);
  const double write_rate =
      open_loop && seconds > 0 ? c.writes_ok / seconds : write_rate_;
  const double in_flight =
      open_loop ? std::max(1.0, write_rate * kWriteMedianNs * 1e-9)
                : writers * 0.7;
  const double mean_batch =
      std::clamp(in_flight, 1.0, static_cast<double>(spec_.store.batch_size));
  u.batches = c.writes_ok > 0
                  ? std::max<int64_t>(1, static_cast<int64_t>(c.writes_ok / mean_batch))
                  : 0;
  u.rows_committed = c.writes_ok;
  u.queue_size = spec_.store.queue_size;
  if (c.writes_ok > 0) {
    const double peak =
        std::max(backlog_, in_flight * std::uniform_real_distribution<double>(
                                           1, 2)(random_));
    u.peak_queue_depth =
        static_cast<int>(std::min<double>(spec_.store.queue_size, peak));
  }
  return u;
}

// ---------------------------------------------------------------------------
// FakeRun: one Run call of one fake agent.
//
// The states follow AgentService + AgentRun: wait for the start delay, then
// for each interval end; at each one write one update (the next wait starts
// when the write is done, as the real agent's blocking Write does); when the
// duration is reached, or on Stop, write the final update and finish. A
// cancelled call finishes at once without a final update.
//
// Owned jointly by the call's reactor and by pending scheduler callbacks, so
// a callback that fires after the call ended finds it alive and in kDone.
// Thread-safety: every entry point takes mu_; the reactor is never touched
// after Finish was called on it.
class FakeRun : public std::enable_shared_from_this<FakeRun> {
 public:
  FakeRun(FakeAgent* agent, protocol::RunSpec spec,
          std::chrono::nanoseconds start_after, int64_t rows_before,
          grpc::ServerWriteReactor<pb::RunUpdate>* reactor)
      : agent_(agent),
        spec_(std::move(spec)),
        start_after_(start_after),
        rows_before_(rows_before),
        reactor_(reactor),
        synthesizer_(spec_,
                     agent->options().seed * 0x9e3779b97f4a7c15ULL ^
                         spec_.workload.seed,
                     agent->options().histogram_samples,
                     agent->options().capacity +
                         agent->options().capacity_per_batch_row *
                             static_cast<double>(spec_.store.batch_size)) {}

  const std::string& run_id() const { return spec_.run_id; }

  // Starts the wait for the start delay.
  void Begin() {
    sync::MutexLock lock(&mu_);
    ScheduleLocked(Clock::now() + start_after_);
  }

  void RequestStop(const std::string& reason) {
    sync::MutexLock lock(&mu_);
    if (state_ == State::kDone) return;
    if (!stop_requested_) {
      stop_requested_ = true;
      stop_reason_ = reason;
    }
    if (state_ != State::kWriting) {
      ++generation_;  // The pending timer is stale now.
      AdvanceLocked();
    }
  }

  void OnCancel() {
    sync::MutexLock lock(&mu_);
    cancelled_ = true;
    if (state_ == State::kStarting || state_ == State::kWaiting) {
      ++generation_;
      AdvanceLocked();
    }
    // While writing, the write fails and OnWriteDone ends the call.
  }

  void OnWriteDone(bool ok) {
    sync::MutexLock lock(&mu_);
    if (state_ != State::kWriting) return;
    state_ = State::kWaiting;
    if (!ok) cancelled_ = true;
    AdvanceLocked();
  }

 private:
  enum class State { kStarting, kWaiting, kWriting, kDone };

  void ScheduleLocked(Clock::time_point when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t generation = ++generation_;
    agent_->scheduler_->At(when, [self = shared_from_this(), generation] {
      self->Wake(generation);
    });
  }

  void Wake(uint64_t generation) {
    sync::MutexLock lock(&mu_);
    if (generation != generation_ || state_ == State::kDone ||
        state_ == State::kWriting) {
      return;
    }
    AdvanceLocked();
  }

  // Does whatever is due now: start, end the call, the final update, an
  // interval update, or wait for the next interval end. Not while writing.
  void AdvanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Clock::time_point now = Clock::now();
    if (state_ == State::kStarting) {
      start_ = now;
      end_ = start_ + spec_.duration;
      last_ = now;
      state_ = State::kWaiting;
    }
    if (cancelled_) {
      EndLocked();
      reactor_->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                    "the controller went away"));
      return;
    }
    if (stop_requested_) {
      SendFinalLocked(now, stop_reason_);
      return;
    }
    const Clock::time_point next =
        std::min(end_, start_ + spec_.log_interval * (sequence_ + 1));
    if (now < next) {
      ScheduleLocked(next);
      return;
    }
    if (next >= end_) {
      SendFinalLocked(now, protocol::kDurationReached);
      return;
    }
    protocol::IntervalUpdate update = TakeIntervalLocked(now);
    SendLocked(update);
    state_ = State::kWriting;
    reactor_->StartWrite(&message_);
  }

  protocol::IntervalUpdate TakeIntervalLocked(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    protocol::IntervalUpdate update =
        synthesizer_.Next(std::chrono::duration<double>(now - last_).count());
    update.sequence = ++sequence_;
    update.start_s = interval_start_s_;
    update.end_s = std::chrono::duration<double>(now - start_).count();
    interval_start_s_ = update.end_s;
    last_ = now;
    acknowledged_ += update.stats.counters.writes_ok;
    return update;
  }

  // Encodes `update` into message_ (which must stay put until the write
  // completes).
  void SendLocked(const protocol::IntervalUpdate& update) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    message_.Clear();
    protocol::ToProto(update, &message_);
    message_.set_agent_id(agent_->options().identity.agent_id);
    message_.set_run_id(spec_.run_id);
    agent_->CountUpdate();
  }

  void SendFinalLocked(Clock::time_point now, const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    protocol::IntervalUpdate last = TakeIntervalLocked(now);
    last.final = true;
    last.stop_reason = reason;
    protocol::RunAudit audit;
    audit.rows_before = rows_before_;
    audit.rows_in_db = acknowledged_;
    audit.acknowledged = acknowledged_;
    audit.integrity_ok = true;
    audit.integrity_message = "ok";
    last.audit = audit;
    SendLocked(last);
    EndLocked();
    reactor_->StartWriteAndFinish(&message_, grpc::WriteOptions(),
                                  grpc::Status::OK);
  }

  // The agent is idle from here on; the reactor gets one last call (Finish
  // or StartWriteAndFinish) from the caller.
  void EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    state_ = State::kDone;
    agent_->RunEnded(this, acknowledged_);
  }

  FakeAgent* const agent_;
  const protocol::RunSpec spec_;
  const std::chrono::nanoseconds start_after_;
  const int64_t rows_before_;
  grpc::ServerWriteReactor<pb::RunUpdate>* const reactor_;

  sync::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kStarting;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // Of the one timer that counts.
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point start_ ABSL_GUARDED_BY(mu_);
  Clock::time_point end_ ABSL_GUARDED_BY(mu_);
  Clock::time_point last_ ABSL_GUARDED_BY(mu_);
  double interval_start_s_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  UpdateSynthesizer synthesizer_ ABSL_GUARDED_BY(mu_);
  pb::RunUpdate message_ ABSL_GUARDED_BY(mu_);  // The write in flight.
};

namespace {

// The Run call's reactor: forwards gRPC's events to its FakeRun and deletes
// itself when the call is done.
class RunReactor final : public grpc::ServerWriteReactor<pb::RunUpdate> {
 public:
  // Before the reactor is returned to gRPC, so no event can miss it.
  void Attach(std::shared_ptr<FakeRun> run) { run_ = std::move(run); }

  void OnWriteDone(bool ok) override {
    if (run_ != nullptr) run_->OnWriteDone(ok);
  }
  void OnCancel() override {
    if (run_ != nullptr) run_->OnCancel();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<FakeRun> run_;
};

}  // namespace

// ---------------------------------------------------------------------------
// FakeAgent

FakeAgent::FakeAgent(FakeAgentOptions options, TickScheduler* scheduler)
    : options_(std::move(options)), scheduler_(scheduler) {}

FakeAgent::~FakeAgent() = default;

grpc::ServerUnaryReactor* FakeAgent::GetStatus(
    grpc::CallbackServerContext* context, const pb::StatusRequest*,
    pb::AgentStatus* reply) {
  reply->set_agent_id(options_.identity.agent_id);
  reply->set_version(options_.identity.version);
  reply->set_hostname(options_.identity.hostname);
  reply->set_metrics_port(options_.metrics_port);
  {
    sync::MutexLock lock(&mu_);
    reply->set_state(active_ != nullptr ? pb::AgentStatus::RUNNING
                                        : pb::AgentStatus::IDLE);
    reply->set_run_id(active_run_id_);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FakeAgent::Stop(grpc::CallbackServerContext* context,
                                          const pb::StopRequest* request,
                                          pb::StopReply*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<FakeRun> run;
  {
    sync::MutexLock lock(&mu_);
    if (active_ != nullptr && request->run_id() == active_run_id_) run = active_;
  }
  if (run == nullptr) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("agent ", options_.identity.agent_id,
                     " has no active run \"", request->run_id(), "\"")));
    return reactor;
  }
  // Outside mu_: a run takes its own lock first and then the agent's.
  run->RequestStop(request->reason().empty() ? "stopped by the controller"
                                             : request->reason());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<pb::RunUpdate>* FakeAgent::Run(
    grpc::CallbackServerContext*, const pb::RunSpec* wire_spec) {
  auto* reactor = new RunReactor();
  absl::StatusOr<protocol::RunSpec> spec = protocol::FromProto(*wire_spec, kDataDir);
  if (!spec.ok()) {
    reactor->Finish(protocol::ToGrpcStatus(spec.status()));
    return reactor;
  }
  std::shared_ptr<FakeRun> run;
  {
    sync::MutexLock lock(&mu_);
    if (shutting_down_) {
      reactor->Finish(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("agent ", options_.identity.agent_id,
                       " is shutting down")));
      return reactor;
    }
    if (active_ != nullptr) {
      reactor->Finish(grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("agent ", options_.identity.agent_id,
                       " is busy with run ", active_run_id_)));
      return reactor;
    }
    run = std::make_shared<FakeRun>(
        this, *spec, std::chrono::nanoseconds(wire_spec->start_after_ns()),
        rows_in_db_, reactor);
    active_ = run;
    active_run_id_ = spec->run_id;
  }
  runs_started_.fetch_add(1);
  reactor->Attach(run);
  run->Begin();
  return reactor;
}

void FakeAgent::RunEnded(const FakeRun* run, int64_t rows_added) {
  {
    sync::MutexLock lock(&mu_);
    if (active_.get() == run) {
      active_.reset();
      active_run_id_.clear();
    }
    rows_in_db_ += rows_added;
  }
  idle_.NotifyAll();
}

bool FakeAgent::Shutdown(const std::string& reason,
                         std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<FakeRun> run;
  {
    sync::MutexLock lock(&mu_);
    shutting_down_ = true;
    run = active_;
  }
  if (run != nullptr) run->RequestStop(reason);
  sync::MutexLock lock(&mu_);
  while (active_ != nullptr) {
    if (idle_.WaitUntil(&mu_, deadline)) return active_ == nullptr;
  }
  return true;
}

}  // namespace loadtest::bench
