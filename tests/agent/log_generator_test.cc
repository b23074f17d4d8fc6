#include "agent/log_generator.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace loadtest::agent {
namespace {

using ::testing::HasSubstr;

TEST(LogGeneratorTest, ProducesTheOriginalDistributions) {
  LogGenerator generator(7, 42);
  std::set<int> facilities, severities;
  std::set<std::string> hostnames, apps;
  for (int i = 0; i < 2000; ++i) {
    const storage::LogEntry e = generator.Next();
    facilities.insert(e.facility);
    severities.insert(e.severity);
    hostnames.insert(e.hostname);
    apps.insert(e.app_name);
    EXPECT_EQ(e.priority, e.facility * 8 + e.severity);
    EXPECT_EQ(e.version, 1);
    EXPECT_EQ(e.proc_id, "7");
    EXPECT_EQ(e.msg_id, "loadtest-" + std::to_string(i));
    EXPECT_THAT(e.message, HasSubstr("Load test message from writer 7, count " +
                                     std::to_string(i) + ": "));
    // 3-7 words after the colon.
    const std::string words = e.message.substr(e.message.find(": ") + 2);
    const int spaces = static_cast<int>(std::count(words.begin(), words.end(), ' '));
    EXPECT_GE(spaces, 2);
    EXPECT_LE(spaces, 6);
    const nlohmann::json sd = nlohmann::json::parse(e.structured_data);
    EXPECT_EQ(sd["writer_id"], 7);
    EXPECT_EQ(sd["count"], i);
    EXPECT_TRUE(sd.contains("timestamp"));
    EXPECT_GE(sd["random_val"].get<double>(), 0.0);
    EXPECT_LT(sd["random_val"].get<double>(), 1.0);
  }
  EXPECT_EQ(facilities, (std::set<int>{0, 1, 2, 3, 16, 17, 18, 19}));
  EXPECT_EQ(severities, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(hostnames,
            (std::set<std::string>{"web01", "web02", "db01", "cache01", "api01"}));
  EXPECT_EQ(apps, (std::set<std::string>{"nginx", "mysql", "redis",
                                         "api-server", "worker"}));
}

TEST(LogGeneratorTest, TheSameSeedGivesTheSameEntriesAndEachItsOwnStructuredData) {
  LogGenerator a(3, 99), b(3, 99), other(3, 100);
  bool differs_from_other_seed = false;
  for (int i = 0; i < 500; ++i) {
    const storage::LogEntry x = a.Next(), y = b.Next(), z = other.Next();
    EXPECT_EQ(x.facility, y.facility);
    EXPECT_EQ(x.severity, y.severity);
    EXPECT_EQ(x.hostname, y.hostname);
    EXPECT_EQ(x.app_name, y.app_name);
    EXPECT_EQ(x.message, y.message);
    differs_from_other_seed |= x.message != z.message;
    // The kept object's values are replaced, never left from the entry
    // before: exactly the original's five keys, this entry's count.
    const nlohmann::json sx = nlohmann::json::parse(x.structured_data);
    const nlohmann::json sy = nlohmann::json::parse(y.structured_data);
    EXPECT_EQ(sx.size(), 5u) << x.structured_data;
    EXPECT_EQ(sx["count"], i);
    EXPECT_EQ(sx["test_type"], "load_test");
    EXPECT_EQ(sx["random_val"], sy["random_val"]);
  }
  EXPECT_TRUE(differs_from_other_seed);
}

// Issue 27: open-loop writes go to whichever writer is free, so entry k
// of writer w must not depend on what the thread made before.
TEST(LogGeneratorTest, AnEntryMadeOutOfOrderIsTheSameWhicheverThreadMakesIt) {
  LogGenerator a(0, 1), b(5, 2);
  const storage::LogEntry first = a.At(3, 7, WriterSeed(42, 3));
  b.At(1, 2, WriterSeed(42, 1));
  const storage::LogEntry again = b.At(3, 7, WriterSeed(42, 3));
  EXPECT_EQ(first.message, again.message);
  EXPECT_EQ(first.hostname, again.hostname);
  EXPECT_EQ(first.app_name, again.app_name);
  EXPECT_EQ(first.facility, again.facility);
  EXPECT_EQ(first.severity, again.severity);
  EXPECT_EQ(first.proc_id, "3");
  EXPECT_THAT(first.message, ::testing::HasSubstr("from writer 3, count 7"));
  EXPECT_NE(a.At(3, 8, WriterSeed(42, 3)).message.substr(40),
            first.message.substr(40));
}

TEST(LogGeneratorTest, ReadersRotateTheOriginalFiveQueries) {
  EXPECT_EQ(QueryForIteration(0).kind, QueryKind::kText);
  EXPECT_STREQ(QueryForIteration(0).argument, "load test");
  EXPECT_EQ(QueryForIteration(0).limit, 10);
  EXPECT_EQ(QueryForIteration(1).kind, QueryKind::kHostname);
  EXPECT_STREQ(QueryForIteration(1).argument, "web01");
  EXPECT_EQ(QueryForIteration(2).kind, QueryKind::kAppName);
  EXPECT_STREQ(QueryForIteration(2).argument, "nginx");
  EXPECT_EQ(QueryForIteration(3).kind, QueryKind::kRecent);
  EXPECT_EQ(QueryForIteration(3).limit, 20);
  EXPECT_EQ(QueryForIteration(4).kind, QueryKind::kText);
  EXPECT_STREQ(QueryForIteration(4).argument, "message");
  EXPECT_EQ(QueryForIteration(4).limit, 15);
  EXPECT_EQ(QueryForIteration(5).kind, QueryKind::kText);  // Wraps around.
}

}  // namespace
}  // namespace loadtest::agent
