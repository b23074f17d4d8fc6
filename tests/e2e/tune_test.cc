// End-to-end tests of `loadtest tune`: bad sweeps refused before anything
// runs; against fake agents whose store serves a known rate per row of the
// batch size (agent_fleet --capacity-per-batch-row), tune names the best
// batch size and calls equal settings a tie; Ctrl-C still writes what was
// measured; an in-process sweep measures bytes per row and removes its
// scratch databases; a fixed-rate sweep judges the write p99 per tier.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::Describe;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::chrono::seconds kStartDeadline(60);

// ---------------------------------------------------------------------------
// Bad sweeps: refused before anything runs.

struct BadTuneCase {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> mentions;  // The message names each of these.
};

void PrintTo(const BadTuneCase& c, std::ostream* os) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    *os << (i == 0 ? "" : " ") << c.args[i];
  }
}

class TuneBadFlagTest : public ::testing::TestWithParam<BadTuneCase> {
 protected:
  TempDir dir_;
};

TEST_P(TuneBadFlagTest, ExitsOneWithAOneLineMessageAndRunsNothing) {
  const BadTuneCase& c = GetParam();
  std::vector<std::string> argv = {
      LOADTEST_BIN, "tune", "-db=" + dir_.File("logs.db"),
      "--work-dir=" + dir_.File("work"), "--metrics-port=0"};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  const ProcessResult r = RunAndWait(argv);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.stderr_text, StartsWith("loadtest tune: "));
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1)
      << "not one line: " << r.stderr_text;
  for (const std::string& word : c.mentions) {
    EXPECT_THAT(r.stderr_text, HasSubstr(word));
  }
  EXPECT_EQ(r.stdout_text, "") << "something ran";
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()))
      << "left files in " << dir_.path();
}

INSTANTIATE_TEST_SUITE_P(
    EachBadSweep, TuneBadFlagTest,
    ::testing::Values(
        BadTuneCase{"NoValues",
                    {"--vary=batch-size"},
                    {"--vary=batch-size", "KNOB:VALUE"}},
        BadTuneCase{
            "UnknownKnob",
            {"--vary=batch-sise:100,200"},
            {"--vary=batch-sise:100,200", "unknown knob", "batch-sise"}},
        BadTuneCase{"DuplicateKnob",
                    {"--vary=batch-size:100,200", "--vary=batch-size:400"},
                    {"--vary=batch-size:400", "varied twice"}},
        BadTuneCase{"EmptySweep",
                    {"--vary=batch-size:"},
                    {"--vary=batch-size:", "the sweep would be empty"}},
        BadTuneCase{"EmptyValue",
                    {"--vary=batch-size:100,,200"},
                    {"--vary=batch-size:100,,200", "empty value"}},
        BadTuneCase{"RepeatedValue",
                    {"--vary=batch-size:100,100"},
                    {"--vary=batch-size:100,100", "given twice"}},
        BadTuneCase{"NotAnInteger",
                    {"--vary=batch-size:100,abc"},
                    {"--vary=batch-size:abc", "not an integer"}},
        BadTuneCase{"UnknownFtsSync",
                    {"--vary=fts-sync:trigger,sometimes"},
                    {"--vary=fts-sync:sometimes", "sometimes"}},
        BadTuneCase{"SameSettingTwice",
                    {"--vary=batch-timeout:10ms,10000us"},
                    {"--vary", "same setting"}},
        BadTuneCase{"KnobAlsoGiven",
                    {"--batch-size=50", "--vary=batch-size:100,200"},
                    {"--batch-size", "varied by --vary=batch-size"}},
        BadTuneCase{"BudgetBelowOneStep",
                    {"--budget=5s"},
                    {"--budget=5s", "too small for one find-max step"}},
        BadTuneCase{"BudgetFitsNoRun",
                    {"--budget=1m"},
                    {"--budget=1m0s", "fits no whole run"}},
        BadTuneCase{"ZeroRepeats", {"--repeats=0"}, {"--repeats", "got 0"}},
        BadTuneCase{"SloWithFixedRate",
                    {"--write-rate=100", "--slo=write_p99<10ms"},
                    {"--slo", "--write-rate"}},
        BadTuneCase{"DurationWithFindMax",
                    {"--duration=10s"},
                    {"--duration", "does not apply"}}),
    [](const ::testing::TestParamInfo<BadTuneCase>& info) {
      return info.param.name;
    });

TEST(TuneTest, HelpExplainsTheSweep) {
  const ProcessResult r = RunAndWait({LOADTEST_BIN, "tune", "--help"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  for (const char* word :
       {"--vary", "--repeats", "--budget", "--work-dir", "batch-size:100,400",
        "fts-sync:trigger,batch", "ties", "--slo", "--min-effect"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(word));
  }
}

// ---------------------------------------------------------------------------
// Against fake agents of known capacity.

#ifdef AGENT_FLEET_BIN

bool IsAgentList(const std::string& line) {
  return line.find(':') != std::string::npos &&
         line.find(' ') == std::string::npos;
}

// One fake agent whose store serves 25 writes/s per row of the run's batch
// size: 1250/s at -batch-size=50, 2500/s at 100, 5000/s at 200.
class TuneFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(fleet_.Start(&error)) << error;
    ASSERT_TRUE(fleet_.WaitForLine(IsAgentList, kStartDeadline, &agents_))
        << fleet_.stderr_text();
  }
  void TearDown() override {
    fleet_.SendSignal(SIGTERM);
    EXPECT_EQ(fleet_.Wait(), 0) << fleet_.stderr_text();
  }

  // tune with short find-max searches: from 1000/s, doubling, then
  // bisecting to within 50%, so every rate tried is at least 20% from a
  // capacity and every verdict is certain: the max rates are exactly
  // 1000, 2000 and 4000 writes/s.
  std::vector<std::string> Tune(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {LOADTEST_BIN,
                                     "tune",
                                     "--agents=" + agents_,
                                     "--slo=write_p99<100ms",
                                     "--start-rate=1000",
                                     "--precision=50%",
                                     "--step-duration=2s",
                                     "--warmup=500ms",
                                     "--log-interval=250ms",
                                     "--start-delay=100ms",
                                     "--writers=4",
                                     "--readers=0",
                                     "--budget=10m",
                                     "--work-dir=" + dir_.File("work"),
                                     "--out=" + dir_.File("tune.json")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  TempDir dir_;
  Subprocess fleet_{
      {AGENT_FLEET_BIN, "--agents=1", "--capacity-per-batch-row=25"}};
  std::string agents_;
};

const json& Config(const json& report, const std::string& name) {
  for (const json& c : report["tune"]["configs"]) {
    if (c["name"] == name) return c;
  }
  static const json kNone;
  ADD_FAILURE() << "no configuration " << name;
  return kNone;
}

TEST_F(TuneFleetTest, NamesTheBatchSizeWithTheMostCapacity) {
  const ProcessResult r = RunAndWait(
      Tune({"--vary=batch-size:50,100,200", "--csv=" + dir_.File("tune"),
            "--html=" + dir_.File("tune.html")}));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("tune: run 6 of 6"));
  // Each run's find-max steps, echoed as they end.
  EXPECT_THAT(r.stdout_text, HasSubstr("tune:     step   offered/s"));
  EXPECT_THAT(r.stdout_text, HasSubstr("tune:     1 "));
  EXPECT_THAT(r.stdout_text, HasSubstr("best at sync=normal"));
  EXPECT_THAT(r.stdout_text,
              HasSubstr("flags: --batch-size=200 --sync=normal"));

  const json report = ReadReport(dir_.File("tune.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  const json& tune = report["tune"];
  // batch-size 100 is the defaults: no extra configuration, but first.
  ASSERT_EQ(tune["configs"].size(), 3u) << tune.dump(2);
  EXPECT_EQ(tune["runs_done"], 6);
  const double expected[] = {2000, 1000, 4000};
  for (int i = 0; i < 3; ++i) {
    const json& c = tune["configs"][i];
    SCOPED_TRACE(c.dump());
    EXPECT_EQ(c["runs"].size(), 2u);
    EXPECT_EQ(c["rate"]["mean"].get<double>(), expected[i]);
    EXPECT_EQ(c["rate"]["sd"].get<double>(), 0);
    EXPECT_TRUE(c["write_p99_ms"]["mean"].is_number());
    // find-max's step databases are gone when it ends.
    EXPECT_TRUE(c["bytes_per_row"].is_null());
    EXPECT_EQ(c["sync"], "normal");
  }
  EXPECT_EQ(Config(report, "c1")["defaults"], true);
  EXPECT_EQ(Config(report, "c1")["settings"], json({{"batch-size", "100"}}));
  EXPECT_EQ(Config(report, "c1")["verdict"], "worse");
  EXPECT_EQ(Config(report, "c2")["verdict"], "worse");
  EXPECT_EQ(Config(report, "c3")["verdict"], "best");
  ASSERT_EQ(tune["best"].size(), 1u);
  const json& best = tune["best"][0];
  EXPECT_EQ(best["config"], "c3");
  EXPECT_EQ(best["flags"], json({"--batch-size=200", "--sync=normal"}));
  EXPECT_TRUE(best["ties"].empty());
  EXPECT_EQ(best["defaults"], "c1");
  EXPECT_EQ(best["over_defaults"]["verdict"], "improved");
  EXPECT_EQ(best["over_defaults"]["change_percent"].get<double>(), 100);
  EXPECT_THAT(best["statement"].get<std::string>(),
              HasSubstr("better beyond the noise"));

  std::ifstream csv(dir_.File("tune_tune.csv"));
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(csv, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], StartsWith("config,defaults,flags,sync"));
  EXPECT_THAT(lines[3], StartsWith("c3,false,--batch-size=200,normal"));

  const std::string chromium = FindProgram("chromium");
  if (chromium.empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << "chromium is not installed";
    GTEST_SKIP() << "chromium is not installed; the HTML page was not opened";
  }
  const ProcessResult browser = RunAndWait(
      {FindProgram("python3"), LOADTEST_CHECK_REPORT, dir_.File("tune.html"),
       "--screenshot=" + dir_.File("tune.png"), "--chromium=" + chromium});
  ASSERT_EQ(browser.exit_code, 0) << Describe(browser);
  const json page = json::parse(browser.stdout_text, nullptr, false);
  ASSERT_TRUE(page.is_object()) << browser.stdout_text;
  EXPECT_TRUE(page["console_errors"].empty()) << page["console_errors"];
  EXPECT_TRUE(page["network_requests"].empty()) << page["network_requests"];
  EXPECT_THAT(page["verdict"].get<std::string>(),
              HasSubstr("best: c3 batch-size=200"));
  ASSERT_EQ(page["charts"].size(), 1u) << page["charts"];
  EXPECT_EQ(page["charts"][0]["name"], "tune");
  EXPECT_EQ(page["charts"][0]["series"], 3);
  EXPECT_EQ(page["charts"][0]["drawn"], 3);
}

TEST_F(TuneFleetTest, SettingsOfEqualCapacityAreATieNotALoser) {
  const ProcessResult r =
      RunAndWait(Tune({"--vary=batch-policy:group,linger"}));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("ties (within the noise): c2"));
  const json report = ReadReport(dir_.File("tune.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  ASSERT_EQ(report["tune"]["configs"].size(), 2u);
  for (const json& c : report["tune"]["configs"]) {
    EXPECT_EQ(c["rate"]["mean"].get<double>(), 2000) << c.dump();
  }
  EXPECT_EQ(Config(report, "c1")["verdict"], "best");
  EXPECT_EQ(Config(report, "c2")["verdict"], "tie");
  EXPECT_EQ(Config(report, "c2")["against_best"]["verdict"], "no change");
  const json& best = report["tune"]["best"][0];
  EXPECT_EQ(best["ties"], json({"c2"}));
  EXPECT_THAT(best["statement"].get<std::string>(),
              HasSubstr("the defaults are the best"));
}

TEST_F(TuneFleetTest, CtrlCMidSweepStillWritesWhatWasMeasured) {
  Subprocess tune(Tune({"--vary=batch-policy:group,linger"}));
  std::string error;
  ASSERT_TRUE(tune.Start(&error)) << error;
  // The first run is done: its figures are in.
  ASSERT_TRUE(tune.WaitForLine("tune:   exit 0", kStartDeadline, nullptr))
      << tune.stdout_text() << tune.stderr_text();
  tune.SendSignal(SIGINT);
  EXPECT_EQ(tune.Wait(), 130) << tune.stdout_text() << tune.stderr_text();
  const json report = ReadReport(dir_.File("tune.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  const json& t = report["tune"];
  EXPECT_EQ(t["interrupted"], true);
  EXPECT_THAT(t["stopped_because"].get<std::string>(),
              HasSubstr("interrupted by signal 2"));
  EXPECT_EQ(t["runs_done"], 1);
  EXPECT_EQ(t["configs"][0]["runs"].size(), 1u);
  EXPECT_EQ(t["configs"][0]["rate"]["mean"].get<double>(), 2000);
  EXPECT_FALSE(t["left_out"].empty());
}

#endif  // AGENT_FLEET_BIN

// ---------------------------------------------------------------------------
// In process: a scratch database per configuration, measured and removed.

TEST(TuneTest, InProcessMeasuresBytesPerRowAndRemovesItsDatabases) {
  TempDir dir;
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "tune", "-db=" + dir.File("logs.db"), "--metrics-port=0",
       "--vary=batch-size:50,100", "--repeats=1", "--start-rate=100",
       "--max-steps=1", "--step-duration=1s", "--warmup=0s", "--step-db=grow",
       "--log-interval=500ms", "--readers=0", "--writers=2",
       "--work-dir=" + dir.File("work"), "--out=" + dir.File("tune.json")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const json report = ReadReport(dir.File("tune.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  ASSERT_EQ(report["tune"]["configs"].size(), 2u);
  for (const json& c : report["tune"]["configs"]) {
    SCOPED_TRACE(c.dump());
    EXPECT_GT(c["bytes_per_row"].get<double>(), 0);
    ASSERT_EQ(c["runs"].size(), 1u);
    EXPECT_TRUE(
        std::filesystem::exists(c["runs"][0]["report"].get<std::string>()));
    EXPECT_FALSE(std::filesystem::exists(c["db"].get<std::string>()));
    EXPECT_FALSE(
        std::filesystem::exists(c["db"].get<std::string>() + ".find-max"));
  }
  EXPECT_EQ(report["tune"]["options"]["mode"], "in-process");
  EXPECT_FALSE(std::filesystem::exists(dir.File("logs.db")));
}

// With --write-rate every run is a plain run at that rate, judged on its
// write p99.
TEST(TuneTest, AFixedRateSweepJudgesTheWriteP99) {
  TempDir dir;
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "tune", "-db=" + dir.File("logs.db"), "--metrics-port=0",
       "--write-rate=200", "--duration=2s", "--vary=sync:normal,full",
       "--repeats=1", "--log-interval=500ms", "--readers=0",
       "--work-dir=" + dir.File("work"), "--out=" + dir.File("tune.json")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("objective: the write p99"));
  EXPECT_THAT(r.stdout_text, HasSubstr("best at sync=normal"));
  EXPECT_THAT(r.stdout_text, HasSubstr("best at sync=full"));
  const json report = ReadReport(dir.File("tune.json"));
  ASSERT_TRUE(report.is_object()) << "no JSON report";
  EXPECT_EQ(report["tune"]["objective"], "write_p99");
  ASSERT_EQ(report["tune"]["configs"].size(), 2u);
  for (const json& c : report["tune"]["configs"]) {
    SCOPED_TRACE(c.dump());
    ASSERT_EQ(c["runs"].size(), 1u);
    EXPECT_GT(c["runs"][0]["rate"].get<double>(), 0);
    EXPECT_TRUE(c["runs"][0]["write_p99_ms"].is_number());
    EXPECT_GT(c["bytes_per_row"].get<double>(), 0);
    // A run's report, not find-max's.
    const json run = ReadReport(c["runs"][0]["report"].get<std::string>());
    EXPECT_TRUE(run.contains("summary")) << "not a run report";
  }
  // Each tier has its own best: two tiers, two bests.
  ASSERT_EQ(report["tune"]["best"].size(), 2u);
  EXPECT_EQ(report["tune"]["best"][1]["survives"],
            "an application crash and a power loss");
}

}  // namespace
}  // namespace loadtest
