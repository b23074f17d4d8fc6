#include "protocol/peer_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::protocol {
namespace {

using ::testing::HasSubstr;

// Issue 17 (terminal and log injection): what an agent or a caller sends
// reaches a terminal, a CSV file or a log only through PeerText.
TEST(PeerTextTest, ControlCharactersBecomeVisibleEscapes) {
  EXPECT_EQ(PeerText("plain agent-1 é ü"), "plain agent-1 é ü");
  EXPECT_EQ(PeerText("\x1b[2J\x1b]0;owned\x07"), "\\e[2J\\e]0;owned\\x07");
  EXPECT_EQ(PeerText("a\r\nb\tc\x7f"), "a\\r\\nb\\tc\\x7f");
  // C1 controls, raw (8-bit CSI) or UTF-8 encoded, and invalid UTF-8.
  EXPECT_EQ(PeerText("\x9b" "2J"), "\\x9b2J");
  EXPECT_EQ(PeerText("\xc2\x9b" "2J"), "\\xc2\\x9b2J");
  EXPECT_EQ(PeerText("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(PeerText(std::string("a\0b", 3)), "a\\x00b");
}

TEST(PeerTextTest, LongTextIsCutAndItsLengthNamed) {
  const std::string shown = PeerText(std::string(4000000, 'x'), 100);
  EXPECT_EQ(shown, std::string(100, 'x') + "... (4000000 bytes)");
  EXPECT_EQ(PeerText(std::string(100, 'x'), 100), std::string(100, 'x'));
}

TEST(PeerTextTest, IsIdempotent) {
  const std::string once = PeerText("\x1b[31mred\x1b[0m\n\\e");
  EXPECT_EQ(PeerText(once), once);
}

TEST(PeerTextTest, PrintableTextIsPrintableAsciiOnly) {
  EXPECT_TRUE(IsPrintableText("stopped by the controller (SIGINT)"));
  EXPECT_TRUE(IsPrintableText(""));
  EXPECT_FALSE(IsPrintableText("a\nb"));
  EXPECT_FALSE(IsPrintableText("\x1b[2J"));
  EXPECT_FALSE(IsPrintableText("\x7f"));
  EXPECT_FALSE(IsPrintableText("é"));
}

}  // namespace
}  // namespace loadtest::protocol
