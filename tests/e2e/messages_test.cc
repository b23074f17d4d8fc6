// End-to-end tests of the message sources: a real `loadtest` controller
// replaying a log file through two real `loadtest-agent` processes (127.0.0.2
// and 127.0.0.3), checked in each agent's own database; a bad file refused
// before any agent runs.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "protocol/run_spec.h"
#include "tests/e2e/agent_process.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::AgentProcess;
using ::loadtest::testing::CountLogRows;
using ::loadtest::testing::ProcessResult;
using ::loadtest::testing::QueryOne;
using ::loadtest::testing::ReadReport;
using ::loadtest::testing::RunAndWait;
using ::loadtest::testing::TempDir;
using ::loadtest::testing::WriteFile;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kDb[] = "replay.db";

// An RFC 3164 file larger than gRPC's default 4 MiB message, so the RunSpec
// that carries it only arrives because the agents accept larger ones; two
// malformed lines among them.
std::string SyslogFile(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&text, "Dec  7 06:", 10 + i % 50, ":0", i % 10,
                    " host-", i % 7, " replayd[", 100 + i % 13,
                    "]: replay line ", i,
                    " session opened for user u", i % 97,
                    " from 10.1.", i % 250, ".", i % 199,
                    " padding padding padding padding padding\n");
    if (i == 10 || i == 20) text += "not a syslog line at all\n";
  }
  return text;
}

class MessagesTest : public ::testing::Test {
 protected:
  AgentProcess* StartAgent(const std::string& host, const std::string& id) {
    auto agent = std::make_unique<AgentProcess>(dir_.File(id), id, host);
    if (!agent->Start()) return nullptr;
    agents_.push_back(std::move(agent));
    return agents_.back().get();
  }
  std::string DbOf(const std::string& id) const {
    return dir_.File(id) + "/" + kDb;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

TEST_F(MessagesTest, AReplayedFileIsWrittenIntoBothAgentsDatabases) {
  AgentProcess* a = StartAgent("127.0.0.2", "agent-a");
  AgentProcess* b = StartAgent("127.0.0.3", "agent-b");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  const std::string file = dir_.File("syslog");
  const std::string content = SyslogFile(45000);
  ASSERT_GT(content.size(), 4u << 20);
  WriteFile(file, content);
  const std::string out = dir_.File("report.json");

  const ProcessResult result = RunAndWait(
      {LOADTEST_BIN, "--agents=" + a->address() + "," + b->address(),
       std::string("-db=") + kDb, "-duration=2s", "-log-interval=1s",
       "-writers=2", "-readers=1", "--messages=file:" + file,
       "--search-terms=rare", "--out=" + out});
  ASSERT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;

  // The controller names the file, its format, the malformed lines and the
  // hash every agent checked against what it received.
  const std::string hash = protocol::ContentHash(content);
  EXPECT_THAT(result.stdout_text,
              HasSubstr(absl::StrCat("messages: file:", file,
                                     " (rfc3164, 45000 lines, 2 malformed "
                                     "skipped, ", hash)));
  const json report = ReadReport(out);
  const json& messages = report["run"]["messages"];
  EXPECT_EQ(messages["source"], "file");
  EXPECT_EQ(messages["content_hash"], hash);
  EXPECT_EQ(messages["malformed_lines"], 2);
  EXPECT_EQ(messages["search_terms"], "rare");
  // The FTS5 index's size at the end, per row of the databases.
  EXPECT_GT(report["audit"]["fts_index_bytes"].get<int64_t>(), 0);
  EXPECT_GT(report["audit"]["fts_index_bytes_per_row"].get<double>(), 0);

  for (const char* id : {"agent-a", "agent-b"}) {
    SCOPED_TRACE(id);
    const std::string db = DbOf(id);
    EXPECT_GT(CountLogRows(db), 0);
    // Every row is a line of the file, parsed into its columns.
    EXPECT_EQ(QueryOne(db,
                       "SELECT count(*) FROM logs WHERE message NOT LIKE "
                       "'replay line % padding' OR app_name != 'replayd' OR "
                       "hostname NOT LIKE 'host-_' OR priority != 13"),
              "0");
    EXPECT_EQ(QueryOne(db, "SELECT count(*) FROM logs WHERE message LIKE "
                           "'%not a syslog%'"),
              "0");
  }
  // The writers start at seeded lines: the agents' first rows differ.
  EXPECT_NE(QueryOne(DbOf("agent-a"), "SELECT message FROM logs ORDER BY id LIMIT 1"),
            QueryOne(DbOf("agent-b"), "SELECT message FROM logs ORDER BY id LIMIT 1"));
}

TEST_F(MessagesTest, AnEmptyOrUnreadableFileIsRefusedBeforeAnyAgentRuns) {
  AgentProcess* a = StartAgent("127.0.0.2", "agent-a");
  ASSERT_TRUE(a != nullptr);
  const std::string empty = dir_.File("empty.log");
  WriteFile(empty, "");
  for (const auto& [path, words] :
       {std::pair<std::string, std::string>{empty, " is empty"},
        std::pair<std::string, std::string>{dir_.File("missing.log"),
                                            " cannot be opened"}}) {
    const ProcessResult result = RunAndWait(
        {LOADTEST_BIN, "--agents=" + a->address(), std::string("-db=") + kDb,
         "-duration=2s", "--messages=file:" + path});
    EXPECT_EQ(result.exit_code, 1) << result.stdout_text;
    EXPECT_THAT(result.stderr_text,
                HasSubstr("messages file " + path + words));
    EXPECT_FALSE(std::filesystem::exists(DbOf("agent-a")));
  }
}

TEST_F(MessagesTest, BadFlagValuesAreRefusedNamingTheFlagAndTheValues) {
  const ProcessResult messages =
      RunAndWait({LOADTEST_BIN, "--messages=fancy", "-duration=1s"});
  EXPECT_EQ(messages.exit_code, 1);
  EXPECT_THAT(messages.stderr_text,
              HasSubstr("messages must be one of original, realistic, "
                        "file:PATH, got \"fancy\""));
  const ProcessResult terms = RunAndWait(
      {LOADTEST_BIN, "--messages=realistic", "--search-terms=often",
       "-duration=1s"});
  EXPECT_EQ(terms.exit_code, 1);
  EXPECT_THAT(terms.stderr_text,
              HasSubstr("search-terms must be one of original, common, rare, "
                        "mixed, got \"often\""));
}

}  // namespace
}  // namespace loadtest
