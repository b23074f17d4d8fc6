// Checks of the deployment files as the tools that read them see them:
// promtool on both Prometheus configurations, docker-compose on the compose
// file, Python's YAML parser on every YAML file under deploy/, and the
// Grafana dashboard's JSON. Each test skips (with the package to install)
// only when its tool is missing.
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/deploy/dashboard_queries.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::DashboardDatasources;
using ::loadtest::testing::DashboardQueries;
using ::loadtest::testing::DashboardQuery;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = LOADTEST_SOURCE_DIR;
const std::string kTopConfig = kSource + "/prometheus.yml";
const std::string kComposeConfig =
    kSource + "/deploy/prometheus/prometheus.yml";
const std::string kComposeFile = kSource + "/deploy/docker-compose.yml";
const std::string kDashboard =
    kSource + "/deploy/grafana/dashboards/opentrail-load.json";
const std::string kK8sDir = kSource + "/deploy/k8s";

constexpr char kParseYaml[] =
    "import yaml,sys; list(yaml.safe_load_all(open(sys.argv[1])))";
constexpr char kYamlToJson[] =
    "import json,sys,yaml; "
    "json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout, "
    "default=str)";

// python3 if it has the yaml module (Debian: python3-yaml), else "".
std::string PythonWithYaml() {
  const std::string python = FindProgram("python3");
  if (python.empty()) return "";
  return RunAndWait({python, "-c", "import yaml"}).exit_code == 0 ? python : "";
}

// Every document of the YAML file at `path`, as JSON (an array); a
// discarded value and a test failure if it does not parse.
json YamlDocuments(const std::string& python, const std::string& path) {
  const ProcessResult result = RunAndWait({python, "-c", kYamlToJson, path});
  if (result.exit_code != 0) {
    ADD_FAILURE() << path << " is not valid YAML: " << result.stderr_text;
    return json(json::value_t::discarded);
  }
  return json::parse(result.stdout_text, nullptr, /*allow_exceptions=*/false);
}

#define SKIP_WITHOUT(program_path, what)                                   \
  if ((program_path).empty()) {                                            \
    GTEST_SKIP() << what << " not found on PATH; scripts/install-deps.sh " \
                 << "test installs it";                                    \
  }

// --- Prometheus ---

TEST(PrometheusConfigTest,
     TopLevelConfigPassesPromtoolBeforeLoadtestWroteTargets) {
  const std::string promtool = FindProgram("promtool");
  SKIP_WITHOUT(promtool, "promtool (Debian package prometheus)");
  // Without the file_sd file (a fresh checkout): promtool warns that it is
  // missing, and passes.
  TempDir dir;
  WriteFile(dir.File("prometheus.yml"), ReadFile(kTopConfig));
  const ProcessResult result =
      RunAndWait({promtool, "check", "config", dir.File("prometheus.yml")});
  EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
  EXPECT_THAT(result.stdout_text + result.stderr_text, HasSubstr("SUCCESS"));
}

TEST(PrometheusConfigTest,
     TopLevelConfigPassesPromtoolWithTheTargetsFileLoadtestWrites) {
  const std::string promtool = FindProgram("promtool");
  SKIP_WITHOUT(promtool, "promtool (Debian package prometheus)");
  TempDir dir;
  WriteFile(dir.File("prometheus.yml"), ReadFile(kTopConfig));
  std::filesystem::create_directory(dir.File("targets"));
  // The format of `loadtest
  // --prometheus-targets=targets/opentrail-agents.json`.
  WriteFile(dir.File("targets/opentrail-agents.json"),
            R"([{"targets":["10.0.0.7:8080"],"labels":{"agent":"vps-1"}},)"
            R"( {"targets":["10.0.0.8:8080"],"labels":{"agent":"vps-2"}}])");
  const ProcessResult result =
      RunAndWait({promtool, "check", "config", dir.File("prometheus.yml")});
  EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
  // promtool reads the file_sd file too: no warning means it found and
  // accepted it.
  EXPECT_THAT(result.stdout_text + result.stderr_text,
              Not(HasSubstr("WARNING")));
}

TEST(PrometheusConfigTest, ComposeConfigPassesPromtool) {
  const std::string promtool = FindProgram("promtool");
  SKIP_WITHOUT(promtool, "promtool (Debian package prometheus)");
  const ProcessResult result =
      RunAndWait({promtool, "check", "config", kComposeConfig});
  EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
  EXPECT_THAT(result.stdout_text + result.stderr_text,
              Not(HasSubstr("WARNING")));
}

TEST(PrometheusConfigTest,
     KubernetesConfigFailsDebianPromtoolOnlyForKubernetesDiscovery) {
  const std::string promtool = FindProgram("promtool");
  SKIP_WITHOUT(promtool, "promtool (Debian package prometheus)");
  const std::string python = PythonWithYaml();
  SKIP_WITHOUT(python, "python3 with the yaml module (python3-yaml)");
  std::string config;
  for (const json& doc :
       YamlDocuments(python, kK8sDir + "/20-prometheus.yaml")) {
    if (doc.value("kind", "") == "ConfigMap" &&
        doc["data"].contains("prometheus.yml")) {
      config = doc["data"]["prometheus.yml"].get<std::string>();
    }
  }
  ASSERT_FALSE(config.empty()) << "no ConfigMap with prometheus.yml";
  TempDir dir;
  WriteFile(dir.File("prometheus.yml"), config);
  const ProcessResult result =
      RunAndWait({promtool, "check", "config", dir.File("prometheus.yml")});
  if (result.exit_code == 0) return;  // A promtool built with Kubernetes SD.
  // Debian's build lacks Kubernetes discovery: the one complaint allowed is
  // the unknown kubernetes_sd_configs field; any other field error is ours.
  const std::string output = result.stdout_text + result.stderr_text;
  EXPECT_THAT(output, HasSubstr("field kubernetes_sd_configs not found"));
  size_t errors = 0;
  for (size_t at = output.find("  line "); at != std::string::npos;
       at = output.find("  line ", at + 1)) {
    ++errors;
    EXPECT_THAT(output.substr(at, output.find('\n', at) - at),
                HasSubstr("kubernetes_sd_configs"));
  }
  EXPECT_EQ(errors, 1u) << output;
}

// --- docker-compose ---

TEST(ComposeTest, ConfigIsValidWithAndWithoutTheRunProfile) {
  const std::string compose = FindProgram("docker-compose");
  SKIP_WITHOUT(compose, "docker-compose (Debian package docker-compose)");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{compose, "-f", kComposeFile, "config", "-q"},
        std::vector<std::string>{compose, "-f", kComposeFile, "--profile",
                                 "run", "config", "-q"}}) {
    const ProcessResult result = RunAndWait(args);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_EQ(result.stderr_text, "");
  }
}

TEST(ComposeTest, TheControllerRunsTheScenarioNamedInTheEnvironment) {
  const std::string compose = FindProgram("docker-compose");
  SKIP_WITHOUT(compose, "docker-compose (Debian package docker-compose)");
  const std::string env = FindProgram("env");
  ASSERT_FALSE(env.empty());
  const ProcessResult result =
      RunAndWait({env, "SCENARIO=burst", compose, "-f", kComposeFile,
                  "--profile", "run", "config"});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("--scenario=burst"));
  EXPECT_THAT(result.stdout_text, HasSubstr("--agents=dns:///agent:7070"));
}

TEST(ComposeTest, AgentsScaleWithoutHostPortsEachWithItsOwnDatabaseVolume) {
  const std::string python = PythonWithYaml();
  SKIP_WITHOUT(python, "python3 with the yaml module (python3-yaml)");
  const json docs = YamlDocuments(python, kComposeFile);
  ASSERT_TRUE(docs.is_array() && docs.size() == 1);
  const json& services = docs[0]["services"];
  const json& agent = services["agent"];
  EXPECT_FALSE(agent.contains("ports")) << "fixed host ports prevent --scale";
  EXPECT_FALSE(agent.contains("container_name")) << "prevents --scale";
  // An anonymous volume (a container path alone) is created per container.
  bool anonymous_data_volume = false;
  for (const json& volume : agent.value("volumes", json::array())) {
    if (volume.is_string() &&
        volume.get<std::string>() == "/var/lib/opentrail-load") {
      anonymous_data_volume = true;
    }
  }
  EXPECT_TRUE(anonymous_data_volume) << agent.dump();
  EXPECT_EQ(services["controller"]["profiles"], json::array({"run"}));
  // Both sides use the token from the compose secret; the agent's health
  // check sends it too.
  EXPECT_THAT(agent["command"].dump(),
              HasSubstr("--auth-token-file=/run/secrets/agent-token"));
  EXPECT_THAT(agent["healthcheck"]["test"].dump(),
              HasSubstr("--auth-token-file=/run/secrets/agent-token"));
  EXPECT_THAT(services["controller"]["entrypoint"].dump(),
              HasSubstr("--auth-token-file=/run/secrets/agent-token"));
  EXPECT_EQ(agent["secrets"], json::array({"agent-token"}));
  EXPECT_EQ(services["controller"]["secrets"], json::array({"agent-token"}));
  EXPECT_TRUE(docs[0]["secrets"].contains("agent-token"));
  // Grafana's dashboard provider reads the folder compose mounts the
  // dashboards into.
  const json provider = YamlDocuments(
      python,
      kSource + "/deploy/grafana/provisioning/dashboards/opentrail-load.yml");
  ASSERT_TRUE(provider.is_array());
  const std::string path = provider[0]["providers"][0]["options"]["path"];
  EXPECT_THAT(services["grafana"]["volumes"].dump(),
              HasSubstr("./grafana/dashboards:" + path + ":ro"));
}

// --- YAML ---

// The agents compose and Kubernetes start refuse runs beyond shipped,
// non-zero limits (every --max-* once defaulted to 0, no limit).
TEST(DeployYamlTest, ComposeAndKubernetesAgentsShipNonZeroLimits) {
  for (const char* file : {"/deploy/docker-compose.yml", "/deploy/k8s/10-agents.yaml"}) {
    const std::string text = ReadFile(kSource + file);
    for (const char* flag :
         {"--max-writers=", "--max-readers=", "--max-duration=", "--max-db-bytes="}) {
      const size_t at = text.find(flag);
      ASSERT_NE(at, std::string::npos) << file << " does not set " << flag;
      const char first = text[at + std::string(flag).size()];
      EXPECT_TRUE(first >= '1' && first <= '9')
          << file << ": " << text.substr(at, 30);
    }
  }
}

TEST(DeployYamlTest, EveryYamlFileParses) {
  const std::string python = PythonWithYaml();
  SKIP_WITHOUT(python, "python3 with the yaml module (python3-yaml)");
  std::vector<std::string> files = {kTopConfig};
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(kSource + "/deploy")) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() &&
        (extension == ".yml" || extension == ".yaml")) {
      files.push_back(entry.path().string());
    }
  }
  EXPECT_GE(files.size(), 10u);
  for (const std::string& file : files) {
    const ProcessResult result = RunAndWait({python, "-c", kParseYaml, file});
    EXPECT_EQ(result.exit_code, 0) << file << ": " << result.stderr_text;
  }
}

// --- Kubernetes ---

TEST(KubernetesTest,
     AgentsAreAStatefulSetBehindAHeadlessServiceTheJobResolves) {
  const std::string python = PythonWithYaml();
  SKIP_WITHOUT(python, "python3 with the yaml module (python3-yaml)");
  std::vector<json> objects;
  for (const auto& entry : std::filesystem::directory_iterator(kK8sDir)) {
    for (const json& doc : YamlDocuments(python, entry.path().string())) {
      if (!doc.is_null()) objects.push_back(doc);
    }
  }
  std::string namespace_name;
  for (const json& object : objects) {
    if (object["kind"] == "Namespace")
      namespace_name = object["metadata"]["name"];
  }
  ASSERT_FALSE(namespace_name.empty());
  const json* service = nullptr;
  const json* stateful_set = nullptr;
  const json* job = nullptr;
  for (const json& object : objects) {
    if (object["kind"] == "Namespace") continue;
    EXPECT_EQ(object["metadata"].value("namespace", ""), namespace_name)
        << object["kind"] << " " << object["metadata"]["name"];
    if (object["kind"] == "StatefulSet") stateful_set = &object;
    if (object["kind"] == "Job") job = &object;
  }
  ASSERT_NE(stateful_set, nullptr);
  ASSERT_NE(job, nullptr);
  const std::string service_name = (*stateful_set)["spec"]["serviceName"];
  for (const json& object : objects) {
    if (object["kind"] == "Service" &&
        object["metadata"]["name"] == service_name) {
      service = &object;
    }
  }
  ASSERT_NE(service, nullptr) << "no Service " << service_name;
  EXPECT_EQ((*service)["spec"]["clusterIP"], "None");
  EXPECT_FALSE((*stateful_set)["spec"]["volumeClaimTemplates"].empty());
  const std::string args =
      (*job)["spec"]["template"]["spec"]["containers"][0]["args"].dump();
  EXPECT_THAT(args, HasSubstr("--agents=dns:///" + service_name + "." +
                              namespace_name + ".svc:7070"));
  // The agents require the token from the Secret; the controller and the
  // readiness probe send it.
  const json& agent = (*stateful_set)["spec"]["template"]["spec"];
  const json& job_pod = (*job)["spec"]["template"]["spec"];
  for (const json* pod : {&agent, &job_pod}) {
    const json& container = (*pod)["containers"][0];
    EXPECT_THAT(container["args"].dump(),
                HasSubstr("--auth-token-file=/etc/opentrail/token/token"));
    EXPECT_THAT(container["volumeMounts"].dump(),
                HasSubstr("/etc/opentrail/token"));
    EXPECT_THAT((*pod)["volumes"].dump(),
                HasSubstr("\"secretName\":\"opentrail-agent-token\""));
  }
  // Readiness and liveness are both a GetStatus with the token (a TCP probe
  // passes on a port gRPC no longer accepts on).
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    const json& check = agent["containers"][0][probe];
    ASSERT_TRUE(check.contains("exec")) << probe << ": " << check.dump();
    EXPECT_THAT(check["exec"]["command"].dump(),
                HasSubstr("--healthcheck=127.0.0.1:7070"));
    EXPECT_THAT(check["exec"]["command"].dump(),
                HasSubstr("--auth-token-file=/etc/opentrail/token/token"));
  }
}

// --- Grafana dashboard ---

TEST(DashboardFileTest, IsJsonThatNamesItsDataSourceByUidOnly) {
  const std::string text = ReadFile(kDashboard);
  const json dashboard = json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dashboard.is_discarded()) << kDashboard << " is not valid JSON";
  EXPECT_THAT(text, Not(HasSubstr("${DS_")));
  EXPECT_FALSE(dashboard.contains("__inputs"));
  const std::vector<json> datasources = DashboardDatasources(dashboard);
  EXPECT_FALSE(datasources.empty());
  for (const json& datasource : datasources) {
    ASSERT_TRUE(datasource.is_object()) << datasource.dump();
    EXPECT_EQ(datasource.value("uid", ""), "prometheus") << datasource.dump();
    EXPECT_EQ(datasource.value("type", ""), "prometheus") << datasource.dump();
  }
  // The provisioned data source carries that uid.
  EXPECT_THAT(
      ReadFile(kSource +
               "/deploy/grafana/provisioning/datasources/prometheus.yml"),
      HasSubstr("uid: prometheus"));
}

TEST(DashboardFileTest,
     RepeatsEveryAgentPanelPerAgentAndTotalsQuantilesOverBuckets) {
  const json dashboard = json::parse(ReadFile(kDashboard), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded());
  const json* variable = nullptr;
  for (const json& v : dashboard["templating"]["list"]) {
    if (v["name"] == "agent") variable = &v;
  }
  ASSERT_NE(variable, nullptr) << "no `agent` variable";
  EXPECT_TRUE(variable->value("multi", false));
  EXPECT_TRUE(variable->value("includeAll", false));

  const std::vector<DashboardQuery> queries = DashboardQueries(dashboard);
  std::set<std::string> per_agent_panels;
  for (const DashboardQuery& query : queries) {
    SCOPED_TRACE(query.panel + " " + query.ref_id + ": " + query.expr);
    EXPECT_THAT(query.expr, HasSubstr("agent=~\"$agent\""));
    EXPECT_THAT(query.expr, Not(HasSubstr("avg(histogram_quantile")));
    if (query.per_agent) per_agent_panels.insert(query.panel);
    if (query.expr.find("histogram_quantile") != std::string::npos) {
      EXPECT_THAT(query.expr, HasSubstr(query.per_agent ? "sum by (agent, le)"
                                                        : "sum by (le)"));
    }
  }
  // The issue's list, each repeated per agent.
  for (const char* needed :
       {"Write throughput", "Read throughput", "Write latency p50/p95/p99",
        "Read latency p50/p95/p99", "Queue utilization",
        "Queue-full and timeout rates", "Batch size", "Batch processing time",
        "Error rates", "Health state"}) {
    EXPECT_EQ(per_agent_panels.count(needed), 1u) << needed;
  }
  // The guide's health states as a state timeline of opentrail_health_state,
  // its values mapped to the four states' names.
  for (const json& panel : dashboard["panels"]) {
    if (panel.value("title", "") != "Health state") continue;
    EXPECT_EQ(panel.value("type", ""), "state-timeline");
    EXPECT_THAT(panel["targets"][0].value("expr", ""),
                HasSubstr("opentrail_health_state"));
    const json& options =
        panel["fieldConfig"]["defaults"]["mappings"][0]["options"];
    EXPECT_EQ(options["0"].value("text", ""), "healthy");
    EXPECT_EQ(options["1"].value("text", ""), "under stress");
    EXPECT_EQ(options["2"].value("text", ""), "overloaded");
    EXPECT_EQ(options["3"].value("text", ""), "generator-bound");
  }
  // The store's internals and the load generator, in a row of their own
  // repeated per agent, each reading the metric it is about.
  const std::map<std::string, std::string> internals = {
      {"WAL size and database file", "opentrail_storage_wal_bytes"},
      {"Checkpoints", "opentrail_storage_checkpoints_blocked_total"},
      {"COMMIT time and checkpoint time",
       "opentrail_storage_commit_duration_seconds_bucket"},
      {"Lock waits (SQLITE_BUSY) by connection",
       "opentrail_storage_busy_events_total"},
      {"Page cache hit ratio", "opentrail_storage_cache_misses_total"},
      {"Load generator CPU", "process_cpu_seconds_total"},
      {"Threads and open files", "process_threads"},
      {"Resident memory", "process_resident_memory_bytes"},
      {"Database disk utilization and await",
       "opentrail_host_disk_io_time_seconds_total"},
      {"Host CPU steal and iowait", "opentrail_host_cpu_seconds_total"},
      {"Store fsyncs", "opentrail_storage_fsyncs_total"}};
  std::map<std::string, int> found;
  for (const DashboardQuery& query : queries) {
    auto it = internals.find(query.panel);
    if (it == internals.end()) continue;
    SCOPED_TRACE(query.panel + " " + query.ref_id);
    EXPECT_EQ(query.row, "Store internals $agent");
    EXPECT_TRUE(query.per_agent);
    if (query.expr.find(it->second) != std::string::npos) ++found[query.panel];
  }
  for (const auto& [panel, metric] : internals) {
    EXPECT_GE(found[panel], 1) << panel << " does not query " << metric;
  }
}

// --- Docker image ---

TEST(DockerfileTest, BuildsWithTheInstallScriptsPackagesAndRunsAsNonRoot) {
  const std::string dockerfile = ReadFile(kSource + "/deploy/Dockerfile");
  // One package list for machines and images: the script's `build` list.
  EXPECT_THAT(dockerfile, HasSubstr("FROM debian:bookworm AS build"));
  EXPECT_THAT(dockerfile, HasSubstr("RUN scripts/install-deps.sh build"));
  EXPECT_THAT(dockerfile, HasSubstr("--target loadtest loadtest-agent"));
  EXPECT_THAT(dockerfile, HasSubstr("FROM debian:bookworm-slim"));
  EXPECT_THAT(dockerfile, HasSubstr("USER 10001:10001"));
  EXPECT_THAT(
      dockerfile,
      HasSubstr(R"(CMD ["loadtest-agent", "--healthcheck=127.0.0.1:7070"])"));
  // The host's build/ folder must never reach the image.
  EXPECT_THAT(dockerfile, Not(HasSubstr("COPY . ")));
  // So sources are copied folder by folder: every folder the top
  // CMakeLists.txt builds (but tests, benchmarks and fuzzers, off there).
  const std::string cmake = ReadFile(kSource + "/CMakeLists.txt");
  const std::string directive = "add_subdirectory(";
  int folders = 0;
  for (size_t at = cmake.find(directive); at != std::string::npos;
       at = cmake.find(directive, at + 1)) {
    const size_t begin = at + directive.size();
    const std::string folder =
        cmake.substr(begin, cmake.find(')', begin) - begin);
    if (folder == "tests" || folder == "bench" || folder == "fuzz") continue;
    ++folders;
    EXPECT_THAT(dockerfile, HasSubstr("COPY " + folder + "/ " + folder + "/"))
        << "deploy/Dockerfile does not copy " << folder << "/";
  }
  EXPECT_GE(folders, 7);
}

}  // namespace
}  // namespace loadtest
