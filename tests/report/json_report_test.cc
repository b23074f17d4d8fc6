#include "report/json_report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

TEST(JsonReportTest, HoldsTheDocumentedFieldsAndAgreesWithTheSummary) {
  Aggregator aggregator({"host-a"});
  protocol::IntervalUpdate u;
  u.sequence = 1;
  u.end_s = 2;
  u.stats.counters.writes_ok = 10;
  u.stats.counters.reads_ok = 4;
  for (int i = 1; i <= 10; ++i) u.stats.write_latency.Record(i * 1000000);
  for (int i = 1; i <= 4; ++i) u.stats.read_latency.Record(i * 100000);
  u.final = true;
  protocol::RunAudit audit;
  audit.acknowledged = 10;
  audit.rows_in_db = 10;
  audit.integrity_ok = true;
  audit.integrity_message = "ok";
  u.audit = audit;
  const auto rows = aggregator.Add("host-a", u);
  const RunSummary summary = aggregator.Summary();
  const nlohmann::json j = RunReportJson(Scenario(), rows, summary,
                                         CheckGuideTargets(summary.total));
  const nlohmann::json& total = j["summary"]["total"];
  EXPECT_EQ(total["writes_ok"], 10);
  EXPECT_DOUBLE_EQ(total["writes_per_s"].get<double>(), 5.0);
  EXPECT_EQ(total["reads_ok"], 4);
  EXPECT_DOUBLE_EQ(total["reads_per_s"].get<double>(), 2.0);
  for (const char* field : {"write_errors", "write_timeouts", "queue_full_errors"}) {
    EXPECT_EQ(total[field], 0) << field;
  }
  EXPECT_NEAR(total["write_latency_ms"]["p50"].get<double>(), 5.0, 0.05);
  EXPECT_NEAR(total["write_latency_ms"]["max"].get<double>(), 10.0, 1e-9);
  EXPECT_NEAR(total["read_latency_ms"]["p99"].get<double>(), 0.4, 0.004);
  EXPECT_EQ(j["summary"]["agents"][0]["agent_id"], "host-a");
  EXPECT_EQ(j["summary"]["agents"][0]["writes_ok"], 10);
  EXPECT_EQ(j["audit"]["rows_in_db"], 10);
  EXPECT_EQ(j["audit"]["acknowledged"], 10);
  EXPECT_EQ(j["audit"]["lost"], 0);
  EXPECT_EQ(j["audit"]["integrity_ok"], true);
  ASSERT_EQ(j["intervals"].size(), 1u);
  EXPECT_EQ(j["intervals"][0]["total"]["writes_ok"], 10);
  EXPECT_EQ(j["parameters"]["duration"], "1m0s");
  EXPECT_EQ(j["summary"]["guide_targets"].size(), 5u);
}

TEST(JsonReportTest, WriteJsonFileReplacesTheFileWholeAndNamesBadPaths) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "json_report_test.json").string();
  ASSERT_TRUE(WriteJsonFile(path, {{"a", 1}}).ok());
  std::ifstream in(path);
  EXPECT_EQ(nlohmann::json::parse(in)["a"], 1);
  std::remove(path.c_str());
  absl::Status status = WriteJsonFile("/no/such/dir/report.json", {});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/no/such/dir/report.json"), std::string::npos);
}

}  // namespace
}  // namespace loadtest::report

namespace loadtest::report {
namespace {

// The report's `controller`: the per-interval work by nearest rank, and
// zeros without an interval.
TEST(JsonReportTest, ControllerCostGivesNearestRankQuantilesOfTheIntervalWork) {
  ControllerCost cost;
  cost.interval_work_ms = {5, 1, 3, 2, 4};
  cost.cpu_seconds = 1.5;
  cost.peak_rss_mb = 42;
  const nlohmann::json j = ControllerCostJson(cost);
  EXPECT_EQ(j["interval_work_ms"]["count"], 5);
  EXPECT_EQ(j["interval_work_ms"]["p50"], 3.0);
  EXPECT_EQ(j["interval_work_ms"]["p99"], 5.0);
  EXPECT_EQ(j["interval_work_ms"]["max"], 5.0);
  EXPECT_EQ(j["cpu_seconds"], 1.5);
  EXPECT_EQ(j["peak_rss_mb"], 42.0);
  const nlohmann::json none = ControllerCostJson(ControllerCost());
  EXPECT_EQ(none["interval_work_ms"]["count"], 0);
  EXPECT_EQ(none["interval_work_ms"]["p99"], 0.0);
  EXPECT_EQ(none["interval_work_ms"]["max"], 0.0);
}

TEST(JsonReportTest, PrometheusTargetsNameEachAgentsMetricsAddress) {
  const nlohmann::json targets = PrometheusTargetsJson(
      {{"a1", "127.0.0.2:7070", "v", "h", 9101},
       {"a2", "[::1]:7071", "v", "h", 9102}});
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0]["targets"][0], "127.0.0.2:9101");
  EXPECT_EQ(targets[0]["labels"]["agent"], "a1");
  EXPECT_EQ(targets[1]["targets"][0], "[::1]:9102");
  EXPECT_EQ(targets[1]["labels"]["agent"], "a2");
}

TEST(WorkloadFingerprintTest, MessagesCountByContentAndTheOriginalKeepsItsFingerprint) {
  Scenario original;
  Scenario explicit_original = original;
  explicit_original.search_terms = "original";
  explicit_original.messages_facts.search_terms = "original";
  // The original's messages and searches: as before there was a choice.
  EXPECT_EQ(WorkloadFingerprint(original, 1),
            WorkloadFingerprint(explicit_original, 1));
  Scenario realistic = original;
  realistic.messages = "realistic";
  EXPECT_NE(WorkloadFingerprint(realistic, 1), WorkloadFingerprint(original, 1));
  Scenario rare = realistic;
  rare.search_terms = "rare";
  EXPECT_NE(WorkloadFingerprint(rare, 1), WorkloadFingerprint(realistic, 1));
  // A file by its content, wherever it was.
  Scenario a = original, b = original, c = original;
  a.messages = "file:/var/log/a.log";
  b.messages = "file:/tmp/copy-of-a.log";
  c.messages = "file:/var/log/a.log";
  a.messages_facts.content_hash = b.messages_facts.content_hash = "sha256:aa";
  c.messages_facts.content_hash = "sha256:cc";
  EXPECT_EQ(WorkloadFingerprint(a, 1), WorkloadFingerprint(b, 1));
  EXPECT_NE(WorkloadFingerprint(a, 1), WorkloadFingerprint(c, 1));
  const nlohmann::json messages = MessagesJson(a);
  EXPECT_EQ(messages["source"], "file");
  EXPECT_EQ(messages["path"], "/var/log/a.log");
  EXPECT_EQ(messages["content_hash"], "sha256:aa");
}

TEST(WorkloadFingerprintTest, FtsSettingsCountAndTheirDefaultsAreInTheParameters) {
  const Scenario defaults;
  const nlohmann::json parameters = ScenarioJson(defaults);
  EXPECT_EQ(parameters["fts_sync"], "trigger");
  EXPECT_TRUE(parameters["fts_automerge"].is_null());
  EXPECT_TRUE(parameters["fts_crisismerge"].is_null());
  EXPECT_TRUE(parameters["fts_pgsz"].is_null());
  Scenario batch = defaults;
  batch.fts_sync = "batch";
  EXPECT_NE(WorkloadFingerprint(batch, 1), WorkloadFingerprint(defaults, 1));
  Scenario pgsz = defaults;
  pgsz.fts_pgsz = 8000;
  EXPECT_EQ(ScenarioJson(pgsz)["fts_pgsz"], 8000);
  EXPECT_NE(WorkloadFingerprint(pgsz, 1), WorkloadFingerprint(defaults, 1));
  Scenario automerge = defaults;
  automerge.fts_automerge = 0;  // A value: never merge.
  EXPECT_NE(WorkloadFingerprint(automerge, 1), WorkloadFingerprint(defaults, 1));
  Scenario crisismerge = defaults;
  crisismerge.fts_crisismerge = 16;
  EXPECT_NE(WorkloadFingerprint(crisismerge, 1),
            WorkloadFingerprint(defaults, 1));
}

}  // namespace
}  // namespace loadtest::report
