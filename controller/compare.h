// `loadtest compare A1.json [A2.json ...] -- B1.json [B2.json ...]`: reads
// the --out reports of two sets of runs and judges their key figures
// (report/compare.h: the verdicts, the table and the JSON). Also the
// --min-effect and --confidence flags `compare` and `repeat` share.
#ifndef LOADTEST_CONTROLLER_COMPARE_H_
#define LOADTEST_CONTROLLER_COMPARE_H_

#include "absl/status/statusor.h"
#include "cli/flag_set.h"
#include "report/compare.h"

namespace loadtest::controller {

// The flags `compare` and `repeat` share, in percent: --min-effect and
// --confidence; CompareOptionsFrom checks them (InvalidArgument naming the
// flag and the value).
struct CompareFlags {
  double min_effect_percent = 5;
  double confidence_percent = 95;
};
void RegisterCompareFlags(cli::FlagSet* flags, CompareFlags* values);
absl::StatusOr<report::CompareOptions> CompareOptionsFrom(const CompareFlags& values);

// Where "--" stands in argv (what follows is not parsed as flags), or argc.
int DoubleDashIndex(int argc, char** argv);

// The `loadtest compare` subcommand: argv[0] is "compare". Prints the
// comparison; returns its exit code (above).
int CompareMain(int argc, char** argv);

}  // namespace loadtest::controller

#endif  // LOADTEST_CONTROLLER_COMPARE_H_
