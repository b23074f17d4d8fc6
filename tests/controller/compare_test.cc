#include "controller/compare.h"

#include <cmath>
#include <cstdint>
#include <vector>

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
  EXPECT_THAT(table, HasSubstr("-20.0%  untested (0/0 intervals)"));
  EXPECT_THAT(table, HasSubstr("REGRESSION"));
  EXPECT_THAT(table, HasSubstr("2 regressions beyond 5.0%"));
}

// A report whose intervals have these write rates and p99s; the summary
// holds their means.
nlohmann::json ReportWithIntervals(const std::vector<double>& writes,
                                   const std::vector<double>& p99s) {
  double w = 0, p = 0;
  for (double v : writes) w += v / writes.size();
  for (double v : p99s) p += v / p99s.size();
  nlohmann::json report = Report(w, p, 0);
  nlohmann::json intervals = nlohmann::json::array();
  for (size_t i = 0; i < writes.size(); ++i) {
    intervals.push_back(
        {{"total",
          {{"writes_per_s", writes[i]},
           {"write_latency_ms", {{"p99", p99s[i]}}}}}});
  }
  report["intervals"] = intervals;
  return report;
}

// Values drawn around `mean` with a relative spread `spread` (a fixed
// linear congruential sequence, so the test is deterministic).
std::vector<double> Noisy(double mean, double spread, int n, uint32_t seed) {
  std::vector<double> values;
  for (int i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const double u = (seed >> 8) / static_cast<double>(1u << 24);  // [0, 1)
    values.push_back(mean * (1 + spread * (2 * u - 1)));
  }
  return values;
}

TEST(CompareTest, MannWhitneyMatchesKnownValues) {
  // Fully separated samples of 5: U = 0, p = 0.0122 (normal approximation
  // with continuity correction).
  EXPECT_NEAR(MannWhitneyP({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}), 0.0122, 5e-4);
  EXPECT_NEAR(MannWhitneyP({1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}), 1.0, 1e-12);
  EXPECT_EQ(MannWhitneyP({3, 3, 3}, {3, 3, 3}), 1.0);
  EXPECT_TRUE(std::isnan(MannWhitneyP({}, {1})));
}

TEST(CompareTest, IdenticalRunsAreWithinTheSpread) {
  const auto writes = Noisy(1000, 0.2, 20, 1);
  const auto p99 = Noisy(10, 0.3, 20, 2);
  auto rows = CompareReports(ReportWithIntervals(writes, p99),
                             ReportWithIntervals(writes, p99), 0.05);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const ComparisonRow& w = Row(*rows, "writes/s");
  EXPECT_EQ(w.intervals_a, 20u);
  EXPECT_FALSE(w.significant);
  EXPECT_FALSE(w.regression);
}

// Two runs of the same noisy workload: the totals differ by more than the
// tolerance, but no more than the intervals of each run already vary.
TEST(CompareTest, ANoisyChangeWithinTheSpreadIsNotARegression) {
  const auto a = Noisy(1000, 0.4, 12, 7);
  const auto b = Noisy(1000, 0.4, 12, 99);
  auto rows = CompareReports(ReportWithIntervals(a, Noisy(10, 0.5, 12, 3)),
                             ReportWithIntervals(b, Noisy(10, 0.5, 12, 4)),
                             0.01);
  ASSERT_TRUE(rows.ok());
  const ComparisonRow& w = Row(*rows, "writes/s");
  ASSERT_GT(std::fabs(w.change_percent), 1.0) << "the totals must differ";
  EXPECT_FALSE(w.significant) << w.p_value;
  EXPECT_FALSE(w.regression);
  const ComparisonRow& p99 = Row(*rows, "write p99 (ms)");
  EXPECT_FALSE(p99.significant) << p99.p_value;
}

TEST(CompareTest, ATrueChangeExceedsTheSpread) {
  auto rows = CompareReports(
      ReportWithIntervals(Noisy(1000, 0.1, 10, 5), Noisy(10, 0.1, 10, 6)),
      ReportWithIntervals(Noisy(700, 0.1, 10, 8), Noisy(25, 0.1, 10, 9)),
      0.05);
  ASSERT_TRUE(rows.ok());
  const ComparisonRow& w = Row(*rows, "writes/s");
  EXPECT_TRUE(w.significant) << w.p_value;
  EXPECT_LT(w.p_value, 0.001);
  EXPECT_TRUE(w.regression);
  EXPECT_TRUE(Row(*rows, "write p99 (ms)").regression);
  const std::string table = FormatComparison(*rows, "a", "b", 0.05);
  EXPECT_THAT(table, HasSubstr("yes (p=0.000)"));
  EXPECT_THAT(table, HasSubstr("REGRESSION"));
}

TEST(CompareTest, FewIntervalsFallBackToThePercentAlone) {
  auto rows = CompareReports(ReportWithIntervals({1000, 1000}, {10, 10}),
                             ReportWithIntervals({800, 800}, {10, 10}), 0.05);
  ASSERT_TRUE(rows.ok());
  const ComparisonRow& w = Row(*rows, "writes/s");
  EXPECT_TRUE(std::isnan(w.p_value));
  EXPECT_TRUE(w.regression);
  EXPECT_THAT(FormatComparison(*rows, "a", "b", 0.05),
              HasSubstr("untested (2/2 intervals)"));
}

TEST(CompareTest, DifferentWorkloadsAndSeedsAreWarnedAbout) {
  nlohmann::json a = Report(1000, 10, 0);
  nlohmann::json b = Report(1000, 10, 0);
  EXPECT_TRUE(CompareWarnings(a, b).empty());  // No fingerprints: older reports.
  a["run"] = {{"fingerprint", "00000000000000aa"}, {"seed", 1}};
  b["run"] = {{"fingerprint", "00000000000000aa"}, {"seed", 1}};
  EXPECT_TRUE(CompareWarnings(a, b).empty());
  a["parameters"] = {{"writers", 10}, {"batch_size", 100}, {"db", "a.db"}};
  b["parameters"] = {{"writers", 20}, {"batch_size", 100}, {"db", "b.db"}};
  b["run"]["fingerprint"] = "00000000000000bb";
  b["run"]["seed"] = 2;
  const std::vector<std::string> warnings = CompareWarnings(a, b);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("workloads differ"));
  EXPECT_THAT(warnings[0], HasSubstr("writers 10 vs 20"));
  EXPECT_THAT(warnings[0], ::testing::Not(HasSubstr("db")));
  EXPECT_THAT(warnings[1], HasSubstr("seeds differ (1 vs 2)"));
}

}  // namespace
}  // namespace loadtest::controller
