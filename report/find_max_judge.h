// Judging one find-max step: from its measured figures to passed or
// failed, the first cause (Limit) and the reason in words, and the warnings
// about figures no honest agent reports. The order and the rules are
// find-max's (controller/find_max.h describes the search); pure, safe from
// any thread.
#ifndef LOADTEST_REPORT_FIND_MAX_JUDGE_H_
#define LOADTEST_REPORT_FIND_MAX_JUDGE_H_

#include "report/find_max_result.h"

namespace loadtest::report {

// Judges `step` (offered_rate, agents, writers, measured, generator_bound,
// behind_schedule, audit_failed set) and sets passed, limit, reason and
// warnings. A step fails, in this order, when an agent's CPU limited it
// (protocol/validity.h), an SLO fails, the durability audit fails,
// queue-full or timed-out writes appear, the achieved rate falls below
// options.min_achieved of the offered one, or an agent's operations fell
// behind schedule with a worker free for them while the store met all
// that. A store failure while every writer of an agent was busy and the
// writers were fewer than the rate needs (report/concurrency.h) is the
// generator's cap, named as such.
void JudgeStep(const FindMaxOptions& options, StepResult* step);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_FIND_MAX_JUDGE_H_
