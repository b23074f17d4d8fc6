// duration/: Go's duration syntax, read and written.
#include "duration/duration.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::duration {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

TEST(ParseDurationTest, AcceptsGoSyntax) {
  const struct {
    const char* text;
    nanoseconds want;
  } cases[] = {
      {"0", nanoseconds(0)},
      {"-0", nanoseconds(0)},
      {"+0", nanoseconds(0)},
      {"0s", nanoseconds(0)},
      {"5ns", nanoseconds(5)},
      {"10us", microseconds(10)},
      {"10\xC2\xB5s", microseconds(10)},  // U+00B5 micro sign.
      {"10\xCE\xBCs", microseconds(10)},  // U+03BC Greek mu.
      {"300ms", milliseconds(300)},
      {"1.5s", milliseconds(1500)},
      {".5s", milliseconds(500)},
      {"1.s", seconds(1)},
      {"+5s", seconds(5)},
      {"1m30s", seconds(90)},
      {"2h", hours(2)},
      {"-1.5h", minutes(-90)},
      {"1h2m3s4ms5us6ns", hours(1) + minutes(2) + seconds(3) + milliseconds(4) +
                              microseconds(5) + nanoseconds(6)},
      {"0.000000001s", nanoseconds(1)},
      {"1.0000000001s", seconds(1)},  // Below a nanosecond: truncated.
      {"2562047h47m16.854775807s", nanoseconds::max()},
      {"-2562047h47m16.854775808s", nanoseconds::min()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const absl::StatusOr<nanoseconds> got = ParseDuration(c.text);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(ParseDurationTest, RejectsAnythingElseNamingTheText) {
  for (const char* text : {"",
                           "5",
                           "5x",
                           "ms",
                           "1.2.3s",
                           "-",
                           "+",
                           ".s",
                           ".",
                           "1s2",
                           "s",
                           " 1s",
                           "1s ",
                           "1 s",
                           "1S",
                           "1sec",
                           "--1s",
                           "1e3s",
                           "0x10s",
                           "2562047h47m16.854775808s",
                           "9223372036854775808ns",
                           "99999999999999999999h"}) {
    SCOPED_TRACE(text);
    const absl::StatusOr<nanoseconds> got = ParseDuration(text);
    ASSERT_FALSE(got.ok()) << FormatDuration(*got);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(got.status().message()),
                HasSubstr(absl::StrCat("invalid duration \"", text, "\": ")));
  }
}

TEST(ParseDurationTest, SaysWhatIsWrong) {
  EXPECT_EQ(ParseDuration("").status().message(),
            "invalid duration \"\": empty");
  EXPECT_EQ(ParseDuration("5").status().message(),
            "invalid duration \"5\": missing unit (use ns, us, ms, s, m or h)");
  EXPECT_EQ(ParseDuration("5x").status().message(),
            "invalid duration \"5x\": unknown unit \"x\" (use ns, us, ms, s, "
            "m or h)");
  EXPECT_EQ(ParseDuration("1.2.3s").status().message(),
            "invalid duration \"1.2.3s\": missing unit (use ns, us, ms, s, m "
            "or h)");
  EXPECT_EQ(ParseDuration("ms").status().message(),
            "invalid duration \"ms\": expected a number at \"ms\"");
  EXPECT_EQ(ParseDuration("3000000h").status().message(),
            "invalid duration \"3000000h\": out of range");
}

TEST(FormatDurationTest, FormatsAsGoDoes) {
  const struct {
    nanoseconds d;
    const char* want;
  } cases[] = {
      {nanoseconds(0), "0s"},
      {nanoseconds(5), "5ns"},
      {nanoseconds(999), "999ns"},
      {microseconds(10), "10\xC2\xB5s"},
      {nanoseconds(1500), "1.5\xC2\xB5s"},
      {milliseconds(10), "10ms"},
      {microseconds(1500), "1.5ms"},
      {milliseconds(300), "300ms"},
      {seconds(1), "1s"},
      {milliseconds(1500), "1.5s"},
      {seconds(60), "1m0s"},
      {seconds(90), "1m30s"},
      {hours(2), "2h0m0s"},
      {hours(1) + nanoseconds(1), "1h0m0.000000001s"},
      {milliseconds(-1500), "-1.5s"},
      {nanoseconds(-5), "-5ns"},
      {nanoseconds::max(), "2562047h47m16.854775807s"},
      {nanoseconds::min(), "-2562047h47m16.854775808s"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatDuration(c.d), c.want) << c.d.count() << "ns";
  }
}

TEST(FormatDurationTest, RoundTripsThroughParseDuration) {
  std::vector<nanoseconds> values = {nanoseconds::min(), nanoseconds::max(),
                                     nanoseconds(0), nanoseconds(1),
                                     nanoseconds(-1)};
  // Values of every magnitude, from a fixed linear congruential sequence.
  uint64_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    const int shift = i % 63;
    const int64_t magnitude = static_cast<int64_t>((state >> 1) >> shift);
    values.push_back(nanoseconds(i % 2 == 0 ? magnitude : -magnitude));
  }
  for (const nanoseconds d : values) {
    const std::string text = FormatDuration(d);
    const absl::StatusOr<nanoseconds> back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, d) << text;
  }
}

}  // namespace
}  // namespace loadtest::duration
