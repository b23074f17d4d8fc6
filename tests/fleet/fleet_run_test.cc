// agent_fleet as a real process, and the real `loadtest` controller run
// against it: the functional side of the controller measurement
// (bench/controller_scale). No timing figure is asserted here.
#include <signal.h>

#include <chrono>
#include <cstdlib>
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

// Starts `fleet` and returns the --agents list it prints once every agent
// is serving; "" (with the failure recorded) when it does not come up.
std::string StartFleet(Subprocess* fleet) {
  std::string error;
  if (!fleet->Start(&error)) {
    ADD_FAILURE() << error;
    return "";
  }
  std::string list;
  if (!fleet->WaitForLine(IsAgentList, kStartDeadline, &list)) {
    ADD_FAILURE() << fleet->stderr_text();
    return "";
  }
  return list;
}

TEST(AgentFleetTest, FiftyAgentsAreInEveryIntervalOfARealControllerRun) {
  TempDir dir;
  Subprocess fleet({AGENT_FLEET_BIN, "--agents=50",
                    "--agents-file=" + dir.File("agents.txt")});
  const std::string list = StartFleet(&fleet);
  ASSERT_FALSE(list.empty());
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
  const std::string list = StartFleet(&fleet);
  ASSERT_FALSE(list.empty());

  Subprocess controller({LOADTEST_BIN, "--agents=" + list, "--duration=10m",
                         "--log-interval=200ms",
                         "--out=" + dir.File("run.json")});
  std::string error;
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

// The deterministic test of find-max: ten fake agents whose simulated
// stores serve exactly 3000 writes/s each. The search must answer within
// 10% of 30,000 writes/s, limited by the SLO or the throughput, and report
// every step it ran in JSON and CSV.
TEST(AgentFleetTest, FindMaxFindsTheFleetsCapacityWithinTenPercent) {
  TempDir dir;
  Subprocess fleet({AGENT_FLEET_BIN, "--agents=10", "--capacity=3000"});
  const std::string list = StartFleet(&fleet);
  ASSERT_FALSE(list.empty());

  const ProcessResult run = RunAndWait(
      {LOADTEST_BIN, "find-max", "--agents=" + list, "--slo=write_p99<100ms",
       "--start-rate=4000", "--step-duration=2s", "--warmup=500ms",
       "--log-interval=250ms", "--start-delay=100ms", "--writers=20",
       "--readers=0", "--out=" + dir.File("max.json"),
       "--csv=" + dir.File("max"), "--html=" + dir.File("max.html")});
  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("max sustainable rate"));

  const nlohmann::json report = ReadReport(dir.File("max.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  const nlohmann::json& find_max = report["find_max"];
  ASSERT_TRUE(find_max["max_rate"].is_number()) << find_max.dump(2);
  const double max_rate = find_max["max_rate"].get<double>();
  EXPECT_GE(max_rate, 27000) << find_max.dump(2);
  EXPECT_LE(max_rate, 33000) << find_max.dump(2);
  const std::string limited_by = find_max["limited_by"];
  EXPECT_TRUE(limited_by == "slo" || limited_by == "throughput")
      << limited_by;
  // The saturation runs before and after the search (a closed loop of 100
  // writers per agent) meet the same capacity: 10 agents x 3000/s.
  const nlohmann::json& saturation = find_max["saturation"];
  ASSERT_TRUE(saturation.is_object()) << find_max.dump(2);
  for (const char* when : {"before_writes_per_s", "after_writes_per_s"}) {
    EXPECT_GE(saturation[when].get<double>(), 27000) << when;
    EXPECT_LE(saturation[when].get<double>(), 33000) << when;
  }
  EXPECT_NEAR(saturation["max_rate_share"].get<double>(), 1.0, 0.15);
  EXPECT_THAT(run.stdout_text, HasSubstr("the store saturated after the "
                                         "search: "));
  const nlohmann::json& steps = find_max["steps"];
  ASSERT_GE(steps.size(), 4u);
  bool passed_any = false;
  bool failed_any = false;
  for (const nlohmann::json& step : steps) {
    const double offered = step["offered_rate"].get<double>();
    const double achieved = step["achieved_rate"].get<double>();
    if (step["passed"].get<bool>()) {
      passed_any = true;
      EXPECT_LE(offered, max_rate);
      // Below capacity every offered write is served.
      EXPECT_GE(achieved, 0.95 * offered) << step.dump();
    } else {
      failed_any = true;
      EXPECT_GT(offered, max_rate);
    }
  }
  EXPECT_TRUE(passed_any);
  EXPECT_TRUE(failed_any);
  EXPECT_EQ(report["run"]["agents"], 10);
  EXPECT_TRUE(report["run"]["seed"].is_number());
  EXPECT_EQ(report["run"]["fingerprint"].get<std::string>().size(), 16u);

  std::ifstream csv(dir.File("max_find_max.csv"));
  std::string line;
  size_t rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, steps.size() + 1);
  // The HTML page, in a real browser with no network: the chart draws its
  // three lines.
  const std::string chromium = FindProgram("chromium");
  if (chromium.empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << "chromium is not installed";
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh test "
                    "installs it); the HTML page was not opened";
  }
  const ProcessResult browser = RunAndWait(
      {FindProgram("python3"), LOADTEST_CHECK_REPORT, dir.File("max.html"),
       "--screenshot=" + dir.File("max.png"), "--chromium=" + chromium});
  ASSERT_EQ(browser.exit_code, 0) << browser.stdout_text << browser.stderr_text;
  const nlohmann::json page =
      nlohmann::json::parse(browser.stdout_text, nullptr, false);
  ASSERT_TRUE(page.is_object()) << browser.stdout_text;
  EXPECT_TRUE(page["console_errors"].empty()) << page["console_errors"];
  EXPECT_TRUE(page["network_requests"].empty()) << page["network_requests"];
  EXPECT_THAT(page["verdict"].get<std::string>(),
              HasSubstr("max sustainable rate"));
  ASSERT_EQ(page["charts"].size(), 1u) << page["charts"];
  EXPECT_EQ(page["charts"][0]["name"], "find-max");
  EXPECT_EQ(page["charts"][0]["series"], 3);
  EXPECT_EQ(page["charts"][0]["drawn"], 3);

  fleet.SendSignal(SIGTERM);
  EXPECT_EQ(fleet.Wait(), 0) << fleet.stderr_text();
}

// --stages across agents: the targets are totals split evenly, so ten
// agents each offer a tenth and the interval totals follow the whole ramp.
TEST(AgentFleetTest, StagesAreSplitAcrossTheAgentsAndTheTotalsFollowTheRamp) {
  TempDir dir;
  Subprocess fleet({AGENT_FLEET_BIN, "--agents=10"});
  const std::string list = StartFleet(&fleet);
  ASSERT_FALSE(list.empty());
  const ProcessResult run = RunAndWait(
      {LOADTEST_BIN, "--agents=" + list, "--stages=1s:2000,1s:2000",
       "--writers=4", "--readers=0", "--log-interval=500ms",
       "--start-delay=100ms", "--out=" + dir.File("ramp.json")});
  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text,
              HasSubstr("writes ramped 1s:2000,1s:2000 per second in total, "
                        "split across 10 agents"));
  const nlohmann::json report = ReadReport(dir.File("ramp.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  double offered = 0;
  for (const nlohmann::json& row : report["intervals"]) {
    offered += row["total"]["offered_write_rate"].get<double>() *
               row["total"]["seconds"].get<double>();
  }
  // 0 to 2000/s over a second, then 2000/s: 1000 + 2000 writes in all.
  EXPECT_NEAR(offered, 3000, 60);
  for (const nlohmann::json& agent : report["summary"]["agents"]) {
    const double agent_offered = agent["offered_write_rate"].get<double>() *
                                 agent["seconds"].get<double>();
    EXPECT_NEAR(agent_offered, 300, 10) << agent["agent_id"];
  }
  fleet.SendSignal(SIGTERM);
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
