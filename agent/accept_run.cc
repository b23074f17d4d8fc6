#include "agent/accept_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/process_limits.h"
#include "agent/workload.h"
#include "status/status_macros.h"

namespace loadtest::agent {

namespace {

// FailedPrecondition when the database or one of its side files is a
// symbolic link: it would lead outside the data directory.
absl::Status CheckNoSymlinks(const std::string& path) {
  for (const std::string& file :
       {path, path + "-wal", path + "-shm", path + "-journal"}) {
    struct stat st {};
    if (lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          file, " is a symbolic link; the agent keeps its databases inside "
          "its data directory and does not follow links"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int64_t DataDirBytes(const std::string& data_dir) {
  int64_t total = 0;
  DIR* dir = opendir(data_dir.c_str());
  if (dir == nullptr) return 0;
  while (dirent* entry = readdir(dir)) {
    struct stat st {};
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode)) {
      total += st.st_size;
    }
  }
  closedir(dir);
  return total;
}

std::string DataDirOverLimit(int64_t bytes, int64_t max_db_bytes) {
  return absl::StrCat("the data directory reached ", bytes,
                      " bytes, this agent's limit (--max-db-bytes ",
                      max_db_bytes, ")");
}

absl::StatusOr<protocol::RunSpec> AcceptRunSpec(
    const protocol::pb::RunSpec& wire, const RunAcceptance& agent) {
  ASSIGN_OR_RETURN(protocol::RunSpec spec,
                   protocol::FromProto(wire, agent.data_dir));
  RETURN_IF_ERROR(agent.limits.Check(spec, agent.agent_id));
  RETURN_IF_ERROR(CheckRunFits(Workload::WriterThreads(spec.workload),
                               spec.workload.readers, agent.agent_id));
  RETURN_IF_ERROR(CheckNoSymlinks(spec.store.path));
  // And no link planted after that check: the store opens with
  // SQLITE_OPEN_NOFOLLOW (the data directory is canonical).
  spec.store.refuse_symlinks = agent.refuse_symlinks;
  const int64_t max_db_bytes = agent.limits.max_db_bytes;
  if (max_db_bytes > 0) {
    if (const int64_t bytes = DataDirBytes(agent.data_dir);
        bytes >= max_db_bytes) {
      return absl::ResourceExhaustedError(
          DataDirOverLimit(bytes, max_db_bytes));
    }
  }
  return spec;
}

}  // namespace loadtest::agent
