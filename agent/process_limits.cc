#include "agent/process_limits.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace loadtest::agent {
namespace {

// The "Threads:" line of /proc/self/status, or 1.
int64_t ThreadsInUse() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Threads:")) {
      int64_t n = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &n)) {
        return n;
      }
    }
  }
  return 1;
}

int64_t FdsInUse() {
  int64_t n = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    closedir(dir);
  }
  return n;
}

// The first line of `path` as a number; false when missing or "max".
bool ReadNumber(const std::string& path, int64_t* value) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return false;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), value);
}

// The cgroup v2 directory of this process ("/sys/fs/cgroup/system.slice/x"),
// or "" when it cannot be read.
std::string CgroupDir() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "0::")) {
      return absl::StrCat("/sys/fs/cgroup", line.substr(3));
    }
  }
  return "";
}

void Narrow(Headroom* headroom, int64_t available, std::string limit) {
  available = std::max<int64_t>(0, available);
  if (headroom->available < 0 || available < headroom->available) {
    headroom->available = available;
    headroom->limit = std::move(limit);
  }
}

}  // namespace

Headroom ThreadHeadroom() {
  Headroom headroom;
  rlimit nproc{};
  const int64_t threads = ThreadsInUse();
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY) {
    // The limit counts every thread of the user; this process's own are
    // the part known here (others only make the start fail later, which
    // Workload::Start reports as RESOURCE_EXHAUSTED too).
    const auto limit = static_cast<int64_t>(nproc.rlim_cur);
    Narrow(&headroom, limit - threads - kReservedThreads,
           absl::StrCat("RLIMIT_NPROC ", limit, " of this user, ", threads,
                        " threads in use"));
  }
  const std::string cgroup = CgroupDir();
  int64_t max = 0, current = 0;
  if (!cgroup.empty() && ReadNumber(cgroup + "/pids.max", &max) &&
      ReadNumber(cgroup + "/pids.current", &current)) {
    Narrow(&headroom, max - current - kReservedThreads,
           absl::StrCat("the cgroup's pids.max ", max, ", ", current,
                        " in use"));
  }
  return headroom;
}

Headroom FdHeadroom() {
  Headroom headroom;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur != RLIM_INFINITY) {
    const auto limit = static_cast<int64_t>(nofile.rlim_cur);
    const int64_t open = FdsInUse();
    Narrow(&headroom, limit - open - kReservedFds,
           absl::StrCat("RLIMIT_NOFILE ", limit, ", ", open, " open"));
  }
  return headroom;
}

absl::Status CheckRunFits(int writer_threads, int readers,
                          const std::string& agent_id) {
  // The store's batch writer thread besides the workload's.
  const int64_t threads = int64_t{writer_threads} + readers + 1;
  const Headroom thread_room = ThreadHeadroom();
  if (thread_room.available >= 0 && threads > thread_room.available) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the run needs ", threads, " threads (", writer_threads,
        " writer threads, ",
        readers, " readers, the store's writer); agent ", agent_id,
        " can start ", thread_room.available, " more (", thread_room.limit,
        ")"));
  }
  const int64_t fds = int64_t{readers} * kFdsPerReader;
  const Headroom fd_room = FdHeadroom();
  if (fd_room.available >= 0 && fds > fd_room.available) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the run's ", readers, " readers need ", fds,
        " file descriptors (a database connection each); agent ", agent_id,
        " can open ", fd_room.available, " more (", fd_room.limit, ")"));
  }
  return absl::OkStatus();
}

int64_t RaiseFileLimit() {
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return -1;
  if (nofile.rlim_cur < nofile.rlim_max) {
    rlimit raised = nofile;
    raised.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  }
  return nofile.rlim_cur == RLIM_INFINITY
             ? -1
             : static_cast<int64_t>(nofile.rlim_cur);
}

}  // namespace loadtest::agent
