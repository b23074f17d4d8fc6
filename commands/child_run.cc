#include "commands/child_run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace loadtest::commands {

std::string FlagName(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return "";
  const size_t dashes = arg[1] == '-' ? 2 : 1;
  return arg.substr(dashes, arg.find('=') == std::string::npos
                                ? std::string::npos
                                : arg.find('=') - dashes);
}

int RunChild(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log_path, std::atomic<pid_t>* running,
             const std::string& who) {
  std::vector<std::string> argv_text = {binary};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Made before the fork: the child only calls async-signal-safe functions.
  const std::string cannot_run =
      absl::StrCat(who, ": cannot run ", binary, ": ");
  const int log =
      ::open(log_path.c_str(),
             O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (log < 0) return 127;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The watcher blocked SIGINT/SIGTERM for this process; the run's own
    // watcher must see them.
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    const char* why = std::strerror(errno);
    (void)!::write(STDERR_FILENO, cannot_run.data(), cannot_run.size());
    (void)!::write(STDERR_FILENO, why, std::strlen(why));
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(127);
  }
  ::close(log);
  if (pid < 0) return 127;
  running->store(pid);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  running->store(0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 127;
}

absl::StatusOr<std::string> SelfBinary() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    return absl::FailedPreconditionError(
        "cannot find this binary (/proc/self/exe)");
  }
  return std::string(self, static_cast<size_t>(n));
}

absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  nlohmann::json report =
      nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not JSON"));
  }
  return report;
}

}  // namespace loadtest::commands
