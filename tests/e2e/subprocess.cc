#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "gtest/gtest.h"

namespace loadtest::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds Remaining(Clock::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(
                                       deadline - Clock::now()));
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return kNoExitCode;
}

// Runs in the forked child: only async-signal-safe calls until execv.
[[noreturn]] void ExecChild(char* const* args, int stdin_fd, int stdout_fd,
                            int stderr_fd) {
  setpgid(0, 0);
  // A runner started in the background may have left SIGINT ignored or
  // signals blocked; both survive exec and would hide the signals the tests
  // send.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
    sigaction(signal_number, &default_action, nullptr);
  }
  if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(stdout_fd, STDOUT_FILENO) < 0 ||
      dup2(stderr_fd, STDERR_FILENO) < 0) {
    _exit(127);
  }
  execv(args[0], args);
  constexpr char kMessage[] = "subprocess: cannot execute ";
  ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  ignored = write(STDERR_FILENO, args[0], std::strlen(args[0]));
  ignored = write(STDERR_FILENO, "\n", 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

Subprocess::Subprocess(std::vector<std::string> argv)
    : argv_(std::move(argv)) {}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !reaped_) KillAndReap();
  CloseFd(&stdout_fd_);
  CloseFd(&stderr_fd_);
}

bool Subprocess::Start(std::string* error) {
  if (argv_.empty()) {
    *error = "empty argv";
    return false;
  }
  if (pid_ > 0) {
    *error = "already started";
    return false;
  }
  // Everything the child needs is prepared before fork: after it, the child
  // may only make async-signal-safe calls.
  std::vector<char*> args;
  args.reserve(argv_.size() + 1);
  for (const std::string& arg : argv_) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  const int stdin_fd = open(stdin_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (stdin_fd < 0) {
    *error = "cannot open " + stdin_path_ + ": " + std::strerror(errno);
    return false;
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    close(stdin_fd);
    return false;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    close(stdin_fd);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return false;
  }
  const pid_t pid = fork();
  if (pid == 0) ExecChild(args.data(), stdin_fd, out_pipe[1], err_pipe[1]);
  const int fork_errno = errno;
  close(stdin_fd);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    *error = std::string("fork: ") + std::strerror(fork_errno);
    return false;
  }
  // Also set here, so the group exists before the parent might signal it,
  // whichever of the two runs first (fails harmlessly after the exec).
  setpgid(pid, pid);
  pid_ = pid;
  stdout_fd_ = out_pipe[0];
  stderr_fd_ = err_pipe[0];
  return true;
}

bool Subprocess::Pump(milliseconds timeout) {
  pollfd fds[2];
  int* owners[2];
  nfds_t count = 0;
  for (int* fd : {&stdout_fd_, &stderr_fd_}) {
    if (*fd < 0) continue;
    fds[count] = pollfd{*fd, POLLIN, 0};
    owners[count] = fd;
    ++count;
  }
  if (count == 0) return false;
  const int ready = poll(fds, count, static_cast<int>(timeout.count()));
  if (ready <= 0) return true;  // Timed out, or EINTR: the caller loops.
  for (nfds_t i = 0; i < count; ++i) {
    if (fds[i].revents == 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
    if (n > 0) {
      std::string& sink = owners[i] == &stdout_fd_ ? stdout_ : stderr_;
      sink.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      CloseFd(owners[i]);
    }
  }
  return stdout_fd_ >= 0 || stderr_fd_ >= 0;
}

bool Subprocess::WaitForLine(
    const std::function<bool(const std::string&)>& predicate,
    std::chrono::seconds deadline, std::string* line) {
  return WaitForLineIn(stdout_, &stdout_fd_, &line_cursor_, predicate, deadline,
                       line);
}

bool Subprocess::WaitForLine(const std::string& substring,
                             std::chrono::seconds deadline, std::string* line) {
  return WaitForLine(
      [&substring](const std::string& candidate) {
        return candidate.find(substring) != std::string::npos;
      },
      deadline, line);
}

bool Subprocess::WaitForStderrLine(const std::string& substring,
                                   std::chrono::seconds deadline,
                                   std::string* line) {
  return WaitForLineIn(
      stderr_, &stderr_fd_, &stderr_line_cursor_,
      [&substring](const std::string& candidate) {
        return candidate.find(substring) != std::string::npos;
      },
      deadline, line);
}

bool Subprocess::WaitForLineIn(
    const std::string& text, const int* fd, size_t* cursor,
    const std::function<bool(const std::string&)>& predicate,
    std::chrono::seconds deadline, std::string* line) {
  const Clock::time_point until = Clock::now() + deadline;
  size_t scan = *cursor;
  while (true) {
    // Complete lines first; the unterminated tail counts once the pipe closed.
    while (scan < text.size()) {
      const size_t newline = text.find('\n', scan);
      if (newline == std::string::npos && *fd >= 0) break;
      const size_t end = newline == std::string::npos ? text.size() : newline;
      std::string candidate = text.substr(scan, end - scan);
      scan = newline == std::string::npos ? end : newline + 1;
      if (predicate(candidate)) {
        *cursor = scan;
        if (line != nullptr) *line = std::move(candidate);
        return true;
      }
    }
    if (*fd < 0) return false;
    const milliseconds remaining = Remaining(until);
    if (remaining.count() == 0) return false;
    Pump(remaining);
  }
}

void Subprocess::SendSignal(int signal_number) {
  if (pid_ > 0 && !reaped_) kill(pid_, signal_number);
}

int Subprocess::Wait(std::chrono::seconds deadline) {
  if (reaped_) return exit_code_;
  if (pid_ <= 0) {
    ADD_FAILURE() << "Wait() on a process that was not started";
    return kNoExitCode;
  }
  const Clock::time_point until = Clock::now() + deadline;
  // The pipes close when the child exits; draining them also keeps a child
  // that writes a lot at the end from blocking on a full pipe.
  while (Remaining(until).count() > 0 && Pump(Remaining(until))) {
  }
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      exit_code_ = DecodeWaitStatus(status);
      break;
    }
    if (done < 0 && errno != EINTR) {
      ADD_FAILURE() << "waitpid(" << pid_ << "): " << std::strerror(errno);
      reaped_ = true;
      exit_code_ = kNoExitCode;
      break;
    }
    if (Remaining(until).count() == 0) {
      ADD_FAILURE() << argv_.front() << " still running after "
                    << deadline.count() << " s; killed it with SIGKILL";
      KillAndReap();
      exit_code_ = -SIGKILL;
      break;
    }
    // Pipes closed but not yet exited: the exit is imminent, check often.
    poll(nullptr, 0, 5);
  }
  CloseFd(&stdout_fd_);
  CloseFd(&stderr_fd_);
  return exit_code_;
}

void Subprocess::KillAndReap() {
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

ProcessResult RunAndWait(const std::vector<std::string>& argv,
                         const std::string& stdin_path) {
  ProcessResult result;
  Subprocess process(argv);
  process.set_stdin_file(stdin_path);
  std::string error;
  if (!process.Start(&error)) {
    ADD_FAILURE() << "cannot start " << (argv.empty() ? "" : argv.front())
                  << ": " << error;
    return result;
  }
  result.exit_code = process.Wait();
  result.stdout_text = process.stdout_text();
  result.stderr_text = process.stderr_text();
  return result;
}

std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  const std::string dirs = path;
  size_t begin = 0;
  while (begin <= dirs.size()) {
    size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir =
        end == begin ? "." : dirs.substr(begin, end - begin);
    const std::string candidate = dir + "/" + name;
    struct stat info;
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    begin = end + 1;
  }
  return "";
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "loadtest_e2e.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << "): " << std::strerror(errno);
    return;
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(const std::string& name) const {
  return path_ + "/" + name;
}

std::string Describe(const ProcessResult& r) {
  const std::string ending =
      r.exit_code < 0 && r.exit_code != kNoExitCode
          ? "killed by signal " + std::to_string(-r.exit_code)
          : "exit code " + std::to_string(r.exit_code);
  return ending + "\n--- stdout:\n" + r.stdout_text + "--- stderr:\n" +
         r.stderr_text;
}

}  // namespace loadtest::testing
