// The real agent's gRPC service in-process (SQLite in a temp dir, gRPC on
// 127.0.0.1) against the LoadAgent protocol suite, which the fake agents of
// the measurement fleet pass too (tests/fleet/).
#include "agent/agent_service.h"

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protocol/wire.h"
#include "security/auth.h"
#include "security/failed_attempts.h"
#include "tests/agent/test_dir.h"
#include "tests/fleet/agent_protocol_suite.h"

namespace loadtest::agent {
namespace {

namespace pb = protocol::pb;

// A real agent service on 127.0.0.1:<free port> with its /metrics, and a
// client stub.
class RealAgent {
 public:
  ~RealAgent() {
    if (server_ != nullptr) {
      service_->Shutdown("test over");
      server_->Shutdown();
    }
  }

  void Start() {
    auto metrics =
        MetricsServer::Start("127.0.0.1:0", {"agent-1", "test", "host"});
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = std::move(*metrics);
    service_ = std::make_unique<AgentService>(
        AgentIdentity{"agent-1", "test", "host"}, dir_.path(), metrics_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = pb::LoadAgent::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port),
        grpc::InsecureChannelCredentials()));
  }

  pb::LoadAgent::Stub* stub() { return stub_.get(); }
  std::string agent_id() const { return "agent-1"; }

 private:
  TestDir dir_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::LoadAgent::Stub> stub_;
};

}  // namespace
}  // namespace loadtest::agent

namespace loadtest::security {
namespace {

// Issue 17: any host starting with "127." counted as loopback, so
// --listen=127.evil.example:7070 served without credentials or a warning.
TEST(LoopbackHostTest, OnlyLoopbackAddressesAndLocalhostCount) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "127.255.255.254",
                           "::1", "[::1]", "localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"127.evil.example", "127.0.0.1.evil.example", "127.", "1270.0.0.1",
        "0.0.0.0", "::", "[::]", "10.0.0.7", "localhost.evil.example",
        "128.0.0.1", "::2", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

// Issue 30: failed authentication is counted per address, so the address
// is what gRPC's peer string holds without its port.
TEST(PeerHostTest, ThePortAndTheSchemeAreDropped) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.5:51234"), "10.0.0.5");
  EXPECT_EQ(PeerHost("ipv6:[::1]:51234"), "::1");
  EXPECT_EQ(PeerHost("ipv6:[2001:db8::7]:1"), "2001:db8::7");
  EXPECT_EQ(PeerHost("unix:/run/agent.sock"), "unix:/run/agent.sock");
}

// The burst is spent, then the address waits; another address does not.
TEST(FailedAttemptLimiterTest, AnAddressIsHeldOffAfterItsBurst) {
  FailedAttemptLimiter limiter;
  for (int i = 1; i < FailedAttemptLimiter::kBurst; ++i) {
    EXPECT_FALSE(limiter.RecordFailure("10.0.0.5")) << i;
    EXPECT_EQ(limiter.Wait("10.0.0.5"),
              FailedAttemptLimiter::Clock::duration::zero());
  }
  EXPECT_TRUE(limiter.RecordFailure("10.0.0.5"));
  EXPECT_GT(limiter.Wait("10.0.0.5"),
            FailedAttemptLimiter::Clock::duration::zero());
  EXPECT_LE(limiter.Wait("10.0.0.5"), FailedAttemptLimiter::kRefill);
  EXPECT_EQ(limiter.Wait("10.0.0.6"),
            FailedAttemptLimiter::Clock::duration::zero());
}

}  // namespace
}  // namespace loadtest::security

namespace loadtest::testing {

INSTANTIATE_TYPED_TEST_SUITE_P(AgentService, AgentProtocolTest,
                               ::testing::Types<agent::RealAgent>);

}  // namespace loadtest::testing
