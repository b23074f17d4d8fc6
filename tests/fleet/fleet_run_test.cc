// agent_fleet as a real process, and the real `loadtest` controller run
// against it: the functional side of the controller measurement
// (bench/controller_scale). No timing figure is asserted here.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest::testing {
namespace {


using ::testing::HasSubstr;

constexpr std::chrono::seconds kStartDeadline(60);

// The --agents list agent_fleet prints once every agent is serving.
bool IsAgentList(const std::string& line) {
  return line.find(':') != std::string::npos &&
         line.find(' ') == std::string::npos;
}

TEST(AgentFleetTest, FiftyAgentsAreInEveryIntervalOfARealControllerRun) {
  TempDir dir;
  Subprocess fleet({AGENT_FLEET_BIN, "--agents=50",
                    "--agents-file=" + dir.File("agents.txt")});
  std::string error;
  ASSERT_TRUE(fleet.Start(&error)) << error;
  std::string list;
  ASSERT_TRUE(fleet.WaitForLine(IsAgentList, kStartDeadline, &list))
      << fleet.stderr_text();
  const std::vector<std::string> targets = absl::StrSplit(list, ',');
  ASSERT_EQ(targets.size(), 50u);
  EXPECT_EQ(std::set<std::string>(targets.begin(), targets.end()).size(), 50u);
  std::ifstream file(dir.File("agents.txt"));
  std::string file_list;
  std::getline(file, file_list);
  EXPECT_EQ(file_list, list);

  const ProcessResult run = RunAndWait(
      {LOADTEST_BIN, "--agents=" + list, "--duration=3s",
       "--log-interval=500ms", "--out=" + dir.File("run.json")});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;

  const nlohmann::json report = ReadReport(dir.File("run.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  EXPECT_EQ(report["summary"]["partial"], false);
  EXPECT_EQ(report["audit"]["passed"], true);
  EXPECT_EQ(report["summary"]["agents"].size(), 50u);
  const nlohmann::json& intervals = report["intervals"];
  ASSERT_TRUE(intervals.is_array());
  ASSERT_GE(intervals.size(), 2u);
  for (const nlohmann::json& row : intervals) {
    SCOPED_TRACE(::testing::Message() << "interval " << row["sequence"]);
    std::set<std::string> ids;
    for (const nlohmann::json& agent : row["agents"]) {
      ids.insert(agent["agent_id"].get<std::string>());
    }
    EXPECT_EQ(ids.size(), 50u);
    EXPECT_EQ(ids.count("fleet-0001"), 1u);
    EXPECT_EQ(ids.count("fleet-0050"), 1u);
    EXPECT_GT(row["total"]["writes_ok"].get<int64_t>(), 0);
  }

  fleet.SendSignal(SIGTERM);
  EXPECT_EQ(fleet.Wait(), 0) << fleet.stderr_text();
  EXPECT_THAT(fleet.stderr_text(), HasSubstr("50 runs"));
  EXPECT_THAT(fleet.stderr_text(), HasSubstr("of one core"));
}

TEST(AgentFleetTest, AnInterruptedControllerStopsEveryAgentWithItsFinalUpdate) {
  TempDir dir;
  Subprocess fleet({AGENT_FLEET_BIN, "--agents=20"});
  std::string error;
  ASSERT_TRUE(fleet.Start(&error)) << error;
  std::string list;
  ASSERT_TRUE(fleet.WaitForLine(IsAgentList, kStartDeadline, &list))
      << fleet.stderr_text();

  Subprocess controller({LOADTEST_BIN, "--agents=" + list, "--duration=10m",
                         "--log-interval=200ms",
                         "--out=" + dir.File("run.json")});
  ASSERT_TRUE(controller.Start(&error)) << error;
  // The first interval's total line: every agent is running.
  ASSERT_TRUE(controller.WaitForLine("TOTAL", kStartDeadline, nullptr))
      << controller.stdout_text() << controller.stderr_text();
  controller.SendSignal(SIGINT);
  EXPECT_EQ(controller.Wait(), 130) << controller.stderr_text();

  const nlohmann::json report = ReadReport(dir.File("run.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  EXPECT_EQ(report["summary"]["partial"], false);
  EXPECT_EQ(report["audit"]["passed"], true);
  ASSERT_EQ(report["summary"]["agents"].size(), 20u);
  for (const nlohmann::json& agent : report["summary"]["agents"]) {
    EXPECT_EQ(agent["finished"], true);
    EXPECT_THAT(agent["stop_reason"].get<std::string>(),
                HasSubstr("interrupted by SIGINT"));
  }
  fleet.SendSignal(SIGINT);
  EXPECT_EQ(fleet.Wait(), 0) << fleet.stderr_text();
}

TEST(AgentFleetTest, BadFlagsAreRefusedNamingTheFlag) {
  const ProcessResult zero = RunAndWait({AGENT_FLEET_BIN, "--agents=0"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_THAT(zero.stderr_text, HasSubstr("agents must be between 1 and 5000, got 0"));
  const ProcessResult unknown = RunAndWait({AGENT_FLEET_BIN, "--agnets=5"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("--agnets"));
  const ProcessResult help = RunAndWait({AGENT_FLEET_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.stdout_text, HasSubstr("--agents="));
}

}  // namespace
}  // namespace loadtest::testing
