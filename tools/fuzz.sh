#!/usr/bin/env bash
# Runs every fuzz target in the module for a while each (default 3s, as
# .ci/run does; pass e.g. 10m by hand for a real search). Targets are found
# by their `func FuzzX(f *testing.F)` declarations, so a new one is included
# without editing this script. New crashers land in the package's
# testdata/fuzz/FuzzX/ directory: commit them with the fix.
#
#   tools/fuzz.sh [FUZZTIME] [PATTERN]     # PATTERN filters "pkgdir FuzzName" lines
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-3s}"
pattern="${2:-.}"
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
  while read -r file; do
    dir=$(dirname "$file")
    grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | sed "s|^|$dir |"
  done | sort | grep -E -- "$pattern" |
  while read -r dir name; do
    echo "-- $dir $name ($fuzztime)"
    go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir" >/tmp/zerfoo-fuzz.$$ 2>&1 || {
      cat /tmp/zerfoo-fuzz.$$; rm -f /tmp/zerfoo-fuzz.$$; exit 1; }
  done
rm -f /tmp/zerfoo-fuzz.$$
