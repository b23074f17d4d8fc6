// The CSV reports, made from the figures, and the HTML report, made from a
// JSON report: CSV quoting and the agreement of every row with the JSON;
// HTML escaping, the charts, and no reference to anything outside the file.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "report/csv_report.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A two-agent run of two intervals: its rows and summary. One agent id
// needs CSV quoting and HTML escaping.
struct TwoAgentRun {
  std::vector<IntervalRow> rows;
  RunSummary summary;
};

TwoAgentRun RunOfTwoAgents() {
  const std::vector<std::string> ids = {"agent,\"one\"", "<b>two</b>"};
  Aggregator aggregator(ids);
  std::vector<IntervalRow> rows;
  for (int sequence = 1; sequence <= 2; ++sequence) {
    for (size_t i = 0; i < ids.size(); ++i) {
      protocol::IntervalUpdate u;
      u.sequence = sequence;
      u.start_s = sequence - 1;
      u.end_s = sequence;
      u.stats.counters.writes_ok = 100 * sequence + static_cast<int>(i);
      u.stats.counters.reads_ok = 7;
      u.stats.counters.queue_full = sequence == 2 ? 3 : 0;
      for (int k = 1; k <= 50; ++k) u.stats.write_latency.Record(k * 100000);
      for (int k = 1; k <= 7; ++k) u.stats.read_latency.Record(k * 10000);
      u.final = sequence == 2;
      if (u.final) {
        protocol::RunAudit audit;
        audit.acknowledged = audit.rows_in_db = 300 + 2 * static_cast<int>(i);
        audit.integrity_ok = true;
        audit.integrity_message = "ok";
        u.audit = audit;
      }
      for (IntervalRow& row : aggregator.Add(ids[i], u)) rows.push_back(row);
    }
  }
  return {rows, aggregator.Summary()};
}

// Its JSON report.
nlohmann::json TwoAgentReport() {
  const TwoAgentRun run = RunOfTwoAgents();
  nlohmann::json report = RunReportJson(Scenario(), run.rows, run.summary,
                                        CheckGuideTargets(run.summary.total));
  report["run"] = {{"mode", "distributed"},
                   {"started_at", "2026-11-27T06:00:00.000Z"},
                   {"ended_at", "2026-11-27T06:00:02.000Z"}};
  return report;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find("\r\n", start)) != std::string::npos;
       start = end + 2) {
    lines.push_back(text.substr(start, end - start));
  }
  EXPECT_EQ(start, text.size()) << "text after the last CRLF";
  return lines;
}

TEST(CsvReportTest, IntervalsHaveARowPerAgentThenTheTotalWithQuotedIds) {
  const std::vector<std::string> lines =
      Lines(IntervalsCsv(RunOfTwoAgents().rows));
  ASSERT_EQ(lines.size(), 1u + 2 * 3);
  EXPECT_THAT(lines[0], ::testing::StartsWith("sequence,start_s,end_s,agent,"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("1,0.0,1.0,\"agent,\"\"one\"\"\","));
  EXPECT_THAT(lines[2], ::testing::StartsWith("1,0.0,1.0,<b>two</b>,"));
  EXPECT_THAT(lines[3], ::testing::StartsWith("1,0.0,1.0,TOTAL,"));
  // The TOTAL row's writes_ok (6th column): 100 + 101.
  EXPECT_THAT(lines[3], HasSubstr("TOTAL,1.0,201,201.0,"));
  EXPECT_THAT(lines[6], HasSubstr("TOTAL,1.0,401,401.0,"));
}

TEST(CsvReportTest, SummaryHasEachAgentWithItsAuditThenTheTotal) {
  const std::vector<std::string> lines =
      Lines(SummaryCsv(RunOfTwoAgents().summary, nullptr));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], ::testing::StartsWith("agent,finished,lost,"));
  EXPECT_THAT(lines[0],
              ::testing::EndsWith(",audit_integrity_ok,audit_passed,"
                                  "scenario_name,scenario_expectation,"
                                  "scenario_measured,scenario_verdict,"
                                  "stability_verdict,"
                                  "stability_drift_percent_per_10min,"
                                  "stability_p99_change_percent"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("\"agent,\"\"one\"\"\",true,false,,"));
  EXPECT_THAT(lines[1], ::testing::EndsWith(",300,300,0,0,0,true,true,,,,,,,"));
  EXPECT_THAT(lines[3], ::testing::StartsWith("TOTAL,,,,,2.0,602,"));
  EXPECT_THAT(lines[3], ::testing::EndsWith(",602,602,0,0,0,true,true,,,,,,,"));
}

// The report as FinishRun completes it: summary.scenario judged on the
// total's writes/s.
nlohmann::json WithScenario(nlohmann::json report, const char* preset,
                            double writes_per_s) {
  Scenario s;
  s.preset = preset;
  report["summary"]["scenario"] =
      ScenarioJudgementJson(JudgeScenario(s, writes_per_s));
  return report;
}

TEST(JsonReportTest, TheScenarioCarriesTheGuidesExpectationAndTheVerdict) {
  const nlohmann::json sc =
      WithScenario(TwoAgentReport(), "moderate", 4100)["summary"]["scenario"];
  EXPECT_EQ(sc["name"], "moderate");
  EXPECT_EQ(sc["expectation"], "Expected: 1000-2000 TPS");
  EXPECT_EQ(sc["measured"], 4100.0);
  EXPECT_EQ(sc["verdict"], "above");
  EXPECT_EQ(sc["min_writes_per_s"], 1000.0);
  EXPECT_EQ(sc["max_writes_per_s"], 2000.0);
  const nlohmann::json burst =
      WithScenario(TwoAgentReport(), "burst", 10)["summary"]["scenario"];
  EXPECT_TRUE(burst["max_writes_per_s"].is_null());
  EXPECT_EQ(burst["verdict"], "below");
}

TEST(CsvReportTest, TheSummarysTotalRowEndsWithTheScenarioVerdict) {
  Scenario s;
  s.preset = "high";
  const ScenarioJudgement judgement = JudgeScenario(s, 3000);
  const std::vector<std::string> lines =
      Lines(SummaryCsv(RunOfTwoAgents().summary, &judgement));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], ::testing::EndsWith(",true,true,,,,,,,"));
  EXPECT_THAT(lines[3], ::testing::EndsWith(
                            ",true,true,high,Expected: 3000-5000 TPS,3000.0,"
                            "within,,,"));
}

TEST(CsvReportTest, TheSummarysTotalRowEndsWithTheStabilityVerdict) {
  StabilityVerdict v;
  v.state = StabilityState::kUnstable;
  v.drift = -0.0625;
  v.p99_change = 0.375;
  RunSummary summary = RunOfTwoAgents().summary;
  summary.stability = v;
  const std::vector<std::string> lines = Lines(SummaryCsv(summary, nullptr));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], ::testing::EndsWith(",true,true,,,,,,,"));
  EXPECT_THAT(lines[3], ::testing::EndsWith(",,,,,unstable,-6.25,37.5"));
}

// The fields of a CSV line without quoted fields.
std::vector<std::string> Fields(const std::string& line) {
  return absl::StrSplit(line, ',');
}

TEST(CsvReportTest, EachNumberHasTheDigitsTheJsonReportGivesIt) {
  IntervalRow row;
  row.sequence = 7;
  row.start_s = 0.1;
  row.end_s = 0.1 + 0.2;  // 0.30000000000000004
  Figures& f = row.total;
  f.seconds = 1.0 / 3;
  f.counters.writes_ok = 3;
  f.write_latency.Record(1);  // 1e-06 ms.
  f.write_latency.Record(123456789);
  f.queue_size = 7;
  f.peak_queue_depth = 2;
  protocol::ProcessFigures process;
  process.wall_seconds = 1;
  process.cpu_seconds = 0.7;
  process.usable_cores = 3;
  process.rss_bytes = int64_t{1} << 40;
  f.process = process;
  protocol::HostFigures host;
  host.disk_unavailable = "no block device: tmpfs";
  f.host = host;
  const nlohmann::json json = IntervalRowJson(row, /*with_agents=*/false);
  const std::vector<std::string> lines = Lines(IntervalCsvRows(row));
  ASSERT_EQ(lines.size(), 1u);
  const std::vector<std::string> header =
      Fields(Lines(IntervalsCsvHeader()).at(0));
  const std::vector<std::string> total = Fields(lines[0]);
  ASSERT_EQ(total.size(), header.size());
  auto field = [&](const std::string& name) {
    const auto at = std::find(header.begin(), header.end(), name);
    return at == header.end() ? "no column " + name
                              : total[at - header.begin()];
  };
  const nlohmann::json& t = json["total"];
  EXPECT_EQ(field("sequence"), "7");
  EXPECT_EQ(field("start_s"), "0.1");
  EXPECT_EQ(field("end_s"), json["end_s"].dump());
  EXPECT_EQ(field("end_s"), "0.30000000000000004");
  EXPECT_EQ(field("seconds"), t["seconds"].dump());
  EXPECT_EQ(field("writes_per_s"), t["writes_per_s"].dump());
  EXPECT_EQ(field("write_p50_ms"), t["write_latency_ms"]["p50"].dump());
  EXPECT_EQ(field("write_p50_ms"), "1e-06");
  EXPECT_EQ(field("write_max_ms"), "123.456789");
  EXPECT_EQ(field("write_mean_ms"), t["write_latency_ms"]["mean"].dump());
  EXPECT_EQ(field("queue_utilization"), t["queue_utilization"].dump());
  EXPECT_EQ(field("cpu_fraction"), t["process"]["cpu_fraction"].dump());
  EXPECT_EQ(field("usable_cores"), "3.0");
  EXPECT_EQ(field("rss_bytes"), "1099511627776");
  EXPECT_EQ(field("error_rate"), "0.0");
  // Without a store, without a disk: empty, as the JSON leaves them out.
  EXPECT_EQ(field("wal_bytes_max"), "");
  EXPECT_EQ(field("disk_utilization"), "");
  EXPECT_EQ(field("disk_device"), "");
  EXPECT_EQ(field("disk_unavailable"), "no block device: tmpfs");
  EXPECT_EQ(field("health_state"), "healthy");
  EXPECT_EQ(field("healthy_intervals"), "");
}

// The part of `html` that draws chart `name`.
std::string ChartSvg(const std::string& html, const std::string& name) {
  const size_t start = html.find(absl::StrCat("data-chart=\"", name, "\""));
  if (start == std::string::npos) return "";
  return html.substr(start, html.find("</svg>", start) - start);
}

TEST(HtmlReportTest, TheStabilityTrendsAreDrawnOnTheThroughputAndP99Charts) {
  StabilityVerdict v;
  v.state = StabilityState::kStable;
  v.from_s = 1;
  v.to_s = 3;
  v.throughput.intercept = 300;
  v.throughput.slope = 0.5;
  v.drift = 0.01;
  v.p99_first_ms = 5;
  v.p99_last_ms = 5.5;
  v.first_third_end_s = 1.5;
  v.last_third_start_s = 2.5;
  nlohmann::json report = TwoAgentReport();
  report["summary"]["stability"] = StabilityJson(v);
  const std::string html = HtmlReport(report);
  const std::string throughput = ChartSvg(html, "write_throughput");
  EXPECT_THAT(throughput, HasSubstr("data-trend=\"trend +1.0% per 10 min\""));
  const std::string latency = ChartSvg(html, "write_latency");
  EXPECT_THAT(latency, HasSubstr("data-trend=\"p99 of the first third: 5.00 ms\""));
  EXPECT_THAT(latency, HasSubstr("data-trend=\"p99 of the last third: 5.50 ms\""));
  EXPECT_THAT(ChartSvg(html, "read_latency"), Not(HasSubstr("data-trend")));
  EXPECT_THAT(html, HasSubstr("data-stability=\"stable\""));
  // Not judged: no trend.
  report["summary"]["stability"] = StabilityJson(StabilityVerdict());
  EXPECT_THAT(HtmlReport(report), Not(HasSubstr("data-trend")));
}

TEST(HtmlReportTest, RatiosAreDrawnOnAFixedZeroToHundredPercentAxis) {
  // TwoAgentReport's queues are empty (0%): the axis still tops at 100.
  const std::string html = HtmlReport(TwoAgentReport());
  for (const char* chart : {"queue_utilization", "generator_cpu"}) {
    EXPECT_THAT(html, HasSubstr(absl::StrCat("data-chart=\"", chart,
                                             "\" data-y-top=\"100\" "
                                             "data-y-fixed=\"true\"")))
        << chart;
  }
  // Rates keep an axis fitted to their values.
  EXPECT_THAT(html, ::testing::ContainsRegex(
                        "data-chart=\"write_throughput\" data-y-top=\"[0-9]+\" "
                        "data-y-fixed=\"false\""));
}

TEST(HtmlReportTest, ShowsTheScenarioBesideTheGuideTargets) {
  const std::string above =
      HtmlReport(WithScenario(TwoAgentReport(), "moderate", 4100));
  EXPECT_THAT(above, HasSubstr("Load-testing guide scenario"));
  EXPECT_THAT(above, HasSubstr("Expected: 1000-2000 TPS"));
  EXPECT_THAT(above, HasSubstr("data-verdict=\"above\""));
  EXPECT_THAT(above, HasSubstr("good news"));
  EXPECT_LT(above.find("Load-testing guide scenario"),
            above.find("Load-testing guide targets"));
  const std::string below =
      HtmlReport(WithScenario(TwoAgentReport(), "moderate", 10));
  EXPECT_THAT(below, HasSubstr("<span class=\"bad\" data-verdict=\"below\">"));
  // A report without it (an older one) has no such section.
  EXPECT_THAT(HtmlReport(TwoAgentReport()),
              Not(HasSubstr("Load-testing guide scenario")));
}

TEST(HtmlReportTest, IsSelfContainedEscapedAndHasEveryChart) {
  const std::string html = HtmlReport(TwoAgentReport());
  EXPECT_THAT(html, ::testing::StartsWith("<!DOCTYPE html>"));
  // Nothing to fetch: no script, link, image or external URL besides the
  // SVG namespace name.
  for (const char* outside : {"<script", "<link", "<img", "src=", "@import",
                              "url(", "https://"}) {
    EXPECT_THAT(html, Not(HasSubstr(outside))) << outside;
  }
  std::string without_namespace = html;
  for (size_t at; (at = without_namespace.find("http://www.w3.org/2000/svg")) !=
                  std::string::npos;) {
    without_namespace.erase(at, 26);
  }
  EXPECT_THAT(without_namespace, Not(HasSubstr("http://")));
  // Agent ids are text, never markup.
  EXPECT_THAT(html, Not(HasSubstr("<b>two</b>")));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;two&lt;/b&gt;"));
  for (const char* chart : kHtmlChartNames) {
    EXPECT_THAT(html, HasSubstr(std::string("data-chart=\"") + chart + "\""))
        << chart;
  }
  // Per agent and total in the throughput charts.
  EXPECT_THAT(html, HasSubstr("data-series=\"total\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"agent,&quot;one&quot;\""));
  EXPECT_THAT(html, HasSubstr("id=\"verdict\">PASSED<"));
  EXPECT_THAT(html, HasSubstr("2026-11-27T06:00:00.000Z"));
}

TEST(HtmlReportTest, TheVerdictNamesWhatFailed) {
  nlohmann::json report = TwoAgentReport();
  report["summary"]["thresholds"] = {{{"threshold", "write_p99<1ms"},
                                      {"scope", "total"},
                                      {"measured", 4.9},
                                      {"unit", "ms"},
                                      {"passed", false}}};
  EXPECT_THAT(HtmlReport(report), HasSubstr("id=\"verdict\">FAILED: a threshold<"));
  report["aborted"] = {{"threshold", "write_p99<1ms"}, {"scope", "total"},
                       {"measured", 4.9}, {"at_s", 1.0}};
  EXPECT_THAT(HtmlReport(report), HasSubstr("ABORTED"));
  report["summary"]["partial"] = true;
  EXPECT_THAT(HtmlReport(report), HasSubstr("PARTIAL"));
}

TEST(HtmlReportTest, TheSummarysWarningsAreShownEscaped) {
  nlohmann::json report = TwoAgentReport();
  EXPECT_THAT(HtmlReport(report), Not(HasSubstr("data-warning")));
  report["summary"]["warnings"] = {
      "agent <b>two</b>: 2 of 2 intervals limited by the load generator (CPU "
      "99% of 2 cores), not by the store"};
  const std::string html = HtmlReport(report);
  EXPECT_THAT(html, HasSubstr("data-warning>Warning: agent &lt;b&gt;two&lt;/b&gt;: "
                              "2 of 2 intervals limited by the load generator"));
}

}  // namespace
}  // namespace loadtest::report
