// run_spec_fuzzer: the RunSpec an agent receives, as raw wire bytes.
//
// The input is parsed as a wire RunSpec (proto/loadtest.proto) and, when it
// parses, validated as AgentService::Run validates it before accepting a
// run; run_spec_check.h lists what must hold of the answer. Most random
// bytes do not make a valid spec; run_spec_fields_fuzzer draws each field
// from the input instead, to reach the checks after parsing more often.
#include <cstddef>
#include <cstdint>

#include "agent/wire.h"
#include "fuzz/run_spec_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loadtest::agent::pb::RunSpec wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  loadtest::fuzz::CheckAgentValidation(wire);
  return 0;
}
