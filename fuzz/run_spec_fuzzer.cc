// run_spec_fuzzer: the RunSpec an agent receives, as raw wire bytes.
//
// The input is parsed as a wire RunSpec (proto/loadtest.proto) and, when it
// parses, goes through agent::AcceptRunSpec, the checks AgentService::Run
// makes before accepting a run, by an agent with limits; run_spec_check.h
// lists what must hold of the answer. Most random bytes do not make a valid
// spec; run_spec_fields_fuzzer draws each field from the input instead, to
// reach the checks after parsing more often.
#include <cstddef>
#include <cstdint>

#include "protocol/wire.h"
#include "fuzz/run_spec_check.h"
#include "google/protobuf/stubs/logging.h"

// Protobuf logs every string field with invalid UTF-8 it refuses to parse:
// noise at a million inputs a minute.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loadtest::protocol::pb::RunSpec wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  // An agent started with --max-writers=50 --max-readers=20
  // --max-duration=1h.
  loadtest::protocol::pb::AgentLimits limits;
  limits.set_max_writers(50);
  limits.set_max_readers(20);
  limits.set_max_duration_ns(int64_t{3600} * 1000 * 1000 * 1000);
  loadtest::fuzz::CheckAgentValidation(wire, limits);
  return 0;
}
