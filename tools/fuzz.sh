#!/usr/bin/env bash
# Runs every fuzz target in the module for a while each (default 3s, as
# .ci/run does; pass e.g. 10m by hand for a real search). Targets are found
# by their `func FuzzX(f *testing.F)` declarations, so a new one is included
# without editing this script. New crashers land in the package's
# testdata/fuzz/FuzzX/ directory: commit them with the fix.
#
#   tools/fuzz.sh [FUZZTIME] [PATTERN]     # PATTERN filters "pkgdir FuzzName" lines
#
# JOBS=N runs N targets at once, each with N-way fewer fuzzing workers
# (-parallel), so that one target's build and start overlap another's
# fuzzing (.ci/run uses 2 on its 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-3s}"
pattern="${2:-.}"
jobs="${JOBS:-1}"
cpus=$(getconf _NPROCESSORS_ONLN)
parallel=$(( cpus / jobs > 0 ? cpus / jobs : 1 ))

# fuzz_one DIR NAME runs one target; its output is shown only if it fails.
fuzz_one() {
  local dir=$1 name=$2 log
  log=$(mktemp)
  echo "-- $dir $name ($fuzztime)"
  for try in 1 2 3; do
    if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -parallel="$parallel" "$dir" >"$log" 2>&1; then
      rm -f "$log"; return 0
    fi
    # Go's fuzz coordinator (go1.26 and older) can fail a target with a bare
    # "context deadline exceeded" when -fuzztime expires while a worker is
    # mid-input (go.dev/issue/75804): no input failed and none was written.
    # Only that exact shape is retried; any written input fails the run.
    if grep -q 'Failing input written to' "$log" || ! grep -q '^    context deadline exceeded$' "$log"; then
      echo "-- $dir $name FAILED:"; cat "$log"; rm -f "$log"; return 1
    fi
    echo "   $dir $name: fuzz coordinator deadline race (go.dev/issue/75804), no failing input; retry $try"
  done
  echo "-- $dir $name FAILED:"; cat "$log"; rm -f "$log"; return 1
}
export -f fuzz_one
export fuzztime parallel

targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
  while read -r file; do
    dir=$(dirname "$file")
    grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | sed "s|^|$dir |"
  done | sort | grep -E -- "$pattern")
if [ "$jobs" -gt 1 ]; then
  # Build each package's instrumented test binary first, one package at a
  # time: targets run side by side would otherwise compile the same
  # instrumented dependencies (the standard library first) twice over on
  # a cold build cache.
  bin=$(mktemp -d)
  trap 'rm -rf "$bin"' EXIT
  for dir in $(echo "$targets" | cut -d' ' -f1 | uniq); do
    go test -c -fuzz=. -o "$bin/fuzz.test" "$dir"
  done
fi
echo "$targets" | xargs -r -P "$jobs" -L 1 bash -c 'fuzz_one "$@"' _
