#!/usr/bin/env bash
# The README's second command (and .ci/run): install what is missing, build
# with warnings as errors, run the whole test suite (ctest), then the storage,
# stats, agent and controller tests again under AddressSanitizer+UBSan and
# the storage, stats and agent tests under ThreadSanitizer, then every
# libFuzzer target (scripts/fuzz.sh: kept inputs replayed, then 60 s of
# fuzzing each). Ends with one line counting every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="$(nproc)"
scripts/install-deps.sh test
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

start=$SECONDS
cmake --preset release -DLOADTEST_WERROR=ON >/dev/null
cmake --build --preset release -j"$jobs"
ctest --preset release -j"$jobs" | tee "$log"
passed=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")
echo "test.sh: release suite: ${passed:-0} tests in $((SECONDS - start))s"

# Sanitizers: the components with threads and shared state, each test
# executable run whole. ThreadSanitizer skips agent_service_test: Debian's
# gRPC is not built for it, and its reports inside gRPC are noise.
declare -A sanitized_tests=(
  [asan]="storage_test stats_test agent_test agent_service_test report_test controller_test commands_test"
  [tsan]="storage_test stats_test agent_test"
)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
total=${passed:-0}
for preset in asan tsan; do
  start=$SECONDS
  cmake --preset "$preset" -DLOADTEST_WERROR=ON >/dev/null
  # shellcheck disable=SC2086
  cmake --build --preset "$preset" -j"$jobs" --target ${sanitized_tests[$preset]}
  count=0
  for test in ${sanitized_tests[$preset]}; do
    "build/$preset/bin/$test" --gtest_brief=1 | tee "$log"
    n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$log")
    if [[ -z "$n" || "$n" -eq 0 ]]; then
      echo "test.sh: $preset: $test ran no test" >&2
      exit 1
    fi
    count=$((count + n))
  done
  echo "test.sh: $preset suite: $count tests in $((SECONDS - start))s"
  total=$((total + count))
done
start=$SECONDS
FUZZ_JOBS="$jobs" scripts/fuzz.sh "${FUZZ_SECONDS:-60}" | tee "$log"
targets=$(sed -n 's/^fuzz: all \([0-9]*\) targets ran, 0 crashes$/\1/p' "$log")
if [[ -z "$targets" ]]; then
  echo "test.sh: fuzz: no clean end line" >&2
  exit 1
fi
echo "test.sh: fuzz: $targets targets in $((SECONDS - start))s"
echo "all: $total passed, 0 failed; fuzz: $targets targets, 0 crashes"
