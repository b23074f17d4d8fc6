// run_spec_fields_fuzzer: the agent's RunSpec validation, field by field.
//
// Each field of a wire RunSpec is drawn from the input, most often from the
// values at and around the limits the agent enforces (0, 1, 100ms, 1m,
// 168h, 10000 threads, 100000 rows, the names of the schemas, sync modes,
// batch policies, temp stores and FTS modes, the ends of FTS5's settings,
// plain and non-plain database names),
// otherwise any value of its type; so are the agent's --max-* limits. The
// spec then goes through the same checks as run_spec_fuzzer
// (run_spec_check.h), so most inputs reach the validation of every field and
// the checks on an accepted spec.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "protocol/wire.h"
#include "fuzz/run_spec_check.h"
#include "google/protobuf/stubs/logging.h"

namespace {

constexpr int64_t kMs = 1000 * 1000;
constexpr int64_t kSecond = 1000 * kMs;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();

template <typename T>
T Pick(FuzzedDataProvider& in, std::initializer_list<T> notable) {
  // One time in four any value; otherwise a notable one, or one next to it.
  const uint8_t how = in.ConsumeIntegral<uint8_t>();
  if (how % 4 == 0) return in.ConsumeIntegral<T>();
  const std::vector<T> values(notable);
  T v = values[in.ConsumeIntegralInRange<size_t>(0, values.size() - 1)];
  if (how % 4 == 2 && v != std::numeric_limits<T>::max()) ++v;
  if (how % 4 == 3 && v != std::numeric_limits<T>::min()) --v;
  return v;
}

int64_t PickNs(FuzzedDataProvider& in) {
  return Pick<int64_t>(
      in, {0, 1, 100 * kMs, kSecond, 5 * kSecond, 60 * kSecond, 168 * kHour,
           kInt64Max, kInt64Min, kInt64Max - 10 * kSecond});
}

int32_t PickCount(FuzzedDataProvider& in) {
  return Pick<int32_t>(
      in, {0, 1, 10, 100, 10000, 100000, 10000000, kInt32Max, kInt32Min});
}

int32_t PickFtsSetting(FuzzedDataProvider& in) {
  return Pick<int32_t>(in, {-1, 0, 2, 32, 64, 1999, 65536, kInt32Max, kInt32Min});
}

double PickRate(FuzzedDataProvider& in) {
  const uint8_t how = in.ConsumeIntegral<uint8_t>();
  switch (how % 8) {
    case 0:
      return in.ConsumeFloatingPoint<double>();
    case 1:
      return in.ConsumeProbability<double>() * 1e7;
    case 2:
      return std::numeric_limits<double>::quiet_NaN();
    case 3:
      return std::numeric_limits<double>::infinity();
    case 4:
      return std::numeric_limits<double>::denorm_min();
    case 5:
      return 1e-300;
    case 6:
      return 1e7;
    default:
      return 0;
  }
}

std::string PickName(FuzzedDataProvider& in,
                     std::initializer_list<const char*> known) {
  const std::vector<const char*> names(known);
  const size_t i = in.ConsumeIntegralInRange<size_t>(0, names.size());
  if (i < names.size()) return names[i];
  return in.ConsumeRandomLengthString(16);
}

std::string PickDbName(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      return "";
    case 1:
      return ".";
    case 2:
      return "..";
    case 3:
      return "../etc/passwd";
    case 4:
      return std::string("a\0b", 3);
    case 5:
      return std::string(255, 'd');
    case 6:
      return std::string(256, 'd');
    case 7:
      return in.ConsumeRandomLengthString(300);
    default:
      return "loadtest.db";
  }
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8 it refuses to parse:
// noise at a million inputs a minute.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  loadtest::protocol::pb::RunSpec wire;
  wire.set_run_id(in.ConsumeRandomLengthString(24));
  wire.set_db_name(PickDbName(in));
  wire.set_duration_ns(PickNs(in));
  wire.set_log_interval_ns(PickNs(in));
  wire.set_start_after_ns(PickNs(in));
  wire.set_schema(PickName(in, {"full", "lean"}));
  wire.set_sync(PickName(in, {"off", "normal", "full"}));
  wire.set_batch_policy(PickName(in, {"group", "linger"}));
  wire.set_fresh(in.ConsumeBool());
  wire.set_batch_size(PickCount(in));
  wire.set_batch_timeout_ns(PickNs(in));
  wire.set_queue_size(PickCount(in));
  wire.set_write_timeout_ns(PickNs(in));
  wire.set_writers(PickCount(in));
  wire.set_readers(PickCount(in));
  wire.set_write_delay_ns(PickNs(in));
  wire.set_read_delay_ns(PickNs(in));
  wire.set_write_rate(PickRate(in));
  wire.set_read_rate(PickRate(in));
  wire.set_seed(in.ConsumeIntegral<uint64_t>());
  // The agent's limits, as its status announces them; 0 or below: none.
  loadtest::protocol::pb::AgentLimits limits;
  limits.set_max_writers(PickCount(in));
  limits.set_max_readers(PickCount(in));
  limits.set_max_duration_ns(PickNs(in));
  limits.set_max_db_bytes(in.ConsumeIntegral<int64_t>());
  // Drawn last, so that the corpus's earlier fields read as before.
  wire.set_temp_store(PickName(in, {"memory", "file", ""}));
  wire.set_fts_sync(PickName(in, {"trigger", "batch", ""}));
  // Each FTS5 setting absent or a value at or around its range's ends.
  if (in.ConsumeBool()) wire.set_fts_automerge(PickFtsSetting(in));
  if (in.ConsumeBool()) wire.set_fts_crisismerge(PickFtsSetting(in));
  if (in.ConsumeBool()) wire.set_fts_pgsz(PickFtsSetting(in));
  loadtest::fuzz::CheckAgentValidation(wire, limits);
  return 0;
}
