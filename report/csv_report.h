// The CSV reports, made from the typed figures (the ones the JSON report is
// made from, never from the JSON itself):
//   PREFIX_intervals.csv  one row per agent per interval, then that
//                         interval's TOTAL row (agent column "TOTAL");
//   PREFIX_summary.csv    one row per agent for the whole run, then TOTAL,
//                         with each agent's audit;
//   PREFIX_find_max.csv   `loadtest find-max`: one row per step;
//   PREFIX_tune.csv       `loadtest tune`: one row per configuration.
// RFC 4180: comma-separated, a header line, CRLF, fields with a comma,
// quote or line break quoted. Latencies in milliseconds, rates per second,
// fractions as 0..1. Each number is written as the JSON report writes the
// same figure (integers exact, doubles by the JSON library's shortest
// round-trip writer: 1.0, 0.25, 1e-05), so the two agree digit for digit;
// a figure the JSON leaves out or writes as null is an empty field.
// Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_CSV_REPORT_H_
#define LOADTEST_REPORT_CSV_REPORT_H_

#include <string>
#include <vector>

#include "report/aggregator.h"
#include "report/find_max_result.h"
#include "report/scenario.h"
#include "report/tune.h"

namespace loadtest::report {

// The header line of PREFIX_intervals.csv: sequence, start_s, end_s,
// agent, then the figure columns (docs/report-format.md).
std::string IntervalsCsvHeader();
// The lines of one interval row: one per agent in `row.agents`' order (its
// health state and reasons included), then TOTAL. The interval log writes
// them as the rows complete.
std::string IntervalCsvRows(const IntervalRow& row);
// The header, then every row's lines (small runs and tests; a run streams
// them through IntervalLog instead).
std::string IntervalsCsv(const std::vector<IntervalRow>& rows);

// PREFIX_summary.csv: per agent its figures over the run, its intervals in
// each health state and its audit (empty without one: a lost agent); then
// TOTAL with the run's audit, the scenario's verdict (`judgement`; empty
// fields when null) and the stability verdict (summary.stability; empty
// when unset, its trends empty when not judged).
std::string SummaryCsv(const RunSummary& summary,
                       const ScenarioJudgement* judgement);

// The two file names for `prefix`.
std::string IntervalsCsvPath(const std::string& prefix);
std::string SummaryCsvPath(const std::string& prefix);

// `loadtest find-max --csv=PREFIX`: PREFIX_find_max.csv, one row per step
// of `result` in the order run (offered and achieved rate, write latency,
// errors, verdict and reason, the try at its rate and, on the deciding
// try, the rate's verdict).
std::string FindMaxCsvPath(const std::string& prefix);
std::string FindMaxCsv(const FindMaxResult& result);

// `loadtest tune --csv=PREFIX`: PREFIX_tune.csv, one row per configuration
// in `configs`' order, named as ConfigName numbers them (settings, sync,
// the rate and write p99 over the runs, bytes per row, verdict, runs).
std::string TuneCsvPath(const std::string& prefix);
std::string TuneCsv(const std::vector<ConfigResult>& configs);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_CSV_REPORT_H_
