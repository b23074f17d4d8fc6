#include "report/find_max_judge.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "duration/duration.h"
#include "protocol/peer_text.h"
#include "report/concurrency.h"
#include "report/display.h"
#include "report/thresholds.h"

namespace loadtest::report {

namespace {

std::string Rate(double rate) { return absl::StrFormat("%.0f/s", rate); }

// Figures no honest agent reports: more acknowledged than offered, more in
// flight than its writers, or faster than its writers could go at the
// quickest latency it measured (each writer waits for its write: at most
// one write per writer per min latency).
void WarnAboutImpossibleFigures(StepResult* step) {
  for (const AgentSummary& agent : step->measured.agents) {
    const Figures& f = agent.figures;
    const std::string who =
        absl::StrCat("agent ", protocol::PeerText(agent.agent_id));
    const double ok = static_cast<double>(f.counters.writes_ok);
    // The backlog of the warm-up may drain into the measured intervals:
    // 10% and a few writes of slack.
    if (f.offered_writes > 0 && ok > 1.1 * f.offered_writes + 10) {
      step->warnings.push_back(absl::StrFormat(
          "%s reported %.0f writes acknowledged but the schedule offered "
          "%.0f: more achieved than offered is impossible",
          who, ok, f.offered_writes));
    }
    if (step->writers > 0 && f.writes_in_flight.max() > step->writers) {
      step->warnings.push_back(absl::StrFormat(
          "%s reported %d writes in flight with %d writers: impossible",
          who, f.writes_in_flight.max(), step->writers));
    }
    const int64_t fastest_ns = f.write_latency.min();
    if (step->writers > 0 && f.seconds > 0 && fastest_ns > 0) {
      // Little's law: rate <= writers / latency, even at the quickest.
      const double possible = step->writers / (fastest_ns / 1e9);
      if (f.writes_per_s() > 1.1 * possible + 10) {
        step->warnings.push_back(absl::StrFormat(
            "%s reported %.0f writes/s, more than %d writers can do at its "
            "quickest write (%s): impossible by Little's law",
            who, f.writes_per_s(), step->writers,
            FormatLatency(fastest_ns)));
      }
    }
  }
}

}  // namespace

void JudgeStep(const FindMaxOptions& options, StepResult* step) {
  const Figures& total = step->measured.total;
  const stats::IntervalCounters& c = total.counters;
  auto fail = [step](Limit limit, std::string reason) {
    step->passed = false;
    step->limit = limit;
    step->reason = std::move(reason);
  };
  step->passed = true;
  step->limit = Limit::kNone;
  step->reason.clear();
  step->warnings.clear();
  WarnAboutImpossibleFigures(step);
  auto fail_cpu = [&]() {
    return fail(Limit::kGenerator,
                absl::StrCat("load generator limited: ",
                             absl::StrJoin(step->generator_bound, "; "),
                             " (not the store)"));
  };
  if (total.seconds <= 0 && !step->generator_bound.empty()) return fail_cpu();
  if (total.seconds <= 0 || c.writes_ok + c.write_errors + c.write_timeouts +
                                    c.queue_full ==
                                0) {
    return fail(Limit::kThroughput,
                "no write was measured after the warm-up (is the step "
                "longer than the log interval?)");
  }
  for (const ThresholdResult& r :
       EvaluateThresholds(options.slos, step->measured)) {
    if (!r.passed) {
      fail(Limit::kSlo,
           absl::StrFormat("SLO %s failed: measured %.3f%s%s", r.text,
                           r.measured, r.unit,
                           r.scope == "total" ? ""
                                              : absl::StrCat(" on ", r.scope)));
      break;
    }
  }
  if (step->passed && step->audit_failed) {
    fail(Limit::kErrors, "an agent's durability audit failed");
  }
  if (step->passed && (c.queue_full > 0 || c.write_timeouts > 0)) {
    fail(Limit::kErrors,
         absl::StrCat(c.queue_full, " writes refused (queue full), ",
                      c.write_timeouts, " timed out"));
  }
  // Achieved against offered as counts: the writes the schedule made due in
  // the measured intervals, and those acknowledged (a final interval that
  // includes the drain counts the drained writes, offered before the stop).
  const double achieved_share =
      total.offered_writes > 0
          ? static_cast<double>(c.writes_ok) / total.offered_writes
          : total.writes_per_s() / step->offered_rate;
  if (step->passed && achieved_share < options.min_achieved) {
    fail(Limit::kThroughput,
         absl::StrFormat("achieved %.0f/s, %.1f%% of the %.0f/s "
                         "offered (needs %.0f%%)",
                         total.writes_per_s(), 100 * achieved_share,
                         step->offered_rate, 100 * options.min_achieved));
  }
  if (!step->passed) {
    // The store failed it while every writer of an agent was busy. If the
    // writers covered rate x latency bound, the store held each write past
    // the bound: its limit, whatever the CPU did meanwhile (the process
    // also runs the store, whose backlog keeps it busy). If not, the
    // writers were the cap.
    const double rate_per_agent =
        step->offered_rate / std::max(1, step->agents);
    const int needed = NeededInFlight(rate_per_agent, options.latency_bound);
    const bool all_busy =
        step->writers > 0 && step->max_in_flight() >= step->writers;
    if (all_busy && step->writers >= needed) {
      step->reason += absl::StrCat(" (all ", step->writers,
                                   " writers were busy waiting on the store)");
      return;
    }
    if (all_busy && step->writers < needed) {
      return fail(
          Limit::kGenerator,
          absl::StrCat(
              "load generator limited: every one of the ", step->writers,
              " writers per agent was busy (",
              step->writers_auto
                  ? absl::StrCat("the cap of ", step->writers,
                                 " writers per agent")
                  : "the --writers given",
              "), and ", Rate(rate_per_agent), " per agent needs ", needed,
              " in flight at up to ",
              duration::FormatDuration(options.latency_bound), " each; the store "
              "then: ", step->reason,
              step->writers_auto ? " (add agents)"
                                 : " (raise --writers, or leave it out to "
                                   "size the writers by the rate)"));
    }
    // Otherwise a generator short of CPU comes first: its delays are in
    // the latencies the store failed on.
    if (!step->generator_bound.empty()) return fail_cpu();
    return;
  }
  if (!step->generator_bound.empty()) return fail_cpu();
  // Last: operations late with a worker free for them, while the store met
  // everything above: the host did not run the generator on time. (Waiting
  // for a free worker, i.e. for the store, is not counted here.)
  if (!step->behind_schedule.empty()) {
    return fail(Limit::kGenerator,
                absl::StrCat("load generator limited: ",
                             absl::StrJoin(step->behind_schedule, "; "),
                             " (not the store: the host did not run the "
                             "load generator on time; a less busy host, or "
                             "more agents)"));
  }
}

}  // namespace loadtest::report
