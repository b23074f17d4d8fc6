#include "cli/flag_set.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::cli {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// One flag of every kind with a non-zero default, as a binary's main() would
// register them. A FlagSet parses once, so each case builds its own.
struct TestFlags {
  int writers = 4;
  int64_t rows = 1000;
  double write_rate = 0.5;
  nanoseconds duration = seconds(10);
  std::string db = "logs.db";
  bool fresh = false;
  std::vector<std::string> positional;
  FlagSet flags{"prog", "Writes logs.\nUsage: prog [flags] [files]"};

  TestFlags() {
    flags.AddInt("writers", &writers, "Writer threads");
    flags.AddInt("rows", &rows, "Rows to write");
    flags.AddDouble("write-rate", &write_rate, "Writes per second");
    flags.AddDuration("duration", &duration, "How long to run");
    flags.AddString("db", &db, "Database file");
    flags.AddBool("fresh", &fresh, "Start from an empty database");
  }

  absl::Status Parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv = {"prog"};
    argv.insert(argv.end(), args.begin(), args.end());
    return flags.Parse(static_cast<int>(argv.size()), argv.data(), &positional);
  }
};

// The message of the error Parse returns for `args`, which must be
// InvalidArgument.
std::string ParseError(std::initializer_list<const char*> args) {
  TestFlags f;
  const absl::Status status = f.Parse(args);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(FlagSetTest, AcceptsSingleAndDoubleDashWithEqualsOrNextArgument) {
  const std::vector<std::vector<const char*>> spellings = {
      {"-writers=8", "-rows=7", "-write-rate=2.5", "-duration=1m30s",
       "-db=x.db"},
      {"--writers=8", "--rows=7", "--write-rate=2.5", "--duration=1m30s",
       "--db=x.db"},
      {"-writers", "8", "-rows", "7", "-write-rate", "2.5", "-duration",
       "1m30s", "-db", "x.db"},
      {"--writers", "8", "--rows", "7", "--write-rate", "2.5", "--duration",
       "1m30s", "--db", "x.db"},
      {"-writers=8", "--rows", "7", "--write-rate=2.5", "-duration", "1m30s",
       "--db", "x.db"},
  };
  for (const auto& args : spellings) {
    SCOPED_TRACE(args.front());
    TestFlags f;
    std::vector<const char*> argv = {"prog"};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_TRUE(
        f.flags.Parse(static_cast<int>(argv.size()), argv.data(), &f.positional)
            .ok());
    EXPECT_EQ(f.writers, 8);
    EXPECT_EQ(f.rows, 7);
    EXPECT_EQ(f.write_rate, 2.5);
    EXPECT_EQ(f.duration, seconds(90));
    EXPECT_EQ(f.db, "x.db");
    EXPECT_THAT(f.positional, IsEmpty());
  }
}

TEST(FlagSetTest, SetsABooleanGivenAlone) {
  for (const char* arg : {"-fresh", "--fresh"}) {
    SCOPED_TRACE(arg);
    TestFlags f;
    ASSERT_TRUE(f.Parse({arg}).ok());
    EXPECT_TRUE(f.fresh);
  }
}

TEST(FlagSetTest, AcceptsGoBooleanSpellingsAfterEquals) {
  for (const char* arg : {"-fresh=1", "-fresh=t", "-fresh=T", "-fresh=TRUE",
                          "-fresh=true", "-fresh=True", "--fresh=true"}) {
    SCOPED_TRACE(arg);
    TestFlags f;
    ASSERT_TRUE(f.Parse({arg}).ok());
    EXPECT_TRUE(f.fresh);
  }
  for (const char* arg : {"-fresh=0", "-fresh=f", "-fresh=F", "-fresh=FALSE",
                          "-fresh=false", "-fresh=False", "--fresh=false"}) {
    SCOPED_TRACE(arg);
    TestFlags f;
    f.fresh = true;
    ASSERT_TRUE(f.Parse({arg}).ok());
    EXPECT_FALSE(f.fresh);
    EXPECT_TRUE(f.flags.IsSet("fresh"));
  }
}

TEST(FlagSetTest, BooleanNeverTakesTheNextArgument) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"-fresh", "false"}).ok());
  EXPECT_TRUE(f.fresh);
  EXPECT_THAT(f.positional, ElementsAre("false"));
}

TEST(FlagSetTest, NonBooleanTakesTheNextArgumentEvenWhenItStartsWithADash) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"-writers", "-5", "-db", "--fresh", "--duration", "-1s",
                       "-write-rate", "-0.25"})
                  .ok());
  EXPECT_EQ(f.writers, -5);
  EXPECT_EQ(f.db, "--fresh");
  EXPECT_FALSE(f.fresh);
  EXPECT_EQ(f.duration, seconds(-1));
  EXPECT_EQ(f.write_rate, -0.25);

  // As in Go, even `--` is a value when it follows a flag that needs one.
  TestFlags g;
  ASSERT_TRUE(g.Parse({"-db", "--", "-fresh"}).ok());
  EXPECT_EQ(g.db, "--");
  EXPECT_TRUE(g.fresh);
  EXPECT_THAT(g.positional, IsEmpty());
}

TEST(FlagSetTest, LeavesDefaultsUntouchedWhenFlagsAreAbsent) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({}).ok());
  EXPECT_EQ(f.writers, 4);
  EXPECT_EQ(f.rows, 1000);
  EXPECT_EQ(f.write_rate, 0.5);
  EXPECT_EQ(f.duration, seconds(10));
  EXPECT_EQ(f.db, "logs.db");
  EXPECT_FALSE(f.fresh);
  EXPECT_FALSE(f.flags.help_requested());
}

TEST(FlagSetTest, IsSetReportsFlagsGivenOnTheCommandLineEvenAtTheirDefault) {
  TestFlags f;
  EXPECT_FALSE(f.flags.IsSet("writers"));
  ASSERT_TRUE(f.Parse({"-writers=4", "--fresh"}).ok());
  EXPECT_TRUE(f.flags.IsSet("writers"));
  EXPECT_TRUE(f.flags.IsSet("fresh"));
  EXPECT_FALSE(f.flags.IsSet("rows"));
  EXPECT_FALSE(f.flags.IsSet("write-rate"));
  EXPECT_FALSE(f.flags.IsSet("duration"));
  EXPECT_FALSE(f.flags.IsSet("db"));
}

TEST(FlagSetTest, LastValueWinsWhenAFlagIsRepeated) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"-writers=2", "--writers", "3"}).ok());
  EXPECT_EQ(f.writers, 3);
}

TEST(FlagSetTest, KeepsEverythingAfterTheFirstEqualsSignAsTheValue) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--db=file:x.db?mode=ro"}).ok());
  EXPECT_EQ(f.db, "file:x.db?mode=ro");
}

TEST(FlagSetTest, AcceptsAnEmptyStringAfterEquals) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--db="}).ok());
  EXPECT_EQ(f.db, "");
  EXPECT_TRUE(f.flags.IsSet("db"));
}

TEST(FlagSetTest, DoubleDashEndsTheFlags) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"-writers", "2", "--", "-fresh", "--", "--bogus"}).ok());
  EXPECT_EQ(f.writers, 2);
  EXPECT_FALSE(f.fresh);
  EXPECT_FALSE(f.flags.IsSet("fresh"));
  EXPECT_THAT(f.positional, ElementsAre("-fresh", "--", "--bogus"));
}

TEST(FlagSetTest, CollectsPositionalsInterleavedWithFlags) {
  TestFlags f;
  f.positional = {"already-there"};
  ASSERT_TRUE(
      f.Parse({"a.yaml", "-writers", "2", "b.yaml", "--fresh", "-", "", "c"})
          .ok());
  EXPECT_EQ(f.writers, 2);
  EXPECT_TRUE(f.fresh);
  EXPECT_THAT(f.positional,
              ElementsAre("already-there", "a.yaml", "b.yaml", "-", "", "c"));
}

TEST(FlagSetTest, AcceptsSignedIntegersAndNumbers) {
  TestFlags f;
  ASSERT_TRUE(
      f.Parse({"-writers=+3", "-rows=-9223372036854775808", "-write-rate=1e3"})
          .ok());
  EXPECT_EQ(f.writers, 3);
  EXPECT_EQ(f.rows, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.write_rate, 1000.0);

  TestFlags g;
  ASSERT_TRUE(g.Parse({"-writers=2147483647", "-write-rate=+.5"}).ok());
  EXPECT_EQ(g.writers, 2147483647);
  EXPECT_EQ(g.write_rate, 0.5);
}

TEST(FlagSetTest, AcceptsZeroAndNegativeDurations) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"-duration=0"}).ok());
  EXPECT_EQ(f.duration, nanoseconds(0));
  TestFlags g;
  ASSERT_TRUE(g.Parse({"-duration=-1.5h"}).ok());
  EXPECT_EQ(g.duration, minutes(-90));
}

TEST(FlagSetTest, RejectsUnknownFlagsAsTyped) {
  EXPECT_EQ(ParseError({"-foo"}), "unknown flag -foo (see --help)");
  EXPECT_EQ(ParseError({"--foo=3"}), "unknown flag --foo (see --help)");
  EXPECT_EQ(ParseError({"-Writers=3"}), "unknown flag -Writers (see --help)");
}

TEST(FlagSetTest, PointsUnderscoreSpellingsAtTheDashedName) {
  EXPECT_EQ(ParseError({"--write_rate=3"}),
            "unknown flag --write_rate (did you mean --write-rate?)");
  EXPECT_EQ(ParseError({"-no_such"}), "unknown flag -no_such (see --help)");
}

TEST(FlagSetTest, RejectsAFlagWithoutItsValue) {
  EXPECT_EQ(ParseError({"-writers"}), "flag -writers needs a value");
  EXPECT_EQ(ParseError({"--fresh", "--duration"}),
            "flag -duration needs a value");
}

TEST(FlagSetTest, RejectsValuesThatAreNotIntegers) {
  EXPECT_EQ(ParseError({"-writers=abc"}),
            "flag -writers: \"abc\" is not an integer");
  EXPECT_EQ(ParseError({"-writers", "1.5"}),
            "flag -writers: \"1.5\" is not an integer");
  EXPECT_EQ(ParseError({"-writers="}), "flag -writers: \"\" is not an integer");
  EXPECT_EQ(ParseError({"-rows=+-5"}), "flag -rows: \"+-5\" is not an integer");
  EXPECT_EQ(ParseError({"-rows= 5"}), "flag -rows: \" 5\" is not an integer");
  EXPECT_EQ(ParseError({"-rows=0x10"}),
            "flag -rows: \"0x10\" is not an integer");
}

TEST(FlagSetTest, RejectsIntegersOutsideTheTargetsRange) {
  EXPECT_EQ(ParseError({"-writers=2147483648"}),
            "flag -writers: \"2147483648\" is out of range (must be between "
            "-2147483648 and 2147483647)");
  EXPECT_EQ(ParseError({"-writers=-2147483649"}),
            "flag -writers: \"-2147483649\" is out of range (must be between "
            "-2147483648 and 2147483647)");
  EXPECT_EQ(ParseError({"-rows=9223372036854775808"}),
            "flag -rows: \"9223372036854775808\" is out of range (must be "
            "between -9223372036854775808 and 9223372036854775807)");
}

TEST(FlagSetTest, RejectsValuesThatAreNotNumbers) {
  EXPECT_EQ(ParseError({"-write-rate=x"}),
            "flag -write-rate: \"x\" is not a number");
  EXPECT_EQ(ParseError({"-write-rate=1,5"}),
            "flag -write-rate: \"1,5\" is not a number");
  EXPECT_EQ(ParseError({"-write-rate=nan"}),
            "flag -write-rate: \"nan\" is not a finite number");
  EXPECT_EQ(ParseError({"-write-rate=inf"}),
            "flag -write-rate: \"inf\" is not a finite number");
  EXPECT_EQ(ParseError({"-write-rate=1e999"}),
            "flag -write-rate: \"1e999\" is out of range");
}

TEST(FlagSetTest, RejectsValuesThatAreNotDurations) {
  EXPECT_EQ(ParseError({"-duration=5x"}),
            "flag -duration: \"5x\" is not a duration (use e.g. 300ms, 10s, "
            "1m30s)");
  EXPECT_EQ(ParseError({"--duration", "5"}),
            "flag -duration: \"5\" is not a duration (use e.g. 300ms, 10s, "
            "1m30s)");
  EXPECT_EQ(ParseError({"--duration=3000000h"}),
            "flag -duration: \"3000000h\" is out of range (must be between "
            "-2562047h47m16.854775808s and 2562047h47m16.854775807s)");
}

TEST(FlagSetTest, RejectsValuesThatAreNotBooleans) {
  EXPECT_EQ(ParseError({"-fresh=maybe"}),
            "flag -fresh: \"maybe\" is not a boolean");
  EXPECT_EQ(ParseError({"--fresh=yes"}),
            "flag -fresh: \"yes\" is not a boolean");
  EXPECT_EQ(ParseError({"--fresh="}), "flag -fresh: \"\" is not a boolean");
}

TEST(FlagSetTest, RejectsBadFlagSyntax) {
  EXPECT_EQ(ParseError({"---writers=3"}), "bad flag syntax: \"---writers=3\"");
  EXPECT_EQ(ParseError({"-=3"}), "bad flag syntax: \"-=3\"");
  EXPECT_EQ(ParseError({"--=3"}), "bad flag syntax: \"--=3\"");
}

TEST(FlagSetTest, ReportsTheFirstErrorAndStoresNothing) {
  TestFlags f;
  f.positional = {"kept"};
  const absl::Status status =
      f.Parse({"-writers=8", "file", "-rows=x", "--bogus", "--fresh"});
  EXPECT_EQ(status.message(), "flag -rows: \"x\" is not an integer");
  EXPECT_EQ(f.writers, 4);
  EXPECT_FALSE(f.fresh);
  EXPECT_FALSE(f.flags.IsSet("writers"));
  EXPECT_THAT(f.positional, ElementsAre("kept"));
}

TEST(FlagSetTest, RecognisesEveryHelpSpelling) {
  for (const char* arg : {"-h", "--h", "-help", "--help"}) {
    SCOPED_TRACE(arg);
    TestFlags f;
    ASSERT_TRUE(f.Parse({arg}).ok());
    EXPECT_TRUE(f.flags.help_requested());
  }
}

TEST(FlagSetTest, HelpWinsOverOtherArgumentsAndStoresNothing) {
  TestFlags f;
  ASSERT_TRUE(
      f.Parse({"-writers=8", "--bogus", "-rows=x", "--help", "file"}).ok());
  EXPECT_TRUE(f.flags.help_requested());
  EXPECT_EQ(f.writers, 4);
  EXPECT_FALSE(f.flags.IsSet("writers"));
  EXPECT_THAT(f.positional, IsEmpty());
}

TEST(FlagSetTest, HelpAfterDoubleDashIsPositional) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--", "--help"}).ok());
  EXPECT_FALSE(f.flags.help_requested());
  EXPECT_THAT(f.positional, ElementsAre("--help"));
}

TEST(FlagSetTest, HelpAsTheValueOfAFlagIsAValue) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--db", "--help"}).ok());
  EXPECT_FALSE(f.flags.help_requested());
  EXPECT_EQ(f.db, "--help");
}

TEST(FlagSetTest, UsageListsSectionsAlignedWithDefaultsAndWrapsHelp) {
  int64_t writers = 4;
  double rate = 0;
  nanoseconds think = milliseconds(1);
  std::string schema = "full";
  std::string dir;
  bool json = false;
  bool audit = true;
  FlagSet flags("bench", "Measures things.\nUsage: bench [flags]");
  flags.AddBool("json", &json, "Print JSON");
  flags.AddSection("Workload");
  flags.AddInt("writers", &writers, "Writer threads");
  flags.AddDouble("rate", &rate, "");
  flags.AddDuration("think-time", &think,
                    "Sleep after each write, so that a closed loop of writers "
                    "leaves the store some idle time between batches");
  flags.AddSection("Output");
  flags.AddString("schema", &schema, "Schema: full or lean");
  flags.AddString("dir", &dir, "Directory (default: a temporary one)");
  flags.AddBool("audit", &audit, "Check the rows afterwards");
  flags.AddBool("a-rather-long-flag-name-for-a-bool", &json, "Long");
  EXPECT_EQ(flags.Usage(),
            "Measures things.\n"
            "Usage: bench [flags]\n"
            "\n"
            "Flags:\n"
            "  -json                         Print JSON\n"
            "\n"
            "Workload:\n"
            "  -writers=<int>                Writer threads (default: 4)\n"
            "  -rate=<number>                (default: 0)\n"
            "  -think-time=<duration>        Sleep after each write, so that "
            "a closed loop of\n"
            "                                writers leaves the store some "
            "idle time between\n"
            "                                batches (default: 1ms)\n"
            "\n"
            "Output:\n"
            "  -schema=<string>              Schema: full or lean (default: "
            "\"full\")\n"
            "  -dir=<string>                 Directory (default: a temporary "
            "one)\n"
            "  -audit                        Check the rows afterwards "
            "(default: true)\n"
            "  -a-rather-long-flag-name-for-a-bool\n"
            "                                Long\n"
            "\n"
            "Flags are written -name=value, --name=value, -name value or "
            "--name value;\n"
            "a boolean flag alone means true, -name=false turns it off.\n");
}

TEST(FlagSetTest, UsageKeepsLinesWithinEightyColumns) {
  TestFlags f;
  for (absl::string_view line : absl::StrSplit(f.flags.Usage(), '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST(FlagSetDeathTest, AbortsWhenAFlagIsRegisteredTwice) {
  EXPECT_DEATH(
      {
        TestFlags f;
        f.flags.AddInt("writers", &f.writers, "again");
      },
      "flag -writers registered twice");
}

TEST(FlagSetDeathTest, AbortsOnReservedOrMalformedNames) {
  bool value = false;
  EXPECT_DEATH(
      {
        FlagSet flags("p", "");
        flags.AddBool("help", &value, "");
      },
      "flag -help is reserved for help");
  EXPECT_DEATH(
      {
        FlagSet flags("p", "");
        flags.AddBool("--verbose", &value, "");
      },
      "bad flag name \"--verbose\"");
}

TEST(FlagSetDeathTest, AbortsWhenParseIsCalledTwice) {
  EXPECT_DEATH(
      {
        TestFlags f;
        (void)f.Parse({"-writers=2"});
        (void)f.Parse({"-writers=3"});
      },
      "Parse called twice");
}

TEST(FlagSetDeathTest, AbortsWhenAskedAboutAnUnregisteredFlag) {
  EXPECT_DEATH(
      {
        TestFlags f;
        f.flags.IsSet("writer");
      },
      "IsSet asked about unregistered flag -writer");
}

TEST(FlagSetListTest, ARepeatableFlagCollectsEveryValueInOrder) {
  std::vector<std::string> thresholds = {"default"};
  FlagSet flags("prog", "");
  flags.AddStringList("threshold", &thresholds, "A condition.");
  const char* argv[] = {"prog", "--threshold=a<1", "-threshold", "b>2",
                        "--threshold=c==0"};
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse(5, argv, &positional).ok());
  EXPECT_EQ(thresholds, (std::vector<std::string>{"a<1", "b>2", "c==0"}));
  EXPECT_TRUE(flags.IsSet("threshold"));
  EXPECT_NE(flags.Usage().find("-threshold=<string>"), std::string::npos);
  EXPECT_NE(flags.Usage().find("Repeatable."), std::string::npos);
}

TEST(FlagSetListTest, AnAbsentRepeatableFlagKeepsItsDefault) {
  std::vector<std::string> thresholds = {"default"};
  FlagSet flags("prog", "");
  flags.AddStringList("threshold", &thresholds, "A condition.");
  const char* argv[] = {"prog"};
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse(1, argv, &positional).ok());
  EXPECT_EQ(thresholds, (std::vector<std::string>{"default"}));
}

// ParseCommandLine: what every flags-only binary does with its command line.
TEST(FlagSetCommandLineTest, GoesOnWithValidFlagsOnly) {
  int writers = 1;
  FlagSet flags("prog", "Does things.\n");
  flags.AddInt("writers", &writers, "Writers.");
  const char* argv[] = {"prog", "--writers=3"};
  EXPECT_EQ(flags.ParseCommandLine(2, argv), std::nullopt);
  EXPECT_EQ(writers, 3);
}

TEST(FlagSetCommandLineTest, HelpPrintsUsageAndExitsZero) {
  int writers = 1;
  FlagSet flags("prog", "Does things.\n");
  flags.AddInt("writers", &writers, "Writers.");
  const char* argv[] = {"prog", "--help"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(flags.ParseCommandLine(2, argv), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), flags.Usage());
}

TEST(FlagSetCommandLineTest, ABadFlagOrAPositionalArgumentExitsOneNamingIt) {
  int writers = 1;
  FlagSet bad_flag("prog", "");
  bad_flag.AddInt("writers", &writers, "Writers.");
  const char* bad_argv[] = {"prog", "--writers=x"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(bad_flag.ParseCommandLine(2, bad_argv), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "prog: flag -writers: \"x\" is not an integer\n");

  FlagSet positional("prog", "");
  positional.AddInt("writers", &writers, "Writers.");
  const char* positional_argv[] = {"prog", "extra"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(positional.ParseCommandLine(2, positional_argv), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "prog: unexpected argument \"extra\" (see --help)\n");
}

}  // namespace
}  // namespace loadtest::cli
