// End-to-end tests of who may start runs and what an agent accepts: real
// `loadtest-agent` processes with a shared token or (mutual) TLS, real
// `loadtest` controllers with right, wrong and missing credentials, and the
// agent's limits. Certificates are made by each test with `openssl` in its
// temp dir (never committed keys).
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/loadtest.grpc.pb.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::Describe;
using ::loadtest::testing::FindProgram;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::SmallRunSpec;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
namespace pb = ::opentrail::loadtest::v1;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitPartial = 3;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    openssl_ = FindProgram("openssl");
    ASSERT_FALSE(openssl_.empty()) << "openssl is needed to make test certificates";
  }

  // Runs openssl with `args`; a failure fails the test.
  void OpenSsl(std::vector<std::string> args) {
    args.insert(args.begin(), openssl_);
    const ProcessResult r = RunAndWait(args);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }

  // A CA: NAME.key, NAME.pem.
  void MakeCa(const std::string& name) {
    OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             File(name + ".key"), "-out", File(name + ".pem"), "-days", "2",
             "-subj", "/CN=" + name});
  }

  // A certificate NAME.pem (key NAME.key) signed by CA `ca`, for `usage`
  // (serverAuth or clientAuth), valid for 127.0.0.1-4 and localhost.
  void MakeCert(const std::string& name, const std::string& ca,
                const std::string& usage) {
    OpenSsl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", File(name + ".key"), "-out",
             File(name + ".csr"), "-subj", "/CN=" + name});
    WriteFile(File(name + ".ext"),
              "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,"
              "IP:127.0.0.4,DNS:localhost\nextendedKeyUsage=" +
                  usage + "\n");
    OpenSsl({"x509", "-req", "-in", File(name + ".csr"), "-CA",
             File(ca + ".pem"), "-CAkey", File(ca + ".key"), "-CAcreateserial",
             "-out", File(name + ".pem"), "-days", "2", "-extfile",
             File(name + ".ext")});
  }

  std::string File(const std::string& name) const { return dir_.File(name); }

  AgentProcess* StartAgent(std::vector<std::string> extra_args,
                           const std::string& host = "127.0.0.2") {
    AgentProcess::Options options;
    options.data_dir = File("data-" + std::to_string(agents_.size()));
    options.id = "agent-" + std::to_string(agents_.size() + 1);
    options.host = host;
    options.extra_args = std::move(extra_args);
    agents_.push_back(std::make_unique<AgentProcess>(options));
    if (!agents_.back()->Start()) return nullptr;
    return agents_.back().get();
  }

  ProcessResult Controller(const AgentProcess& agent,
                           std::vector<std::string> args) {
    std::vector<std::string> argv = {LOADTEST_BIN, "--agents=" + agent.address(),
                                     "-db=auth.db", "-duration=1s",
                                     "-log-interval=500ms", "-writers=2",
                                     "-readers=1", "--start-delay=0s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAndWait(argv);
  }

  std::string openssl_;
  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

TEST_F(AuthTest, ATokenAgentRunsForTheRightTokenAndRefusesNoneOrAWrongOne) {
  WriteFile(File("token"), "s3cret-token-1\n");
  WriteFile(File("wrong"), "s3cret-token-2\n");
  AgentProcess* agent = StartAgent({"--auth-token-file=" + File("token")});
  ASSERT_NE(agent, nullptr);

  const ProcessResult ok =
      Controller(*agent, {"--auth-token-file=" + File("token")});
  EXPECT_EQ(ok.exit_code, kExitOk) << Describe(ok);

  const ProcessResult none = Controller(*agent, {});
  EXPECT_EQ(none.exit_code, kExitUsage) << Describe(none);
  EXPECT_THAT(none.stderr_text,
              HasSubstr("agent " + agent->address() +
                        ": GetStatus failed: UNAUTHENTICATED: no token"));

  const ProcessResult wrong =
      Controller(*agent, {"--auth-token-file=" + File("wrong")});
  EXPECT_EQ(wrong.exit_code, kExitUsage) << Describe(wrong);
  EXPECT_THAT(wrong.stderr_text, HasSubstr("UNAUTHENTICATED: wrong token"));

  // The agent logged each refusal, with who called.
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "refused GetStatus from ipv4:127.0.0.1", std::chrono::seconds(30), &line));
  EXPECT_THAT(line, HasSubstr("UNAUTHENTICATED: no token"));
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "UNAUTHENTICATED: wrong token", std::chrono::seconds(30), &line));

  // A Run call straight over gRPC without the token is refused too.
  auto stub = pb::LoadAgent::NewStub(grpc::CreateChannel(
      agent->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto reader = stub->Run(&context, SmallRunSpec("no-token", std::chrono::seconds(1)));
  pb::RunUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
}

TEST_F(AuthTest, AMutualTlsAgentRunsForItsCaAndRefusesNoCertOrAnotherCa) {
  MakeCa("ca");
  MakeCa("other-ca");
  MakeCert("agent", "ca", "serverAuth,clientAuth");
  MakeCert("controller", "ca", "clientAuth");
  MakeCert("intruder", "other-ca", "clientAuth");
  AgentProcess* agent = StartAgent(
      {"--tls-cert=" + File("agent.pem"), "--tls-key=" + File("agent.key"),
       "--tls-client-ca=" + File("ca.pem"), "--tls-ca=" + File("ca.pem")});
  ASSERT_NE(agent, nullptr);

  const ProcessResult ok = Controller(
      *agent, {"--tls-ca=" + File("ca.pem"), "--tls-cert=" + File("controller.pem"),
               "--tls-key=" + File("controller.key")});
  EXPECT_EQ(ok.exit_code, kExitOk) << Describe(ok);

  const ProcessResult no_cert = Controller(*agent, {"--tls-ca=" + File("ca.pem")});
  EXPECT_EQ(no_cert.exit_code, kExitUsage) << Describe(no_cert);
  EXPECT_THAT(no_cert.stderr_text,
              HasSubstr("agent " + agent->address() +
                        ": GetStatus failed: UNAUTHENTICATED: no client certificate"));

  const ProcessResult intruder = Controller(
      *agent, {"--tls-ca=" + File("ca.pem"), "--tls-cert=" + File("intruder.pem"),
               "--tls-key=" + File("intruder.key")});
  EXPECT_EQ(intruder.exit_code, kExitUsage) << Describe(intruder);
  EXPECT_THAT(intruder.stderr_text,
              HasSubstr("UNAUTHENTICATED: client certificate not accepted by "
                        "this agent's --tls-client-ca"));
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "client certificate not accepted", std::chrono::seconds(30), &line));
  EXPECT_THAT(line, HasSubstr("refused GetStatus from"));

  // A plaintext controller cannot talk to a TLS agent at all.
  const ProcessResult plaintext = Controller(*agent, {});
  EXPECT_EQ(plaintext.exit_code, kExitUsage) << Describe(plaintext);
  EXPECT_THAT(plaintext.stderr_text, HasSubstr("agent " + agent->address()));

  // The health check uses the same credentials: it presents the agent's
  // own certificate, which this CA signed for serverAuth and clientAuth.
  const ProcessResult health = agent->HealthCheck();
  EXPECT_EQ(health.exit_code, 0) << Describe(health);
}

TEST_F(AuthTest, TlsAndATokenTogetherNeedBoth) {
  MakeCa("ca");
  MakeCert("agent", "ca", "serverAuth");
  WriteFile(File("token"), "both-token-sixteen-plus");
  // Private, as the docs say (a token readable by others is warned about).
  chmod(File("token").c_str(), 0600);
  AgentProcess* agent = StartAgent(
      {"--tls-cert=" + File("agent.pem"), "--tls-key=" + File("agent.key"),
       "--auth-token-file=" + File("token"), "--tls-ca=" + File("ca.pem")});
  ASSERT_NE(agent, nullptr);
  // The "control channel" line comes after any warning.
  std::string line;
  ASSERT_TRUE(agent->process().WaitForStderrLine(
      "control channel: ", std::chrono::seconds(30), &line));
  EXPECT_THAT(line, HasSubstr("control channel: TLS (no client certificate) + token"));
  EXPECT_THAT(agent->process().stderr_text(), Not(HasSubstr("WARNING")));
  const ProcessResult ok = Controller(
      *agent, {"--tls-ca=" + File("ca.pem"), "--auth-token-file=" + File("token")});
  EXPECT_EQ(ok.exit_code, kExitOk) << Describe(ok);
  const ProcessResult no_token = Controller(*agent, {"--tls-ca=" + File("ca.pem")});
  EXPECT_EQ(no_token.exit_code, kExitUsage) << Describe(no_token);
  EXPECT_THAT(no_token.stderr_text, HasSubstr("UNAUTHENTICATED: no token"));
}

// (Without --insecure it refuses to start: hardening_test.cc.)
TEST_F(AuthTest, AnAgentOffLoopbackWithoutAuthenticationWarnsAtStart) {
  AgentProcess* open = StartAgent({"--insecure"}, "0.0.0.0");
  ASSERT_NE(open, nullptr);
  std::string line;
  ASSERT_TRUE(open->process().WaitForStderrLine("WARNING", std::chrono::seconds(30),
                                                &line));
  EXPECT_THAT(line, HasSubstr("with no authentication"));
  EXPECT_THAT(line, HasSubstr("--auth-token-file"));
  AgentProcess* local = StartAgent({}, "127.0.0.2");
  ASSERT_NE(local, nullptr);
  // The "control channel" line comes after any warning.
  ASSERT_TRUE(local->process().WaitForStderrLine("control channel: plaintext",
                                                 std::chrono::seconds(30), &line));
  EXPECT_THAT(local->process().stderr_text(), Not(HasSubstr("WARNING")));
}

TEST_F(AuthTest, BadCredentialFilesAreUsageErrorsNamingTheFlag) {
  WriteFile(File("empty"), "\n");
  WriteFile(File("not-pem"), "hello\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> agent_cases = {
      {{"--auth-token-file=" + File("empty")}, "--auth-token-file"},
      {{"--auth-token-file=" + File("missing")}, "cannot read --auth-token-file"},
      {{"--tls-cert=" + File("not-pem")}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert=" + File("not-pem"), "--tls-key=" + File("not-pem")},
       "holds no PEM certificate"},
      {{"--tls-client-ca=" + File("not-pem")}, "--tls-client-ca needs --tls-cert"},
      {{"--max-writers=-1"}, "max-writers must be >= 0 (0 = no limit), got -1"},
      {{"--max-duration=-5s"}, "max-duration must be >= 0 (0 = no limit), got -5s"},
  };
  for (const Case& c : agent_cases) {
    std::vector<std::string> argv = {LOADTEST_AGENT_BIN, "--listen=127.0.0.1:0",
                                     "--metrics-port=0", "--data-dir=" + File("d")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const ProcessResult r = RunAndWait(argv);
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_THAT(r.stderr_text, HasSubstr(c.message)) << c.args.front();
  }
  const ProcessResult controller = RunAndWait(
      {LOADTEST_BIN, "--agents=127.0.0.1:1", "--tls-cert=" + File("not-pem"),
       "--tls-key=" + File("not-pem")});
  EXPECT_EQ(controller.exit_code, kExitUsage) << Describe(controller);
  EXPECT_THAT(controller.stderr_text, HasSubstr("--tls-cert needs --tls-ca"));
  const ProcessResult local = RunAndWait(
      {LOADTEST_BIN, "-db=" + File("x.db"), "--auth-token-file=" + File("empty")});
  EXPECT_EQ(local.exit_code, kExitUsage) << Describe(local);
  EXPECT_THAT(local.stderr_text, HasSubstr("--auth-token-file needs --agents"));
}

TEST_F(AuthTest, ARunBeyondAnAgentLimitIsRefusedBeforeAnyAgentStartsNamingTheLimit) {
  AgentProcess* small = StartAgent({"--max-writers=2", "--max-duration=5s"});
  ASSERT_NE(small, nullptr);
  AgentProcess* big = StartAgent({}, "127.0.0.3");
  ASSERT_NE(big, nullptr);
  const std::string agents = small->address() + "," + big->address();
  const ProcessResult writers = RunAndWait(
      {LOADTEST_BIN, "--agents=" + agents, "-db=l.db", "-duration=1s", "-writers=4"});
  EXPECT_EQ(writers.exit_code, kExitUsage) << Describe(writers);
  EXPECT_THAT(writers.stderr_text,
              HasSubstr("the run asks for 4 writers; agent agent-1 (" +
                        small->address() + ") allows at most 2 (--max-writers)"));
  const ProcessResult duration = RunAndWait(
      {LOADTEST_BIN, "--agents=" + agents, "-db=l.db", "-duration=1m", "-writers=1"});
  EXPECT_EQ(duration.exit_code, kExitUsage) << Describe(duration);
  EXPECT_THAT(duration.stderr_text, HasSubstr("allows at most 5s (--max-duration)"));
  // Neither agent ran anything: no database was created.
  EXPECT_FALSE(std::filesystem::exists(File("data-0/l.db")));
  EXPECT_FALSE(std::filesystem::exists(File("data-1/l.db")));

  // The agent enforces it itself too (a controller that does not check).
  auto stub = pb::LoadAgent::NewStub(grpc::CreateChannel(
      small->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto reader = stub->Run(&context, SmallRunSpec("too-many", std::chrono::seconds(1)));
  pb::RunUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("(--max-writers)"));
}

TEST_F(AuthTest, ARunStopsWhenItsDatabaseReachesTheAgentsSizeLimitAndSaysWhy) {
  AgentProcess* agent = StartAgent({"--max-db-bytes=5000000"});
  ASSERT_NE(agent, nullptr);
  const std::string out = File("run.json");
  const ProcessResult r = RunAndWait(
      {LOADTEST_BIN, "--agents=" + agent->address(), "-db=big.db",
       "-duration=10m", "-log-interval=500ms", "-writers=4", "-readers=0",
       "--start-delay=0s", "--out=" + out});
  // Ended early on the agent's limit: a partial result, nothing lost.
  EXPECT_EQ(r.exit_code, kExitPartial) << Describe(r);
  EXPECT_THAT(r.stdout_text, HasSubstr("the data directory reached"));
  EXPECT_THAT(r.stdout_text, HasSubstr("(--max-db-bytes 5000000)"));
  EXPECT_THAT(r.stderr_text, HasSubstr("ended its run early"));
  const json report = ReadReport(out);
  ASSERT_TRUE(report.is_object());
  const json& entry = report["summary"]["agents"][0];
  EXPECT_THAT(entry["stop_reason"].get<std::string>(),
              HasSubstr("the data directory reached"));
  EXPECT_EQ(entry["audit"]["passed"], true) << entry["audit"];
  EXPECT_GT(entry["writes_ok"].get<int64_t>(), 0);
  EXPECT_LT(report["summary"]["seconds"].get<double>(), 600);
}

TEST_F(AuthTest, MetricsListenChoosesTheAddressAndBasicAuthGuardsTheScrape) {
  const std::string curl = FindProgram("curl");
  ASSERT_FALSE(curl.empty()) << "curl is installed by scripts/install-deps.sh test";
  WriteFile(File("metrics-auth"), "prometheus:scrape-pass\n");
  AgentProcess* agent =
      StartAgent({"--metrics-listen=127.0.0.3:0",
                  "--metrics-basic-auth-file=" + File("metrics-auth")});
  ASSERT_NE(agent, nullptr);
  EXPECT_THAT(agent->process().stdout_text(), HasSubstr("metrics on 127.0.0.3:"));
  const std::string url =
      "http://127.0.0.3:" + std::to_string(agent->metrics_port()) + "/metrics";
  auto status_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {curl, "-s", "-o", "/dev/null", "-w",
                                     "%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    return RunAndWait(argv).stdout_text;
  };
  EXPECT_EQ(status_of({}), "401");
  EXPECT_EQ(status_of({"-u", "prometheus:wrong"}), "401");
  EXPECT_EQ(status_of({"-u", "prometheus:scrape-pass"}), "200");
  const ProcessResult body = RunAndWait({curl, "-s", "-u", "prometheus:scrape-pass", url});
  EXPECT_THAT(body.stdout_text, HasSubstr("opentrail_agent_info"));
  // Bound to 127.0.0.3 only: not served on 127.0.0.1.
  const ProcessResult elsewhere = RunAndWait(
      {curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
       "prometheus:scrape-pass",
       "http://127.0.0.1:" + std::to_string(agent->metrics_port()) + "/metrics"});
  EXPECT_EQ(elsewhere.stdout_text, "000");
}

// Issue 30, probe 14: a 1-character token was accepted without a word.
TEST_F(AuthTest, AShortTokenIsWarnedAboutAtStart) {
  WriteFile(File("short"), "x\n");
  chmod(File("short").c_str(), 0600);
  AgentProcess* agent = StartAgent({"--auth-token-file=" + File("short")});
  ASSERT_NE(agent, nullptr);
  std::string line;
  ASSERT_TRUE(agent->process().WaitForStderrLine(
      "control channel", std::chrono::seconds(30), &line));
  EXPECT_THAT(agent->process().stderr_text(),
              HasSubstr("WARNING: --auth-token-file " + File("short") +
                        " holds a 1-character token, easy to guess; use at "
                        "least 16"));
  WriteFile(File("long"), "0123456789abcdef\n");
  chmod(File("long").c_str(), 0600);
  AgentProcess* quiet =
      StartAgent({"--auth-token-file=" + File("long")}, "127.0.0.3");
  ASSERT_NE(quiet, nullptr);
  ASSERT_TRUE(quiet->process().WaitForStderrLine(
      "control channel", std::chrono::seconds(30), &line));
  EXPECT_THAT(quiet->process().stderr_text(), Not(HasSubstr("WARNING")));
}

// A GetStatus straight over gRPC with `authorization` set to `value`.
grpc::Status GetStatusWith(const AgentProcess& agent,
                           const std::string& value) {
  auto stub = pb::LoadAgent::NewStub(
      grpc::CreateChannel(agent.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (!value.empty()) context.AddMetadata("authorization", value);
  pb::AgentStatus status;
  return stub->GetStatus(&context, pb::StatusRequest(), &status);
}

// Issue 30, probe 14: "bearer TOKEN" was refused (RFC 7235: the scheme is
// case-insensitive).
TEST_F(AuthTest, TheBearerSchemeIsTakenInAnyCase) {
  WriteFile(File("token"), "a-token-long-enough-to-pass\n");
  chmod(File("token").c_str(), 0600);
  AgentProcess* agent = StartAgent({"--auth-token-file=" + File("token")});
  ASSERT_NE(agent, nullptr);
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER "}) {
    const grpc::Status status = GetStatusWith(
        *agent, scheme + std::string("a-token-long-enough-to-pass"));
    EXPECT_TRUE(status.ok()) << scheme << ": " << status.error_message();
  }
  EXPECT_EQ(
      GetStatusWith(*agent, "Basic a-token-long-enough-to-pass").error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

// Issue 30, probe 14: failed attempts were not limited: a token could be
// guessed as fast as calls go.
TEST_F(AuthTest, AnAddressThatFailsTooOftenIsHeldOff) {
  WriteFile(File("token"), "a-token-long-enough-to-pass\n");
  chmod(File("token").c_str(), 0600);
  AgentProcess* agent = StartAgent({"--auth-token-file=" + File("token")});
  ASSERT_NE(agent, nullptr);
  for (int i = 0; i < 10; ++i) {
    const grpc::Status wrong =
        GetStatusWith(*agent, "Bearer guess-" + std::to_string(i));
    EXPECT_THAT(wrong.error_message(), HasSubstr("wrong token"));
  }
  // The 11th, even with the right token, is refused unchecked.
  const grpc::Status held =
      GetStatusWith(*agent, "Bearer a-token-long-enough-to-pass");
  EXPECT_EQ(held.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(held.error_message(),
              HasSubstr("too many failed attempts from 127.0.0.1"));
  std::string line;
  EXPECT_TRUE(agent->process().WaitForStderrLine(
      "refusing calls from 127.0.0.1 for a while: 10 failed attempts",
      std::chrono::seconds(30), &line));
}

}  // namespace
}  // namespace loadtest
