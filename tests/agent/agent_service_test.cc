#include "agent/agent_service.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "agent/wire.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/agent/test_dir.h"

namespace loadtest::agent {
namespace {

using ::testing::HasSubstr;

// A real agent service on 127.0.0.1:<free port>, and a client stub.
class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto metrics = MetricsServer::Start("127.0.0.1:0", {"agent-1", "test", "host"});
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
  void TearDown() override {
    if (server_ != nullptr) {
      service_->Shutdown("test over");
      server_->Shutdown();
    }
  }

  static pb::RunSpec Spec(const std::string& run_id, std::chrono::milliseconds duration) {
    RunSpec spec;
    spec.run_id = run_id;
    spec.workload.writers = 2;
    spec.workload.readers = 1;
    spec.duration = duration;
    spec.log_interval = std::chrono::milliseconds(100);
    pb::RunSpec wire;
    ToProto(spec, &wire);
    wire.set_db_name("run.db");
    return wire;
  }

  pb::AgentStatus Status() {
    grpc::ClientContext context;
    pb::AgentStatus status;
    EXPECT_TRUE(stub_->GetStatus(&context, pb::StatusRequest(), &status).ok());
    return status;
  }

  // Waits (polling the agent, 60 s at most) until it reports `state`.
  bool WaitForState(pb::AgentStatus::State state) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Status().state() != state) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  TestDir dir_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::LoadAgent::Stub> stub_;
};

TEST_F(AgentServiceTest, StreamsIntervalUpdatesThenTheAuditedFinalOne) {
  EXPECT_EQ(Status().agent_id(), "agent-1");
  EXPECT_EQ(Status().state(), pb::AgentStatus::IDLE);
  grpc::ClientContext context;
  auto reader = stub_->Run(&context, Spec("r1", std::chrono::milliseconds(500)));
  std::vector<pb::RunUpdate> updates;
  pb::RunUpdate update;
  while (reader->Read(&update)) updates.push_back(update);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(updates.size(), 2u);
  int64_t writes = 0;
  for (size_t i = 0; i < updates.size(); ++i) {
    EXPECT_EQ(updates[i].agent_id(), "agent-1");
    EXPECT_EQ(updates[i].run_id(), "r1");
    EXPECT_EQ(updates[i].sequence(), static_cast<int64_t>(i + 1));
    writes += updates[i].counters().writes_ok();
  }
  const pb::RunUpdate& last = updates.back();
  EXPECT_TRUE(last.final());
  ASSERT_TRUE(last.has_audit());
  EXPECT_EQ(last.audit().acknowledged(), writes);
  EXPECT_EQ(last.audit().rows_in_db(), writes + last.audit().late_commits());
  EXPECT_TRUE(last.audit().integrity_ok());
  EXPECT_EQ(Status().state(), pb::AgentStatus::IDLE);
}

TEST_F(AgentServiceTest, ASecondRunWhileBusyIsRefusedNamingTheActiveRun) {
  grpc::ClientContext first;
  auto reader = stub_->Run(&first, Spec("long-run", std::chrono::minutes(10)));
  ASSERT_TRUE(WaitForState(pb::AgentStatus::RUNNING));
  EXPECT_EQ(Status().run_id(), "long-run");
  grpc::ClientContext second;
  auto refused = stub_->Run(&second, Spec("other", std::chrono::seconds(1)));
  pb::RunUpdate update;
  EXPECT_FALSE(refused->Read(&update));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("busy with run long-run"));
  first.TryCancel();
  while (reader->Read(&update)) {
  }
  reader->Finish();
}

TEST_F(AgentServiceTest, InvalidSpecsAreRefusedWithTheReason) {
  pb::RunSpec spec = Spec("bad", std::chrono::seconds(1));
  spec.set_db_name("../../etc/evil.db");
  grpc::ClientContext context;
  auto reader = stub_->Run(&context, spec);
  pb::RunUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("plain file name"));

  spec = Spec("bad", std::chrono::seconds(1));
  spec.set_writers(-4);
  grpc::ClientContext context2;
  reader = stub_->Run(&context2, spec);
  EXPECT_FALSE(reader->Read(&update));
  status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("writers"));
}

TEST_F(AgentServiceTest, AVanishedControllerStopsTheRunAndTheAgentTakesTheNext) {
  {
    grpc::ClientContext context;
    auto reader = stub_->Run(&context, Spec("abandoned", std::chrono::minutes(10)));
    pb::RunUpdate update;
    ASSERT_TRUE(reader->Read(&update));  // The run is going.
    context.TryCancel();                  // The controller goes away.
    while (reader->Read(&update)) {
    }
    reader->Finish();
  }
  // Within a log interval the agent notices, stops, audits, and is idle.
  ASSERT_TRUE(WaitForState(pb::AgentStatus::IDLE));
  grpc::ClientContext context;
  auto reader = stub_->Run(&context, Spec("next", std::chrono::milliseconds(300)));
  pb::RunUpdate update, last;
  while (reader->Read(&update)) last = update;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(last.final());
  EXPECT_EQ(last.run_id(), "next");
  // The abandoned run's rows are in the database and this run counted only
  // its own.
  EXPECT_GT(last.audit().rows_before(), 0);
  EXPECT_EQ(last.audit().lost(), 0);
}

TEST_F(AgentServiceTest, StopEndsTheRunWithAFinalUpdateCarryingTheReason) {
  grpc::ClientContext context;
  auto reader = stub_->Run(&context, Spec("to-stop", std::chrono::minutes(10)));
  pb::RunUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  {
    grpc::ClientContext stop_context;
    pb::StopRequest request;
    request.set_run_id("to-stop");
    request.set_reason("interrupted by SIGINT");
    pb::StopReply reply;
    ASSERT_TRUE(stub_->Stop(&stop_context, request, &reply).ok());
  }
  pb::RunUpdate last;
  while (reader->Read(&update)) last = update;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(last.final());
  EXPECT_EQ(last.stop_reason(), "interrupted by SIGINT");
  EXPECT_TRUE(last.audit().integrity_ok());
  EXPECT_EQ(last.audit().lost(), 0);

  grpc::ClientContext stop_context;
  pb::StopRequest request;
  request.set_run_id("no-such-run");
  pb::StopReply reply;
  EXPECT_EQ(stub_->Stop(&stop_context, request, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace loadtest::agent
