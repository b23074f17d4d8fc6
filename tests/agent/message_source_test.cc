#include "agent/message_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/log_replay.h"
#include "absl/strings/str_cat.h"
#include "agent/realistic_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/test_dir.h"

namespace loadtest::agent {
namespace {

using protocol::MessageFormat;
using protocol::MessageOptions;
using protocol::SearchTerms;
using ::testing::HasSubstr;

MessageOptions Realistic(SearchTerms terms = SearchTerms::kOriginal) {
  MessageOptions options;
  options.source = protocol::MessageSource::kRealistic;
  options.search_terms = terms;
  return options;
}

std::unique_ptr<MessageSource> Make(const MessageOptions& options,
                                    uint64_t seed = 7) {
  auto source = MessageSource::Create(options, seed);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? std::move(*source) : nullptr;
}

// Every column but the timestamp, which is the time of writing.
std::string Columns(const storage::LogEntry& e) {
  return absl::StrCat(e.priority, "|", e.facility, "|", e.severity, "|",
                      e.hostname, "|", e.app_name, "|", e.proc_id, "|",
                      e.msg_id, "|", e.structured_data, "|", e.message);
}

std::unordered_map<std::string, int64_t> TokenCounts(
    const std::vector<storage::LogEntry>& rows) {
  std::unordered_map<std::string, int64_t> counts;
  std::string scratch;
  for (const storage::LogEntry& e : rows) {
    ForEachToken(e.message, &scratch,
                 [&](absl::string_view t) { ++counts[std::string(t)]; });
  }
  return counts;
}

TEST(RealisticGeneratorTest, TheSameSeedGivesTheSameRowsTwice) {
  // Rows quote their time (an access log's stamp, a JSON line's "ts"), so
  // the same seed and time give the same rows.
  constexpr int64_t kTime = 1796627216123456789;
  int differ = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    const std::string a = Columns(RealisticGenerator::Make(42, i, kTime));
    EXPECT_EQ(a, Columns(RealisticGenerator::Make(42, i, kTime))) << i;
    differ += a != Columns(RealisticGenerator::Make(43, i, kTime));
  }
  EXPECT_GT(differ, 1900) << "another seed gives other rows";
}

// The columns that do not quote the time.
std::string Untimed(const storage::LogEntry& e) {
  return absl::StrCat(e.priority, "|", e.hostname, "|", e.app_name, "|",
                      e.proc_id, "|", e.msg_id);
}

TEST(RealisticGeneratorTest, OpenLoopRowsAreTheClosedLoopRows) {
  const uint64_t seed = WriterSeed(9, 3);
  RealisticGenerator closed(seed), open(WriterSeed(9, 0));
  for (int64_t i = 0; i < 100; ++i) {
    const storage::LogEntry a = closed.Next();
    const storage::LogEntry b = open.At(i, seed);
    EXPECT_EQ(Untimed(a), Untimed(b));
    EXPECT_EQ(Untimed(a), Untimed(RealisticGenerator::Make(seed, i, 0)));
  }
}

TEST(RealisticGeneratorTest, FillsTheColumnsConsistentlyPerFamily) {
  const std::map<std::string, int> facility_of = {
      {"sshd", 10}, {"kernel", 0}, {"nginx", 23}, {"systemd", 3},
      {"postgres", 17}};
  std::set<std::string> apps;
  for (const storage::LogEntry& e : SampleRows(*Make(Realistic()), 1, 5000)) {
    EXPECT_EQ(e.priority, e.facility * 8 + e.severity);
    EXPECT_GE(e.severity, 0);
    EXPECT_LE(e.severity, 7);
    EXPECT_FALSE(e.hostname.empty());
    EXPECT_FALSE(e.message.empty());
    apps.insert(e.app_name);
    const auto it = facility_of.find(e.app_name);
    // The JSON line's app names are services (local0).
    EXPECT_EQ(e.facility, it == facility_of.end() ? 16 : it->second)
        << e.app_name;
    if (e.app_name == "sshd") {
      EXPECT_EQ(e.hostname.rfind("bastion-", 0), 0u);
    }
    if (e.facility == 16) {
      EXPECT_EQ(e.message.front(), '{');
    }
  }
  for (const auto& [app, facility] : facility_of) {
    EXPECT_EQ(apps.count(app), 1u) << app << " never appeared";
  }
}

TEST(RealisticGeneratorTest, VocabularyGrowsWithTheRows) {
  const auto rows = SampleRows(*Make(Realistic()), 5, 100000);
  const std::vector<storage::LogEntry> first(rows.begin(), rows.begin() + 10000);
  const int64_t at_10k = DistinctTokens(first);
  const int64_t at_100k = DistinctTokens(rows);
  RecordProperty("distinct_tokens_10k", static_cast<int>(at_10k));
  RecordProperty("distinct_tokens_100k", static_cast<int>(at_100k));
  // Real logs keep meeting new addresses, ids and users (Heaps' law): ten
  // times the rows, several times the vocabulary. The original's twenty
  // words would give the same count at both sizes.
  EXPECT_GT(at_100k, 4 * at_10k) << at_10k << " -> " << at_100k;
}

TEST(RealisticGeneratorTest, TokenFrequenciesAreSkewed) {
  const auto counts = TokenCounts(SampleRows(*Make(Realistic()), 5, 50000));
  std::vector<int64_t> freq;
  int64_t total = 0, once = 0;
  for (const auto& [token, n] : counts) {
    freq.push_back(n);
    total += n;
    once += n == 1;
  }
  std::sort(freq.rbegin(), freq.rend());
  ASSERT_GT(freq.size(), 2000u);
  // A head: the most frequent 1 % of the distinct tokens make up a large
  // share of all occurrences.
  int64_t head = 0;
  for (size_t i = 0; i < freq.size() / 100; ++i) head += freq[i];
  EXPECT_GT(static_cast<double>(head) / total, 0.5);
  // A long tail: most distinct tokens occur once.
  EXPECT_GT(static_cast<double>(once) / freq.size(), 0.5);
  // Zipf-like in between: frequency falls with rank as a power, slope of
  // log(frequency) over log(rank) from rank 10 to rank 1000 between -2 and
  // -0.5 (Zipf's law: about -1).
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int n = 0;
  for (size_t rank = 10; rank <= 1000; ++rank) {
    const double x = std::log(static_cast<double>(rank));
    const double y = std::log(static_cast<double>(freq[rank - 1]));
    sx += x, sy += y, sxx += x * x, sxy += x * y, ++n;
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  RecordProperty("zipf_slope", std::to_string(slope));
  EXPECT_LT(slope, -0.5);
  EXPECT_GT(slope, -2.0);
}

TEST(RealisticGeneratorTest, LinesAreAsLongAsRealLogs) {
  const MessageStatistics stats =
      MeasureMessages(*Make(Realistic()), 3, 10000);
  RecordProperty("mean_message_bytes", std::to_string(stats.mean_message_bytes));
  // Public corpora: 90-160 bytes a line (docs/messages.md).
  EXPECT_GT(stats.mean_message_bytes, 80);
  EXPECT_LT(stats.mean_message_bytes, 200);
  EXPECT_GT(stats.p99_message_bytes, stats.mean_message_bytes);
  EXPECT_EQ(stats.rows, 10000);
}

TEST(SearchTermsTest, CommonTermsAreMoreFrequentThanRareOnes) {
  const auto counts = TokenCounts(SampleRows(*Make(Realistic()), 7, 20000));
  auto frequency = [&counts](const std::string& quoted) {
    const auto it = counts.find(quoted.substr(1, quoted.size() - 2));
    return it == counts.end() ? int64_t{0} : it->second;
  };
  const auto common = Make(Realistic(SearchTerms::kCommon), 7);
  const auto rare = Make(Realistic(SearchTerms::kRare), 7);
  int64_t least_common = INT64_MAX, most_rare = 0;
  for (const std::string& t : common->text_terms()) {
    least_common = std::min(least_common, frequency(t));
  }
  for (const std::string& t : rare->text_terms()) {
    most_rare = std::max(most_rare, frequency(t));
  }
  EXPECT_FALSE(common->text_terms().empty());
  EXPECT_FALSE(rare->text_terms().empty());
  EXPECT_GT(least_common, 100 * most_rare);
  // The rotation keeps the original's shape, with the source's values.
  EXPECT_EQ(common->Query(0).kind, QueryKind::kText);
  EXPECT_EQ(std::string(common->Query(0).argument),
            common->text_terms()[0]);
  EXPECT_EQ(common->Query(1).kind, QueryKind::kHostname);
  EXPECT_EQ(common->Query(3).kind, QueryKind::kRecent);
}

TEST(SearchTermsTest, MixedAlternatesHeadAndTail) {
  const auto common = Make(Realistic(SearchTerms::kCommon), 7);
  const auto rare = Make(Realistic(SearchTerms::kRare), 7);
  const auto mixed = Make(Realistic(SearchTerms::kMixed), 7);
  ASSERT_GE(mixed->text_terms().size(), 2u);
  EXPECT_EQ(mixed->text_terms()[0], common->text_terms()[0]);
  EXPECT_EQ(mixed->text_terms()[1], rare->text_terms()[0]);
}

// Tokens of one or two digits (a timestamp's day, hour, minute, second)
// are never search terms: their frequency depends on when the sample was
// made, so the terms would change with the minute a run starts.
TEST(SearchTermsTest, NoTermIsAPartOfTheClock) {
  for (const SearchTerms terms :
       {SearchTerms::kCommon, SearchTerms::kRare, SearchTerms::kMixed}) {
    const auto source = Make(Realistic(terms), 7);
    ASSERT_FALSE(source->text_terms().empty());
    for (const std::string& quoted : source->text_terms()) {
      const std::string token = quoted.substr(1, quoted.size() - 2);
      const bool clock_part =
          token.size() <= 2 &&
          token.find_first_not_of("0123456789") == std::string::npos;
      EXPECT_FALSE(clock_part) << quoted;
    }
  }
}

TEST(SearchTermsTest, OriginalTermsAreTheOriginalQueries) {
  const auto source = Make(MessageOptions());
  for (int64_t n = 0; n < 10; ++n) {
    const ReadQuery& original = QueryForIteration(n);
    const ReadQuery query = source->Query(n);
    EXPECT_EQ(query.kind, original.kind);
    EXPECT_EQ(query.argument, original.argument);
    EXPECT_EQ(query.limit, original.limit);
  }
}

// Replay.

storage::LogEntry ParseOne(const std::string& line, MessageFormat format) {
  storage::LogEntry e;
  EXPECT_TRUE(ParseLogLine(line, format, &e)) << line;
  return e;
}

TEST(LogReplayTest, ParsesRfc5424) {
  const auto e = ParseOne(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 "
      "ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ication\"] "
      "\xEF\xBB\xBF" "An application event log entry...",
      MessageFormat::kRfc5424);
  EXPECT_EQ(e.facility, 20);
  EXPECT_EQ(e.severity, 5);
  EXPECT_EQ(e.priority, 165);
  EXPECT_EQ(e.hostname, "mymachine.example.com");
  EXPECT_EQ(e.app_name, "evntslog");
  EXPECT_EQ(e.proc_id, "1234");
  EXPECT_EQ(e.msg_id, "ID47");
  EXPECT_EQ(e.structured_data,
            "[exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ication\"]");
  EXPECT_EQ(e.message, "An application event log entry...");
  const auto nil = ParseOne(
      "<34>1 2003-10-11T22:14:15.003Z host su - - - 'su root' failed",
      MessageFormat::kRfc5424);
  EXPECT_EQ(nil.proc_id, "");
  EXPECT_EQ(nil.msg_id, "");
  EXPECT_EQ(nil.structured_data, "");
  EXPECT_EQ(nil.message, "'su root' failed");
}

TEST(LogReplayTest, ParsesRfc3164WithAndWithoutPri) {
  const auto e = ParseOne(
      "<38>Oct 11 22:14:15 bastion-3 sshd[4721]: Failed password for root "
      "from 10.0.0.7 port 52113 ssh2",
      MessageFormat::kRfc3164);
  EXPECT_EQ(e.facility, 4);
  EXPECT_EQ(e.severity, 6);
  EXPECT_EQ(e.hostname, "bastion-3");
  EXPECT_EQ(e.app_name, "sshd");
  EXPECT_EQ(e.proc_id, "4721");
  EXPECT_EQ(e.message, "Failed password for root from 10.0.0.7 port 52113 ssh2");
  // As rsyslog writes /var/log/syslog on Debian: no PRI, an RFC 3339 stamp.
  const auto f = ParseOne(
      "2026-12-07T06:56:49.123456+00:00 deb12 systemd[1]: Started cron.service.",
      MessageFormat::kRfc3164);
  EXPECT_EQ(f.priority, 13);
  EXPECT_EQ(f.hostname, "deb12");
  EXPECT_EQ(f.app_name, "systemd");
  EXPECT_EQ(f.proc_id, "1");
  EXPECT_EQ(f.message, "Started cron.service.");
  const auto g = ParseOne("Dec  7 06:56:49 deb12 kernel: eth0: Link is Up",
                          MessageFormat::kRfc3164);
  EXPECT_EQ(g.app_name, "kernel");
  EXPECT_EQ(g.proc_id, "");
  EXPECT_EQ(g.message, "eth0: Link is Up");
}

TEST(LogReplayTest, ParsesPlainLines) {
  const auto e = ParseOne("2026-12-07 06:56:49 startup packages configure",
                          MessageFormat::kPlain);
  EXPECT_EQ(e.message, "2026-12-07 06:56:49 startup packages configure");
  EXPECT_EQ(e.hostname, "");
  EXPECT_EQ(e.priority, 13);
}

TEST(LogReplayTest, ParsesJsonLines) {
  const auto e = ParseOne(
      R"({"message":"GET /x 200","hostname":"web-1","app_name":"nginx",)"
      R"("proc_id":77,"severity":"warning","facility":23,)"
      R"("structured_data":{"a":1}})",
      MessageFormat::kJsonl);
  EXPECT_EQ(e.message, "GET /x 200");
  EXPECT_EQ(e.hostname, "web-1");
  EXPECT_EQ(e.app_name, "nginx");
  EXPECT_EQ(e.proc_id, "77");
  EXPECT_EQ(e.severity, 4);
  EXPECT_EQ(e.facility, 23);
  EXPECT_EQ(e.priority, 23 * 8 + 4);
  EXPECT_EQ(e.structured_data, R"({"a":1})");
  // journalctl -o json's names.
  const auto j = ParseOne(
      R"({"MESSAGE":"Started Session 4.","_HOSTNAME":"deb12",)"
      R"("SYSLOG_IDENTIFIER":"systemd","_PID":"1","PRIORITY":"6",)"
      R"("SYSLOG_FACILITY":"3"})",
      MessageFormat::kJsonl);
  EXPECT_EQ(j.message, "Started Session 4.");
  EXPECT_EQ(j.hostname, "deb12");
  EXPECT_EQ(j.app_name, "systemd");
  EXPECT_EQ(j.proc_id, "1");
  EXPECT_EQ(j.priority, 3 * 8 + 6);
}

TEST(LogReplayTest, DetectsEachFormat) {
  EXPECT_EQ(DetectFormat("\n<34>1 2003-10-11T22:14:15.003Z h a - - - m\n"),
            MessageFormat::kRfc5424);
  EXPECT_EQ(DetectFormat("<38>Oct 11 22:14:15 h sshd[1]: m\n"),
            MessageFormat::kRfc3164);
  EXPECT_EQ(DetectFormat("Oct 11 22:14:15 h cron[9]: m\n"),
            MessageFormat::kRfc3164);
  EXPECT_EQ(DetectFormat("{\"message\":\"m\"}\n"), MessageFormat::kJsonl);
  EXPECT_EQ(DetectFormat("2026-12-07 06:56:49 status installed x\n"),
            MessageFormat::kPlain);
}

TEST(LogReplayTest, CountsAndSkipsMalformedLines) {
  const std::string content =
      "<34>1 2003-10-11T22:14:15.003Z h a - - - good one\n"
      "this is not syslog\n"
      "\n"
      "<34>1 2003-10-11T22:14:15.003Z h a - - [unclosed good\n"
      "<34>1 2003-10-11T22:14:15.003Z h a - - - good two\r\n";
  auto corpus = ParseCorpus(content, MessageFormat::kAuto, "fixture.log");
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  EXPECT_EQ(corpus->format, MessageFormat::kRfc5424);
  ASSERT_EQ(corpus->entries.size(), 2u);
  EXPECT_EQ(corpus->entries[0].message, "good one");
  EXPECT_EQ(corpus->entries[1].message, "good two");
  EXPECT_EQ(corpus->malformed, 2);

  auto json = ParseCorpus("{\"message\":\"a\"}\n{broken\n[1,2]\n{\"x\":1}\n",
                          MessageFormat::kJsonl, "f.jsonl");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->entries.size(), 1u);
  EXPECT_EQ(json->malformed, 3);
}

TEST(LogReplayTest, RefusesAFileWithNoReadableLine) {
  auto corpus = ParseCorpus("not json\nnor this\n", MessageFormat::kJsonl,
                            "/tmp/x.log");
  ASSERT_FALSE(corpus.ok());
  EXPECT_THAT(std::string(corpus.status().message()),
              HasSubstr("messages file /tmp/x.log has no line readable as jsonl "
                        "(2 malformed)"));
}

// A JSON line and the row it gives (Columns), or kMalformed.
struct JsonCase {
  std::string line;
  std::string row;
};
constexpr char kMalformed[] = "malformed";

std::vector<JsonCase> JsonCases() {
  const std::string big(60000, 'x');
  std::string deep;  // 10,000 nested arrays under a key the row ignores.
  for (int i = 0; i < 10000; ++i) deep += "[";
  for (int i = 0; i < 10000; ++i) deep += "]";
  return {
      // Nested objects and arrays under other keys are skipped, a
      // "message" inside them included.
      {R"({"ctx":{"a":[1,{"b":[true,null,"x",-2.5e-3]}],"message":"inner"},)"
       R"("message":"outer","tags":[[],{}],"n":[{"host":"no"}]})",
       "13|1|5||||||outer"},
      // Escapes and Unicode (a surrogate pair, UTF-8 as it is) decoded.
      {R"({"message":"say \"hi\" \\ \/ \b\f\n\r\t \u00e9\u20AC\ud83d\ude00 )"
       "caf\xC3\xA9 \xF0\x9F\x98\x80\"}",
       "13|1|5||||||say \"hi\" \\ / \b\f\n\r\t \xC3\xA9\xE2\x82\xAC"
       "\xF0\x9F\x98\x80 caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {R"({"mess\u0061ge":"an escaped key"})", "13|1|5||||||an escaped key"},
      {R"({"message":"nul \u0000 inside"})",
       std::string("13|1|5||||||nul ") + '\0' + " inside"},
      {R"({"message":""})", "13|1|5||||||"},
      // Integers are text in every column; numbers as strings are read.
      {R"({"message":"m","hostname":17,"pid":4242,"facility":3,)"
       R"("severity":"4","msg_id":-0})",
       "28|3|4|17||4242|0||m"},
      {R"({"message":42})", "13|1|5||||||42"},
      {R"({"message":"m","pid":9223372036854775807})",
       "13|1|5|||9223372036854775807|||m"},
      // Above 2^63 wrapped, as nlohmann's get<int64_t>() reads it; past 64
      // bits a decimal, which is not text.
      {R"({"message":"m","pid":18446744073709551615,)"
       R"("proc_id":100000000000000000000})",
       "13|1|5|||-1|||m"},
      // Decimals, booleans and null are not text: the next key is tried.
      {R"({"message":4.5,"MESSAGE":null,"msg":"from msg"})",
       "13|1|5||||||from msg"},
      {R"({"message":"m","hostname":null,"host":"h2","app_name":true,)"
       R"("app":"a2","proc_id":1.5,"pid":"p","facility":false,)"
       R"("SYSLOG_FACILITY":"10","severity":[],"PRIORITY":{},)"
       R"("level":"WARNING"})",
       "84|10|4|h2|a2|p|||m"},
      // Out-of-range and unknown facilities and severities keep the
      // defaults.
      {R"({"message":"m","facility":24,"severity":"9"})", "13|1|5||||||m"},
      {R"({"message":"m","facility":"-1","level":"bogus"})", "13|1|5||||||m"},
      // A repeated key counts with its last value.
      {R"({"message":"first","hostname":"h1","message":"second",)"
       R"("hostname":null,"host":"h3"})",
       "13|1|5|h3|||||second"},
      {R"({"message":"a","message":null})", kMalformed},
      // structured_data: a string as it is; anything else as nlohmann
      // writes it (keys sorted, the last of a repeated key).
      {R"({"message":"m","structured_data":"[id k=\"v\"]"})",
       "13|1|5|||||[id k=\"v\"]|m"},
      {R"({"message":"m","structured_data":{"b":[1,2.5,"x"],)"
       R"("a":{"z":null,"y":true},"b":7}})",
       "13|1|5|||||{\"a\":{\"y\":true,\"z\":null},\"b\":7}|m"},
      {R"({"message":"m","structured_data":18446744073709551615})",
       "13|1|5|||||18446744073709551615|m"},
      // White space, a byte order mark, a tab in a structure.
      {"\xEF\xBB\xBF {\t\"message\" :\r \"bom\" } ", "13|1|5||||||bom"},
      // Lines near the length limit, and deeply nested ones.
      {R"({"message":")" + big + R"("})", "13|1|5||||||" + big},
      {R"({"deep":)" + deep + R"(,"message":"deep"})", "13|1|5||||||deep"},
      // No message.
      {R"({"host":"h","level":"error"})", kMalformed},
      {R"({})", kMalformed},
      // Not JSON.
      {R"({"message":"unterminated})", kMalformed},
      {R"({"message":"x",})", kMalformed},
      {R"({"message":"x"} trailing)", kMalformed},
      {R"({"message":"x"}{"message":"y"})", kMalformed},
      {R"({"message":"bad \x escape"})", kMalformed},
      {R"({"message":"lone \ud83d surrogate"})", kMalformed},
      {R"({"message":"lone \ude00 low"})", kMalformed},
      {"{\"message\":\"not UTF-8 \xFF\"}", kMalformed},
      {"{\"message\":\"overlong \xC0\xAF\"}", kMalformed},
      {"{\"message\":\"a raw\ttab\"}", kMalformed},
      {R"({"message":"m","n":01})", kMalformed},
      {R"({"message":"m","n":1e400})", kMalformed},
      {R"({"message":"m","n":tru})", kMalformed},
      {R"({message:"m"})", kMalformed},
      {"{\"message\":\"m\"", kMalformed},
      {R"({"message":"m","deep":)" + deep.substr(0, 15000) + "}", kMalformed},
      // Not an object.
      {R"(["message","m"])", kMalformed},
      {R"("message")", kMalformed},
      {"42", kMalformed},
      {"null", kMalformed},
      // Over 64 KiB.
      {R"({"message":")" + big + big + R"("})", kMalformed},
  };
}

TEST(LogReplayTest, ReadsJsonLinesAsDocumented) {
  std::string content;
  std::vector<std::string> rows;
  int64_t malformed = 0;
  for (const JsonCase& c : JsonCases()) {
    storage::LogEntry e;
    const bool parsed = ParseLogLine(c.line, MessageFormat::kJsonl, &e);
    EXPECT_EQ(parsed ? Columns(e) : kMalformed, c.row)
        << "line: " << c.line.substr(0, 200);
    absl::StrAppend(&content, c.line, "\n");
    if (c.row == kMalformed) {
      ++malformed;
    } else {
      rows.push_back(c.row);
    }
  }
  auto corpus = ParseCorpus(content, MessageFormat::kJsonl, "cases.jsonl");
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  EXPECT_EQ(corpus->malformed, malformed);
  ASSERT_EQ(corpus->entries.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_TRUE(Columns(corpus->entries[i]) == rows[i])
        << "row " << i << ": " << rows[i].substr(0, 200);
  }
}

TEST(LogReplayTest, RefusesEmptyAndUnreadableFilesNamingThem) {
  TestDir dir;
  const std::string empty = dir.path() + "/empty.log";
  std::ofstream(empty) << "\n  \n";
  auto read = ReadMessagesFile(empty);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(read.status().message()),
              HasSubstr("messages file " + empty + " is empty"));

  const std::string missing = dir.path() + "/missing.log";
  read = ReadMessagesFile(missing);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()),
              HasSubstr("messages file " + missing + " cannot be opened"));

  read = ReadMessagesFile(dir.path());
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()),
              HasSubstr("is not a regular file"));

  if (geteuid() != 0) {  // Root reads any file.
    const std::string secret = dir.path() + "/secret.log";
    std::ofstream(secret) << "a line\n";
    chmod(secret.c_str(), 0);
    read = ReadMessagesFile(secret);
    ASSERT_FALSE(read.ok());
    EXPECT_THAT(std::string(read.status().message()),
                HasSubstr("messages file " + secret + " cannot be opened"));
  }
}

TEST(LogReplayTest, TheSameFileGivesTheSameHash) {
  TestDir dir;
  const std::string path = dir.path() + "/a.log";
  std::ofstream(path) << "line one\nline two\n";
  auto first = ReadMessagesFile(path);
  auto second = ReadMessagesFile(path);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(protocol::ContentHash(*first), protocol::ContentHash(*second));
  EXPECT_EQ(protocol::ContentHash(*first).rfind("sha256:", 0), 0u);
  EXPECT_NE(protocol::ContentHash(*first),
            protocol::ContentHash(*first + "x"));
}

MessageOptions FileOptions(const std::string& content) {
  MessageOptions options;
  options.source = protocol::MessageSource::kFile;
  options.file_path = "fixture.log";
  options.file_content = content;
  options.content_hash = protocol::ContentHash(content);
  return options;
}

TEST(ReplayStreamTest, WritersStartAtSeededOffsetsAndLoop) {
  std::string content;
  for (int i = 0; i < 50; ++i) absl::StrAppend(&content, "line ", i, "\n");
  const auto source = Make(FileOptions(content));
  auto index_of = [](const storage::LogEntry& e) {
    return std::stoi(e.message.substr(5));
  };
  std::set<int> starts;
  for (int writer = 0; writer < 8; ++writer) {
    auto stream = source->NewStream(writer, WriterSeed(7, writer));
    const int first = index_of(stream->Next());
    starts.insert(first);
    for (int k = 1; k < 120; ++k) {
      EXPECT_EQ(index_of(stream->Next()), (first + k) % 50);
    }
    // The same seed starts at the same line; open loop agrees.
    auto again = source->NewStream(writer, WriterSeed(7, writer));
    EXPECT_EQ(index_of(again->At(writer, 3, WriterSeed(7, writer))),
              (first + 3) % 50);
  }
  EXPECT_GT(starts.size(), 4u) << "writers start at different lines";
}

TEST(ReplayStreamTest, PlainLinesWithoutHostsOrAppsStillGiveQueries) {
  MessageOptions options = FileOptions("status installed x\n"
                                       "status unpacked y\n");
  options.search_terms = SearchTerms::kMixed;
  const auto source = Make(options);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(std::string(source->Query(0).argument), "\"status\"");
  // The rows hold no hostname and no app name: those are what is searched.
  EXPECT_EQ(std::string(source->Query(1).argument), "");
  EXPECT_EQ(std::string(source->Query(2).argument), "");
}

TEST(ValidateMessagesTest, RefusesContentThatDoesNotMatchItsHash) {
  protocol::WorkloadOptions w;
  w.messages = FileOptions("a line\n");
  EXPECT_TRUE(protocol::ValidateWorkloadOptions(w).ok());
  w.messages.file_content = "another line\n";
  const absl::Status status = protocol::ValidateWorkloadOptions(w);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("fixture.log"));
  w.messages.file_content.clear();
  EXPECT_THAT(std::string(protocol::ValidateWorkloadOptions(w).message()),
              HasSubstr("is empty"));
}

TEST(ValidateMessagesTest, NamesTheFlagAndTheAcceptedValues) {
  auto source = protocol::ParseMessageSource("messages", "fancy");
  EXPECT_EQ(source.status().message(),
            "messages must be one of original, realistic, file, got \"fancy\"");
  auto format = protocol::ParseMessageFormat("messages-format", "xml");
  EXPECT_EQ(format.status().message(),
            "messages-format must be one of auto, rfc5424, rfc3164, plain, "
            "jsonl, got \"xml\"");
  auto terms = protocol::ParseSearchTerms("search-terms", "some");
  EXPECT_EQ(terms.status().message(),
            "search-terms must be one of original, common, rare, mixed, got "
            "\"some\"");
}

}  // namespace
}  // namespace loadtest::agent
