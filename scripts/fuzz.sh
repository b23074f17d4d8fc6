#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET]: builds the libFuzzer targets of
# fuzz/ (cmake --preset fuzz, in build/fuzz), replays every input kept in
# fuzz/regressions/<name>/ and fuzz/corpus/<name>/ through its target (a
# crash there fails the script at once), then fuzzes each target for
# SECONDS_PER_TARGET (default 60) on a scratch copy of its corpus; the
# repository's corpus is never written. A crash, timeout or out-of-memory
# input is copied into fuzz/regressions/<name>/, to be replayed by every
# later run, and makes the exit code 1.
#
# Needs clang++ and libFuzzer (Debian: clang libclang-rt-14-dev).
# FUZZ_JOBS sets the build's parallelism (default 1).
# Output: one line per target, then `fuzz: all N targets ran, M crashes`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (a positive integer, default 60)" >&2
  exit 2
fi
jobs="${FUZZ_JOBS:-1}"
targets=(flags threshold run_spec run_spec_fields histogram json_line)
bin=build/fuzz/bin
fuzzer_flags=(-timeout=10 -rss_limit_mb=2048)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
runtime="$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a"
if [[ ! -f "$runtime" ]]; then
  echo "fuzz: libFuzzer runtime $runtime not found (Debian: apt-get install libclang-rt-14-dev)" >&2
  exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

start=$SECONDS
if ! cmake --preset fuzz >"$scratch/configure.log" 2>&1; then
  cat "$scratch/configure.log" >&2
  exit 1
fi
cmake --build --preset fuzz -j"$jobs"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"

# Prints the lines of a libFuzzer log that say what went wrong.
failure_summary() {
  grep -E '^(==[0-9]+==ERROR|SUMMARY:|fuzz check failed:|.*runtime error:|ALARM:)' "$1" |
    head -n 4 | sed 's/^/fuzz:   /' || true
}

# 1. Replay: every kept input, each run once.
start=$SECONDS
replayed=0
replay_failed=0
for name in "${targets[@]}"; do
  inputs=()
  for dir in "fuzz/regressions/$name" "fuzz/corpus/$name"; do
    [[ -d "$dir" ]] || continue
    while IFS= read -r -d '' file; do inputs+=("$file"); done \
      < <(find "$dir" -type f ! -name '.*' -print0 | sort -z)
  done
  (( ${#inputs[@]} > 0 )) || continue
  log="$scratch/$name.replay.log"
  if "$bin/${name}_fuzzer" "${fuzzer_flags[@]}" "${inputs[@]}" >"$log" 2>&1; then
    replayed=$((replayed + ${#inputs[@]}))
  else
    replay_failed=1
    echo "fuzz: $name: a kept input fails (log below)"
    failure_summary "$log"
    tail -n 30 "$log" | sed 's/^/  | /'
  fi
done
if (( replay_failed )); then
  echo "fuzz: replay of fuzz/regressions and fuzz/corpus failed"
  exit 1
fi
echo "fuzz: replayed $replayed kept inputs in $((SECONDS - start)) s, no crash"

# 2. Bounded fuzzing, one target after the other.
start=$SECONDS
crashes=0
for name in "${targets[@]}"; do
  work="$scratch/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  for dir in "fuzz/corpus/$name" "fuzz/regressions/$name"; do
    [[ -d "$dir" ]] && find "$dir" -type f ! -name '.*' -exec cp -t "$work/corpus" {} +
  done
  log="$work/fuzz.log"
  status=0
  "$bin/${name}_fuzzer" "${fuzzer_flags[@]}" -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  # The last status line: "#N  REDUCE cov: C ft: F corp: K/S ...".
  cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
    sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
  found=()
  while IFS= read -r -d '' file; do found+=("$file"); done \
    < <(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' \
          -o -name 'oom-*' -o -name 'leak-*' \) -print0)
  if (( status == 0 && ${#found[@]} == 0 )); then
    echo "fuzz: $name: ${runs:-?} runs in ${took:-$seconds} s, no crash${cov:+ ($cov)}"
    continue
  fi
  crashes=$((crashes + 1))
  mkdir -p "fuzz/regressions/$name"
  kept=()
  for file in "${found[@]}"; do
    cp "$file" "fuzz/regressions/$name/"
    kept+=("fuzz/regressions/$name/$(basename "$file")")
  done
  echo "fuzz: $name: CRASHED after ${runs:-?} runs (exit $status): ${kept[*]:-no input saved}"
  failure_summary "$log"
done
echo "fuzz: fuzzed for $((SECONDS - start)) s"
echo "fuzz: all ${#targets[@]} targets ran, $crashes crashes"
(( crashes == 0 ))
