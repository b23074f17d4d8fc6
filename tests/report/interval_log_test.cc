#include "report/interval_log.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "report/json_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/test_dir.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;

// An interval row of `agents` agents, each with `writes` writes of latency
// `latency_ns` over one second.
IntervalRow Row(int64_t sequence, const std::vector<std::string>& agents,
                int64_t writes, int64_t latency_ns) {
  IntervalRow row;
  row.sequence = sequence;
  row.start_s = static_cast<double>(sequence - 1);
  row.end_s = static_cast<double>(sequence);
  for (const std::string& id : agents) {
    AgentFigures a;
    a.agent_id = id;
    a.figures.seconds = 1;
    a.figures.counters.writes_ok = writes;
    a.figures.counters.write_errors = 1;
    for (int64_t i = 0; i < writes; ++i) a.figures.write_latency.Record(latency_ns);
    a.figures.queue_size = 100;
    row.total.MergeAgent(a.figures);
    row.agents.push_back(std::move(a));
  }
  return row;
}

std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST(IntervalLogTest, WritesOneJsonLinePerAgentPerIntervalAndKeepsOnlyTotals) {
  agent::TestDir dir;
  const std::string jsonl = dir.path() + "/run.intervals.jsonl";
  const std::string csv = dir.path() + "/run_intervals.csv";
  const std::vector<std::string> ids = {"a1", "a2", "a3"};
  auto log = IntervalLog::Open(ids, jsonl, csv);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int64_t s = 1; s <= 5; ++s) (*log)->Add(Row(s, ids, 10 * s, 1000000));
  // Nothing is visible under the final names until Close().
  EXPECT_FALSE(std::filesystem::exists(jsonl));
  ASSERT_TRUE((*log)->Close().ok());

  const std::vector<nlohmann::json> lines = JsonLines(jsonl);
  ASSERT_EQ(lines.size(), 15u);
  std::map<int64_t, int64_t> writes_by_sequence;
  for (const nlohmann::json& line : lines) {
    writes_by_sequence[line["sequence"].get<int64_t>()] +=
        line["writes_ok"].get<int64_t>();
    EXPECT_THAT(ids, ::testing::Contains(line["agent_id"].get<std::string>()));
  }
  const nlohmann::json& totals = (*log)->totals();
  ASSERT_EQ(totals.size(), 5u);
  for (const nlohmann::json& total : totals) {
    EXPECT_FALSE(total.contains("agents"));
    EXPECT_EQ(total["total"]["writes_ok"].get<int64_t>(),
              writes_by_sequence[total["sequence"].get<int64_t>()]);
  }
  // The CSV: a header, then per interval a line per agent and TOTAL.
  std::ifstream in(csv);
  int csv_lines = 0;
  for (std::string line; std::getline(in, line);) ++csv_lines;
  EXPECT_EQ(csv_lines, 1 + 5 * 4);
}

TEST(IntervalLogTest, TheReportStreamsEverySpooledTotalAroundTheRest) {
  agent::TestDir dir;
  const std::vector<std::string> ids = {"a1", "a2"};
  auto log = IntervalLog::Open(ids, "", "");
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string out = dir.path() + "/run.json";
  // No interval yet: an empty array, still valid JSON.
  ASSERT_TRUE((*log)->WriteJsonReport(out, {{"tool", "loadtest"}}).ok());
  {
    std::ifstream in(out);
    const nlohmann::json report = nlohmann::json::parse(in);
    EXPECT_EQ(report["intervals"], nlohmann::json::array());
  }
  for (int64_t s = 1; s <= 300; ++s) (*log)->Add(Row(s, ids, s, 1000000));
  nlohmann::json report = {{"tool", "loadtest"},
                           {"summary", {{"total", {{"writes_ok", 7}}}}},
                           {"zzz_last", "after the intervals"}};
  ASSERT_TRUE((*log)->WriteJsonReport(out, report).ok());
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
  std::ifstream in(out);
  const nlohmann::json written = nlohmann::json::parse(in);
  EXPECT_EQ(written["tool"], "loadtest");
  EXPECT_EQ(written["zzz_last"], "after the intervals");
  EXPECT_EQ(written["summary"]["total"]["writes_ok"], 7);
  ASSERT_EQ(written["intervals"].size(), 300u);
  EXPECT_EQ(written["intervals"], (*log)->totals());
  for (int64_t s = 1; s <= 300; ++s) {
    const nlohmann::json& row = written["intervals"][s - 1];
    EXPECT_EQ(row["sequence"].get<int64_t>(), s);
    EXPECT_EQ(row["total"]["writes_ok"].get<int64_t>(), 2 * s);
  }
  // Rows added after a report are appended, not written over.
  (*log)->Add(Row(301, ids, 1, 1000000));
  EXPECT_EQ((*log)->totals().size(), 301u);
}

TEST(IntervalLogTest, AReportThatCannotBeWrittenNamesTheFile) {
  auto log = IntervalLog::Open({"a1"}, "", "");
  ASSERT_TRUE(log.ok()) << log.status();
  const absl::Status status =
      (*log)->WriteJsonReport("/nonexistent-dir/run.json", {{"tool", "loadtest"}});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("/nonexistent-dir/run.json"));
}

TEST(IntervalLogTest, ChartSeriesStayBoundedAndKeepEveryCountAndPeak) {
  const std::vector<std::string> ids = {"a1", "a2"};
  auto log = IntervalLog::Open(ids, "", "");
  ASSERT_TRUE(log.ok());
  const size_t max_points = IntervalLog::MaxChartPoints(ids.size());
  const int64_t rows = static_cast<int64_t>(max_points) * 5 + 3;
  for (int64_t s = 1; s <= rows; ++s) {
    // One interval in the middle is far slower than the rest.
    (*log)->Add(Row(s, ids, 100, s == rows / 2 ? 900000000 : 1000000));
  }
  EXPECT_EQ((*log)->totals().size(), static_cast<size_t>(rows));
  const nlohmann::json chart = (*log)->ChartJson();
  const nlohmann::json& points = chart["rows"];
  EXPECT_LE(points.size(), max_points);
  EXPECT_GE(points.size(), max_points / 4);
  EXPECT_GT(chart["intervals_per_point"].get<int64_t>(), 1);
  int64_t write_errors = 0;
  double peak_p99 = 0;
  double previous_end = 0;
  for (const nlohmann::json& p : points) {
    EXPECT_GE(p["start_s"].get<double>(), previous_end);
    previous_end = p["end_s"].get<double>();
    write_errors += p["total"]["write_errors"].get<int64_t>();
    peak_p99 = std::max(peak_p99, p["total"]["write_latency_ms"]["p99"].get<double>());
    EXPECT_EQ(p["agents"].size(), 2u);
  }
  EXPECT_EQ(previous_end, static_cast<double>(rows));
  EXPECT_EQ(write_errors, rows * 2);  // Every interval's errors, added.
  EXPECT_GE(peak_p99, 890.0);         // The slow interval is not averaged away.
}

TEST(IntervalLogTest, MaxChartPointsShrinksWithManyAgentsWithinBounds) {
  EXPECT_EQ(IntervalLog::MaxChartPoints(1), 720u);
  EXPECT_EQ(IntervalLog::MaxChartPoints(100), 200u);
  EXPECT_EQ(IntervalLog::MaxChartPoints(5000), 32u);
}

TEST(IntervalLogTest, AnUnwritableFileIsRefusedNamingIt) {
  auto log = IntervalLog::Open({"a1"}, "/nonexistent-dir/run.intervals.jsonl", "");
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()),
              HasSubstr("/nonexistent-dir/run.intervals.jsonl"));
}

}  // namespace
}  // namespace loadtest::report
