// Issue 17: the probes of a hostile network and a hostile peer, each against
// real processes over loopback. The agent's side runs a real loadtest-agent
// (as another user under a thread limit, or under a file limit, where the
// probe needs one: those tests need root and skip without it). The
// controller's side runs the real `loadtest` against a hostile agent served
// from this test process: a LoadAgent service that sends what no agent
// should (escape sequences, forged sequence numbers, floods).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_service.h"
#include "agent/metrics_server.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/loadtest.grpc.pb.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest::testing {
namespace {

namespace pb = ::opentrail::loadtest::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kDeadline = std::chrono::seconds(60);

bool IsRoot() { return geteuid() == 0; }

// A plain TCP connection to 127.0.0.1:port that sends nothing (from the
// loopback address `from`, when given); -1 when it could not be made.
int IdleConnection(int port, const char* from = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (from != nullptr) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    inet_pton(AF_INET, from, &source.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::unique_ptr<pb::LoadAgent::Stub> StubFor(const std::string& address) {
  return pb::LoadAgent::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

pb::AgentStatus::State StateOf(pb::LoadAgent::Stub* stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  pb::AgentStatus status;
  if (!stub->GetStatus(&context, pb::StatusRequest(), &status).ok()) {
    return pb::AgentStatus::State_MIN;
  }
  return status.state();
}

// Runs `spec` to its end; the status and the updates' count.
grpc::Status RunToEnd(pb::LoadAgent::Stub* stub, const pb::RunSpec& spec,
                      int* updates = nullptr, pb::RunUpdate* last = nullptr) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<pb::RunUpdate>> reader =
      stub->Run(&context, spec);
  pb::RunUpdate update;
  int count = 0;
  while (reader->Read(&update)) {
    ++count;
    if (last != nullptr) *last = update;
  }
  if (updates != nullptr) *updates = count;
  return reader->Finish();
}

class HardeningTest : public ::testing::Test {
 protected:
  // A loadtest-agent on 127.0.0.1 started through `launcher` with `extra`.
  AgentProcess* StartAgent(std::vector<std::string> launcher = {},
                           std::vector<std::string> extra = {}) {
    AgentProcess::Options options;
    options.data_dir = dir_.path() + "/data";
    options.id = "a" + std::to_string(agents_.size() + 1);
    options.launcher = std::move(launcher);
    options.extra_args = std::move(extra);
    agents_.push_back(std::make_unique<AgentProcess>(options));
    if (!agents_.back()->Start()) return nullptr;
    return agents_.back().get();
  }

  // The data directory, writable by the user `nobody` too.
  void OpenDataDirToEveryone() {
    std::filesystem::create_directories(dir_.path() + "/data");
    chmod(dir_.path().c_str(), 0777);
    chmod((dir_.path() + "/data").c_str(), 0777);
  }

  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

// Probe 1: a Run of 1,000 writers under a thread limit returned UNKNOWN
// (an escaped std::system_error), then the agent said RUNNING forever and
// SIGTERM hung.
TEST_F(HardeningTest, AThreadLimitRefusesTheRunAndTheAgentStaysUsable) {
  if (!IsRoot()) {
    GTEST_SKIP() << "needs root: RLIMIT_NPROC binds only another user "
                    "(setpriv --reuid=nobody)";
  }
  OpenDataDirToEveryone();
  AgentProcess* agent = StartAgent(
      {"/usr/bin/prlimit", "--nproc=200", "/usr/bin/setpriv", "--reuid=nobody",
       "--regid=nogroup", "--clear-groups"});
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  pb::RunSpec big = SmallRunSpec("big", std::chrono::seconds(2));
  big.set_writers(1000);
  const grpc::Status refused = RunToEnd(stub.get(), big);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("RLIMIT_NPROC"));
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE);
  int updates = 0;
  pb::RunUpdate last;
  const grpc::Status ok = RunToEnd(
      stub.get(), SmallRunSpec("small", std::chrono::seconds(1)), &updates, &last);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_TRUE(last.final());
  agent->process().SendSignal(SIGTERM);
  EXPECT_EQ(agent->process().Wait(kDeadline), 0);
}

// Probe 3: 10,000 readers ran the agent out of descriptors, reported as
// "unable to open database file".
TEST_F(HardeningTest, ReadersBeyondTheFileLimitAreRefusedNamingIt) {
  AgentProcess* agent = StartAgent({"/usr/bin/prlimit", "--nofile=300:300"});
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  pb::RunSpec spec = SmallRunSpec("readers", std::chrono::seconds(1));
  spec.set_readers(500);
  const grpc::Status refused = RunToEnd(stub.get(), spec);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("RLIMIT_NOFILE 300"));
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE);
}

// Probe 2: the soft limit of 1024 made 1,100 idle connections enough.
TEST_F(HardeningTest, TheSoftFileLimitIsRaisedToTheHardOne) {
  AgentProcess* agent = StartAgent({"/usr/bin/prlimit", "--nofile=256:4096"});
  ASSERT_NE(agent, nullptr);
  const std::string limits =
      ReadFile("/proc/" + std::to_string(agent->process().pid()) + "/limits");
  EXPECT_THAT(limits, ::testing::ContainsRegex("Max open files +4096 +4096"));
}

// Probe 2 (issue 17): once accept4 failed with EMFILE gRPC never accepted
// again, so the agent exited to be restarted. Now the agent accepts its
// connections itself: it keeps descriptors in reserve, refuses the excess,
// and goes on serving once the connections are gone.
TEST_F(HardeningTest, AnAgentOutOfDescriptorsRefusesTheExcessAndKeepsServing) {
  AgentProcess* agent = StartAgent({"/usr/bin/prlimit", "--nofile=128:128"});
  ASSERT_NE(agent, nullptr);
  std::vector<int> held;
  for (int i = 0; i < 200; ++i) {
    const int fd = IdleConnection(agent->port());
    if (fd >= 0) held.push_back(fd);
  }
  std::string line;
  EXPECT_TRUE(
      agent->process().WaitForStderrLine("to the gRPC port", kDeadline, &line));
  for (int fd : held) close(fd);
  auto stub = StubFor(agent->address());
  EXPECT_TRUE(WaitUntil(
      [&] { return StateOf(stub.get()) == pb::AgentStatus::IDLE; }, kDeadline));
  EXPECT_THAT(agent->process().stderr_text(),
              Not(HasSubstr("no longer accepts connections")));
}

// Probe 2: unauthenticated grpc.health.v1 streams pinned connections.
TEST_F(HardeningTest, TheUnauthenticatedHealthServiceIsNotServed) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  grpc::GenericStub stub(
      grpc::CreateChannel(agent->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  // An empty HealthCheckRequest is zero bytes.
  grpc::Slice empty(std::string(""));
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  EXPECT_EQ(done.get_future().get().error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// Probe 3: a non-loopback --listen without credentials only warned.
TEST_F(HardeningTest, AnOpenListenOffLoopbackIsRefusedUnlessInsecure) {
  const ProcessResult refused = RunAndWait(
      {LOADTEST_AGENT_BIN, "--listen=0.0.0.0:0", "--metrics-port=0",
       "--data-dir=" + dir_.File("data")});
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_THAT(refused.stderr_text, HasSubstr("refusing to listen on 0.0.0.0:0"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("--insecure"));

  Subprocess insecure({LOADTEST_AGENT_BIN, "--listen=0.0.0.0:0",
                       "--metrics-port=0", "--data-dir=" + dir_.File("data"),
                       "--insecure"});
  std::string error, line;
  ASSERT_TRUE(insecure.Start(&error)) << error;
  ASSERT_TRUE(insecure.WaitForStderrLine("control channel", kDeadline, &line))
      << insecure.stderr_text();
  EXPECT_THAT(insecure.stderr_text(),
              HasSubstr("WARNING: listening on 0.0.0.0:0 with no authentication"));
  // /metrics binds the listen host by default, and says it is open.
  EXPECT_THAT(insecure.stdout_text(), HasSubstr("metrics on 0.0.0.0:"));
  EXPECT_THAT(insecure.stderr_text(), HasSubstr("WARNING: /metrics on 0.0.0.0:"));
}

// Probe 3: /metrics bound 0.0.0.0 whatever --listen said.
TEST_F(HardeningTest, MetricsBindTheListenHostByDefault) {
  Subprocess agent({LOADTEST_AGENT_BIN, "--listen=127.0.0.1:0",
                    "--metrics-port=0", "--data-dir=" + dir_.File("data")});
  std::string error, line;
  ASSERT_TRUE(agent.Start(&error)) << error;
  ASSERT_TRUE(agent.WaitForLine("listening on", kDeadline, &line));
  EXPECT_THAT(line, HasSubstr("metrics on 127.0.0.1:"));
  ASSERT_TRUE(agent.WaitForStderrLine("control channel", kDeadline, &line));
  EXPECT_THAT(agent.stderr_text(), Not(HasSubstr("WARNING")));
}

// Probe 4: one idle connection held the exposer's only worker for 25-30 s.
TEST_F(HardeningTest, MetricsAreScrapedWhileIdleConnectionsAreHeld) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(IdleConnection(agent->metrics_port()));
  const HttpResponse scrape = HttpGet(agent->metrics_port(), "/metrics");
  for (int fd : idle) {
    if (fd >= 0) close(fd);
  }
  EXPECT_EQ(scrape.error, "");
  EXPECT_THAT(scrape.status_line, HasSubstr("200"));
  EXPECT_THAT(scrape.body, HasSubstr("opentrail_agent_info"));
}

// Probe 9: a Run waiting out start_after held the agent busy after its caller
// had gone, and then started anyway.
TEST_F(HardeningTest, ARunWhoseCallerLeftBeforeItsStartEndsAtOnce) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  pb::RunSpec spec = SmallRunSpec("later", std::chrono::seconds(5));
  spec.set_start_after_ns(60LL * 1000 * 1000 * 1000);
  {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<pb::RunUpdate>> reader =
        stub->Run(&context, spec);
    ASSERT_TRUE(WaitUntil(
        [&] { return StateOf(stub.get()) == pb::AgentStatus::RUNNING; },
        std::chrono::seconds(20)));
    context.TryCancel();
    reader->Finish();
  }
  // Well before the 60 s start.
  EXPECT_TRUE(WaitUntil(
      [&] { return StateOf(stub.get()) == pb::AgentStatus::IDLE; },
      std::chrono::seconds(20)));
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "not started: the controller went away", kDeadline, &line));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/data/agent.db"));
}

// Probe 6: anyone who could call the agent stopped the run with an
// escape-laden reason; run ids and names went raw into the agent's log.
TEST_F(HardeningTest, NamesRunIdsAndStopReasonsMustBePrintable) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  pb::RunSpec forged = SmallRunSpec("r1\nloadtest-agent: forged", std::chrono::seconds(1));
  grpc::Status refused = RunToEnd(stub.get(), forged);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("run_id"));
  pb::RunSpec escape = SmallRunSpec("r2", std::chrono::seconds(1));
  escape.set_db_name("\x1b[2Jx.db");
  refused = RunToEnd(stub.get(), escape);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("\\e[2Jx.db"));

  grpc::ClientContext context;
  pb::StopRequest stop;
  stop.set_run_id("r3");
  stop.set_reason("\x1b[2JPASSED: all thresholds met");
  pb::StopReply reply;
  const grpc::Status stopped = stub->Stop(&context, stop, &reply);
  EXPECT_EQ(stopped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(stopped.error_message(), HasSubstr("reason must be"));
  agent->process().SendSignal(SIGTERM);
  agent->process().Wait(kDeadline);
  EXPECT_THAT(agent->process().stderr_text(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(agent->process().stderr_text(), Not(HasSubstr("\nloadtest-agent: forged")));
}

// Probe 8: a symlink in --data-dir was followed outside it; a run on
// c.db-wal was accepted; databases were created 0644.
TEST_F(HardeningTest, SymlinksAndSideFileNamesAreRefusedAndFilesArePrivate) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  const std::string outside = dir_.File("outside.db");
  std::filesystem::create_symlink(outside, dir_.path() + "/data/link.db");
  pb::RunSpec spec = SmallRunSpec("link", std::chrono::seconds(1));
  spec.set_db_name("link.db");
  grpc::Status refused = RunToEnd(stub.get(), spec);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("symbolic link"));
  EXPECT_FALSE(std::filesystem::exists(outside));

  spec.set_db_name("c.db-wal");
  refused = RunToEnd(stub.get(), spec);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("-wal"));

  spec.set_db_name("private.db");
  const grpc::Status ok = RunToEnd(stub.get(), spec);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() + "/data/private.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << std::oct << (st.st_mode & 0777);
}

// The agent opens its databases refusing any symbolic link in their path
// (closing the gap between its check and the open); a --data-dir reached
// through a link is resolved at start, so such an agent still runs.
TEST_F(HardeningTest, ADataDirectoryReachedThroughALinkIsResolvedAndRuns) {
  std::filesystem::create_directories(dir_.path() + "/data");
  std::filesystem::create_directory_symlink(dir_.path() + "/data",
                                            dir_.path() + "/linked");
  AgentProcess::Options options;
  options.data_dir = dir_.path() + "/linked";
  options.id = "linked";
  agents_.push_back(std::make_unique<AgentProcess>(options));
  ASSERT_TRUE(agents_.back()->Start());
  auto stub = StubFor(agents_.back()->address());
  int updates = 0;
  pb::RunUpdate last;
  const grpc::Status ok =
      RunToEnd(stub.get(), SmallRunSpec("through-link", std::chrono::seconds(1)),
               &updates, &last);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_TRUE(last.final());
  EXPECT_TRUE(last.audit().integrity_ok());
  EXPECT_EQ(last.audit().rows_in_db(), last.audit().acknowledged());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/data/agent.db"));
}

// Probe 7: --max-db-bytes was per database: 8 names put 6.2 MB under 2 MB.
TEST_F(HardeningTest, MaxDbBytesCountsTheWholeDataDirectory) {
  std::filesystem::create_directories(dir_.path() + "/data");
  WriteFile(dir_.path() + "/data/earlier.db", std::string(3000000, 'x'));
  AgentProcess* agent = StartAgent({}, {"--max-db-bytes=2000000"});
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  const grpc::Status refused =
      RunToEnd(stub.get(), SmallRunSpec("another", std::chrono::seconds(1)));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(),
              HasSubstr("the data directory reached 3000000 bytes"));
}

// Probe 7, during a run: a run that fills the data directory past
// --max-db-bytes stops early with the limit as its reason, and every write
// it acknowledged is in the database.
TEST_F(HardeningTest, ARunThatReachesMaxDbBytesStopsEarlyAndLosesNothing) {
  AgentProcess* agent = StartAgent({}, {"--max-db-bytes=20000000"});
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  pb::RunSpec spec = SmallRunSpec("fills", std::chrono::seconds(600));
  spec.set_writers(20);
  spec.set_readers(0);
  int updates = 0;
  pb::RunUpdate last;
  const grpc::Status status = RunToEnd(stub.get(), spec, &updates, &last);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(last.final());
  EXPECT_THAT(last.stop_reason(),
              HasSubstr("this agent's limit (--max-db-bytes 20000000)"));
  // Stopped by the limit, long before the planned 600 s (1,200 intervals).
  EXPECT_LT(updates, 1200);
  EXPECT_GT(last.audit().acknowledged(), 0);
  EXPECT_EQ(last.audit().lost(), 0);
  EXPECT_EQ(last.audit().unexplained(), 0);
  EXPECT_TRUE(last.audit().integrity_ok()) << last.audit().integrity_message();
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE);
}

// Probe 9: an empty basic-auth password was accepted; credential files
// readable by everyone were accepted silently.
TEST_F(HardeningTest, EmptyPasswordsAreRefusedAndOpenCredentialFilesWarned) {
  WriteFile(dir_.File("basic"), "user:\n");
  const ProcessResult refused = RunAndWait(
      {LOADTEST_AGENT_BIN, "--listen=127.0.0.1:0", "--metrics-port=0",
       "--data-dir=" + dir_.File("data"),
       "--metrics-basic-auth-file=" + dir_.File("basic")});
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_THAT(refused.stderr_text, HasSubstr("empty password"));

  WriteFile(dir_.File("token"), "secret-token\n");
  chmod(dir_.File("token").c_str(), 0644);
  WriteFile(dir_.File("basic-ok"), "user:password\n");
  chmod(dir_.File("basic-ok").c_str(), 0640);
  WriteFile(dir_.File("private-token"), "secret-token\n");
  chmod(dir_.File("private-token").c_str(), 0600);
  AgentProcess* agent = StartAgent(
      {}, {"--auth-token-file=" + dir_.File("token"),
           "--metrics-basic-auth-file=" + dir_.File("basic-ok")});
  ASSERT_NE(agent, nullptr);
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine("control channel", kDeadline, &line));
  EXPECT_THAT(agent->process().stderr_text(),
              HasSubstr("--auth-token-file " + dir_.File("token") +
                        " is readable by other users (mode 0644)"));
  EXPECT_THAT(agent->process().stderr_text(),
              HasSubstr("--metrics-basic-auth-file " + dir_.File("basic-ok") +
                        " is readable by other users (mode 0640)"));
  // A file only its owner reads draws no warning.
  AgentProcess* quiet =
      StartAgent({}, {"--auth-token-file=" + dir_.File("private-token")});
  ASSERT_NE(quiet, nullptr);
  EXPECT_TRUE(quiet->process().WaitForStderrLine("control channel", kDeadline, &line));
  EXPECT_THAT(quiet->process().stderr_text(), Not(HasSubstr("readable by other users")));
}

// ------------------------------------------------ issue 30: the agent

// Raises this test process's soft descriptor limit to its hard one (it
// holds many connections); false when that is still below `needed`.
bool RaiseOwnFileLimit(rlim_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed;
}

// Probe 5: the listener's self-check (a GetStatus to itself, 3 s deadline,
// 3 misses) ended a healthy agent's run on a CPU-starved host. The agent
// here gets a few milliseconds of CPU every half second for 8 s (stopped and
// continued), while a run goes on; the run ends normally and the agent
// still serves. (The sleeps are the starvation, not a wait for something.)
TEST_F(HardeningTest, AStarvedAgentKeepsItsRunAndServes) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  const pid_t pid = agent->process().pid();
  std::thread starve([pid] {
    for (int i = 0; i < 16; ++i) {
      kill(pid, SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      kill(pid, SIGCONT);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  int updates = 0;
  pb::RunUpdate last;
  const grpc::Status status =
      RunToEnd(stub.get(), SmallRunSpec("starved", std::chrono::seconds(4)),
               &updates, &last);
  starve.join();
  kill(pid, SIGCONT);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(last.final()) << agent->process().stderr_text();
  EXPECT_EQ(last.audit().lost(), 0);
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE)
      << agent->process().stderr_text();
  EXPECT_THAT(agent->process().stderr_text(), Not(HasSubstr("exiting")));
}

// Probe 6: with no CA bundle on the host, a TLS agent's self-check could not
// build its credentials, and the agent exited after 6 s, forever. Here the
// agent's GRPC_DEFAULT_SSL_ROOTS_FILE_PATH is an empty file; a run of 8 s
// completes and the agent still answers.
TEST_F(HardeningTest, ATlsAgentWithoutACaBundleKeepsServing) {
  const std::string openssl = FindProgram("openssl");
  ASSERT_FALSE(openssl.empty()) << "openssl is needed to make a certificate";
  const ProcessResult made =
      RunAndWait({openssl,
                  "req",
                  "-x509",
                  "-newkey",
                  "ec",
                  "-pkeyopt",
                  "ec_paramgen_curve:prime256v1",
                  "-nodes",
                  "-keyout",
                  dir_.File("agent.key"),
                  "-out",
                  dir_.File("agent.pem"),
                  "-days",
                  "2",
                  "-subj",
                  "/CN=agent",
                  "-addext",
                  "subjectAltName=IP:127.0.0.1",
                  "-addext",
                  "extendedKeyUsage=serverAuth,clientAuth"});
  ASSERT_EQ(made.exit_code, 0) << Describe(made);
  WriteFile(dir_.File("no-roots.pem"), "");
  AgentProcess* agent =
      StartAgent({"/usr/bin/env", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=" +
                                      dir_.File("no-roots.pem")},
                 {"--tls-cert=" + dir_.File("agent.pem"),
                  "--tls-key=" + dir_.File("agent.key"),
                  "--tls-client-ca=" + dir_.File("agent.pem"),
                  "--tls-ca=" + dir_.File("agent.pem")});
  ASSERT_NE(agent, nullptr);
  const ProcessResult run = RunAndWait(
      {LOADTEST_BIN, "--agents=" + agent->address(), "-db=tls.db",
       "-duration=8s", "-log-interval=1s", "-writers=2", "-readers=1",
       "--start-delay=0s", "--tls-ca=" + dir_.File("agent.pem"),
       "--tls-cert=" + dir_.File("agent.pem"),
       "--tls-key=" + dir_.File("agent.key")});
  EXPECT_EQ(run.exit_code, 0)
      << Describe(run) << agent->process().stderr_text();
  const ProcessResult health = agent->HealthCheck();
  EXPECT_EQ(health.exit_code, 0) << Describe(health);
}

// Probe 7: 1,500 idle TCP connections with no credentials ran an agent with
// a hard limit of 1,024 descriptors out of them, and it exited mid-run. Now
// one address holds at most AgentListener::kMaxConnectionsPerPeer: the run
// completes, and another address is served meanwhile.
TEST_F(HardeningTest, IdleConnectionsFromOneAddressDoNotEndARun) {
  ASSERT_TRUE(RaiseOwnFileLimit(2000)) << "this test holds 1,500 connections";
  AgentProcess* agent = StartAgent({"/usr/bin/prlimit", "--nofile=1024:1024"});
  ASSERT_NE(agent, nullptr);
  auto stub = StubFor(agent->address());
  int updates = 0;
  pb::RunUpdate last;
  grpc::Status status;
  std::thread run([&] {
    status = RunToEnd(stub.get(), SmallRunSpec("held", std::chrono::seconds(8)),
                      &updates, &last);
  });
  ASSERT_TRUE(
      WaitUntil([&] { return StateOf(stub.get()) == pb::AgentStatus::RUNNING; },
                kDeadline));
  std::vector<int> held;
  for (int i = 0; i < 1500; ++i) {
    const int fd = IdleConnection(agent->port(), "127.0.0.2");
    if (fd >= 0) held.push_back(fd);
  }
  // A new connection from another address is served while they are held.
  auto other = StubFor(agent->address());
  EXPECT_EQ(StateOf(other.get()), pb::AgentStatus::RUNNING);
  run.join();
  for (int fd : held) close(fd);
  EXPECT_GT(held.size(), 1000u);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(last.final()) << agent->process().stderr_text();
  EXPECT_EQ(last.audit().lost(), 0);
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "connections from 127.0.0.2 already open (at most 32 per address)",
      kDeadline, &line));
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE);
}

// Probe 8: 8 silent connections, reopened as they were closed, held every
// /metrics worker, and every scrape failed at Prometheus' 10 s timeout.
// Now one address holds at most MetricsServer::kMaxConnectionsPerPeer
// workers: a scrape from another address, given Prometheus' default 10 s,
// is answered while 40 are held.
TEST_F(HardeningTest,
       MetricsAreScrapedWhileOneAddressHoldsMoreConnectionsThanWorkers) {
  AgentProcess* agent = StartAgent();
  ASSERT_NE(agent, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(IdleConnection(agent->metrics_port(), "127.0.0.2"));
  }
  const HttpResponse scrape =
      HttpGet(agent->metrics_port(), "/metrics", std::chrono::seconds(10));
  for (int fd : idle) {
    if (fd >= 0) close(fd);
  }
  EXPECT_EQ(scrape.error, "");
  EXPECT_THAT(scrape.status_line, HasSubstr("200"));
  EXPECT_THAT(scrape.body, HasSubstr("opentrail_agent_info"));
}

// Whether this host has an IPv6 loopback to bind.
bool HasIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok =
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

// Probe 9: --listen=[::1]:P and [::]:P could not start ("null context when
// constructing CivetServer"): /metrics could not bind IPv6. Debian's
// civetweb has no IPv6: the agent serves gRPC on IPv6 and /metrics on the
// IPv4 address that means the same, and says so; an explicit IPv6
// --metrics-listen is refused at start with the reason.
TEST_F(HardeningTest, AnIpv6ListenStartsAndServes) {
  if (!HasIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this host";
  AgentProcess::Options options;
  options.data_dir = dir_.path() + "/data";
  options.id = "v6";
  options.host = "[::1]";
  agents_.push_back(std::make_unique<AgentProcess>(options));
  AgentProcess* agent = agents_.back().get();
  ASSERT_TRUE(agent->Start());
  auto stub = StubFor("ipv6:" + agent->address());
  EXPECT_EQ(StateOf(stub.get()), pb::AgentStatus::IDLE)
      << agent->process().stderr_text();
  const bool v6_metrics = agent::MetricsCanServeIpv6();
  if (!v6_metrics) {
    EXPECT_THAT(agent->process().stdout_text(),
                HasSubstr("metrics on 127.0.0.1:"));
    EXPECT_THAT(agent->process().stderr_text(),
                HasSubstr("/metrics on 127.0.0.1 instead of [::1]"));
    const HttpResponse scrape = HttpGet(agent->metrics_port(), "/metrics");
    EXPECT_THAT(scrape.status_line, HasSubstr("200")) << scrape.error;
  }

  WriteFile(dir_.File("token"), "a-token-of-thirty-two-characters\n");
  chmod(dir_.File("token").c_str(), 0600);
  Subprocess any({LOADTEST_AGENT_BIN, "--listen=[::]:0", "--metrics-port=0",
                  "--data-dir=" + dir_.File("data-any"),
                  "--auth-token-file=" + dir_.File("token")});
  std::string error, line;
  ASSERT_TRUE(any.Start(&error)) << error;
  ASSERT_TRUE(any.WaitForLine("listening on", kDeadline, &line))
      << any.stderr_text();
  EXPECT_THAT(line, HasSubstr("listening on [::]:"));

  const ProcessResult explicit_v6 = RunAndWait(
      {LOADTEST_AGENT_BIN, "--listen=[::1]:0", "--metrics-listen=[::1]:0",
       "--data-dir=" + dir_.File("data-explicit")});
  if (v6_metrics) {
    EXPECT_NE(explicit_v6.exit_code, 1) << Describe(explicit_v6);
  } else {
    EXPECT_EQ(explicit_v6.exit_code, 1) << Describe(explicit_v6);
    EXPECT_THAT(
        explicit_v6.stderr_text,
        HasSubstr("cannot serve /metrics on [::1]:0: this build's "
                  "civetweb (the HTTP server of prometheus-cpp) has no IPv6"));
  }
}

// ------------------------------------------------ the controller's side

// What the hostile agent does once a Run comes.
using Behaviour =
    std::function<void(const pb::RunSpec&, grpc::ServerWriter<pb::RunUpdate>*)>;

// A LoadAgent served from this process: GetStatus answers with `agent_id`;
// Run does `behaviour`.
class HostileAgent final : public pb::LoadAgent::Service {
 public:
  HostileAgent(std::string agent_id, Behaviour behaviour)
      : agent_id_(std::move(agent_id)), behaviour_(std::move(behaviour)) {
    grpc::ServerBuilder builder;
    // The transport of a real agent (its keepalive policy accepts the
    // controller's pings); only what it says on it is hostile.
    agent::ConfigureAgentServer(&builder);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~HostileAgent() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status GetStatus(grpc::ServerContext*, const pb::StatusRequest*,
                         pb::AgentStatus* reply) override {
    reply->set_agent_id(agent_id_);
    reply->set_version("1.0\x1b]0;owned\x07");
    reply->set_hostname("host\r\nPASSED");
    reply->set_state(pb::AgentStatus::IDLE);
    reply->set_metrics_port(1);
    return grpc::Status::OK;
  }
  grpc::Status Run(grpc::ServerContext* context, const pb::RunSpec* spec,
                   grpc::ServerWriter<pb::RunUpdate>* writer) override {
    behaviour_(*spec, writer);
    while (!context->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return grpc::Status::CANCELLED;
  }
  grpc::Status Stop(grpc::ServerContext*, const pb::StopRequest*,
                    pb::StopReply*) override {
    return grpc::Status::OK;
  }

 private:
  const std::string agent_id_;
  const Behaviour behaviour_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Paces the hostile agent like a real one up to its first update: the
// start delay, then one log interval.
void AwaitFirstInterval(const pb::RunSpec& spec) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(spec.start_after_ns()) +
                              std::chrono::nanoseconds(spec.log_interval_ns()));
}

pb::RunUpdate Update(int64_t sequence, double start_s, double end_s) {
  pb::RunUpdate u;
  u.set_sequence(sequence);
  u.set_start_s(start_s);
  u.set_end_s(end_s);
  return u;
}

ProcessResult RunController(const HostileAgent& agent, const TempDir& dir,
                            const std::string& duration = "2s") {
  return RunAndWait({LOADTEST_BIN, "--agents=" + agent.address(),
                     "-duration=" + duration, "-log-interval=1s",
                     "--out=" + dir.File("report.json"),
                     "--csv=" + dir.File("run")});
}

// Probe 5: 88k updates in 12 s were accepted, and a 2 s run went on past 40 s.
TEST_F(HardeningTest, AnAgentFloodingUpdatesIsLostWithAProtocolError) {
  HostileAgent agent("flood", [](const pb::RunSpec& spec,
                                 grpc::ServerWriter<pb::RunUpdate>* writer) {
    AwaitFirstInterval(spec);
    for (int64_t k = 1; k <= 100000; ++k) {
      if (!writer->Write(Update(k, 0, 0))) return;
    }
  });
  const ProcessResult result = RunController(agent, dir_);
  EXPECT_NE(result.exit_code, 0) << Describe(result);
  // Update 1 is on time; one interval of slack lets update 2 through.
  EXPECT_THAT(result.stderr_text,
              ::testing::ContainsRegex(
                  "lost: protocol error: update [23] after only 1\\.[0-9]s"));
}

// Probe 5: updates whose sequence started at 2 were kept forever.
TEST_F(HardeningTest, ASequenceGapIsAProtocolError) {
  HostileAgent agent("gap", [](const pb::RunSpec&,
                               grpc::ServerWriter<pb::RunUpdate>* writer) {
    writer->Write(Update(2, 0, 1));
  });
  const ProcessResult result = RunController(agent, dir_);
  EXPECT_NE(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.stderr_text,
              HasSubstr("lost: protocol error: update sequence 2, expected 1"));
}

// An agent setting up thousands of readers on busy cores sends its first
// update late; it was declared lost after 2 log intervals + 2 s ("no update
// for 4.0s") although it went on to run. Its first update may come later.
TEST_F(HardeningTest, AnAgentSlowToStartIsWaitedForNotLost) {
  HostileAgent agent("slow", [](const pb::RunSpec& spec,
                                grpc::ServerWriter<pb::RunUpdate>* writer) {
    // Beyond the running silence limit of a 1 s interval (4 s).
    std::this_thread::sleep_for(std::chrono::nanoseconds(spec.start_after_ns()) +
                                std::chrono::seconds(6));
    writer->Write(Update(1, 0, 1));
    pb::RunUpdate last = Update(2, 1, 2);
    last.set_final(true);
    last.set_stop_reason("duration reached");
    last.mutable_audit()->set_integrity_ok(true);
    last.mutable_audit()->set_integrity_message("ok");
    writer->Write(last);
  });
  const ProcessResult result = RunController(agent, dir_);
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("lost"))) << Describe(result);
  const nlohmann::json report = ReadReport(dir_.File("report.json"));
  ASSERT_TRUE(report.is_object()) << Describe(result);
  EXPECT_EQ(report["summary"]["agents"][0]["intervals"], 2) << Describe(result);
  EXPECT_FALSE(report["summary"]["partial"].get<bool>());
}

// Issue 30, item 10: an audit saying rows_in_db 295, acknowledged 300,
// lost 0 printed "... ? yes ... PASSED", exit 0. The controller now does the
// arithmetic itself and holds the acknowledged count against the updates.
TEST_F(HardeningTest, AnAgentWhoseAuditContradictsItsCountsFailsTheAudit) {
  for (const int64_t audited_acknowledged : {int64_t{300}, int64_t{250}}) {
    HostileAgent agent("liar", [audited_acknowledged](
                                   const pb::RunSpec& spec,
                                   grpc::ServerWriter<pb::RunUpdate>* writer) {
      AwaitFirstInterval(spec);
      pb::RunUpdate first = Update(1, 0, 1);
      first.mutable_counters()->set_writes_ok(200);
      writer->Write(first);
      pb::RunUpdate last = Update(2, 1, 2);
      last.mutable_counters()->set_writes_ok(100);
      last.set_final(true);
      last.set_stop_reason("duration reached");
      last.mutable_audit()->set_acknowledged(audited_acknowledged);
      last.mutable_audit()->set_rows_in_db(audited_acknowledged == 300 ? 295
                                                                       : 250);
      last.mutable_audit()->set_lost(0);
      last.mutable_audit()->set_integrity_ok(true);
      last.mutable_audit()->set_integrity_message("ok");
      writer->Write(last);
    });
    const ProcessResult result = RunController(agent, dir_);
    EXPECT_EQ(result.exit_code, 2) << Describe(result);
    EXPECT_THAT(result.stdout_text, HasSubstr("Durability audit: FAILED"));
    EXPECT_THAT(result.stdout_text,
                HasSubstr(audited_acknowledged == 300
                              ? "rows_in_db 295 against acknowledged 300 + "
                                "committed late 0 gives lost 5"
                              : "the audit counts 250 acknowledged writes, "
                                "but the agent's updates reported 300"))
        << Describe(result);
    const nlohmann::json report = ReadReport(dir_.File("report.json"));
    ASSERT_TRUE(report.is_object()) << Describe(result);
    EXPECT_FALSE(report["audit"]["passed"].get<bool>()) << report["audit"];
  }
}

// Probes 5 and 6: peer strings reached the terminal and CSV raw, and a
// 3.9 MB first_error was printed on every update.
TEST_F(HardeningTest, PeerStringsAreEscapedAndTheFirstErrorShownOnce) {
  const std::string huge_error = "\x1b[2J" + std::string(300000, 'E');
  HostileAgent agent(
      "evil\x1b[2J", [&huge_error](const pb::RunSpec& spec,
                                   grpc::ServerWriter<pb::RunUpdate>* writer) {
        AwaitFirstInterval(spec);
        pb::RunUpdate first = Update(1, 0, 1);
        first.set_first_error(huge_error);
        writer->Write(first);
        pb::RunUpdate last = Update(2, 1, 2);
        last.set_first_error(huge_error);
        last.set_final(true);
        last.set_stop_reason("\x1b[2J\rPASSED: all thresholds met");
        last.mutable_audit()->set_integrity_ok(true);
        last.mutable_audit()->set_integrity_message("ok\x1b]0;title\x07");
        writer->Write(last);
      });
  const ProcessResult result = RunController(agent, dir_);
  const std::string output = result.stdout_text + result.stderr_text;
  EXPECT_THAT(output, Not(HasSubstr("\x1b"))) << Describe(result);
  EXPECT_THAT(output, Not(HasSubstr("\r")));
  EXPECT_THAT(output, HasSubstr("evil\\e[2J"));
  EXPECT_THAT(output, HasSubstr("\\e[2J\\rPASSED: all thresholds met"));
  size_t shown = 0;
  for (size_t at = output.find("a write failed"); at != std::string::npos;
       at = output.find("a write failed", at + 1)) {
    ++shown;
  }
  EXPECT_EQ(shown, 1u);
  EXPECT_LT(output.size(), 100000u) << "the first error was not cut";
  EXPECT_THAT(output, HasSubstr("(300004 bytes)"));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    if (entry.path().extension() == ".csv") {
      EXPECT_THAT(ReadFile(entry.path().string()), Not(HasSubstr("\x1b")))
          << entry.path();
    }
  }
}

}  // namespace
}  // namespace loadtest::testing
