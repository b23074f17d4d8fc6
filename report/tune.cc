#include "report/tune.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace loadtest::report {

std::vector<std::string> TuneConfig::Flags() const {
  std::vector<std::string> flags;
  for (const auto& [knob, value] : settings) {
    flags.push_back(absl::StrCat("--", knob, "=", value));
  }
  return flags;
}

std::string TuneConfig::Label() const {
  if (settings.empty()) return "defaults";
  std::vector<std::string> parts;
  for (const auto& [knob, value] : settings) {
    parts.push_back(absl::StrCat(knob, "=", value));
  }
  return absl::StrJoin(parts, " ");
}

std::string SyncSurvives(const std::string& sync) {
  if (sync == "off") {
    return "an application crash; a power loss or OS crash may corrupt "
           "the database";
  }
  if (sync == "full") return "an application crash and a power loss";
  return "an application crash; a power loss may undo the last commits";
}

const FigureRule& ObjectiveRule(TuneObjective objective) {
  return objective == TuneObjective::kMaxRate ? kMaxRateRule : kWriteP99Rule;
}

// "writes/s" or "ms of write p99": the objective's unit in sentences.
const char* ObjectiveUnit(TuneObjective objective) {
  return objective == TuneObjective::kMaxRate ? "writes/s" : "ms write p99";
}

std::string ConfigName(size_t index) { return absl::StrCat("c", index + 1); }

// The exact flags of a configuration: its settings and its --sync.
std::vector<std::string> FullFlags(const ConfigResult& c) {
  std::vector<std::string> flags = c.config.Flags();
  const bool has_sync =
      std::any_of(c.config.settings.begin(), c.config.settings.end(),
                  [](const auto& s) { return s.first == "sync"; });
  if (!has_sync) flags.push_back(absl::StrCat("--sync=", c.sync));
  return flags;
}

std::vector<double> RunFigure(const ConfigResult& c,
                              std::optional<double> TuneRun::*field) {
  std::vector<double> values;
  for (const TuneRun& run : c.runs) {
    if ((run.*field).has_value()) values.push_back(*(run.*field));
  }
  return values;
}

std::vector<double> ObjectiveValues(const ConfigResult& config,
                                    TuneObjective objective) {
  std::vector<double> values;
  for (const TuneRun& run : config.runs) {
    const std::optional<double>& v =
        objective == TuneObjective::kMaxRate ? run.rate : run.write_p99_ms;
    if (v.has_value()) values.push_back(*v);
  }
  return values;
}

std::vector<TierBest> JudgeSweep(TuneObjective objective,
                                 const CompareOptions& options,
                                 std::vector<ConfigResult>* configs) {
  const FigureRule& rule = ObjectiveRule(objective);
  std::vector<std::string> tiers;
  std::optional<size_t> defaults;
  for (size_t i = 0; i < configs->size(); ++i) {
    ConfigResult& c = (*configs)[i];
    c.against_best.reset();
    const bool held = std::all_of(c.runs.begin(), c.runs.end(),
                                  [](const TuneRun& r) { return r.held; });
    c.verdict = !held ? "did not hold the rate"
                : ObjectiveValues(c, objective).empty() ? "no result"
                                                        : "";
    if (c.config.defaults && c.verdict.empty()) defaults = i;
    if (c.verdict.empty() &&
        std::find(tiers.begin(), tiers.end(), c.sync) == tiers.end()) {
      tiers.push_back(c.sync);
    }
  }
  auto mean = [&](size_t i) {
    return DescribeRuns(ObjectiveValues((*configs)[i], objective)).mean;
  };
  std::vector<TierBest> bests;
  for (const std::string& sync : tiers) {
    TierBest tier;
    tier.sync = sync;
    std::optional<size_t> best;
    for (size_t i = 0; i < configs->size(); ++i) {
      const ConfigResult& c = (*configs)[i];
      if (c.sync != sync || !c.verdict.empty()) continue;
      // On equal means the defaults win: nothing to change for nothing.
      const bool better = !best.has_value() ||
                          (rule.higher_is_better ? mean(i) > mean(*best)
                                                 : mean(i) < mean(*best)) ||
                          (mean(i) == mean(*best) && c.config.defaults);
      if (better) best = i;
    }
    tier.best = *best;
    (*configs)[*best].verdict = "best";
    const std::vector<double> best_values =
        ObjectiveValues((*configs)[*best], objective);
    for (size_t i = 0; i < configs->size(); ++i) {
      ConfigResult& c = (*configs)[i];
      if (c.sync != sync || !c.verdict.empty()) continue;
      c.against_best = CompareValues(rule, best_values,
                                     ObjectiveValues(c, objective), options);
      // Only a difference beyond the noise makes a loser.
      const bool worse = c.against_best->verdict == Verdict::kRegressed;
      c.verdict = worse ? "worse" : "tie";
      if (!worse) tier.ties.push_back(i);
    }
    tier.defaults = defaults;
    if (defaults.has_value() && *defaults != *best) {
      tier.over_defaults =
          CompareValues(rule, ObjectiveValues((*configs)[*defaults], objective),
                        best_values, options);
    }
    bests.push_back(std::move(tier));
  }
  return bests;
}

std::string MarginStatement(const TierBest& tier,
                            const std::vector<ConfigResult>& configs,
                            TuneObjective objective,
                            const CompareOptions& options) {
  if (!tier.defaults.has_value()) {
    return "the defaults gave no result to compare with";
  }
  const std::string defaults =
      absl::StrCat("the defaults (c", *tier.defaults + 1,
                   ", sync=", configs[*tier.defaults].sync, ")");
  if (!tier.over_defaults.has_value()) {
    return absl::StrCat("the defaults are the best of this tier");
  }
  const ComparisonRow& row = *tier.over_defaults;
  const std::string change =
      absl::StrFormat("%+.1f%% %s against %s", row.change_percent,
                      ObjectiveUnit(objective), defaults);
  const std::string bounds = absl::StrFormat(
      "%.0f%% one-sided bounds %+.1f%% .. %+.1f%%", options.confidence * 100,
      row.ci_low_percent, row.ci_high_percent);
  switch (row.verdict) {
    case Verdict::kImproved:
      return absl::StrCat(change, " (", bounds, "): better beyond the noise");
    case Verdict::kRegressed:
      return absl::StrCat(change, " (", bounds,
                          "): worse beyond the noise, the price of its tier");
    case Verdict::kNoChange:
      return absl::StrCat(change, " (", bounds,
                          "): within the noise, not a proven gain");
    case Verdict::kErratic:
      return absl::StrCat(change,
                          ": the runs spread too much (CoV above 30%) to "
                          "call it");
    case Verdict::kUndecidable:
      return absl::StrCat(change,
                          ": undecidable with fewer than two runs on a side");
  }
  return change;
}

}  // namespace loadtest::report
