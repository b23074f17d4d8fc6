// The fake agents of the measurement fleet (bench/fake_agent.h) against the
// LoadAgent protocol suite the real agent passes, plus what the controller's
// measurement relies on: figures shaped like a real run.
#include "bench/fake_agent.h"

#include <chrono>
#include <memory>
#include <string>

#include "protocol/wire.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/fleet/agent_protocol_suite.h"

namespace loadtest::bench {
namespace {

// One fake agent on 127.0.0.1:<free port>, served as agent_fleet serves
// each of its agents, and a client stub.
class FakeAgentHarness {
 public:
  ~FakeAgentHarness() {
    if (server_ != nullptr) {
      agent_->Shutdown("test over", std::chrono::steady_clock::now() +
                                        std::chrono::seconds(10));
      server_->Shutdown();
    }
  }

  void Start() {
    FakeAgentOptions options;
    options.identity = {"fleet-0001", "test", "host"};
    agent_ = std::make_unique<FakeAgent>(options, &scheduler_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(agent_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::LoadAgent::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port),
        grpc::InsecureChannelCredentials()));
  }

  pb::LoadAgent::Stub* stub() { return stub_.get(); }
  std::string agent_id() const { return "fleet-0001"; }

 private:
  TickScheduler scheduler_;  // Outlives the agent and the server.
  std::unique_ptr<FakeAgent> agent_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::LoadAgent::Stub> stub_;
};

protocol::RunSpec ClosedLoopSpec() {
  protocol::RunSpec spec;
  spec.run_id = "r";
  spec.workload.writers = 10;
  spec.workload.readers = 5;
  return spec;
}

TEST(UpdateSynthesizerTest, HistogramsCountExactlyTheSuccessfulRequests) {
  UpdateSynthesizer synthesizer(ClosedLoopSpec(), 7, /*samples=*/500);
  for (int i = 0; i < 5; ++i) {
    const protocol::IntervalUpdate u = synthesizer.Next(1.0);
    EXPECT_GT(u.stats.counters.writes_ok, 500);  // More than the samples.
    EXPECT_EQ(u.stats.write_latency.count(),
              static_cast<uint64_t>(u.stats.counters.writes_ok));
    EXPECT_EQ(u.stats.read_latency.count(),
              static_cast<uint64_t>(u.stats.counters.reads_ok));
    EXPECT_EQ(u.rows_committed, u.stats.counters.writes_ok);
    EXPECT_GT(u.batches, 0);
    EXPECT_LE(u.peak_queue_depth, u.queue_size);
  }
}

TEST(UpdateSynthesizerTest, LatenciesLookLikeAHealthyStore) {
  UpdateSynthesizer synthesizer(ClosedLoopSpec(), 7, /*samples=*/2000);
  const protocol::IntervalUpdate u = synthesizer.Next(1.0);
  const stats::LatencyHistogram& w = u.stats.write_latency;
  // Milliseconds, a tail above the median, and sparse histograms with many
  // buckets (what the controller merges) rather than a handful.
  EXPECT_GT(w.Quantile(0.5), 1'000'000);
  EXPECT_LT(w.Quantile(0.5), 10'000'000);
  EXPECT_GT(w.Quantile(0.99), 2 * w.Quantile(0.5));
  EXPECT_GT(w.ToSparse().size(), 100u);
}

TEST(UpdateSynthesizerTest, OpenLoopRunsAtTheGivenRate) {
  protocol::RunSpec spec = ClosedLoopSpec();
  spec.workload.write_rate = 1000;
  spec.workload.read_rate = 0;
  UpdateSynthesizer synthesizer(spec, 3, 100);
  const protocol::IntervalUpdate u = synthesizer.Next(2.0);
  // 2 s at 1000/s, give or take the agent's own spread and the noise.
  EXPECT_GT(u.stats.counters.writes_ok, 1500);
  EXPECT_LT(u.stats.counters.writes_ok, 2500);
}

TEST(UpdateSynthesizerTest, NoTimeNoRequests) {
  UpdateSynthesizer synthesizer(ClosedLoopSpec(), 1, 100);
  const protocol::IntervalUpdate u = synthesizer.Next(0);
  EXPECT_EQ(u.stats.counters.writes_ok, 0);
  EXPECT_EQ(u.stats.write_latency.count(), 0u);
  EXPECT_EQ(u.batches, 0);
}

}  // namespace
}  // namespace loadtest::bench

namespace loadtest::testing {

INSTANTIATE_TYPED_TEST_SUITE_P(FakeAgent, AgentProtocolTest,
                               ::testing::Types<bench::FakeAgentHarness>);

}  // namespace loadtest::testing
