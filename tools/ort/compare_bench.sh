#!/usr/bin/env bash
# Times one ONNX model with `zerfoo onnx bench` and with ONNX Runtime
# (bench_model.mjs) on the same inputs, one after the other for each thread
# count, and prints a Markdown table row per thread count with the median
# latencies and the speed ratio (ORT p50 ÷ Zerfoo p50: above 1, Zerfoo is
# faster), and the same ratio of the CPU time per run (at one thread the work
# done, which a busy machine disturbs less than latency; at more threads it
# counts every thread's time, spinning included). Extra arguments go to
# zerfoo onnx bench (--input, --dim).
#
#   tools/ort/compare_bench.sh MODEL.onnx [THREADS...] [-- ZERFOO_ARGS...]
#   RUNS=50 tools/ort/compare_bench.sh model.onnx 1 2 -- --dim batch=8
#
# Needs `npm ci` in tools/ort and Node ≥ 20.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="${1:?usage: compare_bench.sh MODEL.onnx [THREADS...] [-- ZERFOO_ARGS...]}"
shift
threads=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do threads+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#threads[@]} -eq 0 ] && threads=(1)
runs="${RUNS:-20}"
warmup="${WARMUP:-3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && env -u GODEBUG go build -o "$tmp/zerfoo" ./cmd/zerfoo)
echo "| model | threads | Zerfoo p50 ms | ORT p50 ms | Zerfoo p90 ms | ORT p90 ms | speed ÷ ORT | Zerfoo CPU ms/run | ORT CPU ms/run | CPU ÷ ORT |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in "${threads[@]}"; do
  z=$("$tmp/zerfoo" onnx bench "$model" --threads "$t" --runs "$runs" --warmup "$warmup" \
      --save-inputs "$tmp/in" --json "$@")
  o=$(node "$here/bench_model.mjs" "$model" "$tmp/in" --threads "$t" --runs "$runs" --warmup "$warmup")
  node -e '
    const [z, o, m, t] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), process.argv[3], process.argv[4]];
    const f = (x) => x.toFixed(3);
    const c = (x) => (x === undefined ? "n/a" : f(x));
    const cr = z.cpu_ms && o.cpu_ms ? `${(o.cpu_ms / z.cpu_ms).toFixed(2)}×` : "n/a";
    console.log(`| ${m} | ${t} | ${f(z.p50_ms)} | ${f(o.p50_ms)} | ${f(z.p90_ms)} | ${f(o.p90_ms)} | ${(o.p50_ms / z.p50_ms).toFixed(2)}× | ${c(z.cpu_ms)} | ${c(o.cpu_ms)} | ${cr} |`);
  ' "$z" "$o" "$(basename "$model")" "$t"
done
