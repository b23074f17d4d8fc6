#!/usr/bin/env bash
# Installs the Debian bookworm packages OpenTrail Load needs, only those that
# are missing. Usage: scripts/install-deps.sh [build|test]
#   build: compiler, CMake and the libraries (enough to build and run)
#   test:  build + the real servers and tools the test suite drives
set -euo pipefail

mode="${1:-build}"
build_packages=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libabsl-dev libsqlite3-dev libgtest-dev libgmock-dev
  libbenchmark-dev nlohmann-json3-dev libgoogle-perftools-dev
)
# libgoogle-perftools-dev: tcmalloc_minimal, the allocator the store's
# executables link (CMakeLists.txt, LOADTEST_TCMALLOC).
# docker-compose and python3-yaml: tests/deploy checks deploy/ with them
# (docker-compose already pulls python3-yaml in; named for the YAML checks).
# chromium and python3: tests/browser/check_report.py opens the HTML report
# in headless Chromium over the DevTools pipe. openssl: the TLS tests make
# their certificates. clang and libclang-rt-14-dev: libFuzzer
# (scripts/fuzz.sh). util-linux (script, setpriv, unshare) is essential.
# docker.io (dockerd and the docker client) and mmdebstrap: tests/compose
# runs deploy/ under a real Docker engine, on Debian base images that
# mmdebstrap makes from the Debian package registry.
test_packages=(prometheus sqlite3 curl procps docker-compose python3-yaml
  python3 chromium openssl clang libclang-rt-14-dev util-linux docker.io
  mmdebstrap)

packages=("${build_packages[@]}")
if [[ "$mode" == "test" ]]; then
  packages+=("${test_packages[@]}")
elif [[ "$mode" != "build" ]]; then
  echo "usage: $0 [build|test]" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
