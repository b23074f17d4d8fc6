#include "report/thresholds.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace loadtest::report {
namespace {

enum class Kind { kLatency, kFraction, kRate, kCount };

struct MetricInfo {
  const char* name;
  Kind kind;
  // Judged on the whole run's stability verdict (report/stability.h):
  // only at the end, only on the total.
  bool stability = false;
};

constexpr MetricInfo kMetrics[] = {
    {"writes_per_s", Kind::kRate},     {"reads_per_s", Kind::kRate},
    {"write_p50", Kind::kLatency},     {"write_p95", Kind::kLatency},
    {"write_p99", Kind::kLatency},     {"write_p999", Kind::kLatency},
    {"write_max", Kind::kLatency},     {"read_p50", Kind::kLatency},
    {"read_p95", Kind::kLatency},      {"read_p99", Kind::kLatency},
    {"read_p999", Kind::kLatency},     {"read_max", Kind::kLatency},
    {"error_rate", Kind::kFraction},   {"queue_utilization", Kind::kFraction},
    {"write_errors", Kind::kCount},    {"write_timeouts", Kind::kCount},
    {"queue_full", Kind::kCount},      {"read_errors", Kind::kCount},
    {"lost", Kind::kCount},            {"generator_bound", Kind::kCount},
    {"checkpoint_starved", Kind::kCount},
    {"healthy_intervals", Kind::kCount}, {"under_stress_intervals", Kind::kCount},
    {"overloaded_intervals", Kind::kCount}, {"healthy_fraction", Kind::kFraction},
    {"stable", Kind::kCount, true},
    {"throughput_drift", Kind::kFraction, true},
    {"p99_drift", Kind::kFraction, true},
};

const MetricInfo* FindMetric(const std::string& name) {
  for (const MetricInfo& m : kMetrics) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

absl::Status ParseError(const std::string& text, size_t position,
                        const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "threshold \"", text, "\": ", what, " at position ", position + 1));
}

double QuantileMs(const stats::LatencyHistogram& h, const std::string& which) {
  if (which == "max") return static_cast<double>(h.max()) / 1e6;
  const double q = which == "p50"    ? 0.50
                   : which == "p95"  ? 0.95
                   : which == "p99"  ? 0.99
                                     : 0.999;
  return static_cast<double>(h.Quantile(q)) / 1e6;
}

double Measure(const std::string& metric, const Figures& f,
               const stats::HealthTally& health, int64_t lost) {
  const stats::IntervalCounters& c = f.counters;
  auto in_state = [&](stats::HealthState state) {
    return static_cast<double>(health.intervals[static_cast<int>(state)]);
  };
  if (metric == "healthy_intervals") return in_state(stats::HealthState::kHealthy);
  if (metric == "under_stress_intervals") {
    return in_state(stats::HealthState::kUnderStress);
  }
  if (metric == "overloaded_intervals") {
    return in_state(stats::HealthState::kOverloaded);
  }
  if (metric == "healthy_fraction") {
    return health.fraction(stats::HealthState::kHealthy);
  }
  if (metric == "writes_per_s") return f.writes_per_s();
  if (metric == "reads_per_s") return f.reads_per_s();
  if (metric == "error_rate") return f.error_rate();
  if (metric == "queue_utilization") return f.queue_utilization();
  if (metric == "write_errors") return static_cast<double>(c.write_errors);
  if (metric == "write_timeouts") return static_cast<double>(c.write_timeouts);
  if (metric == "queue_full") return static_cast<double>(c.queue_full);
  if (metric == "read_errors") return static_cast<double>(c.read_errors);
  if (metric == "lost") return static_cast<double>(lost);
  if (metric == "generator_bound") {
    return static_cast<double>(f.generator_bound_intervals);
  }
  if (metric == "checkpoint_starved") {
    return static_cast<double>(f.starved_intervals);
  }
  const size_t underscore = metric.find('_');
  const std::string which = metric.substr(underscore + 1);
  return QuantileMs(metric.rfind("write_", 0) == 0 ? f.write_latency
                                                   : f.read_latency,
                    which);
}

bool Holds(double measured, Threshold::Op op, double limit) {
  switch (op) {
    case Threshold::Op::kLess:
      return measured < limit;
    case Threshold::Op::kLessEqual:
      return measured <= limit;
    case Threshold::Op::kGreater:
      return measured > limit;
    case Threshold::Op::kGreaterEqual:
      return measured >= limit;
    case Threshold::Op::kEqual:
      return measured == limit;
  }
  return false;
}

// A stability threshold on the run's verdict: `stable` is 1 or 0,
// `throughput_drift` the drift's size per 10 minutes (either way),
// `p99_drift` the p99's change from the first third to the last (signed: a
// p99 that falls passes `p99_drift<20%`). A run not judged (too short, no
// writes, --stages) fails them, its scope saying why.
ThresholdResult StabilityResult(const Threshold& t, const RunSummary& summary) {
  ThresholdResult r;
  r.text = t.text;
  r.scope = "total";
  r.unit = t.metric == "stable" ? "" : "%";
  const std::optional<StabilityVerdict>& v = summary.stability;
  if (!v.has_value() || !v->judged()) {
    r.scope = absl::StrCat(
        "total (not judged: ",
        v.has_value() ? StabilityStateName(v->state) : "no verdict", ")");
    return r;
  }
  r.measured = t.metric == "stable"             ? (v->stable() ? 1 : 0)
               : t.metric == "throughput_drift" ? std::fabs(v->drift)
                                                : v->p99_change;
  r.passed = Holds(r.measured, t.op, t.limit);
  return r;
}

const char* UnitOf(Kind kind) {
  switch (kind) {
    case Kind::kLatency:
      return "ms";
    case Kind::kFraction:
      return "%";
    case Kind::kRate:
      return "/s";
    case Kind::kCount:
      return "";
  }
  return "";
}

}  // namespace

absl::StatusOr<Threshold> ParseThreshold(const std::string& text) {
  Threshold t;
  t.text = text;
  size_t pos = 0;
  auto skip_spaces = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  auto read_word = [&] {
    const size_t start = pos;
    while (pos < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[pos])) ||
            text[pos] == '_' || text[pos] == '-' || text[pos] == '.')) {
      ++pos;
    }
    return text.substr(start, pos - start);
  };
  skip_spaces();
  const size_t first_start = pos;
  std::string word = read_word();
  if (word.empty()) return ParseError(text, pos, "expected a metric name");
  t.scope = "total";
  if (pos < text.size() && text[pos] == ':') {
    t.scope = word;
    ++pos;
    skip_spaces();
    const size_t metric_start = pos;
    word = read_word();
    if (word.empty()) return ParseError(text, metric_start, "expected a metric name");
    t.metric = word;
    if (FindMetric(word) == nullptr) {
      return ParseError(text, metric_start,
                        absl::StrCat("unknown metric \"", word, "\""));
    }
  } else {
    t.metric = word;
    if (FindMetric(word) == nullptr) {
      return ParseError(text, first_start,
                        absl::StrCat("unknown metric \"", word, "\""));
    }
  }
  const Kind kind = FindMetric(t.metric)->kind;
  if (FindMetric(t.metric)->stability && t.scope != "total") {
    return ParseError(text, first_start,
                      absl::StrCat(t.metric,
                                   " judges the whole run's stability: it "
                                   "takes no scope (total only)"));
  }
  skip_spaces();
  const size_t op_start = pos;
  if (text.compare(pos, 2, "<=") == 0) {
    t.op = Threshold::Op::kLessEqual;
    pos += 2;
  } else if (text.compare(pos, 2, ">=") == 0) {
    t.op = Threshold::Op::kGreaterEqual;
    pos += 2;
  } else if (text.compare(pos, 2, "==") == 0) {
    t.op = Threshold::Op::kEqual;
    pos += 2;
  } else if (pos < text.size() && text[pos] == '<') {
    t.op = Threshold::Op::kLess;
    ++pos;
  } else if (pos < text.size() && text[pos] == '>') {
    t.op = Threshold::Op::kGreater;
    ++pos;
  } else {
    return ParseError(text, op_start, "expected one of < <= > >= ==");
  }
  skip_spaces();
  const size_t number_start = pos;
  const char* begin = text.c_str() + pos;
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number) || *begin == '+' || *begin == '-' ||
      std::isspace(static_cast<unsigned char>(*begin))) {
    return ParseError(text, number_start, "expected a number");
  }
  pos += static_cast<size_t>(end - begin);
  const size_t unit_start = pos;
  std::string unit = text.substr(pos);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  // The factor from `unit` to the metric's base unit; 0 when it does not fit.
  double scale = 0;
  switch (kind) {
    case Kind::kLatency:
      if (unit.empty() || unit == "ms") scale = 1;
      if (unit == "s") scale = 1e3;
      if (unit == "us" || unit == "\xC2\xB5s") scale = 1e-3;
      if (unit == "ns") scale = 1e-6;
      break;
    case Kind::kFraction:
      if (unit.empty()) scale = 1;
      if (unit == "%") scale = 0.01;
      break;
    case Kind::kRate:
      if (unit.empty() || unit == "/s") scale = 1;
      break;
    case Kind::kCount:
      if (unit.empty()) scale = 1;
      break;
  }
  if (scale == 0) {
    return ParseError(text, unit_start,
                      absl::StrCat("unit \"", unit, "\" does not fit ", t.metric));
  }
  t.limit = number * scale;
  if (!std::isfinite(t.limit)) {  // e.g. 1e306s in ms.
    return ParseError(text, number_start, "number out of range");
  }
  return t;
}

namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// One of the guide's targets: as the summary names it, as a threshold,
// and its check on a run's total (the value in `unit`).
struct GuideTarget {
  const char* name;
  const char* target;
  const char* threshold;
  const char* unit;
  double (*value)(const Figures& total);
  bool (*met)(const Figures& total, double value);
};

constexpr GuideTarget kGuideTargets[] = {
    {"write throughput", ">= 5000 writes/s", "writes_per_s>=5000", "writes/s",
     [](const Figures& t) { return t.writes_per_s(); },
     [](const Figures&, double v) { return v >= 5000; }},
    {"write p95", "< 100 ms", "write_p95<100ms", "ms",
     [](const Figures& t) { return Ms(t.write_latency.Quantile(0.95)); },
     [](const Figures& t, double v) {
       return t.write_latency.count() > 0 && v < 100;
     }},
    {"write p99", "< 200 ms", "write_p99<200ms", "ms",
     [](const Figures& t) { return Ms(t.write_latency.Quantile(0.99)); },
     [](const Figures& t, double v) {
       return t.write_latency.count() > 0 && v < 200;
     }},
    {"queue utilization", "< 80%", "queue_utilization<80%", "%",
     [](const Figures& t) { return 100 * t.queue_utilization(); },
     [](const Figures& t, double) { return t.queue_utilization() < 0.8; }},
    {"error rate", "< 1%", "error_rate<1%", "%",
     [](const Figures& t) { return 100 * t.error_rate(); },
     [](const Figures& t, double) { return t.error_rate() < 0.01; }},
};

}  // namespace

const std::vector<std::string>& GuideThresholdTexts() {
  static const auto* texts = [] {
    auto* texts = new std::vector<std::string>;
    for (const GuideTarget& g : kGuideTargets) texts->push_back(g.threshold);
    return texts;
  }();
  return *texts;
}

std::vector<TargetCheck> CheckGuideTargets(const Figures& total) {
  std::vector<TargetCheck> checks;
  for (const GuideTarget& g : kGuideTargets) {
    const double value = g.value(total);
    checks.push_back({g.name, g.target, value, g.unit, g.met(total, value)});
  }
  return checks;
}

std::vector<ThresholdResult> EvaluateThresholds(
    const std::vector<Threshold>& thresholds, const RunSummary& summary) {
  std::vector<ThresholdResult> results;
  int64_t lost_total = 0;
  for (const AgentSummary& a : summary.agents) lost_total += a.lost ? 1 : 0;
  for (const Threshold& t : thresholds) {
    const Kind kind = FindMetric(t.metric)->kind;
    if (FindMetric(t.metric)->stability) {
      results.push_back(StabilityResult(t, summary));
      continue;
    }
    auto add = [&](const std::string& scope, const Figures& figures,
                   const stats::HealthTally& health, int64_t lost) {
      ThresholdResult r;
      r.text = t.text;
      r.scope = scope;
      r.measured = Measure(t.metric, figures, health, lost);
      r.unit = UnitOf(kind);
      r.passed = Holds(r.measured, t.op, t.limit);
      results.push_back(r);
    };
    if (t.scope == "total") {
      add("total", summary.total, summary.health, lost_total);
    } else {
      bool found = false;
      for (const AgentSummary& a : summary.agents) {
        if (t.scope == "each" || t.scope == a.agent_id) {
          add(a.agent_id, a.figures, a.health, a.lost ? 1 : 0);
          found = true;
        }
      }
      if (!found) {
        ThresholdResult r;
        r.text = t.text;
        r.scope = absl::StrCat(t.scope, " (not in this run)");
        r.unit = UnitOf(kind);
        results.push_back(r);
      }
    }
  }
  return results;
}

std::optional<ThresholdResult> FirstLiveFailure(
    const std::vector<Threshold>& thresholds, const RunSummary& so_far,
    bool past_grace) {
  for (const Threshold& t : thresholds) {
    const MetricInfo* metric = FindMetric(t.metric);
    if (metric->stability) continue;  // The verdict needs the whole run.
    const bool grows = metric->kind == Kind::kCount || t.metric == "write_max" ||
                       t.metric == "read_max" ||
                       t.metric == "queue_utilization";
    for (const ThresholdResult& r : EvaluateThresholds({t}, so_far)) {
      if (r.passed || r.scope.find("(not in this run)") != std::string::npos) {
        continue;
      }
      const bool upper_bound = t.op == Threshold::Op::kLess ||
                               t.op == Threshold::Op::kLessEqual ||
                               (t.op == Threshold::Op::kEqual && r.measured > t.limit);
      if (past_grace || (grows && upper_bound)) return r;
    }
  }
  return std::nullopt;
}

}  // namespace loadtest::report
