#!/usr/bin/env bash
# The README's first command: install what is missing, build (release), and
# run the main job, `loadtest`, on its embedded default. Extra arguments go to
# loadtest (e.g. scripts/run.sh --scenario=burst --duration=20s).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
exec build/bin/loadtest "$@"
