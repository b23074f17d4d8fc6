#include "controller/compare.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/flag_set.h"
#include "controller/run_end.h"
#include "protocol/peer_text.h"

namespace loadtest::controller {
namespace {

struct Figure {
  const char* label;
  const char* path;  // JSON pointer below summary/total.
  bool higher_is_better;
};

constexpr Figure kFigures[] = {
    {"writes/s", "/writes_per_s", true},
    {"reads/s", "/reads_per_s", true},
    {"write p50 (ms)", "/write_latency_ms/p50", false},
    {"write p95 (ms)", "/write_latency_ms/p95", false},
    {"write p99 (ms)", "/write_latency_ms/p99", false},
    {"write max (ms)", "/write_latency_ms/max", false},
    {"read p50 (ms)", "/read_latency_ms/p50", false},
    {"read p95 (ms)", "/read_latency_ms/p95", false},
    {"read p99 (ms)", "/read_latency_ms/p99", false},
    {"error rate", "/error_rate", false},
    {"queue utilization", "/queue_utilization", false},
};

// The figure's value in every interval total of `report` that has it.
std::vector<double> PerInterval(const nlohmann::json& report,
                                const std::string& path) {
  std::vector<double> values;
  if (!report.is_object() || !report.contains("intervals") ||
      !report.at("intervals").is_array()) {
    return values;
  }
  const nlohmann::json::json_pointer pointer("/total" + path);
  for (const nlohmann::json& row : report.at("intervals")) {
    if (!row.is_object() || !row.contains(pointer)) continue;
    const nlohmann::json& v = row.at(pointer);
    // A latency of an interval without samples is 0, not a measurement.
    if (v.is_number() &&
        !(path.find("latency") != std::string::npos && v.get<double>() == 0)) {
      values.push_back(v.get<double>());
    }
  }
  return values;
}

absl::StatusOr<double> Read(const nlohmann::json& report, const char* name,
                            const std::string& path) {
  const nlohmann::json::json_pointer pointer("/summary/total" + path);
  if (!report.is_object() || !report.contains(pointer) ||
      !report.at(pointer).is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("report ", name, " has no number at summary.total",
                     path, " (is it a loadtest --out report?)"));
  }
  return report.at(pointer).get<double>();
}

// The first component of a figure's JSON pointer ("/write_latency_ms/p50"
// -> "write_latency_ms").
std::string TopKey(const char* path) {
  const std::string p(path + 1);
  return p.substr(0, p.find('/'));
}

// Parses a --out report keeping only what compare reads: tool, parameters,
// run, summary.total, summary.agents, and in each interval its total's
// compared figures. A report of a long run is mostly interval totals: the
// rest of each is dropped as it is read, so memory follows the figures
// kept, not the file (a 360 MB report took 1.75 GB whole).
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
             key == "summary" || key == "intervals";
    }
    if (keys[1] == "summary" && depth == 2) {
      return key == "total" || key == "agents";
    }
    if (keys[1] == "intervals" && depth == 3) return key == "total";
    if (keys[1] == "intervals" && depth == 4) {
      for (const Figure& f : kFigures) {
        if (key == TopKey(f.path)) return true;
      }
      return false;
    }
    return true;
  };
  return nlohmann::json::parse(in, keep, /*allow_exceptions=*/false);
}

}  // namespace

absl::StatusOr<std::vector<ComparisonRow>> CompareReports(
    const nlohmann::json& baseline, const nlohmann::json& candidate,
    double tolerance) {
  std::vector<ComparisonRow> rows;
  for (const Figure& f : kFigures) {
    ComparisonRow row;
    row.figure = f.label;
    row.higher_is_better = f.higher_is_better;
    absl::StatusOr<double> a = Read(baseline, "A", f.path);
    if (!a.ok()) return a.status();
    absl::StatusOr<double> b = Read(candidate, "B", f.path);
    if (!b.ok()) return b.status();
    row.baseline = *a;
    row.candidate = *b;
    row.change_percent = row.baseline != 0
                             ? (row.candidate - row.baseline) / row.baseline * 100
                             : std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> per_a = PerInterval(baseline, f.path);
    const std::vector<double> per_b = PerInterval(candidate, f.path);
    row.intervals_a = per_a.size();
    row.intervals_b = per_b.size();
    const bool tested =
        per_a.size() >= kMinIntervals && per_b.size() >= kMinIntervals;
    row.p_value = tested ? MannWhitneyP(per_a, per_b)
                         : std::numeric_limits<double>::quiet_NaN();
    row.significant = tested && row.p_value < kSignificance;
    const double worse = f.higher_is_better ? row.baseline - row.candidate
                                            : row.candidate - row.baseline;
    row.regression = worse > 0 && worse > std::fabs(row.baseline) * tolerance &&
                     (!tested || row.significant);
    rows.push_back(row);
  }
  return rows;
}

double MannWhitneyP(const std::vector<double>& a,
                    const std::vector<double>& b) {
  const double n1 = static_cast<double>(a.size());
  const double n2 = static_cast<double>(b.size());
  if (a.empty() || b.empty()) return std::numeric_limits<double>::quiet_NaN();
  // Rank everything together, ties sharing their mean rank.
  std::vector<std::pair<double, int>> all;
  for (double v : a) all.push_back({v, 0});
  for (double v : b) all.push_back({v, 1});
  std::sort(all.begin(), all.end());
  double rank_sum_a = 0;
  double tie_term = 0;  // Sum of t^3 - t over groups of t ties.
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + j) / 2;
    for (size_t k = i; k < j; ++k) {
      if (all[k].second == 0) rank_sum_a += mean_rank;
    }
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double u = rank_sum_a - n1 * (n1 + 1) / 2;
  const double n = n1 + n2;
  const double variance =
      n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (!(variance > 0)) return 1;
  // Continuity-corrected z, two-sided.
  const double z =
      std::max(0.0, std::fabs(u - n1 * n2 / 2) - 0.5) / std::sqrt(variance);
  return std::erfc(z / std::sqrt(2.0));
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
    for (const auto& [key, value] : pa.items()) {
      if (key == "db" || key == "metrics_port" || key == "log_interval" ||
          key == "fresh" || key == "seed") {
        continue;
      }
      if (!pb.contains(key) || pb.at(key) != value) {
        differ.push_back(absl::StrCat(key, " ", value.dump(), " vs ",
                                      pb.contains(key) ? pb.at(key).dump()
                                                       : "(none)"));
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

std::string FormatComparison(const std::vector<ComparisonRow>& rows,
                             const std::string& baseline_name,
                             const std::string& candidate_name,
                             double tolerance) {
  std::string out = absl::StrFormat("%-20s %14s %14s %9s  %s\n", "figure",
                                    "A", "B", "change", "beyond the spread?");
  int regressions = 0;
  for (const ComparisonRow& r : rows) {
    const std::string change =
        std::isnan(r.change_percent)
            ? std::string("n/a")
            : absl::StrFormat("%+.1f%%", r.change_percent);
    std::string spread;
    if (std::isnan(r.p_value)) {
      spread = absl::StrFormat("untested (%d/%d intervals)", r.intervals_a,
                               r.intervals_b);
    } else {
      spread = absl::StrFormat("%s (p=%.3f)",
                               r.significant ? "yes" : "no, noise", r.p_value);
    }
    absl::StrAppendFormat(&out, "%-20s %14.3f %14.3f %9s  %-26s%s\n", r.figure,
                          r.baseline, r.candidate, change, spread,
                          r.regression ? "  REGRESSION" : "");
    regressions += r.regression;
  }
  absl::StrAppendFormat(
      &out,
      "A: %s\nB: %s\n%d regression%s beyond %.1f%% and the run-to-run "
      "spread (Mann-Whitney over the per-interval figures, p < %.2f, when "
      "both runs have %d+ intervals)\n",
      baseline_name, candidate_name, regressions, regressions == 1 ? "" : "s",
      tolerance * 100, kSignificance, kMinIntervals);
  return out;
}

// `loadtest compare A.json B.json [--tolerance=5]`.
int CompareMain(int argc, char** argv) {
  double tolerance_percent = 5;
  cli::FlagSet flags(
      "loadtest compare",
      "loadtest compare A.json B.json: the key figures of two runs' --out "
      "reports side by side\nwith the change in percent, and whether each "
      "change exceeds the run-to-run spread:\na Mann-Whitney rank test over "
      "the figure's values in every interval of each run\n(p < 0.05, when "
      "both runs have 5 or more intervals). A regression is a change\nfor "
      "the worse beyond --tolerance that also exceeds the spread. It warns "
      "when the\nruns' workloads differ (run.fingerprint) or their seeds "
      "do.\nExit codes: 0 no regression; 1 usage error (missing or "
      "unreadable report); 2 a regression.\n");
  flags.AddDouble("tolerance", &tolerance_percent,
                  "Percent a figure may worsen before it counts as a "
                  "regression.");
  std::vector<std::string> files;
  if (absl::Status s = flags.Parse(argc, argv, &files); !s.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (files.size() != 2) {
    std::fprintf(stderr,
                 "loadtest compare: needs two reports (A.json B.json), got "
                 "%zu (see --help)\n",
                 files.size());
    return kExitUsage;
  }
  if (!(tolerance_percent >= 0)) {
    std::fprintf(stderr, "loadtest compare: tolerance must be >= 0, got %g\n",
                 tolerance_percent);
    return kExitUsage;
  }
  nlohmann::json reports[2];
  for (int i = 0; i < 2; ++i) {
    std::ifstream in(files[i]);
    if (!in) {
      std::fprintf(stderr, "loadtest compare: cannot read %s\n",
                   files[i].c_str());
      return kExitUsage;
    }
    reports[i] = ParseReportFigures(in);
    if (reports[i].is_discarded()) {
      std::fprintf(stderr, "loadtest compare: %s is not JSON\n",
                   files[i].c_str());
      return kExitUsage;
    }
  }
  const double tolerance = tolerance_percent / 100;
  auto rows =
      CompareReports(reports[0], reports[1], tolerance);
  if (!rows.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(rows.status().message()).c_str());
    return kExitUsage;
  }
  for (const std::string& warning :
       CompareWarnings(reports[0], reports[1])) {
    // The parameters' names and values come from the files as they are:
    // escaped, as text from an agent is.
    std::fprintf(stderr, "loadtest compare: warning: %s\n",
                 protocol::PeerText(warning, 4096).c_str());
  }
  std::fputs(FormatComparison(*rows, files[0], files[1],
                                                    tolerance)
                 .c_str(),
             stdout);
  for (const auto& row : *rows) {
    if (row.regression) return kExitCheckFailed;
  }
  return 0;
}


}  // namespace loadtest::controller
