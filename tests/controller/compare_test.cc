#include "controller/compare.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::controller {
namespace {

using ::testing::HasSubstr;

nlohmann::json Report(double writes_per_s, double write_p99, double error_rate) {
  nlohmann::json write = {{"p50", 1.0}, {"p95", 2.0}, {"p99", write_p99}, {"max", 9.0}};
  nlohmann::json read = {{"p50", 1.0}, {"p95", 2.0}, {"p99", 5.0}, {"max", 9.0}};
  return {{"summary",
           {{"total",
             {{"writes_per_s", writes_per_s},
              {"reads_per_s", 100.0},
              {"write_latency_ms", write},
              {"read_latency_ms", read},
              {"error_rate", error_rate},
              {"queue_utilization", 0.1}}}}}};
}

const ComparisonRow& Row(const std::vector<ComparisonRow>& rows,
                         const std::string& figure) {
  for (const ComparisonRow& r : rows) {
    if (r.figure == figure) return r;
  }
  ADD_FAILURE() << "no row " << figure;
  return rows.front();
}

TEST(CompareTest, MarksWorseningBeyondTheToleranceInTheRightDirection) {
  auto rows = CompareReports(Report(1000, 10, 0), Report(940, 10.4, 0.001), 0.05);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const ComparisonRow& writes = Row(*rows, "writes/s");
  EXPECT_NEAR(writes.change_percent, -6.0, 1e-9);
  EXPECT_TRUE(writes.regression);  // Fewer writes/s by 6% > 5%.
  const ComparisonRow& p99 = Row(*rows, "write p99 (ms)");
  EXPECT_NEAR(p99.change_percent, 4.0, 1e-9);
  EXPECT_FALSE(p99.regression);  // Slower by 4%: within 5%.
  const ComparisonRow& errors = Row(*rows, "error rate");
  EXPECT_TRUE(std::isnan(errors.change_percent));
  EXPECT_TRUE(errors.regression);  // Any errors where there were none.
  // Getting better is never a regression, however large.
  auto better = CompareReports(Report(1000, 10, 0), Report(2000, 1, 0), 0.05);
  ASSERT_TRUE(better.ok());
  for (const ComparisonRow& r : *better) EXPECT_FALSE(r.regression) << r.figure;
}

TEST(CompareTest, AReportWithoutTheFiguresIsRefusedNamingIt) {
  auto rows = CompareReports(Report(1, 1, 0), nlohmann::json{{"x", 1}}, 0.05);
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(),
              HasSubstr("report B has no number at summary.total/writes_per_s"));
}

TEST(CompareTest, TheTableNamesBothRunsAndCountsRegressions) {
  auto rows = CompareReports(Report(1000, 10, 0), Report(800, 20, 0), 0.05);
  ASSERT_TRUE(rows.ok());
  const std::string table = FormatComparison(*rows, "a.json", "b.json", 0.05);
  EXPECT_THAT(table, HasSubstr("A: a.json"));
  EXPECT_THAT(table, HasSubstr("B: b.json"));
  EXPECT_THAT(table, HasSubstr("-20.0%  REGRESSION"));
  EXPECT_THAT(table, HasSubstr("2 regressions beyond 5.0%"));
}

}  // namespace
}  // namespace loadtest::controller
