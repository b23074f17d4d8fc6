#include "controller/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/flag_set.h"
#include "controller/run_end.h"
#include "protocol/peer_text.h"
#include "report/json_report.h"
#include "report/report_file.h"
#include "report/text_report.h"
#include "status/status_macros.h"

namespace loadtest::controller {

using report::CompareExitCode;
using report::CompareOptions;
using report::CompareRuns;
using report::CompareWarnings;
using report::ComparisonJson;
using report::ComparisonRow;
using report::FormatComparison;
using report::ParseReportFigures;
using report::Verdict;

void RegisterCompareFlags(cli::FlagSet* flags, CompareFlags* values) {
  flags->AddDouble("min-effect", &values->min_effect_percent,
                   "Percent of A's mean a change must exceed to be a "
                   "regression or an improvement.");
  flags->AddDouble("confidence", &values->confidence_percent,
                   "Confidence of the one-sided bounds of the change, in "
                   "percent (50 to 99.9).");
}

absl::StatusOr<CompareOptions> CompareOptionsFrom(const CompareFlags& values) {
  if (!(values.min_effect_percent >= 0) || values.min_effect_percent > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("min-effect must be between 0 and 1000, got ",
                     values.min_effect_percent));
  }
  if (!(values.confidence_percent >= 50) || values.confidence_percent > 99.9) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence must be between 50 and 99.9, got ",
                     values.confidence_percent));
  }
  CompareOptions options;
  options.min_effect = values.min_effect_percent / 100;
  options.confidence = values.confidence_percent / 100;
  return options;
}

int DoubleDashIndex(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") return i;
  }
  return argc;
}

namespace {

// The reports a name stands for: a --out report itself, or a `loadtest
// repeat` summary (its `repeat.a` or `repeat.b` for side `side`, "a" or
// "b"). A summary's reports must be reports (`expand` is false for them):
// a summary that lists itself is refused, not followed for ever.
absl::Status LoadSide(const std::vector<std::string>& files,
                      const std::string& side,
                      std::vector<std::string>* names,
                      std::vector<nlohmann::json>* reports,
                      bool expand = true) {
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", file));
    nlohmann::json report = ParseReportFigures(in);
    if (report.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(file, " is not JSON"));
    }
    if (report.is_object() && report.contains("repeat")) {
      if (!expand || !report["repeat"].is_object() ||
          !report["repeat"].contains(side)) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, " is a `loadtest repeat` summary with no side ", side,
            " here (a summary's runs must be reports)"));
      }
      // Listed relative to the summary's own folder.
      const size_t slash = file.rfind('/');
      const std::string folder =
          slash == std::string::npos ? "" : file.substr(0, slash + 1);
      std::vector<std::string> listed;
      for (const nlohmann::json& path : report["repeat"][side]) {
        if (!path.is_string()) continue;
        const std::string p = path.get<std::string>();
        listed.push_back(!p.empty() && p[0] == '/' ? p : folder + p);
      }
      RETURN_IF_ERROR(LoadSide(listed, side, names, reports, /*expand=*/false));
      continue;
    }
    names->push_back(file);
    reports->push_back(std::move(report));
  }
  return absl::OkStatus();
}

// False when both reports carry a workload fingerprint and they differ
// (CompareWarnings then names the parameters that do).
bool SameWorkload(const nlohmann::json& a, const nlohmann::json& b) {
  const nlohmann::json::json_pointer fingerprint("/run/fingerprint");
  return !a.is_object() || !b.is_object() || !a.contains(fingerprint) ||
         !b.contains(fingerprint) || a.at(fingerprint) == b.at(fingerprint);
}

// The run-to-run CoV an earlier comparison's --json measured, per figure
// key: the larger of its two sides'.
absl::StatusOr<std::map<std::string, double>> MeasuredSpread(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("figures") || !j["figures"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a comparison's --json (no figures[])"));
  }
  std::map<std::string, double> spread;
  for (const nlohmann::json& f : j["figures"]) {
    if (!f.is_object() || !f.contains("key") || !f["key"].is_string()) continue;
    double cov = 0;
    for (const char* side : {"a", "b"}) {
      if (f.contains(side) && f[side].is_object() &&
          f[side].value("n", 0) >= 2 && f[side].contains("cov") &&
          f[side]["cov"].is_number()) {
        cov = std::max(cov, f[side]["cov"].get<double>());
      }
    }
    spread[f["key"].get<std::string>()] = cov;
  }
  return spread;
}

}  // namespace

// `loadtest compare [flags] A1.json [A2.json ...] -- B1.json [B2.json ...]`,
// or `loadtest compare A.json B.json`.
int CompareMain(int argc, char** argv) {
  CompareFlags compare_flags;
  std::string json_path;
  std::string spread_path;
  cli::FlagSet flags(
      "loadtest compare",
      "loadtest compare [flags] A1.json [A2.json ...] -- B1.json [B2.json "
      "...]\nloadtest compare [flags] A.json B.json\n\nThe key figures of "
      "two sets of runs (--out reports, or `loadtest repeat` summaries)\n"
      "side by side, judged by the spread BETWEEN runs: each figure's mean, "
      "standard deviation\nand CoV per side, the change of the means and "
      "its confidence interval (Welch's t).\nVerdicts: regressed / improved "
      "(beyond --min-effect and outside the interval),\nerratic (a side's "
      "CoV above 30%: never a regression), no change; with one run on a\n"
      "side, undecidable (one run cannot tell a change from the host's "
      "run-to-run spread).\nWarns when the sides' workloads differ "
      "(run.fingerprint); refuses a side whose runs differ.\nExit codes: 0 "
      "no regression; 1 usage error (missing or unreadable report); 2 a\n"
      "regression; 3 no regression but a figure erratic or undecidable.\n");
  RegisterCompareFlags(&flags, &compare_flags);
  flags.AddDouble("tolerance", &compare_flags.min_effect_percent,
                  "The same as --min-effect (its earlier name).");
  flags.AddString("spread", &spread_path,
                  "The --json of an earlier comparison on this host (an A/A "
                  "of replicates): with one run on a side, each figure's "
                  "run-to-run spread (CoV) it measured is named.");
  flags.AddString("json", &json_path,
                  "Also write the comparison as JSON to this file (for a "
                  "pull-request comment).");
  // Everything after "--" is side B; FlagSet reads the rest.
  const int split = DoubleDashIndex(argc, argv);
  std::vector<std::string> a_files, b_files;
  if (absl::Status s = flags.Parse(split, argv, &a_files); !s.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (split < argc) {
    for (int i = split + 1; i < argc; ++i) b_files.push_back(argv[i]);
  } else if (a_files.size() == 2) {
    b_files.push_back(a_files.back());
    a_files.pop_back();
  }
  if (a_files.empty() || b_files.empty()) {
    std::fprintf(stderr,
                 "loadtest compare: needs reports on both sides (A.json "
                 "B.json, or A1 A2 ... -- B1 B2 ...; see --help)\n");
    return kExitUsage;
  }
  const absl::StatusOr<CompareOptions> checked =
      CompareOptionsFrom(compare_flags);
  if (!checked.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 std::string(checked.status().message()).c_str());
    return kExitUsage;
  }
  const CompareOptions& options = *checked;
  std::vector<std::string> names[2];
  std::vector<nlohmann::json> reports[2];
  for (int side = 0; side < 2; ++side) {
    if (absl::Status s = LoadSide(side == 0 ? a_files : b_files,
                                  side == 0 ? "a" : "b", &names[side],
                                  &reports[side]);
        !s.ok()) {
      std::fprintf(stderr, "loadtest compare: %s\n",
                   protocol::PeerText(std::string(s.message()), 4096).c_str());
      return kExitUsage;
    }
    // Replicates are runs of one workload: a side that mixes two is not.
    for (size_t i = 1; i < reports[side].size(); ++i) {
      if (SameWorkload(reports[side][0], reports[side][i])) continue;
      std::fprintf(stderr,
                   "loadtest compare: %s and %s are not replicates: %s\n",
                   names[side][0].c_str(), names[side][i].c_str(),
                   protocol::PeerText(
                       CompareWarnings(reports[side][0], reports[side][i])
                           .front(),
                       4096)
                       .c_str());
      return kExitUsage;
    }
  }
  auto rows = CompareRuns(reports[0], reports[1], options);
  if (!rows.ok()) {
    std::fprintf(stderr, "loadtest compare: %s\n",
                 protocol::PeerText(std::string(rows.status().message()), 4096).c_str());
    return kExitUsage;
  }
  // Across the sides the setting under test differs by design: said
  // loudly, not refused. The parameters' names and values come from the
  // files as they are: escaped, as text from an agent is.
  for (const std::string& warning :
       CompareWarnings(reports[0][0], reports[1][0])) {
    std::fprintf(stderr, "loadtest compare: WARNING: %s\n",
                 protocol::PeerText(warning, 4096).c_str());
  }
  std::fputs(FormatComparison(*rows, names[0], names[1], options).c_str(),
             stdout);
  if (!spread_path.empty()) {
    absl::StatusOr<std::map<std::string, double>> spread =
        MeasuredSpread(spread_path);
    if (!spread.ok()) {
      std::fprintf(stderr, "loadtest compare: %s\n",
                   protocol::PeerText(std::string(spread.status().message()), 4096).c_str());
      return kExitUsage;
    }
    std::printf("This host's run-to-run spread (CoV per run, from %s):",
                spread_path.c_str());
    for (const ComparisonRow& r : *rows) {
      auto it = spread->find(r.key);
      if (it == spread->end()) continue;
      std::printf(" %s %.1f%%%s", r.figure.c_str(), 100 * it->second,
                  r.verdict == Verdict::kUndecidable &&
                          std::fabs(r.change_percent) < 200 * it->second
                      ? " (the change is within twice that)"
                      : "");
      std::printf(";");
    }
    std::printf("\n");
  }
  if (!json_path.empty()) {
    if (absl::Status s = report::WriteTextFile(
            json_path,
            ComparisonJson(*rows, names[0], names[1], options).dump(2) + "\n");
        !s.ok()) {
      std::fprintf(stderr, "loadtest compare: %s\n",
                   std::string(s.message()).c_str());
      return kExitUsage;
    }
  }
  return CompareExitCode(*rows);
}

}  // namespace loadtest::controller
