// FakeAgent: a LoadAgent gRPC service (proto/loadtest.proto) that speaks the
// real agent's protocol without running SQLite, so one process can stand in
// for hundreds of agents when the controller itself is what is measured
// (bench/agent_fleet.cc, bench/controller_scale).
//
// It behaves as `loadtest-agent` does on the wire: one run at a time (a
// second Run gets FAILED_PRECONDITION naming the active run), the RunSpec
// validated by the agent's own code (INVALID_ARGUMENT with the reason), the
// run starting start_after_ns after the call, one RunUpdate per log interval
// with sequence numbers 1, 2, ..., a final update carrying the audit when
// the duration is reached or Stop is called (NOT_FOUND for a run that is not
// active), and a cancelled call ending the run at once. The updates are
// synthesized by UpdateSynthesizer: counters at the rates the spec implies,
// latency histograms drawn from a lognormal with a slow tail, queue and
// batch figures; the audit always adds up (rows_in_db == acknowledged).
//
// The service uses gRPC's callback API, so serving N agents needs no thread
// per agent or per call: timed work (starts and interval ends) runs on one
// shared TickScheduler thread, everything else on gRPC's own threads.
#ifndef LOADTEST_BENCH_FAKE_AGENT_H_
#define LOADTEST_BENCH_FAKE_AGENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/metrics_server.h"
#include "protocol/run_spec.h"
#include "sync/mutex.h"
#include "protocol/wire.h"
#include "proto/loadtest.grpc.pb.h"

namespace loadtest::bench {

namespace pb = ::opentrail::loadtest::v1;

// Runs callbacks at (or just after) their due time on one thread it owns.
// Shared by every fake agent of a fleet, so timers cost no thread each.
// Thread-safety: At() from any thread, also from a callback. The destructor
// stops and joins the thread; callbacks not yet due are dropped unrun.
class TickScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  TickScheduler();
  ~TickScheduler();

  TickScheduler(const TickScheduler&) = delete;
  TickScheduler& operator=(const TickScheduler&) = delete;

  // Runs `callback` on the scheduler's thread once `when` has come;
  // callbacks due at the same time run in the order they were scheduled.
  void At(Clock::time_point when, std::function<void()> callback);

 private:
  struct Entry {
    Clock::time_point when;
    uint64_t order;
    std::function<void()> callback;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.when != b.when ? a.when > b.when : a.order > b.order;
    }
  };

  void Loop();

  sync::Mutex mu_;
  sync::CondVar changed_;
  std::priority_queue<Entry, std::vector<Entry>, Later> queue_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Makes plausible interval figures for one agent running one spec: writes
// and reads at the rate the spec implies (open loop: the given rates; closed
// loop: threads / (delay + mean latency)), with a few percent of noise, rare
// write errors, latency histograms of a few thousand lognormal samples (a
// slow tail of about 1%) scaled to the exact counts, and queue and batch
// figures. Deterministic for a given seed. Thread-safety: one thread at a
// time.
class UpdateSynthesizer {
 public:
  // `samples`: latency samples drawn per interval and kind (at most the
  // number of requests); the histogram counts are exact whatever it is.
  //
  // `capacity` > 0 (writes per second) makes the agent's store a queue
  // served at exactly that rate, for open-loop writes: below it every
  // offered write is served with the healthy latency shape; above it the
  // excess waits in a backlog (its wait added to the latency, growing as
  // the backlog does), the writes served per second stay at the capacity,
  // and a backlog beyond the queue size is refused as queue full. Offered
  // writes follow the spec's plan (rate or stages) exactly, without noise.
  // Closed-loop writers go no faster than the capacity either (find-max's
  // saturation runs meet it).
  UpdateSynthesizer(const protocol::RunSpec& spec, uint64_t seed, int samples,
                    double capacity = 0);

  // The workload figures of the next `seconds` of running (stats, queue,
  // batch and offered fields); sequence, bounds, final and audit are the
  // caller's business.
  protocol::IntervalUpdate Next(double seconds);

 private:
  // Draws `count` latencies into `out`; sample i of k also waits
  // wait_from_ns + (wait_to_ns - wait_from_ns) * (i + 0.5) / k.
  void Draw(double median_ns, double sigma, int64_t count,
            stats::LatencyHistogram* out, double wait_from_ns = 0,
            double wait_to_ns = 0);

  const protocol::RunSpec spec_;
  const int samples_;
  const double capacity_;
  const protocol::RatePlan write_plan_;
  const protocol::RatePlan read_plan_;
  std::mt19937_64 random_;
  double write_rate_ = 0;  // Per second, for this agent.
  double read_rate_ = 0;
  double elapsed_s_ = 0;   // Seconds of running so far.
  double backlog_ = 0;     // Writes waiting (capacity model).
};

struct FakeAgentOptions {
  agent::AgentIdentity identity;
  uint64_t seed = 1;
  int histogram_samples = 2000;  // See UpdateSynthesizer.
  double capacity = 0;  // Writes/s its store serves (UpdateSynthesizer); 0: no limit.
  // Writes/s its store serves per row of the run's batch size, added to
  // `capacity`: a store whose capacity scales with -batch-size in a known
  // way, for testing `loadtest tune`.
  double capacity_per_batch_row = 0;
  int metrics_port = 0;          // Reported by GetStatus; nothing serves it.
};

class FakeRun;

// One fake agent: the LoadAgent service. `scheduler` must outlive it and
// every server it is registered with. Thread-safety: gRPC calls the
// handlers from its threads; Shutdown and the counters from any thread.
class FakeAgent final : public pb::LoadAgent::CallbackService {
 public:
  FakeAgent(FakeAgentOptions options, TickScheduler* scheduler);
  ~FakeAgent() override;

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const pb::StatusRequest* request,
                                      pb::AgentStatus* reply) override;
  grpc::ServerWriteReactor<pb::RunUpdate>* Run(
      grpc::CallbackServerContext* context, const pb::RunSpec* spec) override;
  grpc::ServerUnaryReactor* Stop(grpc::CallbackServerContext* context,
                                 const pb::StopRequest* request,
                                 pb::StopReply* reply) override;

  // Refuses new runs (UNAVAILABLE), asks the active run (if any) to stop
  // with `reason`, and waits until its final update is on its way or
  // `deadline` passed (a controller that reads nothing can hold the last
  // write back; the server's own Shutdown then cancels the call). True when
  // the agent is idle.
  bool Shutdown(const std::string& reason,
                std::chrono::steady_clock::time_point deadline);

  const FakeAgentOptions& options() const { return options_; }
  int64_t runs_started() const { return runs_started_.load(); }
  int64_t updates_sent() const { return updates_sent_.load(); }

 private:
  friend class FakeRun;

  // Called by a run as it ends (before its final update or its Finish):
  // the agent is idle again, and its database holds `rows_added` more rows.
  void RunEnded(const FakeRun* run, int64_t rows_added);
  void CountUpdate() { updates_sent_.fetch_add(1); }

  const FakeAgentOptions options_;
  TickScheduler* const scheduler_;

  sync::Mutex mu_;
  sync::CondVar idle_;
  std::shared_ptr<FakeRun> active_ ABSL_GUARDED_BY(mu_);
  std::string active_run_id_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int64_t rows_in_db_ ABSL_GUARDED_BY(mu_) = 0;  // What earlier runs left.

  std::atomic<int64_t> runs_started_{0};
  std::atomic<int64_t> updates_sent_{0};
};

}  // namespace loadtest::bench

#endif  // LOADTEST_BENCH_FAKE_AGENT_H_
