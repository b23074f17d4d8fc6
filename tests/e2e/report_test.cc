// End-to-end tests of what a run leaves for people to read and of
// --abort-on-fail, with real `loadtest` and `loadtest-agent` processes:
//   - the JSON report's manifest, the CSV files (parsed, and agreeing with
//     the JSON figure for figure), and the HTML report opened in real
//     headless Chromium with no network (tests/browser/check_report.py):
//     no console error, no request, every chart drawn; its screenshot is
//     kept in <build>/test-artifacts/report.png;
//   - --abort-on-fail stopping a run in-process and on agents, cleanly
//     (every audit passes), and not judging a recoverable threshold live
//     before --abort-grace.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::Describe;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitCheckFailed = 2;

// RFC 4180 records: fields split at commas outside quotes, "" inside quotes
// is one quote, records end at CRLF (or LF) outside quotes.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.push_back(field);
      field.clear();
      records.push_back(record);
      record.clear();
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  if (!field.empty() || !record.empty()) {
    record.push_back(field);
    records.push_back(record);
  }
  return records;
}

// CSV records as maps from the header's column names.
std::vector<std::map<std::string, std::string>> CsvRows(const std::string& path) {
  const auto records = ParseCsv(ReadFile(path));
  std::vector<std::map<std::string, std::string>> rows;
  if (records.empty()) {
    ADD_FAILURE() << path << " is empty";
    return rows;
  }
  const std::vector<std::string>& header = records[0];
  for (size_t r = 1; r < records.size(); ++r) {
    EXPECT_EQ(records[r].size(), header.size()) << path << " record " << r;
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < header.size() && c < records[r].size(); ++c) {
      row[header[c]] = records[r][c];
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

int64_t IntField(const std::map<std::string, std::string>& row,
                 const std::string& column) {
  const auto it = row.find(column);
  if (it == row.end() || it->second.empty()) {
    ADD_FAILURE() << "no " << column;
    return -1;
  }
  return std::stoll(it->second);
}

double DoubleField(const std::map<std::string, std::string>& row,
                   const std::string& column) {
  const auto it = row.find(column);
  if (it == row.end() || it->second.empty()) {
    ADD_FAILURE() << "no " << column;
    return -1;
  }
  return std::stod(it->second);
}

// The CSV row's figures are the JSON figures: counters exactly, rates and
// percentiles to the last digit JSON printed.
void ExpectSameFigures(const std::map<std::string, std::string>& row,
                       const json& figures) {
  for (const char* counter :
       {"writes_ok", "reads_ok", "write_errors", "write_timeouts",
        "queue_full_errors", "read_errors", "batches", "rows_committed",
        "peak_queue_depth"}) {
    EXPECT_EQ(IntField(row, counter), figures.at(counter).get<int64_t>())
        << counter;
  }
  EXPECT_EQ(DoubleField(row, "writes_per_s"),
            figures.at("writes_per_s").get<double>());
  EXPECT_EQ(DoubleField(row, "reads_per_s"), figures.at("reads_per_s").get<double>());
  EXPECT_EQ(DoubleField(row, "write_p99_ms"),
            figures.at("write_latency_ms").at("p99").get<double>());
  EXPECT_EQ(DoubleField(row, "read_p95_ms"),
            figures.at("read_latency_ms").at("p95").get<double>());
  EXPECT_EQ(DoubleField(row, "queue_utilization"),
            figures.at("queue_utilization").get<double>());
  // The store's internals and the agent process, from real agents.
  ASSERT_TRUE(figures.contains("store")) << figures.dump();
  ASSERT_TRUE(figures.contains("process")) << figures.dump();
  EXPECT_EQ(IntField(row, "wal_bytes_max"),
            figures.at("store").at("wal_bytes_max").get<int64_t>());
  EXPECT_EQ(DoubleField(row, "commit_p99_ms"),
            figures.at("store").at("commit_ms").at("p99").get<double>());
  EXPECT_EQ(DoubleField(row, "cpu_fraction"),
            figures.at("process").at("cpu_fraction").get<double>());
  EXPECT_EQ(IntField(row, "generator_bound_intervals"),
            figures.at("generator_bound_intervals").get<int64_t>());
}

class ReportTest : public ::testing::Test {
 protected:
  AgentProcess* StartAgent(const std::string& host, const std::string& id) {
    auto agent = std::make_unique<AgentProcess>(dir_.File(id), id, host);
    if (!agent->Start()) return nullptr;
    agents_.push_back(std::move(agent));
    return agents_.back().get();
  }
  std::string AgentsFlag() const {
    std::string flag;
    for (const auto& a : agents_) flag += (flag.empty() ? "" : ",") + a->address();
    return flag;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

TEST_F(ReportTest,
       AThreeAgentRunWritesJsonCsvAndHtmlThatAgreeAndTheHtmlDrawsInChromium) {
  for (int i = 2; i <= 4; ++i) {
    ASSERT_NE(StartAgent("127.0.0." + std::to_string(i),
                         "agent-" + std::to_string(i)),
              nullptr);
  }
  const std::string out = dir_.File("run.json");
  const std::string csv = dir_.File("run");
  const std::string html = dir_.File("run.html");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "--agents=" + AgentsFlag(), "-db=report.db",
       "-duration=3s", "-log-interval=500ms", "-writers=4", "-readers=2",
       "--out=" + out, "--csv=" + csv, "--html=" + html,
       "--threshold=write_p99<60s", "--threshold=each:lost==0"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("html: " + html));
  // Not a terminal: plain lines, no escape sequences.
  EXPECT_THAT(r.stdout_text, ::testing::Not(HasSubstr("\033[")));
  EXPECT_THAT(r.stdout_text, HasSubstr("csv: " + csv + "_intervals.csv"));

  // The manifest.
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["tool"]["name"], "loadtest");
  EXPECT_FALSE(report["tool"]["version"].get<std::string>().empty());
  const json& run = report["run"];
  EXPECT_EQ(run["mode"], "distributed");
  const std::string utc = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";
  EXPECT_THAT(run["started_at"].get<std::string>(), MatchesRegex(utc));
  EXPECT_THAT(run["ended_at"].get<std::string>(), MatchesRegex(utc));
  EXPECT_LE(run["started_at"].get<std::string>(), run["ended_at"].get<std::string>());
  EXPECT_EQ(run["run_id"], report["run_id"]);
  ASSERT_EQ(report["agents"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report["agents"][i]["agent_id"], agents_[i]->id());
    EXPECT_EQ(report["agents"][i]["target"], agents_[i]->address());
    EXPECT_FALSE(report["agents"][i]["version"].get<std::string>().empty());
  }
  EXPECT_EQ(report["parameters"]["writers"], 4);
  EXPECT_EQ(report["parameters"]["log_interval"], "500ms");

  // The CSV files, against the JSON.
  const auto interval_rows = CsvRows(csv + "_intervals.csv");
  const json& intervals = report["intervals"];
  ASSERT_GE(intervals.size(), 2u);
  size_t k = 0;
  for (const json& row : intervals) {
    SCOPED_TRACE("interval " + row["sequence"].dump());
    int64_t writes = 0;
    for (const json& agent : row["agents"]) {
      ASSERT_LT(k, interval_rows.size());
      const auto& csv_row = interval_rows[k++];
      EXPECT_EQ(IntField(csv_row, "sequence"), row["sequence"].get<int64_t>());
      EXPECT_EQ(csv_row.at("agent"), agent["agent_id"].get<std::string>());
      ExpectSameFigures(csv_row, agent);
      writes += IntField(csv_row, "writes_ok");
    }
    ASSERT_LT(k, interval_rows.size());
    const auto& total = interval_rows[k++];
    EXPECT_EQ(total.at("agent"), "TOTAL");
    ExpectSameFigures(total, row["total"]);
    EXPECT_EQ(IntField(total, "writes_ok"), writes);
  }
  EXPECT_EQ(k, interval_rows.size());

  const auto summary_rows = CsvRows(csv + "_summary.csv");
  const json& summary = report["summary"];
  ASSERT_EQ(summary_rows.size(), summary["agents"].size() + 1);
  int64_t writes = 0;
  for (size_t i = 0; i < summary["agents"].size(); ++i) {
    const json& agent = summary["agents"][i];
    EXPECT_EQ(summary_rows[i].at("agent"), agent["agent_id"].get<std::string>());
    ExpectSameFigures(summary_rows[i], agent);
    EXPECT_EQ(summary_rows[i].at("audit_passed"), "true");
    EXPECT_EQ(IntField(summary_rows[i], "audit_acknowledged"),
              IntField(summary_rows[i], "writes_ok"));
    writes += IntField(summary_rows[i], "writes_ok");
  }
  const auto& total = summary_rows.back();
  EXPECT_EQ(total.at("agent"), "TOTAL");
  ExpectSameFigures(total, summary["total"]);
  EXPECT_EQ(IntField(total, "writes_ok"), writes);
  EXPECT_EQ(IntField(total, "audit_acknowledged"), writes);
  EXPECT_EQ(total.at("audit_passed"), "true");

  // The HTML report, in a real browser with no network.
  const std::string chromium = FindProgram("chromium");
  if (chromium.empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << "chromium is not installed";
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh test "
                    "installs it); the HTML report was not opened";
  }
  std::filesystem::create_directories(LOADTEST_ARTIFACT_DIR);
  const std::string screenshot = std::string(LOADTEST_ARTIFACT_DIR) + "/report.png";
  std::filesystem::remove(screenshot);
  const ProcessResult browser =
      RunAndWait({FindProgram("python3"), LOADTEST_CHECK_REPORT, html,
                  "--screenshot=" + screenshot, "--chromium=" + chromium});
  ASSERT_EQ(browser.exit_code, 0) << Describe(browser);
  const json page = json::parse(browser.stdout_text, nullptr, false);
  ASSERT_TRUE(page.is_object()) << browser.stdout_text;
  EXPECT_EQ(page["loaded"], true);
  EXPECT_EQ(page["verdict"], "PASSED");
  EXPECT_THAT(page["title"].get<std::string>(),
              HasSubstr(report["run_id"].get<std::string>()));
  EXPECT_TRUE(page["console_errors"].empty()) << page["console_errors"];
  EXPECT_TRUE(page["network_requests"].empty()) << page["network_requests"];
  std::vector<std::string> expected_charts = {
      "write_throughput", "read_throughput",   "write_latency",
      "read_latency",     "queue_utilization", "wal_size",
      "commit_latency",   "generator_cpu",     "checkpoints",
      "errors",           "host_cpu"};
  // The disk's charts when the database is on a block device (not on a
  // tmpfs or an overlay, as in some containers).
  const json& host = report.at("summary").at("total").at("host");
  const bool has_disk = !host.at("disk").at("device").is_null();
  if (has_disk) {
    expected_charts.push_back("disk_utilization");
    expected_charts.push_back("disk_await");
  }
  ASSERT_EQ(page["charts"].size(), expected_charts.size()) << page["charts"];
  for (size_t i = 0; i < expected_charts.size(); ++i) {
    const json& chart = page["charts"][i];
    SCOPED_TRACE(chart.dump());
    EXPECT_EQ(chart["name"], expected_charts[i]);
    EXPECT_GT(chart["width"].get<double>(), 0);
    EXPECT_GT(chart["height"].get<double>(), 0);
    EXPECT_GT(chart["series"].get<int>(), 0);
    EXPECT_EQ(chart["drawn"], chart["series"]);  // Every line has a shape.
  }
  // Throughput per agent and in total.
  EXPECT_EQ(page["charts"][0]["series"], 4);
  // Ratios on a fixed 0-100% axis: the line's height is the share itself
  // (a nearly empty queue stays near the floor). The queue chart's highest
  // line is the highest agent's peak utilization of the run.
  double peak_queue = 0;
  for (const json& agent : report["summary"]["agents"]) {
    peak_queue = std::max(peak_queue, agent["queue_utilization"].get<double>());
  }
  std::vector<size_t> ratio_charts = {4, 7, 10};  // host_cpu is one too.
  if (has_disk) ratio_charts.push_back(11);
  for (const size_t i : ratio_charts) {
    const json& chart = page["charts"][i];
    SCOPED_TRACE(chart.dump());
    EXPECT_EQ(chart["y_fixed"], true);
    EXPECT_EQ(chart["top_tick"], 100);
    ASSERT_TRUE(chart["reach"].is_number());
    EXPECT_GE(chart["reach"].get<double>(), 0);
    EXPECT_LE(chart["reach"].get<double>(), 1);
  }
  EXPECT_NEAR(page["charts"][4]["reach"].get<double>(), peak_queue, 0.01);
  EXPECT_EQ(page["charts"][0]["y_fixed"], false);
  // The health band under the charts: one drawn span per interval of the
  // total, each in the state the report gives it.
  ASSERT_EQ(page["bands"].size(), 1u) << page["bands"];
  const json& band = page["bands"][0];
  EXPECT_EQ(band["name"], "health");
  EXPECT_GT(band["width"].get<double>(), 0);
  const json& rows = report["intervals"];
  ASSERT_EQ(band["spans"].get<size_t>(), rows.size()) << band;
  EXPECT_EQ(band["drawn"], band["spans"]);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(band["states"][i], rows[i]["total"]["health"]["state"]);
  }
  EXPECT_GT(std::filesystem::file_size(screenshot), 10000u);
  std::printf("[ artifact ] %s\n", screenshot.c_str());
}

TEST_F(ReportTest, AbortOnFailStopsAnInProcessRunCleanlyAtTheFirstFailure) {
  const std::string out = dir_.File("run.json");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "-db=" + dir_.File("abort.db"), "-duration=60s",
       "-log-interval=200ms", "-writers=2", "-readers=0", "-metrics-port=0",
       "--abort-on-fail", "--threshold=write_max<1ns", "--out=" + out});
  ASSERT_EQ(r.exit_code, kExitCheckFailed) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("aborted: threshold write_max<1ns (total) failed at"));
  EXPECT_THAT(r.stdout_text, HasSubstr("Aborted by --abort-on-fail"));
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  ASSERT_TRUE(report.contains("aborted")) << report.dump(1);
  EXPECT_EQ(report["aborted"]["threshold"], "write_max<1ns");
  // Stopped well before the planned minute, at an interval's end.
  EXPECT_LT(report["aborted"]["at_s"].get<double>(), 60);
  EXPECT_LT(report["summary"]["seconds"].get<double>(), 60);
  EXPECT_THAT(report["summary"]["agents"][0]["stop_reason"].get<std::string>(),
              HasSubstr("aborted: threshold write_max<1ns"));
  // Cleanly: drained and audited, nothing acknowledged lost.
  EXPECT_EQ(report["audit"]["passed"], true) << report["audit"];
  EXPECT_EQ(report["audit"]["acknowledged"],
            report["summary"]["total"]["writes_ok"]);
}

TEST_F(ReportTest, AbortOnFailStopsEveryAgentCleanly) {
  ASSERT_NE(StartAgent("127.0.0.2", "agent-2"), nullptr);
  ASSERT_NE(StartAgent("127.0.0.3", "agent-3"), nullptr);
  const std::string out = dir_.File("run.json");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "--agents=" + AgentsFlag(), "-db=abort.db", "-duration=60s",
       "-log-interval=200ms", "-writers=2", "-readers=0", "--start-delay=0s",
       "--abort-on-fail", "--threshold=each:write_max<1ns", "--out=" + out});
  ASSERT_EQ(r.exit_code, kExitCheckFailed) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("stopping the agents"));
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  ASSERT_TRUE(report.contains("aborted"));
  EXPECT_EQ(report["summary"]["partial"], false);
  for (const json& agent : report["summary"]["agents"]) {
    SCOPED_TRACE(agent["agent_id"].dump());
    EXPECT_EQ(agent["finished"], true);
    EXPECT_THAT(agent["stop_reason"].get<std::string>(), HasSubstr("aborted"));
    EXPECT_EQ(agent["audit"]["passed"], true) << agent["audit"];
  }
  for (const auto& agent : agents_) {
    EXPECT_TRUE(agent->WaitUntilIdle(std::chrono::milliseconds(60000)));
  }
}

TEST_F(ReportTest, ARecoverableThresholdIsNotJudgedLiveBeforeTheGrace) {
  const std::string out = dir_.File("run.json");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "-db=" + dir_.File("grace.db"), "-duration=1s",
       "-log-interval=200ms", "-writers=2", "-readers=0", "-metrics-port=0",
       "--abort-on-fail", "--abort-grace=1h", "--threshold=write_p99<1ns",
       "--out=" + out});
  // It fails at the end, but it ran to the end.
  ASSERT_EQ(r.exit_code, kExitCheckFailed) << Describe(r);
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  EXPECT_FALSE(report.contains("aborted"));
  EXPECT_EQ(report["summary"]["agents"][0]["stop_reason"], "duration reached");
  EXPECT_EQ(report["summary"]["thresholds"][0]["passed"], false);
}

TEST_F(ReportTest, AbortOnFailWithoutAThresholdIsAUsageError) {
  const ProcessResult r =
      RunAndWait({LOADTEST_BIN, "-db=" + dir_.File("x.db"), "--abort-on-fail"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("--abort-on-fail needs a --threshold"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("x.db")));
}

TEST_F(ReportTest, AnUnwritableReportPathIsRefusedBeforeTheRun) {
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "-db=" + dir_.File("y.db"), "-duration=1s",
       "--html=" + dir_.File("missing/dir/report.html")});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("missing/dir/report.html"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("y.db")));
}

// `argv` as one sh command line (each argument single-quoted).
std::string ShellLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += (line.empty() ? "" : " ") + quoted + "'";
  }
  return line;
}

TEST_F(ReportTest, OnATerminalTheLiveViewRedrawsTheProgressBarAndTheAgentTable) {
  const std::string script = FindProgram("script");  // util-linux: a pty.
  if (script.empty()) GTEST_SKIP() << "no `script` (util-linux) to make a terminal";
  ASSERT_NE(StartAgent("127.0.0.2", "agent-2"), nullptr);
  ASSERT_NE(StartAgent("127.0.0.3", "agent-3"), nullptr);
  const std::string loadtest = ShellLine(
      {LOADTEST_BIN, "--agents=" + AgentsFlag(), "-db=live.db", "-duration=3s",
       "-log-interval=1s", "-writers=2", "-readers=1", "--start-delay=0s"});
  // script -e: its exit code is loadtest's; -q: no banner; the typescript
  // goes to /dev/null, what the terminal showed to script's stdout.
  const ProcessResult r = RunAndWait({script, "-qfec", loadtest, "/dev/null"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::string& screen = r.stdout_text;
  // The block is erased (cursor up, erase below) and drawn again.
  EXPECT_THAT(screen, MatchesRegex("(.|\n|\r)*\033\\[[0-9]+A\r\033\\[J(.|\n|\r)*"));
  EXPECT_THAT(screen, HasSubstr("% "));
  EXPECT_THAT(screen, HasSubstr("s elapsed, "));
  EXPECT_THAT(screen, HasSubstr("s remaining"));
  EXPECT_THAT(screen, HasSubstr("100%"));
  // The per-agent table of the last interval, each agent a row, then TOTAL.
  // Each row starts with the agent's health state in the interval.
  EXPECT_THAT(screen, MatchesRegex("(.|\n|\r)*agent +state +writes/s +w p50 +w p95 +w p99(.|\n|\r)*"));
  EXPECT_THAT(screen, MatchesRegex("(.|\n|\r)*\nagent-2 +(healthy|STRESS|OVERLOAD|GEN-BOUND) +[0-9]+ (.|\n|\r)*"));
  EXPECT_THAT(screen, MatchesRegex("(.|\n|\r)*\nagent-3 +(healthy|STRESS|OVERLOAD|GEN-BOUND) +[0-9]+ (.|\n|\r)*"));
  EXPECT_THAT(screen, HasSubstr("2 agents reporting"));
  // History scrolls as TOTAL lines only; the summary comes after the block.
  EXPECT_THAT(screen, ::testing::Not(MatchesRegex("(.|\n|\r)*\\] agent-2 +writes(.|\n|\r)*")));
  EXPECT_THAT(screen, MatchesRegex("(.|\n|\r)*\\] TOTAL +(healthy|STRESS|OVERLOAD|GEN-BOUND) +(writes|w [0-9])(.|\n|\r)*"));
  EXPECT_THAT(screen, HasSubstr("=== Summary"));
}

}  // namespace
}  // namespace loadtest
