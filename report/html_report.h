// The HTML report of a run (`--html=FILE`): one self-contained file that
// opens with no network. Made from the JSON report, so it shows the same
// figures: the verdict, the manifest (version, mode, start and end time,
// parameters, agents), the summary per agent and in total, the thresholds,
// the guide's targets, the audit, and charts over time drawn as inline SVG
// by this program (no script, no fonts, nothing fetched):
//   write and read throughput per agent and in total, write and read
//   p95/p99 (total, and p99 per agent), queue utilization per agent, and
//   errors per interval.
// Each chart is an <svg class="chart" data-chart="NAME"> whose lines are
// <path class="series" data-series="NAME">. Pure; safe from any thread.
#ifndef LOADTEST_REPORT_HTML_REPORT_H_
#define LOADTEST_REPORT_HTML_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace loadtest::report {

// `report` as FinishRun writes it (RunReportJson plus the manifest).
std::string HtmlReport(const nlohmann::json& report);

// `loadtest find-max --html`: the answer, the limit, the SLOs, a chart of
// write latency (p50, p95, p99) against each step's achieved rate
// (data-chart="find-max", a circle per step with data-offered and
// data-passed) and the table of steps. Self-contained like HtmlReport.
std::string FindMaxHtmlReport(const nlohmann::json& report);

// `loadtest tune --html`: the best configuration per durability tier with
// its flags, ties and margin over the defaults, a chart of write p99
// against the rate (data-chart="tune", one marker per configuration with a
// result: a path.series with data-series="cN" and data-verdict), and the
// table of configurations. Self-contained like HtmlReport.
std::string TuneHtmlReport(const nlohmann::json& report);

// The data-chart names, in page order.
inline constexpr const char* kHtmlChartNames[] = {
    "write_throughput", "read_throughput",   "write_latency",
    "read_latency",     "queue_utilization", "wal_size",
    "commit_latency",   "generator_cpu",     "checkpoints",
    "errors"};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_HTML_REPORT_H_
