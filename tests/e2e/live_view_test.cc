// The live view on a real terminal of a known width: a pseudo-terminal this
// test opens (openpty), its window size set with TIOCSWINSZ, the real
// `loadtest` on its other end. Every interval line must stay within the
// width (a wrapped line scrolls the live block apart).
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/subprocess.h"

namespace loadtest {
namespace {

using ::loadtest::testing::TempDir;

// Generous: the run is 3 s; this only keeps a stuck child from hanging the
// suite.
constexpr std::chrono::seconds kDeadline{120};

struct TerminalRun {
  int exit_code = -1;
  std::string screen;  // Every byte the terminal received.
};

// Runs `argv` with stdin, stdout and stderr on a new pseudo-terminal of
// `columns` x 40, and reads what it writes until it exits.
TerminalRun RunOnTerminal(const std::vector<std::string>& argv, int columns) {
  TerminalRun run;
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    ADD_FAILURE() << "openpty failed";
    return run;
  }
  winsize size{};
  size.ws_col = static_cast<unsigned short>(columns);
  size.ws_row = 40;
  EXPECT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    close(master);
    if (slave > 2) close(slave);
    execv(args[0], args.data());
    _exit(127);
  }
  close(slave);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;  // EIO: every holder of the terminal's end is gone.
    run.screen.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (std::chrono::steady_clock::now() >= deadline) {
    ADD_FAILURE() << "loadtest did not end within the deadline";
    kill(pid, SIGKILL);
  }
  waitpid(pid, &status, 0);
  close(master);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The lines as a terminal would show them once written: escape sequences
// (CSI ... letter) removed, and a carriage return starting the line over.
std::vector<std::string> ShownLines(const std::string& screen) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < screen.size(); ++i) {
    const char c = screen[i];
    if (c == '\033' && i + 1 < screen.size() && screen[i + 1] == '[') {
      i += 2;
      while (i < screen.size() && !(screen[i] >= '@' && screen[i] <= '~')) ++i;
      continue;
    }
    if (c == '\r' && i + 1 < screen.size() && screen[i + 1] == '\n') {
      continue;  // The terminal's own CR before each LF (ONLCR).
    }
    if (c == '\r') {
      line.clear();
    } else if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

class LiveViewWidthTest : public ::testing::TestWithParam<int> {};

TEST_P(LiveViewWidthTest, EveryIntervalLineFitsTheTerminal) {
  const int columns = GetParam();
  TempDir dir;
  const TerminalRun run = RunOnTerminal(
      {LOADTEST_BIN, "-db=" + dir.File("live.db"), "-metrics-port=0",
       "-duration=3s", "-log-interval=500ms", "-writers=4", "-readers=2"},
      columns);
  ASSERT_EQ(run.exit_code, 0) << run.screen;
  int intervals = 0;
  const std::vector<std::string> lines = ShownLines(run.screen);
  // No blank screen between the live block and the summary: one empty line
  // before "=== Summary", never a run of them.
  int blank_run = 0;
  for (const std::string& line : lines) {
    if (line.find("=== Summary") != std::string::npos) break;
    blank_run = line.empty() ? blank_run + 1 : 0;
    EXPECT_LE(blank_run, 1) << run.screen;
  }
  for (const std::string& line : lines) {
    // An interval line: "[    1.5s] ...".
    if (line.size() < 10 || line[0] != '[' || line[9] != ']') continue;
    ++intervals;
    EXPECT_LT(line.size(), static_cast<size_t>(columns)) << line;
    EXPECT_THAT(line, ::testing::HasSubstr("/s")) << line;  // writes/s kept.
  }
  EXPECT_GE(intervals, 5) << run.screen;
  EXPECT_THAT(run.screen, ::testing::HasSubstr("=== Summary"));
}

INSTANTIATE_TEST_SUITE_P(Widths, LiveViewWidthTest,
                         ::testing::Values(80, 120, 160),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Columns";
                         });

}  // namespace
}  // namespace loadtest
