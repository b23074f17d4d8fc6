// The aggregator's side of a lost agent: rows go on without it, what it
// reported stays, the summary says partial and why.
#include <string>

#include "controller/aggregator.h"
#include "controller/display.h"
#include "controller/json_report.h"
#include "gtest/gtest.h"

namespace loadtest::controller {
namespace {

agent::IntervalUpdate Update(int64_t sequence, int64_t writes,
                             bool final = false) {
  agent::IntervalUpdate u;
  u.sequence = sequence;
  u.start_s = static_cast<double>(sequence - 1);
  u.end_s = static_cast<double>(sequence);
  u.stats.counters.writes_ok = writes;
  for (int64_t i = 0; i < writes; ++i) u.stats.write_latency.Record(1000 + i);
  u.queue_size = 100;
  u.batches = 1;
  u.rows_committed = writes;
  u.final = final;
  if (final) {
    agent::RunAudit audit;
    audit.acknowledged = writes;
    audit.rows_in_db = writes;
    audit.integrity_ok = true;
    audit.integrity_message = "ok";
    u.audit = audit;
    u.stop_reason = "duration reached";
  }
  return u;
}

TEST(AggregatorLostTest, LosingTheLaggingAgentReleasesTheRowsItHeldBack) {
  Aggregator aggregator({"a", "b"});
  EXPECT_TRUE(aggregator.Add("a", Update(1, 10)).empty());
  EXPECT_TRUE(aggregator.Add("a", Update(2, 10)).empty());
  const auto rows = aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sequence, 1);
  EXPECT_EQ(rows[1].sequence, 2);
  ASSERT_EQ(rows[0].agents.size(), 1u);
  EXPECT_EQ(rows[0].agents[0].agent_id, "a");
  EXPECT_EQ(rows[0].total.counters.writes_ok, 10);
}

TEST(AggregatorLostTest, LaterRowsNoLongerWaitForALostAgent) {
  Aggregator aggregator({"a", "b", "c"});
  aggregator.Add("a", Update(1, 10));
  aggregator.Add("b", Update(1, 20));
  ASSERT_EQ(aggregator.Add("c", Update(1, 30)).size(), 1u);
  EXPECT_TRUE(aggregator.MarkLost("c", "no update for 12.0s").empty());
  EXPECT_TRUE(aggregator.Add("a", Update(2, 10)).empty());
  const auto rows = aggregator.Add("b", Update(2, 20));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].agents.size(), 2u);
  EXPECT_EQ(rows[0].total.counters.writes_ok, 30);
}

TEST(AggregatorLostTest, KeepsTheLostAgentsFiguresAndMarksTheSummaryPartial) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10));
  aggregator.Add("b", Update(1, 20));
  aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  aggregator.Add("a", Update(2, 10, /*final=*/true));
  const RunSummary s = aggregator.Summary();
  EXPECT_TRUE(s.partial);
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_FALSE(s.agents[0].lost);
  EXPECT_TRUE(s.agents[0].finished);
  EXPECT_TRUE(s.agents[1].lost);
  EXPECT_FALSE(s.agents[1].finished);
  EXPECT_EQ(s.agents[1].lost_reason, "UNAVAILABLE: Socket closed");
  EXPECT_EQ(s.agents[1].figures.counters.writes_ok, 20);
  EXPECT_FALSE(s.agents[1].audit.has_value());
  EXPECT_EQ(s.total.counters.writes_ok, 40);
  // The audit covers the agent that finished; the lost one is not counted
  // as a failure of the store.
  EXPECT_EQ(s.audit.acknowledged, 10);  // a's audit alone.
  EXPECT_TRUE(s.audit.passed());
}

TEST(AggregatorLostTest, IgnoresUpdatesOfALostAgent) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("b", Update(1, 20));
  aggregator.MarkLost("b", "no update for 12.0s");
  aggregator.Add("b", Update(2, 20));  // Arrived after the watchdog gave up.
  aggregator.Add("a", Update(1, 10, /*final=*/true));
  const RunSummary s = aggregator.Summary();
  EXPECT_EQ(s.agents[1].figures.counters.writes_ok, 20);
  EXPECT_EQ(s.agents[1].lost_reason, "no update for 12.0s");
}

TEST(AggregatorLostTest, FinishedOrUnknownAgentsCannotBeLost) {
  Aggregator aggregator({"a"});
  aggregator.Add("a", Update(1, 10, /*final=*/true));
  EXPECT_TRUE(aggregator.MarkLost("a", "late").empty());
  EXPECT_TRUE(aggregator.MarkLost("zz", "unknown").empty());
  const RunSummary s = aggregator.Summary();
  EXPECT_FALSE(s.partial);
  EXPECT_FALSE(s.agents[0].lost);
  EXPECT_TRUE(s.agents[0].lost_reason.empty());
}

TEST(AggregatorLostTest, LosingEveryAgentLeavesNothingAudited) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10));
  aggregator.MarkLost("a", "x");
  aggregator.MarkLost("b", "y");
  const RunSummary s = aggregator.Summary();
  EXPECT_TRUE(s.partial);
  EXPECT_FALSE(s.audit.passed());
  EXPECT_EQ(s.total.counters.writes_ok, 10);
}

TEST(AggregatorLostTest, ReportCarriesLostAgentsPartialAndTheManifest) {
  Aggregator aggregator({"a", "b"});
  aggregator.Add("a", Update(1, 10, /*final=*/true));
  auto rows = aggregator.MarkLost("b", "UNAVAILABLE: Socket closed");
  const RunSummary summary = aggregator.Summary();
  nlohmann::json j = RunReportJson(Scenario(), rows, summary,
                                   CheckGuideTargets(summary.total));
  AddAgentManifest("run-1",
                   {{"a", "10.0.0.7:7070", "0.1.0", "h7", 8080},
                    {"b", "10.0.0.8:7070", "0.1.0", "h8", 8080}},
                   &j);
  EXPECT_EQ(j["summary"]["partial"], true);
  EXPECT_EQ(j["summary"]["agents"][0]["lost"], false);
  EXPECT_EQ(j["summary"]["agents"][1]["lost"], true);
  EXPECT_EQ(j["summary"]["agents"][1]["lost_reason"],
            "UNAVAILABLE: Socket closed");
  EXPECT_EQ(j["run_id"], "run-1");
  ASSERT_EQ(j["agents"].size(), 2u);
  EXPECT_EQ(j["agents"][1]["agent_id"], "b");
  EXPECT_EQ(j["agents"][1]["target"], "10.0.0.8:7070");
  EXPECT_EQ(j["agents"][1]["version"], "0.1.0");
}

}  // namespace
}  // namespace loadtest::controller
