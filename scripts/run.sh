#!/usr/bin/env bash
# The README's first command: install what is missing, build (release), and
# run the main job on its embedded default. Extra arguments go to the job.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"

if [[ -x build/bin/loadtest ]]; then
  exec build/bin/loadtest "$@"
fi
# Until the loadtest CLI exists, the main job is the store benchmark.
exec build/bin/store_bench "$@"
