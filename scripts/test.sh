#!/usr/bin/env bash
# The README's second command (and .ci/run): install what is missing, build
# with warnings as errors, run the whole test suite, then the storage and
# stats and agent tests again under AddressSanitizer+UBSan and ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="$(nproc)"
scripts/install-deps.sh test

start=$SECONDS
cmake --preset release -DLOADTEST_WERROR=ON >/dev/null
cmake --build --preset release -j"$jobs"
ctest --preset release -j"$jobs"
echo "test.sh: release suite took $((SECONDS - start))s"

# Sanitizers: the components with threads and shared state. ThreadSanitizer
# skips tests that run inside Debian's gRPC, which is not built for it.
declare -A sanitized_tests=(
  [asan]="storage_test stats_test agent_test agent_service_test"
  [tsan]="storage_test stats_test agent_test"
)
for preset in asan tsan; do
  start=$SECONDS
  cmake --preset "$preset" -DLOADTEST_WERROR=ON >/dev/null
  # shellcheck disable=SC2086
  cmake --build --preset "$preset" -j"$jobs" --target ${sanitized_tests[$preset]}
  ctest --preset "$preset" -j"$jobs" -L "^$preset\$"
  echo "test.sh: $preset suite took $((SECONDS - start))s"
done
