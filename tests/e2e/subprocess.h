// Test utilities for end-to-end tests that run a real program as a child
// process: Subprocess (start, read its output with deadlines, signal, reap),
// RunAndWait (run to completion), FindProgram (look a name up on PATH) and
// TempDir (a scratch directory removed with everything in it).
//
// Thread-safety: none of these objects may be used from two threads at once;
// each belongs to the test that made it.
#ifndef LOADTEST_TESTS_E2E_SUBPROCESS_H_
#define LOADTEST_TESTS_E2E_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace loadtest::testing {

// How long Wait() and RunAndWait() give a child before killing it: far more
// than any run the tests start, so it only catches a hung process.
inline constexpr std::chrono::seconds kExitDeadline{180};

// The exit code reported when there is none: the process could not be
// started, or could not be reaped.
inline constexpr int kNoExitCode = -1000;

// One child process: argv[0] is the program's path (execv, no PATH search),
// stdin is /dev/null (or the file given to set_stdin_file), stdout and stderr
// are captured through pipes, and the child leads its own process group so
// that killing it cannot reach the test runner. Both pipes are drained
// together, so a chatty stderr cannot block the child while the test waits
// for a line on stdout.
//
// Thread-safety: one thread at a time.
class Subprocess {
 public:
  explicit Subprocess(std::vector<std::string> argv);
  // Kills (SIGKILL to the process group) and reaps a child still running.
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Makes the child read its stdin from `path` instead of /dev/null. Call
  // before Start().
  void set_stdin_file(std::string path) { stdin_path_ = std::move(path); }

  // Forks and execs the program. Returns false, with a description in
  // *error, if the pipes or the fork failed. A program that cannot be
  // executed shows as exit code 127 with the reason on its stderr.
  bool Start(std::string* error);

  // Reads stdout until a complete line after the last line this returned
  // satisfies `predicate`, and stores it (without its newline) in *line if
  // `line` is not null. Returns false if `deadline` passes or stdout closes
  // first. Everything read stays available through stdout_text().
  bool WaitForLine(const std::function<bool(const std::string&)>& predicate,
                   std::chrono::seconds deadline, std::string* line);
  // The same, for the first such line containing `substring`.
  bool WaitForLine(const std::string& substring, std::chrono::seconds deadline,
                   std::string* line);
  // The same on stderr (with its own cursor): the first complete line after
  // the last one this returned that contains `substring`.
  bool WaitForStderrLine(const std::string& substring,
                         std::chrono::seconds deadline, std::string* line);

  // Sends `signal_number` to the child (not to its group).
  void SendSignal(int signal_number);

  // Reads the rest of stdout and stderr and reaps the child. Returns its exit
  // code (0..255), or minus the signal number if a signal ended it (so a
  // program killed by SIGINT, -2, is told apart from one that handled it and
  // exited with 130). If `deadline` passes first, kills the child with
  // SIGKILL, records a test failure and returns -9. Calling it again returns
  // the same result.
  int Wait(std::chrono::seconds deadline = kExitDeadline);

  // Everything the child wrote to stdout / stderr so far.
  const std::string& stdout_text() const { return stdout_; }
  const std::string& stderr_text() const { return stderr_; }

  pid_t pid() const { return pid_; }

 private:
  // Reads what is available on the open pipes, waiting at most `timeout`
  // for something to arrive. Returns false once both pipes are closed.
  bool Pump(std::chrono::milliseconds timeout);
  // WaitForLine on `text` (stdout_ or stderr_), whose pipe is *fd, starting
  // at *cursor and moving it past the line returned.
  bool WaitForLineIn(const std::string& text, const int* fd, size_t* cursor,
                     const std::function<bool(const std::string&)>& predicate,
                     std::chrono::seconds deadline, std::string* line);
  void KillAndReap();

  const std::vector<std::string> argv_;
  std::string stdin_path_ = "/dev/null";
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_;
  std::string stderr_;
  size_t line_cursor_ = 0;  // Start of the first line WaitForLine may return.
  size_t stderr_line_cursor_ = 0;  // The same for WaitForStderrLine.
  bool reaped_ = false;
  int exit_code_ = kNoExitCode;
};

struct ProcessResult {
  int exit_code = kNoExitCode;  // Else as Subprocess::Wait() returns it.
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv (argv[0] a path) to completion with stdin from `stdin_path`.
// A child that outlives kExitDeadline is killed and the test fails.
ProcessResult RunAndWait(const std::vector<std::string>& argv,
                         const std::string& stdin_path = "/dev/null");

// "exit code N" (or "killed by signal N") and both outputs, for a failure
// message.
std::string Describe(const ProcessResult& result);

// The full path of an executable `name` found on PATH, or "" if none.
std::string FindProgram(const std::string& name);

// A fresh directory under the system's temp directory, removed with all its
// contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty if the directory could not be created (a test failure is recorded).
  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_E2E_SUBPROCESS_H_
