// End-to-end tests of the `loadtest-agent` binary as a process: start-up
// errors, the health check, /metrics, and a SIGTERM in the middle of a run
// streamed to a real gRPC client.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/loadtest.grpc.pb.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::HttpGet;
using ::loadtest::testing::ListeningSocket;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::SmallRunSpec;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using ::testing::HasSubstr;
namespace pb = ::opentrail::loadtest::v1;

TEST(AgentProcessTest, AnswersTheHealthCheckAndExitsZeroOnSigterm) {
  TempDir dir;
  AgentProcess agent(dir.path(), "health-1");
  ASSERT_TRUE(agent.Start());
  auto healthy = RunAndWait({LOADTEST_AGENT_BIN, "--healthcheck=" + agent.address()});
  EXPECT_EQ(healthy.exit_code, 0) << healthy.stderr_text;
  EXPECT_THAT(healthy.stdout_text, HasSubstr("health-1"));
  EXPECT_THAT(healthy.stdout_text, HasSubstr("idle"));
  agent.process().SendSignal(SIGTERM);
  EXPECT_EQ(agent.process().Wait(), 0) << agent.process().stderr_text();
  auto gone = RunAndWait({LOADTEST_AGENT_BIN, "--healthcheck=" + agent.address()});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.stderr_text, HasSubstr("is not healthy"));
}

// The release build links tcmalloc (LOADTEST_TCMALLOC), and the agent says
// what it runs on: a linker that dropped the library would show here.
TEST(AgentProcessTest, TheStartLineNamesTheAllocatorTheBuildLinked) {
  TempDir dir;
  AgentProcess agent(dir.path(), "malloc-1");
  ASSERT_TRUE(agent.Start());
  EXPECT_THAT(agent.process().stdout_text(),
              HasSubstr(std::string(", allocator ") +
                        LOADTEST_EXPECTED_ALLOCATOR + "): listening on "));
}

// Issue 30, item 16: `--healthcheck=` started serving, so a probe that lost
// its address ran an agent (on the default port) instead of failing.
TEST(AgentProcessTest, AnEmptyHealthcheckIsRefusedNotServed) {
  TempDir dir;
  auto result = RunAndWait({LOADTEST_AGENT_BIN, "--healthcheck=",
                            "--listen=127.0.0.1:0", "--metrics-port=0",
                            "--data-dir=" + dir.path()});
  EXPECT_EQ(result.exit_code, 1) << result.stderr_text;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("--healthcheck needs the agent's address"));
  EXPECT_THAT(result.stderr_text, ::testing::Not(HasSubstr("listening on")));
}

TEST(AgentProcessTest, RefusesAPortInUse) {
  TempDir dir;
  const ListeningSocket taken;
  ASSERT_NE(taken.port(), 0);
  auto result = RunAndWait({LOADTEST_AGENT_BIN,
                            "--listen=127.0.0.1:" + std::to_string(taken.port()),
                            "--metrics-port=0", "--data-dir=" + dir.path()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("cannot listen on 127.0.0.1:" +
                                            std::to_string(taken.port())));
  auto metrics = RunAndWait({LOADTEST_AGENT_BIN, "--listen=127.0.0.1:0",
                             "--metrics-port=" + std::to_string(taken.port()),
                             "--data-dir=" + dir.path()});
  EXPECT_EQ(metrics.exit_code, 1);
  EXPECT_THAT(metrics.stderr_text, HasSubstr("cannot serve /metrics"));
}

TEST(AgentProcessTest, RefusesADataDirectoryItCannotWrite) {
  TempDir dir;
  const std::string not_a_dir = dir.File("plain-file");
  WriteFile(not_a_dir, "x");
  auto result = RunAndWait({LOADTEST_AGENT_BIN, "--listen=127.0.0.1:0",
                            "--metrics-port=0", "--data-dir=" + not_a_dir});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr(not_a_dir));
}

TEST(AgentProcessTest, ServesItsOwnMetricsWithItsIdentity) {
  TempDir dir;
  AgentProcess agent(dir.path(), "metrics-1");
  ASSERT_TRUE(agent.Start());
  const auto response = HttpGet(agent.metrics_port(), "/metrics");
  ASSERT_TRUE(response.error.empty()) << response.error;
  EXPECT_THAT(response.body, HasSubstr("opentrail_agent_info{"));
  EXPECT_THAT(response.body, HasSubstr("agent_id=\"metrics-1\""));
  EXPECT_THAT(response.body, HasSubstr("opentrail_agent_run_active 0"));
  EXPECT_THAT(response.body, HasSubstr("opentrail_storage_write_requests_total"));
  agent.process().SendSignal(SIGTERM);
  EXPECT_EQ(agent.process().Wait(), 0);
}

TEST(AgentProcessTest, SigtermDuringARunDrainsSendsTheFinalUpdateAndExitsZero) {
  TempDir dir;
  AgentProcess agent(dir.path(), "term-1");
  ASSERT_TRUE(agent.Start());
  auto stub = pb::LoadAgent::NewStub(
      grpc::CreateChannel(agent.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto reader = stub->Run(&context, SmallRunSpec("term-run", std::chrono::seconds(600)));
  pb::RunUpdate update;
  ASSERT_TRUE(reader->Read(&update));  // The run is under way.
  agent.process().SendSignal(SIGTERM);
  pb::RunUpdate last = update;
  int64_t writes = update.counters().writes_ok();
  while (reader->Read(&update)) {
    last = update;
    writes += update.counters().writes_ok();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(last.final());
  EXPECT_THAT(last.stop_reason(), HasSubstr("SIGTERM"));
  ASSERT_TRUE(last.has_audit());
  EXPECT_EQ(last.audit().lost(), 0);
  EXPECT_EQ(last.audit().acknowledged(), writes);
  EXPECT_TRUE(last.audit().integrity_ok());
  EXPECT_EQ(agent.process().Wait(), 0) << agent.process().stderr_text();
  EXPECT_EQ(CountLogRows(dir.File("agent.db")), last.audit().rows_in_db());
}

}  // namespace
}  // namespace loadtest
