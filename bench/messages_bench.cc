// messages_bench: how fast the message sources make rows and a replayed
// file is parsed, on one core (docs/messages.md). Generation must never be
// what limits a run: the realistic generator should make at least 500,000
// rows/s, the replay parser read at least 1,000,000 lines/s.
//
// Each figure times one thread doing only that work:
//  - generate: `rows` rows of writer 0 from the original and the realistic
//    generator, and from a replayed file (copying a parsed line);
//  - parse: ParseCorpus over a file of `lines` realistic rows written out
//    in each format (RFC 5424, RFC 3164, plain, JSON lines), and as
//    `journalctl -o json` writes them (JSON lines of about 1 KB: "journal"),
//    made in memory before the clock starts.
// Times are the thread's CPU time, not the wall clock: on a shared machine
// the time other processes hold the core does not count against a parser.
// Prints a table, or one JSON object (--json).
#include <time.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"
#include "agent/log_replay.h"
#include "agent/message_source.h"
#include "agent/realistic_generator.h"
#include "cli/flag_set.h"
#include "nlohmann/json.hpp"
#include "protocol/run_spec.h"

namespace {

using loadtest::agent::MessageSource;
using loadtest::agent::MessageStream;
using loadtest::protocol::MessageFormat;
using loadtest::protocol::MessageOptions;
using loadtest::storage::LogEntry;

constexpr char kIntro[] =
    "messages_bench: rows per second of each message source, and lines per "
    "second of the replay parser per format, on one thread (per second of "
    "its CPU time).";

// The calling thread's CPU time, in seconds.
double CpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) +
         static_cast<double>(now.tv_nsec) / 1e9;
}

// Rows per second of `rows` rows of writer 0 of `options`' source.
double GenerateRate(const MessageOptions& options, int64_t rows) {
  auto source = MessageSource::Create(options, 1);
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", source.status().ToString().c_str());
    return 0;
  }
  std::unique_ptr<MessageStream> stream =
      (*source)->NewStream(0, loadtest::agent::WriterSeed(1, 0));
  size_t bytes = 0;  // Used, so the rows are not optimised away.
  const double start = CpuSeconds();
  for (int64_t i = 0; i < rows; ++i) bytes += stream->Next().message.size();
  const double seconds = CpuSeconds() - start;
  if (bytes == 0) std::fprintf(stderr, "no bytes generated\n");
  return static_cast<double>(rows) / seconds;
}

// A realistic row written out as a line of `format`.
std::string Line(const LogEntry& e, MessageFormat format) {
  switch (format) {
    case MessageFormat::kRfc5424:
      return absl::StrCat("<", e.priority, ">1 2026-12-07T06:56:49.123Z ",
                          e.hostname, " ", e.app_name, " ", e.proc_id, " ",
                          e.msg_id, " - ", e.message);
    case MessageFormat::kRfc3164:
      return absl::StrCat("<", e.priority, ">Dec  7 06:56:49 ", e.hostname,
                          " ", e.app_name, "[", e.proc_id, "]: ", e.message);
    case MessageFormat::kJsonl:
      return nlohmann::json{{"message", e.message},
                            {"hostname", e.hostname},
                            {"app_name", e.app_name},
                            {"proc_id", e.proc_id},
                            {"severity", e.severity},
                            {"facility", e.facility}}
          .dump();
    case MessageFormat::kPlain:
    case MessageFormat::kAuto:
      break;
  }
  return e.message;
}

// A realistic row as `journalctl -o json` writes an entry: its columns
// among some twenty fields of the journal's own (ids, stamps, the unit, the
// source line), about 1 KB a line. `i` numbers the entry.
std::string JournalLine(const LogEntry& e, int64_t i) {
  const int64_t usec = 1733550000000000 + i * 1000;
  return nlohmann::json{
      {"__CURSOR",
       absl::StrCat("s=0c7f5b1e2d3a4c5b9e8f7a6b5c4d3e2f;i=", i,
                    ";b=9d8c7b6a5f4e3d2c1b0a998877665544;m=", i * 13,
                    ";t=", usec, ";x=a1b2c3d4e5f60718")},
      {"__REALTIME_TIMESTAMP", absl::StrCat(usec)},
      {"__MONOTONIC_TIMESTAMP", absl::StrCat(i * 13)},
      {"_BOOT_ID", "9d8c7b6a5f4e3d2c1b0a998877665544"},
      {"_MACHINE_ID", "0123456789abcdef0123456789abcdef"},
      {"_HOSTNAME", e.hostname},
      {"PRIORITY", absl::StrCat(e.severity)},
      {"SYSLOG_FACILITY", absl::StrCat(e.facility)},
      {"_UID", "0"},
      {"_GID", "0"},
      {"_CAP_EFFECTIVE", "1ffffffffff"},
      {"_TRANSPORT", "syslog"},
      {"_SYSTEMD_CGROUP",
       absl::StrCat("/system.slice/", e.app_name, ".service")},
      {"_SYSTEMD_UNIT", absl::StrCat(e.app_name, ".service")},
      {"_SYSTEMD_SLICE", "system.slice"},
      {"_SYSTEMD_INVOCATION_ID", "5e4d3c2b1a0918273645546372819000"},
      {"SYSLOG_IDENTIFIER", e.app_name},
      {"SYSLOG_TIMESTAMP", "Dec  7 06:56:49 "},
      {"_PID", e.proc_id},
      {"_COMM", e.app_name},
      {"_EXE", absl::StrCat("/usr/sbin/", e.app_name)},
      {"_CMDLINE", absl::StrCat("/usr/sbin/", e.app_name, " -D")},
      {"MESSAGE", e.message},
      {"_SOURCE_REALTIME_TIMESTAMP", absl::StrCat(usec - 7)}}
      .dump();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1000000;
  int64_t lines = 500000;
  bool json = false;
  loadtest::cli::FlagSet flags("messages_bench", kIntro);
  flags.AddInt("rows", &rows, "Rows generated per source.");
  flags.AddInt("lines", &lines, "Lines of the file parsed per format.");
  flags.AddBool("json", &json, "Print one JSON object instead of a table.");
  if (std::optional<int> exit_code = flags.ParseCommandLine(argc, argv)) {
    return *exit_code;
  }
  if (rows < 1 || lines < 1) {
    std::fprintf(stderr, "rows and lines must be >= 1, got %lld and %lld\n",
                 static_cast<long long>(rows), static_cast<long long>(lines));
    return 1;
  }
  nlohmann::json out = {{"rows", rows}, {"lines", lines}};

  MessageOptions original;
  MessageOptions realistic;
  realistic.source = loadtest::protocol::MessageSource::kRealistic;
  out["generate_rows_per_s"]["original"] = GenerateRate(original, rows);
  out["generate_rows_per_s"]["realistic"] = GenerateRate(realistic, rows);

  // The realistic rows the files are made of.
  const std::vector<LogEntry> sample = loadtest::agent::SampleRows(
      **MessageSource::Create(realistic, 1), 1, std::min<int64_t>(lines, 100000));
  const struct {
    const char* name;
    MessageFormat format;
    bool journal;  // As journalctl -o json writes it.
  } kFiles[] = {{"rfc5424", MessageFormat::kRfc5424, false},
                {"rfc3164", MessageFormat::kRfc3164, false},
                {"plain", MessageFormat::kPlain, false},
                {"jsonl", MessageFormat::kJsonl, false},
                {"journal", MessageFormat::kJsonl, true}};
  for (const auto& [name, format, journal] : kFiles) {
    std::string content;
    for (int64_t i = 0; i < lines; ++i) {
      const LogEntry& row = sample[i % sample.size()];
      absl::StrAppend(&content,
                      journal ? JournalLine(row, i) : Line(row, format), "\n");
    }
    const double start = CpuSeconds();
    auto corpus = loadtest::agent::ParseCorpus(content, format, "bench");
    const double seconds = CpuSeconds() - start;
    if (!corpus.ok() || corpus->malformed != 0) {
      std::fprintf(stderr, "%s: the bench's own lines did not parse\n", name);
      return 1;
    }
    out["parse_lines_per_s"][name] = static_cast<double>(lines) / seconds;
    out["parse_mb_per_s"][name] =
        static_cast<double>(content.size()) / seconds / 1e6;
    if (format == MessageFormat::kRfc5424) {
      MessageOptions file;
      file.source = loadtest::protocol::MessageSource::kFile;
      file.file_content = content;
      file.content_hash = loadtest::protocol::ContentHash(content);
      out["generate_rows_per_s"]["file"] = GenerateRate(file, rows);
    }
  }

  if (json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("generate (rows per CPU second, one thread, %lld rows)\n",
              static_cast<long long>(rows));
  for (const auto& [name, rate] : out["generate_rows_per_s"].items()) {
    std::printf("  %-10s %12.0f\n", name.c_str(), rate.get<double>());
  }
  std::printf(
      "parse a file (lines and MB per CPU second, one thread, %lld lines)\n",
      static_cast<long long>(lines));
  for (const auto& [name, rate] : out["parse_lines_per_s"].items()) {
    std::printf("  %-10s %12.0f %8.1f\n", name.c_str(), rate.get<double>(),
                out["parse_mb_per_s"][name].get<double>());
  }
  return 0;
}
