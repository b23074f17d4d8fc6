#include "report/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace loadtest::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Figure {
  FigureRule rule;
  const char* path;  // JSON pointer below summary/total.
};

// Differences and spreads below a rule's floor are noise whatever their
// percent: a queue at 0.01% against 0.03% is no change, nor erratic. A
// tail percentile's minimum effect is a multiple of --min-effect: it moves
// more between identical runs than a rate does (a max is one sample), and
// a 5% move of a p99 is not a change anyone acts on.
constexpr Figure kFigures[] = {
    {{"writes/s", "writes_per_s", true, 1, 1}, "/writes_per_s"},
    {{"reads/s", "reads_per_s", true, 1, 1}, "/reads_per_s"},
    {{"write p50 (ms)", "write_p50_ms", false, 0.05, 2},
     "/write_latency_ms/p50"},
    {{"write p95 (ms)", "write_p95_ms", false, 0.05, 4},
     "/write_latency_ms/p95"},
    {kWriteP99Rule, "/write_latency_ms/p99"},
    {{"write max (ms)", "write_max_ms", false, 0.05, 10},
     "/write_latency_ms/max"},
    {{"read p50 (ms)", "read_p50_ms", false, 0.05, 2}, "/read_latency_ms/p50"},
    {{"read p95 (ms)", "read_p95_ms", false, 0.05, 4}, "/read_latency_ms/p95"},
    {{"read p99 (ms)", "read_p99_ms", false, 0.05, 4}, "/read_latency_ms/p99"},
    {{"error rate", "error_rate", false, 0.001, 1}, "/error_rate"},
    {{"queue utilization", "queue_utilization", false, 0.01, 1},
     "/queue_utilization"},
};

absl::StatusOr<double> Read(const nlohmann::json& report,
                            const std::string& name, const std::string& path) {
  const nlohmann::json::json_pointer pointer("/summary/total" + path);
  if (!report.is_object() || !report.contains(pointer) ||
      !report.at(pointer).is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("report ", name, " has no number at summary.total",
                     path, " (is it a loadtest --out report?)"));
  }
  return report.at(pointer).get<double>();
}

// The regularized incomplete beta function I_x(a, b), by its continued
// fraction (modified Lentz), for the t distribution.
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-14) break;
  }
  return h;
}

double IncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) -
                                std::lgamma(b) + a * std::log(x) +
                                b * std::log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
}

// P(T <= t) for Student's t with `df` degrees of freedom.
double StudentTCdf(double t, double df) {
  const double tail = 0.5 * IncompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kNoChange: return "no change";
    case Verdict::kImproved: return "improved";
    case Verdict::kRegressed: return "regressed";
    case Verdict::kErratic: return "erratic";
    case Verdict::kUndecidable: return "undecidable";
  }
  return "?";
}

double StudentTQuantile(double p, double df) {
  if (p == 0.5) return 0;
  if (p < 0.5) return -StudentTQuantile(1 - p, df);
  double low = 0, high = 1;
  while (StudentTCdf(high, df) < p && high < 1e12) high *= 2;
  for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
    const double mid = (low + high) / 2;
    (StudentTCdf(mid, df) < p ? low : high) = mid;
  }
  return (low + high) / 2;
}

SideStats DescribeRuns(std::vector<double> values) {
  SideStats s;
  s.values = std::move(values);
  const double n = static_cast<double>(s.values.size());
  if (s.values.empty()) return s;
  s.mean = std::accumulate(s.values.begin(), s.values.end(), 0.0) / n;
  if (s.values.size() > 1) {
    double squares = 0;
    for (double v : s.values) squares += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(squares / (n - 1));
  }
  s.cov = s.mean != 0 ? s.sd / std::fabs(s.mean) : 0;
  const auto [low, high] =
      std::minmax_element(s.values.begin(), s.values.end());
  s.min = *low;
  s.max = *high;
  return s;
}

nlohmann::json ParseReportFigures(std::istream& in) {
  std::vector<std::string> keys(8);  // The key being read at each depth.
  auto keep = [&keys](int depth, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) {
    if (event != nlohmann::json::parse_event_t::key) return true;
    if (depth >= static_cast<int>(keys.size())) keys.resize(depth + 1);
    keys[depth] = parsed.get<std::string>();
    const std::string& key = keys[depth];
    if (depth == 1) {
      return key == "tool" || key == "parameters" || key == "run" ||
             key == "summary" || key == "repeat";
    }
    if (keys[1] == "summary" && depth == 2) {
      return key == "total" || key == "agents";
    }
    return true;
  };
  return nlohmann::json::parse(in, keep, /*allow_exceptions=*/false);
}

ComparisonRow CompareValues(const FigureRule& f, std::vector<double> a,
                            std::vector<double> b,
                            const CompareOptions& options) {
  ComparisonRow row;
  row.figure = f.label;
  row.key = f.key;
  row.higher_is_better = f.higher_is_better;
  row.a = DescribeRuns(std::move(a));
  row.b = DescribeRuns(std::move(b));
  const double difference = row.b.mean - row.a.mean;
  const double scale = row.a.mean != 0 ? 100 / std::fabs(row.a.mean) : kNaN;
  row.change_percent = difference * scale;
  row.ci_low_percent = row.ci_high_percent = kNaN;
  if (row.a.values.size() < 2 || row.b.values.size() < 2) {
    row.verdict = Verdict::kUndecidable;
    return row;
  }
  // Welch's interval of the difference of the means.
  const double va = row.a.sd * row.a.sd / row.a.values.size();
  const double vb = row.b.sd * row.b.sd / row.b.values.size();
  const double se = std::sqrt(va + vb);
  double half = 0;
  if (se > 0) {
    const double df =
        (va + vb) * (va + vb) /
        (va * va / (row.a.values.size() - 1) +
         vb * vb / (row.b.values.size() - 1));
    // A regression (an improvement) is a one-sided question: the change
    // is beyond 0 at `confidence` when the one-sided bound is; the
    // two-sided interval whose ends are those bounds is shown.
    half = StudentTQuantile(options.confidence, df) * se;
  }
  row.ci_low_percent = (difference - half) * scale;
  row.ci_high_percent = (difference + half) * scale;
  const bool erratic = (row.a.cov > kErraticCov && row.a.sd > f.floor) ||
                       (row.b.cov > kErraticCov && row.b.sd > f.floor);
  const bool beyond_interval = difference - half > 0 || difference + half < 0;
  const bool beyond_effect =
      std::fabs(difference) > f.floor &&
      std::fabs(difference) >=
          options.min_effect * f.effect_scale * std::fabs(row.a.mean);
  if (erratic) {
    row.verdict = Verdict::kErratic;
  } else if (beyond_interval && beyond_effect) {
    const bool better = (difference > 0) == f.higher_is_better;
    row.verdict = better ? Verdict::kImproved : Verdict::kRegressed;
  } else {
    row.verdict = Verdict::kNoChange;
  }
  return row;
}

absl::StatusOr<std::vector<ComparisonRow>> CompareRuns(
    const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b,
    const CompareOptions& options) {
  if (a.empty() || b.empty()) {
    return absl::InvalidArgumentError(
        "compare needs at least one report on each side");
  }
  std::vector<ComparisonRow> rows;
  for (const Figure& f : kFigures) {
    std::vector<double> values[2];
    for (int side = 0; side < 2; ++side) {
      const std::vector<nlohmann::json>& reports = side == 0 ? a : b;
      for (size_t i = 0; i < reports.size(); ++i) {
        absl::StatusOr<double> v =
            Read(reports[i], absl::StrCat(side == 0 ? "A" : "B", i + 1), f.path);
        if (!v.ok()) return v.status();
        values[side].push_back(*v);
      }
    }
    rows.push_back(
        CompareValues(f.rule, std::move(values[0]), std::move(values[1]), options));
  }
  return rows;
}

int CompareExitCode(const std::vector<ComparisonRow>& rows) {
  bool undecided = false;
  for (const ComparisonRow& r : rows) {
    if (r.verdict == Verdict::kRegressed) return kCompareRegression;
    undecided = undecided || r.verdict == Verdict::kErratic ||
                r.verdict == Verdict::kUndecidable;
  }
  return undecided ? kCompareUndecided : kCompareNoRegression;
}

std::vector<std::string> CompareWarnings(const nlohmann::json& baseline,
                                         const nlohmann::json& candidate) {
  std::vector<std::string> warnings;
  const nlohmann::json::json_pointer fingerprint("/run/fingerprint");
  const nlohmann::json::json_pointer seed("/run/seed");
  if (!baseline.is_object() || !candidate.is_object() ||
      !baseline.contains(fingerprint) || !candidate.contains(fingerprint)) {
    return warnings;
  }
  if (baseline.at(fingerprint) != candidate.at(fingerprint)) {
    std::vector<std::string> differ;
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json& pa = baseline.value("parameters", empty);
    const nlohmann::json& pb = candidate.value("parameters", empty);
    auto ignored = [](const std::string& key) {
      return key == "db" || key == "metrics_port" || key == "log_interval" ||
             key == "fresh" || key == "seed";
    };
    for (const auto& [key, value] : pa.items()) {
      if (ignored(key)) continue;
      if (!pb.contains(key) || pb.at(key) != value) {
        differ.push_back(absl::StrCat(key, " ", value.dump(), " vs ",
                                      pb.contains(key) ? pb.at(key).dump()
                                                       : "(none)"));
      }
    }
    // Settings only the candidate has (a report from before they existed
    // on the other side), e.g. fts_sync "batch".
    for (const auto& [key, value] : pb.items()) {
      if (!ignored(key) && !pa.contains(key)) {
        differ.push_back(absl::StrCat(key, " (none) vs ", value.dump()));
      }
    }
    const nlohmann::json::json_pointer agents("/summary/agents");
    if (baseline.contains(agents) && candidate.contains(agents) &&
        baseline.at(agents).size() != candidate.at(agents).size()) {
      differ.push_back(absl::StrCat("agents ", baseline.at(agents).size(),
                                    " vs ", candidate.at(agents).size()));
    }
    warnings.push_back(absl::StrCat(
        "the runs' workloads differ (fingerprint ",
        baseline.at(fingerprint).dump(), " vs ",
        candidate.at(fingerprint).dump(), ")",
        differ.empty() ? "" : ": ", absl::StrJoin(differ, ", "),
        "; the comparison is not like for like"));
  }
  if (baseline.contains(seed) && candidate.contains(seed) &&
      baseline.at(seed) != candidate.at(seed)) {
    warnings.push_back(absl::StrCat(
        "the runs' seeds differ (", baseline.at(seed).dump(), " vs ",
        candidate.at(seed).dump(),
        "): the same workload shape with other messages"));
  }
  return warnings;
}

}  // namespace loadtest::report
