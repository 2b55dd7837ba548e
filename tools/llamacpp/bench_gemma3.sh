#!/bin/sh
# Zerfoo vs llama.cpp on random gemma-3-270m-shaped GGUF files (vocabulary
# 262144) at Q4_0 and Q8_0, 1 and 2 threads: prompt (128 tokens) and
# generation (64 tokens) speed, then a table of both and their ratios, and
# Zerfoo's peak RSS. The model files are written into DIR (default: a new
# temporary directory) by the Go benchmark and reused by later runs.
#
#   tools/llamacpp/bench_gemma3.sh [DIR]
#
# Needs go, node and `npm ci` in tools/llamacpp. BENCHTIME (default 3s) is
# the Go -benchtime per measurement, REPS (default 5) the llama.cpp
# repetitions (best kept, as Go's benchmark averages over BENCHTIME).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$root"
env -u GODEBUG go test -c -o "$dir/gemma3.test" ./models/gemma3 # GODEBUG is for the runs (see bench_mixes.sh)
"$dir/gemma3.test" -test.run '^$' -test.bench 'Gemma270m' -test.benchtime "${BENCHTIME:-3s}" \
	-gemma3.dir "$dir" | tee "$dir/zerfoo.txt"
cd tools/llamacpp
node bench_gemma3.mjs --reps "${REPS:-5}" --compare "$dir/zerfoo.txt" \
	"$dir/gemma3-270m-Q4_0-v262144.gguf" "$dir/gemma3-270m-Q8_0-v262144.gguf"
