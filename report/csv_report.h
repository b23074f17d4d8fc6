// The CSV reports of a run (`--csv=PREFIX`), made from the JSON report so
// the two always agree:
//   PREFIX_intervals.csv  one row per agent per interval, then that
//                         interval's TOTAL row (agent column "TOTAL");
//   PREFIX_summary.csv    one row per agent for the whole run, then TOTAL,
//                         with each agent's audit.
// RFC 4180: comma-separated, a header line, fields with a comma, quote or
// line break quoted. Latencies in milliseconds, rates per second, fractions
// as 0..1. Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_CSV_REPORT_H_
#define LOADTEST_REPORT_CSV_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace loadtest::report {

// `report` as RunReportJson makes it from whole interval rows (with their
// `agents`); a run streams the same lines through IntervalLog instead.
std::string IntervalsCsv(const nlohmann::json& report);
// The header line of PREFIX_intervals.csv, and the lines of one interval row
// (IntervalRowJson with agents): one per agent, then TOTAL.
std::string IntervalsCsvHeader();
std::string IntervalCsvRows(const nlohmann::json& row);
std::string SummaryCsv(const nlohmann::json& report);

// The two file names for `prefix`.
std::string IntervalsCsvPath(const std::string& prefix);
// `loadtest find-max --csv=PREFIX`: PREFIX_find_max.csv, one row per step
// of the report's find_max.steps (offered and achieved rate, write
// latency, errors, verdict and reason, the try at its rate and, on the
// deciding try, the rate's verdict).
std::string FindMaxCsvPath(const std::string& prefix);
std::string FindMaxCsv(const nlohmann::json& report);
std::string SummaryCsvPath(const std::string& prefix);
// `loadtest tune --csv=PREFIX`: PREFIX_tune.csv, one row per configuration
// of the report's tune.configs (settings, sync, runs, the rate and write
// p99 over the runs, bytes per row, verdict).
std::string TuneCsvPath(const std::string& prefix);
std::string TuneCsv(const nlohmann::json& report);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_CSV_REPORT_H_
