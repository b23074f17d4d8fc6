// End-to-end tests of distributed runs: real `loadtest-agent` processes on
// 127.0.0.2, 127.0.0.3 and 127.0.0.4 (one of them, in the network tests, in
// its own network namespace behind a veth link), a real `loadtest` controller
// process, real gRPC. Each test checks what a user sees: exit codes, the
// lines, the JSON report against each agent's own database, who is named
// when something fails, and agents that survive losing a peer or their
// controller.
//
// Detection times are measured and printed ("[ figure ]" lines, and as test
// properties in the XML output), never asserted.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/loadtest.grpc.pb.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::IntegrityCheck;
using ::loadtest::testing::IsIntervalLine;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RefusingPort;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::SmallRunSpec;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
namespace pb = ::opentrail::loadtest::v1;
using Clock = std::chrono::steady_clock;

// Generous: a line that does not come within this means the run is stuck.
constexpr std::chrono::seconds kLineDeadline{60};
// How long an agent gets to go back to idle after losing its controller;
// far more than the two log intervals plus keepalive the design allows, so
// that it only catches an agent that never stops.
constexpr std::chrono::milliseconds kIdleDeadline{60000};

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitPartial = 3;
constexpr int kExitSigint = 130;

constexpr char kDb[] = "dist.db";

// Counters of a figures object (an interval's or a summary's, an agent's or
// the total) that add up across agents.
const char* const kAdditiveFields[] = {
    "writes_ok",         "reads_ok",    "write_errors",  "write_timeouts",
    "queue_full_errors", "read_errors", "writes_late",   "reads_late",
    "late_commits",      "batches",     "rows_committed"};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A measured figure for the report: a test property and a line on stdout,
// with what was seen at that moment (`detail`, e.g. the controller's line).
void ReportFigure(const std::string& name, double seconds,
                  const std::string& detail = "") {
  ::testing::Test::RecordProperty(name, std::to_string(seconds));
  std::printf("[ figure   ] %s: %.3f s%s%s\n", name.c_str(), seconds,
              detail.empty() ? "" : " -- ", detail.c_str());
  std::fflush(stdout);
}

bool StartProcess(Subprocess& process) {
  std::string error;
  if (!process.Start(&error)) {
    ADD_FAILURE() << error;
    return false;
  }
  return true;
}

// The run id from the controller's first line ("loadtest V: run ID on N
// agents, ..."), or "".
std::string RunIdOf(const std::string& controller_stdout) {
  const size_t at = controller_stdout.find(": run ");
  if (at == std::string::npos) return "";
  const size_t begin = at + 6;
  return controller_stdout.substr(begin,
                                  controller_stdout.find(' ', begin) - begin);
}

// The interval lines of a controller's stdout naming `label` (an agent id or
// "TOTAL") as their second field.
int CountIntervalLines(const std::string& text, const std::string& label) {
  std::istringstream in(text);
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    if (!IsIntervalLine(line)) continue;
    std::istringstream fields(line.substr(line.find(']') + 1));
    std::string first;
    fields >> first;
    if (first == label) ++count;
  }
  return count;
}

const json& AgentEntry(const json& agents, const std::string& id) {
  for (const json& a : agents) {
    if (a.value("agent_id", "") == id) return a;
  }
  ADD_FAILURE() << "no entry for agent " << id << " in " << agents.dump();
  static const json kNone = json::object();
  return kNone;
}

int64_t Int(const json& figures, const char* field) {
  const auto it = figures.find(field);
  if (it == figures.end() || !it->is_number()) {
    ADD_FAILURE() << "no number " << field << " in " << figures.dump();
    return -1;
  }
  return it->get<int64_t>();
}

// A merged quantile lies between the parts' quantiles: the merged CDF is a
// weighted mean of theirs. Up to one histogram bucket (1/64 of the value),
// since each quantile is reported as its bucket's midpoint clamped to that
// histogram's own min and max.
void ExpectMergedP99BetweenTheAgents(const json& total, const json& agents,
                                     const char* latency) {
  double lowest = std::numeric_limits<double>::infinity();
  double highest = -lowest;
  for (const json& a : agents) {
    if (a[latency]["count"].get<int64_t>() == 0) continue;  // No part at all.
    const double p99 = a[latency]["p99"].get<double>();
    lowest = std::min(lowest, p99);
    highest = std::max(highest, p99);
  }
  if (highest < lowest) return;  // No agent has samples.
  const double p99 = total[latency]["p99"].get<double>();
  EXPECT_GE(p99, lowest * (1 - 1.0 / 64)) << latency << " total " << total;
  EXPECT_LE(p99, highest * (1 + 1.0 / 64)) << latency << " total " << total;
}

// `total` is the sum of `agents` in every counter, its latency histograms
// hold every sample of theirs, and its p99s lie between theirs.
void ExpectTotalIsTheSumOfTheAgents(const json& total, const json& agents) {
  for (const char* field : kAdditiveFields) {
    int64_t sum = 0;
    for (const json& a : agents) sum += Int(a, field);
    EXPECT_EQ(Int(total, field), sum) << field;
  }
  for (const char* latency : {"write_latency_ms", "read_latency_ms"}) {
    int64_t count = 0;
    for (const json& a : agents) count += Int(a[latency], "count");
    EXPECT_EQ(Int(total[latency], "count"), count) << latency;
    ExpectMergedP99BetweenTheAgents(total, agents, latency);
  }
}

// Every counter of agent `id` summed over the report's interval rows equals
// its summary: nothing it reported is missing from or added to the rows.
void ExpectIntervalsAddUpToTheAgentSummary(const json& report,
                                           const std::string& id) {
  const json& summary = AgentEntry(report["summary"]["agents"], id);
  for (const char* field : kAdditiveFields) {
    int64_t sum = 0;
    for (const json& row : report["intervals"]) {
      for (const json& a : row["agents"]) {
        if (a["agent_id"] == id) sum += Int(a, field);
      }
    }
    EXPECT_EQ(sum, Int(summary, field)) << id << " " << field;
  }
}

// Agents on loopback addresses, each with its own data directory, and the
// controller's command line for them.
class DistributedTest : public ::testing::Test {
 protected:
  // Starts agent `id` on `host`; nullptr (with a test failure) if it did not
  // come up. The fixture owns it.
  AgentProcess* StartAgent(const std::string& host, const std::string& id) {
    auto agent = std::make_unique<AgentProcess>(DataDir(id), id, host);
    if (!agent->Start()) return nullptr;
    agents_.push_back(std::move(agent));
    return agents_.back().get();
  }

  // The usual three: agent-2 on 127.0.0.2, agent-3 on .3, agent-4 on .4.
  std::vector<AgentProcess*> StartThreeAgents() {
    std::vector<AgentProcess*> started;
    for (int i = 2; i <= 4; ++i) {
      AgentProcess* agent = StartAgent("127.0.0." + std::to_string(i),
                                       "agent-" + std::to_string(i));
      if (agent == nullptr) return {};
      started.push_back(agent);
    }
    return started;
  }

  std::string DataDir(const std::string& id) const { return dir_.File(id); }
  std::string DbOf(const std::string& id) const {
    return DataDir(id) + "/" + kDb;
  }

  static std::string AgentsFlag(const std::vector<AgentProcess*>& agents) {
    std::string flag;
    for (const AgentProcess* a : agents) {
      flag += (flag.empty() ? "" : ",") + a->address();
    }
    return flag;
  }

  // loadtest --agents=`agents` -db=dist.db `args`.
  static std::vector<std::string> ControllerArgv(
      const std::string& agents, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {LOADTEST_BIN, "--agents=" + agents,
                                     std::string("-db=") + kDb};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // A finished agent's summary entry: its audit passed, and it agrees with
  // its database file.
  void ExpectFinishedWithAPassingAudit(const json& entry,
                                       const std::string& id) {
    SCOPED_TRACE("agent " + id);
    EXPECT_EQ(entry.value("finished", false), true) << entry;
    EXPECT_EQ(entry.value("lost", true), false) << entry;
    ASSERT_TRUE(entry.contains("audit")) << entry;
    const json& audit = entry["audit"];
    EXPECT_TRUE(audit.value("passed", false)) << audit;
    EXPECT_EQ(Int(audit, "lost"), 0);
    EXPECT_EQ(Int(audit, "unexplained"), 0);
    EXPECT_TRUE(audit.value("integrity_ok", false)) << audit;
    EXPECT_EQ(Int(audit, "acknowledged"), Int(entry, "writes_ok"));
    EXPECT_GT(Int(audit, "rows_in_db"), 0);
    EXPECT_EQ(CountLogRows(DbOf(id)),
              Int(audit, "rows_before") + Int(audit, "rows_in_db"));
  }

  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

TEST_F(DistributedTest,
       ThreeAgentsRunTogetherAndTheTotalIsTheSumOfTheAgentsAndTheirDatabases) {
  const std::vector<AgentProcess*> agents = StartThreeAgents();
  ASSERT_EQ(agents.size(), 3u);
  const std::string out = dir_.File("report.json");

  const ProcessResult result = RunAndWait(ControllerArgv(
      AgentsFlag(agents), {"-duration=5s", "-log-interval=1s", "--out=" + out,
                           "-writers=4", "-readers=2"}));

  ASSERT_EQ(result.exit_code, kExitOk)
      << result.stdout_text << result.stderr_text;
  const json report = ReadReport(out);
  ASSERT_FALSE(report.is_discarded());
  const std::vector<std::string> ids = {"agent-2", "agent-3", "agent-4"};

  const json& intervals = report["intervals"];
  ASSERT_GE(intervals.size(), 2u);
  for (const json& row : intervals) {
    SCOPED_TRACE("interval " + row["sequence"].dump());
    std::vector<std::string> row_ids;
    for (const json& a : row["agents"]) row_ids.push_back(a["agent_id"]);
    EXPECT_THAT(row_ids, UnorderedElementsAreArray(ids));
    ExpectTotalIsTheSumOfTheAgents(row["total"], row["agents"]);
  }

  const json& summary = report["summary"];
  EXPECT_FALSE(summary.value("partial", true));
  ASSERT_EQ(summary["agents"].size(), 3u);
  ExpectTotalIsTheSumOfTheAgents(summary["total"], summary["agents"]);
  EXPECT_GT(Int(summary["total"], "writes_ok"), 0);
  EXPECT_EQ(Int(summary["total"], "writes_ok"),
            Int(report["audit"], "acknowledged"));
  EXPECT_EQ(Int(report["audit"], "lost"), 0);
  EXPECT_TRUE(report["audit"].value("passed", false)) << report["audit"];
  for (const std::string& id : ids) {
    const json& entry = AgentEntry(summary["agents"], id);
    ExpectFinishedWithAPassingAudit(entry, id);
    EXPECT_EQ(Int(entry["audit"], "rows_before"), 0) << id;  // A fresh dir.
    ExpectIntervalsAddUpToTheAgentSummary(report, id);
  }

  // A line per agent and a TOTAL line for every interval.
  for (const std::string& id : ids) {
    EXPECT_EQ(CountIntervalLines(result.stdout_text, id),
              static_cast<int>(intervals.size()))
        << id << "\n"
        << result.stdout_text;
  }
  EXPECT_EQ(CountIntervalLines(result.stdout_text, "TOTAL"),
            static_cast<int>(intervals.size()))
      << result.stdout_text;
}

TEST_F(
    DistributedTest,
    AnAgentKilledMidRunIsReportedLostTheOthersCompleteAndItKeepsEveryAcknowledgedRow) {
  const std::vector<AgentProcess*> agents = StartThreeAgents();
  ASSERT_EQ(agents.size(), 3u);
  AgentProcess& victim = *agents[1];
  const std::string out = dir_.File("report.json");
  Subprocess controller(ControllerArgv(
      AgentsFlag(agents), {"-duration=6s", "-log-interval=1s", "--out=" + out,
                           "-writers=4", "-readers=2"}));
  ASSERT_TRUE(StartProcess(controller));
  ASSERT_TRUE(controller.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << controller.stderr_text();

  victim.process().SendSignal(SIGKILL);
  const Clock::time_point killed_at = Clock::now();
  std::string lost_line;
  EXPECT_TRUE(controller.WaitForStderrLine("agent " + victim.id() + " (",
                                           kLineDeadline, &lost_line))
      << controller.stderr_text();
  ReportFigure("agent_lost_after_kill9_detected_s", SecondsSince(killed_at),
               lost_line);
  EXPECT_THAT(lost_line, HasSubstr("lost"));
  EXPECT_EQ(victim.process().Wait(), -SIGKILL);

  EXPECT_EQ(controller.Wait(), kExitPartial)
      << controller.stdout_text() << controller.stderr_text();
  EXPECT_THAT(controller.stdout_text(),
              HasSubstr("agent " + victim.id() + " LOST"));
  const json report = ReadReport(out);
  ASSERT_FALSE(report.is_discarded());
  const json& summary = report["summary"];
  EXPECT_TRUE(summary.value("partial", false));
  ExpectTotalIsTheSumOfTheAgents(summary["total"], summary["agents"]);
  const json& lost = AgentEntry(summary["agents"], victim.id());
  EXPECT_TRUE(lost.value("lost", false)) << lost;
  EXPECT_FALSE(lost.value("finished", true)) << lost;
  EXPECT_FALSE(lost.contains("audit")) << lost;
  // Its figures up to its last update: at least the first interval's.
  const int64_t acknowledged_before_loss = Int(lost, "writes_ok");
  EXPECT_GT(acknowledged_before_loss, 0);
  ExpectIntervalsAddUpToTheAgentSummary(report, victim.id());
  for (const AgentProcess* other : {agents[0], agents[2]}) {
    ExpectFinishedWithAPassingAudit(AgentEntry(summary["agents"], other->id()),
                                    other->id());
  }

  // The same agent again, on the same data directory: every write the
  // controller saw acknowledged before the kill is still there.
  AgentProcess restarted(DataDir(victim.id()), victim.id(), "127.0.0.3");
  ASSERT_TRUE(restarted.Start());
  const std::string second_out = dir_.File("after-restart.json");
  const ProcessResult second = RunAndWait(
      ControllerArgv(restarted.address(),
                     {"-duration=2s", "-log-interval=1s", "--out=" + second_out,
                      "-writers=4", "-readers=2"}));
  EXPECT_EQ(second.exit_code, kExitOk)
      << second.stdout_text << second.stderr_text;
  const json after = ReadReport(second_out);
  ASSERT_FALSE(after.is_discarded());
  const json& entry = AgentEntry(after["summary"]["agents"], victim.id());
  ExpectFinishedWithAPassingAudit(entry, victim.id());
  EXPECT_GE(Int(entry["audit"], "rows_before"), acknowledged_before_loss);
  EXPECT_EQ(IntegrityCheck(DbOf(victim.id())), "ok");
}

TEST_F(DistributedTest,
       AControllerKilledMidRunLeavesEveryAgentIdleAndReadyForTheNextRun) {
  const std::vector<AgentProcess*> agents = StartThreeAgents();
  ASSERT_EQ(agents.size(), 3u);
  {
    Subprocess controller(ControllerArgv(
        AgentsFlag(agents),
        {"-duration=600s", "-log-interval=1s", "-writers=4", "-readers=2"}));
    ASSERT_TRUE(StartProcess(controller));
    ASSERT_TRUE(controller.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
        << controller.stderr_text();
    controller.SendSignal(SIGKILL);
    const Clock::time_point killed_at = Clock::now();
    EXPECT_EQ(controller.Wait(), -SIGKILL);

    // Each agent notices, stops the run, audits, and logs it.
    for (AgentProcess* agent : agents) {
      std::string ended;
      EXPECT_TRUE(
          agent->process().WaitForStderrLine(" ended (", kLineDeadline, &ended))
          << agent->id() << ": " << agent->process().stderr_text();
      EXPECT_THAT(ended, HasSubstr("controller went away")) << agent->id();
      EXPECT_THAT(ended, HasSubstr("audit passed")) << agent->id();
    }
    ReportFigure("controller_lost_every_agent_stopped_s",
                 SecondsSince(killed_at));
    for (AgentProcess* agent : agents) {
      std::string answer;
      EXPECT_TRUE(agent->WaitUntilIdle(kIdleDeadline, &answer))
          << agent->id() << ": " << answer;
    }
    ReportFigure("controller_lost_every_agent_idle_s", SecondsSince(killed_at));
  }

  const std::string out = dir_.File("next-run.json");
  const ProcessResult next = RunAndWait(ControllerArgv(
      AgentsFlag(agents), {"-duration=2s", "-log-interval=1s", "--out=" + out,
                           "-writers=4", "-readers=2"}));
  EXPECT_EQ(next.exit_code, kExitOk) << next.stdout_text << next.stderr_text;
  const json report = ReadReport(out);
  ASSERT_FALSE(report.is_discarded());
  for (const AgentProcess* agent : agents) {
    ExpectFinishedWithAPassingAudit(
        AgentEntry(report["summary"]["agents"], agent->id()), agent->id());
  }
}

TEST_F(DistributedTest, RefusesToStartWhenAnAgentIsUnreachableAndNamesIt) {
  AgentProcess* reachable = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(reachable, nullptr);
  const RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  const std::string unreachable =
      "127.0.0.1:" + std::to_string(refusing.port());

  const ProcessResult result =
      RunAndWait(ControllerArgv(reachable->address() + "," + unreachable,
                                {"-duration=2s", "-log-interval=1s"}));

  EXPECT_EQ(result.exit_code, kExitUsage) << result.stdout_text;
  EXPECT_THAT(result.stderr_text, HasSubstr(unreachable));
  EXPECT_THAT(result.stderr_text, HasSubstr("not starting"));
  // Nothing ran anywhere.
  EXPECT_FALSE(std::filesystem::exists(DbOf(reachable->id())));
}

TEST_F(DistributedTest, RefusesToStartWhenAnAgentIsBusyAndNamesItsRun) {
  AgentProcess* agent = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(agent, nullptr);
  Subprocess first(ControllerArgv(
      agent->address(),
      {"-duration=600s", "-log-interval=1s", "-writers=2", "-readers=1"}));
  ASSERT_TRUE(StartProcess(first));
  ASSERT_TRUE(first.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << first.stderr_text();
  const std::string run_id = RunIdOf(first.stdout_text());
  ASSERT_FALSE(run_id.empty()) << first.stdout_text();

  const ProcessResult second = RunAndWait(
      ControllerArgv(agent->address(), {"-duration=2s", "-log-interval=1s"}));

  EXPECT_EQ(second.exit_code, kExitUsage) << second.stdout_text;
  EXPECT_THAT(second.stderr_text, HasSubstr(agent->address()));
  EXPECT_THAT(second.stderr_text, HasSubstr("busy"));
  EXPECT_THAT(second.stderr_text, HasSubstr(run_id));
  // The first run goes on undisturbed until it is interrupted.
  EXPECT_TRUE(first.WaitForLine(IsIntervalLine, kLineDeadline, nullptr));
  first.SendSignal(SIGINT);
  EXPECT_EQ(first.Wait(), kExitSigint) << first.stderr_text();
  EXPECT_TRUE(agent->WaitUntilIdle(kIdleDeadline));
}

TEST_F(DistributedTest, RefusesAnAgentNameThatDoesNotResolveAndNamesTheEntry) {
  AgentProcess* agent = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(agent, nullptr);
  const std::string entry = "dns:///no-such-host.invalid:7070";

  const ProcessResult result = RunAndWait(ControllerArgv(
      agent->address() + "," + entry, {"-duration=2s", "-log-interval=1s"}));

  EXPECT_EQ(result.exit_code, kExitUsage) << result.stdout_text;
  EXPECT_THAT(result.stderr_text, HasSubstr(entry));
  EXPECT_THAT(result.stderr_text, HasSubstr("cannot resolve"));
  EXPECT_FALSE(std::filesystem::exists(DbOf(agent->id())));
}

TEST_F(DistributedTest, RefusesADatabaseNameThatIsAPath) {
  AgentProcess* agent = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(agent, nullptr);
  for (const std::string& db : {std::string("../x.db"), std::string("sub/x.db"),
                                dir_.File("abs.db"), std::string("..")}) {
    SCOPED_TRACE("-db=" + db);
    const ProcessResult result =
        RunAndWait({LOADTEST_BIN, "--agents=" + agent->address(), "-db=" + db,
                    "-duration=2s", "-log-interval=1s"});
    EXPECT_EQ(result.exit_code, kExitUsage) << result.stdout_text;
    EXPECT_THAT(result.stderr_text, HasSubstr("plain file name"));
    EXPECT_THAT(result.stderr_text, HasSubstr(db));
  }
  // Nothing was created, inside the data directory or out of it.
  EXPECT_TRUE(std::filesystem::is_empty(DataDir(agent->id())));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("x.db")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("abs.db")));
}

TEST_F(DistributedTest, AnAgentRefusesEveryRunSpecFieldOutOfRangeAndNamesIt) {
  AgentProcess* agent = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(agent, nullptr);
  auto stub = pb::LoadAgent::NewStub(grpc::CreateChannel(
      agent->address(), grpc::InsecureChannelCredentials()));
  struct BadSpec {
    std::string what;
    std::function<void(pb::RunSpec*)> change;
    std::string named;  // What the message must contain.
  };
  const std::string outside = dir_.File("abs.db");
  const std::vector<BadSpec> cases = {
      {"writers -1", [](pb::RunSpec* s) { s->set_writers(-1); }, "writers"},
      {"writers 10001", [](pb::RunSpec* s) { s->set_writers(10001); },
       "writers"},
      {"readers -1", [](pb::RunSpec* s) { s->set_readers(-1); }, "readers"},
      {"writers and readers 0",
       [](pb::RunSpec* s) {
         s->set_writers(0);
         s->set_readers(0);
       },
       "writers and readers"},
      {"batch_size 0", [](pb::RunSpec* s) { s->set_batch_size(0); },
       "batch-size"},
      {"queue_size 0", [](pb::RunSpec* s) { s->set_queue_size(0); },
       "queue-size"},
      {"queue_size below batch_size",
       [](pb::RunSpec* s) {
         s->set_batch_size(100);
         s->set_queue_size(10);
       },
       "queue-size"},
      {"batch_timeout 0", [](pb::RunSpec* s) { s->set_batch_timeout_ns(0); },
       "batch-timeout"},
      {"write_timeout 0", [](pb::RunSpec* s) { s->set_write_timeout_ns(0); },
       "write-timeout"},
      {"duration 0", [](pb::RunSpec* s) { s->set_duration_ns(0); }, "duration"},
      {"duration -1s", [](pb::RunSpec* s) { s->set_duration_ns(-1000000000); },
       "duration"},
      {"duration 169h",
       [](pb::RunSpec* s) { s->set_duration_ns(169LL * 3600 * 1000000000); },
       "duration"},
      {"log_interval 0", [](pb::RunSpec* s) { s->set_log_interval_ns(0); },
       "log-interval"},
      {"write_delay -1ms",
       [](pb::RunSpec* s) { s->set_write_delay_ns(-1000000); }, "write-delay"},
      {"read_delay -1ms",
       [](pb::RunSpec* s) { s->set_read_delay_ns(-1000000); }, "read-delay"},
      {"write_rate -5", [](pb::RunSpec* s) { s->set_write_rate(-5); },
       "write-rate"},
      {"write_rate NaN",
       [](pb::RunSpec* s) {
         s->set_write_rate(std::numeric_limits<double>::quiet_NaN());
       },
       "write-rate"},
      {"read_rate -5", [](pb::RunSpec* s) { s->set_read_rate(-5); },
       "read-rate"},
      {"schema unknown", [](pb::RunSpec* s) { s->set_schema("wide"); },
       "schema"},
      {"schema empty", [](pb::RunSpec* s) { s->set_schema(""); }, "schema"},
      {"sync unknown", [](pb::RunSpec* s) { s->set_sync("fsync"); }, "sync"},
      {"batch_policy unknown",
       [](pb::RunSpec* s) { s->set_batch_policy("eager"); }, "batch-policy"},
      {"start_after -1ns", [](pb::RunSpec* s) { s->set_start_after_ns(-1); },
       "start_after"},
      {"start_after 61s",
       [](pb::RunSpec* s) { s->set_start_after_ns(61000000000); },
       "start_after"},
      {"db_name ../x.db", [](pb::RunSpec* s) { s->set_db_name("../x.db"); },
       "../x.db"},
      {"db_name absolute",
       [&outside](pb::RunSpec* s) { s->set_db_name(outside); }, outside},
      {"db_name empty", [](pb::RunSpec* s) { s->set_db_name(""); },
       "db must be a plain file name"},
      {"db_name a/b.db", [](pb::RunSpec* s) { s->set_db_name("a/b.db"); },
       "a/b.db"},
      {"db_name ..", [](pb::RunSpec* s) { s->set_db_name(".."); },
       "db must be a plain file name"},
  };
  for (const BadSpec& c : cases) {
    SCOPED_TRACE(c.what);
    pb::RunSpec spec = SmallRunSpec("bad-" + c.what, std::chrono::seconds(2));
    c.change(&spec);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    auto reader = stub->Run(&context, spec);
    pb::RunUpdate update;
    EXPECT_FALSE(reader->Read(&update)) << update.DebugString();
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.named));
  }
  // None of them ran or created anything, and the agent is still idle.
  EXPECT_TRUE(std::filesystem::is_empty(DataDir(agent->id())));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("x.db")));
  EXPECT_FALSE(std::filesystem::exists(outside));
  grpc::ClientContext context;
  pb::AgentStatus status;
  ASSERT_TRUE(stub->GetStatus(&context, pb::StatusRequest(), &status).ok());
  EXPECT_EQ(status.state(), pb::AgentStatus::IDLE);
}

// The numeric addresses `name` resolves to, asked the way the controller
// asks (AI_ADDRCONFIG, and without it when that yields nothing).
std::vector<std::string> ResolveLikeTheController(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &list) != 0) {
    hints.ai_flags = 0;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &list) != 0) return {};
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)
                       ->sin6_addr);
    if (inet_ntop(a->ai_family, raw, text, sizeof(text)) == nullptr) continue;
    if (std::find(addresses.begin(), addresses.end(), text) ==
        addresses.end()) {
      addresses.push_back(text);
    }
  }
  freeaddrinfo(list);
  return addresses;
}

// True if a TCP socket can be bound to `address` (numeric, v4 or v6).
bool CanBind(const std::string& address) {
  const bool v6 = address.find(':') != std::string::npos;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int rc = -1;
  if (v6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, address.c_str(), &in6.sin6_addr) == 1) {
      rc = bind(fd, reinterpret_cast<sockaddr*>(&in6), sizeof(in6));
    }
  } else {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    if (inet_pton(AF_INET, address.c_str(), &in.sin_addr) == 1) {
      rc = bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in));
    }
  }
  close(fd);
  return rc == 0;
}

// One agent on each address of `addresses`, all on the same port (the first
// one's), as a scaled service behind one DNS name has them.
class DistributedDnsTest : public DistributedTest {
 protected:
  // Starts them; false (with a test failure) if one did not come up.
  bool StartAgentPerAddress(const std::vector<std::string>& addresses) {
    int port = 0;
    for (size_t i = 0; i < addresses.size(); ++i) {
      const bool v6 = addresses[i].find(':') != std::string::npos;
      AgentProcess::Options options;
      options.id = "dns-" + std::to_string(i + 1);
      options.data_dir = DataDir(options.id);
      options.host = v6 ? "[" + addresses[i] + "]" : addresses[i];
      options.port = port;
      if (v6) options.metrics_host = "127.0.0.1";
      auto agent = std::make_unique<AgentProcess>(options);
      if (!agent->Start()) return false;
      port = agent->port();
      targets_.push_back(agent->address());
      agents_.push_back(std::move(agent));
    }
    port_ = port;
    return true;
  }

  // The run on dns:///`name`:port reached exactly one agent per address,
  // and each ran the scenario to a passing audit.
  void ExpectOneFinishedAgentPerAddress(const ProcessResult& result,
                                        const std::string& out) {
    EXPECT_EQ(result.exit_code, kExitOk)
        << result.stdout_text << result.stderr_text;
    const json report = ReadReport(out);
    ASSERT_FALSE(report.is_discarded());
    std::vector<std::string> reached;
    for (const json& a : report["agents"]) reached.push_back(a["target"]);
    EXPECT_THAT(reached, UnorderedElementsAreArray(targets_));
    ASSERT_EQ(report["summary"]["agents"].size(), agents_.size());
    for (const auto& agent : agents_) {
      ExpectFinishedWithAPassingAudit(
          AgentEntry(report["summary"]["agents"], agent->id()), agent->id());
    }
  }

  std::vector<std::string> targets_;
  int port_ = 0;
};

TEST_F(DistributedDnsTest,
       DnsLocalhostReachesAnAgentOnEveryAddressOfLocalhost) {
  const std::vector<std::string> addresses =
      ResolveLikeTheController("localhost");
  ASSERT_FALSE(addresses.empty()) << "localhost does not resolve here";
  for (const std::string& address : addresses) {
    if (!CanBind(address)) {
      GTEST_SKIP() << "localhost resolves to " << address
                   << " here, but no socket can be bound to it (IPv6 "
                      "loopback disabled?), so no agent can listen there and "
                      "the controller would rightly refuse to start";
    }
  }
  if (addresses.size() == 1) {
    std::printf(
        "[ note     ] localhost resolves to %s only here: this shows "
        "dns:/// with one address; see "
        "DnsNameReachesAnAgentOnEveryAddressItResolvesTo for several\n",
        addresses[0].c_str());
  }
  ASSERT_TRUE(StartAgentPerAddress(addresses));
  const std::string out = dir_.File("report.json");

  const ProcessResult result =
      RunAndWait(ControllerArgv("dns:///localhost:" + std::to_string(port_),
                                {"-duration=2s", "-log-interval=1s",
                                 "--out=" + out, "-writers=2", "-readers=1"}));

  ExpectOneFinishedAgentPerAddress(result, out);
}

TEST_F(DistributedDnsTest, DnsNameReachesAnAgentOnEveryAddressItResolvesTo) {
  // A name with three A records, from a hosts file seen only by the
  // controller (bind-mounted over /etc/hosts in a private mount namespace).
  const std::string unshare = FindProgram("unshare");
  const std::string mount = FindProgram("mount");
  const std::string getent = FindProgram("getent");
  if (geteuid() != 0 || unshare.empty() || mount.empty() || getent.empty()) {
    GTEST_SKIP() << "needs root, unshare, mount and getent to give the "
                    "controller a name with several addresses (a private "
                    "/etc/hosts)";
  }
  const std::string hosts = dir_.File("hosts");
  WriteFile(hosts,
            "127.0.0.1 localhost\n"
            "127.0.0.2 agents.loadtest.test\n"
            "127.0.0.3 agents.loadtest.test\n"
            "127.0.0.4 agents.loadtest.test\n");
  const std::vector<std::string> in_private_hosts = {
      unshare,
      "--mount",
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      "mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"",
      "sh",
      hosts};
  {
    std::vector<std::string> probe = in_private_hosts;
    probe.push_back(getent);
    probe.insert(probe.end(), {"ahostsv4", "agents.loadtest.test"});
    const ProcessResult answer = RunAndWait(probe);
    if (answer.exit_code != 0) {
      GTEST_SKIP() << "cannot give the controller a private /etc/hosts: "
                   << answer.stderr_text;
    }
  }
  ASSERT_TRUE(StartAgentPerAddress({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  const std::string out = dir_.File("report.json");

  std::vector<std::string> argv = in_private_hosts;
  for (const std::string& arg :
       ControllerArgv("dns:///agents.loadtest.test:" + std::to_string(port_),
                      {"-duration=2s", "-log-interval=1s", "--out=" + out,
                       "-writers=2", "-readers=1"})) {
    argv.push_back(arg);
  }
  const ProcessResult result = RunAndWait(argv);

  ExpectOneFinishedAgentPerAddress(result, out);
}

// One agent in its own network namespace, reached from the host over a veth
// pair (10.213.N.1/30 on the host, 10.213.N.2/30 inside: traffic stays
// between the two), so a test can cut its link. The namespace, the link and
// every process are removed in TearDown, whatever the test did.
class DistributedNetnsTest : public DistributedTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "not root: cannot create a network namespace (ip netns "
                      "add) to cut an agent's link; run as root to test it";
    }
    ip_ = FindProgram("ip");
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"}) {
      if (ip_.empty() && access(path, X_OK) == 0) ip_ = path;
    }
    if (ip_.empty()) {
      GTEST_SKIP() << "no `ip` program (iproute2): cannot create a network "
                      "namespace to cut an agent's link";
    }
    const std::string pid = std::to_string(getpid());
    namespace_ = "loadtest-e2e-" + pid;
    host_link_ = "lt" + pid + "h";
    inner_link_ = "lt" + pid + "n";
    const std::string subnet = "10.213." + std::to_string(getpid() % 256);
    host_address_ = subnet + ".1";
    agent_address_ = subnet + ".2";

    const ProcessResult added = Ip({"netns", "add", namespace_});
    if (added.exit_code != 0) {
      GTEST_SKIP() << "cannot create a network namespace (ip netns add "
                   << namespace_ << "): " << added.stderr_text;
    }
    namespace_created_ = true;
    ASSERT_TRUE(IpOk({"link", "add", host_link_, "type", "veth", "peer", "name",
                      inner_link_}));
    link_created_ = true;
    ASSERT_TRUE(IpOk({"link", "set", inner_link_, "netns", namespace_}));
    ASSERT_TRUE(
        IpOk({"addr", "add", host_address_ + "/30", "dev", host_link_}));
    ASSERT_TRUE(IpOk({"link", "set", host_link_, "up"}));
    ASSERT_TRUE(IpOk({"netns", "exec", namespace_, ip_, "addr", "add",
                      agent_address_ + "/30", "dev", inner_link_}));
    ASSERT_TRUE(IpOk(
        {"netns", "exec", namespace_, ip_, "link", "set", inner_link_, "up"}));
    ASSERT_TRUE(
        IpOk({"netns", "exec", namespace_, ip_, "link", "set", "lo", "up"}));
  }

  void TearDown() override {
    // The processes first (the agent inside holds the namespace open).
    isolated_.reset();
    agents_.clear();
    if (link_created_) Ip({"link", "del", host_link_});
    if (namespace_created_) Ip({"netns", "del", namespace_});
  }

  ProcessResult Ip(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAndWait(argv);
  }

  bool IpOk(const std::vector<std::string>& args) const {
    const ProcessResult result = Ip(args);
    if (result.exit_code == 0) return true;
    std::string command = "ip";
    for (const std::string& arg : args) command += " " + arg;
    ADD_FAILURE() << command << ": exit " << result.exit_code << ": "
                  << result.stderr_text;
    return false;
  }

  // Starts the agent inside the namespace, listening on its veth address.
  AgentProcess* StartIsolatedAgent(const std::string& id) {
    AgentProcess::Options options;
    options.id = id;
    options.data_dir = DataDir(id);
    options.host = agent_address_;
    options.launcher = {ip_, "netns", "exec", namespace_};
    // Off loopback without credentials: refused unless --insecure.
    options.extra_args = {"--insecure"};
    isolated_ = std::make_unique<AgentProcess>(options);
    if (!isolated_->Start()) return nullptr;
    return isolated_.get();
  }

  bool SetLink(const char* state) {
    return IpOk({"link", "set", host_link_, state});
  }

  std::string ip_;
  std::string namespace_;
  std::string host_link_;
  std::string inner_link_;
  std::string host_address_;
  std::string agent_address_;
  bool namespace_created_ = false;
  bool link_created_ = false;
  std::unique_ptr<AgentProcess> isolated_;
};

TEST_F(DistributedNetnsTest,
       AnAgentWhoseLinkIsCutMidRunIsReportedLostAndTheOtherCompletes) {
  AgentProcess* isolated = StartIsolatedAgent("isolated");
  ASSERT_NE(isolated, nullptr);
  AgentProcess* local = StartAgent("127.0.0.2", "agent-2");
  ASSERT_NE(local, nullptr);
  const std::string out = dir_.File("report.json");
  Subprocess controller(
      ControllerArgv(AgentsFlag({isolated, local}),
                     {"-duration=8s", "-log-interval=1s", "--out=" + out,
                      "-writers=2", "-readers=1"}));
  ASSERT_TRUE(StartProcess(controller));
  ASSERT_TRUE(controller.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << controller.stderr_text();

  ASSERT_TRUE(SetLink("down"));
  const Clock::time_point cut_at = Clock::now();
  std::string lost_line;
  EXPECT_TRUE(controller.WaitForStderrLine("agent " + isolated->id() + " (",
                                           kLineDeadline, &lost_line))
      << controller.stderr_text();
  ReportFigure("agent_lost_after_link_down_detected_s", SecondsSince(cut_at),
               lost_line);
  EXPECT_THAT(lost_line, HasSubstr("lost"));

  EXPECT_EQ(controller.Wait(), kExitPartial)
      << controller.stdout_text() << controller.stderr_text();
  EXPECT_THAT(controller.stdout_text(),
              HasSubstr("agent " + isolated->id() + " LOST"));
  const json report = ReadReport(out);
  ASSERT_FALSE(report.is_discarded());
  const json& summary = report["summary"];
  EXPECT_TRUE(summary.value("partial", false));
  const json& lost = AgentEntry(summary["agents"], isolated->id());
  EXPECT_TRUE(lost.value("lost", false)) << lost;
  EXPECT_GT(Int(lost, "writes_ok"), 0);
  ExpectFinishedWithAPassingAudit(AgentEntry(summary["agents"], local->id()),
                                  local->id());
}

TEST_F(DistributedNetnsTest,
       AnAgentCutOffFromItsControllerStopsItsRunAndReturnsToIdle) {
  AgentProcess* isolated = StartIsolatedAgent("isolated");
  ASSERT_NE(isolated, nullptr);
  Subprocess controller(ControllerArgv(
      isolated->address(),
      {"-duration=600s", "-log-interval=1s", "-writers=2", "-readers=1"}));
  ASSERT_TRUE(StartProcess(controller));
  ASSERT_TRUE(controller.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << controller.stderr_text();

  ASSERT_TRUE(SetLink("down"));
  const Clock::time_point cut_at = Clock::now();
  // The agent's own log, then its health check from inside the namespace
  // (its address stays reachable there).
  std::string ended;
  EXPECT_TRUE(
      isolated->process().WaitForStderrLine(" ended (", kLineDeadline, &ended))
      << isolated->process().stderr_text();
  ReportFigure("controller_cut_off_agent_stopped_s", SecondsSince(cut_at),
               ended);
  EXPECT_THAT(ended, HasSubstr("controller went away"));
  EXPECT_THAT(ended, HasSubstr("audit passed"));
  std::string answer;
  EXPECT_TRUE(isolated->WaitUntilIdle(kIdleDeadline, &answer)) << answer;
  ReportFigure("controller_cut_off_agent_idle_s", SecondsSince(cut_at));

  // The controller, on its side, gives the agent up.
  std::string lost_line;
  EXPECT_TRUE(controller.WaitForStderrLine("agent " + isolated->id() + " (",
                                           kLineDeadline, &lost_line))
      << controller.stderr_text();
  ReportFigure("controller_cut_off_agent_lost_detected_s", SecondsSince(cut_at),
               lost_line);
  EXPECT_EQ(controller.Wait(), kExitPartial)
      << controller.stdout_text() << controller.stderr_text();

  // With the link back, the agent takes the next run.
  ASSERT_TRUE(SetLink("up"));
  const ProcessResult next = RunAndWait(ControllerArgv(
      isolated->address(),
      {"-duration=2s", "-log-interval=1s", "-writers=2", "-readers=1"}));
  EXPECT_EQ(next.exit_code, kExitOk) << next.stdout_text << next.stderr_text;
}

}  // namespace
}  // namespace loadtest
