// What an agent checks of a wire RunSpec before it accepts the run
// (agent::AcceptRunSpec, the function AgentService::Run calls), in a data
// directory of the test's own.
#include "agent/accept_run.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/wire.h"
#include "tests/agent/test_dir.h"

namespace loadtest::agent {
namespace {

using ::testing::HasSubstr;

protocol::pb::RunSpec Wire(int writers) {
  protocol::RunSpec spec;
  spec.run_id = "r1";
  spec.workload.writers = writers;
  protocol::pb::RunSpec wire;
  protocol::ToProto(spec, &wire);
  wire.set_db_name("run.db");
  return wire;
}

TEST(AcceptRunSpecTest, AcceptsAPlainSpecInsideTheDataDirectory) {
  TestDir dir;
  const absl::StatusOr<protocol::RunSpec> spec =
      AcceptRunSpec(Wire(2), {dir.path(), {}, "a1", true});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->store.path, dir.path() + "/run.db");
  EXPECT_TRUE(spec->store.refuse_symlinks);
  EXPECT_FALSE(AcceptRunSpec(Wire(2), {dir.path(), {}, "a1", false})
                   ->store.refuse_symlinks);
}

TEST(AcceptRunSpecTest, RefusesWhatTheWireFormRefusesWithTheSameStatus) {
  TestDir dir;
  protocol::pb::RunSpec wire = Wire(2);
  wire.set_db_name("../run.db");
  const absl::StatusOr<protocol::RunSpec> spec =
      AcceptRunSpec(wire, {dir.path(), {}, "a1", true});
  EXPECT_EQ(spec.status(), protocol::FromProto(wire, dir.path()).status());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AcceptRunSpecTest, RefusesARunOverItsLimitsNamingTheFlag) {
  TestDir dir;
  protocol::AgentLimits limits;
  limits.max_writers = 4;
  const absl::StatusOr<protocol::RunSpec> spec =
      AcceptRunSpec(Wire(5), {dir.path(), limits, "a1", true});
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("--max-writers"));
  EXPECT_TRUE(AcceptRunSpec(Wire(4), {dir.path(), limits, "a1", true}).ok());
}

TEST(AcceptRunSpecTest, RefusesADatabaseThatIsASymbolicLink) {
  TestDir dir;
  std::filesystem::create_symlink("/tmp/elsewhere.db", dir.path() + "/run.db");
  const absl::StatusOr<protocol::RunSpec> spec =
      AcceptRunSpec(Wire(2), {dir.path(), {}, "a1", true});
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr(dir.path() + "/run.db is a symbolic link"));
}

TEST(AcceptRunSpecTest, RefusesARunOnceTheDataDirectoryHoldsItsLimit) {
  TestDir dir;
  std::ofstream(dir.path() + "/old.db") << std::string(1000, 'x');
  ASSERT_EQ(DataDirBytes(dir.path()), 1000);
  protocol::AgentLimits limits;
  limits.max_db_bytes = 1000;
  const absl::StatusOr<protocol::RunSpec> spec =
      AcceptRunSpec(Wire(2), {dir.path(), limits, "a1", true});
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(spec.status().message(), DataDirOverLimit(1000, 1000));
  limits.max_db_bytes = 1001;
  EXPECT_TRUE(AcceptRunSpec(Wire(2), {dir.path(), limits, "a1", true}).ok());
}

}  // namespace
}  // namespace loadtest::agent
