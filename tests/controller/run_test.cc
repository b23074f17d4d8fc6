// The one run path, in-process: RunLoadTest against a real store in a
// temporary directory, and how its outcome maps to exit codes.
#include "controller/run.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/flag_set.h"
#include "controller/flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/agent/test_dir.h"

namespace loadtest::controller {
namespace {

using ::testing::HasSubstr;

// A short in-process scenario writing into `dir`.
Scenario ShortScenario(const std::string& dir) {
  Scenario s;
  s.db = dir + "/run.db";
  s.duration = std::chrono::milliseconds(600);
  s.log_interval = std::chrono::milliseconds(200);
  s.writers = 2;
  s.readers = 1;
  return s;
}

RunOptions InProcessOptions(const std::string& dir) {
  RunOptions options;
  options.metrics_listen = "127.0.0.1:0";
  options.output.out_path = dir + "/run.json";
  return options;
}

TEST(RunTest, AnInProcessRunTakesTheAgentPathAndStreamsItsIntervals) {
  agent::TestDir dir;
  const Scenario s = ShortScenario(dir.path());
  auto plan = PlanRun(s);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const absl::StatusOr<RunOutcome> outcome =
      RunLoadTest(*plan, InProcessOptions(dir.path()));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(ExitCode(outcome), kExitOk);

  std::ifstream in(dir.path() + "/run.json");
  const nlohmann::json report = nlohmann::json::parse(in);
  EXPECT_EQ(report["run"]["mode"], "in-process");
  EXPECT_EQ(report["agents"][0]["target"], "in-process");
  EXPECT_EQ(report["intervals_file"], dir.path() + "/run.intervals.jsonl");
  ASSERT_GE(report["intervals"].size(), 3u);
  // One line per agent per interval: here one agent.
  std::ifstream lines(dir.path() + "/run.intervals.jsonl");
  size_t count = 0;
  int64_t writes = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    writes += nlohmann::json::parse(line)["writes_ok"].get<int64_t>();
  }
  EXPECT_EQ(count, report["intervals"].size());
  EXPECT_EQ(writes, report["summary"]["total"]["writes_ok"].get<int64_t>());
  EXPECT_EQ(report["audit"]["passed"], true);
}

TEST(RunTest, AStoreThatCannotOpenIsTheRunsErrorNamingTheFile) {
  agent::TestDir dir;
  Scenario s = ShortScenario(dir.path());
  s.db = dir.path() + "/missing-folder/run.db";
  auto plan = PlanRun(s);
  ASSERT_TRUE(plan.ok());
  const absl::StatusOr<RunOutcome> outcome =
      RunLoadTest(*plan, InProcessOptions(dir.path()));
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(std::string(outcome.status().message()), HasSubstr("missing-folder"));
  EXPECT_EQ(ExitCode(outcome), kExitUsage);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/run.json"));
}

TEST(RunTest, AnUnreachableAgentStartsNothing) {
  agent::TestDir dir;
  const Scenario s = [] {
    Scenario s;
    s.db = "run.db";
    return s;
  }();
  auto plan = PlanRun(s);
  ASSERT_TRUE(plan.ok());
  RunOptions options;
  options.agent_targets = {"127.0.0.1:1"};
  options.output.out_path = dir.path() + "/run.json";
  const absl::StatusOr<RunOutcome> outcome = RunLoadTest(*plan, options);
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(absl::IsUnavailable(outcome.status())) << outcome.status();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/run.json"));
}

TEST(RunTest, ExitCodesRankLostOverFailedOverInterrupted) {
  RunOutcome all_held;
  EXPECT_EQ(ExitCode(all_held), kExitOk);
  RunOutcome o;
  o.signal_number = 2;
  EXPECT_EQ(ExitCode(o), 130);
  o.thresholds_held = false;
  EXPECT_EQ(ExitCode(o), kExitCheckFailed);
  o.partial = true;
  EXPECT_EQ(ExitCode(o), kExitPartial);
  RunOutcome aborted;
  aborted.aborted = true;
  EXPECT_EQ(ExitCode(aborted), kExitCheckFailed);
  RunOutcome not_started;
  not_started.started = false;
  not_started.signal_number = 15;
  EXPECT_EQ(ExitCode(not_started), 143);
  EXPECT_EQ(ExitCode(absl::InvalidArgumentError("bad")), kExitUsage);
}

TEST(RunTest, TheIntervalsFileDefaultsBesideTheReport) {
  OutputOptions o;
  EXPECT_EQ(o.IntervalsPath(), "");
  o.out_path = "dir/run.json";
  EXPECT_EQ(o.IntervalsPath(), "dir/run.intervals.jsonl");
  o.out_path = "report";
  EXPECT_EQ(o.IntervalsPath(), "report.intervals.jsonl");
  o.intervals_path = "rows.jsonl";
  EXPECT_EQ(o.IntervalsPath(), "rows.jsonl");
}

// The command line main parses, through the same flag table.
absl::StatusOr<Invocation> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "loadtest");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  CommandLine command_line;
  cli::FlagSet flags("loadtest", kLoadtestIntro);
  RegisterFlags(&flags, &command_line);
  std::vector<std::string> positional;
  if (absl::Status s = flags.Parse(static_cast<int>(argv.size()), argv.data(),
                                   &positional);
      !s.ok()) {
    return s;
  }
  return ResolveCommandLine(flags, std::move(command_line));
}

TEST(RunTest, TheCommandLineResolvesPresetsThresholdsAndAgentChecks) {
  auto burst = Parse({"--scenario=burst", "--writers=7", "--threshold-preset=guide"});
  ASSERT_TRUE(burst.ok()) << burst.status();
  EXPECT_EQ(burst->plan.spec.workload.writers, 7);  // Explicit beats the preset.
  EXPECT_EQ(burst->plan.spec.store.batch_size, 300);
  EXPECT_EQ(burst->options.output.thresholds.size(), 5u);
  EXPECT_FALSE(burst->distributed);
  EXPECT_EQ(burst->options.metrics_listen, "0.0.0.0:8080");

  auto remote = Parse({"--agents=127.0.0.1:7070", "--start-delay=2s"});
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_TRUE(remote->distributed);
  EXPECT_EQ(remote->options.start_delay, std::chrono::seconds(2));

  EXPECT_THAT(std::string(Parse({"--start-delay=2s"}).status().message()),
              HasSubstr("--start-delay needs --agents"));
  EXPECT_THAT(std::string(Parse({"--agents=h:1", "-db=/tmp/x.db"}).status().message()),
              HasSubstr("/tmp/x.db"));
  EXPECT_THAT(std::string(Parse({"--threshold-preset=fast"}).status().message()),
              HasSubstr("\"fast\""));
  EXPECT_THAT(std::string(Parse({"--abort-on-fail"}).status().message()),
              HasSubstr("--abort-on-fail needs a --threshold"));
}

TEST(RunTest, WithoutADurationTheRunLastsExactlyTheLongerStages) {
  auto stages = Parse({"--stages=30s:100,1m:200", "--read-stages=2m:50",
                       "--writers=2"});
  ASSERT_TRUE(stages.ok()) << stages.status();
  EXPECT_EQ(stages->plan.spec.duration, std::chrono::minutes(2));
  EXPECT_EQ(stages->plan.scenario.duration, std::chrono::minutes(2));
  EXPECT_EQ(stages->plan.spec.workload.write_stages.size(), 2u);
  EXPECT_EQ(stages->plan.spec.workload.read_stages.size(), 1u);

  auto given = Parse({"--stages=30s:100", "-duration=5m", "--writers=2"});
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->plan.spec.duration, std::chrono::minutes(5));
  EXPECT_EQ(given->plan.scenario.duration, std::chrono::minutes(5));

  EXPECT_THAT(std::string(Parse({"--stages=10s:100", "-duration=1s"})
                              .status()
                              .message()),
              HasSubstr("duration 1s is shorter than --stages (10s)"));
  EXPECT_THAT(std::string(Parse({"--stages=10s"}).status().message()),
              HasSubstr("stages"));
}

TEST(RunTest, StoreTuningFlagsHaveMeasuredDefaultsAndRefuseBadValuesByName) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->plan.spec.store.cache_size_kib, 2000);
  EXPECT_EQ(defaults->plan.spec.store.reader_mmap_mib, 0);
  EXPECT_EQ(defaults->plan.spec.store.reader_nice, 5);
  EXPECT_EQ(defaults->plan.spec.store.temp_store, storage::TempStore::kMemory);
  auto tuned = Parse({"--cache-size-kib=65536", "--reader-nice=0",
                      "--reader-mmap-mib=64", "--temp-store=file",
                      "--agents=h:1", "-db=x.db"});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  // What every agent receives carries them.
  const protocol::pb::RunSpec wire =
      ToWireRunSpec(tuned->plan.spec, "x.db", "r1", std::chrono::seconds(0));
  auto accepted = protocol::FromProto(wire, "/data");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->store.cache_size_kib, 65536);
  EXPECT_EQ(accepted->store.reader_nice, 0);
  EXPECT_EQ(accepted->store.reader_mmap_mib, 64);
  EXPECT_EQ(accepted->store.temp_store, storage::TempStore::kFile);
  EXPECT_THAT(std::string(Parse({"--temp-store=disk"}).status().message()),
              HasSubstr("temp-store must be memory or file, got \"disk\""));
  EXPECT_THAT(std::string(Parse({"--reader-nice=20"}).status().message()),
              HasSubstr("reader-nice must be between 0 and 19, got 20"));
  EXPECT_THAT(std::string(Parse({"--cache-size-kib=10"}).status().message()),
              HasSubstr("cache-size-kib"));
  EXPECT_THAT(std::string(Parse({"--reader-mmap-mib=-1"}).status().message()),
              HasSubstr("reader-mmap-mib"));
}

TEST(RunTest, FtsFlagsReachEveryAgentAndRefuseBadValuesByName) {
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->plan.spec.store.fts_sync, storage::FtsSync::kTrigger);
  EXPECT_EQ(defaults->plan.spec.store.fts_automerge, storage::kFtsDefault);
  EXPECT_EQ(defaults->plan.spec.store.fts_crisismerge, storage::kFtsDefault);
  EXPECT_EQ(defaults->plan.spec.store.fts_pgsz, storage::kFtsDefault);
  auto tuned = Parse({"--fts-sync=batch", "--fts-automerge=0",
                      "--fts-crisismerge=64", "--fts-pgsz=8000",
                      "--agents=h:1", "-db=x.db"});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  const protocol::pb::RunSpec wire =
      ToWireRunSpec(tuned->plan.spec, "x.db", "r1", std::chrono::seconds(0));
  auto accepted = protocol::FromProto(wire, "/data");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->store.fts_sync, storage::FtsSync::kBatch);
  EXPECT_EQ(accepted->store.fts_automerge, 0);
  EXPECT_EQ(accepted->store.fts_crisismerge, 64);
  EXPECT_EQ(accepted->store.fts_pgsz, 8000);
  EXPECT_THAT(std::string(Parse({"--fts-sync=rows"}).status().message()),
              HasSubstr("fts-sync must be trigger or batch, got \"rows\""));
  EXPECT_THAT(std::string(Parse({"--fts-automerge=65"}).status().message()),
              HasSubstr("fts-automerge must be between 0 and 64"));
  EXPECT_THAT(std::string(Parse({"--fts-crisismerge=1"}).status().message()),
              HasSubstr("fts-crisismerge must be between 2 and 1999"));
  EXPECT_THAT(std::string(Parse({"--fts-pgsz=31"}).status().message()),
              HasSubstr("fts-pgsz must be between 32 and 65536 (or -1: SQLite's "
                        "default), got 31"));
  EXPECT_THAT(
      std::string(Parse({"--fts-pgsz=99999999999"}).status().message()),
      HasSubstr("fts-pgsz"));
}

// --stages are totals split evenly among the agents (or per agent), the
// duration defaults to their sum, and each agent gets its own seed derived
// from --seed.
TEST(RunTest, StagesAreSplitAmongTheAgentsAndEachAgentHasItsOwnSeed) {
  auto ramp = Parse({"--stages=30s:1000,1m:4000", "--seed=77",
                     "--agents=h:1", "-db=x.db"});
  ASSERT_TRUE(ramp.ok()) << ramp.status();
  EXPECT_EQ(ramp->plan.spec.duration, std::chrono::seconds(90));
  EXPECT_EQ(ramp->plan.spec.workload.seed, 77u);
  const protocol::RunSpec a0 = SpecForAgent(ramp->plan.spec, false, 0, 4);
  const protocol::RunSpec a3 = SpecForAgent(ramp->plan.spec, false, 3, 4);
  ASSERT_EQ(a0.workload.write_stages.size(), 2u);
  EXPECT_EQ(a0.workload.write_stages[0].target, 250);
  EXPECT_EQ(a0.workload.write_stages[1].target, 1000);
  EXPECT_EQ(a0.workload.write_stages[1].duration, std::chrono::seconds(60));
  EXPECT_NE(a0.workload.seed, a3.workload.seed);
  EXPECT_EQ(a0.workload.seed, protocol::AgentSeed(77, 0));
  EXPECT_EQ(SpecForAgent(ramp->plan.spec, false, 0, 4).workload.seed,
            a0.workload.seed);  // The same seed and index: the same messages.
  const protocol::RunSpec per_agent = SpecForAgent(ramp->plan.spec, true, 1, 4);
  EXPECT_EQ(per_agent.workload.write_stages[1].target, 4000);
  // On the wire and back.
  auto accepted = protocol::FromProto(
      ToWireRunSpec(a3, "x.db", "r1", std::chrono::seconds(0)), "/data");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->workload.write_stages, a3.workload.write_stages);
  EXPECT_EQ(accepted->workload.seed, a3.workload.seed);

  // An explicit longer -duration holds the last rate; no --seed picks one.
  auto held = Parse({"--stages=10s:100", "-duration=1m"});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->plan.spec.duration, std::chrono::seconds(60));
  EXPECT_NE(held->plan.spec.workload.seed, 0u);
  EXPECT_THAT(std::string(Parse({"--seed=-3"}).status().message()),
              HasSubstr("seed must be >= 0, got -3"));
}

}  // namespace
}  // namespace loadtest::controller

namespace loadtest::controller {
namespace {

// Issue 30, item 12: with -write-timeout=168h a silent agent held the run
// for a week after its planned end.
TEST(FinishAllowanceTest, DoesNotGrowWithTheWriteTimeoutBeyondItsCap) {
  protocol::RunSpec spec;
  spec.log_interval = std::chrono::seconds(1);
  spec.store.write_timeout = std::chrono::hours(168);
  EXPECT_EQ(FinishAllowance(spec),
            std::chrono::seconds(4) + kMaxDrainWait + kAuditAllowance);
  spec.store.write_timeout = std::chrono::seconds(5);
  EXPECT_EQ(FinishAllowance(spec), std::chrono::seconds(4 + 5) + kAuditAllowance);
}

}  // namespace
}  // namespace loadtest::controller
