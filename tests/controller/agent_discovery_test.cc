#include "controller/agent_discovery.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AgentDiscoveryTest, KeepsHostPortEntriesInOrder) {
  auto targets = ResolveAgentTargets("h1:7070,10.0.0.8:7071, agent-3.local:80");
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_THAT(*targets,
              ElementsAre("h1:7070", "10.0.0.8:7071", "agent-3.local:80"));
}

TEST(AgentDiscoveryTest, DropsDuplicateTargetsKeepingTheFirst) {
  auto targets = ResolveAgentTargets("b:1,a:1,b:1,a:2");
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_THAT(*targets, ElementsAre("b:1", "a:1", "a:2"));
}

TEST(AgentDiscoveryTest, AcceptsBracketedIpv6) {
  auto targets = ResolveAgentTargets("[::1]:7070,[2001:db8::7]:80");
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_THAT(*targets, ElementsAre("[::1]:7070", "[2001:db8::7]:80"));
  auto entries = ParseAgentEntries("[::1]:7070");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ((*entries)[0].host, "::1");
  EXPECT_EQ((*entries)[0].port, 7070);
  EXPECT_FALSE((*entries)[0].dns);
}

TEST(AgentDiscoveryTest, RefusesAnEmptyList) {
  for (const char* flag : {"", "  "}) {
    auto targets = ResolveAgentTargets(flag);
    ASSERT_FALSE(targets.ok());
    EXPECT_EQ(targets.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(targets.status().message(), HasSubstr("at least one agent"));
  }
  auto stray = ResolveAgentTargets("h1:7070,,h2:7070");
  ASSERT_FALSE(stray.ok());
  EXPECT_THAT(stray.status().message(), HasSubstr("empty entry"));
}

TEST(AgentDiscoveryTest, NamesTheEntryWithAMissingOrBadPort) {
  struct Case {
    const char* flag;
    const char* entry;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"h1:7070,h2", "\"h2\"", "missing port"},
      {"h1:", "\"h1:\"", "missing port"},
      {"h1:0", "\"h1:0\"", "between 1 and 65535"},
      {"h1:65536", "\"h1:65536\"", "between 1 and 65535"},
      {"h1:70x", "\"h1:70x\"", "between 1 and 65535"},
      {"h1:-1", "\"h1:-1\"", "between 1 and 65535"},
      {"[::1]", "\"[::1]\"", "missing port"},
      {"[::1]:", "\"[::1]:\"", "missing port"},
      {"::1:7070", "\"::1:7070\"", "needs brackets"},
      {"[::1:7070", "\"[::1:7070\"", "missing ']'"},
      {"[nope]:7070", "\"[nope]:7070\"", "not an IPv6 address"},
      {":7070", "\":7070\"", "missing host"},
      {"dns:///agent", "\"dns:///agent\"", "missing port"},
      {"dns:///agent:99999", "\"dns:///agent:99999\"", "between 1 and 65535"},
      {"dns://8.8.8.8/agent:7070", "\"dns://8.8.8.8/agent:7070\"",
       "dns:///name:port"},
      {"http://h1:7070", "\"http://h1:7070\"", "expected host:port"},
  };
  for (const Case& c : cases) {
    auto targets = ResolveAgentTargets(c.flag);
    ASSERT_FALSE(targets.ok()) << c.flag;
    EXPECT_EQ(targets.status().code(), absl::StatusCode::kInvalidArgument)
        << c.flag;
    EXPECT_THAT(targets.status().message(), HasSubstr(c.entry)) << c.flag;
    EXPECT_THAT(targets.status().message(), HasSubstr(c.problem)) << c.flag;
  }
}

TEST(AgentDiscoveryTest, DnsEntryYieldsANumericTargetPerAddress) {
  auto targets = ResolveAgentTargets("dns:///localhost:7070");
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_FALSE(targets->empty());
  for (const std::string& t : *targets) {
    EXPECT_TRUE(t == "127.0.0.1:7070" || t == "[::1]:7070") << t;
  }
}

TEST(AgentDiscoveryTest, DnsEntryOfALiteralAddressIsThatAddress) {
  auto targets = ResolveAgentTargets("dns:///127.0.0.2:7070,127.0.0.2:7070");
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_THAT(*targets, ElementsAre("127.0.0.2:7070"));
}

TEST(AgentDiscoveryTest, UnresolvableNameIsUnavailableAndNamed) {
  auto targets = ResolveAgentTargets("h1:7070,dns:///no-such-host.invalid:7070");
  ASSERT_FALSE(targets.ok());
  EXPECT_EQ(targets.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(targets.status().message(),
              HasSubstr("dns:///no-such-host.invalid:7070"));
  EXPECT_THAT(targets.status().message(), HasSubstr("cannot resolve"));
}

TEST(AgentDiscoveryTest, FormatsTargetsForGrpc) {
  EXPECT_EQ(FormatTarget("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(FormatTarget("::1", 7070), "[::1]:7070");
  EXPECT_EQ(FormatTarget("fe80::1%eth0", 7070), "[fe80::1%25eth0]:7070");
}

}  // namespace
}  // namespace loadtest::controller
