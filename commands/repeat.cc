#include "commands/repeat.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/flag_set.h"
#include "cli/signal_watcher.h"
#include "commands/child_run.h"
#include "controller/compare.h"
#include "controller/run_end.h"
#include "report/json_report.h"
#include "report/report_file.h"
#include "report/text_report.h"

namespace loadtest::commands {

using controller::CompareFlags;
using controller::CompareOptionsFrom;
using controller::DoubleDashIndex;
using controller::kExitUsage;
using controller::RegisterCompareFlags;
using report::CompareExitCode;
using report::CompareOptions;
using report::CompareRuns;
using report::CompareWarnings;
using report::FormatComparison;
using report::FormatReplicates;
using report::ParseReportFigures;

namespace {

// The flags repeat sets on each run itself.
constexpr const char* kOwnFlags[] = {"out", "out-intervals", "csv", "html",
                                     "prometheus-targets"};

// The figures a person wants after each run, from its report.
std::string RunLine(const std::string& report_path) {
  std::ifstream in(report_path);
  if (!in) return "no report";
  const nlohmann::json report = ParseReportFigures(in);
  const nlohmann::json::json_pointer writes("/summary/total/writes_per_s");
  const nlohmann::json::json_pointer p99("/summary/total/write_latency_ms/p99");
  if (!report.is_object() || !report.contains(writes) || !report.contains(p99)) {
    return "a report without its summary";
  }
  return absl::StrFormat("%.0f writes/s, write p99 %.2f ms",
                         report.at(writes).get<double>(),
                         report.at(p99).get<double>());
}

absl::StatusOr<nlohmann::json> ReadReportFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  nlohmann::json report = ParseReportFigures(in);
  if (report.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not JSON"));
  }
  return report;
}

}  // namespace

std::vector<std::string> RepeatOrder(int runs, bool with_b) {
  std::vector<std::string> order;
  for (int i = 0; i < runs; ++i) {
    if (!with_b) {
      order.push_back("a");
    } else if (i % 2 == 0) {
      order.insert(order.end(), {"a", "b"});
    } else {
      order.insert(order.end(), {"b", "a"});
    }
  }
  return order;
}

std::vector<std::string> SplitFlags(const std::string& text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

int RepeatMain(int argc, char** argv) {
  int runs = 3;
  std::string out_dir = "loadtest-repeat";
  std::string b_flags;
  std::string a_binary;
  std::string b_binary;
  CompareFlags compare_flags;
  cli::FlagSet flags(
      "loadtest repeat",
      "loadtest repeat [flags] -- LOADTEST FLAGS...\n\nRuns `loadtest` with "
      "LOADTEST FLAGS --runs times (replicates), each with its own\n--out "
      "report in --out-dir (a-1.json, a-2.json, ...; its output in "
      "a-1.log), and prints\neach figure's mean, spread and CoV across the "
      "runs: this host's run-to-run spread.\nWith --b-flags (or --b-binary) "
      "it is an interleaved A/B: A1 B1 B2 A2 A3 B3 ..., side B\nwith those flags "
      "added (or that binary), so that the host's drift hits both sides\n"
      "alike; then the comparison of `loadtest compare` (exit code 0 no "
      "regression, 2 a\nregression, 3 erratic or undecidable). --out-dir/"
      "repeat.json lists the reports\n(`loadtest compare` takes it as a "
      "side). Give --seed for the same messages in every\nrun. Ctrl-C stops "
      "starting runs and summarizes the ones done.\n\n"
      "  loadtest repeat --runs=3 -- --scenario=moderate --duration=30s "
      "--seed=11\n"
      "  loadtest repeat --runs=3 --b-flags='-batch-size=5' -- "
      "--scenario=moderate --duration=30s --seed=11\n");
  flags.AddInt("runs", &runs, "Replicates per side, 1 to 100.");
  flags.AddString("out-dir", &out_dir,
                  "The folder for the runs' reports, logs and repeat.json "
                  "(created if missing).");
  flags.AddString("b-flags", &b_flags,
                  "Flags added on side B (space-separated, no quoting); "
                  "given, even empty, the runs interleave A and B "
                  "(--b-flags= for an A/A).");
  flags.AddString("a-binary", &a_binary,
                  "The loadtest binary of side A (default: this one).");
  flags.AddString("b-binary", &b_binary,
                  "The loadtest binary of side B (default: side A's); "
                  "given, the runs interleave A and B.");
  RegisterCompareFlags(&flags, &compare_flags);
  const int split = DoubleDashIndex(argc, argv);
  std::vector<std::string> stray;
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "loadtest repeat: %s\n", message.c_str());
    return kExitUsage;
  };
  if (absl::Status s = flags.Parse(split, argv, &stray); !s.ok()) {
    return usage(std::string(s.message()));
  }
  if (flags.help_requested()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (!stray.empty()) {
    return usage(absl::StrCat("unexpected argument \"", stray.front(),
                              "\": loadtest's flags go after -- (see --help)"));
  }
  std::vector<std::string> common;
  for (int i = split + 1; i < argc; ++i) common.push_back(argv[i]);
  if (runs < 1 || runs > 100) {
    return usage(absl::StrCat("runs must be between 1 and 100, got ", runs));
  }
  const absl::StatusOr<CompareOptions> options =
      CompareOptionsFrom(compare_flags);
  if (!options.ok()) return usage(std::string(options.status().message()));
  const bool with_b = flags.IsSet("b-flags") || flags.IsSet("b-binary");
  const std::vector<std::string> side_b_flags = SplitFlags(b_flags);
  for (const std::vector<std::string>* list :
       {static_cast<const std::vector<std::string>*>(&common), &side_b_flags}) {
    for (const std::string& arg : *list) {
      const std::string name = FlagName(arg);
      for (const char* own : kOwnFlags) {
        if (name == own) {
          return usage(absl::StrCat(
              "--", own, " is set by repeat on each run (reports go to "
              "--out-dir): leave it out"));
        }
      }
      if (arg == "find-max" || arg == "compare" || arg == "repeat") {
        return usage(absl::StrCat("repeat runs `loadtest` runs, not \"", arg,
                                  "\""));
      }
    }
  }
  if (a_binary.empty()) {
    absl::StatusOr<std::string> self = SelfBinary();
    if (!self.ok()) return usage(std::string(self.status().message()));
    a_binary = *std::move(self);
  }
  if (b_binary.empty()) b_binary = a_binary;
  for (const std::string& binary : {a_binary, b_binary}) {
    if (::access(binary.c_str(), X_OK) != 0) {
      return usage(absl::StrCat("cannot run ", binary, ": ",
                                std::strerror(errno)));
    }
  }
  if (::mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return usage(absl::StrCat("cannot create --out-dir ", out_dir, ": ",
                              std::strerror(errno)));
  }
  const std::vector<std::string> order = RepeatOrder(runs, with_b);
  std::vector<report::OutputFile> outputs = {
      {"--out-dir", out_dir + "/repeat.json"}};
  for (size_t i = 0; i < order.size(); ++i) {
    const int k = static_cast<int>(i / (with_b ? 2 : 1)) + 1;
    outputs.push_back({"--out-dir", absl::StrCat(out_dir, "/", order[i], "-",
                                                 k, ".json")});
  }
  if (absl::Status s = report::CheckOutputFiles(outputs); !s.ok()) {
    return usage(std::string(s.message()));
  }

  std::atomic<pid_t> running{0};
  cli::SignalWatcher signals([&running](int signal_number) {
    // A terminal's Ctrl-C reaches the run too; a signal sent to repeat
    // alone is passed on.
    if (const pid_t pid = running.load(); pid > 0) ::kill(pid, signal_number);
  });
  std::vector<std::string> reports[2];  // Paths as given.
  std::vector<std::string> listed[2];   // In repeat.json: in --out-dir.
  bool failed = false;
  for (size_t i = 0; i < order.size() && signals.received() == 0; ++i) {
    const bool b = order[i] == "b";
    const int k = static_cast<int>(i / (with_b ? 2 : 1)) + 1;
    const std::string stem = absl::StrCat(out_dir, "/", order[i], "-", k);
    std::vector<std::string> args = common;
    if (b) args.insert(args.end(), side_b_flags.begin(), side_b_flags.end());
    args.push_back(absl::StrCat("--out=", stem, ".json"));
    std::printf("repeat: run %zu of %zu (%s %d)%s...\n", i + 1, order.size(),
                b ? "B" : "A", k,
                b && !side_b_flags.empty()
                    ? absl::StrCat(" with ", b_flags).c_str()
                    : "");
    std::fflush(stdout);
    const int code = RunChild(b ? b_binary : a_binary, args, stem + ".log",
                              &running, "loadtest repeat");
    const bool wrote = ::access((stem + ".json").c_str(), R_OK) == 0 &&
                       code != kExitUsage && code != 127;
    std::printf("repeat:   exit %d, %s (log %s.log)\n", code,
                wrote ? RunLine(stem + ".json").c_str() : "no report", stem.c_str());
    std::fflush(stdout);
    if (!wrote) {
      if (signals.received() != 0) break;
      // A run that could not start will not start the next time either.
      std::fprintf(stderr, "loadtest repeat: run %s-%d failed (exit %d); see %s.log\n",
                   order[i].c_str(), k, code, stem.c_str());
      failed = true;
      break;
    }
    reports[b ? 1 : 0].push_back(stem + ".json");
    listed[b ? 1 : 0].push_back(absl::StrCat(order[i], "-", k, ".json"));
  }
  if (signals.received() != 0) {
    std::printf("repeat: interrupted; summarizing the %zu run(s) done\n",
                reports[0].size() + reports[1].size());
  }
  if (reports[0].empty() || (with_b && reports[1].empty())) {
    return failed ? kExitUsage : 128 + signals.received();
  }

  std::vector<nlohmann::json> loaded[2];
  for (int side = 0; side < 2; ++side) {
    for (const std::string& path : reports[side]) {
      absl::StatusOr<nlohmann::json> report = ReadReportFile(path);
      if (!report.ok()) return usage(std::string(report.status().message()));
      loaded[side].push_back(*std::move(report));
    }
  }
  auto rows = CompareRuns(loaded[0], with_b ? loaded[1] : loaded[0], *options);
  if (!rows.ok()) return usage(std::string(rows.status().message()));
  report::RepeatFacts facts;
  facts.reports_a = listed[0];
  facts.runs = runs;
  facts.command = common;
  int exit_code = failed ? kExitUsage : 0;
  if (with_b) {
    facts.with_b = true;
    facts.reports_b = listed[1];
    facts.b_flags = side_b_flags;
    for (const std::string& warning : CompareWarnings(loaded[0][0], loaded[1][0])) {
      std::printf("repeat: the sides differ, as asked: %s\n", warning.c_str());
    }
    std::fputs(FormatComparison(*rows, reports[0], reports[1], *options).c_str(),
               stdout);
    if (!failed) exit_code = CompareExitCode(*rows);
  } else {
    std::fputs(FormatReplicates(*rows, reports[0].size()).c_str(), stdout);
  }
  const nlohmann::json summary = report::RepeatSummaryJson(
      facts, *rows, reports[0], reports[1], *options);
  const std::string summary_path = out_dir + "/repeat.json";
  if (absl::Status s =
          report::WriteTextFile(summary_path, summary.dump(2) + "\n");
      !s.ok()) {
    return usage(std::string(s.message()));
  }
  std::printf("repeat: %s\n", summary_path.c_str());
  if (signals.received() != 0) return 128 + signals.received();
  return exit_code;
}

}  // namespace loadtest::commands
