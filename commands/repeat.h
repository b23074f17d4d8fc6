// `loadtest repeat`: replicates of a run, so that a comparison can be
// judged by the spread between runs (compare.h), and an interleaved A/B
// (A1 B1 B2 A2 A3 B3 ...) of two settings or two binaries on one host, so
// that the host's drift over the sitting hits both sides alike.
//
// Each run is a child process (`loadtest` itself, or --a-binary /
// --b-binary) with the flags after `--` (plus --b-flags on side B) and its
// own --out report in --out-dir (a-1.json, b-1.json, ...; its output in
// a-1.log ...). At the end: repeat.json in --out-dir ({"repeat": {"a":
// [reports], "b": [reports]}, "figures" or "comparison"}, the reports named
// relative to --out-dir), which `loadtest compare` also takes as a side,
// and the table. A signal stops starting
// runs (the running one gets it too and ends gracefully); what was
// measured is still summarized.
//
// Thread-safety: RepeatMain is a main; call it from the main thread before
// any other thread starts.
#ifndef LOADTEST_COMMANDS_REPEAT_H_
#define LOADTEST_COMMANDS_REPEAT_H_

#include <string>
#include <vector>

namespace loadtest::commands {

// The run order of an interleaved A/B of `runs` replicates a side: A B B A
// A B B A ..., so that a drift over the sitting (a database that grows run
// after run, a neighbour's load that rises) falls on both sides alike
// rather than always on B, which always came second in A B A B; only "a"
// when `with_b` is false.
std::vector<std::string> RepeatOrder(int runs, bool with_b);

// --b-flags "-batch-size=5 --sync=full" as arguments: split on spaces and
// tabs (no quoting: a flag's value cannot hold a space).
std::vector<std::string> SplitFlags(const std::string& text);

// The `loadtest repeat` subcommand: argv[0] is "repeat". Returns the exit
// code: kExitUsage on a usage error or a run that could not start;
// otherwise, with side B, the comparison's (compare.h); with side A alone,
// 0 when every run wrote its report.
int RepeatMain(int argc, char** argv);

}  // namespace loadtest::commands

#endif  // LOADTEST_COMMANDS_REPEAT_H_
