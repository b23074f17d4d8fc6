// The tables a person reads at the end of a command, as text: compare's
// figures with their verdicts, and tune's configurations with the best per
// durability tier. (A run's live view and summary are display.h.)
// Pure functions; safe from any thread.
#ifndef LOADTEST_REPORT_TEXT_REPORT_H_
#define LOADTEST_REPORT_TEXT_REPORT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "report/compare.h"
#include "report/tune.h"

namespace loadtest::report {

// Compare's table: one row per figure with both sides' mean, sd and CoV,
// the change and its interval, and the verdict; then what the verdicts
// rest on (and, with one run per side, why nothing is decided).
std::string FormatComparison(const std::vector<ComparisonRow>& rows,
                             const std::vector<std::string>& a_names,
                             const std::vector<std::string>& b_names,
                             const CompareOptions& options);

// `loadtest repeat`'s table without a side B: one side's replicates
// described, figure by figure, with what their spread means.
std::string FormatReplicates(const std::vector<ComparisonRow>& rows,
                             size_t runs);

// Tune's table, and the best per tier with its flags.
std::string FormatTune(const std::vector<ConfigResult>& configs,
                       const std::vector<TierBest>& best,
                       TuneObjective objective, const CompareOptions& options);

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_TEXT_REPORT_H_
