// The dashboard against the real thing: three real loadtest-agent processes
// on 127.0.0.2-4, a real Prometheus configured from the shipped
// prometheus.yml (its `opentrail-agents` job and relabelling, a 1 s scrape
// interval) scraping them through a file_sd file, and a real distributed
// run by `loadtest --agents=...`. Every query of every dashboard panel then
// goes through Prometheus' HTTP API and must return data, one series per
// agent for per-agent panels; the total write rate must agree with the
// controller's summary.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/deploy/dashboard_queries.h"
#include "tests/deploy/prometheus_process.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::DashboardQueries;
using ::loadtest::testing::DashboardQuery;
using ::loadtest::testing::ExpandDashboardVariables;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::PrometheusProcess;
using ::loadtest::testing::QueryResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;

const std::string kSource = LOADTEST_SOURCE_DIR;
constexpr std::chrono::seconds kStartDeadline{60};
// Scrapes every second: a condition Prometheus can see at all is seen well
// within this, even on a loaded machine.
constexpr std::chrono::seconds kScrapeDeadline{60};
// Grafana's $__rate_interval is at least four scrape intervals; with the
// test's 1 s scrapes that is 4 s.
constexpr char kRateInterval[] = "4s";
// Open loop: writes/s per agent (900 in total), far below what an agent
// sustains here even with the machine shared, so the offered rate holds
// every second and a windowed rate can be compared with the run's average.
constexpr char kWriteRate[] = "300";

// The shipped prometheus.yml, scraping every second instead of every 5 s;
// its job, file_sd path and relabelling are kept as they are.
std::string TestPrometheusConfig() {
  std::string config = ReadFile(kSource + "/prometheus.yml");
  int replaced = 0;
  for (const std::string key : {"scrape_interval: ", "evaluation_interval: "}) {
    for (size_t at = config.find(key + "5s"); at != std::string::npos;
         at = config.find(key + "5s", at)) {
      config.replace(at, key.size() + 2, key + "1s");
      ++replaced;
    }
  }
  EXPECT_GE(replaced, 2) << "prometheus.yml no longer sets a 5s interval";
  return config;
}

bool Finite(const json& series) {
  const double value = std::stod(series["value"][1].get<std::string>());
  return std::isfinite(value);
}

// The single value of a one-series result, NaN if there is not exactly one.
double SingleValue(const QueryResult& result) {
  if (!result.error.empty() || result.series.size() != 1) return std::nan("");
  return std::stod(result.series[0]["value"][1].get<std::string>());
}

std::string Describe(const QueryResult& result) {
  return result.error.empty() ? result.series.dump() : result.error;
}

TEST(DashboardTest,
     EveryPanelQueryReturnsDataForEachOfThreeAgentsFromARealPrometheus) {
  const std::string prometheus = FindProgram("prometheus");
  if (prometheus.empty()) {
    GTEST_SKIP() << "prometheus not found on PATH (Debian package "
                    "prometheus; scripts/install-deps.sh test installs it)";
  }
  const std::string promtool = FindProgram("promtool");
  const std::string curl = FindProgram("curl");
  if (promtool.empty() || curl.empty()) {
    GTEST_SKIP() << "promtool or curl not found on PATH (Debian packages "
                    "prometheus and curl; scripts/install-deps.sh test)";
  }
  const json dashboard = json::parse(
      ReadFile(kSource + "/deploy/grafana/dashboards/opentrail-load.json"),
      nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dashboard.is_discarded());
  const std::vector<DashboardQuery> queries = DashboardQueries(dashboard);
  ASSERT_FALSE(queries.empty());

  TempDir dir;
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<std::string> ids;
  std::string agents_flag;
  for (const int n : {2, 3, 4}) {
    const std::string host = "127.0.0." + std::to_string(n);
    const std::string id = "agent-" + std::to_string(n);
    std::filesystem::create_directory(dir.File(id));
    agents.push_back(std::make_unique<AgentProcess>(dir.File(id), id, host));
    ASSERT_TRUE(agents.back()->Start());
    ids.push_back(id);
    agents_flag += (agents_flag.empty() ? "" : ",") + agents.back()->address();
  }
  const std::set<std::string> id_set(ids.begin(), ids.end());

  // Prometheus watches targets/*.json; `loadtest --prometheus-targets`
  // writes the agents' file there when the run starts.
  std::filesystem::create_directory(dir.File("targets"));
  WriteFile(dir.File("prometheus.yml"), TestPrometheusConfig());
  std::filesystem::create_directory(dir.File("tsdb"));
  PrometheusProcess server(prometheus, dir.File("prometheus.yml"),
                           dir.File("tsdb"));
  std::string error;
  ASSERT_TRUE(server.Start(kStartDeadline, &error)) << error;

  Subprocess run({LOADTEST_BIN, "--agents=" + agents_flag, "-duration=14s",
                  "-log-interval=1s", "--write-rate=" + std::string(kWriteRate),
                  "--out=" + dir.File("report.json"),
                  "--prometheus-targets=" + dir.File("targets/opentrail-agents.json")});
  ASSERT_TRUE(run.Start(&error)) << error;

  // All three scraped, each named by the agent id from the file.
  QueryResult up;
  ASSERT_TRUE(server.WaitFor(
      "up{job=\"opentrail-agents\"} == 1",
      [](const QueryResult& r) { return r.series.size() == 3; },
      kScrapeDeadline, &up))
      << Describe(up) << "\n"
      << server.log();
  std::set<std::string> labelled;
  for (const json& series : up.series)
    labelled.insert(series["metric"].value("agent", ""));
  EXPECT_EQ(labelled, id_set);


  // Wait until every scrape of the last 7 s (at least six: the targets were
  // only discovered when the run began) saw each agent's run active:
  // its workload (which starts 1 s after the run arrives) then filled the
  // whole 4 s rate window. Every query is evaluated at that instant.
  const std::string steady =
      "min_over_time(opentrail_agent_run_active{job=\"opentrail-agents\"}[7s]) "
      "== 1 and count_over_time(opentrail_agent_run_active{job=\"opentrail-"
      "agents\"}[7s]) >= 6";
  QueryResult active;
  ASSERT_TRUE(server.WaitFor(
      steady, [](const QueryResult& r) { return r.series.size() == 3; },
      kScrapeDeadline, &active))
      << Describe(active) << "\nloadtest: " << run.stderr_text();
  const double at = active.series[0]["value"][0].get<double>();

  // The agent's own exposition, mid-run, linted as Prometheus would.
  const ProcessResult scrape = RunAndWait(
      {curl, "-sS", std::string("http://127.0.0.2:") +
                         std::to_string(agents[0]->metrics_port()) + "/metrics"});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.stderr_text;
  EXPECT_THAT(scrape.stdout_text, HasSubstr("opentrail_agent_run_active 1"));
  // The store's internals and the standard process collector's series.
  for (const char* series :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds ", "process_start_time_seconds ", "process_threads ",
        "opentrail_storage_wal_bytes ",
        "opentrail_storage_checkpoint_duration_seconds_bucket{",
        "opentrail_storage_commit_duration_seconds_bucket{",
        "opentrail_storage_busy_events_total{connection=\"writer\"}",
        "opentrail_storage_busy_events_total{connection=\"readers\"}",
        "opentrail_storage_busy_events_total{connection=\"checkpointer\"}",
        "opentrail_storage_cache_hits_total{connection=\"writer\"}",
        "opentrail_storage_cache_misses_total{connection=\"readers\"}",
        "opentrail_health_state{state=\"healthy\"}",
        "opentrail_health_state{state=\"overloaded\"}"}) {
    EXPECT_THAT(scrape.stdout_text, HasSubstr(series));
  }
  // Mid-run, past its first interval: exactly one health state is current.
  int current_states = 0;
  for (const char* state :
       {"healthy", "under_stress", "overloaded", "generator_bound"}) {
    current_states += scrape.stdout_text.find(
                          std::string("opentrail_health_state{state=\"") +
                          state + "\"} 1\n") != std::string::npos;
  }
  EXPECT_EQ(current_states, 1) << scrape.stdout_text;
  const bool has_disk_series =
      scrape.stdout_text.find("opentrail_host_disk_io_time_seconds_total{") !=
      std::string::npos;
  // The host's and the process's I/O series, whatever the disk.
  for (const char* series :
       {"opentrail_host_cpu_seconds_total{mode=\"steal\"}",
        "opentrail_host_load1 ", "opentrail_process_written_bytes_total ",
        "opentrail_storage_fsyncs_total "}) {
    EXPECT_THAT(scrape.stdout_text, HasSubstr(series));
  }
  WriteFile(dir.File("metrics.txt"), scrape.stdout_text);
  const ProcessResult lint =
      RunAndWait({promtool, "check", "metrics"}, dir.File("metrics.txt"));
  EXPECT_EQ(lint.exit_code, 0) << lint.stdout_text << lint.stderr_text;
  EXPECT_EQ(lint.stdout_text + lint.stderr_text, "");

  // Every query of every panel, with $agent as Grafana sends "All".
  double total_write_rate = std::nan("");
  std::printf(
      "Dashboard queries at t=%.3f ($agent=All, $__rate_interval=%s):\n", at,
      kRateInterval);
  for (const DashboardQuery& query : queries) {
    const std::string expr =
        ExpandDashboardVariables(query.expr, ids, kRateInterval);
    SCOPED_TRACE(query.panel + " / " + query.ref_id + ": " + expr);
    EXPECT_EQ(expr.find('$'), std::string::npos)
        << "a variable left unexpanded";
    const QueryResult result = server.Query(expr, at);
    ASSERT_EQ(result.error, "");
    // The disk's series exist only when the agents' data directories are
    // on a block device (not on tmpfs or a container's overlay).
    if (expr.find("opentrail_host_disk_") != std::string::npos &&
        !has_disk_series) {
      std::printf("  [no disk] %s / %s: the data directory has no block "
                  "device here\n",
                  query.panel.c_str(), query.ref_id.c_str());
      EXPECT_TRUE(result.series.empty()) << result.series.dump();
      continue;
    }
    std::printf("  [%zu series] %s%s / %s: %s\n", result.series.size(),
                query.per_agent ? "per agent: " : "", query.panel.c_str(),
                query.ref_id.c_str(), expr.c_str());
    EXPECT_FALSE(result.series.empty()) << "no data";
    std::multiset<std::string> agent_labels;
    for (const json& series : result.series) {
      EXPECT_TRUE(Finite(series)) << series.dump();
      if (series["metric"].contains("agent")) {
        agent_labels.insert(series["metric"]["agent"].get<std::string>());
      }
    }
    if (query.per_agent || !agent_labels.empty()) {
      // One series per agent, each agent once.
      EXPECT_EQ(agent_labels,
                std::multiset<std::string>(ids.begin(), ids.end()))
          << result.series.dump();
      EXPECT_EQ(result.series.size(), ids.size());
    } else {
      // A total across agents.
      EXPECT_EQ(result.series.size(), 1u) << result.series.dump();
    }
    if (query.panel == "Write throughput, all agents" && query.ref_id == "A") {
      total_write_rate = SingleValue(result);
    }
  }
  std::fflush(stdout);

  EXPECT_EQ(run.Wait(), 0) << run.stdout_text() << run.stderr_text();
  const json report = ReadReport(dir.File("report.json"));
  ASSERT_FALSE(report.is_discarded());
  const json& total = report["summary"]["total"];
  const double summary_rate = total["writes_per_s"].get<double>();
  // The dashboard's total write rate (a 4 s window in the steady middle of
  // an open-loop run) against the controller's run average.
  ASSERT_FALSE(std::isnan(total_write_rate))
      << "no \"Write throughput, all agents\" panel with a query A";
  std::printf("total write rate: dashboard %.1f/s, controller summary %.1f/s\n",
              total_write_rate, summary_rate);
  EXPECT_NEAR(total_write_rate, summary_rate, 0.10 * summary_rate);

  // And exactly: the counter the panel rates, as last scraped, holds every
  // write the controller counted (acknowledged or not).
  const int64_t submitted = total["writes_ok"].get<int64_t>() +
                            total["write_errors"].get<int64_t>() +
                            total["write_timeouts"].get<int64_t>() +
                            total["queue_full_errors"].get<int64_t>();
  QueryResult counted;
  EXPECT_TRUE(server.WaitFor(
      "sum(opentrail_storage_write_requests_total{job=\"opentrail-agents\"})",
      [submitted](const QueryResult& r) {
        return SingleValue(r) == static_cast<double>(submitted);
      },
      kScrapeDeadline, &counted))
      << "Prometheus counted " << Describe(counted) << ", the controller "
      << submitted;

  for (auto& agent : agents) {
    agent->process().SendSignal(SIGTERM);
    EXPECT_EQ(agent->process().Wait(), 0) << agent->process().stderr_text();
  }
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

// A target that brings no `agent` label (a static target, or a file_sd
// group without labels) is named after its host by the shipped relabelling.
TEST(DashboardTest, TargetsWithoutAnAgentLabelAreNamedAfterTheirHost) {
  const std::string prometheus = FindProgram("prometheus");
  if (prometheus.empty()) {
    GTEST_SKIP() << "prometheus not found on PATH (Debian package "
                    "prometheus; scripts/install-deps.sh test installs it)";
  }
  TempDir dir;
  std::filesystem::create_directory(dir.File("targets"));
  WriteFile(dir.File("targets/static.json"),
            R"([{"targets":["127.0.0.5:9","127.0.0.6:9"]}])");
  WriteFile(dir.File("prometheus.yml"), TestPrometheusConfig());
  std::filesystem::create_directory(dir.File("tsdb"));
  PrometheusProcess server(prometheus, dir.File("prometheus.yml"),
                           dir.File("tsdb"));
  std::string error;
  ASSERT_TRUE(server.Start(kStartDeadline, &error)) << error;
  // Nothing listens there: `up` is 0, but the series exists with its label.
  QueryResult up;
  ASSERT_TRUE(server.WaitFor(
      "up{job=\"opentrail-agents\"}",
      [](const QueryResult& r) { return r.series.size() == 2; },
      kScrapeDeadline, &up))
      << Describe(up);
  std::set<std::string> labelled;
  for (const json& series : up.series)
    labelled.insert(series["metric"].value("agent", ""));
  EXPECT_EQ(labelled, (std::set<std::string>{"127.0.0.5", "127.0.0.6"}));
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

}  // namespace
}  // namespace loadtest
