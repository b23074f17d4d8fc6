// The agent's plain types (RunSpec, IntervalUpdate, RunAudit) in their wire
// form (proto/loadtest.proto), gRPC and absl status codes converted one to
// the other (agent_client.cc also maps a failed call's code to what the
// controller does with it), and the connection's keepalive figures. Pure
// functions; safe from any thread.
#ifndef LOADTEST_PROTOCOL_WIRE_H_
#define LOADTEST_PROTOCOL_WIRE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/run_spec.h"
#include "grpcpp/support/status.h"
#include "proto/loadtest.pb.h"

namespace loadtest::protocol {

namespace pb = ::opentrail::loadtest::v1;

// Keepalive on both ends of a controller-agent connection: a ping every
// second, also between updates (an agent sends nothing for a whole log
// interval), and the connection is given up 10 s after an unanswered ping.
// So a cut-off agent or controller is noticed within about 11 s. The
// timeout is not shorter because a host whose cores are saturated (the
// store under load, or 500 fake agents on 2 cores) answers pings late: at
// 1 s, a starved fleet lost 400 agents at once. An agent that answers pings
// but sends no update is the controller's update watchdog's to catch
// (2 x log-interval + 2 s; 12 s at the default 5 s interval).
inline constexpr int kKeepalivePingMs = 1000;
inline constexpr int kKeepaliveTimeoutMs = 10000;

// SQLite's side files of database NAME: NAME-wal, NAME-shm, NAME-journal.
inline constexpr const char* kSideFileSuffixes[] = {"-wal", "-shm",
                                                    "-journal"};
// The longest database name: with "-journal" it is still a 255-byte name.
inline constexpr size_t kMaxDbNameBytes = 255 - 8;

// The store's database inside the agent's data directory: `db_name` must be
// a plain file name of printable ASCII (no '/', not "." or "..", not
// empty, at most kMaxDbNameBytes), not ending in a side-file suffix.
// InvalidArgument naming the name (escaped) otherwise.
absl::StatusOr<std::string> DatabasePath(const std::string& data_dir,
                                         const std::string& db_name);

// Fills every RunSpec field of the wire message except db_name and
// start_after_ns (the controller's business).
void ToProto(const RunSpec& spec, pb::RunSpec* out);
// Builds and validates the agent's RunSpec from the wire, with the database
// resolved inside `data_dir`. InvalidArgument naming the field and value
// (also a run_id beyond 128 bytes or with a non-printable character).
absl::StatusOr<RunSpec> FromProto(const pb::RunSpec& spec,
                                  const std::string& data_dir);

void ToProto(const IntervalUpdate& update, pb::RunUpdate* out);
// InvalidArgument when the update is malformed: a bad histogram (also a
// bucket count beyond 2^43), a sequence below 1, a negative count or one
// beyond what an agent can count in one update (2^43), interval times that
// are not finite or not 0 <= start <= end <= 192h. Strings are kept as
// sent: show them with PeerText (protocol/peer_text.h).
absl::StatusOr<IntervalUpdate> FromProto(const pb::RunUpdate& update);

// The limits an agent announces in its AgentStatus.
AgentLimits LimitsFromProto(const pb::AgentLimits& limits);

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_WIRE_H_
