// End-to-end tests of the `loadtest` binary: each test runs the real program
// as a child process on a real SQLite file in a temp dir, and checks what a
// user sees: exit codes, messages, the JSON report, the database afterwards,
// and /metrics scraped over loopback and linted by the real promtool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::Describe;
using ::loadtest::testing::FindSample;
using ::loadtest::testing::HttpGet;
using ::loadtest::testing::HttpResponse;
using ::loadtest::testing::IntegrityCheck;
using ::loadtest::testing::IsIntervalLine;
using ::loadtest::testing::ListeningSocket;
using ::loadtest::testing::QueryOne;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::SampleLines;
using ::loadtest::testing::WriteFile;

using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Generous: a line that does not come within this means the run is stuck.
constexpr std::chrono::seconds kLineDeadline{60};

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitCheckFailed = 2;
constexpr int kExitSigint = 130;

// The flag's name in "-name=value", "--name=value", "-name" or "--name".
std::string FlagName(const std::string& arg) {
  if (arg.empty() || arg[0] != '-') return "";
  const size_t begin = arg.find_first_not_of('-');
  if (begin == std::string::npos) return "";
  return arg.substr(begin, arg.find('=') - begin);
}

// argv for `loadtest` on `db`: `args`, then the short defaults of these tests
// (free metrics port, 3 s run, 1 s lines) for each flag `args` does not give.
std::vector<std::string> LoadtestArgv(const std::string& db,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LOADTEST_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::vector<std::string> defaults = {
      "-db=" + db, "-metrics-port=0", "-duration=3s", "-log-interval=1s"};
  for (const std::string& flag : defaults) {
    const bool given =
        std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
          return FlagName(arg) == FlagName(flag);
        });
    if (!given) argv.push_back(flag);
  }
  return argv;
}

// `text` with every run of whitespace (line breaks included) made one space,
// so that phrases can be found however the text was wrapped.
std::string Reflow(const std::string& text) {
  std::string flat;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && !flat.empty() && flat.back() == ' ') continue;
    flat.push_back(space ? ' ' : c);
  }
  return flat;
}

class LoadtestCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::string db() const { return dir_.File("logs.db"); }
  std::string report() const { return dir_.File("report.json"); }

  ProcessResult Run(const std::vector<std::string>& args) {
    return RunAndWait(LoadtestArgv(db(), args));
  }

  TempDir dir_;
};

// ---------------------------------------------------------------------------
// Bad flags.

struct BadFlagCase {
  std::string name;                   // Test name suffix.
  std::vector<std::string> args;      // Appended to the defaults.
  std::vector<std::string> mentions;  // The message names each of these.
};

// What gtest (and so CTest's test list) shows for a case: its flags.
void PrintTo(const BadFlagCase& c, std::ostream* os) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    *os << (i == 0 ? "" : " ") << c.args[i];
  }
}

class LoadtestBadFlagTest : public LoadtestCliTest,
                            public ::testing::WithParamInterface<BadFlagCase> {
};

TEST_P(LoadtestBadFlagTest, ExitsOneWithAOneLineMessageAndCreatesNoDatabase) {
  const BadFlagCase& c = GetParam();
  const ProcessResult r = Run(c.args);

  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, StartsWith("loadtest: "));
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1)
      << "not one line: " << r.stderr_text;
  for (const std::string& word : c.mentions) {
    EXPECT_THAT(r.stderr_text, HasSubstr(word));
  }
  EXPECT_FALSE(std::filesystem::exists(db())) << "created " << db();
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()))
      << "left files in " << dir_.path();
}

INSTANTIATE_TEST_SUITE_P(
    EachBadFlag, LoadtestBadFlagTest,
    ::testing::Values(
        BadFlagCase{"ZeroDuration", {"-duration=0"}, {"duration", "0"}},
        BadFlagCase{
            "ZeroLogInterval", {"-log-interval=0"}, {"log-interval", "0"}},
        BadFlagCase{"NegativeWriters", {"-writers=-1"}, {"writers", "-1"}},
        BadFlagCase{"NegativeReaders", {"-readers=-2"}, {"readers", "-2"}},
        BadFlagCase{"NoWritersAndNoReaders",
                    {"-writers=0", "-readers=0"},
                    {"writers", "readers", "0"}},
        BadFlagCase{"ZeroBatchSize", {"-batch-size=0"}, {"batch-size", "0"}},
        BadFlagCase{"BatchLargerThanQueue",
                    {"-batch-size=500", "-queue-size=100"},
                    {"batch-size", "500", "queue-size", "100"}},
        BadFlagCase{"ZeroQueueSize", {"-queue-size=0"}, {"queue-size", "0"}},
        BadFlagCase{
            "DurationWithBadUnit", {"-duration=5x"}, {"duration", "5x"}},
        BadFlagCase{"NonNumericWriters", {"-writers=abc"}, {"writers", "abc"}},
        BadFlagCase{"UnknownFlag", {"--bogus"}, {"bogus"}},
        BadFlagCase{"UnknownScenario",
                    {"--scenario=nonsense"},
                    {"nonsense", "light", "medium", "heavy", "stress",
                     "moderate", "high", "burst", "sustained"}},
        BadFlagCase{"UnknownSchema", {"-schema=fat"}, {"schema", "fat"}},
        BadFlagCase{
            "UnknownSyncMode", {"-sync=sometimes"}, {"sync", "sometimes"}},
        BadFlagCase{"UnknownFtsSync", {"--fts-sync=rows"}, {"fts-sync", "rows"}},
        BadFlagCase{"FtsAutomergeTooLarge",
                    {"--fts-automerge=65"},
                    {"fts-automerge", "65"}},
        BadFlagCase{"FtsCrisismergeTooSmall",
                    {"--fts-crisismerge=1"},
                    {"fts-crisismerge", "1"}},
        BadFlagCase{"FtsPgszTooSmall", {"--fts-pgsz=31"}, {"fts-pgsz", "31"}},
        BadFlagCase{"PortOutOfRange",
                    {"-metrics-port=70000"},
                    {"metrics-port", "70000"}},
        BadFlagCase{"StrayPositionalArgument", {"stray"}, {"stray"}},
        // Issue 30, item 16: an empty ramp ran a closed loop, a rate below
        // 0.001/s was taken, 168h+1ns read "got 604800s".
        BadFlagCase{"EmptyStages", {"--stages="}, {"stages", "empty"}},
        BadFlagCase{"StageRateBelowTheSlowest",
                    {"--stages=1s:0.0001", "-writers=1"},
                    {"stages", "0.001", "0.0001"}},
        BadFlagCase{"UnknownWriteDispatch",
                    {"--write-dispatch=fibers", "--write-rate=10"},
                    {"write-dispatch", "async, threads", "fibers"}},
        BadFlagCase{"DurationJustPastAWeek",
                    {"-duration=168h0m0.000000001s"},
                    {"duration", "168h0m0.000000001s"}}),
    [](const ::testing::TestParamInfo<BadFlagCase>& info) {
      return info.param.name;
    });

// ---------------------------------------------------------------------------
// Help and flag syntax.

TEST_F(LoadtestCliTest, HelpListsEveryOriginalFlagAndTheExitCodes) {
  const ProcessResult r = RunAndWait({LOADTEST_BIN, "--help"});

  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  for (const char* flag :
       {"db", "duration", "writers", "readers", "batch-size", "batch-timeout",
        "queue-size", "metrics-port", "log-interval"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(std::string("-") + flag + "="))
        << "flag " << flag;
  }
  const std::string help = Reflow(r.stdout_text);
  EXPECT_THAT(help, HasSubstr("Exit codes"));
  EXPECT_THAT(help, HasSubstr("0 the run completed"));
  EXPECT_THAT(help, HasSubstr("1 usage"));
  EXPECT_THAT(help, HasSubstr("2 the durability audit or a threshold failed"));
  EXPECT_THAT(help, HasSubstr("3 partial result"));
  EXPECT_THAT(help, HasSubstr("130/143"));
}

TEST_F(LoadtestCliTest, AcceptsSingleDashAndDoubleDashSpacedFlags) {
  const std::string single_report = dir_.File("single.json");
  const ProcessResult single =
      RunAndWait({LOADTEST_BIN, "-db=" + dir_.File("single.db"),
                  "-metrics-port=0", "-duration=1s", "-log-interval=1s",
                  "-writers=2", "-readers=1", "-out=" + single_report});
  const std::string double_report = dir_.File("double.json");
  const ProcessResult spaced = RunAndWait(
      {LOADTEST_BIN, "--db", dir_.File("double.db"), "--metrics-port", "0",
       "--duration", "1s", "--log-interval", "1s", "--writers", "2",
       "--readers", "1", "--out", double_report});

  ASSERT_EQ(single.exit_code, kExitOk) << Describe(single);
  ASSERT_EQ(spaced.exit_code, kExitOk) << Describe(spaced);
  for (const std::string& path : {single_report, double_report}) {
    const json report = ReadReport(path);
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report.at("parameters").at("writers"), 2) << path;
    EXPECT_EQ(report.at("parameters").at("readers"), 1) << path;
    EXPECT_EQ(report.at("parameters").at("duration"), "1s") << path;
  }
}

// --fts-sync=batch and FTS5's settings reach the store: the run header and
// the report say so, the file has no per-row insert trigger, its FTS5
// configuration holds the page size, and the index matches the rows.
TEST_F(LoadtestCliTest, FtsSettingsReachTheStoreTheHeaderAndTheReport) {
  const std::string report_path = dir_.File("fts.json");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "-db=" + db(), "-metrics-port=0", "-duration=1s",
       "-log-interval=1s", "-writers=2", "-readers=1", "--fts-sync=batch",
       "--fts-pgsz=8000", "-out=" + report_path});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("queue 10000, fts batch, pgsz 8000)"));
  const json report = ReadReport(report_path);
  EXPECT_EQ(report.at("parameters").at("fts_sync"), "batch");
  EXPECT_EQ(report.at("parameters").at("fts_pgsz"), 8000);
  EXPECT_TRUE(report.at("parameters").at("fts_automerge").is_null());
  EXPECT_EQ(report.at("audit").at("passed"), true);
  EXPECT_EQ(QueryOne(db(), "SELECT count(*) FROM sqlite_master WHERE "
                           "type='trigger' AND name='logs_ai'"),
            "0");
  EXPECT_EQ(QueryOne(db(), "SELECT v FROM logs_fts_config WHERE k='pgsz'"),
            "8000");
  const int64_t rows = CountLogRows(db());
  EXPECT_GT(rows, 0);
  EXPECT_EQ(QueryOne(db(), "SELECT count(*) FROM logs_fts_docsize"),
            std::to_string(rows));
}

// ---------------------------------------------------------------------------
// Setup errors.

TEST_F(LoadtestCliTest, RefusesAFileThatIsNotSqliteAndLeavesItUnchanged) {
  const std::string content =
      "These are my notes, not an SQLite database.\nKeep them.\n";
  WriteFile(db(), content);

  const ProcessResult r = Run({});

  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, StartsWith("loadtest: "));
  EXPECT_THAT(r.stderr_text, HasSubstr(db()));
  EXPECT_EQ(ReadFile(db()), content);
}

TEST_F(LoadtestCliTest, RefusesADatabaseInAMissingDirectory) {
  const std::string missing_dir = dir_.File("no-such-dir");
  const std::string path = missing_dir + "/logs.db";

  const ProcessResult r = Run({"-db=" + path});

  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, StartsWith("loadtest: "));
  EXPECT_THAT(r.stderr_text, HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(missing_dir));
}

TEST_F(LoadtestCliTest, RefusesAMetricsPortInUseBeforeTheRunStarts) {
  const ListeningSocket taken;
  ASSERT_NE(taken.port(), 0) << "cannot bind a listening socket";
  const std::string port = std::to_string(taken.port());

  const ProcessResult r = Run({"-metrics-port=" + port});

  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text, StartsWith("loadtest: "));
  EXPECT_THAT(r.stderr_text, HasSubstr(port));
  EXPECT_THAT(r.stderr_text, HasSubstr("metrics-port"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("=== Summary")));
  EXPECT_FALSE(std::filesystem::exists(db())) << "created " << db();
}

// ---------------------------------------------------------------------------
// Complete runs.

void ExpectOrderedPercentiles(const json& latency, const std::string& what) {
  const double p50 = latency.at("p50");
  const double p95 = latency.at("p95");
  const double p99 = latency.at("p99");
  const double max = latency.at("max");
  EXPECT_LE(p50, p95) << what;
  EXPECT_LE(p95, p99) << what;
  EXPECT_LE(p99, max) << what;
}

TEST_F(LoadtestCliTest, ReportsFiguresThatAgreeWithEachOtherAndTheDatabase) {
  const ProcessResult r = Run({"--out=" + report()});

  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("Durability audit: PASSED"));
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());

  // The shape.
  ASSERT_TRUE(report.contains("summary") &&
              report["summary"].contains("total"));
  const json& total = report["summary"]["total"];
  for (const char* key :
       {"seconds", "writes_ok", "writes_per_s", "reads_ok", "reads_per_s",
        "write_errors", "write_timeouts", "queue_full_errors"}) {
    ASSERT_TRUE(total.contains(key)) << "summary.total." << key;
  }
  for (const char* histogram : {"write_latency_ms", "read_latency_ms"}) {
    ASSERT_TRUE(total.contains(histogram)) << histogram;
    for (const char* key : {"p50", "p95", "p99", "max"}) {
      ASSERT_TRUE(total[histogram].contains(key)) << histogram << "." << key;
    }
  }
  ASSERT_TRUE(report.contains("audit"));
  const json& audit = report["audit"];
  for (const char* key : {"rows_before", "rows_in_db", "acknowledged",
                          "late_commits", "lost", "integrity_ok"}) {
    ASSERT_TRUE(audit.contains(key)) << "audit." << key;
  }
  ASSERT_TRUE(report.contains("intervals") && report["intervals"].is_array());
  ASSERT_FALSE(report["intervals"].empty());

  // The figures agree with each other.
  const int64_t writes_ok = total["writes_ok"];
  const int64_t reads_ok = total["reads_ok"];
  EXPECT_GT(writes_ok, 0);
  EXPECT_EQ(audit["lost"], 0);
  EXPECT_EQ(audit["integrity_ok"], true);
  EXPECT_EQ(audit["rows_before"], 0);
  EXPECT_EQ(audit["rows_in_db"].get<int64_t>(),
            audit["acknowledged"].get<int64_t>() +
                audit["late_commits"].get<int64_t>());
  EXPECT_EQ(writes_ok, audit["acknowledged"].get<int64_t>());
  int64_t interval_writes = 0;
  int64_t interval_reads = 0;
  for (const json& interval : report["intervals"]) {
    interval_writes += interval.at("total").at("writes_ok").get<int64_t>();
    interval_reads += interval.at("total").at("reads_ok").get<int64_t>();
  }
  EXPECT_EQ(interval_writes, writes_ok);
  EXPECT_EQ(interval_reads, reads_ok);
  ExpectOrderedPercentiles(total["write_latency_ms"], "write latency");
  ExpectOrderedPercentiles(total["read_latency_ms"], "read latency");
  const double seconds = total["seconds"];
  ASSERT_GT(seconds, 0);
  const double expected_write_rate = static_cast<double>(writes_ok) / seconds;
  EXPECT_NEAR(total["writes_per_s"].get<double>(), expected_write_rate,
              1e-6 * std::max(1.0, expected_write_rate));
  const double expected_read_rate = static_cast<double>(reads_ok) / seconds;
  EXPECT_NEAR(total["reads_per_s"].get<double>(), expected_read_rate,
              1e-6 * std::max(1.0, expected_read_rate));

  // ... and with the database itself.
  EXPECT_EQ(CountLogRows(db()), audit["rows_in_db"].get<int64_t>());
  EXPECT_EQ(IntegrityCheck(db()), "ok");
}

TEST_F(LoadtestCliTest, KeepsExistingRowsUnlessFresh) {
  const std::string first_report = dir_.File("first.json");
  const std::string second_report = dir_.File("second.json");
  const std::string third_report = dir_.File("third.json");

  const ProcessResult first = Run({"-duration=2s", "--out=" + first_report});
  ASSERT_EQ(first.exit_code, kExitOk) << Describe(first);
  const json first_audit = ReadReport(first_report).at("audit");
  const int64_t first_rows = first_audit.at("rows_in_db");
  ASSERT_GT(first_rows, 0);
  ASSERT_EQ(CountLogRows(db()), first_rows);

  const ProcessResult second = Run({"-duration=2s", "--out=" + second_report});
  ASSERT_EQ(second.exit_code, kExitOk) << Describe(second);
  const json second_audit = ReadReport(second_report).at("audit");
  EXPECT_EQ(second_audit.at("rows_before").get<int64_t>(), first_rows);
  EXPECT_EQ(second_audit.at("lost"), 0);
  const int64_t second_rows = second_audit.at("rows_in_db");
  EXPECT_EQ(CountLogRows(db()), first_rows + second_rows);

  const ProcessResult third =
      Run({"-duration=2s", "--fresh", "--out=" + third_report});
  ASSERT_EQ(third.exit_code, kExitOk) << Describe(third);
  const json third_audit = ReadReport(third_report).at("audit");
  EXPECT_EQ(third_audit.at("rows_before"), 0);
  EXPECT_EQ(third_audit.at("lost"), 0);
  EXPECT_EQ(CountLogRows(db()), third_audit.at("rows_in_db").get<int64_t>());
}

TEST_F(LoadtestCliTest, ServesMetricsThatPassPromtoolDuringARun) {
  const std::string promtool = FindProgram("promtool");
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool is not on PATH (Debian package prometheus)";
  }
  Subprocess run(LoadtestArgv(db(), {"-duration=30s"}));
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;

  std::string metrics_line;
  ASSERT_TRUE(run.WaitForLine("metrics: http://", kLineDeadline, &metrics_line))
      << run.stdout_text() << run.stderr_text();
  const std::string prefix = "metrics: http://0.0.0.0:";
  ASSERT_THAT(metrics_line, StartsWith(prefix));
  const size_t port_end = metrics_line.find("/metrics", prefix.size());
  ASSERT_NE(port_end, std::string::npos) << metrics_line;
  const int port =
      std::stoi(metrics_line.substr(prefix.size(), port_end - prefix.size()));
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << run.stdout_text() << run.stderr_text();

  const HttpResponse scrape = HttpGet(port, "/metrics");
  // SigintEndsTheRunWithTheSummaryAndAPassingAudit checks how a run ends on
  // SIGINT; here it only has to end.
  run.SendSignal(SIGINT);
  run.Wait();

  ASSERT_EQ(scrape.error, "");
  ASSERT_THAT(scrape.status_line, HasSubstr(" 200"));
  const std::string scraped = dir_.File("scrape.txt");
  WriteFile(scraped, scrape.body);
  const ProcessResult lint =
      RunAndWait({promtool, "check", "metrics"}, scraped);
  EXPECT_EQ(lint.exit_code, 0) << Describe(lint);

  const std::vector<std::string> samples = SampleLines(scrape.body);
  for (const char* name : {"opentrail_storage_write_requests_total",
                           "opentrail_storage_read_requests_total",
                           "opentrail_storage_batches_processed_total",
                           "opentrail_storage_write_duration_seconds_bucket",
                           "opentrail_storage_read_duration_seconds_bucket",
                           "opentrail_storage_batch_processing_seconds_bucket",
                           "opentrail_storage_batch_queue_size",
                           "opentrail_storage_queue_utilization_ratio",
                           "opentrail_storage_queue_full_errors_total",
                           "opentrail_storage_write_errors_total",
                           "opentrail_storage_write_timeouts_total",
                           "opentrail_storage_read_errors_total",
                           "opentrail_storage_fsyncs_total",
                           "opentrail_process_written_bytes_total",
                           "opentrail_host_cpu_seconds_total",
                           "opentrail_host_load1"}) {
    EXPECT_NE(FindSample(samples, name), "") << "no sample of " << name;
  }
  const std::string info = FindSample(samples, "opentrail_agent_info");
  EXPECT_THAT(info, StartsWith("opentrail_agent_info{"));
  for (const char* label : {"agent_id=\"", "version=\"", "hostname=\""}) {
    EXPECT_THAT(info, HasSubstr(label));
  }
  EXPECT_EQ(FindSample(samples, "opentrail_agent_run_active"),
            "opentrail_agent_run_active 1");
  const std::string writes =
      FindSample(samples, "opentrail_storage_write_requests_total");
  ASSERT_NE(writes, "");
  EXPECT_GT(std::stod(writes.substr(writes.rfind(' ') + 1)), 0.0) << writes;
}

TEST_F(LoadtestCliTest, SigintEndsTheRunWithTheSummaryAndAPassingAudit) {
  Subprocess run(LoadtestArgv(db(), {"-duration=60s", "--out=" + report()}));
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;
  ASSERT_TRUE(run.WaitForLine(IsIntervalLine, kLineDeadline, nullptr))
      << run.stdout_text() << run.stderr_text();

  run.SendSignal(SIGINT);

  const int exit_code = run.Wait();
  EXPECT_NE(exit_code, -SIGINT) << "killed by SIGINT instead of handling it";
  EXPECT_EQ(exit_code, kExitSigint) << run.stderr_text();
  EXPECT_THAT(run.stdout_text(), HasSubstr("run ended: interrupted by SIGINT"));
  EXPECT_THAT(run.stdout_text(), HasSubstr("=== Summary"));
  EXPECT_THAT(run.stdout_text(), HasSubstr("Durability audit: PASSED"));
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("audit").at("lost"), 0);
  EXPECT_EQ(CountLogRows(db()),
            report.at("audit").at("rows_in_db").get<int64_t>());
}

TEST_F(LoadtestCliTest, RunsAnOpenLoopWorkloadWithAPassingAudit) {
  const ProcessResult r =
      Run({"-write-rate=200", "-readers=1", "-read-rate=20", "-writers=4",
           "-duration=3s", "--out=" + report()});

  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  EXPECT_GT(report.at("summary").at("total").at("writes_ok").get<int64_t>(), 0);
  EXPECT_EQ(report.at("audit").at("passed"), true);
  EXPECT_EQ(report.at("audit").at("lost"), 0);
  EXPECT_EQ(CountLogRows(db()),
            report.at("audit").at("rows_in_db").get<int64_t>());
}

// Issue 27: open-loop writes need no thread each. 300 writers at a paced
// rate take two dispatch threads with async dispatch (the default), and a
// thread each with --write-dispatch=threads; the process's threads say so.
TEST_F(LoadtestCliTest, AsyncDispatchKeepsThreadsFewWhateverTheWriters) {
  auto threads_of = [&](const std::string& dispatch) -> int64_t {
    const ProcessResult r =
        Run({"--write-rate=200", "--writers=300", "--readers=0",
             "-duration=2s", "--log-interval=1s", "--fresh",
             "--write-dispatch=" + dispatch, "--out=" + report()});
    EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
    EXPECT_THAT(r.stdout_text,
                HasSubstr(dispatch == "async" ? "(async dispatch"
                                              : "(one thread per writer)"));
    const json report = ReadReport(this->report());
    if (!report.is_object()) return -1;
    EXPECT_EQ(report.at("parameters").at("write_dispatch"), dispatch);
    EXPECT_EQ(report.at("audit").at("lost"), 0);
    return report.at("summary").at("total").at("process").at("threads");
  };
  EXPECT_LT(threads_of("async"), 300);
  EXPECT_GE(threads_of("threads"), 300);
}

TEST_F(LoadtestCliTest, AppliesAScenarioPresetUnderExplicitFlags) {
  const ProcessResult r = Run({"--scenario=light", "--duration=2s",
                               "--writers=3", "--out=" + report()});

  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  const json& parameters = report.at("parameters");
  EXPECT_EQ(parameters.at("writers"), 3);
  EXPECT_EQ(parameters.at("readers"), 2);
  EXPECT_EQ(parameters.at("batch_size"), 50);
  EXPECT_EQ(parameters.at("duration"), "2s");
}

TEST_F(LoadtestCliTest, JudgesAShortenedScenarioAgainstTheGuidesExpectation) {
  const std::string csv = dir_.File("moderate");
  const std::string html = dir_.File("moderate.html");
  const ProcessResult r =
      Run({"--scenario=moderate", "--duration=2s", "--out=" + report(),
           "--csv=" + csv, "--html=" + html});

  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  const json& scenario = report.at("summary").at("scenario");
  EXPECT_EQ(scenario.at("name"), "moderate");
  EXPECT_EQ(scenario.at("expectation"), "Expected: 1000-2000 TPS");
  const double measured = scenario.at("measured").get<double>();
  EXPECT_EQ(measured,
            report.at("summary").at("total").at("writes_per_s").get<double>());
  // Whatever this machine's speed, the verdict is the one its figure calls for.
  const std::string verdict = measured < 1000   ? "below"
                              : measured > 2000 ? "above"
                                                : "within";
  EXPECT_EQ(scenario.at("verdict"), verdict);
  EXPECT_EQ(scenario.at("differs_from_guide"), json::array({"duration"}));
  const std::string out = Reflow(r.stdout_text);
  EXPECT_THAT(out, HasSubstr("Guide scenario: moderate (Load Test Scenarios: "
                             "Scenario 1: Moderate Load)"));
  EXPECT_THAT(out, HasSubstr("Expected: 1000-2000 TPS: measured"));
  EXPECT_THAT(out, HasSubstr(scenario.at("verdict_text").get<std::string>()));
  EXPECT_THAT(out, HasSubstr("differs from the guide's command: duration"));
  EXPECT_LT(out.find("Guide scenario:"), out.find("Guide targets:"));
  EXPECT_THAT(ReadFile(csv + "_summary.csv"),
              HasSubstr(",moderate,Expected: 1000-2000 TPS,"));
  // Then the stability columns: 2 s is too short to judge.
  EXPECT_THAT(ReadFile(csv + "_summary.csv"),
              HasSubstr("," + verdict + ",too_short,,\r\n"));
  EXPECT_THAT(ReadFile(html),
              HasSubstr("data-verdict=\"" + verdict + "\""));
}

TEST_F(LoadtestCliTest, TheEmbeddedDefaultSaysWhichGuideSectionItFollows) {
  const ProcessResult r = Run({"-duration=2s", "--out=" + report()});

  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  const json& scenario = report.at("summary").at("scenario");
  EXPECT_EQ(scenario.at("name"), "default");
  EXPECT_THAT(scenario.at("section").get<std::string>(),
              HasSubstr("Quick Start"));
  EXPECT_THAT(scenario.at("expectation").get<std::string>(),
              HasSubstr("700-1000+ TPS"));
  EXPECT_THAT(Reflow(r.stdout_text), HasSubstr("Guide scenario: default"));
}

// find-max's steps run on a scratch database of their own by default, so
// every rate is measured on the same state: -db is never touched, and the
// scratch file is gone at the end. --step-db=grow writes every step into
// -db itself, where the rows of all steps stay.
TEST_F(LoadtestCliTest, FindMaxStepsRunOnAScratchDatabaseOrGrowTheOneGiven) {
  const std::vector<std::string> search = {
      LOADTEST_BIN, "find-max", "-db=" + db(), "-metrics-port=0",
      "--start-rate=50", "--max-steps=2", "--step-duration=1s", "--warmup=0s",
      "--writers=2", "--readers=0", "--out=" + report()};
  const std::string scratch = db() + ".find-max";

  const ProcessResult bad = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--step-db=copy"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.stderr_text,
              HasSubstr("step-db must be scratch or grow, got 'copy'"));
  const ProcessResult over = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--out=" + scratch});
  EXPECT_EQ(over.exit_code, kExitUsage);
  EXPECT_THAT(over.stderr_text,
              HasSubstr("--out=" + scratch + " is -db (" + scratch +
                        "): a report would replace it"));

  const ProcessResult scratch_run = RunAndWait(search);
  ASSERT_EQ(scratch_run.exit_code, 0) << Describe(scratch_run);
  EXPECT_THAT(scratch_run.stdout_text,
              HasSubstr("each step on an empty database: " + scratch +
                        " (removed at the end)"));
  EXPECT_FALSE(std::filesystem::exists(db()));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_FALSE(std::filesystem::exists(scratch + suffix)) << suffix;
  }
  const json scratch_report = ReadReport(report());
  EXPECT_EQ(scratch_report["find_max"]["options"]["step_db"], "scratch");

  std::vector<std::string> grow = search;
  grow.push_back("--step-db=grow");
  const ProcessResult grow_run = RunAndWait(grow);
  ASSERT_EQ(grow_run.exit_code, 0) << Describe(grow_run);
  EXPECT_THAT(grow_run.stdout_text,
              HasSubstr("every step on " + db() + ", the earlier steps' rows "
                        "kept"));
  EXPECT_FALSE(std::filesystem::exists(scratch));
  const json grow_report = ReadReport(report());
  EXPECT_EQ(grow_report["find_max"]["options"]["step_db"], "grow");
  const json& steps = grow_report["find_max"]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  // Both steps' rows are in -db: more than the second step alone wrote.
  const int64_t rows = std::stoll(QueryOne(db(), "SELECT count(*) FROM logs"));
  EXPECT_GT(rows, steps[1]["achieved_rate"].get<double>() *
                      steps[1]["measured_seconds"].get<double>());
}

// --saturation (on by default): the store runs flat out before the first
// step and after the last, and the answer is given as a share of that;
// --saturation=false leaves both runs out.
TEST_F(LoadtestCliTest, FindMaxMeasuresTheStoreSaturatedBeforeAndAfter) {
  const std::vector<std::string> search = {
      LOADTEST_BIN, "find-max", "-db=" + db(), "-metrics-port=0",
      "--start-rate=50", "--max-steps=2", "--step-duration=1s", "--warmup=0s",
      "--readers=0", "--out=" + report()};

  const ProcessResult r = RunAndWait(search);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string& out = r.stdout_text;
  EXPECT_THAT(out, HasSubstr("the store saturated before the first step and "
                             "after the last (--saturation): a closed loop "
                             "of 100 writers per agent"));
  const size_t before = out.find("the store saturated before the search: ");
  const size_t table = out.find("offered/s");
  const size_t after = out.find("the store saturated after the search: ");
  ASSERT_NE(before, std::string::npos) << out;
  ASSERT_NE(after, std::string::npos) << out;
  EXPECT_LT(before, table);
  EXPECT_GT(after, table);
  const json report = ReadReport(this->report());
  const json& find_max = report["find_max"];
  EXPECT_EQ(find_max["options"]["saturation"], true);
  const json& saturation = find_max["saturation"];
  ASSERT_TRUE(saturation.is_object()) << find_max.dump(2);
  const double b = saturation["before_writes_per_s"].get<double>();
  const double a = saturation["after_writes_per_s"].get<double>();
  // 100 writers with no think time go well past the 50 and 100/s steps.
  EXPECT_GT(b, 100);
  EXPECT_GT(a, 100);
  EXPECT_DOUBLE_EQ(saturation["mean_writes_per_s"].get<double>(), (a + b) / 2);
  EXPECT_DOUBLE_EQ(saturation["max_rate_share"].get<double>(),
                   find_max["max_rate"].get<double>() / ((a + b) / 2));
  EXPECT_THAT(out, HasSubstr("the answer is "));
  // A move of over 10% between the two is a warning of the search.
  const double change = std::abs(a - b) / std::max(a, b);
  EXPECT_DOUBLE_EQ(saturation["change"].get<double>(), change);
  bool warned = false;
  for (const json& w : find_max["warnings"]) {
    warned |= w.get<std::string>().find("saturated rate moved") !=
              std::string::npos;
  }
  EXPECT_EQ(warned, change > 0.10) << find_max["warnings"].dump();

  std::vector<std::string> without = search;
  without.push_back("--saturation=false");
  const ProcessResult off = RunAndWait(without);
  ASSERT_EQ(off.exit_code, 0) << Describe(off);
  EXPECT_THAT(off.stdout_text, Not(HasSubstr("saturated")));
  const json off_report = ReadReport(this->report());
  EXPECT_TRUE(off_report["find_max"]["saturation"].is_null());
  EXPECT_EQ(off_report["find_max"]["options"]["saturation"], false);
}

}  // namespace
}  // namespace loadtest

namespace loadtest {
namespace {

TEST_F(LoadtestCliTest, AThresholdThatCannotHoldExitsTwoAndSaysWhich) {
  const ProcessResult r =
      Run({"-duration=2s", "--threshold=write_p99<60s",
           "--threshold=writes_per_s>100000000", "--out=" + report()});
  ASSERT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.stderr_text, HasSubstr("a threshold failed"));
  EXPECT_THAT(r.stdout_text, HasSubstr("Thresholds:"));
  EXPECT_THAT(r.stdout_text, ::testing::MatchesRegex(
                                 "(.|\n)*writes_per_s>100000000 +total +"
                                 "measured +[0-9.]+ +/s +FAILED(.|\n)*"));
  EXPECT_THAT(r.stdout_text, ::testing::MatchesRegex(
                                 "(.|\n)*write_p99<60s +total +measured +"
                                 "[0-9.]+ +ms +passed(.|\n)*"));
  const json report = ReadReport(this->report());
  ASSERT_TRUE(report.is_object());
  const json& results = report.at("summary").at("thresholds");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].at("passed"), true);
  EXPECT_EQ(results[1].at("threshold"), "writes_per_s>100000000");
  EXPECT_EQ(results[1].at("passed"), false);
  EXPECT_EQ(report.at("audit").at("passed"), true);  // Only the threshold failed.
}

TEST_F(LoadtestCliTest, ThresholdsThatHoldExitZero) {
  const ProcessResult r =
      Run({"-duration=2s", "--threshold=write_p99<60s", "--threshold=lost==0",
           "--threshold=error_rate<=100%"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("Thresholds:"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("FAILED")));
}

TEST_F(LoadtestCliTest, AMalformedThresholdIsAUsageErrorNamingThePosition) {
  const ProcessResult r = Run({"--threshold=write_p95<<5ms"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.stderr_text,
              HasSubstr("threshold \"write_p95<<5ms\": expected a number at "
                        "position 11"));
  EXPECT_FALSE(std::filesystem::exists(db()));
}

}  // namespace
}  // namespace loadtest

namespace loadtest {
namespace {

// Issue 33: `loadtest repeat` runs replicates, interleaved A and B, keeps
// each run's report and compares the sides; its summary is a side for
// `loadtest compare`.
TEST_F(LoadtestCliTest, RepeatInterleavesTheSidesAndKeepsEveryReport) {
  const std::string out_dir = dir_.File("ab");
  const ProcessResult ab = RunAndWait(
      {LOADTEST_BIN, "repeat", "--runs=2", "--out-dir=" + out_dir,
       "--b-flags=-batch-size=5", "--", "-db=" + db(), "-metrics-port=0",
       "-duration=1s", "-log-interval=200ms", "-writers=2", "-readers=1",
       "--seed=7"});
  EXPECT_TRUE(ab.exit_code == 0 || ab.exit_code == 2 || ab.exit_code == 3)
      << Describe(ab);
  // A1 B1 B2 A2, in that order: a drift falls on both sides alike.
  const size_t a1 = ab.stdout_text.find("run 1 of 4 (A 1)");
  const size_t b1 = ab.stdout_text.find("run 2 of 4 (B 1) with -batch-size=5");
  const size_t b2 = ab.stdout_text.find("run 3 of 4 (B 2) with -batch-size=5");
  const size_t a2 = ab.stdout_text.find("run 4 of 4 (A 2)");
  ASSERT_NE(a1, std::string::npos) << ab.stdout_text;
  ASSERT_NE(b1, std::string::npos) << ab.stdout_text;
  ASSERT_NE(b2, std::string::npos) << ab.stdout_text;
  ASSERT_NE(a2, std::string::npos) << ab.stdout_text;
  EXPECT_LT(a1, b1);
  EXPECT_LT(b1, b2);
  EXPECT_LT(b2, a2);
  EXPECT_THAT(ab.stdout_text, HasSubstr("90% interval"));
  const json summary = ReadReport(out_dir + "/repeat.json");
  ASSERT_TRUE(summary.is_object()) << Describe(ab);
  ASSERT_EQ(summary["repeat"]["a"].size(), 2u);
  ASSERT_EQ(summary["repeat"]["b"].size(), 2u);
  const json b_report =
      ReadReport(out_dir + "/" + summary["repeat"]["b"][1].get<std::string>());
  EXPECT_EQ(b_report["parameters"]["batch_size"], 5);
  const json a_report =
      ReadReport(out_dir + "/" + summary["repeat"]["a"][0].get<std::string>());
  EXPECT_EQ(a_report["parameters"]["batch_size"], 100);
  EXPECT_EQ(summary["comparison"]["exit_code"], ab.exit_code);
  // The summary is a side for compare: A's runs against B's.
  const ProcessResult again = RunAndWait(
      {LOADTEST_BIN, "compare", out_dir + "/repeat.json", "--",
       out_dir + "/repeat.json"});
  EXPECT_EQ(again.exit_code, ab.exit_code) << Describe(again);
  EXPECT_THAT(again.stdout_text, HasSubstr("A (2 runs)"));
  // A side mixing the two workloads is not a set of replicates.
  const ProcessResult mixed = RunAndWait(
      {LOADTEST_BIN, "compare", out_dir + "/a-1.json", out_dir + "/b-1.json",
       "--", out_dir + "/a-2.json"});
  EXPECT_EQ(mixed.exit_code, kExitUsage) << Describe(mixed);
  EXPECT_THAT(mixed.stderr_text, HasSubstr("are not replicates"));
  EXPECT_THAT(mixed.stderr_text, HasSubstr("batch_size 100 vs 5"));
  // A summary listing itself is refused, not followed for ever.
  json loop = {{"repeat", {{"a", {"loop.json"}}, {"b", {"loop.json"}}}}};
  WriteFile(out_dir + "/loop.json", loop.dump());
  const ProcessResult looped = RunAndWait(
      {LOADTEST_BIN, "compare", out_dir + "/loop.json", "--",
       out_dir + "/repeat.json"});
  EXPECT_EQ(looped.exit_code, kExitUsage) << Describe(looped);
  EXPECT_THAT(looped.stderr_text, HasSubstr("a summary's runs must be reports"));
  // repeat sets each run's reports itself.
  const ProcessResult own = RunAndWait(
      {LOADTEST_BIN, "repeat", "--out-dir=" + out_dir, "--", "--out=x.json"});
  EXPECT_EQ(own.exit_code, kExitUsage);
  EXPECT_THAT(own.stderr_text, HasSubstr("--out is set by repeat"));
}

// Issue 33: one run per side cannot tell a change from the host's spread;
// replicates can.
TEST_F(LoadtestCliTest, CompareJudgesReplicatesAndNeverOneRunPerSide) {
  const ProcessResult run = Run({"-duration=2s", "--out=" + report()});
  ASSERT_EQ(run.exit_code, kExitOk) << Describe(run);
  // One run per side, even half the throughput: undecidable (exit 3), the
  // difference shown, no REGRESSED.
  json base = ReadReport(report());
  ASSERT_TRUE(base.is_object());
  auto scaled = [&base](double factor, const std::string& path) {
    json copy = base;
    copy["summary"]["total"]["writes_per_s"] =
        base["summary"]["total"]["writes_per_s"].get<double>() * factor;
    WriteFile(path, copy.dump());
    return path;
  };
  const std::string half = scaled(0.5, dir_.File("half.json"));
  const ProcessResult single =
      RunAndWait({LOADTEST_BIN, "compare", report(), half});
  EXPECT_EQ(single.exit_code, 3) << Describe(single);
  EXPECT_THAT(single.stdout_text, HasSubstr("-50.0%"));
  EXPECT_THAT(single.stdout_text, HasSubstr("one run cannot tell a change"));
  EXPECT_THAT(single.stdout_text, Not(HasSubstr("REGRESSED")));
  // Three replicates a side, 1% apart: the same is no regression (exit 0),
  // half is a regression (exit 2), written as JSON too.
  const std::vector<std::string> a = {scaled(1.00, dir_.File("a1.json")),
                                      scaled(1.01, dir_.File("a2.json")),
                                      scaled(0.99, dir_.File("a3.json"))};
  const std::vector<std::string> b = {scaled(0.50, dir_.File("b1.json")),
                                      scaled(0.51, dir_.File("b2.json")),
                                      scaled(0.49, dir_.File("b3.json"))};
  const ProcessResult same = RunAndWait(
      {LOADTEST_BIN, "compare", a[0], a[1], a[2], "--", a[1], a[2], a[0]});
  EXPECT_EQ(same.exit_code, 0) << Describe(same);
  EXPECT_THAT(same.stdout_text, HasSubstr("0 regressed"));
  const ProcessResult worse =
      RunAndWait({LOADTEST_BIN, "compare", "--json=" + dir_.File("cmp.json"),
                  a[0], a[1], a[2], "--", b[0], b[1], b[2]});
  EXPECT_EQ(worse.exit_code, 2) << Describe(worse);
  EXPECT_THAT(worse.stdout_text, HasSubstr("REGRESSED"));
  const json comparison = ReadReport(dir_.File("cmp.json"));
  EXPECT_EQ(comparison["verdict"], "regression");
  EXPECT_EQ(comparison["figures"][0]["a"]["n"], 3);
  // Not a report: a usage error naming it.
  const ProcessResult bad =
      RunAndWait({LOADTEST_BIN, "compare", report(), dir_.File("missing.json")});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.stderr_text, HasSubstr("missing.json"));

  // Issue 30, item 13: a report's parameter names reached the terminal raw.
  json hostile = ReadReport(report());
  hostile["run"]["fingerprint"] = "other";
  hostile["parameters"]["evil\x1b[2J"] = "\x1b]0;owned\x07";
  // What compare does not read is dropped as it is parsed; it must not
  // change the figures compared.
  for (json& row : hostile["intervals"]) {
    row["agents"] = json::array({{{"agent_id", "x"}, {"padding", "y"}}});
  }
  const std::string hostile_path = dir_.File("hostile.json");
  WriteFile(hostile_path, hostile.dump());
  const ProcessResult escaped =
      RunAndWait({LOADTEST_BIN, "compare", hostile_path, report()});
  EXPECT_EQ(escaped.exit_code, 3) << Describe(escaped);
  EXPECT_THAT(escaped.stderr_text, HasSubstr("evil\\e[2J"));
  EXPECT_EQ(escaped.stderr_text.find('\x1b'), std::string::npos)
      << escaped.stderr_text;
  EXPECT_THAT(escaped.stdout_text, HasSubstr("+0.0%"));
}

// --seed: the same seed and agent count write the same messages per
// writer; another seed writes others. The seed is printed and reported.
TEST_F(LoadtestCliTest, TheSameSeedWritesTheSameMessagesPerWriter) {
  auto run = [this](const std::string& name, const std::string& seed) {
    std::vector<std::string> args = {"--writers=2", "--readers=0",
                                     "--write-rate=100", "-duration=1s",
                                     "--out=" + dir_.File(name + ".json")};
    if (!seed.empty()) args.push_back("--seed=" + seed);
    const ProcessResult r =
        RunAndWait(LoadtestArgv(dir_.File(name + ".db"), args));
    EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
    return r;
  };
  // The first 20 messages of writer `writer`, in the order it wrote them.
  auto messages = [this](const std::string& name, int writer) {
    return QueryOne(dir_.File(name + ".db"),
                    absl::StrCat("SELECT group_concat(m, '|') FROM (SELECT "
                                 "hostname || app_name || message AS m FROM "
                                 "logs WHERE proc_id = '",
                                 writer, "' ORDER BY id LIMIT 20)"));
  };
  const ProcessResult a = run("a", "12345");
  run("b", "12345");
  run("c", "54321");
  EXPECT_THAT(a.stdout_text, HasSubstr("seed 12345"));
  for (int writer : {0, 1}) {
    SCOPED_TRACE(writer);
    const std::string first = messages("a", writer);
    EXPECT_THAT(first, HasSubstr("Load test message from writer"));
    EXPECT_EQ(first, messages("b", writer));
    EXPECT_NE(first, messages("c", writer));
  }
  EXPECT_NE(messages("a", 0), messages("a", 1));
  const json report = ReadReport(dir_.File("a.json"));
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["run"]["seed"], 12345);
  EXPECT_EQ(report["run"]["fingerprint"],
            ReadReport(dir_.File("c.json"))["run"]["fingerprint"]);
  // No --seed: a random one, printed and reported.
  const ProcessResult random = run("d", "");
  const json d = ReadReport(dir_.File("d.json"));
  ASSERT_TRUE(d["run"]["seed"].is_number());
  EXPECT_THAT(random.stdout_text,
              HasSubstr(absl::StrCat("seed ", d["run"]["seed"].dump())));
}

// --stages ramps the open-loop write rate: the offered load follows the
// ramp's integral interval by interval, and never less is offered than
// written.
TEST_F(LoadtestCliTest, StagesRampTheOfferedWriteRate) {
  const ProcessResult r =
      RunAndWait({LOADTEST_BIN, "-db=" + db(), "-metrics-port=0",
                  "--stages=1s:400,1s:400", "--writers=4", "--readers=0",
                  "-log-interval=500ms", "--out=" + report()});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("writes ramped 1s:400,1s:400"));
  EXPECT_THAT(r.stdout_text, HasSubstr("offered writes"));
  const json rep = ReadReport(report());
  ASSERT_TRUE(rep.is_object());
  EXPECT_EQ(rep["parameters"]["duration"], "2s");  // The stages' sum.
  EXPECT_EQ(rep["parameters"]["stages"], "1s:400,1s:400");
  double offered = 0;
  int64_t written = 0;
  const json& intervals = rep["intervals"];
  ASSERT_GE(intervals.size(), 4u);
  for (const json& row : intervals) {
    const json& total = row["total"];
    offered += total["offered_write_rate"].get<double>() *
               total["seconds"].get<double>();
    written += total["writes_ok"].get<int64_t>();
    EXPECT_EQ(total["achieved_write_rate"], total["writes_per_s"]);
  }
  // 0 to 400/s over a second, then 400/s for one: 200 + 400 writes.
  EXPECT_NEAR(offered, 600, 10);
  EXPECT_LE(written, offered + 4);  // One write per writer may fall at the end.
  EXPECT_EQ(written, rep["audit"]["acknowledged"].get<int64_t>());
  // The first interval offers about a quarter of the second (a ramp from 0).
  const double first = intervals[0]["total"]["offered_write_rate"];
  const double second = intervals[1]["total"]["offered_write_rate"];
  EXPECT_NEAR(first, 100, 10);
  EXPECT_NEAR(second, 300, 15);
}

TEST_F(LoadtestCliTest, StagesAreCheckedAgainstTheRateAndTheDuration) {
  const ProcessResult both =
      Run({"--stages=1s:100", "--write-rate=100", "-duration=1s"});
  EXPECT_EQ(both.exit_code, kExitUsage);
  EXPECT_THAT(both.stderr_text, HasSubstr("--stages and --write-rate"));
  const ProcessResult shorter = Run({"--stages=10s:100", "-duration=1s"});
  EXPECT_EQ(shorter.exit_code, kExitUsage);
  EXPECT_THAT(shorter.stderr_text,
              HasSubstr("duration 1s is shorter than --stages (10s)"));
  const ProcessResult bad = Run({"--read-stages=1s:x"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.stderr_text, HasSubstr("read-stages: stage \"1s:x\""));
  const ProcessResult per_agent = Run({"--stages-per-agent"});
  EXPECT_EQ(per_agent.exit_code, kExitUsage);
  EXPECT_THAT(per_agent.stderr_text, HasSubstr("needs --stages"));
}

// find-max in this process: bad input is refused before anything runs, and
// a start rate the store cannot meet is exit code 2 with the step shown.
TEST_F(LoadtestCliTest, FindMaxRefusesBadInputAndReportsAFailedStart) {
  const ProcessResult duration = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "-duration=5s"});
  EXPECT_EQ(duration.exit_code, kExitUsage);
  EXPECT_THAT(duration.stderr_text,
              HasSubstr("--duration does not apply to find-max"));
  const ProcessResult slo = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--slo=write_p99<<1ms"});
  EXPECT_EQ(slo.exit_code, kExitUsage);
  EXPECT_THAT(slo.stderr_text, HasSubstr("write_p99<<1ms"));
  const ProcessResult precision = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--precision=0"});
  EXPECT_EQ(precision.exit_code, kExitUsage);
  EXPECT_THAT(precision.stderr_text, HasSubstr("precision"));
  const ProcessResult not_a_percent = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--precision=five"});
  EXPECT_EQ(not_a_percent.exit_code, kExitUsage);
  EXPECT_THAT(not_a_percent.stderr_text,
              HasSubstr("--precision must be a percent such as 5% or 5, got "
                        "'five'"));
  const ProcessResult even_tries = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "--tries=2"});
  EXPECT_EQ(even_tries.exit_code, kExitUsage);
  EXPECT_THAT(even_tries.stderr_text,
              HasSubstr("tries must be an odd number between 1 and 9, got 2"));

  // An SLO no store meets: a write never takes under a nanosecond.
  const ProcessResult impossible = RunAndWait(
      {LOADTEST_BIN, "find-max", "-db=" + db(), "-metrics-port=0",
       "--slo=write_max<1ns", "--start-rate=50", "--step-duration=1s",
       "--warmup=0s", "--precision=10%", "--writers=2", "--readers=0",
       "--out=" + report()});
  EXPECT_EQ(impossible.exit_code, kExitCheckFailed) << Describe(impossible);
  EXPECT_THAT(impossible.stdout_text, HasSubstr("even the start rate failed"));
  const json rep = ReadReport(report());
  ASSERT_TRUE(rep.is_object());
  EXPECT_TRUE(rep["find_max"]["max_rate"].is_null());
  // By default a rate is tried until two of up to three runs agree: the
  // start rate failed twice, and the second try decided it.
  EXPECT_EQ(rep["find_max"]["options"]["tries"], 3);
  const json& steps = rep["find_max"]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(steps[i]["offered_rate"], 50);
    EXPECT_EQ(steps[i]["passed"], false);
    EXPECT_EQ(steps[i]["attempt"], i + 1);
  }
  EXPECT_TRUE(steps[0]["rate_passed"].is_null());
  EXPECT_EQ(steps[1]["rate_passed"], false);
  EXPECT_EQ(steps[1]["rate_tries"], 2);
  EXPECT_EQ(steps[1]["rate_tries_passed"], 0);
  EXPECT_THAT(impossible.stdout_text, HasSubstr("rate failed: 2 of 2 tries"));
  EXPECT_DOUBLE_EQ(rep["find_max"]["options"]["precision"].get<double>(), 0.1);
}

}  // namespace
}  // namespace loadtest
