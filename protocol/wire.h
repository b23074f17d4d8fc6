// The agent's plain types (RunSpec, IntervalUpdate, RunAudit) in their wire
// form (proto/loadtest.proto), and the one place where gRPC and absl status
// codes are converted. Pure functions; safe from any thread.
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

// The store's database inside the agent's data directory: `db_name` must be
// a plain file name (no '/', not "." or "..", not empty, at most 255 bytes).
// InvalidArgument naming the name otherwise.
absl::StatusOr<std::string> DatabasePath(const std::string& data_dir,
                                         const std::string& db_name);

// Fills every RunSpec field of the wire message except db_name and
// start_after_ns (the controller's business).
void ToProto(const RunSpec& spec, pb::RunSpec* out);
// Builds and validates the agent's RunSpec from the wire, with the database
// resolved inside `data_dir`. InvalidArgument naming the field and value.
absl::StatusOr<RunSpec> FromProto(const pb::RunSpec& spec,
                                  const std::string& data_dir);

void ToProto(const IntervalUpdate& update, pb::RunUpdate* out);
// InvalidArgument when the update is malformed: a bad histogram, a sequence
// below 1, a negative count or one beyond what an agent can count in one
// update (2^43).
absl::StatusOr<IntervalUpdate> FromProto(const pb::RunUpdate& update);

// The limits an agent announces in its AgentStatus.
AgentLimits LimitsFromProto(const pb::AgentLimits& limits);

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_WIRE_H_
