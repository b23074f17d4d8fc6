// AgentProtocolTest: the LoadAgent protocol (proto/loadtest.proto) as the
// controller relies on it, as one type-parameterized gtest suite, so that the
// real agent (tests/agent/agent_service_test.cc) and the fake agents of the
// measurement fleet (tests/fleet/fake_agent_test.cc) pass the same checks.
//
// A harness type H serves one agent on 127.0.0.1 and provides:
//   void Start();                    // serve; gtest assertions on failure
//   pb::LoadAgent::Stub* stub();     // a client of the agent
//   std::string agent_id() const;    // the id the agent reports
// and stops everything in its destructor. Instantiate with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, AgentProtocolTest,
//                                  ::testing::Types<H>);
// in exactly one .cc file of a test executable.
#ifndef LOADTEST_TESTS_FLEET_AGENT_PROTOCOL_SUITE_H_
#define LOADTEST_TESTS_FLEET_AGENT_PROTOCOL_SUITE_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/run_spec.h"
#include "protocol/wire.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/loadtest.grpc.pb.h"

namespace loadtest::testing {

namespace pb = ::opentrail::loadtest::v1;

template <typename Harness>
class AgentProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_ = std::make_unique<Harness>();
    ASSERT_NO_FATAL_FAILURE(harness_->Start());
    stub_ = harness_->stub();
  }
  void TearDown() override { harness_.reset(); }

  // Two writers and a reader, 100 ms intervals, on "run.db".
  static pb::RunSpec Spec(const std::string& run_id,
                          std::chrono::milliseconds duration) {
    protocol::RunSpec spec;
    spec.run_id = run_id;
    spec.workload.writers = 2;
    spec.workload.readers = 1;
    spec.duration = duration;
    spec.log_interval = std::chrono::milliseconds(100);
    pb::RunSpec wire;
    protocol::ToProto(spec, &wire);
    wire.set_db_name("run.db");
    return wire;
  }

  pb::AgentStatus Status() {
    grpc::ClientContext context;
    pb::AgentStatus status;
    const grpc::Status rpc =
        stub_->GetStatus(&context, pb::StatusRequest(), &status);
    EXPECT_TRUE(rpc.ok()) << rpc.error_message();
    return status;
  }

  // Waits (asking the agent, 60 s at most) until it reports `state`.
  bool WaitForState(pb::AgentStatus::State state) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Status().state() != state) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  grpc::Status StopRun(const std::string& run_id, const std::string& reason) {
    grpc::ClientContext context;
    pb::StopRequest request;
    request.set_run_id(run_id);
    request.set_reason(reason);
    pb::StopReply reply;
    return stub_->Stop(&context, request, &reply);
  }

  // The updates a Run call streams until it ends, and how it ended.
  struct Stream {
    std::vector<pb::RunUpdate> updates;
    grpc::Status status;
  };
  static Stream ReadToEnd(grpc::ClientReader<pb::RunUpdate>* reader) {
    Stream stream;
    pb::RunUpdate update;
    while (reader->Read(&update)) stream.updates.push_back(update);
    stream.status = reader->Finish();
    return stream;
  }

  // Checks what holds for every complete run: numbered 1..n, contiguous
  // interval bounds, one final update (the last) with an audit that adds up
  // to the writes the updates acknowledged, histograms counting exactly the
  // successful requests.
  void ExpectCompleteRun(const Stream& stream, const std::string& run_id) {
    ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
    ASSERT_FALSE(stream.updates.empty());
    int64_t writes = 0, rows_committed = 0;
    for (size_t i = 0; i < stream.updates.size(); ++i) {
      const pb::RunUpdate& u = stream.updates[i];
      SCOPED_TRACE(::testing::Message() << "update " << i + 1);
      EXPECT_EQ(u.agent_id(), harness_->agent_id());
      EXPECT_EQ(u.run_id(), run_id);
      EXPECT_EQ(u.sequence(), static_cast<int64_t>(i + 1));
      EXPECT_EQ(u.final(), i + 1 == stream.updates.size());
      EXPECT_LE(u.start_s(), u.end_s());
      if (i > 0) {
        EXPECT_EQ(u.start_s(), stream.updates[i - 1].end_s());
      }
      const absl::StatusOr<protocol::IntervalUpdate> decoded = protocol::FromProto(u);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(decoded->stats.write_latency.count(),
                static_cast<uint64_t>(u.counters().writes_ok()));
      EXPECT_EQ(decoded->stats.read_latency.count(),
                static_cast<uint64_t>(u.counters().reads_ok()));
      EXPECT_GT(u.queue_size(), 0);
      writes += u.counters().writes_ok();
      rows_committed += u.rows_committed();
    }
    const pb::RunUpdate& last = stream.updates.back();
    ASSERT_TRUE(last.has_audit());
    const pb::Audit& audit = last.audit();
    EXPECT_EQ(audit.acknowledged(), writes);
    EXPECT_EQ(audit.rows_in_db(), writes + audit.late_commits());
    EXPECT_EQ(rows_committed, writes + audit.late_commits());
    EXPECT_EQ(audit.lost(), 0);
    EXPECT_EQ(audit.unexplained(), 0);
    EXPECT_TRUE(audit.integrity_ok());
    EXPECT_EQ(audit.error(), "");
  }

  std::unique_ptr<Harness> harness_;
  pb::LoadAgent::Stub* stub_ = nullptr;
};

TYPED_TEST_SUITE_P(AgentProtocolTest);

TYPED_TEST_P(AgentProtocolTest, ReportsItsIdentityAndIsIdle) {
  const pb::AgentStatus status = this->Status();
  EXPECT_EQ(status.agent_id(), this->harness_->agent_id());
  EXPECT_FALSE(status.version().empty());
  EXPECT_FALSE(status.hostname().empty());
  EXPECT_EQ(status.state(), pb::AgentStatus::IDLE);
  EXPECT_EQ(status.run_id(), "");
}

TYPED_TEST_P(AgentProtocolTest, StreamsNumberedUpdatesThenTheAuditedFinalOne) {
  pb::RunSpec spec = this->Spec("r1", std::chrono::milliseconds(500));
  spec.set_start_after_ns(std::chrono::nanoseconds(std::chrono::milliseconds(50)).count());
  grpc::ClientContext context;
  auto reader = this->stub_->Run(&context, spec);
  const auto stream = this->ReadToEnd(reader.get());
  ASSERT_NO_FATAL_FAILURE(this->ExpectCompleteRun(stream, "r1"));
  EXPECT_GE(stream.updates.size(), 2u);
  EXPECT_GT(stream.updates.back().audit().acknowledged(), 0);
  EXPECT_EQ(stream.updates.back().stop_reason(), "duration reached");
  EXPECT_EQ(this->Status().state(), pb::AgentStatus::IDLE);
}

TYPED_TEST_P(AgentProtocolTest, ASecondRunWhileBusyIsRefusedNamingTheActiveRun) {
  grpc::ClientContext first;
  auto reader = this->stub_->Run(&first, this->Spec("long-run", std::chrono::minutes(10)));
  pb::RunUpdate update;
  ASSERT_TRUE(reader->Read(&update));  // The run is going.
  const pb::AgentStatus status = this->Status();
  EXPECT_EQ(status.state(), pb::AgentStatus::RUNNING);
  EXPECT_EQ(status.run_id(), "long-run");

  grpc::ClientContext second;
  auto refused = this->stub_->Run(&second, this->Spec("other", std::chrono::seconds(1)));
  EXPECT_FALSE(refused->Read(&update));
  const grpc::Status refusal = refused->Finish();
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refusal.error_message(), ::testing::HasSubstr("busy with run long-run"));

  ASSERT_TRUE(this->StopRun("long-run", "test over").ok());
  const auto stream = this->ReadToEnd(reader.get());
  EXPECT_TRUE(stream.status.ok()) << stream.status.error_message();
}

TYPED_TEST_P(AgentProtocolTest, InvalidSpecsAreRefusedWithTheReason) {
  pb::RunSpec spec = this->Spec("bad", std::chrono::seconds(1));
  spec.set_db_name("../../etc/evil.db");
  {
    grpc::ClientContext context;
    auto reader = this->stub_->Run(&context, spec);
    pb::RunUpdate update;
    EXPECT_FALSE(reader->Read(&update));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("plain file name"));
  }
  spec = this->Spec("bad", std::chrono::seconds(1));
  spec.set_writers(-4);
  {
    grpc::ClientContext context;
    auto reader = this->stub_->Run(&context, spec);
    pb::RunUpdate update;
    EXPECT_FALSE(reader->Read(&update));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("writers"));
  }
  spec = this->Spec("bad", std::chrono::seconds(1));
  spec.set_start_after_ns(-1);
  {
    grpc::ClientContext context;
    auto reader = this->stub_->Run(&context, spec);
    pb::RunUpdate update;
    EXPECT_FALSE(reader->Read(&update));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("start_after"));
  }
  EXPECT_EQ(this->Status().state(), pb::AgentStatus::IDLE);
}

TYPED_TEST_P(AgentProtocolTest, StopEndsTheRunWithAFinalUpdateCarryingTheReason) {
  grpc::ClientContext context;
  auto reader = this->stub_->Run(&context, this->Spec("to-stop", std::chrono::minutes(10)));
  pb::RunUpdate first;
  ASSERT_TRUE(reader->Read(&first));
  // Another run's id is not this one.
  EXPECT_EQ(this->StopRun("no-such-run", "").error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(this->StopRun("to-stop", "interrupted by SIGINT").ok());
  auto stream = this->ReadToEnd(reader.get());
  stream.updates.insert(stream.updates.begin(), first);
  ASSERT_NO_FATAL_FAILURE(this->ExpectCompleteRun(stream, "to-stop"));
  EXPECT_EQ(stream.updates.back().stop_reason(), "interrupted by SIGINT");
  EXPECT_EQ(this->Status().state(), pb::AgentStatus::IDLE);
  // Once ended, the run is no longer there to stop.
  EXPECT_EQ(this->StopRun("to-stop", "").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TYPED_TEST_P(AgentProtocolTest, AStopWithoutAReasonSaysTheControllerStoppedIt) {
  grpc::ClientContext context;
  auto reader = this->stub_->Run(&context, this->Spec("quiet", std::chrono::minutes(10)));
  pb::RunUpdate first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(this->StopRun("quiet", "").ok());
  const auto stream = this->ReadToEnd(reader.get());
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  ASSERT_FALSE(stream.updates.empty());
  EXPECT_TRUE(stream.updates.back().final());
  EXPECT_EQ(stream.updates.back().stop_reason(), "stopped by the controller");
}

TYPED_TEST_P(AgentProtocolTest, AVanishedControllerStopsTheRunAndTheAgentTakesTheNext) {
  int64_t abandoned_writes = 0;
  {
    grpc::ClientContext context;
    auto reader = this->stub_->Run(&context, this->Spec("abandoned", std::chrono::minutes(10)));
    pb::RunUpdate update;
    ASSERT_TRUE(reader->Read(&update));  // The run is going.
    abandoned_writes = update.counters().writes_ok();
    context.TryCancel();  // The controller goes away.
    while (reader->Read(&update)) {
    }
    reader->Finish();
  }
  // The agent notices, stops, and is idle for the next run.
  ASSERT_TRUE(this->WaitForState(pb::AgentStatus::IDLE));
  grpc::ClientContext context;
  auto reader = this->stub_->Run(&context, this->Spec("next", std::chrono::milliseconds(300)));
  const auto stream = this->ReadToEnd(reader.get());
  ASSERT_NO_FATAL_FAILURE(this->ExpectCompleteRun(stream, "next"));
  // The abandoned run's rows stay in the database; this run counts only its
  // own.
  EXPECT_GE(stream.updates.back().audit().rows_before(), abandoned_writes);
  EXPECT_GT(stream.updates.back().audit().rows_before(), 0);
}

REGISTER_TYPED_TEST_SUITE_P(AgentProtocolTest, ReportsItsIdentityAndIsIdle,
                            StreamsNumberedUpdatesThenTheAuditedFinalOne,
                            ASecondRunWhileBusyIsRefusedNamingTheActiveRun,
                            InvalidSpecsAreRefusedWithTheReason,
                            StopEndsTheRunWithAFinalUpdateCarryingTheReason,
                            AStopWithoutAReasonSaysTheControllerStoppedIt,
                            AVanishedControllerStopsTheRunAndTheAgentTakesTheNext);

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_FLEET_AGENT_PROTOCOL_SUITE_H_
