#!/usr/bin/env bash
# bench_compare.sh runs `zerfoo bench matmulnbits` and ONNX Runtime's
# MatMulNBits (tools/ort/bench_matmulnbits.mjs) back to back on the same
# shapes, thread counts and accuracy levels, and prints a Markdown table with
# each pair and the ratio zerfoo/ORT (> 1 means zerfoo is faster).
#
#   tools/bench_compare.sh                 # the issue-6 matrix (bits 4, no zero points)
#   SHAPES="4096x4096" MS="1" THREADS="2" LEVELS="4" BLOCKS="32" tools/bench_compare.sh
#
# Each pair is measured REPEAT times (default 2), alternating zerfoo and ORT;
# for each side the table keeps the best median (GFLOP/s of the median
# repetition) and the best single repetition. On a shared machine the best
# repetition is the closest estimate of unloaded speed.
#
# Variables: SHAPES (KxN list), MS, THREADS, LEVELS, BLOCKS, BITS (default 4),
# MIN_TIME_MS (per measurement, default 500), REPEAT, ZP=1 for random zero
# points, COLD=1 for cold caches. Needs Go and Node ≥ 20 with tools/ort/node_modules (cd tools/ort &&
# npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPES=${SHAPES:-"1152x6912 2560x10240 4096x4096 4096x14336"}
MS=${MS:-"1 128"}
THREADS=${THREADS:-"1 2"}
LEVELS=${LEVELS:-"0 4"}
BLOCKS=${BLOCKS:-"32 128"}
BITS=${BITS:-4}
MIN_TIME_MS=${MIN_TIME_MS:-500}
REPEAT=${REPEAT:-2}
zpflag=""
[[ "${ZP:-0}" == 1 ]] && zpflag="--zero-points"
# COLD=1 reads 64 MiB before every repetition on both sides (untimed): the
# weights start evicted from the caches, as in a decoder.
coldflag=""
[[ "${COLD:-0}" == 1 ]] && coldflag="--cold"

bin=$(mktemp -d)/zerfoo
env -u GODEBUG go build -o "$bin" ./cmd/zerfoo # GODEBUG is for the runs (see tools/llamacpp/bench_mixes.sh)
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
maxf() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }

echo "| K×N | M | threads | level | bs | zerfoo median | ORT median | ratio | zerfoo best | ORT best | ratio | zerfoo GB/s | ORT GB/s |"
echo "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for shape in $SHAPES; do
  k=${shape%x*}; n=${shape#*x}
  for m in $MS; do for t in $THREADS; do for l in $LEVELS; do for bs in $BLOCKS; do
    args="--m $m --k $k --n $n --bits $BITS --block-size $bs --threads $t --accuracy-level $l $zpflag $coldflag --json"
    zg=0; og=0; zB=0; oB=0; zb=0; ob=0
    for _ in $(seq "$REPEAT"); do
      z=$("$bin" bench matmulnbits $args --min-time "${MIN_TIME_MS}ms")
      o=$(cd tools/ort && node bench_matmulnbits.mjs $args --min-time-ms "$MIN_TIME_MS")
      zg=$(maxf "$zg" "$(echo "$z" | field gflops)"); og=$(maxf "$og" "$(echo "$o" | field gflops)")
      zB=$(maxf "$zB" "$(echo "$z" | field best_gflops)"); oB=$(maxf "$oB" "$(echo "$o" | field best_gflops)")
      zb=$(maxf "$zb" "$(echo "$z" | field gbps)"); ob=$(maxf "$ob" "$(echo "$o" | field gbps)")
    done
    awk -v k="$k" -v n="$n" -v m="$m" -v t="$t" -v l="$l" -v bs="$bs" -v zg="$zg" -v og="$og" -v zB="$zB" -v oB="$oB" -v zb="$zb" -v ob="$ob" \
      'BEGIN { printf "| %s×%s | %s | %s | %s | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f | %.1f |\n", k, n, m, t, l, bs, zg, og, zg/og, zB, oB, zB/oB, zb, ob }'
  done; done; done; done
done
