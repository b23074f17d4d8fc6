// threshold_fuzzer: `--threshold` expressions.
//
// The whole input is one expression for report::ParseThreshold. One that
// parses is evaluated (EvaluateThresholds, FirstLiveFailure before and after
// the grace period) on two fixed summaries: three agents (one lost) with
// real histograms, and an empty run with no agent and no time.
//
// What must hold (else the target traps): the parsed threshold keeps the
// text as given and has a finite limit; evaluation gives one result for the
// total, one per agent for `each`, and one for a named agent (present or
// not); a live failure is one of the failed results of the evaluation, and
// after the grace period every failed result of an agent in the run is one,
// except for the stability metrics, which never fail live.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/aggregator.h"
#include "report/thresholds.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace report = ::loadtest::report;

report::Figures MakeFigures(double seconds, int64_t scale) {
  report::Figures f;
  f.seconds = seconds;
  f.counters.writes_ok = 5000 * scale;
  f.counters.write_errors = scale;
  f.counters.write_timeouts = 2 * scale;
  f.counters.queue_full = 3 * scale;
  f.counters.reads_ok = 700 * scale;
  f.counters.read_errors = scale - 1;
  for (int64_t i = 1; i <= 200; ++i) {
    f.write_latency.RecordN(i * 250'000 * scale, static_cast<uint64_t>(i));
    f.read_latency.RecordN(i * 40'000 * scale, 3);
  }
  f.write_latency.Record(int64_t{7} * 3'600'000'000'000);  // Past the top.
  f.peak_queue_depth = static_cast<int>(900 * scale);
  f.queue_size = 10000;
  f.batches = 50 * scale;
  f.rows_committed = 5000 * scale;
  return f;
}

report::RunSummary ThreeAgents() {
  report::RunSummary summary;
  summary.seconds = 30;
  const char* ids[] = {"agent-1", "agent-2", "agent-3"};
  for (int64_t i = 0; i < 3; ++i) {
    report::AgentSummary a;
    a.agent_id = ids[i];
    a.figures = MakeFigures(30 - 10.0 * static_cast<double>(i), i + 1);
    a.lost = i == 1;
    if (a.lost) a.lost_reason = "stream failed";
    a.finished = !a.lost;
    summary.total.MergeAgent(a.figures);
    summary.agents.push_back(a);
  }
  summary.partial = true;
  return summary;
}

void Evaluate(const report::Threshold& t,
              const report::RunSummary& summary) {
  const std::vector<report::Threshold> thresholds = {t};
  const std::vector<report::ThresholdResult> results =
      report::EvaluateThresholds(thresholds, summary);
  size_t expected = 1;
  if (t.scope == "each" && !summary.agents.empty()) {
    expected = summary.agents.size();
  } else if (t.scope != "total" && t.scope != "each") {
    size_t named = 0;
    for (const auto& a : summary.agents) named += a.agent_id == t.scope;
    expected = named > 0 ? named : 1;
  }
  FUZZ_CHECK(results.size() == expected);
  bool failed_in_run = false;
  for (const auto& r : results) {
    FUZZ_CHECK(r.text == t.text);
    if (!r.passed && r.scope.find("(not in this run)") == std::string::npos) {
      failed_in_run = true;
    }
  }
  for (bool past_grace : {false, true}) {
    const std::optional<report::ThresholdResult> live =
        report::FirstLiveFailure(thresholds, summary, past_grace);
    if (live.has_value()) {
      FUZZ_CHECK(!live->passed);
      bool found = false;
      for (const auto& r : results) {
        found |= r.scope == live->scope && !r.passed &&
                 (r.measured == live->measured ||
                  (std::isnan(r.measured) && std::isnan(live->measured)));
      }
      FUZZ_CHECK(found);
    }
    // The stability metrics need the whole run: never a live failure.
    const bool end_only = t.metric == "stable" ||
                          t.metric == "throughput_drift" ||
                          t.metric == "p99_drift";
    if (end_only) FUZZ_CHECK(!live.has_value());
    if (past_grace && !end_only) {
      FUZZ_CHECK(live.has_value() == failed_in_run);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Expressions are short; long inputs only slow the search down.
  if (size > 256) return -1;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<report::Threshold> t =
      report::ParseThreshold(text);
  if (!t.ok()) {
    FUZZ_CHECK(!t.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(t->text == text);
  FUZZ_CHECK(std::isfinite(t->limit));
  static const report::RunSummary* const kThreeAgents =
      new report::RunSummary(ThreeAgents());
  static const report::RunSummary* const kEmpty =
      new report::RunSummary();
  Evaluate(*t, *kThreeAgents);
  Evaluate(*t, *kEmpty);
  return 0;
}
