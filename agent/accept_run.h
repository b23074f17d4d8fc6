// AcceptRunSpec: everything an agent checks of a wire RunSpec before it
// accepts the run, in one function that AgentService::Run calls and that
// the RunSpec fuzzers drive. It exists so that the service, its tests and
// the fuzzers judge a spec by one code path.
//
// Reads the file system (the data directory, the database's side files) and
// this process's limits (agent/process_limits.h); safe from any thread.
#ifndef LOADTEST_AGENT_ACCEPT_RUN_H_
#define LOADTEST_AGENT_ACCEPT_RUN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "protocol/run_spec.h"
#include "protocol/wire.h"

namespace loadtest::agent {

// The agent a spec is checked for.
struct RunAcceptance {
  // Where the agent keeps its databases (canonical with refuse_symlinks).
  std::string data_dir;
  protocol::AgentLimits limits;
  std::string agent_id;  // Named in refusals.
  // Copied into the accepted spec's store.refuse_symlinks
  // (AgentServiceOptions::refuse_symlinks says why).
  bool refuse_symlinks = true;
};

// The RunSpec the agent runs for `wire`, or why it refuses it, checked in
// this order:
//   INVALID_ARGUMENT    a field out of range or a db_name that is not a
//                       plain file name (protocol::FromProto);
//   PERMISSION_DENIED   over one of the agent's --max-writers,
//                       --max-readers, --max-duration (AgentLimits::Check);
//   RESOURCE_EXHAUSTED  its threads or readers' connections do not fit
//                       this process's limits (CheckRunFits);
//   FAILED_PRECONDITION the database or one of its side files is a
//                       symbolic link;
//   RESOURCE_EXHAUSTED  the data directory already holds --max-db-bytes.
absl::StatusOr<protocol::RunSpec> AcceptRunSpec(
    const protocol::pb::RunSpec& wire, const RunAcceptance& agent);

// The regular files directly in `data_dir` (databases, and their WAL and
// journal while they exist), in bytes; symbolic links are not followed.
int64_t DataDirBytes(const std::string& data_dir);

// Why a run stops or is refused when its data directory holds `bytes` of
// at most `max_db_bytes` (--max-db-bytes).
std::string DataDirOverLimit(int64_t bytes, int64_t max_db_bytes);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_ACCEPT_RUN_H_
