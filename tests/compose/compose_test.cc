// The docker-compose deployment run for real, as the README tells a user to
// run it: the shipped deploy/Dockerfile built, the shipped
// deploy/docker-compose.yml brought up with three agent replicas, the
// controller service run across them, then five, then one of five killed
// mid-run, then `down -v`. Only what cannot be pulled without Docker Hub is
// replaced, by tests/compose/docker-compose.test.yml: Prometheus is built
// from Debian's package, and Grafana is left out.
//
// Docker is started here if it is not running (and stopped again), the
// Debian base images are made with mmdebstrap when the engine lacks them,
// and one lock file keeps two runs on one machine from sharing the engine
// and the published Prometheus port. docs/compose-test.md tells the story.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/compose/compose_project.h"
#include "tests/compose/docker_engine.h"
#include "tests/compose/prometheus_api.h"
#include "tests/deploy/dashboard_queries.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::ComposeProject;
using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::DashboardQueries;
using ::loadtest::testing::DashboardQuery;
using ::loadtest::testing::Describe;
using ::loadtest::testing::DockerEngine;
using ::loadtest::testing::ExpandDashboardVariables;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::HttpGet;
using ::loadtest::testing::IsIntervalLine;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ProjectLeftovers;
using ::loadtest::testing::PrometheusApi;
using ::loadtest::testing::QueryResult;
using ::loadtest::testing::ReadFile;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::Subprocess;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WaitUntil;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

const std::string kSource = LOADTEST_SOURCE_DIR;
const std::string kComposeFile = kSource + "/deploy/docker-compose.yml";
const std::string kOverrideFile =
    kSource + "/tests/compose/docker-compose.test.yml";
const std::vector<std::string> kDockerfiles = {
    kSource + "/deploy/Dockerfile",
    kSource + "/tests/compose/prometheus/Dockerfile"};
const std::string kDashboard =
    kSource + "/deploy/grafana/dashboards/opentrail-load.json";

// Every project of this test is named with this prefix and the test's pid.
constexpr char kProjectPrefix[] = "opentrail-load-compose-test-";
// Held for the whole test: one compose test per machine at a time.
constexpr char kLockFile[] = "/tmp/opentrail-load-compose-test.lock";
// Where the shipped compose file publishes Prometheus.
constexpr int kPrometheusPort = 9090;
// What the image and compose file set up.
constexpr char kDataDir[] = "/var/lib/opentrail-load";
constexpr char kTokenPath[] = "/run/secrets/agent-token";
constexpr char kImageUser[] = "10001:10001";
// The controller's exit codes the README documents.
constexpr int kExitOk = 0;
constexpr int kExitPartial = 3;
// Grafana's $__rate_interval is at least four scrape intervals; the
// provisioned data source and the compose Prometheus scrape every 5 s.
constexpr char kRateInterval[] = "20s";

// Deadlines: each only bounds a hang; none is a timing requirement.
constexpr seconds kLockDeadline{900};
constexpr seconds kEngineDeadline{120};
// A cold image build: the build stage's packages and a compile on 2 shared
// cores.
constexpr seconds kBuildDeadline{1500};
// The health check runs every 10 s; a replica is healthy after its first.
constexpr seconds kHealthyDeadline{180};
// Prometheus asks DNS for replicas and scrapes every 5 s.
constexpr seconds kScrapeDeadline{120};
constexpr seconds kComposeDeadline{300};

// The run whose figures the dashboard queries read: long enough that a
// whole rate window (20 s) lies in the middle of it, scraped every 5 s.
constexpr char kDashboardRunDuration[] = "45s";
constexpr seconds kDashboardRunDeadline{300};
// Open loop and per agent, far below what an agent sustains even with the
// machine shared, so every agent writes and reads in every window.
const std::vector<std::string> kLoad = {"--scenario=light", "--write-rate=200",
                                        "--read-rate=20"};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A file lock on kLockFile, held while this object lives.
class MachineLock {
 public:
  MachineLock() = default;
  ~MachineLock() {
    if (fd_ >= 0) close(fd_);  // Releases the lock.
  }
  MachineLock(const MachineLock&) = delete;
  MachineLock& operator=(const MachineLock&) = delete;

  // Waits up to `deadline` for the lock; false if another run kept it.
  bool Acquire(seconds deadline) {
    fd_ = open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) return false;
    return WaitUntil([this] { return flock(fd_, LOCK_EX | LOCK_NB) == 0; },
                     deadline);
  }

 private:
  int fd_ = -1;
};

// The images the Dockerfiles start FROM, other than their own stages.
std::vector<std::string> BaseImages() {
  std::set<std::string> images;
  std::set<std::string> stages;
  for (const std::string& path : kDockerfiles) {
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string keyword, image, as, stage;
      words >> keyword >> image >> as >> stage;
      if (keyword != "FROM") continue;
      if (stages.count(image) == 0) images.insert(image);
      if (as == "AS" || as == "as") stages.insert(stage);
    }
  }
  return {images.begin(), images.end()};
}

std::string RandomHex(size_t bytes) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string hex;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    const int byte = random.get();
    hex += kDigits[(byte >> 4) & 15];
    hex += kDigits[byte & 15];
  }
  return hex;
}

// One agent replica as `docker inspect` shows it.
struct AgentContainer {
  std::string id;
  std::string name;
  std::string ip;      // Its address on the project network: its agent id.
  std::string health;  // "healthy", "starting", "unhealthy", or "".
  bool running = false;
  std::string user;         // Config.User.
  json healthcheck;         // Config.Healthcheck.
  std::string image;        // Config.Image.
  std::string data_volume;  // The volume mounted on kDataDir ("" if none).
  std::string data_mount_type;
};

AgentContainer ParseAgent(const json& inspected) {
  AgentContainer agent;
  agent.id = inspected.value("Id", "");
  agent.name = inspected.value("Name", "");
  const json& state = inspected["State"];
  agent.running = state.value("Running", false);
  if (state.contains("Health")) {
    agent.health = state["Health"].value("Status", "");
  }
  const json& config = inspected["Config"];
  agent.user = config.value("User", "");
  agent.image = config.value("Image", "");
  if (config.contains("Healthcheck")) agent.healthcheck = config["Healthcheck"];
  for (const auto& network : inspected["NetworkSettings"]["Networks"].items()) {
    agent.ip = network.value().value("IPAddress", "");
    break;
  }
  for (const json& mount : inspected.value("Mounts", json::array())) {
    if (mount.value("Destination", "") == kDataDir) {
      agent.data_volume = mount.value("Name", "");
      agent.data_mount_type = mount.value("Type", "");
    }
  }
  return agent;
}

std::set<std::string> Ips(const std::vector<AgentContainer>& agents) {
  std::set<std::string> ips;
  for (const AgentContainer& agent : agents) ips.insert(agent.ip);
  return ips;
}

bool Finite(const json& series) {
  return std::isfinite(std::stod(series["value"][1].get<std::string>()));
}

std::string Describe(const QueryResult& result) {
  return result.error.empty() ? result.series.dump() : result.error;
}

class ComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compose_ = FindProgram("docker-compose");
    if (compose_.empty()) {
      GTEST_SKIP() << "docker-compose not found on PATH (Debian package "
                      "docker-compose; scripts/install-deps.sh test "
                      "installs it)";
    }
    ASSERT_TRUE(lock_.Acquire(kLockDeadline))
        << kLockFile << ": another compose test kept it for "
        << kLockDeadline.count() << " s";
    engine_ = std::make_unique<DockerEngine>(dir_.path());
    std::string message;
    const Clock::time_point start = Clock::now();
    switch (engine_->Start(kEngineDeadline, &message)) {
      case DockerEngine::Outcome::kCannotRun:
        GTEST_SKIP() << "Docker cannot run here: " << message;
      case DockerEngine::Outcome::kFailed:
        FAIL() << message;
      case DockerEngine::Outcome::kReady:
        break;
    }
    std::printf(
        "compose test: Docker engine (%s, storage driver %s) in "
        "%.1f s\n",
        engine_->started_here() ? "started here" : "already running",
        engine_->storage_driver().c_str(), Seconds(start));
    docker_ = engine_->docker();
    RemoveStaleProjects();

    const Clock::time_point images = Clock::now();
    ASSERT_TRUE(engine_->EnsureBaseImages(BaseImages(), &message)) << message;
    std::printf("compose test: base images %s ready in %.1f s\n",
                ::testing::PrintToString(BaseImages()).c_str(),
                Seconds(images));

    // The token every agent requires, as the README makes it (readable by
    // the containers' user); the shipped compose file reads the path from
    // OPENTRAIL_AGENT_TOKEN_FILE, so deploy/secrets/ is left alone.
    token_ = RandomHex(32);
    WriteFile(dir_.File("agent-token"), token_ + "\n");
    chmod(dir_.File("agent-token").c_str(), 0644);
    // The controller (user 10001) writes its reports here.
    std::filesystem::create_directory(dir_.File("out"));
    chmod(dir_.File("out").c_str(), 0777);

    project_ = std::make_unique<ComposeProject>(
        compose_, docker_,
        std::vector<std::string>{kComposeFile, kOverrideFile},
        kProjectPrefix + std::to_string(getpid()),
        std::vector<std::string>{"OPENTRAIL_AGENT_TOKEN_FILE=" +
                                 dir_.File("agent-token")});
    std::fflush(stdout);
  }

  void TearDown() override {
    if (project_ != nullptr) {
      if (HasFailure()) {
        std::printf("compose test: the project's logs:\n%s\n",
                    project_->Run({"logs", "--no-color", "--tail=40"})
                        .stdout_text.c_str());
      }
      project_->RemoveEverything();
      const ProjectLeftovers left = project_->Leftovers({});
      EXPECT_TRUE(left.empty()) << "not removed: " << left.ToString();
      project_.reset();
    }
    if (engine_ != nullptr && engine_->started_here()) {
      EXPECT_EQ(engine_->Stop(), 0) << engine_->LogTail();
    }
    engine_.reset();
  }

  // Projects of this test left by a run that was killed (the lock says no
  // other run is going on): their replicas would come back with the engine
  // and hold the Prometheus port.
  void RemoveStaleProjects() {
    std::set<std::string> names;
    for (const std::vector<std::string>& list :
         {std::vector<std::string>{"ps", "--all"},
          std::vector<std::string>{"network", "ls"},
          std::vector<std::string>{"volume", "ls"}}) {
      std::vector<std::string> argv = {docker_};
      argv.insert(argv.end(), list.begin(), list.end());
      argv.insert(argv.end(),
                  {"--filter", "label=com.docker.compose.project", "--format",
                   "{{.Label \"com.docker.compose.project\"}}"});
      std::istringstream in(RunAndWait(argv).stdout_text);
      for (std::string name; std::getline(in, name);) {
        if (name.rfind(kProjectPrefix, 0) == 0) names.insert(name);
      }
    }
    for (const std::string& name : names) {
      std::printf("compose test: removing %s, left by an earlier run\n",
                  name.c_str());
      ComposeProject(compose_, docker_, {kComposeFile, kOverrideFile}, name, {})
          .RemoveEverything();
    }
  }

  // The agent replicas, once there are `count` and every one is running
  // and healthy; fails the test (and returns what there is) after
  // kHealthyDeadline.
  std::vector<AgentContainer> HealthyAgents(size_t count) {
    std::vector<AgentContainer> agents;
    const bool healthy = WaitUntil(
        [&] {
          agents.clear();
          const std::vector<std::string> ids = project_->ContainerIds("agent");
          if (ids.size() != count) return false;
          const json inspected = project_->Inspect(ids);
          if (!inspected.is_array()) return false;
          for (const json& container : inspected) {
            agents.push_back(ParseAgent(container));
          }
          return std::all_of(agents.begin(), agents.end(),
                             [](const AgentContainer& a) {
                               return a.running && a.health == "healthy";
                             });
        },
        kHealthyDeadline);
    EXPECT_TRUE(healthy) << "not " << count << " healthy agents within "
                         << kHealthyDeadline.count() << " s";
    for (const AgentContainer& agent : agents) {
      EXPECT_EQ(agent.health, "healthy") << agent.name;
    }
    return agents;
  }

  ProcessResult Exec(const AgentContainer& agent,
                     const std::vector<std::string>& command) {
    std::vector<std::string> argv = {docker_, "exec", agent.id};
    argv.insert(argv.end(), command.begin(), command.end());
    return RunAndWait(argv);
  }

  // The controller service's command line, as the README runs it, with
  // `flags` in place of the default --scenario=$SCENARIO; the reports
  // folder is mounted on /out.
  std::vector<std::string> ControllerCommand(
      const std::vector<std::string>& flags) const {
    std::vector<std::string> args = {"--profile",
                                     "run",
                                     "run",
                                     "--rm",
                                     "-T",
                                     "-v",
                                     dir_.File("out") + ":/out",
                                     "controller"};
    args.insert(args.end(), flags.begin(), flags.end());
    return project_->Command(args);
  }

  // Waits until Prometheus' active targets are exactly the agents, each up
  // and labelled `agent` with its address; fails the test otherwise.
  void ExpectPrometheusScrapesEachAgent(
      const std::vector<AgentContainer>& agents) {
    const PrometheusApi prometheus(kPrometheusPort);
    const std::set<std::string> ips = Ips(agents);
    json last;
    std::string error;
    const bool scraped = WaitUntil(
        [&] {
          error.clear();
          last = prometheus.Targets(&error);
          if (!error.empty()) return false;
          std::set<std::string> up;
          size_t count = 0;
          for (const json& target : last["activeTargets"]) {
            if (target["labels"].value("job", "") != "opentrail-agents") {
              continue;
            }
            ++count;
            if (target.value("health", "") == "up") {
              up.insert(target["labels"].value("agent", ""));
            }
          }
          return count == agents.size() && up == ips;
        },
        kScrapeDeadline);
    EXPECT_TRUE(scraped) << "Prometheus' targets are not the " << agents.size()
                         << " agents " << ::testing::PrintToString(ips)
                         << ", each up: "
                         << (error.empty() ? last.dump() : error);
  }

  // The JSON report at `path`: every agent of `agents` in it once, by its
  // address, each finished with a passing audit.
  json ExpectEveryAgentAudited(const std::string& path,
                               const std::vector<AgentContainer>& agents) {
    // The report alone: the intervals file it names is a path inside the
    // controller's container, and only the summary is checked here.
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "no report at " << path;
    const json report = json::parse(in, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(report.is_discarded()) << path << " is not JSON";
    if (report.is_discarded()) return report;
    std::set<std::string> ids;
    for (const json& entry : report["summary"]["agents"]) {
      const std::string id = entry.value("agent_id", "");
      ids.insert(id);
      EXPECT_FALSE(entry.value("lost", false)) << entry;
      EXPECT_TRUE(entry.contains("audit") &&
                  entry["audit"].value("passed", false))
          << id << ": " << entry.value("audit", json()).dump();
    }
    EXPECT_EQ(report["summary"]["agents"].size(), agents.size());
    EXPECT_EQ(ids, Ips(agents));
    EXPECT_TRUE(report["audit"].value("passed", false)) << report["audit"];
    return report;
  }

  // The image's health check (given the token by compose), the agent-token
  // secret, the unprivileged user and a volume per replica, on every one
  // of `agents`.
  void ExpectEachAgentSetUpAsShipped(
      const std::vector<AgentContainer>& agents) {
    // The image's health check, which compose gives the token.
    const json image = project_->Inspect({agents[0].image});
    ASSERT_TRUE(image.is_array() && image.size() == 1u) << image;
    EXPECT_EQ(image[0]["Config"]["Healthcheck"]["Test"],
              json({"CMD", "loadtest-agent", "--healthcheck=127.0.0.1:7070"}))
        << image[0]["Config"]["Healthcheck"];
    std::set<std::string> volumes;
    for (const AgentContainer& agent : agents) {
      SCOPED_TRACE(agent.name + " (" + agent.ip + ")");
      EXPECT_FALSE(agent.ip.empty());
      EXPECT_EQ(agent.healthcheck["Test"],
                json({"CMD", "loadtest-agent", "--healthcheck=127.0.0.1:7070",
                      std::string("--auth-token-file=") + kTokenPath}))
          << agent.healthcheck;
      // The secret: mounted, and required. The health check without the
      // token is refused, with it answered.
      const ProcessResult secret = Exec(agent, {"cat", kTokenPath});
      EXPECT_EQ(secret.stdout_text, token_ + "\n") << Describe(secret);
      const ProcessResult no_token =
          Exec(agent, {"loadtest-agent", "--healthcheck=127.0.0.1:7070"});
      EXPECT_NE(no_token.exit_code, 0) << Describe(no_token);
      const ProcessResult with_token =
          Exec(agent, {"loadtest-agent", "--healthcheck=127.0.0.1:7070",
                       std::string("--auth-token-file=") + kTokenPath});
      EXPECT_EQ(with_token.exit_code, 0) << Describe(with_token);
      // The unprivileged user: the image's, and the agent process (pid 1)
      // really runs as it (real, effective, saved and file system uid).
      EXPECT_EQ(agent.user, kImageUser);
      const std::string status =
          Exec(agent, {"cat", "/proc/1/status"}).stdout_text;
      EXPECT_THAT(status, HasSubstr("\nUid:\t10001\t10001\t10001\t10001\n"))
          << status;
      EXPECT_THAT(status, HasSubstr("\nGid:\t10001\t10001\t10001\t10001\n"));
      // Its own volume for its database.
      EXPECT_EQ(agent.data_mount_type, "volume");
      EXPECT_FALSE(agent.data_volume.empty());
      volumes.insert(agent.data_volume);
    }
    EXPECT_EQ(volumes.size(), agents.size()) << "replicas share a volume";
  }

  // Every query of the dashboard's per-agent row, evaluated at `at` with
  // $agent as Grafana sends "All": one series per agent, each with a
  // value. Returns how many queries there were.
  size_t ExpectPerAgentPanelsShowEachAgent(
      const std::vector<AgentContainer>& agents, double at) {
    const PrometheusApi prometheus(kPrometheusPort);
    const json dashboard =
        json::parse(ReadFile(kDashboard), nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(dashboard.is_discarded());
    std::vector<std::string> ip_list;
    for (const AgentContainer& agent : agents) ip_list.push_back(agent.ip);
    const std::multiset<std::string> each_once(ip_list.begin(), ip_list.end());
    size_t per_agent_queries = 0;
    for (const DashboardQuery& query : DashboardQueries(dashboard)) {
      if (!query.per_agent) continue;
      ++per_agent_queries;
      const std::string expr =
          ExpandDashboardVariables(query.expr, ip_list, kRateInterval);
      SCOPED_TRACE(query.panel + " / " + query.ref_id + ": " + expr);
      const QueryResult result = prometheus.Query(expr, at);
      EXPECT_EQ(result.error, "");
      if (!result.error.empty()) continue;
      std::multiset<std::string> labels;
      for (const json& series : result.series) {
        labels.insert(series["metric"].value("agent", ""));
        EXPECT_TRUE(Finite(series)) << series.dump();
      }
      EXPECT_EQ(labels, each_once) << result.series.dump();
    }
    EXPECT_GT(per_agent_queries, 0u) << "the dashboard has no per-agent row";
    return per_agent_queries;
  }

  // Each replica's volume holds its own database: the rows its audit in
  // `report` counted, read from a copy of the volume with SQLite.
  void ExpectEachVolumeHoldsItsAgentsRows(
      const json& report, const std::vector<AgentContainer>& agents) {
    for (const json& entry : report["summary"]["agents"]) {
      const std::string id = entry.value("agent_id", "");
      const auto agent =
          std::find_if(agents.begin(), agents.end(),
                       [&](const AgentContainer& a) { return a.ip == id; });
      ASSERT_NE(agent, agents.end()) << id;
      const std::string copy = dir_.File("volume-" + id);
      const ProcessResult copied =
          RunAndWait({docker_, "cp", agent->id + ":" + kDataDir + "/.", copy});
      ASSERT_EQ(copied.exit_code, 0) << Describe(copied);
      const int64_t rows = entry["audit"].value("rows_in_db", int64_t{-1});
      EXPECT_GT(rows, 0) << id;
      EXPECT_EQ(CountLogRows(copy + "/loadtest.db"), rows) << id;
    }
  }

  TempDir dir_;
  MachineLock lock_;
  std::string compose_;
  std::string docker_;
  std::string token_;
  std::unique_ptr<DockerEngine> engine_;
  // Declared after the engine: removed while the engine still runs.
  std::unique_ptr<ComposeProject> project_;
};

TEST_F(ComposeTest, ThreeAgentsThenFiveRunAuditedScrapedAndALostOneIsNamed) {
  // Nothing else may hold the port the shipped file publishes Prometheus
  // on, or `up` fails for a reason that is not the deployment's.
  ASSERT_FALSE(HttpGet(kPrometheusPort, "/").error.empty())
      << "something already answers on 127.0.0.1:" << kPrometheusPort
      << ", where deploy/docker-compose.yml publishes Prometheus";

  // --- Three agents, as the README brings them up. ---
  Clock::time_point step = Clock::now();
  const ProcessResult up = project_->Run(
      {"up", "-d", "--build", "--scale", "agent=3"}, kBuildDeadline);
  ASSERT_EQ(up.exit_code, 0) << Describe(up);
  std::printf("compose test: up --build --scale agent=3 in %.1f s\n",
              Seconds(step));
  step = Clock::now();
  std::vector<AgentContainer> agents = HealthyAgents(3);
  ASSERT_EQ(agents.size(), 3u);
  ASSERT_FALSE(HasFailure());
  std::printf("compose test: 3 agents healthy in %.1f s\n", Seconds(step));

  ExpectEachAgentSetUpAsShipped(agents);

  // A controller without the token is refused by every agent, by name.
  step = Clock::now();
  const ProcessResult refused = project_->Run(
      {"--profile", "run", "run", "--rm", "-T", "--entrypoint", "loadtest",
       "controller", "--agents=dns:///agent:7070", "--duration=5s"},
      kComposeDeadline);
  EXPECT_NE(refused.exit_code, 0) << Describe(refused);
  for (const AgentContainer& agent : agents) {
    EXPECT_THAT(refused.stdout_text + refused.stderr_text,
                HasSubstr("agent " + agent.ip +
                          ":7070: GetStatus failed: UNAUTHENTICATED"))
        << Describe(refused);
  }
  std::printf("compose test: tokenless controller refused in %.1f s\n",
              Seconds(step));

  // Prometheus finds and scrapes each replica, labelled with its address.
  step = Clock::now();
  ExpectPrometheusScrapesEachAgent(agents);
  ASSERT_FALSE(HasFailure());
  std::printf("compose test: Prometheus scrapes the 3 agents after %.1f s\n",
              Seconds(step));

  // --- A run across the three, watched through the dashboard's queries. ---
  step = Clock::now();
  std::vector<std::string> flags = kLoad;
  flags.insert(flags.end(), {std::string("--duration=") + kDashboardRunDuration,
                             "--log-interval=5s", "--out=/out/three.json"});
  Subprocess run(ControllerCommand(flags));
  std::string error;
  ASSERT_TRUE(run.Start(&error)) << error;

  // Wait until each agent has been running for a whole rate window (five
  // scrapes of run_active == 1 spanning 25 s), and read every per-agent
  // panel at that instant: one series per agent, each with a value.
  const PrometheusApi prometheus(kPrometheusPort);
  const std::string steady =
      "min_over_time(opentrail_agent_run_active{job=\"opentrail-agents\"}"
      "[25s]) == 1 and count_over_time(opentrail_agent_run_active{job="
      "\"opentrail-agents\"}[25s]) >= 5";
  QueryResult active;
  ASSERT_TRUE(prometheus.WaitFor(
      steady, [](const QueryResult& r) { return r.series.size() == 3; },
      kDashboardRunDeadline, &active))
      << Describe(active) << "\ncontroller: " << run.stdout_text()
      << run.stderr_text();
  const double at = active.series[0]["value"][0].get<double>();
  const size_t per_agent_queries =
      ExpectPerAgentPanelsShowEachAgent(agents, at);

  EXPECT_EQ(run.Wait(kDashboardRunDeadline), kExitOk)
      << run.stdout_text() << run.stderr_text();
  EXPECT_THAT(run.stdout_text(), HasSubstr("Durability audit: PASSED"));
  const json three =
      ExpectEveryAgentAudited(dir_.File("out/three.json"), agents);
  ASSERT_FALSE(three.is_discarded());
  std::printf(
      "compose test: 3-agent run and %zu per-agent dashboard queries "
      "in %.1f s\n",
      per_agent_queries, Seconds(step));

  ExpectEachVolumeHoldsItsAgentsRows(three, agents);

  // --- Five agents: the same command finds the two new replicas. ---
  step = Clock::now();
  const ProcessResult scaled =
      project_->Run({"up", "-d", "--scale", "agent=5"}, kComposeDeadline);
  ASSERT_EQ(scaled.exit_code, 0) << Describe(scaled);
  agents = HealthyAgents(5);
  ASSERT_EQ(agents.size(), 5u);
  ASSERT_FALSE(HasFailure());
  ExpectPrometheusScrapesEachAgent(agents);
  flags = kLoad;
  flags.insert(flags.end(), {"--duration=5s", "--out=/out/five.json"});
  const ProcessResult five = RunAndWait(ControllerCommand(flags));
  EXPECT_EQ(five.exit_code, kExitOk) << Describe(five);
  ExpectEveryAgentAudited(dir_.File("out/five.json"), agents);
  std::printf("compose test: scaled to 5 and ran across them in %.1f s\n",
              Seconds(step));

  // --- One of five killed mid-run: reported lost, by its address. ---
  step = Clock::now();
  flags = kLoad;
  flags.insert(flags.end(), {"--duration=15s", "--log-interval=1s"});
  Subprocess killed_run(ControllerCommand(flags));
  ASSERT_TRUE(killed_run.Start(&error)) << error;
  ASSERT_TRUE(killed_run.WaitForLine(IsIntervalLine, seconds(120), nullptr))
      << "no interval line: " << killed_run.stdout_text()
      << killed_run.stderr_text();
  const AgentContainer& victim = agents.back();
  const ProcessResult kill = RunAndWait({docker_, "kill", victim.id});
  ASSERT_EQ(kill.exit_code, 0) << Describe(kill);
  EXPECT_EQ(killed_run.Wait(kDashboardRunDeadline), kExitPartial)
      << killed_run.stdout_text() << killed_run.stderr_text();
  const std::string output = killed_run.stdout_text();
  EXPECT_THAT(output, HasSubstr("agent " + victim.ip + " LOST")) << output;
  for (const AgentContainer& agent : agents) {
    if (agent.id == victim.id) continue;
    EXPECT_THAT(output, ::testing::ContainsRegex("\n  " + agent.ip +
                                                 " +[^\n]*, audit passed\n"))
        << output;
  }
  std::printf("compose test: killed %s mid-run, reported lost, in %.1f s\n",
              victim.ip.c_str(), Seconds(step));

  // --- down -v: nothing of the project is left. ---
  step = Clock::now();
  std::vector<std::string> anonymous_volumes;
  for (const AgentContainer& agent : agents) {
    anonymous_volumes.push_back(agent.data_volume);
  }
  const ProcessResult down =
      project_->Run({"--profile", "run", "down", "-v"}, kComposeDeadline);
  EXPECT_EQ(down.exit_code, 0) << Describe(down);
  const ProjectLeftovers left = project_->Leftovers(anonymous_volumes);
  EXPECT_TRUE(left.empty()) << "left after down -v: " << left.ToString();
  std::printf("compose test: down -v in %.1f s\n", Seconds(step));
  std::fflush(stdout);
}

}  // namespace
}  // namespace loadtest
