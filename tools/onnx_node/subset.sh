#!/bin/sh
# subset.sh: refreshes onnx/exec/testdata/node, the node tests CI runs, with
# every test of a full suite that passes in Zerfoo and is small: at most
# MAX_TEST bytes (default 16384) on disk, at most MAX_TOTAL bytes in all
# (default 2097152, smallest tests first when over).
#
#   tools/onnx_node/subset.sh [SUITEDIR]   # default /tmp/onnx-node/node
#
# SUITEDIR is what generate.sh wrote (OUTDIR/node). Run it from anywhere in
# the repository; it replaces testdata/node entirely, then runs the
# committed subset once to check that every test in it passes.
set -eu
suite=${1:-/tmp/onnx-node/node}
max_test=${MAX_TEST:-16384}
max_total=${MAX_TOTAL:-2097152}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
dest=$root/onnx/exec/testdata/node
report=$(mktemp)
trap 'rm -f "$report" "$report.sizes"' EXIT

cd "$root"
ZERFOO_ONNX_NODE_DIR=$suite ZERFOO_ONNX_NODE_REPORT=$report \
	go test ./onnx/exec -run '^TestNodeSuite$' -count=1 >/dev/null || true
head -1 "$report"

# "test<TAB>pass<TAB>..." lines → "bytes test" for the small ones.
awk -F '\t' '$2 == "pass" { print $1 }' "$report" | while read -r t; do
	size=$(find "$suite/$t" -type f -printf "%s\n" | awk "{ s += \$1 } END { print s }")
	[ "$size" -le "$max_test" ] && echo "$size $t"
done | sort -n >"$report.sizes"

rm -rf "$dest"
mkdir -p "$dest"
total=0
n=0
while read -r size t; do
	[ $((total + size)) -gt "$max_total" ] && break
	cp -r "$suite/$t" "$dest/$t"
	total=$((total + size))
	n=$((n + 1))
done <"$report.sizes"
echo "subset.sh: $n tests, $total bytes in $dest"
go test ./onnx/exec -run '^TestNodeSuite$' -count=1
