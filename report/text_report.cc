#include "report/text_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace loadtest::report {

std::string FormatTune(const std::vector<ConfigResult>& configs,
                       const std::vector<TierBest>& best,
                       TuneObjective objective, const CompareOptions& options) {
  const bool max_rate = objective == TuneObjective::kMaxRate;
  std::string out = absl::StrFormat(
      "%-4s %-34s %-7s %4s %11s %21s %9s %9s  %s\n", "cfg", "settings", "sync",
      "runs", max_rate ? "max rate/s" : "writes/s",
      max_rate ? "rate min-max (CoV)" : "p99 min-max (CoV)", "p99 ms",
      "bytes/row", "verdict");
  for (size_t i = 0; i < configs.size(); ++i) {
    const ConfigResult& c = configs[i];
    const std::vector<double> rates = RunFigure(c, &TuneRun::rate);
    const std::vector<double> p99s = RunFigure(c, &TuneRun::write_p99_ms);
    const std::vector<double> bytes = RunFigure(c, &TuneRun::bytes_per_row);
    const std::vector<double>& spread_of = max_rate ? rates : p99s;
    std::string spread = "-";
    if (!spread_of.empty()) {
      const SideStats s = DescribeRuns(spread_of);
      spread = max_rate ? absl::StrFormat("%.0f-%.0f (%.1f%%)", s.min, s.max,
                                          100 * s.cov)
                        : absl::StrFormat("%.2f-%.2f (%.1f%%)", s.min, s.max,
                                          100 * s.cov);
    }
    const std::string name =
        absl::StrCat(ConfigName(i), c.config.defaults ? "*" : "");
    std::string verdict = c.verdict;
    if (c.against_best.has_value() &&
        std::isfinite(c.against_best->change_percent)) {
      absl::StrAppendFormat(&verdict, " (%+.1f%%)",
                            c.against_best->change_percent);
    }
    absl::StrAppendFormat(
        &out, "%-4s %-34s %-7s %4d %11s %21s %9s %9s  %s\n", name,
        c.config.Label(), c.sync, static_cast<int>(c.runs.size()),
        rates.empty() ? "-" : absl::StrFormat("%.0f", DescribeRuns(rates).mean),
        spread,
        p99s.empty() ? "-" : absl::StrFormat("%.2f", DescribeRuns(p99s).mean),
        bytes.empty() ? "-" : absl::StrFormat("%.0f", DescribeRuns(bytes).mean),
        verdict);
  }
  absl::StrAppendFormat(
      &out,
      "* the defaults.\nA tie cannot be told from the best with these runs "
      "(loadtest "
      "compare's rule: a\ndifference counts when it exceeds %.0f%% of the "
      "best%s and its %.0f%% one-sided\nbound excludes 0); worse is beyond "
      "both. %s\n",
      options.min_effect * 100 * ObjectiveRule(objective).effect_scale,
      max_rate ? "" : "'s p99", options.confidence * 100,
      max_rate ? "The p99 is the write p99 at the max rate's step."
               : "The objective is the write p99 at the fixed rate.");
  for (const TierBest& tier : best) {
    const ConfigResult& c = configs[tier.best];
    const SideStats s = DescribeRuns(ObjectiveValues(c, objective));
    absl::StrAppendFormat(
        &out, "\nbest at sync=%s (survives %s):\n  %s %s: ", tier.sync,
        SyncSurvives(tier.sync), ConfigName(tier.best), c.config.Label());
    out += max_rate ? absl::StrFormat("%.0f writes/s", s.mean)
                    : absl::StrFormat("write p99 %.2f ms", s.mean);
    absl::StrAppendFormat(
        &out, " (%d run%s)\n  flags: %s\n", static_cast<int>(s.values.size()),
        s.values.size() == 1 ? "" : "s", absl::StrJoin(FullFlags(c), " "));
    if (!tier.ties.empty()) {
      std::vector<std::string> ties;
      for (size_t t : tier.ties) {
        ties.push_back(
            absl::StrCat(ConfigName(t), " (", configs[t].config.Label(), ")"));
      }
      absl::StrAppendFormat(&out, "  ties (within the noise): %s\n",
                            absl::StrJoin(ties, ", "));
    }
    absl::StrAppendFormat(&out, "  margin: %s\n",
                          MarginStatement(tier, configs, objective, options));
  }
  if (best.empty()) out += "\nno configuration gave a result.\n";
  return out;
}

namespace {

std::string Percent(double v) {
  return std::isnan(v) ? std::string("n/a") : absl::StrFormat("%+.1f%%", v);
}

std::string SideText(const SideStats& s) {
  if (s.values.size() < 2) return absl::StrFormat("%.4g", s.mean);
  return absl::StrFormat("%.4g ±%.4g (CoV %.1f%%)", s.mean, s.sd, 100 * s.cov);
}

}  // namespace

std::string FormatComparison(const std::vector<ComparisonRow>& rows,
                             const std::vector<std::string>& a_names,
                             const std::vector<std::string>& b_names,
                             const CompareOptions& options) {
  const std::string interval = absl::StrFormat(
      "%.0f%% interval", 100 * (2 * options.confidence - 1));
  std::string out = absl::StrFormat(
      "%-18s %-28s %-28s %8s  %-18s %s\n", "figure",
      absl::StrCat("A (", a_names.size(), " run", a_names.size() == 1 ? "" : "s", ")"),
      absl::StrCat("B (", b_names.size(), " run", b_names.size() == 1 ? "" : "s", ")"),
      "change", interval, "verdict");
  int counts[5] = {};
  for (const ComparisonRow& r : rows) {
    const std::string ci =
        std::isnan(r.ci_low_percent)
            ? std::string("-")
            : absl::StrFormat("[%s, %s]", Percent(r.ci_low_percent),
                              Percent(r.ci_high_percent));
    std::string verdict = VerdictName(r.verdict);
    if (r.verdict == Verdict::kRegressed) verdict = "REGRESSED";
    absl::StrAppendFormat(&out, "%-18s %-28s %-28s %8s  %-18s %s\n", r.figure,
                          SideText(r.a), SideText(r.b),
                          Percent(r.change_percent), ci, verdict);
    ++counts[static_cast<int>(r.verdict)];
  }
  absl::StrAppend(&out, "A: ", absl::StrJoin(a_names, ", "), "\nB: ",
                  absl::StrJoin(b_names, ", "), "\n");
  const int undecidable = counts[static_cast<int>(Verdict::kUndecidable)];
  if (undecidable > 0) {
    absl::StrAppend(
        &out,
        "With one run on a side nothing is judged: one run cannot tell a "
        "change from this host's\nrun-to-run spread (on a shared host a whole "
        "run moves together). Run replicates\n(`loadtest repeat --runs=3 ...` "
        "for each side, or `loadtest repeat --b-flags=...` for an\n"
        "interleaved A/B) and compare A1 A2 A3 -- B1 B2 B3.\n");
  }
  absl::StrAppendFormat(
      &out,
      "Judged by the spread between runs: regressed or improved when the "
      "change is beyond %.1f%% of A\nand its %.0f%% one-sided bound beyond "
      "0 (the ends of the %s, Welch's t over the\nper-run values); erratic "
      "when a side's CoV exceeds %.0f%%. %d regressed, %d improved, %d "
      "erratic,\n%d undecidable, %d no change.\n",
      100 * options.min_effect, 100 * options.confidence, interval,
      100 * kErraticCov,
      counts[static_cast<int>(Verdict::kRegressed)],
      counts[static_cast<int>(Verdict::kImproved)],
      counts[static_cast<int>(Verdict::kErratic)], undecidable,
      counts[static_cast<int>(Verdict::kNoChange)]);
  return out;
}

std::string FormatReplicates(const std::vector<ComparisonRow>& rows,
                             size_t runs) {
  std::string out = absl::StrFormat("%-18s %12s %12s %8s  %s\n", "figure",
                                    "mean", "sd", "CoV", "per run");
  for (const ComparisonRow& r : rows) {
    std::vector<std::string> values;
    for (double v : r.a.values) values.push_back(absl::StrFormat("%.4g", v));
    absl::StrAppendFormat(&out, "%-18s %12.4g %12.3g %7.1f%%  %s\n", r.figure,
                          r.a.mean, r.a.sd, 100 * r.a.cov,
                          absl::StrJoin(values, " "));
  }
  absl::StrAppendFormat(
      &out,
      "%d run%s. The CoV is this host's run-to-run spread for this workload: "
      "a change smaller\nthan about twice it cannot be told from noise with "
      "this many replicates.\n",
      runs, runs == 1 ? "" : "s");
  return out;
}

}  // namespace loadtest::report
